//! Word-at-a-time byte classes for the run finders ([`base64`](super::base64),
//! [`hex`](super::hex)): outside a run, a finder skips text by probing one eight-byte word in
//! every few, with a coarse test of a few integer operations (a byte range that holds the class:
//! prose and code fail it at every space or letter past `f`), until a probe could lie inside a
//! run; the finder's exact, byte-wise logic takes over from there.

/// A byte class a run is made of, with a cheap word-at-a-time test that holds it.
pub(super) trait ByteClass {
    /// Whether `b` is in the class (what the coarse test and the finders' tables are checked
    /// against).
    #[cfg(test)]
    fn byte(b: u8) -> bool;
    /// `false` only if some byte of the little-endian word `x` is outside the class (a word
    /// of in-class bytes always passes; others may).
    fn word_may_be_full(x: u64) -> bool;
}

/// `0x01` in every byte.
const ONES: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte.
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether some byte of `x` is below `n` (`n <= 0x80`; exact, as a whole-word answer).
#[inline]
fn has_byte_below(x: u64, n: u8) -> bool {
    x.wrapping_sub(ONES * u64::from(n)) & !x & HIGHS != 0
}

/// Whether some byte of `x` is above `n` (`n < 0x80`; exact, as a whole-word answer).
#[inline]
fn has_byte_above(x: u64, n: u8) -> bool {
    (x.wrapping_add(ONES * u64::from(0x7f - n)) | x) & HIGHS != 0
}

/// The base64 alphabets (`A-Z a-z 0-9 + / - _`, standard and URL-safe); coarsely
/// `0x2b..=0x7a` (`+` to `z`), which every space, quote, bracket or line break leaves.
pub(super) struct Base64;

impl ByteClass for Base64 {
    #[cfg(test)]
    fn byte(b: u8) -> bool {
        // `| 0x20` maps upper-case letters onto lower-case ones and no other byte into `a..=z`.
        (b | 0x20).wrapping_sub(b'a') < 26
            || b.wrapping_sub(b'0') < 10
            || b == b'+'
            || b == b'/'
            || b == b'-'
            || b == b'_'
    }

    #[inline]
    fn word_may_be_full(x: u64) -> bool {
        !(has_byte_below(x, b'+') || has_byte_above(x, b'z'))
    }
}

/// What a hex run holds: a digit of either case or a separator (`-`, `:`, space); coarsely,
/// with `0x20` set in every byte, `0x20..=0x66`, which every letter past `f` leaves.
pub(super) struct HexOrSeparator;

impl ByteClass for HexOrSeparator {
    #[cfg(test)]
    fn byte(b: u8) -> bool {
        b.wrapping_sub(b'0') < 10
            || (b | 0x20).wrapping_sub(b'a') < 6
            || b == b' '
            || b == b'-'
            || b == b':'
    }

    #[inline]
    fn word_may_be_full(x: u64) -> bool {
        !has_byte_above(x | 0x2020_2020_2020_2020, b'f')
    }
}

/// From `i`, skips text where no `RUN` consecutive bytes are all in `class`: returns a
/// position at or before the start of the first such window (or, near the end, just past the
/// last word looked at), so that the finder's exact, byte-wise logic resumes there and loses
/// no run.
///
/// Only one word in every `RUN - 7` bytes is looked at (a probe): a window of `RUN` bytes holds
/// the whole of at least one probe word, so a window whose first whole probe failed the coarse
/// test is impossible, and the first probe that passes bounds where a window can start. On
/// prose and code nearly every probe fails at a space, quote or letter, so the cost is a few
/// integer operations per `RUN - 7` bytes, a fraction of classifying every byte.
#[inline]
pub(super) fn skip_to_window<const RUN: usize, C: ByteClass>(input: &[u8], i: usize) -> usize {
    let stride = RUN - 7;
    let mut p = i;
    // Four probes a step while they fit, with one branch for the four: on prose every probe
    // fails, and the probes' own tests are cheaper than a loop turn each. A step with a passing
    // probe is walked again below, probe by probe, so the result is the single walk's.
    let word = |q: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&input[q..q + 8]);
        u64::from_le_bytes(bytes)
    };
    while p + 3 * stride + 8 <= input.len() {
        let any = C::word_may_be_full(word(p))
            | C::word_may_be_full(word(p + stride))
            | C::word_may_be_full(word(p + 2 * stride))
            | C::word_may_be_full(word(p + 3 * stride));
        if any {
            break;
        }
        p += 4 * stride;
    }
    while let Some(word) = input.get(p..p + 8) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        if C::word_may_be_full(u64::from_le_bytes(bytes)) {
            break;
        }
        p += stride;
    }
    // A window starting at or before the probe before `p` holds a failed probe: whether `p`
    // passed or lies past the end, the first possible window starts after that one.
    (p + 1).saturating_sub(stride).max(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The arithmetic classes agree with the alphabets, byte by byte.
    #[test]
    fn classes_are_the_alphabets() {
        let base64 = |b: u8| b.is_ascii_alphanumeric() || b"+/-_".contains(&b);
        let hex = |b: u8| b.is_ascii_hexdigit() || b" -:".contains(&b);
        for b in 0..=255u8 {
            assert_eq!(Base64::byte(b), base64(b), "{b:#x}");
            assert_eq!(HexOrSeparator::byte(b), hex(b), "{b:#x}");
        }
    }

    /// The word tests agree with byte-by-byte answers, and the coarse tests never reject a
    /// word of in-class bytes, on every uniform word and a million mixed ones.
    #[test]
    fn coarse_word_tests_hold_their_classes() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let base64: Vec<u8> = (0..=255).filter(|&b| Base64::byte(b)).collect();
        let hex: Vec<u8> = (0..=255).filter(|&b| HexOrSeparator::byte(b)).collect();
        for round in 0..1_000_000u32 {
            let x = if round < 256 {
                ONES * u64::from(round)
            } else {
                next()
            };
            let bytes = x.to_le_bytes();
            for n in [0x20u8, 0x2b, 0x66, 0x7a, 0x7f] {
                assert_eq!(
                    has_byte_below(x, n),
                    bytes.iter().any(|&b| b < n),
                    "{x:#x} < {n:#x}"
                );
                assert_eq!(
                    has_byte_above(x, n),
                    bytes.iter().any(|&b| b > n),
                    "{x:#x} > {n:#x}"
                );
            }
            let pick = |alphabet: &[u8]| {
                u64::from_le_bytes(
                    x.to_le_bytes()
                        .map(|b| alphabet[usize::from(b) % alphabet.len()]),
                )
            };
            assert!(
                Base64::word_may_be_full(pick(&base64)),
                "{:#x}",
                pick(&base64)
            );
            assert!(
                HexOrSeparator::word_may_be_full(pick(&hex)),
                "{:#x}",
                pick(&hex)
            );
        }
        for word in [b"context ", b"return\n ", b"agent, a", b"(x) => {"] {
            assert!(!Base64::word_may_be_full(u64::from_le_bytes(*word)));
        }
        for word in [b"context ", b"function", b"registry"] {
            assert!(!HexOrSeparator::word_may_be_full(u64::from_le_bytes(*word)));
        }
    }

    /// The first window of `run` in-class bytes at or after `from`: the byte-wise reference.
    fn first_window<C: ByteClass>(text: &[u8], from: usize, run: usize) -> Option<usize> {
        (from..text.len()).find(|&s| {
            text.get(s..s + run)
                .is_some_and(|w| w.iter().all(|&b| C::byte(b)))
        })
    }

    fn skip_holds<const RUN: usize, C: ByteClass>(text: &[u8], from: usize) {
        let p = skip_to_window::<RUN, C>(text, from);
        let bound = first_window::<C>(text, from, RUN).unwrap_or(text.len());
        assert!(
            from <= p && p <= bound,
            "{from} -> {p}, window at {bound}: {text:?}"
        );
    }

    /// Wherever a window of in-class bytes lies, the skip stops at or before its start (and
    /// never before where it began): runs of every length at every offset, and texts drawn
    /// from a mix of in-class bytes and the bytes that end runs in prose.
    #[test]
    fn the_skip_never_passes_a_window() {
        for len in [0usize, 7, 8, 24, 25, 64, 65, 130] {
            for run_at in 0..len {
                for run_len in [23usize, 24, 25, 31, 32, 33, 40] {
                    let end = (run_at + run_len).min(len);
                    // Between runs: prose that leaves short in-class words, or bytes that
                    // are all outside both classes (so that a run is exactly as long as set).
                    for (filler, fill, hex) in [
                        (b"ab cd.ef gh ", b'Q', false),
                        (b"ab cd.ef gh ", b'7', true),
                        (b" .,:;<=>[]\n\"", b'Q', false),
                        (b"xyz .,:;<>[]", b'7', true),
                    ] {
                        let mut text = filler.repeat(len / 12 + 1);
                        text.truncate(len);
                        text[run_at..end].fill(fill);
                        // Every alignment of the probes against the run.
                        for from in run_at.saturating_sub(33)..=run_at {
                            if hex {
                                skip_holds::<32, HexOrSeparator>(&text, from);
                            } else {
                                skip_holds::<24, Base64>(&text, from);
                            }
                        }
                    }
                }
            }
        }
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let alphabet = b"Qz7+/_-:. \n\"f3a";
        for round in 0..20_000 {
            let len = round % 200;
            let text: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    // Mostly in class, so that windows are common and end anywhere.
                    let k = state % 64;
                    alphabet[if k < 56 {
                        (k % 3) as usize
                    } else {
                        k as usize % alphabet.len()
                    }]
                })
                .collect();
            let from = (state >> 32) as usize % (len + 1);
            skip_holds::<24, Base64>(&text, from);
            skip_holds::<32, HexOrSeparator>(&text, from);
        }
        let prose = b"the agent calls a tool with context and returns result ".repeat(20);
        assert!(skip_to_window::<24, Base64>(&prose, 0) >= prose.len() - 24);
        assert!(skip_to_window::<32, HexOrSeparator>(&prose, 0) >= prose.len() - 32);
    }
}
