//! Text normalisation: split invariance (any split of the input gives the same output as one
//! push) for percent and JSON unescaping, and the regressions found by fuzzing.

use guardian_parser::decode::{Normaliser, TextForm};
use guardian_parser::inspect::Inspector;
use guardian_parser::scan::{Direction, Platform, Registry};
use proptest::prelude::*;

fn normalise(form: TextForm, input: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut n = Normaliser::new(form);
    let mut out = Vec::new();
    let (mut at, mut i) = (0, 0);
    while at < input.len() {
        let size = sizes[i % sizes.len()].max(1).min(input.len() - at);
        i += 1;
        n.push(&input[at..at + size], &mut |t| {
            out.extend_from_slice(t);
            true
        });
        at += size;
    }
    n.finish(&mut |t| {
        out.extend_from_slice(t);
        true
    });
    out
}

fn escapes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"\\u".to_vec()),
        Just(b"\\u00".to_vec()),
        Just(b"\\u002F".to_vec()),
        Just(b"\\ud83d".to_vec()),
        Just(b"\\ude00".to_vec()),
        Just(b"\\n".to_vec()),
        Just(b"\\/".to_vec()),
        Just(b"\\".to_vec()),
        Just(b"%".to_vec()),
        Just(b"%2".to_vec()),
        Just(b"%2F".to_vec()),
        Just(b"+".to_vec()),
        Just(b"k".to_vec()),
        Just(b"0".to_vec()),
        Just(b"F".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..4),
    ];
    proptest::collection::vec(piece, 0..20).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn any_split_normalises_the_same(input in escapes(), sizes in proptest::collection::vec(1..8usize, 1..5)) {
        for form in [TextForm::Json, TextForm::Percent { plus_is_space: true }, TextForm::Percent { plus_is_space: false }, TextForm::Raw] {
            prop_assert_eq!(normalise(form, &input, &sizes), normalise(form, &input, &[input.len().max(1)]), "{:?}", form);
        }
    }
}

/// Regression (found by `cargo fuzz run inspect`): a carried `\u06` followed, in the next chunk,
/// by a non-hex byte made the decoder use fewer bytes than it carried, and a subtraction
/// underflowed.
#[test]
fn regression_invalid_unicode_escape_split_across_chunks() {
    assert_eq!(
        normalise(TextForm::Json, b"a\\u06kL0n}", &[4, 100]),
        b"a\\u06kL0n}"
    );
    assert_eq!(
        normalise(TextForm::Json, b"\\ud83d\\u00", &[7, 1]),
        b"\\ud83d\\u00"
    );
    let input = include_bytes!("regressions/inspect-invalid-unicode-escape-split.bin");
    let registry = Registry::builtin(Platform::Nanoclaw);
    let (&control, stream) = input.split_first().unwrap();
    for piece in [usize::from(control >> 1) + 1, 1, 3, stream.len()] {
        let mut inspector = Inspector::new(&registry, Direction::Outbound, 1 << 16);
        for chunk in stream.chunks(piece) {
            if inspector.feed_all(&registry, chunk).is_some() {
                break;
            }
        }
        let _ = inspector.finish(&registry);
    }
}
