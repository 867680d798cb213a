//! `Transfer-Encoding: chunked` body decoding (RFC 9112 §7.1) as an explicit state machine.
//! Framing bytes are consumed; chunk data and trailer fields come out as ranges of the input.

use std::ops::Range;

use super::{FramingError, MAX_CHUNK_LINE_BYTES, MAX_TRAILER_BYTES};

/// Where the decoder is inside a chunked body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading hex digits of a chunk size (`digits` read so far).
    Size { size: u64, digits: u8 },
    /// White space after the size, before `;` or CR.
    SizeLws { size: u64 },
    /// Inside chunk extensions, until CR.
    Extension { size: u64 },
    /// CR of the size line seen, LF expected.
    SizeLf { size: u64 },
    /// Inside chunk data.
    Data { remaining: u64 },
    /// Chunk data ended, CR expected.
    DataCr,
    /// CR after data seen, LF expected.
    DataLf,
    /// At the start of a trailer line (or of the final blank line).
    TrailerStart,
    /// Inside a trailer field line.
    TrailerLine,
    /// CR of a trailer line seen, LF expected.
    TrailerLf,
    /// CR of the final blank line seen, LF expected.
    EndLf,
    /// The body is complete.
    Done,
}

/// What one call to [`ChunkedDecoder::decode`] produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ChunkOutput {
    /// Nothing yet: all input was framing bytes; more input needed.
    None,
    /// Chunk data at this range of the input.
    Data(Range<usize>),
    /// Trailer field bytes at this range of the input.
    Trailer(Range<usize>),
    /// The last byte of the body was consumed.
    Done,
}

/// Streaming decoder for one chunked body.
#[derive(Clone, Debug)]
pub(crate) struct ChunkedDecoder {
    state: State,
    line_len: usize,
    trailer_len: usize,
}

impl ChunkedDecoder {
    pub(crate) fn new() -> Self {
        ChunkedDecoder {
            state: State::Size { size: 0, digits: 0 },
            line_len: 0,
            trailer_len: 0,
        }
    }

    /// Consumes a prefix of `input`; returns how much and what it was.
    pub(crate) fn decode(&mut self, input: &[u8]) -> Result<(usize, ChunkOutput), FramingError> {
        let mut i = 0;
        while i < input.len() {
            if let State::Data { remaining } = self.state {
                let take = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len() - i);
                let left = remaining - take as u64;
                self.state = if left == 0 {
                    State::DataCr
                } else {
                    State::Data { remaining: left }
                };
                return Ok((i + take, ChunkOutput::Data(i..i + take)));
            }
            if self.state == State::TrailerStart
                && !matches!(input[i], b'\r' | b'\n' | b' ' | b'\t')
            {
                self.state = State::TrailerLine;
            }
            if self.state == State::TrailerLine {
                let line_end =
                    memchr::memchr2(b'\r', b'\n', &input[i..]).map_or(input.len(), |p| i + p);
                let bare_lf = input.get(line_end) == Some(&b'\n');
                if bare_lf && line_end == i {
                    return Err(FramingError::InvalidTrailer);
                }
                self.trailer_len += line_end - i;
                if self.trailer_len > MAX_TRAILER_BYTES {
                    return Err(FramingError::InvalidTrailer);
                }
                if bare_lf {
                    // Report the field bytes before the bad byte; the next call fails on it, so
                    // the events do not depend on where the input was split.
                    return Ok((line_end, ChunkOutput::Trailer(i..line_end)));
                }
                if line_end < input.len() {
                    self.trailer_len += 2;
                    self.state = State::TrailerLf;
                }
                if line_end == i {
                    // The line's CR opens this input: framing only, nothing to report.
                    i += 1;
                    continue;
                }
                // The CR is framing; only the field bytes are reported.
                let consumed = (line_end + 1).min(input.len());
                return Ok((consumed, ChunkOutput::Trailer(i..line_end)));
            }
            let byte = input[i];
            i += 1;
            self.state = self.step(byte)?;
            if self.state == State::Done {
                return Ok((i, ChunkOutput::Done));
            }
        }
        Ok((i, ChunkOutput::None))
    }

    /// Advances over one framing byte.
    fn step(&mut self, byte: u8) -> Result<State, FramingError> {
        if matches!(
            self.state,
            State::Size { .. } | State::SizeLws { .. } | State::Extension { .. }
        ) {
            self.line_len += 1;
            if self.line_len > MAX_CHUNK_LINE_BYTES {
                return Err(FramingError::ChunkLineTooLong);
            }
        }
        let next = match (self.state, byte) {
            (State::Size { size, digits }, _) if byte.is_ascii_hexdigit() => {
                let digit = u64::from((byte as char).to_digit(16).unwrap_or(0));
                let size = size
                    .checked_mul(16)
                    .and_then(|s| s.checked_add(digit))
                    .ok_or(FramingError::InvalidChunkSize)?;
                State::Size {
                    size,
                    digits: digits.saturating_add(1),
                }
            }
            (State::Size { digits: 0, .. }, _) => return Err(FramingError::InvalidChunkSize),
            (State::Size { size, .. } | State::SizeLws { size }, b' ' | b'\t') => {
                State::SizeLws { size }
            }
            (State::Size { size, .. } | State::SizeLws { size }, b';') => State::Extension { size },
            (
                State::Size { size, .. } | State::SizeLws { size } | State::Extension { size },
                b'\r',
            ) => State::SizeLf { size },
            (State::Extension { size }, b'\t' | b' '..=b'~' | 0x80..=0xff) => {
                State::Extension { size }
            }
            (State::SizeLf { size }, b'\n') => {
                self.line_len = 0;
                if size == 0 {
                    State::TrailerStart
                } else {
                    State::Data { remaining: size }
                }
            }
            (State::DataCr, b'\r') => State::DataLf,
            (State::DataLf, b'\n') => State::Size { size: 0, digits: 0 },
            (State::DataCr | State::DataLf, _) => return Err(FramingError::InvalidChunkTerminator),
            (State::TrailerStart, b'\r') => State::EndLf,
            (State::TrailerStart, _) => return Err(FramingError::InvalidTrailer),
            (State::TrailerLf, b'\n') => State::TrailerStart,
            (State::EndLf, b'\n') => State::Done,
            (State::TrailerLf | State::EndLf, _) => return Err(FramingError::InvalidTrailer),
            _ => return Err(FramingError::InvalidChunkSize),
        };
        Ok(next)
    }
}
