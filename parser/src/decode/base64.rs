//! Streaming decoder of base64 / base64url runs inside text: every run of at least
//! [`MIN_RUN`] alphabet characters (the standard and URL-safe alphabets together, padding
//! optional) is decoded, its bytes handed on followed by a `\n` that keeps runs apart.
//! Line-wrapped runs (PEM, MIME) continue across a line break — `\n`, `\r\n`, or the two-character
//! escapes `\n` / `\r\n` of a JSON string seen raw — when the line before it held at least
//! [`MIN_RUN`] characters, a multiple of four.
//!
//! One pass over the input, no allocation per byte: outside a run, a window of [`MIN_RUN`] bytes
//! is tested from its end, so text whose words are short is skipped a window at a time. A run
//! shorter than [`MIN_RUN`] is never decoded; its first characters are held in a fixed array
//! until the run is long enough.

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
                // Outside a run: skip a window at a time while it holds a non-alphabet byte.
                if i + MIN_RUN <= len {
                    let window = &input[i..i + MIN_RUN];
                    // No run starts at or before a byte outside the alphabet in the window:
                    // the word flags find one without a look-up per byte; the table finds
                    // the rest (`.`, `,`, `=`, `:` ...).
                    if let Some(j) = words::last_flagged(window, words::not_base64)
                        .or_else(|| window.iter().rposition(|&b| VALUES[b as usize] == OTHER))
                    {
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
                    push_quantum(&mut self.scratch, q);
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
            push_quantum(&mut self.scratch, self.quad);
            self.quad_len = 0;
        }
    }

    fn emit_held(&mut self) {
        for q in self.held.chunks_exact(4) {
            push_quantum(&mut self.scratch, [q[0], q[1], q[2], q[3]]);
        }
    }

    fn end_run(&mut self) {
        if self.run >= MIN_RUN {
            let q = self.quad;
            match self.quad_len {
                2 => self.scratch.push(q[0] << 2 | q[1] >> 4),
                3 => self
                    .scratch
                    .extend_from_slice(&[q[0] << 2 | q[1] >> 4, q[1] << 4 | q[2] >> 2]),
                _ => {}
            }
            self.scratch.push(b'\n');
        }
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
        push_quantum(out, v);
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

fn push_quantum(out: &mut Vec<u8>, q: [u8; 4]) {
    out.extend_from_slice(&[
        q[0] << 2 | q[1] >> 4,
        q[1] << 4 | q[2] >> 2,
        q[2] << 6 | q[3],
    ]);
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

    /// A byte the word flags skip is never one a run can hold.
    #[test]
    fn flagged_bytes_are_outside_the_alphabet() {
        for b in 0..=255u8 {
            if words::not_base64(u64::from(b)) & 0x80 != 0 {
                assert_eq!(VALUES[b as usize], OTHER, "{b:#x}");
            }
        }
    }

    /// The window skips (word flags, table, the tail shorter than a window) lose no run,
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

    #[test]
    fn escaped_line_breaks_continue_a_run() {
        let text = br#""QUtJQTJFM0Y0RzVINkk3SjJLM0wg\nYW5kIG1vcmU=""#;
        assert_eq!(decode_all(text, 7), b"AKIA2E3F4G5H6I7J2K3L and more\n");
    }
}
