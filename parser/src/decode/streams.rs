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
//! Each logical text also gets the decoded views of a body's text ([`EncodedView`]: base64 and
//! hex runs, decoded to depth 2 with percent-decoding), and has zero-width characters dropped
//! and look-alike letters folded like a body's text ([`Cleaner`]), when they are on
//! ([`Reassembly::with_encoded_views`]), so a base64-wrapped secret streamed as deltas is found
//! as in a plain body; their matches carry their [`View`] and are taken with
//! [`Reassembly::encoded_found`], so that the inspector reports a match once.
//!
//! Deltas are batched: a stream's text is collected up to [`BATCH`] bytes and handed to its
//! scanner (and decoded views) as one feed, so a stream of 1-character deltas costs a copy per
//! delta, not a scanner call.
//!
//! Bounds: at most [`MAX_STREAMS`] logical streams per message (later ones share the last
//! scanner), one event or line of at most 64 KiB being parsed, and all streams together scan at
//! most the message's `max_scan_bytes` of reassembled text; their decoded views together scan at
//! most as much decoded output again. Memory per message: the event buffer (≤ 64 KiB) plus,
//! per stream, one scanner window (≤ 33 KiB), the batch (≤ 4 KiB) and the decoded views'
//! windows (created when a run is found).

use super::confusables::Cleaner;
use super::deltas::{DeltaParser, StreamKey};
use super::encoded::{EncodedView, Scope, View};
use super::ndjson::NdjsonParser;
use super::sse::{SseParser, NOT_DATA, PLAIN_RUN};
use super::text::{Normaliser, TextForm};
use super::TextSink;
use crate::scan::{Direction, RawMatch, Registry, StreamScanner};

/// Most logical streams reassembled per message.
pub const MAX_STREAMS: usize = 8;

/// Bytes of a stream's text collected before they are scanned as one feed.
pub const BATCH: usize = 4096;

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
    /// Text not yet scanned (at most [`BATCH`] bytes).
    batch: Vec<u8>,
    encoded: Option<EncodedView>,
    /// Zero-width characters dropped and look-alikes folded, as in a body's text (with the
    /// decoded views).
    cleaner: Option<Cleaner>,
}

impl Stream {
    /// Scans the batch: nested JSON undone, then cleaned, then the scanner and the decoded
    /// views (which share the streams' `budget`).
    fn flush(&mut self, registry: &Registry, out: &mut Vec<RawMatch>, budget: &mut Option<u64>) {
        if self.batch.is_empty() {
            return;
        }
        let mut batch = std::mem::take(&mut self.batch);
        self.with_sink(registry, out, budget, |nested, sink| match nested {
            Some(n) => {
                n.push(&batch, &mut |t| sink.push(t));
            }
            None => {
                sink.push(&batch);
            }
        });
        batch.clear();
        self.batch = batch;
    }

    /// The text ended: the batch, then every scanner's tail.
    fn finish(&mut self, registry: &Registry, out: &mut Vec<RawMatch>, budget: &mut Option<u64>) {
        self.flush(registry, out, budget);
        self.with_sink(registry, out, budget, |nested, sink| {
            if let Some(n) = nested {
                n.finish(&mut |t| sink.push(t));
            }
            sink.finish_text();
            sink.finish_scan();
        });
        if let Some(e) = &mut self.encoded {
            e.finish(registry);
        }
    }

    /// Runs `f` with this stream's text sink, its decoded views given the streams' budget
    /// left and taking back what they did not use.
    fn with_sink(
        &mut self,
        registry: &Registry,
        out: &mut Vec<RawMatch>,
        budget: &mut Option<u64>,
        f: impl FnOnce(Option<&mut Normaliser>, &mut TextSink<'_>),
    ) {
        let Stream {
            nested,
            scanner,
            encoded,
            cleaner,
            ..
        } = self;
        if let (Some(e), Some(b)) = (encoded.as_mut(), budget.as_ref()) {
            e.set_budget(*b);
        }
        let mut sink = TextSink {
            registry,
            scanner,
            cleaner: cleaner.as_mut(),
            encoded: encoded.as_mut(),
            out,
        };
        f(nested.as_mut(), &mut sink);
        if let (Some(e), Some(b)) = (encoded.as_ref(), budget.as_mut()) {
            *b = e.budget_left();
        }
    }
}

/// The logical streams of a message and what they share (budgets, decoded matches).
#[derive(Debug)]
struct Streams {
    direction: Direction,
    list: Vec<Stream>,
    budget: u64,
    truncated: bool,
    /// Budget left for the decoded views of all streams (`None`: no decoded views).
    encoded_budget: Option<u64>,
    /// Matches of the decoded views, with their view.
    found: Vec<(View, RawMatch)>,
}

impl Streams {
    /// Appends `text` to the stream `key` (created on first use).
    fn feed(&mut self, registry: &Registry, key: StreamKey, text: &[u8], out: &mut Vec<RawMatch>) {
        if self.budget == 0 {
            self.truncated |= !text.is_empty();
            return;
        }
        let index = match self.list.iter().position(|s| s.key == key) {
            Some(i) => i,
            None if self.list.len() < MAX_STREAMS => {
                self.list.push(Stream {
                    key,
                    nested: key.is_json().then(|| Normaliser::new(TextForm::Json)),
                    scanner: StreamScanner::new(registry, self.direction, u64::MAX),
                    batch: Vec::with_capacity(BATCH),
                    encoded: self
                        .encoded_budget
                        .map(|b| EncodedView::new(Scope::Body, self.direction, b)),
                    cleaner: self.encoded_budget.map(|_| Cleaner::new()),
                });
                self.list.len() - 1
            }
            None => self.list.len() - 1,
        };
        let mut bytes = text;
        if bytes.len() as u64 > self.budget {
            bytes = &bytes[..self.budget as usize];
            self.truncated = true;
        }
        self.budget -= bytes.len() as u64;
        let stream = &mut self.list[index];
        while !bytes.is_empty() {
            let take = (BATCH - stream.batch.len()).min(bytes.len());
            stream.batch.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if stream.batch.len() == BATCH {
                stream.flush(registry, out, &mut self.encoded_budget);
                collect(stream, &mut self.found);
            }
        }
    }

    /// Scans what every stream holds (the batches, or all of it at the end: `finish`).
    fn flush(&mut self, registry: &Registry, out: &mut Vec<RawMatch>, finish: bool) {
        for i in 0..self.list.len() {
            let stream = &mut self.list[i];
            if finish {
                stream.finish(registry, out, &mut self.encoded_budget);
            } else {
                stream.flush(registry, out, &mut self.encoded_budget);
            }
            collect(stream, &mut self.found);
        }
    }

    /// Whether the decoded views were cut short by their budget.
    fn encoded_truncated(&self) -> bool {
        self.list
            .iter()
            .any(|s| s.encoded.as_ref().is_some_and(EncodedView::truncated))
    }
}

/// Takes the decoded views' matches of `stream`.
fn collect(stream: &mut Stream, found: &mut Vec<(View, RawMatch)>) {
    if let Some(e) = &mut stream.encoded {
        found.append(e.found());
    }
}

/// The reassembled view of one streamed message body.
#[derive(Debug)]
pub struct Reassembly {
    events: Events,
    deltas: DeltaParser,
    streams: Streams,
    /// The last line that carried no event data, when short (see [`REPEAT_LINE_BYTES`]).
    last_line: Vec<u8>,
}

/// Longest line without event data that is remembered to collapse its repeats. Such lines
/// repeat with every event (`event: content_block_delta`, `: ping`), and each repeat was as
/// much text to scan as the event's delta and more: a repeat of the line before is skipped,
/// as `uniq` would (every byte of it was scanned in the first; what is lost is only a match
/// spanning two identical lines). Longer lines, and pieces of oversized ones, are always
/// scanned.
const REPEAT_LINE_BYTES: usize = 256;

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
    fn new(events: Events, direction: Direction, budget: u64) -> Self {
        Reassembly {
            events,
            deltas: DeltaParser::new(),
            streams: Streams {
                direction,
                list: Vec::new(),
                budget,
                truncated: false,
                encoded_budget: None,
                found: Vec::new(),
            },
            last_line: Vec::new(),
        }
    }

    /// A view for a body of this `Content-Type`, when it is SSE or NDJSON.
    pub fn for_content_type(
        content_type: &[u8],
        direction: Direction,
        budget: u64,
    ) -> Option<Self> {
        let events = match is_streamed(content_type)? {
            true => Events::Sse(SseParser::with_plain_runs()),
            false => Events::Ndjson(NdjsonParser::new()),
        };
        Some(Self::new(events, direction, budget))
    }

    /// A view fed events one by one by its caller (the messages of a WebSocket), with no
    /// framing of its own: see [`Reassembly::push_delta`].
    pub fn for_events(direction: Direction, budget: u64) -> Self {
        Self::new(Events::Ndjson(NdjsonParser::new()), direction, budget)
    }

    /// Gives each logical text the decoded views of a body's text (base64 and hex runs),
    /// scanning at most `budget` bytes of decoded output for all streams together (`None`:
    /// none). Their matches are taken with [`Self::encoded_found`].
    pub fn with_encoded_views(mut self, budget: Option<u64>) -> Self {
        self.streams.encoded_budget = budget;
        self
    }

    /// Matches of the decoded views so far, with their view (the caller drains them).
    pub fn encoded_found(&mut self) -> &mut Vec<(View, RawMatch)> {
        &mut self.streams.found
    }

    /// Appends one text delta (from [`super::deltas::for_each_delta`]) to its stream.
    pub fn push_delta(
        &mut self,
        registry: &Registry,
        key: StreamKey,
        text: &str,
        out: &mut Vec<RawMatch>,
    ) {
        self.streams.feed(registry, key, text.as_bytes(), out);
    }

    /// Scans the text collected in every stream's batch now (matches to `out`), rather than
    /// when the batch fills or at [`Self::finish`].
    pub fn flush(&mut self, registry: &Registry, out: &mut Vec<RawMatch>) {
        self.streams.flush(registry, out, false);
    }

    /// Whether a budget cut the reassembled text, or its decoded views, short.
    pub fn truncated(&self) -> bool {
        self.streams.truncated || self.streams.encoded_truncated()
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
            streams,
            last_line,
        } = self;
        let mut feed = |kind: &[u8], payload: &[u8]| {
            if kind == NOT_DATA {
                if payload == last_line.as_slice() {
                    return;
                }
                last_line.clear();
                if payload.len() <= REPEAT_LINE_BYTES {
                    last_line.extend_from_slice(payload);
                }
                // Lines the agent's SSE client ignores are still bytes the peer sent.
                let key = StreamKey::OTHER_LINES;
                // ASCII lines (field names, ids, comments) are their own text; only others
                // pay for the lossy conversion.
                if payload.is_ascii() {
                    streams.feed(registry, key, payload, out);
                } else {
                    let text = String::from_utf8_lossy(payload);
                    streams.feed(registry, key, text.as_bytes(), out);
                }
                streams.feed(registry, key, b"\n", out);
                return;
            }
            if kind == PLAIN_RUN {
                // Tiny text events, joined: as one delta each would have been.
                deltas.plain_text_seen();
                streams.feed(registry, StreamKey::GENERIC, payload, out);
                return;
            }
            deltas.for_each_delta(payload, &mut |key, text| {
                streams.feed(registry, key, text.as_bytes(), out)
            })
        };
        match events {
            Events::Sse(p) => p.push(data, &mut feed),
            Events::Ndjson(p) => p.push(data, &mut |line| feed(b"", line)),
        }
        !self.streams.truncated
    }

    /// The body ended: the last NDJSON line, then every stream's tail.
    pub fn finish(&mut self, registry: &Registry, out: &mut Vec<RawMatch>) {
        let Reassembly {
            events,
            deltas,
            streams,
            ..
        } = self;
        match events {
            Events::Sse(p) => p.finish(),
            Events::Ndjson(p) => p.finish(&mut |line| {
                deltas.for_each_delta(line, &mut |key, text| {
                    streams.feed(registry, key, text.as_bytes(), out)
                })
            }),
        }
        streams.flush(registry, out, true);
    }
}
