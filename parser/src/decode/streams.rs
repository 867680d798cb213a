//! The reassembled view of a streamed body (SSE or NDJSON), which replaces the body's own view:
//! events are parsed, their text
//! deltas appended to one logical text per stream (choice, tool call, content block), and each
//! logical text scanned as one continuous part by its own [`StreamScanner`], so a command split
//! over many events is found. Tool-call arguments (JSON inside a JSON string) are unescaped once
//! more (nested JSON, depth 2). Data that is not a known provider shape is scanned through the
//! generic stream (every string value; non-JSON data as it is), so no event's text goes
//! unscanned; SSE lines that carry no data (comments, `event:`, `id:`, unknown fields) are
//! scanned as lines of their own stream. The `data:` framing itself is not scanned raw: as raw
//! text, delta boundaries cut words where the agent sees none and made false positives.
//!
//! Bounds: at most [`MAX_STREAMS`] logical streams per message (later ones share the last
//! scanner), one event or line of at most 64 KiB being parsed, and all streams together scan at
//! most the message's `max_scan_bytes` of reassembled text. Memory per message: the event buffer
//! (≤ 64 KiB) plus one scanner window (≤ 33 KiB) per stream.

use super::deltas::{DeltaParser, StreamKey};
use super::ndjson::NdjsonParser;
use super::sse::{SseParser, NOT_DATA};
use super::text::{Normaliser, TextForm};
use crate::scan::{Direction, RawMatch, Registry, StreamScanner};

/// Most logical streams reassembled per message.
pub const MAX_STREAMS: usize = 8;

/// How a streamed body is cut into events.
#[derive(Debug)]
enum Events {
    Sse(SseParser),
    Ndjson(NdjsonParser),
}

/// One logical stream's scanner.
#[derive(Debug)]
struct Stream {
    key: StreamKey,
    nested: Option<Normaliser>,
    scanner: StreamScanner,
}

/// The reassembled view of one streamed message body.
#[derive(Debug)]
pub struct Reassembly {
    events: Events,
    deltas: DeltaParser,
    direction: Direction,
    streams: Vec<Stream>,
    budget: u64,
    truncated: bool,
}

/// Which streamed form a `Content-Type` names, if any.
pub fn is_streamed(content_type: &[u8]) -> Option<bool> {
    let media = content_type.split(|&b| b == b';').next().unwrap_or(b"");
    let media = crate::framing_trim(media);
    if media.eq_ignore_ascii_case(b"text/event-stream") {
        Some(true)
    } else if media.eq_ignore_ascii_case(b"application/x-ndjson")
        || media.eq_ignore_ascii_case(b"application/ndjson")
        || media.eq_ignore_ascii_case(b"application/jsonl")
        || media.eq_ignore_ascii_case(b"application/json-lines")
        || media.eq_ignore_ascii_case(b"application/x-jsonlines")
    {
        Some(false)
    } else {
        None
    }
}

impl Reassembly {
    /// A view for a body of this `Content-Type`, when it is SSE or NDJSON.
    pub fn for_content_type(
        content_type: &[u8],
        direction: Direction,
        budget: u64,
    ) -> Option<Self> {
        let events = match is_streamed(content_type)? {
            true => Events::Sse(SseParser::new()),
            false => Events::Ndjson(NdjsonParser::new()),
        };
        Some(Reassembly {
            events,
            deltas: DeltaParser::new(),
            direction,
            streams: Vec::new(),
            budget,
            truncated: false,
        })
    }

    /// A view fed events one by one by its caller (the messages of a WebSocket), with no
    /// framing of its own: see [`Reassembly::push_delta`].
    pub fn for_events(direction: Direction, budget: u64) -> Self {
        Reassembly {
            events: Events::Ndjson(NdjsonParser::new()),
            deltas: DeltaParser::new(),
            direction,
            streams: Vec::new(),
            budget,
            truncated: false,
        }
    }

    /// Appends one text delta (from [`super::deltas::for_each_delta`]) to its stream.
    pub fn push_delta(
        &mut self,
        registry: &Registry,
        key: StreamKey,
        text: &str,
        out: &mut Vec<RawMatch>,
    ) {
        let Reassembly {
            direction,
            streams,
            budget,
            truncated,
            ..
        } = self;
        feed_stream(
            registry, *direction, streams, budget, truncated, key, text, out,
        );
    }

    /// Whether the budget cut the reassembled text short.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Events or lines too large to reassemble.
    pub fn oversized(&self) -> u64 {
        match &self.events {
            Events::Sse(p) => p.oversized(),
            Events::Ndjson(p) => p.oversized(),
        }
    }

    /// Feeds decoded body bytes; matches in the reassembled text go to `out`. Returns `false`
    /// once the budget is used up.
    pub fn push(&mut self, registry: &Registry, data: &[u8], out: &mut Vec<RawMatch>) -> bool {
        let Reassembly {
            events,
            deltas,
            direction,
            streams,
            budget,
            truncated,
        } = self;
        let mut feed = |kind: &[u8], payload: &[u8]| {
            if kind == NOT_DATA {
                // Lines the agent's SSE client ignores are still bytes the peer sent.
                let key = StreamKey::OTHER_LINES;
                for piece in [payload, b"\n"] {
                    let text = String::from_utf8_lossy(piece);
                    feed_stream(
                        registry, *direction, streams, budget, truncated, key, &text, out,
                    );
                }
                return;
            }
            deltas.for_each_delta(payload, &mut |key, text| {
                feed_stream(
                    registry, *direction, streams, budget, truncated, key, text, out,
                )
            })
        };
        match events {
            Events::Sse(p) => p.push(data, &mut feed),
            Events::Ndjson(p) => p.push(data, &mut |line| feed(b"", line)),
        }
        !self.truncated
    }

    /// The body ended: the last NDJSON line, then every stream's tail.
    pub fn finish(&mut self, registry: &Registry, out: &mut Vec<RawMatch>) {
        let Reassembly {
            events,
            deltas,
            direction,
            streams,
            budget,
            truncated,
        } = self;
        match events {
            Events::Sse(p) => p.finish(),
            Events::Ndjson(p) => p.finish(&mut |line| {
                deltas.for_each_delta(line, &mut |key, text| {
                    feed_stream(
                        registry, *direction, streams, budget, truncated, key, text, out,
                    )
                })
            }),
        }
        for stream in streams.iter_mut() {
            if let Some(n) = &mut stream.nested {
                let scanner = &mut stream.scanner;
                n.finish(&mut |t| scanner.push(registry, t, out));
            }
            stream.scanner.finish(registry, out);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn feed_stream(
    registry: &Registry,
    direction: Direction,
    streams: &mut Vec<Stream>,
    budget: &mut u64,
    truncated: &mut bool,
    key: StreamKey,
    text: &str,
    out: &mut Vec<RawMatch>,
) {
    if *budget == 0 {
        *truncated |= !text.is_empty();
        return;
    }
    let index = match streams.iter().position(|s| s.key == key) {
        Some(i) => i,
        None if streams.len() < MAX_STREAMS => {
            streams.push(Stream {
                key,
                nested: key.is_json().then(|| Normaliser::new(TextForm::Json)),
                scanner: StreamScanner::new(registry, direction, u64::MAX),
            });
            streams.len() - 1
        }
        None => streams.len() - 1,
    };
    let mut bytes = text.as_bytes();
    if bytes.len() as u64 > *budget {
        bytes = &bytes[..*budget as usize];
        *truncated = true;
    }
    *budget -= bytes.len() as u64;
    let stream = &mut streams[index];
    let scanner = &mut stream.scanner;
    match &mut stream.nested {
        Some(n) => {
            n.push(bytes, &mut |t| scanner.push(registry, t, out));
        }
        None => {
            scanner.push(registry, bytes, out);
        }
    }
}
