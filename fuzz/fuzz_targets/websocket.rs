//! WebSocket deframing and inspection on arbitrary streams, both directions, with and without
//! permessage-deflate. Asserts split invariance (the same detections, the same violation, the
//! same counters whatever the chunk size) and bounds: no message scans more than the budget
//! after inflation, and nothing is scanned that was not fed (inflation aside).
#![no_main]

use std::sync::OnceLock;

use guardian_parser::inspect::Detection;
use guardian_parser::scan::{Direction, Platform, Registry};
use guardian_parser::websocket::{DeflateParams, Extensions, Stats, Violation, WebSocket};
use libfuzzer_sys::fuzz_target;

const BUDGET: u64 = 1 << 12;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry::builtin(Platform::Generic))
}

type Outcome = (Vec<Detection>, Option<(Direction, Violation)>, Stats);

fn inspect(ext: Extensions, direction: Direction, stream: &[u8], piece: usize) -> Outcome {
    let registry = registry();
    let mut ws = WebSocket::new(registry, ext, BUDGET, Some("fuzz.example:443".into()));
    let mut found = Vec::new();
    for chunk in stream.chunks(piece) {
        ws.feed(registry, direction, chunk);
        while let Some(d) = ws.poll_detection() {
            found.push(d);
        }
    }
    ws.finish(registry);
    while let Some(d) = ws.poll_detection() {
        found.push(d);
    }
    (found, ws.violation(), ws.stats())
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, stream)) = data.split_first() else { return };
    let piece = usize::from(control >> 2) + 1;
    let direction = if control & 1 == 0 { Direction::Outbound } else { Direction::Inbound };
    let ext = if control & 2 == 0 {
        Extensions::default()
    } else {
        let params = DeflateParams { no_context_takeover: control & 4 != 0, max_window_bits: 15 };
        Extensions { client: Some(params), server: Some(params), unsupported: false }
    };
    let whole = inspect(ext, direction, stream, stream.len().max(1));
    let split = inspect(ext, direction, stream, piece);
    assert_eq!(split.0, whole.0, "detections depend on the split");
    assert_eq!(split.1, whole.1, "violation depends on the split");
    assert_eq!(split.2, whole.2, "counters depend on the split");
    let stats = whole.2;
    let channel = if direction == Direction::Outbound { stats.outbound } else { stats.inbound };
    // Each message scans at most BUDGET bytes; a message needs at least a 2-byte header.
    let messages = channel.messages.max(1);
    assert!(channel.scanned_bytes <= messages * BUDGET, "budget exceeded: {stats:?}");
    if ext.client.is_none() {
        assert!(channel.scanned_bytes <= stream.len() as u64, "scanned more than fed");
    }
});
