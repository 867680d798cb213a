//! Runs raw byte streams through the sans-IO core (framing + decode + scan), as the proxy does,
//! in read-sized pieces, and counts what it found.

use std::time::{Duration, Instant};

use guardian_parser::framing::Event;
use guardian_parser::inspect::{Detection, Inspector, Stats};
use guardian_parser::scan::{Direction, Registry};

/// Bytes handed to the core per call, like one socket read.
pub const READ_SIZE: usize = 64 * 1024;

/// What one run of a stream through the core gave.
#[derive(Debug, Default)]
pub struct CoreRun {
    /// Detections, in order.
    pub detections: Vec<Detection>,
    /// The inspector's counters.
    pub stats: Stats,
    /// A framing error, with the stream offset where it happened.
    pub error: Option<(u64, String)>,
    /// Time spent in the core.
    pub elapsed: Duration,
}

/// Feeds `stream` through an inspector of `direction` in `READ_SIZE` pieces, then EOF.
pub fn run_stream(
    registry: &Registry,
    direction: Direction,
    stream: &[u8],
    max_scan_bytes: u64,
) -> CoreRun {
    let mut inspector = Inspector::new(registry, direction, max_scan_bytes);
    let mut run = CoreRun::default();
    let start = Instant::now();
    let mut offset = 0usize;
    for piece in stream.chunks(READ_SIZE) {
        if let Some(e) = inspector.feed_all(registry, piece) {
            run.error = Some((offset as u64, e.to_string()));
            break;
        }
        offset += piece.len();
        while let Some(d) = inspector.poll_detection() {
            run.detections.push(d);
        }
    }
    if run.error.is_none() {
        if let Some(Event::Error(e)) = inspector.finish(registry) {
            run.error = Some((stream.len() as u64, e.to_string()));
        }
    }
    while let Some(d) = inspector.poll_detection() {
        run.detections.push(d);
    }
    run.elapsed = start.elapsed();
    run.stats = *inspector.stats();
    run
}

/// The direction of a raw capture: responses start with `HTTP/`.
pub fn sniff_direction(stream: &[u8]) -> Direction {
    let start = stream
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    if stream[start..].starts_with(b"HTTP/") {
        Direction::Inbound
    } else {
        Direction::Outbound
    }
}

/// Peak resident memory of this process (VmHWM), when the OS tells.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
