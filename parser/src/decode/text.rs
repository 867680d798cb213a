//! Streaming text normalisation so that a secret is found however it was escaped: percent
//! decoding (request targets, form bodies) and JSON string unescaping (JSON and SSE bodies).
//! Unescaped runs are copied in bulk (memchr finds the next escape); an escape split across
//! chunks is carried over (at most 12 bytes: a `\uXXXX\uXXXX` surrogate pair, or an HTML
//! reference such as `&#x0010FFFF;`). HTML character references are decoded in HTML and XML.

/// How a body's text is normalised before scanning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextForm {
    /// Scanned as is.
    Raw,
    /// `%XX` decoded; with `plus_is_space`, `+` becomes a space (form encoding).
    Percent {
        /// Whether `+` means space.
        plus_is_space: bool,
    },
    /// JSON string escapes decoded (`\/`, `\n`, `\"`, `\uXXXX` including surrogate pairs).
    Json,
    /// HTML / XML character references decoded (see [`html`](super::html)).
    Html,
}

impl TextForm {
    /// The normalisation for a `Content-Type` value.
    pub fn for_content_type(content_type: &[u8]) -> Self {
        let media = content_type.split(|&b| b == b';').next().unwrap_or(b"");
        let media = crate::framing_trim(media);
        let is = |name: &[u8]| media.eq_ignore_ascii_case(name);
        let ends_with = |suffix: &[u8]| {
            media.len() >= suffix.len()
                && media[media.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
        };
        if is(b"application/x-www-form-urlencoded") {
            TextForm::Percent {
                plus_is_space: true,
            }
        } else if ends_with(b"/json")
            || ends_with(b"+json")
            || is(b"text/event-stream")
            || ends_with(b"ndjson")
            || is(b"application/jsonl")
        {
            TextForm::Json
        } else if is(b"text/html")
            || is(b"application/xhtml+xml")
            || is(b"text/xml")
            || is(b"application/xml")
            || ends_with(b"+xml")
        {
            TextForm::Html
        } else {
            TextForm::Raw
        }
    }
}

/// Streaming normaliser for one part.
#[derive(Clone, Debug)]
pub struct Normaliser {
    form: TextForm,
    pending: [u8; 12],
    pending_len: usize,
    scratch: Vec<u8>,
    /// HTML: inside a tag (its `<` and `>` become line ends, its text is kept).
    in_tag: bool,
    /// HTML: the last chunk ended in `<`, which may open a tag.
    lt_pending: bool,
    /// HTML: the decoded chunk, handed on whole (markup cuts text into pieces of a few dozen
    /// bytes, and every piece handed on costs each view behind a call).
    html_out: Vec<u8>,
}

impl Normaliser {
    /// A normaliser for a text form.
    pub fn new(form: TextForm) -> Self {
        Normaliser {
            form,
            pending: [0; 12],
            pending_len: 0,
            scratch: Vec::new(),
            in_tag: false,
            lt_pending: false,
            html_out: Vec::new(),
        }
    }

    /// Normalises `input`, passing decoded pieces to `out`; returns `false` if `out` did.
    pub fn push(&mut self, input: &[u8], out: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        match self.form {
            TextForm::Raw => out(input),
            TextForm::Percent { plus_is_space } => {
                self.push_escaped(input, out, &|rest| percent_escape(rest, plus_is_space))
            }
            TextForm::Json => self.push_escaped(input, out, &json_escape),
            TextForm::Html => {
                let mut decoded = std::mem::take(&mut self.html_out);
                decoded.clear();
                // Decoded text is never longer than its input and what was pending: one
                // allocation per body instead of a doubling series.
                decoded.reserve(input.len() + self.pending.len() + 1);
                self.push_html(input, &mut |t| {
                    decoded.extend_from_slice(t);
                    true
                });
                let more = decoded.is_empty() || out(&decoded);
                if decoded.capacity() <= 64 * 1024 {
                    self.html_out = decoded;
                }
                more
            }
        }
    }

    /// Whether `input` would come out of [`Self::push`] as it is, in one piece: a JSON
    /// normaliser with no escape carried over, and no backslash in `input`. A caller with two
    /// JSON levels asks once for both (the second would search the same bytes again).
    pub fn passes_unchanged(&self, input: &[u8]) -> bool {
        self.passes_plain_json() && memchr::memchr(b'\\', input).is_none()
    }

    /// Whether the text is taken as it is (no unescaping): every input comes out of
    /// [`Self::push`] unchanged, in one piece, and nothing is left for [`Self::finish`].
    pub fn is_raw(&self) -> bool {
        self.form == TextForm::Raw
    }

    /// Whether JSON text without a backslash would come out of [`Self::push`] as it is.
    pub fn passes_plain_json(&self) -> bool {
        self.form == TextForm::Json && self.pending_len == 0
    }

    /// Flushes an escape left incomplete at the end of the part (emitted as it was).
    pub fn finish(&mut self, out: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        let n = std::mem::take(&mut self.pending_len);
        if !(n == 0 || out(&self.pending[..n])) {
            return false;
        }
        !std::mem::take(&mut self.lt_pending) || out(b"<")
    }

    /// HTML text: references decoded; a tag's `<` and `>` become line ends so that text next
    /// to markup (`<pre>curl …`) stands apart as the reader sees it, while the tag's own text
    /// (attribute values) is still scanned. A `<` not followed by a letter, `/`, `!` or `?` is
    /// text.
    fn push_html(&mut self, mut input: &[u8], out: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        let escape = &super::html::html_escape;
        let opens_tag = |b: u8| b.is_ascii_alphabetic() || matches!(b, b'/' | b'!' | b'?');
        if self.lt_pending {
            let Some(&next) = input.first() else {
                return true;
            };
            self.lt_pending = false;
            if opens_tag(next) {
                if !out(b"\n") {
                    return false;
                }
                self.in_tag = true;
            } else if !self.push_escaped(b"<", out, escape) {
                return false;
            }
        }
        loop {
            if self.in_tag {
                let Some(end) = memchr::memchr(b'>', input) else {
                    return out(input);
                };
                if !(out(&input[..end]) && out(b"\n")) {
                    return false;
                }
                self.in_tag = false;
                input = &input[end + 1..];
                continue;
            }
            let Some(lt) = memchr::memchr(b'<', input) else {
                return self.push_escaped(input, out, escape);
            };
            if !self.push_escaped(&input[..lt], out, escape) {
                return false;
            }
            match input.get(lt + 1) {
                None => {
                    self.lt_pending = true;
                    return true;
                }
                Some(&next) if opens_tag(next) => {
                    let n = std::mem::take(&mut self.pending_len);
                    if !(n == 0 || out(&self.pending[..n])) || !out(b"\n") {
                        return false;
                    }
                    self.in_tag = true;
                }
                Some(_) => {
                    if !self.push_escaped(b"<", out, escape) {
                        return false;
                    }
                }
            }
            input = &input[lt + 1..];
        }
    }

    fn push_escaped(
        &mut self,
        mut input: &[u8],
        out: &mut dyn FnMut(&[u8]) -> bool,
        escape: &dyn Fn(&[u8]) -> Escape,
    ) -> bool {
        let special: &[u8] = match self.form {
            TextForm::Percent {
                plus_is_space: true,
            } => b"%+",
            TextForm::Percent { .. } => b"%%",
            TextForm::Html => b"&&",
            _ => b"\\\\",
        };
        // Complete a carried escape with just enough new bytes. An escape that turns out to be
        // shorter than what was carried (an invalid `\u06` followed by `k`) leaves carried bytes
        // that are text again: they are re-examined, each round consuming at least one byte.
        while self.pending_len > 0 {
            let take = (self.pending.len() - self.pending_len).min(input.len());
            let mut joined = [0u8; 24];
            joined[..self.pending_len].copy_from_slice(&self.pending[..self.pending_len]);
            joined[self.pending_len..self.pending_len + take].copy_from_slice(&input[..take]);
            let joined_len = self.pending_len + take;
            match escape(&joined[..joined_len]) {
                Escape::Incomplete if take == input.len() => {
                    self.pending[self.pending_len..joined_len].copy_from_slice(&input[..take]);
                    self.pending_len = joined_len;
                    return true;
                }
                Escape::Incomplete => {
                    // No escape is longer than the carry buffer: emit the carried bytes as text.
                    let n = std::mem::take(&mut self.pending_len);
                    if !out(&self.pending[..n]) {
                        return false;
                    }
                }
                Escape::Decoded { used, bytes, len } => {
                    if !out(&bytes[..len]) {
                        return false;
                    }
                    if used >= self.pending_len {
                        input = &input[used - self.pending_len..];
                        self.pending_len = 0;
                    } else {
                        self.pending.copy_within(used..self.pending_len, 0);
                        self.pending_len -= used;
                    }
                }
            }
        }
        if self.form == TextForm::Json {
            return self.push_json(input, out);
        }
        self.scratch.clear();
        let mut emit_from = 0;
        let mut i = 0;
        let next_special = |rest: &[u8]| match special {
            [a, b] if a != b => memchr::memchr2(*a, *b, rest),
            _ => memchr::memchr(special[0], rest),
        };
        while let Some(found) = next_special(&input[i..]) {
            let at = i + found;
            self.scratch.extend_from_slice(&input[emit_from..at]);
            match escape(&input[at..]) {
                Escape::Incomplete => {
                    let rest = &input[at..];
                    self.pending[..rest.len()].copy_from_slice(rest);
                    self.pending_len = rest.len();
                    return out(&self.scratch);
                }
                Escape::Decoded { used, bytes, len } => {
                    self.scratch.extend_from_slice(&bytes[..len]);
                    i = at + used;
                    emit_from = i;
                }
            }
        }
        if self.scratch.is_empty() {
            return out(&input[emit_from..]);
        }
        self.scratch.extend_from_slice(&input[emit_from..]);
        let more = out(&self.scratch);
        if self.scratch.capacity() > 64 * 1024 {
            self.scratch = Vec::new();
        }
        more
    }
}

impl Normaliser {
    /// JSON text after any carried escape, decoded in runs: text up to the next backslash is
    /// copied in bulk and a run of two-byte escapes (`\\\\\\\"`, nested JSON's doubling) is
    /// decoded in one loop, without a search or a call per escape; `\u` escapes and anything
    /// else go through [`json_escape`], so the output is the same as escape by escape.
    fn push_json(&mut self, input: &[u8], out: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        let Some(first) = memchr::memchr(b'\\', input) else {
            return out(input);
        };
        self.scratch.clear();
        // JSON escapes never grow: the output is at most the input.
        self.scratch.reserve(input.len());
        self.scratch.extend_from_slice(&input[..first]);
        let mut i = first;
        while i < input.len() {
            // input[i] is a backslash.
            match input.get(i + 1).and_then(|&e| simple_json_escape(e)) {
                Some(b) => {
                    self.scratch.push(b);
                    i += 2;
                }
                None => match json_escape(&input[i..]) {
                    Escape::Incomplete => {
                        let rest = &input[i..];
                        self.pending[..rest.len()].copy_from_slice(rest);
                        self.pending_len = rest.len();
                        break;
                    }
                    Escape::Decoded { used, bytes, len } => {
                        self.scratch.extend_from_slice(&bytes[..len]);
                        i += used;
                    }
                },
            }
            // Text up to the next backslash: a short look first (nested JSON has a backslash
            // every few bytes), then memchr.
            let rest = &input[i..];
            let n = match rest.iter().take(16).position(|&b| b == b'\\') {
                Some(n) => n,
                None if rest.len() <= 16 => rest.len(),
                None => memchr::memchr(b'\\', &rest[16..]).map_or(rest.len(), |n| n + 16),
            };
            self.scratch.extend_from_slice(&rest[..n]);
            i += n;
        }
        let more = out(&self.scratch);
        if self.scratch.capacity() > 64 * 1024 {
            self.scratch = Vec::new();
        }
        more
    }
}

/// The byte a two-byte JSON escape `\e` stands for (`None`: `\u…` or not an escape).
fn simple_json_escape(e: u8) -> Option<u8> {
    match e {
        b'"' | b'\\' | b'/' => Some(e),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        b'b' => Some(0x08),
        b'f' => Some(0x0c),
        _ => None,
    }
}

/// The result of decoding one escape at the start of a slice.
pub(super) enum Escape {
    /// More bytes are needed to decide.
    Incomplete,
    /// `used` input bytes became `bytes[..len]` (invalid escapes decode to themselves).
    Decoded {
        used: usize,
        bytes: [u8; 4],
        len: usize,
    },
}

impl Escape {
    /// The byte stands for itself.
    pub(super) fn literal(b: u8) -> Escape {
        literal(b)
    }

    /// `used` bytes stand for `c`.
    pub(super) fn char(c: char, used: usize) -> Escape {
        let mut bytes = [0u8; 4];
        let len = c.encode_utf8(&mut bytes).len();
        Escape::Decoded { used, bytes, len }
    }
}

fn literal(b: u8) -> Escape {
    Escape::Decoded {
        used: 1,
        bytes: [b, 0, 0, 0],
        len: 1,
    }
}

fn percent_escape(s: &[u8], plus_is_space: bool) -> Escape {
    match s {
        [b'+', ..] if plus_is_space => Escape::Decoded {
            used: 1,
            bytes: [b' ', 0, 0, 0],
            len: 1,
        },
        [b'%'] | [b'%', _] if s.get(1).is_none_or(u8::is_ascii_hexdigit) => Escape::Incomplete,
        [b'%', h, l, ..] if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
            let value = (hex(*h) << 4) | hex(*l);
            Escape::Decoded {
                used: 3,
                bytes: [value, 0, 0, 0],
                len: 1,
            }
        }
        _ => literal(s[0]),
    }
}

fn hex(b: u8) -> u8 {
    (b as char).to_digit(16).unwrap_or(0) as u8
}

fn hex4(s: &[u8]) -> Option<u32> {
    if s.len() < 4 || !s[..4].iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    Some(
        s[..4]
            .iter()
            .fold(0u32, |v, &b| (v << 4) | u32::from(hex(b))),
    )
}

fn json_escape(s: &[u8]) -> Escape {
    let simple = |b: u8| Escape::Decoded {
        used: 2,
        bytes: [b, 0, 0, 0],
        len: 1,
    };
    match s {
        [b'\\'] => Escape::Incomplete,
        [b'\\', b'"' | b'\\' | b'/', ..] => simple(s[1]),
        [b'\\', b'n', ..] => simple(b'\n'),
        [b'\\', b'r', ..] => simple(b'\r'),
        [b'\\', b't', ..] => simple(b'\t'),
        [b'\\', b'b', ..] => simple(0x08),
        [b'\\', b'f', ..] => simple(0x0c),
        [b'\\', b'u', rest @ ..] => {
            if rest.len() < 4 && rest.iter().all(u8::is_ascii_hexdigit) {
                return Escape::Incomplete;
            }
            let Some(unit) = hex4(rest) else {
                return literal(b'\\');
            };
            let (code, used) = if (0xD800..0xDC00).contains(&unit) {
                // A high surrogate needs its low half: `\uD83D\uDE00`.
                let tail = &rest[4..];
                let prefix_ok = tail.iter().zip(b"\\u").all(|(a, b)| a == b);
                if tail.len() < 6 && prefix_ok && tail.iter().skip(2).all(u8::is_ascii_hexdigit) {
                    return Escape::Incomplete;
                }
                match (tail.starts_with(b"\\u"), hex4(tail.get(2..).unwrap_or(b""))) {
                    (true, Some(low)) if (0xDC00..0xE000).contains(&low) => {
                        (0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00), 12)
                    }
                    _ => return literal(b'\\'),
                }
            } else {
                (unit, 6)
            };
            let Some(c) = char::from_u32(code) else {
                return literal(b'\\');
            };
            let mut bytes = [0u8; 4];
            let len = c.encode_utf8(&mut bytes).len();
            Escape::Decoded { used, bytes, len }
        }
        _ => literal(s[0]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Escape by escape over the whole input: what the run decoder must equal.
    fn reference(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < input.len() {
            if input[i] != b'\\' {
                out.push(input[i]);
                i += 1;
                continue;
            }
            match json_escape(&input[i..]) {
                Escape::Incomplete => {
                    out.extend_from_slice(&input[i..]);
                    break;
                }
                Escape::Decoded { used, bytes, len } => {
                    out.extend_from_slice(&bytes[..len]);
                    i += used;
                }
            }
        }
        out
    }

    fn normalise(input: &[u8], cuts: &[usize]) -> Vec<u8> {
        let mut n = Normaliser::new(TextForm::Json);
        let mut out = Vec::new();
        let mut at = 0;
        for &cut in cuts.iter().chain([&input.len()]) {
            let cut = cut.clamp(at, input.len());
            n.push(&input[at..cut], &mut |t| {
                out.extend_from_slice(t);
                true
            });
            at = cut;
        }
        n.finish(&mut |t| {
            out.extend_from_slice(t);
            true
        });
        out
    }

    #[test]
    fn json_runs_decode_as_escape_by_escape_at_every_cut() {
        let mut cases: Vec<Vec<u8>> = [
            &br#"{\"a\":\"b\\\"c\\\\\\\"d\"}"#[..],
            br#"plain text without escapes at all, longer than sixteen bytes"#,
            br#"\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\x\\"#,
            br#"\u0041\ud83d\ude00\ud83d\u0041\u00zz\q\n\r\t\b\f\/"#,
            br#"tail \u00"#,
            br#"tail \"#,
            br#"\ud83d\"#,
        ]
        .map(<[u8]>::to_vec)
        .to_vec();
        let mut nested = br#"{"a":"x"}"#.to_vec();
        for _ in 0..4 {
            let inner = String::from_utf8_lossy(&nested)
                .replace('\\', "\\\\")
                .replace('"', "\\\"");
            nested = format!("{{\"arguments\":\"{inner}\",\"n\":[{inner:?}]}}").into_bytes();
        }
        cases.push(nested);
        for case in &cases {
            let want = reference(case);
            assert_eq!(normalise(case, &[]), want);
            for cut in 0..=case.len() {
                assert_eq!(normalise(case, &[cut]), want, "cut at {cut}");
                assert_eq!(normalise(case, &[cut, cut + 3]), want, "cuts at {cut}, +3");
            }
        }
    }
}
