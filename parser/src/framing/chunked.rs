//! `Transfer-Encoding: chunked` body decoding (RFC 9112 §7.1) as an explicit state machine.
//! Framing bytes are consumed; chunk data and trailer fields come out as ranges of the input.
//!
//! Chunk extensions are held to their grammar (§7.1.1: `; name[=token|"quoted"]`), because a
//! hop that reads a quoted CRLF or `;` differently would frame the body differently. Trailer
//! fields are counted like head fields, and a trailer that names `Content-Length`,
//! `Transfer-Encoding` or `Host` is refused (RFC 9110 §6.5.1: a recipient merging it into the
//! head would reframe the message).

use std::ops::Range;

use super::{FramingError, MAX_CHUNK_LINE_BYTES, MAX_HEADERS, MAX_TRAILER_BYTES};

/// Where a chunk-size line is inside its extensions (`;` BWS name BWS `=` BWS value BWS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ext {
    /// After `;`: white space, then a name.
    BeforeName,
    /// In a name.
    Name,
    /// White space after a name.
    AfterName,
    /// After `=`: white space, then a token or a quoted string.
    BeforeValue,
    /// In a token value.
    Token,
    /// In a quoted string.
    Quoted,
    /// After a backslash in a quoted string.
    QuotedEscape,
    /// After a value: white space, `;` or CR.
    AfterValue,
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// [`is_tchar`] as a table: extension names and values are read a run at a time.
const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let symbols = b"!#$%&'*+-.^_`|~";
    let mut k = 0;
    while k < symbols.len() {
        table[symbols[k] as usize] = true;
        k += 1;
    }
    table
};

/// Trailer field names that would reframe or reroute the message.
const FRAMING_FIELDS: &[&[u8]] = &[b"content-length", b"transfer-encoding", b"host"];

/// The name of the trailer field line being read (the longest framing field name fits).
#[derive(Clone, Copy, Debug)]
struct TrailerName {
    bytes: [u8; 17],
    len: usize,
    /// The `:` was seen.
    done: bool,
}

impl TrailerName {
    const EMPTY: TrailerName = TrailerName {
        bytes: [0; 17],
        len: 0,
        done: false,
    };

    /// Reads the name part of `line` (a piece of one field line); returns the offset of the
    /// first byte that makes the line unacceptable, if one does.
    fn read(&mut self, line: &[u8]) -> Option<usize> {
        for (at, &b) in line.iter().enumerate() {
            if self.done {
                return None;
            }
            if b == b':' {
                self.done = true;
                let name = &self.bytes[..self.len.min(self.bytes.len())];
                let framing = self.len <= self.bytes.len()
                    && FRAMING_FIELDS.iter().any(|f| name.eq_ignore_ascii_case(f));
                if self.len == 0 || framing {
                    return Some(at);
                }
            } else if !is_tchar(b) {
                return Some(at);
            } else {
                if let Some(slot) = self.bytes.get_mut(self.len) {
                    *slot = b;
                }
                self.len += 1;
            }
        }
        None
    }
}

/// Where the decoder is inside a chunked body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading hex digits of a chunk size (`digits` read so far).
    Size { size: u64, digits: u8 },
    /// White space after the size, before `;` or CR.
    SizeLws { size: u64 },
    /// Inside chunk extensions, until CR.
    Extension { size: u64, at: Ext },
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
    /// A trailer field line was refused; its bytes before the refusal were reported, the next
    /// byte fails (so the events do not depend on where the input was split).
    TrailerRefused,
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
    trailer_fields: usize,
    trailer_name: TrailerName,
}

impl ChunkedDecoder {
    pub(crate) fn new() -> Self {
        ChunkedDecoder {
            state: State::Size { size: 0, digits: 0 },
            line_len: 0,
            trailer_len: 0,
            trailer_fields: 0,
            trailer_name: TrailerName::EMPTY,
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
                if self.trailer_fields == MAX_HEADERS {
                    return Err(FramingError::InvalidTrailer);
                }
                self.trailer_fields += 1;
                self.trailer_name = TrailerName::EMPTY;
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
                // A bad name byte, or the line's end before its `:`, refuses the line.
                let refused = self.trailer_name.read(&input[i..line_end]).map(|at| i + at);
                let refused = refused
                    .or((line_end < input.len() && !self.trailer_name.done).then_some(line_end));
                if let Some(at) = refused {
                    self.state = State::TrailerRefused;
                    if at == i {
                        return Err(FramingError::InvalidTrailer);
                    }
                    return Ok((at, ChunkOutput::Trailer(i..at)));
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
            if let State::Extension {
                at: Ext::Name | Ext::Token,
                ..
            } = self.state
            {
                // A run of name or value bytes leaves the state as it is: skip it whole, up to
                // the line limit (the byte past the limit is refused by `step` as before).
                let room = MAX_CHUNK_LINE_BYTES.saturating_sub(self.line_len);
                let run = input[i..]
                    .iter()
                    .take(room)
                    .take_while(|&&b| is_tchar(b))
                    .count();
                self.line_len += run;
                i += run;
                if i == input.len() {
                    break;
                }
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
            (State::Size { size, .. } | State::SizeLws { size }, b';') => State::Extension {
                size,
                at: Ext::BeforeName,
            },
            (State::Size { size, .. } | State::SizeLws { size }, b'\r') => State::SizeLf { size },
            (State::Extension { size, at }, _) => match extension_step(at, byte) {
                Some(Ok(at)) => State::Extension { size, at },
                Some(Err(())) => State::SizeLf { size },
                None => return Err(FramingError::InvalidChunkSize),
            },
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
            (State::TrailerLf | State::EndLf | State::TrailerRefused, _) => {
                return Err(FramingError::InvalidTrailer)
            }
            _ => return Err(FramingError::InvalidChunkSize),
        };
        Ok(next)
    }
}

/// One byte of a chunk extension: the next place, `Err(())` for the CR that ends the line
/// (allowed only after a whole name or value), `None` for a byte the grammar refuses.
fn extension_step(at: Ext, byte: u8) -> Option<Result<Ext, ()>> {
    let ws = matches!(byte, b' ' | b'\t');
    let next = match (at, byte) {
        (Ext::BeforeName, _) if ws => Ext::BeforeName,
        (Ext::BeforeName | Ext::Name, _) if is_tchar(byte) => Ext::Name,
        (Ext::Name | Ext::AfterName, _) if ws => Ext::AfterName,
        (Ext::Name | Ext::AfterName | Ext::Token | Ext::AfterValue, b';') => Ext::BeforeName,
        (Ext::Name | Ext::AfterName | Ext::Token | Ext::AfterValue, b'\r') => return Some(Err(())),
        (Ext::Name | Ext::AfterName, b'=') => Ext::BeforeValue,
        (Ext::BeforeValue, _) if ws => Ext::BeforeValue,
        (Ext::BeforeValue, b'"') => Ext::Quoted,
        (Ext::BeforeValue | Ext::Token, _) if is_tchar(byte) => Ext::Token,
        (Ext::Token | Ext::AfterValue, _) if ws => Ext::AfterValue,
        (Ext::Quoted, b'"') => Ext::AfterValue,
        (Ext::Quoted, b'\\') => Ext::QuotedEscape,
        (Ext::Quoted, b'\t' | b' ' | b'!' | 0x23..=0x5b | 0x5d..=0x7e | 0x80..=0xff) => Ext::Quoted,
        (Ext::QuotedEscape, b'\t' | b' '..=b'~' | 0x80..=0xff) => Ext::Quoted,
        _ => return None,
    };
    Some(Ok(next))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_tchar_table_is_rfc_9110_tchar() {
        for b in 0..=255u8 {
            let tchar = b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            assert_eq!(super::is_tchar(b), tchar, "byte {b:#04x}");
        }
    }
}
