//! Scanner properties on arbitrary bytes: scanning in pieces equals scanning the whole buffer,
//! and on small inputs equals the naive every-position reference.
#![no_main]

use std::sync::OnceLock;

use guardian_parser::scan::{reference_scan, Direction, Platform, Registry};
use guardian_parser::verify::scan_in_pieces;
use libfuzzer_sys::fuzz_target;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry::builtin(Platform::Picoclaw))
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else { return };
    let direction = if control & 1 == 0 { Direction::Outbound } else { Direction::Inbound };
    let piece = usize::from(control >> 1) + 1;
    let whole = scan_in_pieces(registry(), direction, rest, &[]);
    assert_eq!(scan_in_pieces(registry(), direction, rest, &[piece, 3 * piece + 1]), whole);
    if rest.len() <= 2048 {
        assert_eq!(reference_scan(registry(), direction, rest), whole);
    }
});
