//! Block-at-a-time byte classes for the run finders ([`base64`](super::base64),
//! [`hex`](super::hex)): outside a run, a finder skips text 64 bytes at a time, classifying
//! each block with arithmetic the compiler turns into vector compares (no table look-up, no
//! branch per byte), until a streak of in-class words could hold a run.

/// Whether `b` is in the base64 alphabets (`A-Z a-z 0-9 + / - _`, standard and URL-safe).
#[inline]
pub(super) fn is_base64(b: u8) -> bool {
    // `| 0x20` maps upper-case letters onto lower-case ones and no other byte into `a..=z`.
    (b | 0x20).wrapping_sub(b'a') < 26
        || b.wrapping_sub(b'0') < 10
        || b == b'+'
        || b == b'/'
        || b == b'-'
        || b == b'_'
}

/// Whether `b` may be part of a hex run: a digit of either case or a separator (`-`, `:`,
/// space).
#[inline]
pub(super) fn is_hex_or_separator(b: u8) -> bool {
    b.wrapping_sub(b'0') < 10
        || (b | 0x20).wrapping_sub(b'a') < 6
        || b == b' '
        || b == b'-'
        || b == b':'
}

/// A word of eight in-class bytes, as [`classify`] writes them.
const FULL: u64 = 0x0101_0101_0101_0101;

/// One block's bytes as 1 (in class) or 0, written so that it compiles to vector code.
#[inline]
fn classify(block: &[u8; 64], class: impl Fn(u8) -> bool, out: &mut [u8; 64]) {
    for (c, &b) in out.iter_mut().zip(block) {
        *c = u8::from(class(b));
    }
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
pub(super) fn skip_to_window<const WORDS: usize>(
    input: &[u8],
    i: usize,
    class: impl Fn(u8) -> bool + Copy,
) -> usize {
    let streak_needed = WORDS - 1;
    let mut streak = 0;
    let mut at = i;
    let mut classes = [0u8; 64];
    for block in input[i..].chunks_exact(64) {
        let Ok(block) = <&[u8; 64]>::try_from(block) else {
            break;
        };
        classify(block, class, &mut classes);
        // Which words are wholly in class, without a branch per word: on text, none is, and
        // the block is passed over at once.
        let mut full = 0u8;
        for (w, word) in classes.chunks_exact(8).enumerate() {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(word);
            full |= u8::from(u64::from_le_bytes(bytes) == FULL) << w;
        }
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
            assert_eq!(is_base64(b), base64(b), "{b:#x}");
            assert_eq!(is_hex_or_separator(b), hex(b), "{b:#x}");
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
                        let p = skip_to_window::<3>(&text, from, is_base64);
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
        assert!(skip_to_window::<3>(&prose, 0, is_base64) >= prose.len() - 64 - 8);
        assert!(skip_to_window::<4>(&prose, 0, is_hex_or_separator) >= prose.len() - 64 - 8);
    }
}
