//! Streaming decoder of hex runs inside text: every run of at least [`MIN_DIGITS`] hex digits
//! (either case), optionally with one separator (`-`, `:` or a space) between digit pairs
//! (`de:ad:be:ef`, UUIDs, `hexdump`-style `41 4b 49 41`), is decoded, its bytes handed on
//! followed by a `\n` that keeps runs apart. An odd last digit is dropped.
//!
//! One pass over the input, no allocation per byte: outside a run, text is skipped by probing
//! one word in every 25 bytes ([`words`](super::words)), which prose (letters past `f`) fails,
//! and a window of [`MIN_DIGITS`] bytes is tested byte by byte only where a probe could lie
//! inside a run.

use super::{hand_on, words, DECODED_PIECE};

/// Fewest hex digits a run needs to be decoded (16 decoded bytes).
pub const MIN_DIGITS: usize = 32;

/// Marks a separator.
const SEP: u8 = 0xfe;
/// Marks any other byte.
const OTHER: u8 = 0xff;

const CLASS: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t[b'-' as usize] = SEP;
    t[b':' as usize] = SEP;
    t[b' ' as usize] = SEP;
    t
};

/// Streaming hex run decoder (see the module docs).
#[derive(Clone, Debug)]
pub struct HexRuns {
    /// Digits in the current run.
    digits: usize,
    /// The high nibble of a byte under way.
    high: u8,
    /// The last byte was a separator.
    after_sep: bool,
    /// The run's first bytes, until it reaches [`MIN_DIGITS`].
    held: [u8; MIN_DIGITS / 2],
    scratch: Vec<u8>,
}

impl Default for HexRuns {
    fn default() -> Self {
        Self::new()
    }
}

impl HexRuns {
    /// A decoder outside any run.
    pub fn new() -> Self {
        HexRuns {
            digits: 0,
            high: 0,
            after_sep: false,
            held: [0; MIN_DIGITS / 2],
            scratch: Vec::new(),
        }
    }

    /// Decodes the runs in `input`, handing decoded bytes to `out`; returns `false` if `out`
    /// did.
    pub fn push(&mut self, input: &[u8], out: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        let mut i = 0;
        let len = input.len();
        while i < len {
            if self.digits == 0 {
                // Outside a run: skip, a probe at a time, text where no window of MIN_DIGITS
                // bytes a run can hold can be; then, window by window, past the last byte no
                // run has (with less than a window left, past its last such byte).
                i = words::skip_to_window::<MIN_DIGITS, words::HexOrSeparator>(input, i);
                if i == len {
                    break;
                }
                let window = &input[i..(i + MIN_DIGITS).min(len)];
                if let Some(j) = window.iter().rposition(|&b| CLASS[b as usize] == OTHER) {
                    i += j + 1;
                    continue;
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
        match CLASS[b as usize] {
            OTHER => self.end_run(),
            SEP => {
                if self.digits > 0 && self.digits % 2 == 0 && !self.after_sep {
                    self.after_sep = true;
                } else {
                    self.end_run();
                }
            }
            v => {
                self.after_sep = false;
                self.digits += 1;
                if self.digits % 2 == 1 {
                    self.high = v;
                    return;
                }
                let byte = self.high << 4 | v;
                let n = self.digits / 2;
                if n < self.held.len() {
                    self.held[n - 1] = byte;
                } else if n == self.held.len() {
                    self.held[n - 1] = byte;
                    self.scratch.extend_from_slice(&self.held);
                } else {
                    self.scratch.push(byte);
                }
            }
        }
    }

    fn end_run(&mut self) {
        if self.digits >= MIN_DIGITS {
            self.scratch.push(b'\n');
        }
        self.digits = 0;
        self.after_sep = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8], piece: usize) -> Vec<u8> {
        let mut d = HexRuns::new();
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
    fn runs_with_and_without_separators_decode_whatever_the_split() {
        let key = b"AKIA2E3F4G5H6I7J2K3L";
        let plain: String = key.iter().map(|b| format!("{b:02x}")).collect();
        let colons: Vec<String> = key.iter().map(|b| format!("{b:02X}")).collect();
        for text in [
            format!("x={plain}&y=1"),
            format!("dump {} end", colons.join(":")),
            format!("dump {} end", colons.join(" ")),
        ] {
            let whole = decode_all(text.as_bytes(), text.len());
            assert_eq!(whole, b"AKIA2E3F4G5H6I7J2K3L\n", "{text}");
            for piece in 1..text.len() {
                assert_eq!(
                    decode_all(text.as_bytes(), piece),
                    whole,
                    "{text} / {piece}"
                );
            }
        }
    }

    /// The block classes are the table's digits and separators.
    #[test]
    fn the_block_classes_are_the_table() {
        for b in 0..=255u8 {
            assert_eq!(
                <words::HexOrSeparator as words::ByteClass>::byte(b),
                CLASS[b as usize] != OTHER,
                "{b:#x}"
            );
        }
    }

    /// The skips lose no run, wherever it starts and whatever byte comes before it.
    #[test]
    fn a_run_is_found_at_every_offset_after_any_separator() {
        let run: String = b"AKIA2E3F4G5H6I7J2K3L"
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        for sep in [&b"\""[..], b"=", b"\xc3\xa9", b"\n", b"g", b"z", b"~"] {
            for lead in 0..40 {
                let mut text = b"agent calls the tool with context ".repeat(2)[..lead].to_vec();
                text.extend_from_slice(sep);
                text.extend_from_slice(run.as_bytes());
                text.extend_from_slice(sep);
                text.extend_from_slice(b"and more words follow");
                for piece in [1, 5, 32, text.len()] {
                    assert_eq!(
                        decode_all(&text, piece),
                        b"AKIA2E3F4G5H6I7J2K3L\n",
                        "lead {lead}, separator {sep:?}, pieces of {piece}"
                    );
                }
            }
        }
    }

    #[test]
    fn short_runs_and_prose_are_not_decoded() {
        assert!(decode_all(b"deadbeef cafe face bad", 3).is_empty());
        assert!(decode_all(b"a b c d e f a b c d e f a b c d e f a b c d e f", 4).is_empty());
    }
}
