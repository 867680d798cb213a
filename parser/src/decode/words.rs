//! Word-at-a-time byte classes for the run finders ([`base64`](super::base64),
//! [`hex`](super::hex)): eight bytes at a time, the bytes that are certainly outside a run's
//! alphabet are flagged, so that a finder skips a window of text with three or four word
//! operations instead of a table look-up per byte and a branch per look-up.
//!
//! A flag is never wrong (a flagged byte is outside the alphabet); an unflagged byte may still
//! be outside it (the finder then checks its table), so skipping past the last flagged byte of
//! a window loses no run.

const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const HIGH: u64 = 0x8080_8080_8080_8080;
const ONES: u64 = 0x0101_0101_0101_0101;

/// High bit of each byte of `x` set where the byte is below `n` (`n` ≤ 128). Each byte's low
/// seven bits plus `128 - n` stay below 256, so no carry crosses a byte.
const fn below(x: u64, n: u8) -> u64 {
    !((x & LOW7) + ONES * (128 - n as u64)) & !x & HIGH
}

/// High bit of each byte of `x` set where the byte is `n` or above (`n` ≤ 128; every byte from
/// 0x80 up counts).
const fn at_least(x: u64, n: u8) -> u64 {
    (((x & LOW7) + ONES * (128 - n as u64)) | x) & HIGH
}

/// Bytes certainly outside the base64 alphabets (`A-Z a-z 0-9 + / - _` are 0x2B..=0x7A):
/// controls, space, `! " # $ % & ' ( ) *`, `{ | } ~`, DEL and every non-ASCII byte.
#[inline]
pub(super) const fn not_base64(x: u64) -> u64 {
    below(x, 0x2b) | at_least(x, 0x7b)
}

/// Bytes certainly outside a hex run (digits either case and the separators `-`, `:`, space
/// are 0x20..=0x66): controls, `g` to `z` and up, every non-ASCII byte.
#[inline]
pub(super) const fn not_hex(x: u64) -> u64 {
    below(x, 0x20) | at_least(x, 0x67)
}

/// Index of the last flagged byte of `window` whose length is a multiple of eight (a trailing
/// partial word is not looked at), if any.
#[inline]
pub(super) fn last_flagged(window: &[u8], flag: impl Fn(u64) -> u64) -> Option<usize> {
    let words = window.len() / 8;
    for w in (0..words).rev() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&window[w * 8..w * 8 + 8]);
        let m = flag(u64::from_le_bytes(bytes));
        if m != 0 {
            return Some(w * 8 + (63 - m.leading_zeros() as usize) / 8);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Per byte, the word flags agree with a per-byte reference, for every byte value in every
    /// lane.
    #[test]
    fn flags_are_exact_per_byte() {
        let reference_b64 = |b: u8| !(0x2b..=0x7a).contains(&b);
        let reference_hex = |b: u8| !(0x20..=0x66).contains(&b);
        for lane in 0..8 {
            for b in 0..=255u8 {
                for filler in [0u8, b'A', 0xff, b' ', b'z'] {
                    let mut bytes = [filler; 8];
                    bytes[lane] = b;
                    let x = u64::from_le_bytes(bytes);
                    for (flag, reference) in [
                        (
                            not_base64 as fn(u64) -> u64,
                            &reference_b64 as &dyn Fn(u8) -> bool,
                        ),
                        (not_hex, &reference_hex),
                    ] {
                        let m = flag(x);
                        for (k, &byte) in bytes.iter().enumerate() {
                            assert_eq!(
                                m >> (8 * k + 7) & 1 == 1,
                                reference(byte),
                                "byte {byte:#x} in lane {k}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_last_flagged_byte_is_found() {
        let window = *b"abcdefgh ijklmnopqrstuvwxyz012345";
        assert_eq!(last_flagged(&window[..24], not_base64), Some(8));
        assert_eq!(last_flagged(b"abcdefghijklmnopqrstuvwx", not_base64), None);
        assert_eq!(
            last_flagged(b"0123456789abcdef0123456789abcdez", not_hex),
            Some(31)
        );
    }
}
