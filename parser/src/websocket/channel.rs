//! One direction of a WebSocket connection after deframing: messages inflated (RFC 7692), text
//! messages normalised like bodies, Realtime deltas reassembled, everything scanned.
//!
//! The message stream: the payloads of all data messages, in order, are one part scanned by one
//! [`StreamScanner`], so a secret split over two frames or two messages is found. Plain text
//! and binary messages are joined with nothing between them (a terminal or a tunnel over a
//! WebSocket cuts its text anywhere, and a word cut in two must not read as two words); a JSON
//! message is a whole value and a line of its own (a line end before and after it). A text
//! message that is JSON is JSON-unescaped twice first (as a JSON
//! body is); one that is a provider delta event (OpenAI Realtime `response.text.delta`,
//! `response.output_text.delta`, `response.audio_transcript.delta`,
//! `response.function_call_arguments.delta`, any shape [`for_each_delta`](crate::decode::deltas::for_each_delta) knows) is scanned in
//! its reassembled view instead, one logical text per stream, as SSE events are. Control frame
//! payloads (close reasons, ping data) are a part of their own.
//!
//! Text messages also get the decoded views of a body's text (base64 and hex runs, decoded to
//! depth 2 with percent-decoding: [`EncodedView`]), in the message stream and in each
//! reassembled delta stream, so a base64-wrapped secret in a Realtime message is found as in a
//! plain body; binary messages do not (as binary bodies do not). Before that, text messages
//! are cleaned as a body's text is (zero-width characters dropped, look-alike letters folded:
//! [`Cleaner`]), the message stream as one text, so a character cut across frames is whole.
//!
//! Bounds: each message is scanned up to `max_scan_bytes` of payload after inflation; the rest
//! of that message is not inflated (and, with context takeover, later compressed messages of
//! this direction cannot be decoded: they are counted unscanned). Text messages are held whole
//! up to [`MAX_EVENT`] (to tell delta events from other JSON); longer ones are scanned as they
//! stream, without delta extraction. The decoded views of the message stream scan at most
//! `max_scan_bytes` of decoded output per message.

use flate2::{Decompress, FlushDecompress, Status};

use super::frame::{Deframer, Piece, Violation};
use crate::decode::deltas::{DeltaParser, StreamKind};
use crate::decode::encoded::Scope;
use crate::decode::{
    Cleaner, EncodedView, Normaliser, Reassembly, TextForm, TextSink, View, OUTPUT_PIECE,
};
use crate::scan::{Direction, RawMatch, Registry, StreamScanner};

/// Added to the number of a decoded view of the delta streams, to tell it from the same view of
/// the message stream.
pub const DELTA_VIEWS: u8 = 64;

/// Most bytes of one text message held whole for delta extraction.
pub const MAX_EVENT: usize = 64 * 1024;

/// The empty stored block RFC 7692 §7.2.2 strips from the end of each compressed message.
const TAIL: [u8; 4] = [0, 0, 0xff, 0xff];

/// Most last bytes of a compressed message inflated in one call with [`TAIL`].
const JOIN_MAX: usize = 1024;

/// Negotiated permessage-deflate parameters of one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeflateParams {
    /// The sender resets its compression context after each message.
    pub no_context_takeover: bool,
    /// The sender's LZ77 window, in bits (8–15).
    pub max_window_bits: u8,
}

/// Counters of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChannelStats {
    /// Data messages that ended.
    pub messages: u64,
    /// Payload bytes of data frames as announced by their headers (compressed, if they were).
    pub payload_bytes: u64,
    /// Payload bytes after inflation, as scanned.
    pub scanned_bytes: u64,
    /// Messages cut at `max_scan_bytes`.
    pub truncated: u64,
    /// Framed payload bytes not scanned: past an uncompressed message's budget, or compressed
    /// messages that could not be inflated (a compressed message cut at its budget counts in
    /// `truncated` only).
    pub unscanned_bytes: u64,
}

#[derive(Debug)]
struct Inflater {
    inflate: Decompress,
    out: Box<[u8]>,
    takeover: bool,
    /// The context is lost (a message was not inflated to its end): later compressed messages
    /// cannot be decoded.
    lost: bool,
}

impl Inflater {
    fn new(params: DeflateParams) -> Self {
        Inflater {
            inflate: Decompress::new_with_window_bits(false, params.max_window_bits.clamp(9, 15)),
            out: vec![0; OUTPUT_PIECE].into_boxed_slice(),
            takeover: !params.no_context_takeover,
            lost: false,
        }
    }

    /// Inflates `data`, handing output to `sink` until it refuses; `Ok(false)` then.
    fn run(
        &mut self,
        mut data: &[u8],
        flush: FlushDecompress,
        sink: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<bool, Violation> {
        loop {
            let (in0, out0) = (self.inflate.total_in(), self.inflate.total_out());
            let status = self.inflate.decompress(data, &mut self.out, flush);
            let consumed = (self.inflate.total_in() - in0) as usize;
            let produced = (self.inflate.total_out() - out0) as usize;
            data = &data[consumed..];
            // Output decoded before corrupt data is handed on, however the input was cut.
            if produced > 0 && !sink(&self.out[..produced]) {
                return Ok(false);
            }
            let status = status.map_err(|_| Violation::Compression)?;
            if status == Status::StreamEnd {
                // A final block ends the deflate stream; what follows starts a new one.
                self.inflate.reset(false);
            }
            let full = produced == self.out.len();
            if !full && (data.is_empty() || (consumed == 0 && produced == 0)) {
                return Ok(true);
            }
        }
    }
}

/// The message being received.
#[derive(Debug, Default)]
struct Message {
    active: bool,
    text: bool,
    compressed: bool,
    /// Payload bytes after inflation so far.
    produced: u64,
    truncated: bool,
    /// The rest of the message is not scanned.
    skip: bool,
    /// Too long to hold whole: streamed to the scanner in the form `json`.
    streaming: bool,
    json: bool,
    /// A line end was scanned before this JSON message.
    separated: bool,
}

/// The scanning side of a direction, apart from the deframer and inflater it is fed by.
#[derive(Debug)]
struct Sink {
    msg: Message,
    held: Vec<u8>,
    json: Normaliser,
    nested: Normaliser,
    stream: StreamScanner,
    control: StreamScanner,
    deltas: Reassembly,
    /// Delta extraction, fast for events shaped like the previous one.
    parser: DeltaParser,
    /// The decoded views of the text messages in the message stream.
    encoded: EncodedView,
    /// Zero-width characters dropped and look-alikes folded in text messages, as in a body's
    /// text.
    cleaner: Cleaner,
    max_scan_bytes: u64,
    stats: ChannelStats,
    /// Matches of the message stream and control frames.
    matches: Vec<RawMatch>,
    /// Matches of the reassembled deltas.
    view_matches: Vec<RawMatch>,
    /// Matches of the decoded views (message stream, then delta streams), with their view.
    decoded_matches: Vec<(View, RawMatch)>,
}

/// One direction of a WebSocket connection.
#[derive(Debug)]
pub struct Channel {
    deframer: Deframer,
    inflater: Option<Inflater>,
    sink: Sink,
}

impl Channel {
    /// A channel for frames travelling in `direction` (client→server frames are masked), with
    /// the sender's permessage-deflate parameters when negotiated.
    pub fn new(
        registry: &Registry,
        direction: Direction,
        deflate: Option<DeflateParams>,
        max_scan_bytes: u64,
    ) -> Self {
        Channel {
            deframer: Deframer::new(direction == Direction::Outbound, deflate.is_some()),
            inflater: deflate.map(Inflater::new),
            sink: Sink {
                msg: Message::default(),
                held: Vec::new(),
                json: Normaliser::new(TextForm::Json),
                nested: Normaliser::new(TextForm::Json),
                stream: StreamScanner::new(registry, direction, u64::MAX),
                control: StreamScanner::new(registry, direction, u64::MAX),
                // Delta text is bounded per message; so is its decoded output (a fraction of it).
                deltas: Reassembly::for_events(direction, u64::MAX)
                    .with_encoded_views(Some(u64::MAX)),
                parser: DeltaParser::new(),
                encoded: EncodedView::new(Scope::Body, direction, max_scan_bytes),
                cleaner: Cleaner::new(),
                max_scan_bytes,
                stats: ChannelStats::default(),
                matches: Vec::new(),
                view_matches: Vec::new(),
                decoded_matches: Vec::new(),
            },
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> ChannelStats {
        ChannelStats {
            payload_bytes: self.deframer.payload_bytes(),
            ..self.sink.stats
        }
    }

    /// Frames parsed so far.
    pub fn frames(&self) -> u64 {
        self.deframer.frames()
    }

    /// Deframes and scans `input`.
    pub fn feed(&mut self, registry: &Registry, input: &[u8]) -> Result<(), Violation> {
        let Channel {
            deframer,
            inflater,
            sink,
        } = self;
        deframer.feed(input, &mut |piece| sink.piece(registry, inflater, piece))
    }

    /// The connection ended (or inspection stopped): scans an unfinished message as far as it
    /// came and confirms what every scanner holds.
    pub fn finish(&mut self, registry: &Registry) {
        let sink = &mut self.sink;
        if sink.msg.active {
            sink.end(registry);
        }
        sink.text_sink(registry).finish_scan();
        sink.control.finish(registry, &mut sink.matches);
        sink.encoded.finish(registry);
        sink.deltas.finish(registry, &mut sink.view_matches);
    }

    /// Takes the matches found so far, by view: the message stream (and control frames), the
    /// reassembled deltas; and those of the decoded views with theirs (`decoded`: the views
    /// of the message stream are numbered as [`View`]s are, those of the delta streams from
    /// [`DELTA_VIEWS`] up).
    pub fn take_matches(
        &mut self,
        out: &mut [Vec<RawMatch>; 2],
        decoded: &mut Vec<(View, RawMatch)>,
    ) {
        let sink = &mut self.sink;
        out[0].append(&mut sink.matches);
        out[1].append(&mut sink.view_matches);
        decoded.append(&mut sink.decoded_matches);
        decoded.append(sink.encoded.found());
        decoded.extend(
            sink.deltas
                .encoded_found()
                .drain(..)
                .map(|(v, m)| (View(v.0.saturating_add(DELTA_VIEWS)), m)),
        );
    }
}

impl Sink {
    fn piece(
        &mut self,
        registry: &Registry,
        inflater: &mut Option<Inflater>,
        piece: Piece<'_>,
    ) -> Result<(), Violation> {
        match piece {
            Piece::Start { text, compressed } => {
                self.msg = Message {
                    active: true,
                    text,
                    compressed,
                    ..Message::default()
                };
                self.encoded.set_budget(self.max_scan_bytes);
                if compressed && inflater.as_ref().is_none_or(|i| i.lost) {
                    self.msg.skip = true;
                }
            }
            Piece::Data(data) => {
                if self.msg.skip {
                    // The rest of a compressed message cut at its budget is not counted: how
                    // much of it the inflater had taken depends on how the input was cut.
                    if !(self.msg.compressed && self.msg.truncated) {
                        self.stats.unscanned_bytes += data.len() as u64;
                    }
                } else if let (true, Some(inf)) = (self.msg.compressed, inflater.as_mut()) {
                    let more = inf.run(data, FlushDecompress::None, &mut |out| {
                        self.content(registry, out)
                    })?;
                    if !more {
                        self.msg.skip = true;
                        inf.lost |= inf.takeover;
                    }
                } else if !self.content(registry, data) {
                    self.msg.skip = true;
                }
            }
            Piece::End(last) if self.msg.compressed && !self.msg.skip && last.len() <= JOIN_MAX => {
                if let Some(inf) = inflater.as_mut() {
                    // One inflate call for the last bytes and the tail, not two.
                    let mut joined = [0u8; JOIN_MAX + TAIL.len()];
                    joined[..last.len()].copy_from_slice(last);
                    joined[last.len()..last.len() + TAIL.len()].copy_from_slice(&TAIL);
                    let joined = &joined[..last.len() + TAIL.len()];
                    let more = inf.run(joined, FlushDecompress::Sync, &mut |out| {
                        self.content(registry, out)
                    })?;
                    if !more {
                        inf.lost |= inf.takeover;
                    }
                    if !inf.takeover {
                        inf.inflate.reset(false);
                        inf.lost = false;
                    }
                }
                self.end(registry);
            }
            Piece::End(last) => {
                if !last.is_empty() {
                    self.piece(registry, inflater, Piece::Data(last))?;
                }
                if let (true, false, Some(inf)) =
                    (self.msg.compressed, self.msg.skip, inflater.as_mut())
                {
                    let more = inf.run(&TAIL, FlushDecompress::Sync, &mut |out| {
                        self.content(registry, out)
                    })?;
                    if !more {
                        inf.lost |= inf.takeover;
                    }
                    if !inf.takeover {
                        inf.inflate.reset(false);
                    }
                } else if let (true, Some(inf)) = (self.msg.compressed, inflater.as_mut()) {
                    if !inf.takeover {
                        // The next message starts a fresh context: decodable again.
                        inf.inflate.reset(false);
                        inf.lost = false;
                    }
                }
                self.end(registry);
            }
            Piece::Control(_, payload) => {
                self.control.push(registry, payload, &mut self.matches);
                self.control.push(registry, b"\n", &mut self.matches);
            }
        }
        Ok(())
    }

    /// Payload bytes of the current message after inflation; `false` once its budget is spent.
    fn content(&mut self, registry: &Registry, mut data: &[u8]) -> bool {
        let room = self.max_scan_bytes.saturating_sub(self.msg.produced);
        if data.len() as u64 > room {
            if !self.msg.compressed {
                self.stats.unscanned_bytes += data.len() as u64 - room;
            }
            data = &data[..room as usize];
            self.msg.truncated = true;
        }
        self.msg.produced += data.len() as u64;
        self.stats.scanned_bytes += data.len() as u64;
        if !self.msg.text {
            self.stream.push(registry, data, &mut self.matches);
            self.cleaner.skipped(self.stream.scanned());
        } else if self.msg.streaming {
            self.scan_text(registry, data);
        } else if self.held.len() + data.len() <= MAX_EVENT {
            self.held.extend_from_slice(data);
        } else {
            self.msg.streaming = true;
            self.msg.json = looks_json(&self.held, data, false);
            let held = std::mem::take(&mut self.held);
            self.scan_text(registry, &held);
            self.held = held;
            self.held.clear();
            self.scan_text(registry, data);
        }
        !self.msg.truncated
    }

    /// Scans text of the current message in its form (JSON unescaped twice, or as it is),
    /// cleaned like a body's text.
    fn scan_text(&mut self, registry: &Registry, text: &[u8]) {
        if self.msg.json && !self.msg.separated {
            self.msg.separated = true;
            self.text_line_end(registry);
        }
        let json = self.msg.json;
        let (normalisers, mut sink) = self.split(registry);
        if json {
            let (first, nested) = normalisers;
            first.push(text, &mut |t| nested.push(t, &mut |u| sink.push(u)));
        } else {
            sink.push(text);
        }
    }

    /// A line end in the message stream, around a JSON text message.
    fn text_line_end(&mut self, registry: &Registry) {
        self.text_sink(registry).push(b"\n");
    }

    /// Where the message stream's text goes: cleaned, then its scanner and decoded views.
    fn text_sink<'a>(&'a mut self, registry: &'a Registry) -> TextSink<'a> {
        self.split(registry).1
    }

    /// The JSON unescapings of text messages and the text sink they feed.
    fn split<'a>(
        &'a mut self,
        registry: &'a Registry,
    ) -> ((&'a mut Normaliser, &'a mut Normaliser), TextSink<'a>) {
        let Sink {
            json,
            nested,
            stream,
            encoded,
            cleaner,
            matches,
            ..
        } = self;
        let sink = TextSink {
            registry,
            scanner: stream,
            cleaner: Some(cleaner),
            encoded: Some(encoded),
            out: matches,
        };
        ((json, nested), sink)
    }

    /// The current message ended (or the connection did, in its middle).
    fn end(&mut self, registry: &Registry) {
        self.stats.messages += 1;
        self.stats.truncated += u64::from(self.msg.truncated);
        if self.msg.text && !self.msg.streaming {
            let held = std::mem::take(&mut self.held);
            self.msg.json = looks_json(&held, b"", true);
            let mut deltas = false;
            if self.msg.json {
                let Sink {
                    deltas: view,
                    parser,
                    view_matches,
                    ..
                } = self;
                parser.for_each_delta(&held, &mut |key, text| {
                    if key.kind != StreamKind::Generic {
                        deltas = true;
                        view.push_delta(registry, key, text, view_matches);
                    }
                });
            }
            if !deltas {
                self.scan_text(registry, &held);
            }
            self.held = held;
            self.held.clear();
            if self.held.capacity() > MAX_EVENT * 2 {
                self.held = Vec::new();
            }
        }
        if self.msg.text && self.msg.json {
            let ((first, nested), mut sink) = self.split(registry);
            first.finish(&mut |t| nested.push(t, &mut |u| sink.push(u)));
            nested.finish(&mut |t| sink.push(t));
        }
        if self.msg.text {
            // A character cut short at the message's end is scanned as it was.
            self.text_sink(registry).finish_text();
            if self.msg.json && self.msg.separated {
                self.text_line_end(registry);
            }
        }
        self.msg = Message::default();
    }
}

/// Whether a text message is a JSON value: its first byte other than white space opens an
/// object or array and (when the message is held whole, `whole`) its last one closes one. A
/// message cut out of a longer text that merely starts with `{` is plain text.
fn looks_json(held: &[u8], more: &[u8], whole: bool) -> bool {
    let first = held.iter().chain(more).find(|b| !b.is_ascii_whitespace());
    let last = held.iter().rev().find(|b| !b.is_ascii_whitespace());
    matches!(first, Some(b'{' | b'[')) && (!whole || matches!(last, Some(b'}' | b']')))
}
