//! Context checks of the credential rules beyond the AI keys: token edges, documented
//! placeholders, and where a family's secret part starts.

use std::sync::OnceLock;

use super::rule::MatchContext;

fn is_alnum(b: Option<u8>) -> bool {
    b.is_some_and(|b| b.is_ascii_alphanumeric())
}

/// Characters of a token alphabet (base64url, with `.` for GitLab's versioned tokens).
fn is_token(b: Option<u8>) -> bool {
    b.is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

/// Words that only documentation and templates put inside a credential (lower case; no two
/// start with the same letter, which is how [`is_placeholder`] tells which one a pair starts).
const PLACEHOLDER_WORDS: &[&[u8]] = &[
    b"example",
    b"your",
    b"placeholder",
    b"redacted",
    b"dummy",
    b"changeme",
    b"sample",
];

/// Documented example keys and placeholders: `AKIAIOSFODNN7EXAMPLE`, anything ending in
/// `EXAMPLE`, `your-token-here`, and runs of one character (`xxxx…`, `0000…`, `XXXX…`), which
/// no random key of these lengths holds.
///
/// It runs on every candidate key, including the expected-use ones in every request head, so
/// it is one pass over byte pairs: a pair that starts no placeholder word (in any case) is one
/// bit test, and a random key's pairs almost never do (28 of 3,844 alphanumeric pairs), so the
/// loop's branches are predicted. Testing the first letter alone hit on a quarter of a random
/// key's bytes, each a mispredicted comparison.
pub(crate) fn is_placeholder(body: &[u8]) -> bool {
    // One bit per byte pair that starts a placeholder word, ASCII case folded.
    static STARTS: OnceLock<Box<[u64; 1024]>> = OnceLock::new();
    let starts = STARTS.get_or_init(|| {
        let mut bits = Box::new([0u64; 1024]);
        for w in PLACEHOLDER_WORDS {
            for a in [w[0], w[0].to_ascii_uppercase()] {
                for b in [w[1], w[1].to_ascii_uppercase()] {
                    let pair = usize::from(a) << 8 | usize::from(b);
                    bits[pair / 64] |= 1 << (pair % 64);
                }
            }
        }
        bits
    });
    let mut run = 1;
    for (i, pair) in body.windows(2).enumerate() {
        let (a, b) = (pair[0], pair[1]);
        if a == b {
            run += 1;
            if run >= 6 {
                return true;
            }
        } else {
            run = 1;
        }
        let bit = usize::from(a) << 8 | usize::from(b);
        if starts[bit / 64] & (1 << (bit % 64)) != 0 && word_at(&body[i..]) {
            return true;
        }
    }
    false
}

/// Whether `s` starts with the placeholder word its first letter starts.
fn word_at(s: &[u8]) -> bool {
    let first = s[0].to_ascii_lowercase();
    PLACEHOLDER_WORDS
        .iter()
        .find(|w| w[0] == first)
        .is_some_and(|w| s.get(..w.len()).is_some_and(|s| s.eq_ignore_ascii_case(w)))
}

/// Mixes at least two of upper case, lower case and digits, with ten distinct characters:
/// what real keys do and placeholders (`sk-xxxx…`, `sk-YOUR-KEY-HERE`) and CSS names do not.
pub(crate) fn looks_random(body: &[u8]) -> bool {
    let upper = body.iter().any(u8::is_ascii_uppercase);
    let lower = body.iter().any(u8::is_ascii_lowercase);
    let digit = body.iter().any(u8::is_ascii_digit);
    (upper as u8 + lower as u8 + digit as u8) >= 2 && looks_random_hex(body)
}

/// Lower-case hex bodies (DigitalOcean, DingTalk) have no upper case: 10 distinct digits
/// and letters is what 64 random hex characters have.
fn looks_random_hex(body: &[u8]) -> bool {
    // The set lives in two registers: a table in memory made each byte wait for the store
    // of the one before (all letters share one word of it).
    let (mut ascii, mut high) = (0u128, 0u128);
    for &b in body {
        if b < 128 {
            ascii |= 1 << b;
        } else {
            high |= 1 << (b - 128);
        }
    }
    ascii.count_ones() + high.count_ones() >= 10
}

/// Where a prefixed token's random part starts: after its last `_` or `-` within the prefix.
fn body_after_prefix(m: &[u8], prefix_len: usize) -> &[u8] {
    &m[prefix_len.min(m.len())..]
}

fn prefix_len(m: &[u8]) -> usize {
    const PREFIXES: &[&str] = &[
        "github_pat_",
        "pypi-AgE",
        "dckr_pat_",
        "dckr_oat_",
        "glagent-",
        "glpat-",
        "gloas-",
        "gldt-",
        "glrt-",
        "glcbt-",
        "glptt-",
        "npm_",
        "cio",
    ];
    PREFIXES
        .iter()
        .find(|p| m.starts_with(p.as_bytes()))
        .map_or(4, |p| p.len())
}

/// A token with a prefix of its own (`ghp_…`, `glpat-…`, `npm_…`, `dckr_pat_…`): whole (no
/// token character glued after it), random, not a placeholder.
pub(crate) fn prefixed_token(ctx: &MatchContext<'_>) -> bool {
    let body = body_after_prefix(ctx.matched, prefix_len(ctx.matched));
    !is_token(ctx.next()) && ctx.next() != Some(b'.') && !is_placeholder(body) && looks_random(body)
}

/// Telegram (`<bot id>:AA…`), Discord, Slack and the robot webhooks.
pub(crate) fn chat_platform_token(ctx: &MatchContext<'_>) -> bool {
    let m = ctx.matched;
    if is_token(ctx.next()) {
        return false;
    }
    match m.first() {
        Some(b':') => {
            // The bot id: 5 to 16 digits standing alone before the colon.
            let digits = ctx
                .before
                .iter()
                .rev()
                .take_while(|b| b.is_ascii_digit())
                .count();
            let id_start = ctx.before.len() - digits;
            // `…/bot<id>:<secret>` in a URL path, or the id standing alone.
            let id_start = if ctx.before[..id_start].ends_with(b"/bot") {
                id_start - 3
            } else {
                id_start
            };
            let before_id = id_start.checked_sub(1).map(|i| ctx.before[i]);
            (5..=16).contains(&digits)
                && !is_alnum(before_id)
                && before_id != Some(b'_')
                && !is_placeholder(&m[1..])
                && looks_random(&m[3..])
        }
        Some(b'x') => {
            !is_alnum(ctx.prev())
                && !matches!(ctx.prev(), Some(b'_' | b'-'))
                && !is_placeholder(&m[5..])
                && looks_random(&m[5..])
        }
        Some(b'B') => !is_token(ctx.prev()) && !is_placeholder(m) && discord_random(m),
        Some(b'd' | b'D') => !is_alnum(ctx.prev()) && !is_placeholder(m) && discord_random(m),
        // Webhook URLs: the host starts a URL or a word.
        _ => {
            !is_alnum(ctx.prev())
                && !matches!(ctx.prev(), Some(b'.' | b'-'))
                && !is_placeholder(url_secret(m))
        }
    }
}

/// The last dot-separated part of a Discord token is its HMAC: random.
fn discord_random(m: &[u8]) -> bool {
    let tail = m.rsplit(|&b| b == b'.' || b == b'/').next().unwrap_or(m);
    looks_random(tail)
}

/// The secret part of a webhook URL: what follows its last `/` or `=`.
fn url_secret(m: &[u8]) -> &[u8] {
    let at = m
        .iter()
        .rposition(|&b| b == b'/' || b == b'=')
        .map_or(0, |i| i + 1);
    &m[at..]
}

/// Stripe, SendGrid, Twilio, DigitalOcean, Hugging Face org tokens, Bedrock, GCP OAuth client
/// secrets, and AWS secret access keys beside their keyword.
pub(crate) fn cloud_service_key(ctx: &MatchContext<'_>) -> bool {
    let m = ctx.matched;
    if is_token(ctx.next()) || matches!(ctx.next(), Some(b'+' | b'/')) {
        return false;
    }
    // Keyword forms: the value after the separator is the secret.
    let keyword = m.starts_with(b"twilio")
        || m.starts_with(b"TWILIO")
        || m.starts_with(b"secret_access_key")
        || m.starts_with(b"SECRET_ACCESS_KEY")
        || m.starts_with(b"ecretAccessKey");
    if keyword {
        if m.starts_with(b"ecretAccessKey") && !matches!(ctx.prev(), Some(b'S' | b's')) {
            return false;
        }
        let value_at = m
            .iter()
            .rposition(|&b| matches!(b, b'=' | b':' | b' ' | b'\t' | b'"' | b'\''))
            .map_or(0, |i| i + 1);
        let value = &m[value_at..];
        return !is_placeholder(value)
            && (looks_random(value) || (value.len() == 32 && looks_random_hex(value)));
    }
    // Bedrock keys are base64 of a fixed text: `ABSK` starts a word of its own.
    let prefix_end = if m.starts_with(b"do") {
        7
    } else if m.starts_with(b"SG.") {
        3
    } else if m.starts_with(b"ABSK") {
        22
    } else if m.starts_with(b"bedrock-api-key-") {
        44
    } else {
        m.iter()
            .position(|&b| b == b'_' || b == b'-')
            .map_or(0, |i| i + 1)
    };
    let body = &m[prefix_end.min(m.len())..];
    let body = if m.starts_with(b"sk_live_") || m.starts_with(b"rk_live_") {
        &m[8..]
    } else {
        body
    };
    !is_token(ctx.prev())
        && ctx.prev() != Some(b'.')
        && !is_placeholder(body)
        && if m.starts_with(b"do") {
            looks_random_hex(body)
        } else {
            looks_random(body)
        }
}

/// Passwords that documentation writes in database URLs.
const PASSWORD_PLACEHOLDERS: &[&[u8]] = &[
    b"password",
    b"passwd",
    b"pass",
    b"pwd",
    b"pw",
    b"secret",
    b"changeme",
    b"example",
    b"your",
    b"mypassword",
    b"postgres",
    b"root",
    b"admin",
    b"guest",
    b"test",
    b"user",
    b"xxx",
    b"foo",
    b"bar",
    b"baz",
    b"hunter2",
];

/// A URL with an inline password that is not a placeholder: not `user:password@`,
/// `${DB_PASSWORD}`, `$PASS`, `<password>`, `{password}`, `%s`, `****`, `...`, and not the
/// user name again (`postgres:postgres@`).
pub(crate) fn database_url(ctx: &MatchContext<'_>) -> bool {
    let m = ctx.matched;
    let Some(scheme_end) = memchr::memmem::find(m, b"://") else {
        return false;
    };
    let auth = &m[scheme_end + 3..];
    let Some(at) = memchr::memrchr(b'@', auth) else {
        return false;
    };
    let auth = &auth[..at];
    let Some(colon) = memchr::memchr(b':', auth) else {
        return false;
    };
    let (user, password) = (&auth[..colon], &auth[colon + 1..]);
    let lower = password.to_ascii_lowercase();
    let templated = password
        .first()
        .is_some_and(|b| matches!(b, b'$' | b'<' | b'{' | b'%' | b'[' | b'*' | b'.' | b'_'))
        || password.ends_with(b">")
        || password.ends_with(b"}");
    !templated
        && password != user
        && !PASSWORD_PLACEHOLDERS.iter().any(|p| lower == *p)
        && !is_placeholder(password)
        && !lower.starts_with(b"your")
}

#[cfg(test)]
mod tests {
    use super::is_placeholder;

    /// The definition, written plainly: a placeholder word in any case, or six equal bytes.
    fn reference(body: &[u8]) -> bool {
        let lower = body.to_ascii_lowercase();
        super::PLACEHOLDER_WORDS
            .iter()
            .any(|w| lower.windows(w.len()).any(|x| x == *w))
            || body.windows(6).any(|w| w.iter().all(|&b| b == w[0]))
    }

    #[test]
    fn placeholders_match_the_plain_definition() {
        // is_placeholder finds a word by its first letter: no two may share one.
        let mut firsts: Vec<u8> = super::PLACEHOLDER_WORDS.iter().map(|w| w[0]).collect();
        firsts.sort_unstable();
        firsts.dedup();
        assert_eq!(firsts.len(), super::PLACEHOLDER_WORDS.len());
        let cases: &[&[u8]] = &[
            b"",
            b"AKIAIOSFODNN7EXAMPLE",
            b"IOSFODNN7EXAMPL",
            b"your-token-here",
            b"YOUR_API_KEY",
            b"yourx",
            b"you",
            b"xxxxxx",
            b"xxxxx",
            b"XXXXXXXXXXXX",
            b"a00000",
            b"abc000001",
            b"Zx9PlaceHolder",
            b"placeholde",
            b"REDACTED",
            b"dummy1",
            b"dumm",
            b"ChangeMe",
            b"sample",
            b"sampl",
            b"T3BlbkFJ9aXk2LmQ0vR7wZ",
            b"proj-4fK9sQ2mZ8xL1cV7bN3hJ6tY0pR5wE",
            b"\xff\xfe\xff",
        ];
        for &c in cases {
            assert_eq!(
                is_placeholder(c),
                reference(c),
                "{:?}",
                String::from_utf8_lossy(c)
            );
        }
        // Every suffix and prefix of a word-bearing body, so an edge never hides or invents one.
        let body = b"k9Qexample7Zyour3changeme";
        for i in 0..body.len() {
            assert_eq!(is_placeholder(&body[i..]), reference(&body[i..]));
            assert_eq!(is_placeholder(&body[..i]), reference(&body[..i]));
        }
        // Strings drawn from the words' own letters in both cases, and runs of one byte.
        let letters = b"exampleyourPLACEHOLDERredactedDUMMYchangemeSAMPLExX0";
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let mut s = Vec::new();
            for _ in 0..(state % 24) {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                s.push(letters[(state >> 33) as usize % letters.len()]);
            }
            assert_eq!(
                is_placeholder(&s),
                reference(&s),
                "{:?}",
                String::from_utf8_lossy(&s)
            );
        }
    }

    #[test]
    fn looks_random_matches_the_plain_definition() {
        fn reference(body: &[u8]) -> bool {
            let classes = [
                body.iter().any(u8::is_ascii_uppercase),
                body.iter().any(u8::is_ascii_lowercase),
                body.iter().any(u8::is_ascii_digit),
            ];
            let mut distinct: Vec<u8> = body.to_vec();
            distinct.sort_unstable();
            distinct.dedup();
            classes.iter().filter(|&&c| c).count() >= 2 && distinct.len() >= 10
        }
        let cases: &[&[u8]] = &[
            b"",
            b"abcdefghij",
            b"abcdefghi1",
            b"ABCDEFGHIj",
            b"0123456789",
            b"01234567a",
            b"proj-4fK9sQ2mZ8xL1cV7bN3hJ6tY0pR5wE",
            b"--------__________a1",
            b"\xff\xfe\x80\x00\x01\x02\x03\x04\x05a1",
        ];
        for &c in cases {
            assert_eq!(
                super::looks_random(c),
                reference(c),
                "{:?}",
                String::from_utf8_lossy(c)
            );
        }
    }
}
