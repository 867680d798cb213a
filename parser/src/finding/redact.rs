//! Snippet redaction (SPEC §5): every match of every EXFIL rule becomes `[REDACTED:<id>]`, any
//! other run of 20+ base64/hex-alphabet characters becomes `[REDACTED]`, and so do the
//! password of any URL's user info (whatever the edge cut of it) and the credentials of a
//! `Basic` or `Bearer` authorization (however short); invalid UTF-8 becomes `\xNN`. A token
//! cut by the snippet edge is dropped, so no secret leaks in part either.

use std::fmt::Write;
use std::ops::Range;

use crate::scan::{find_all_unchecked, RawMatch, Registry, RuleId, ThreatType};

/// Shortest run of token characters redacted even when no rule matched it.
pub const MIN_TOKEN_REDACT: usize = 20;

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'_' | b'-')
}

/// Characters that continue a secret glued to a redacted match: the token alphabet without
/// `=`, which separates a parameter name from its value (`key=AKIA…`) and only ends base64.
fn is_glue_char(b: u8) -> bool {
    b != b'=' && is_token_char(b)
}

/// The redacted snippet of a match.
pub fn redact_snippet(registry: &Registry, m: &RawMatch) -> String {
    let mut text: &[u8] = &m.context;
    let mut within = m.within.clone();
    if m.cut.1 {
        let keep = text[within.end..]
            .iter()
            .rposition(|&b| !is_token_char(b))
            .map_or(within.end, |i| within.end + i + 1);
        text = &text[..keep];
    }
    if m.cut.0 {
        let drop = text[..within.start]
            .iter()
            .position(|&b| !is_token_char(b))
            .unwrap_or(within.start);
        text = &text[drop..];
        within = within.start - drop..within.end - drop;
    }
    let mut replace: Vec<(Range<usize>, &str)> =
        find_all_unchecked(registry, registry.redaction_index(), text)
            .into_iter()
            .map(|(rule, range)| (range, registry.rule(rule).id.as_str()))
            .collect();
    let primary = (registry.rule(m.rule).threat == ThreatType::Exfil).then_some(within);
    let passwords = url_passwords(text, m.cut.1)
        .into_iter()
        .chain(auth_credentials(text));
    for range in passwords {
        // The match inside a password keeps its id; the rest of the password is redacted.
        match &primary {
            Some(w) if range.start < w.end && w.start < range.end => {
                for piece in [range.start..w.start, w.end..range.end] {
                    if !piece.is_empty() {
                        replace.push((piece, ""));
                    }
                }
            }
            _ => replace.push((range, "")),
        }
    }
    if let Some(within) = primary {
        replace.push((within, registry.rule(m.rule).id.as_str()));
    }
    redact_ranges(text, replace)
}

/// The credentials of every `Basic` and `Bearer` authorization in `text` (the scheme in any
/// case, then one or more spaces): a `user:password` pair (decoded basic auth) keeps its user;
/// a token (a bearer token, a base64 basic value) is redacted whole, however short, when it
/// looks like one (prose such as "a basic example" or "Bearer tokens" keeps its words).
fn auth_credentials(text: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 7 <= text.len() {
        let scheme = if text[i..i + 6].eq_ignore_ascii_case(b"basic ") {
            6
        } else if text[i..i + 7].eq_ignore_ascii_case(b"bearer ") {
            7
        } else {
            i += 1;
            continue;
        };
        let glued = i > 0 && text[i - 1].is_ascii_alphanumeric();
        let mut start = i + scheme;
        while text.get(start) == Some(&b' ') {
            start += 1;
        }
        let end = text[start..]
            .iter()
            .position(|b| b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'<' | b'>' | b','))
            .map_or(text.len(), |n| start + n);
        if !glued && start < end {
            match memchr::memchr(b':', &text[start..end]) {
                Some(c) if start + c + 1 < end => out.push(start + c + 1..end),
                None if looks_like_token(&text[start..end]) => out.push(start..end),
                _ => {}
            }
        }
        i = end.max(i + 1);
    }
    out
}

/// Whether an authorization's value is a credential rather than a word: eight characters or
/// more with a digit, a symbol of the token alphabets, or a capital letter inside it.
fn looks_like_token(value: &[u8]) -> bool {
    value.len() >= 8
        && value.iter().enumerate().any(|(i, &b)| {
            b.is_ascii_digit()
                || matches!(b, b'+' | b'/' | b'=' | b'_' | b'-' | b'.' | b'~')
                || (i > 0 && b.is_ascii_uppercase())
        })
}

/// The password of every `scheme://user:password@host` in `text`, whichever rule (if any)
/// matches the URL: a snippet edge may have cut the scheme or the host off, and then no rule
/// recognises what is left (`://app:s3cret@db…`). When the right edge cut the text
/// (`edge_cut`), a `user:` run to the edge counts as a password too.
fn url_passwords(text: &[u8], edge_cut: bool) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    for at in memchr::memmem::find_iter(text, b"://") {
        let start = at + 3;
        let end = text[start..]
            .iter()
            .position(|b| b.is_ascii_whitespace() || matches!(b, b'/' | b'"' | b'\'' | b'<' | b'>'))
            .map_or(text.len(), |i| start + i);
        let authority = &text[start..end];
        let userinfo = match memchr::memrchr(b'@', authority) {
            Some(a) => &authority[..a],
            None if edge_cut && end == text.len() => authority,
            None => continue,
        };
        if let Some(colon) = memchr::memchr(b':', userinfo) {
            if colon + 1 < userinfo.len() {
                out.push(start + colon + 1..start + userinfo.len());
            }
        }
    }
    out
}

/// Redacts `text` with no primary match (e.g. a free-form string bound for output).
pub fn redact_text(registry: &Registry, text: &[u8]) -> String {
    let replace = find_all_unchecked(registry, registry.redaction_index(), text)
        .into_iter()
        .map(|(rule, range): (RuleId, Range<usize>)| (range, registry.rule(rule).id.as_str()))
        .collect();
    redact_ranges(text, replace)
}

/// Replaces only the matches of EXFIL rules (no generic long-token redaction): a safety net
/// for structured output whose digests must stay readable.
pub fn redact_exfil_only(registry: &Registry, text: &[u8]) -> String {
    let mut ranges: Vec<(Range<usize>, &str)> =
        find_all_unchecked(registry, registry.redaction_index(), text)
            .into_iter()
            .map(|(rule, range)| (range, registry.rule(rule).id.as_str()))
            .collect();
    ranges.sort_by_key(|(r, _)| (r.start, std::cmp::Reverse(r.end)));
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for (range, id) in ranges {
        if range.start < pos {
            continue;
        }
        render_bytes(&text[pos..range.start], &mut out);
        let _ = write!(out, "[REDACTED:{id}]");
        pos = range.end;
    }
    render_bytes(&text[pos..], &mut out);
    out
}

fn redact_ranges(text: &[u8], mut replace: Vec<(Range<usize>, &str)>) -> String {
    replace.sort_by_key(|(r, _)| (r.start, std::cmp::Reverse(r.end)));
    let mut out = String::with_capacity(text.len() + 32);
    let mut pos = 0;
    for (range, id) in replace {
        if range.end <= pos {
            continue;
        }
        let start = range.start.max(pos);
        // Token characters glued to a redacted match are part of the same secret.
        let glued_start = text[pos..start]
            .iter()
            .rposition(|&b| !is_glue_char(b))
            .map_or(pos, |i| pos + i + 1);
        let gap_end = if glued_start < start {
            glued_start
        } else {
            start
        };
        render_gap(&text[pos..gap_end], &mut out);
        if id.is_empty() {
            out.push_str("[REDACTED]");
        } else {
            let _ = write!(out, "[REDACTED:{id}]");
        }
        pos = range.end;
        let glued_end = text[pos..]
            .iter()
            .position(|&b| !is_glue_char(b))
            .map_or(text.len(), |i| pos + i);
        pos = glued_end;
    }
    render_gap(&text[pos..], &mut out);
    out
}

/// Renders unmatched text: long token runs redacted, invalid UTF-8 escaped.
fn render_gap(gap: &[u8], out: &mut String) {
    let mut i = 0;
    while i < gap.len() {
        let run = gap[i..].iter().take_while(|&&b| is_token_char(b)).count();
        if run >= MIN_TOKEN_REDACT {
            out.push_str("[REDACTED]");
            i += run;
            continue;
        }
        let end = if run > 0 {
            i + run
        } else {
            i + 1
                + gap[i + 1..]
                    .iter()
                    .take_while(|&&b| !is_token_char(b))
                    .count()
        };
        render_bytes(&gap[i..end], out);
        i = end;
    }
}

fn render_bytes(bytes: &[u8], out: &mut String) {
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
}
