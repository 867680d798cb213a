//! The whole inspector (framing → decode → scan → redaction) on arbitrary streams: no panic, the
//! same detections whatever the split, and no snippet longer than its bounded context.
#![no_main]

use std::sync::OnceLock;

use guardian_parser::inspect::{Detection, Inspector};
use guardian_parser::scan::{Direction, Platform, Registry};
use libfuzzer_sys::fuzz_target;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry::builtin(Platform::Nanoclaw))
}

fn run(direction: Direction, stream: &[u8], piece: usize) -> Vec<Detection> {
    let registry = registry();
    let mut inspector = Inspector::new(registry, direction, 1 << 16);
    let mut out = Vec::new();
    for chunk in stream.chunks(piece) {
        if inspector.feed_all(registry, chunk).is_some() {
            break;
        }
    }
    let _ = inspector.finish(registry);
    while let Some(d) = inspector.poll_detection() {
        out.push(d);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, stream)) = data.split_first() else { return };
    let direction = if control & 1 == 0 { Direction::Outbound } else { Direction::Inbound };
    let whole = run(direction, stream, stream.len().max(1));
    assert_eq!(run(direction, stream, usize::from(control >> 1) + 1), whole);
    for d in &whole {
        assert!(d.snippet.len() <= 4 * (2 * 48 + 2048) + 64, "snippet unbounded");
    }
});
