//! Decoding before scanning: content codings (gzip, deflate, br), then text normalisation
//! (percent, JSON escapes), bounded by the scan budget of decoded output.
//!
//! Raw and decoded views: a body is scanned once, in its normalised form. Normalisation only
//! rewrites escape sequences, so text without escapes reaches the scanner unchanged and a secret
//! written raw is found exactly as before; a secret written escaped is found in decoded form.
//! Streamed bodies (SSE, NDJSON) are scanned in their reassembled view instead, the text of each
//! logical stream ([`Reassembly`]), each by its own scanner; matches of views that coexist are
//! reported once by the inspector. JSON bodies are unescaped twice (a JSON string holding JSON, such as
//! tool-call `arguments`, depth 2).

mod base64;
pub(crate) use base64::decode_token as decode_base64_token;
mod confusables;
mod content;
pub mod deltas;
pub mod encoded;
mod hex;
mod html;
pub mod ndjson;
mod percent;
pub mod sse;
pub mod streams;
mod text;
mod words;

pub use content::{Coding, DecodeError, OUTPUT_PIECE};

pub use encoded::{EncodedView, View};
pub use streams::Reassembly;
pub use text::{Normaliser, TextForm};

pub(crate) use confusables::Cleaner;
use content::Layer;

use crate::scan::{RawMatch, Registry, StreamScanner};

/// Most decoded bytes a run decoder (base64, hex) holds before handing them on.
const DECODED_PIECE: usize = 16 * 1024;

/// Hands a run decoder's decoded bytes to `out` and empties `scratch`, giving its buffer back
/// after an outsized piece; `false` if `out` wants no more.
fn hand_on(scratch: &mut Vec<u8>, out: &mut dyn FnMut(&[u8]) -> bool) -> bool {
    if scratch.is_empty() {
        return true;
    }
    let more = out(scratch);
    scratch.clear();
    if scratch.capacity() > 4 * DECODED_PIECE {
        *scratch = Vec::new();
    }
    more
}

/// What decoding a body came to, for statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BodyOutcome {
    /// The body named a content coding Guardian cannot decode (scanned as identity).
    pub unknown_encoding: bool,
    /// The compressed stream was corrupt; scanning stopped there.
    pub corrupt: bool,
    /// The scan budget was used up; the rest was forwarded unscanned.
    pub truncated: bool,
}

/// Decoding pipeline for one message body: content decoders → normaliser → scanner.
#[derive(Debug)]
pub struct BodyDecoder {
    layers: Vec<Layer>,
    normaliser: Normaliser,
    /// The second JSON unescaping of JSON bodies (nested JSON).
    nested: Option<Normaliser>,
    reassembly: Option<Reassembly>,
    /// The decoded views of the body's text (`encoded`).
    encoded: Option<EncodedView>,
    /// Zero-width characters dropped, look-alikes folded, before the text is scanned (with
    /// the decoded views).
    cleaner: Option<Cleaner>,
    outcome: BodyOutcome,
    stopped: bool,
}

/// Decoding layers of finished bodies, kept for the next body (see [`BodyDecoder::recycle`]):
/// at most [`MAX_CODINGS`], each an inflater's window and state (about 40 KiB for gzip) and a
/// [`OUTPUT_PIECE`] buffer. Whoever keeps them between messages gives them back when the
/// stream goes idle ([`SpareLayers::clear`]).
#[derive(Debug, Default)]
pub struct SpareLayers(Vec<Layer>);

impl SpareLayers {
    /// Whether any layer is kept.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Gives the kept layers' memory back.
    pub fn clear(&mut self) {
        self.0 = Vec::new();
    }

    /// A layer for `coding`: a kept one of the same coding, else any kept one, else a new one.
    fn take(&mut self, coding: Coding) -> Layer {
        let same = self.0.iter().position(|l| l.coding() == Some(coding));
        match same.or_else(|| self.0.len().checked_sub(1)) {
            Some(i) => self.0.swap_remove(i).reuse(coding),
            None => Layer::new(coding),
        }
    }
}

/// At most this many stacked content codings are decoded.
pub const MAX_CODINGS: usize = 4;

impl BodyDecoder {
    /// A pipeline for a body with these `Content-Encoding` values and text form.
    pub fn new<'a>(content_encodings: impl Iterator<Item = &'a [u8]>, form: TextForm) -> Self {
        Self::reusing(content_encodings, form, &mut SpareLayers::default())
    }

    /// [`Self::new`], its decoding layers made from `spare` where it holds some (see
    /// [`Self::recycle`]).
    pub fn reusing<'a>(
        content_encodings: impl Iterator<Item = &'a [u8]>,
        form: TextForm,
        spare: &mut SpareLayers,
    ) -> Self {
        let mut codings = [Coding::Gzip; MAX_CODINGS];
        let mut count = 0;
        let mut unknown = false;
        for token in content_encodings.flat_map(crate::framing_tokens) {
            match Coding::parse(token) {
                Some(Ok(_)) if count == MAX_CODINGS => unknown = true,
                Some(Ok(c)) => {
                    codings[count] = c;
                    count += 1;
                }
                Some(Err(())) => unknown = true,
                None => {}
            }
        }
        if unknown {
            // Cannot undo the encoding: scan the bytes as they are.
            count = 0;
        }
        // Codings are listed in the order applied; decode in reverse.
        let layers = codings[..count]
            .iter()
            .rev()
            .map(|&c| spare.take(c))
            .collect();
        BodyDecoder {
            layers,
            normaliser: Normaliser::new(form),
            nested: (form == TextForm::Json).then(|| Normaliser::new(TextForm::Json)),
            reassembly: None,
            encoded: None,
            cleaner: None,
            outcome: BodyOutcome {
                unknown_encoding: unknown,
                ..Default::default()
            },
            stopped: false,
        }
    }

    /// Hands this finished body's decoding layers to `spare`, for the next body of the same
    /// stream: an inflater's window and state, and each layer's output buffer, are then reset
    /// rather than allocated and zeroed again (a fifth of the cost of a small gzip body).
    pub fn recycle(&mut self, spare: &mut SpareLayers) {
        for layer in self.layers.drain(..) {
            if spare.0.len() < MAX_CODINGS {
                spare.0.push(layer);
            }
        }
    }

    /// Adds the reassembled view of a streamed body (SSE, NDJSON). (In place: a decoder is a
    /// kilobyte, and moving it through a builder chain was a copy of that per message.)
    pub fn set_reassembly(&mut self, reassembly: Option<Reassembly>) {
        self.reassembly = reassembly;
    }

    /// Adds the decoded views of the body's text (base64/hex runs, zero-width characters,
    /// look-alikes, iterated percent); their matches are taken with [`Self::encoded_found`].
    /// Zero-width characters and look-alikes are handled with them (`None`: neither).
    ///
    /// A streamed body's text is its reassembled view (set before, with
    /// [`Self::set_reassembly`]): each logical stream then gets decoded views of its own,
    /// within this view's budget, and zero-width and look-alike handling of its own.
    pub fn set_encoded(&mut self, encoded: Option<EncodedView>) {
        if let Some(r) = self.reassembly.take() {
            self.reassembly = Some(r.with_encoded_views(encoded.map(|e| e.budget_left())));
            return;
        }
        self.cleaner = encoded.is_some().then(Cleaner::new);
        self.encoded = encoded;
    }

    /// Matches of the decoded views so far, with their view (the caller drains them).
    pub fn encoded_found(&mut self) -> Option<&mut Vec<(View, RawMatch)>> {
        if let Some(r) = &mut self.reassembly {
            return Some(r.encoded_found());
        }
        self.encoded.as_mut().map(EncodedView::found)
    }

    /// Feeds raw body bytes (transfer framing already removed); `last`: they end the body (the
    /// framer says so), which lets a body that comes whole be scanned where it lies. Matches of
    /// the body's own view go to `out`, those of the reassembled view to `views_out`.
    pub fn push(
        &mut self,
        registry: &Registry,
        scanner: &mut StreamScanner,
        data: &[u8],
        last: bool,
        out: &mut Vec<RawMatch>,
        views_out: &mut Vec<RawMatch>,
    ) {
        if self.stopped {
            return;
        }
        // Without a content coding, the sink below gets `data` itself, once.
        let whole = last && self.layers.is_empty();
        let normaliser = &mut self.normaliser;
        let nested = &mut self.nested;
        let reassembly = &mut self.reassembly;
        let mut text_sink = TextSink {
            registry,
            scanner,
            cleaner: self.cleaner.as_mut(),
            encoded: self.encoded.as_mut(),
            out,
        };
        let mut sink = |decoded: &[u8]| {
            if let Some(r) = reassembly {
                return r.push(registry, decoded, views_out);
            }
            match nested {
                // JSON without a backslash is its own text at both levels: one search for both.
                Some(n) if n.passes_plain_json() && normaliser.passes_unchanged(decoded) => {
                    text_sink.push_maybe_last(decoded, whole)
                }
                Some(n) => normaliser.push(decoded, &mut |text| {
                    n.push(text, &mut |t| text_sink.push(t))
                }),
                None if normaliser.is_raw() => text_sink.push_maybe_last(decoded, whole),
                None => normaliser.push(decoded, &mut |text| text_sink.push(text)),
            }
        };
        match decode_layers(&mut self.layers, data, &mut sink) {
            Ok(true) => {}
            Ok(false) => {
                self.stopped = true;
                self.outcome.truncated = true;
            }
            Err(DecodeError::Corrupt) => {
                self.stopped = true;
                self.outcome.corrupt = true;
            }
        }
    }

    /// Whether decoding stopped (budget used up or corrupt data); later bytes are not scanned.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// The body ended: flushes and confirms the rest.
    pub fn finish(
        &mut self,
        registry: &Registry,
        scanner: &mut StreamScanner,
        out: &mut Vec<RawMatch>,
        views_out: &mut Vec<RawMatch>,
    ) -> BodyOutcome {
        let mut text_sink = TextSink {
            registry,
            scanner,
            cleaner: self.cleaner.as_mut(),
            encoded: self.encoded.as_mut(),
            out,
        };
        if !self.stopped {
            let nested = &mut self.nested;
            self.normaliser.finish(&mut |text| match nested {
                Some(n) => n.push(text, &mut |t| text_sink.push(t)),
                None => text_sink.push(text),
            });
            if let Some(n) = nested {
                n.finish(&mut |t| text_sink.push(t));
            }
            text_sink.finish_text();
        }
        text_sink.finish_scan();
        self.outcome.truncated |= scanner.truncated();
        if let Some(e) = &mut self.encoded {
            e.finish(registry);
            self.outcome.truncated |= e.truncated();
        }
        if let Some(r) = &mut self.reassembly {
            // A stream cut by a framing stop still has its tail scanned: its bytes were seen.
            r.finish(registry, views_out);
            self.outcome.truncated |= r.truncated();
        }
        self.outcome
    }
}

/// Where a body's normalised text goes: cleaned (zero-width dropped, look-alikes folded), then
/// to its scanner and its decoded views.
pub(crate) struct TextSink<'a> {
    pub(crate) registry: &'a Registry,
    pub(crate) scanner: &'a mut StreamScanner,
    pub(crate) cleaner: Option<&'a mut Cleaner>,
    pub(crate) encoded: Option<&'a mut EncodedView>,
    pub(crate) out: &'a mut Vec<RawMatch>,
}

impl TextSink<'_> {
    pub(crate) fn push(&mut self, text: &[u8]) -> bool {
        self.push_maybe_last(text, false)
    }

    /// [`Self::push`]; when `last`, the text is the part's last and nothing is carried over
    /// before it, so that, if the cleaner leaves it as it is, the scanner finishes the part on
    /// it (without copying a part that comes whole; see [`StreamScanner::push_last`]).
    pub(crate) fn push_maybe_last(&mut self, text: &[u8], last: bool) -> bool {
        let before = self.out.len();
        let TextSink {
            registry,
            scanner,
            cleaner,
            encoded,
            out,
        } = self;
        let more = match cleaner {
            None if last => scanner.push_last(registry, text, out),
            None => scanner.push(registry, text, out),
            Some(c) if last && c.passes_unchanged(text) => {
                c.skipped(scanner.scanned() + text.len() as u64);
                if let Some(e) = encoded {
                    e.push(registry, text);
                }
                scanner.push_last(registry, text, out)
            }
            Some(c) => {
                let offset = scanner.scanned();
                c.push(text, offset, &mut |t| {
                    if let Some(e) = encoded {
                        e.push(registry, t);
                    }
                    scanner.push(registry, t, out)
                })
            }
        };
        self.drop_folded_credentials(before);
        more
    }

    /// The text ended: a character cut short is scanned as it was.
    pub(crate) fn finish_text(&mut self) {
        let TextSink {
            registry,
            scanner,
            cleaner,
            encoded,
            out,
        } = self;
        let Some(cleaner) = cleaner else {
            return;
        };
        cleaner.finish(&mut |t| {
            if let Some(e) = encoded {
                e.push(registry, t);
            }
            scanner.push(registry, t, out)
        });
    }

    pub(crate) fn finish_scan(&mut self) {
        let before = self.out.len();
        self.scanner.finish(self.registry, self.out);
        self.drop_folded_credentials(before);
    }

    /// A credential match that covers a folded look-alike is not a credential.
    fn drop_folded_credentials(&mut self, from: usize) {
        let registry = self.registry;
        let Some(cleaner) = self.cleaner.as_deref() else {
            return;
        };
        let mut i = from;
        while i < self.out.len() {
            let m = &self.out[i];
            if cleaner.covers_fold(m.start, m.end)
                && !confusables::FOLDED_RULES.contains(&registry.rule(m.rule).id.as_str())
            {
                self.out.remove(i);
            } else {
                i += 1;
            }
        }
    }
}

fn decode_layers(
    layers: &mut [Layer],
    data: &[u8],
    sink: &mut dyn FnMut(&[u8]) -> bool,
) -> Result<bool, DecodeError> {
    match layers.split_first_mut() {
        None => Ok(sink(data)),
        Some((first, rest)) => {
            let mut failure = None;
            let more = first.decode(data, &mut |piece| match decode_layers(rest, piece, sink) {
                Ok(more) => more,
                Err(e) => {
                    failure = Some(e);
                    false
                }
            })?;
            failure.map_or(Ok(more), Err)
        }
    }
}
