//! Decoding before scanning: content codings (gzip, deflate, br), then text normalisation
//! (percent, JSON escapes), bounded by the scan budget of decoded output.
//!
//! Raw and decoded views: a body is scanned once, in its normalised form. Normalisation only
//! rewrites escape sequences, so text without escapes reaches the scanner unchanged and a secret
//! written raw is found exactly as before; a secret written escaped is found in decoded form.
//! Each match is therefore reported once, never once per view.

mod content;
mod text;

pub use content::{Coding, DecodeError, OUTPUT_PIECE};

pub use text::{Normaliser, TextForm};

use content::Layer;

use crate::scan::{RawMatch, Registry, StreamScanner};

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
    outcome: BodyOutcome,
    stopped: bool,
}

/// At most this many stacked content codings are decoded.
pub const MAX_CODINGS: usize = 4;

impl BodyDecoder {
    /// A pipeline for a body with these `Content-Encoding` values and text form.
    pub fn new<'a>(content_encodings: impl Iterator<Item = &'a [u8]>, form: TextForm) -> Self {
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
            .map(|&c| Layer::new(c))
            .collect();
        BodyDecoder {
            layers,
            normaliser: Normaliser::new(form),
            outcome: BodyOutcome {
                unknown_encoding: unknown,
                ..Default::default()
            },
            stopped: false,
        }
    }

    /// Feeds raw body bytes (transfer framing already removed).
    pub fn push(
        &mut self,
        registry: &Registry,
        scanner: &mut StreamScanner,
        data: &[u8],
        out: &mut Vec<RawMatch>,
    ) {
        if self.stopped {
            return;
        }
        let normaliser = &mut self.normaliser;
        let mut sink = |decoded: &[u8]| {
            normaliser.push(decoded, &mut |text| scanner.push(registry, text, out))
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
    ) -> BodyOutcome {
        if !self.stopped {
            self.normaliser
                .finish(&mut |text| scanner.push(registry, text, out));
        }
        scanner.finish(registry, out);
        self.outcome.truncated |= scanner.truncated();
        self.outcome
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
