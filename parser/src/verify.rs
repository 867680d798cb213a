//! Reference drivers for property tests and fuzz targets: feed a stream in given piece sizes and
//! record a normalised event log, so that "any split gives the same result" can be asserted.

use std::ops::Range;

use crate::framing::{Event, Framer, FramingError, Role};
use crate::scan::{Direction, RawMatch, Registry, RuleId, StreamScanner};

/// A framing event with payloads joined, independent of where the input was split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogEvent {
    /// A head, by its raw bytes.
    Head(Vec<u8>),
    /// Body payload (consecutive pieces joined).
    Body(Vec<u8>),
    /// Trailer bytes (consecutive pieces joined).
    Trailer(Vec<u8>),
    /// End of a message.
    End,
    /// Tunnel bytes (joined).
    Tunnel(Vec<u8>),
    /// A framing error; the log ends here.
    Error(FramingError),
}

/// Frames `stream` fed in pieces of `sizes` (cycled; zero is taken as one), then EOF. Panics if
/// the framer breaks its contract (consumes more than given, or stops early without an event).
pub fn framing_log(role: Role, stream: &[u8], sizes: &[usize]) -> Vec<LogEvent> {
    let mut framer = Framer::new(role);
    let mut log: Vec<LogEvent> = Vec::new();
    let mut push = |e: LogEvent| match (log.last_mut(), e) {
        (Some(LogEvent::Body(a)), LogEvent::Body(b)) => a.extend(b),
        (Some(LogEvent::Trailer(a)), LogEvent::Trailer(b)) => a.extend(b),
        (Some(LogEvent::Tunnel(a)), LogEvent::Tunnel(b)) => a.extend(b),
        (_, e) => log.push(e),
    };
    let sizes = if sizes.is_empty() {
        &[usize::MAX][..]
    } else {
        sizes
    };
    let (mut pos, mut i) = (0, 0);
    while pos < stream.len() {
        let piece = &stream[pos..pos
            .saturating_add(sizes[i % sizes.len()].max(1))
            .min(stream.len())];
        i += 1;
        pos += piece.len();
        let mut at = 0;
        loop {
            let input = &piece[at..];
            let step = framer.feed(input);
            assert!(
                step.consumed <= input.len(),
                "framer consumed more than it was given"
            );
            at += step.consumed;
            match step.event {
                None => {
                    assert_eq!(
                        at,
                        piece.len(),
                        "framer asked for more input without consuming all of it"
                    );
                    break;
                }
                Some(Event::Head(h)) => push(LogEvent::Head(h.raw().to_vec())),
                Some(Event::Body(r)) => push(LogEvent::Body(input[r].to_vec())),
                Some(Event::Trailer(r)) => push(LogEvent::Trailer(input[r].to_vec())),
                Some(Event::Tunnel(r)) => push(LogEvent::Tunnel(input[r].to_vec())),
                Some(Event::End) => push(LogEvent::End),
                Some(Event::Error(e)) => {
                    push(LogEvent::Error(e));
                    return log;
                }
            }
        }
    }
    match framer.finish() {
        Some(Event::End) => push(LogEvent::End),
        Some(Event::Error(e)) => push(LogEvent::Error(e)),
        _ => {}
    }
    log
}

/// Scans `data` as one part fed in pieces of `sizes`; returns (rule, span) of every match.
pub fn scan_in_pieces(
    registry: &Registry,
    direction: Direction,
    data: &[u8],
    sizes: &[usize],
) -> Vec<(RuleId, Range<u64>)> {
    matches_in_pieces(registry, direction, data, sizes)
        .into_iter()
        .map(|m| (m.rule, m.start..m.end))
        .collect()
}

/// Scans `data` as one part fed in pieces of `sizes`; returns every match whole (snippet
/// context and its edges included).
pub fn matches_in_pieces(
    registry: &Registry,
    direction: Direction,
    data: &[u8],
    sizes: &[usize],
) -> Vec<RawMatch> {
    let mut scanner = StreamScanner::new(registry, direction, u64::MAX);
    let mut out = Vec::new();
    let sizes = if sizes.is_empty() {
        &[usize::MAX][..]
    } else {
        sizes
    };
    let (mut pos, mut i) = (0, 0);
    while pos < data.len() {
        let n = sizes[i % sizes.len()].max(1).min(data.len() - pos);
        i += 1;
        let _ = scanner.push(registry, &data[pos..pos + n], &mut out);
        pos += n;
    }
    scanner.finish(registry, &mut out);
    out
}
