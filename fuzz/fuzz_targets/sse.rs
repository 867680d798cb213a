//! Server-sent events: the event parser and the inspector's reassembled view on arbitrary
//! streams. Asserts split invariance (the same events, the same detections, whatever the chunk
//! size), that no event piece exceeds its bound, and that reassembled text never exceeds the
//! scan budget.
#![no_main]

use std::sync::OnceLock;

use guardian_parser::decode::sse::{SseParser, MAX_EVENT_BYTES};
use guardian_parser::inspect::{Detection, Inspector};
use guardian_parser::scan::{Direction, Platform, Registry};
use libfuzzer_sys::fuzz_target;

const BUDGET: u64 = 1 << 12;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry::builtin(Platform::Generic))
}

fn events(stream: &[u8], piece: usize) -> Vec<u8> {
    // Pieces of one long event arrive as consecutive calls: compare their concatenation,
    // with each dispatch marked, so that only where a chunk ends may differ in how they split.
    let mut parser = SseParser::new();
    let mut out = Vec::new();
    for chunk in stream.chunks(piece) {
        parser.push(chunk, &mut |kind, data| {
            assert!(data.len() <= MAX_EVENT_BYTES, "event piece unbounded");
            assert!(kind.len() <= 64, "event name unbounded");
            out.extend_from_slice(data);
        });
    }
    parser.finish();
    out
}

fn inspect(stream: &[u8], piece: usize) -> (Vec<Detection>, u64) {
    let registry = registry();
    let mut inspector = Inspector::new(registry, Direction::Inbound, BUDGET);
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n";
    let _ = inspector.feed_all(registry, head);
    for chunk in stream.chunks(piece) {
        let _ = inspector.feed_all(registry, chunk);
    }
    let _ = inspector.finish(registry);
    let mut out = Vec::new();
    while let Some(d) = inspector.poll_detection() {
        out.push(d);
    }
    (out, inspector.stats().messages)
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, stream)) = data.split_first() else { return };
    let piece = usize::from(control) + 1;
    assert_eq!(events(stream, piece), events(stream, stream.len().max(1)));
    let whole = inspect(stream, stream.len().max(1));
    assert_eq!(inspect(stream, piece), whole);
    assert_eq!(whole.1, 1, "a close-delimited stream is one message");
});
