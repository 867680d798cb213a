//! The encoded views of a message: what a body's text (after content decoding and its own
//! normalisation) or a request target says once its encodings are undone.
//!
//! - **percent, iterated** (form bodies; targets in [`target_views`]): decoded twice more
//!   ([`percent`](super::percent); `+` is a space only in the first decoding, so a `%2B`
//!   inside a key stays a `+`), scanned in full;
//! - **base64 / base64url and hex runs** ([`base64`](super::base64), [`hex`](super::hex)):
//!   decoded, percent-decoded, scanned, and decoded once more the same way (depth 2: base64 of
//!   hex of a key is found).
//!
//! Zero-width characters and look-alike letters are handled before any of this, in the body's
//! own text ([`confusables::Cleaner`](super::confusables::Cleaner)); a request target gets
//! them here, as lines of its own ([`target_views`]).
//!
//! Each view has its own streaming scanner (created when the view first has text), so a
//! match split across pushes is found and results do not depend on the split. All views of
//! a message together scan at most `max_scan_bytes` (the budget of decoded output); past it
//! they stop and the message counts as truncated, so a body that is all base64 costs one
//! decoding pass of at most that. Matches carry their view ([`View`]) so that the inspector
//! reports a match seen by several views once.

use super::base64::Base64Runs;
use super::confusables::{Folder, Piece, FOLDED_RULES};
use super::hex::HexRuns;
use super::percent::IteratedPercent;
use super::text::{Normaliser, TextForm};
use crate::scan::{Direction, RawMatch, Registry, StreamScanner};

/// Which view of a message a match came from; a match reported in one view is not reported
/// again from another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct View(pub u8);

impl View {
    /// The message's own normalised text (head or body).
    pub const RAW: View = View(0);
    /// The reassembled text of a streamed body.
    pub const STREAMS: View = View(1);
    /// A decoded segment of a head (iterated percent, runs, dropped characters).
    pub const HEAD_DECODED: View = View(2);
    /// Percent-decoding iterated.
    pub const PERCENT: View = View(3);
    /// A head's target with look-alike letters folded.
    pub const FOLDED: View = View(4);
    /// First of the base64/hex views (two per depth and parent).
    const RUNS: u8 = 5;
}

/// Whether matches of this pattern id count in a look-alike-folded view.
pub fn is_folded_rule(id: &str) -> bool {
    FOLDED_RULES.contains(&id)
}

/// Which decoded views a message gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Bodies: zero-width, look-alikes, base64 and hex runs.
    Body,
    /// Form bodies: those, after two more percent-decodings.
    Form,
}

impl Scope {
    /// The scope for a body of this text form.
    pub fn for_form(form: TextForm) -> Self {
        match form {
            TextForm::Percent { .. } => Scope::Form,
            _ => Scope::Body,
        }
    }
}

/// Whether a body of this `Content-Type` is binary (images, audio, video, fonts, archives,
/// `application/octet-stream`, protobuf): its bytes are scanned as they are, but they are not
/// text, so they get no decoded views (base64 or zero-width characters mean nothing there, and
/// random bytes would cost a pass of each decoder for nothing).
pub fn is_binary(content_type: &[u8]) -> bool {
    let media = content_type.split(|&b| b == b';').next().unwrap_or(b"");
    let media = crate::framing_trim(media);
    let starts = |m: &[u8], p: &[u8]| m.len() >= p.len() && m[..p.len()].eq_ignore_ascii_case(p);
    // Checked once per message: `application/` subtypes are compared only after that prefix.
    if let Some(subtype) = starts(media, b"application/").then(|| &media[12..]) {
        return [
            &b"octet-stream"[..],
            b"zip",
            b"gzip",
            b"x-gzip",
            b"x-tar",
            b"pdf",
            b"wasm",
            b"x-protobuf",
            b"protobuf",
            b"grpc",
        ]
        .iter()
        .any(|p| starts(subtype, p));
    }
    [&b"image/"[..], b"audio/", b"video/", b"font/"]
        .iter()
        .any(|p| starts(media, p))
}

/// What a view's scanner needs besides its own state.
struct Cx<'a> {
    registry: &'a Registry,
    direction: Direction,
    budget: &'a mut u64,
    truncated: &'a mut bool,
    found: &'a mut Vec<(View, RawMatch)>,
    scratch: &'a mut Vec<RawMatch>,
}

/// One view's scanner, created on first use.
#[derive(Debug)]
struct Scanned {
    view: View,
    scanner: Option<StreamScanner>,
}

impl Scanned {
    fn new(view: View) -> Self {
        Scanned {
            view,
            scanner: None,
        }
    }

    /// Scans `text` within the budget; `false` once it is used up.
    fn push(&mut self, cx: &mut Cx<'_>, mut text: &[u8]) -> bool {
        if *cx.budget == 0 {
            *cx.truncated |= !text.is_empty();
            return false;
        }
        if text.len() as u64 > *cx.budget {
            text = &text[..*cx.budget as usize];
            *cx.truncated = true;
        }
        *cx.budget -= text.len() as u64;
        let scanner = self
            .scanner
            .get_or_insert_with(|| StreamScanner::new(cx.registry, cx.direction, u64::MAX));
        scanner.push(cx.registry, text, cx.scratch);
        self.collect(cx);
        *cx.budget > 0
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        if let Some(scanner) = &mut self.scanner {
            scanner.finish(cx.registry, cx.scratch);
            self.collect(cx);
        }
    }

    fn collect(&self, cx: &mut Cx<'_>) {
        cx.found
            .extend(cx.scratch.drain(..).map(|m| (self.view, m)));
    }
}

/// The bytes decoded from runs: percent-decoded, scanned, and decoded once more (depth 2).
#[derive(Debug)]
struct Decoded {
    percent: Normaliser,
    scanned: Scanned,
    inner: Option<Box<Runs>>,
}

impl Decoded {
    fn push(&mut self, cx: &mut Cx<'_>, bytes: &[u8]) -> bool {
        let Decoded {
            percent,
            scanned,
            inner,
        } = self;
        percent.push(bytes, &mut |t| {
            let more = scanned.push(cx, t);
            match inner {
                Some(runs) => runs.push(cx, t) && more,
                None => more,
            }
        })
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        let Decoded {
            percent,
            scanned,
            inner,
        } = self;
        percent.finish(&mut |t| {
            let more = scanned.push(cx, t);
            match inner {
                Some(runs) => runs.push(cx, t) && more,
                None => more,
            }
        });
        scanned.finish(cx);
        if let Some(runs) = inner {
            runs.finish(cx);
        }
    }
}

/// Base64 and hex runs of a text, each decoded into its own view. A view's decoder and
/// scanner are built when its finder first decodes a run: text without runs (most text) costs
/// the two finders and nothing else, and no allocation.
#[derive(Debug)]
struct Runs {
    base64: Base64Runs,
    hex: HexRuns,
    from_base64: Option<Box<Decoded>>,
    from_hex: Option<Box<Decoded>>,
    depth: u8,
    /// The view of `from_base64`; the views of everything below it follow.
    first_view: u8,
}

/// Decodings of decoded bytes: runs inside runs are decoded this deep.
const MAX_DEPTH: u8 = 2;

/// Views a [`Decoded`] at `depth` numbers: its own and those of the runs inside it.
const fn views_below(depth: u8) -> u8 {
    if depth < MAX_DEPTH {
        1 + 2 * views_below(depth + 1)
    } else {
        1
    }
}

impl Runs {
    /// Runs at `depth` (1 for the message's text), numbering their views from `first_view`.
    fn new(depth: u8, first_view: u8) -> Self {
        Runs {
            base64: Base64Runs::new(),
            hex: HexRuns::new(),
            from_base64: None,
            from_hex: None,
            depth,
            first_view,
        }
    }

    /// The decoded view of one finder (`hex`: the hex one), built on first use.
    fn decoded(slot: &mut Option<Box<Decoded>>, depth: u8, view: u8) -> &mut Decoded {
        slot.get_or_insert_with(|| {
            Box::new(Decoded {
                percent: Normaliser::new(TextForm::Percent {
                    plus_is_space: false,
                }),
                scanned: Scanned::new(View(view)),
                inner: (depth < MAX_DEPTH).then(|| Box::new(Runs::new(depth + 1, view + 1))),
            })
        })
    }

    fn push(&mut self, cx: &mut Cx<'_>, text: &[u8]) -> bool {
        let Runs {
            base64,
            hex,
            from_base64,
            from_hex,
            depth,
            first_view,
        } = self;
        let (depth, b64_view) = (*depth, *first_view);
        let hex_view = b64_view + views_below(depth);
        let a = base64.push(text, &mut |d| {
            Self::decoded(from_base64, depth, b64_view).push(cx, d)
        });
        let b = hex.push(text, &mut |d| {
            Self::decoded(from_hex, depth, hex_view).push(cx, d)
        });
        a && b
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        let Runs {
            base64,
            hex,
            from_base64,
            from_hex,
            depth,
            first_view,
        } = self;
        let (depth, b64_view) = (*depth, *first_view);
        let hex_view = b64_view + views_below(depth);
        base64.finish(&mut |d| Self::decoded(from_base64, depth, b64_view).push(cx, d));
        hex.finish(&mut |d| Self::decoded(from_hex, depth, hex_view).push(cx, d));
        for decoded in [from_base64, from_hex].into_iter().flatten() {
            decoded.finish(cx);
        }
    }
}

/// The decoded views of one message body (see the module docs).
#[derive(Debug)]
pub struct EncodedView {
    direction: Direction,
    percent: Option<(IteratedPercent, Scanned)>,
    runs: Runs,
    budget: u64,
    truncated: bool,
    stopped: bool,
    found: Vec<(View, RawMatch)>,
    scratch: Vec<RawMatch>,
}

impl EncodedView {
    /// The views of a body travelling in `direction`, scanning at most `budget` bytes.
    pub fn new(scope: Scope, direction: Direction, budget: u64) -> Self {
        EncodedView {
            direction,
            percent: (scope == Scope::Form)
                .then(|| (IteratedPercent::new(false), Scanned::new(View::PERCENT))),
            runs: Runs::new(1, View::RUNS),
            budget,
            truncated: false,
            stopped: false,
            found: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Whether the budget cut the views short.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Bytes of budget left (what the views may still scan).
    pub fn budget_left(&self) -> u64 {
        self.budget
    }

    /// Sets the bytes of budget left: views that share one budget (the logical streams of a
    /// streamed body, the messages of a WebSocket) hand it from one to the next.
    /// A view stopped by a spent budget goes on when given more.
    pub fn set_budget(&mut self, budget: u64) {
        self.budget = budget;
        self.stopped &= budget == 0;
    }

    /// Matches found so far, with their view; the caller takes them.
    pub fn found(&mut self) -> &mut Vec<(View, RawMatch)> {
        &mut self.found
    }

    /// More of the body's text (as its own view scanned it).
    pub fn push(&mut self, registry: &Registry, text: &[u8]) {
        if self.stopped {
            return;
        }
        let EncodedView {
            direction,
            percent,
            runs,
            budget,
            truncated,
            stopped,
            found,
            scratch,
        } = self;
        let mut cx = Cx {
            registry,
            direction: *direction,
            budget,
            truncated,
            found,
            scratch,
        };
        let more = match percent {
            Some((stages, scanned)) => stages.push(text, &mut |t| {
                let more = scanned.push(&mut cx, t);
                runs.push(&mut cx, t) && more
            }),
            None => runs.push(&mut cx, text),
        };
        *stopped = !more;
    }

    /// The body ended: flushes every view.
    pub fn finish(&mut self, registry: &Registry) {
        let EncodedView {
            direction,
            percent,
            runs,
            budget,
            truncated,
            stopped,
            found,
            scratch,
        } = self;
        let mut cx = Cx {
            registry,
            direction: *direction,
            budget,
            truncated,
            found,
            scratch,
        };
        if let Some((stages, scanned)) = percent {
            if !*stopped {
                stages.finish(&mut |t| {
                    let more = scanned.push(&mut cx, t);
                    runs.push(&mut cx, t) && more
                });
            }
            scanned.finish(&mut cx);
        }
        runs.finish(&mut cx);
    }
}

/// Appends `text` to `out` without its zero-width and format characters.
pub fn strip_zero_width(text: &[u8], out: &mut Vec<u8>) {
    let mut folder = Folder::new();
    let mut on = |piece: Piece<'_>| match piece {
        Piece::Text(t) | Piece::Kept(t) => out.extend_from_slice(t),
        Piece::Folded { original, .. } => out.extend_from_slice(original),
        Piece::Dropped => {}
    };
    folder.push(text, &mut on);
    folder.finish(&mut on);
}

/// The decoded segments of a request target (percent-decoded once, zero-width characters
/// dropped), appended to `out` as lines: the target decoded twice more (when that changes
/// it) and the bytes of its base64 and hex runs (depth 2). The look-alike-folded target,
/// when it differs, is appended to `folded`. A head is at most 64 KiB, so these are too.
pub fn target_views(target: &[u8], out: &mut Vec<u8>, folded: &mut Vec<u8>) {
    let mut iterated = Vec::new();
    let base: &[u8] = if super::percent::decode_more(target, &mut iterated) {
        strip_zero_width(&iterated, out);
        out.push(b'\n');
        &iterated
    } else {
        target
    };
    // Look-alikes are letters outside ASCII: an ASCII target (nearly every one) has none.
    if !base.is_ascii() {
        let mut changed = false;
        let start = folded.len();
        let mut folder = Folder::new();
        let mut on = |piece: Piece<'_>| match piece {
            Piece::Text(t) | Piece::Kept(t) => folded.extend_from_slice(t),
            Piece::Dropped => {}
            Piece::Folded { latin, .. } => {
                folded.push(latin);
                changed = true;
            }
        };
        folder.push(base, &mut on);
        folder.finish(&mut on);
        if changed {
            folded.push(b'\n');
        } else {
            folded.truncate(start);
        }
    }
    decode_runs_into(base, 1, out);
}

/// Appends the percent-decoded bytes of the runs in `text` (and of runs inside them, to
/// [`MAX_DEPTH`]) to `out`.
fn decode_runs_into(text: &[u8], depth: u8, out: &mut Vec<u8>) {
    for kind in 0..2 {
        let mut decoded = Vec::new();
        let mut sink = |d: &[u8]| {
            decoded.extend_from_slice(d);
            true
        };
        if kind == 0 {
            let mut runs = Base64Runs::new();
            runs.push(text, &mut sink);
            runs.finish(&mut sink);
        } else {
            let mut runs = HexRuns::new();
            runs.push(text, &mut sink);
            runs.finish(&mut sink);
        }
        if decoded.is_empty() {
            continue;
        }
        let mut percent = Normaliser::new(TextForm::Percent {
            plus_is_space: false,
        });
        let mut plain = Vec::new();
        let mut sink = |t: &[u8]| {
            plain.extend_from_slice(t);
            true
        };
        percent.push(&decoded, &mut sink);
        percent.finish(&mut sink);
        out.extend_from_slice(&plain);
        if depth < MAX_DEPTH {
            decode_runs_into(&plain, depth + 1, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_binary;

    #[test]
    fn binary_media_types_are_told_from_text() {
        for ct in [
            &b"image/png"[..],
            b"Audio/ogg",
            b"video/mp4",
            b"font/woff2",
            b"application/octet-stream",
            b" APPLICATION/Zip; q=1",
            b"application/x-protobuf",
            b"application/grpc+proto",
        ] {
            assert!(is_binary(ct), "{}", String::from_utf8_lossy(ct));
        }
        for ct in [
            &b"application/json"[..],
            b"application/x-ndjson",
            b"application/javascript",
            b"text/event-stream",
            b"text/html; charset=utf-8",
            b"application/",
            b"applicatio",
            b"",
        ] {
            assert!(!is_binary(ct), "{}", String::from_utf8_lossy(ct));
        }
    }
}
