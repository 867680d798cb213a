//! Block-at-a-time byte classes for the run finders ([`base64`](super::base64),
//! [`hex`](super::hex)): outside a run, a finder skips text 64 bytes at a time until a streak
//! of in-class words could hold a run. Each block is first tested a word at a time against a
//! coarser class with a few integer operations per eight bytes (a range that holds the class:
//! prose and code fail it at every space or letter past `f`), and only a block that passes is
//! classified exactly, with arithmetic the compiler turns into vector compares.

/// A byte class a run is made of, with a cheap word-at-a-time test that holds it.
pub(super) trait ByteClass {
    /// Whether `b` is in the class.
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
    #[inline]
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
    #[inline]
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

/// A word of eight in-class bytes, as [`classify`] writes them.
const FULL: u64 = ONES;

/// One block's bytes as 1 (in class) or 0, written so that it compiles to vector code.
#[inline]
fn classify<C: ByteClass>(block: &[u8; 64], out: &mut [u8; 64]) {
    for (c, &b) in out.iter_mut().zip(block) {
        *c = u8::from(C::byte(b));
    }
}

/// Bit `w` set where `test` holds for word `w` of a block (little-endian), with no branch
/// per word.
#[inline]
fn words_where(block: &[u8; 64], test: impl Fn(u64) -> bool) -> u8 {
    let mut mask = 0u8;
    for (w, word) in block.chunks_exact(8).enumerate() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        mask |= u8::from(test(u64::from_le_bytes(bytes))) << w;
    }
    mask
}

/// Whether `streak` words already in class before a block, then the block's `full` words,
/// can make a streak of `needed` (`needed` <= 8).
#[inline]
fn may_reach(streak: usize, full: u8, needed: usize) -> bool {
    // The carried streak as the top bits of the byte below the block's.
    let carried = (0xffu16 << (8 - streak.min(8))) & 0xff;
    let bits = u16::from(full) << 8 | carried;
    let mut run = bits;
    for k in 1..needed {
        run &= bits >> k;
    }
    run != 0
}

/// From `i`, skips text where no `8 * WORDS` consecutive bytes are all in `class`: returns a
/// position at or before the start of the first such window (or, near the end, of whatever is
/// left unlooked at), so that the finder's exact, byte-wise logic resumes there and loses no
/// run.
///
/// A window of `8 * WORDS` in-class bytes covers at least `WORDS - 1` whole words of the grid
/// that starts at `i`, so only a streak of that many in-class words stops the skip. Every byte
/// is classified, but a block at a time in vector registers and with no chain from one step's
/// result to the next load: on prose this is about twice as fast as stepping from each
/// window's last out-of-class byte to the next window (which waited on each step's bit scan).
#[inline]
pub(super) fn skip_to_window<const WORDS: usize, C: ByteClass>(input: &[u8], i: usize) -> usize {
    let streak_needed = WORDS - 1;
    let mut streak = 0;
    let mut at = i;
    let mut classes = [0u8; 64];
    for block in input[i..].chunks_exact(64) {
        let Ok(block) = <&[u8; 64]>::try_from(block) else {
            break;
        };
        let coarse = words_where(block, C::word_may_be_full);
        if !may_reach(streak, coarse, streak_needed) {
            // No streak can end in this block; the one it leaves open is at most its coarse
            // one (an overestimate only makes the skip stop earlier).
            streak = coarse.leading_ones() as usize;
            at += 64;
            continue;
        }
        classify::<C>(block, &mut classes);
        // Which words are wholly in class: on text, none is, and the block is passed over
        // at once.
        let full = words_where(&classes, |x| x == FULL);
        if full == 0 {
            streak = 0;
            at += 64;
            continue;
        }
        for w in 0..8 {
            if full >> w & 1 == 1 {
                streak += 1;
                if streak == streak_needed {
                    // The window may start in the word before the streak.
                    return (at + 8 - 8 * streak).saturating_sub(8).max(i);
                }
            } else {
                streak = 0;
            }
            at += 8;
        }
    }
    // The tail (under a block) is left to the finder, from before any streak still open.
    (at - 8 * streak).saturating_sub(8).max(i)
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

    /// A streak is reachable exactly when the carried words and the block's full words hold
    /// `needed` in a row.
    #[test]
    fn may_reach_is_a_streak_of_needed_words() {
        for needed in 2..=4 {
            for streak in 0..needed {
                for full in 0..=255u8 {
                    let mut run = streak;
                    let mut reached = false;
                    for w in 0..8 {
                        run = if full >> w & 1 == 1 { run + 1 } else { 0 };
                        reached |= run >= needed;
                    }
                    assert_eq!(
                        may_reach(streak, full, needed),
                        reached,
                        "{needed} {streak} {full:#b}"
                    );
                }
            }
        }
    }

    /// Wherever a window of in-class bytes lies, the skip stops at or before its start, and
    /// text without one is skipped to its last block.
    #[test]
    fn the_skip_never_passes_a_window() {
        for len in [0usize, 7, 63, 64, 65, 130, 300] {
            for run_at in 0..len {
                for run_len in [23usize, 24, 31, 32, 40] {
                    let mut text = b"ab cd.ef gh ".repeat(len / 12 + 1);
                    text.truncate(len);
                    let end = (run_at + run_len).min(len);
                    text[run_at..end].fill(b'Q');
                    for from in [0, run_at.saturating_sub(9), run_at] {
                        let p = skip_to_window::<3, Base64>(&text, from);
                        if end - run_at >= 24 {
                            assert!(
                                p <= run_at.max(from),
                                "{len} {run_at} {run_len} {from}: {p}"
                            );
                        }
                        assert!(p >= from && p <= len);
                    }
                }
            }
        }
        let prose = b"the agent calls a tool with context and returns result ".repeat(20);
        assert!(skip_to_window::<3, Base64>(&prose, 0) >= prose.len() - 64 - 8);
        assert!(skip_to_window::<4, HexOrSeparator>(&prose, 0) >= prose.len() - 64 - 8);
    }
}
