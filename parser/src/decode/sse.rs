//! Server-sent events, streaming: the WHATWG "event stream interpretation" (HTML §9.2.6) over
//! chunks of any size. Lines end in CR, LF or CRLF (a CRLF split across chunks is one end);
//! `data:` values are joined by `\n`; `event:` names the event; `id:`, `retry:`, unknown fields
//! and `:` comments carry no data (handed on as [`NOT_DATA`] lines); a blank line dispatches the
//! event. A field split across chunks
//! is carried over. Memory is bounded: an event's data longer than [`MAX_EVENT_BYTES`] is handed
//! on in pieces of at most that size (counted in [`SseParser::oversized`]), so nothing is lost;
//! such pieces are not whole JSON documents and are scanned as text.

/// Most data bytes of one event that are kept for reassembly.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;

/// Most bytes of an `event:` name that are kept.
const MAX_EVENT_NAME: usize = 64;

use super::deltas::is_plain_text;

/// Streaming SSE parser; hands each dispatched event (type, data) to a callback.
#[derive(Debug, Default)]
pub struct SseParser {
    /// The current line when it spans chunks (at most [`MAX_EVENT_BYTES`]).
    line: Vec<u8>,
    /// The current line is a `data` line longer than the limit, handed on in pieces.
    long_data: bool,
    /// The current line is another field longer than the limit, handed on in pieces.
    skip_line: bool,
    /// The previous chunk ended in CR: a leading LF belongs to that line end.
    after_cr: bool,
    data: Vec<u8>,
    has_data: bool,
    event: Vec<u8>,
    oversized: u64,
    /// Whether runs of plain events are handed on joined ([`SseParser::with_plain_runs`]).
    runs: bool,
    /// The plain events' data collected so far (at most [`RUN_BYTES`] and a value).
    run: Vec<u8>,
}

/// What the parser hands on: `(event type, data)`. An event larger than [`MAX_EVENT_BYTES`]
/// arrives as several consecutive calls, each at most that long. A line that carries no event
/// data (comment, `event:`, `id:`, `retry:`, unknown field, a line without a colon) is handed on
/// whole with the type [`NOT_DATA`], so that nothing a peer sends goes unscanned (a client can
/// label an exfiltrating body `text/event-stream`).
pub type OnEvent<'a> = dyn FnMut(&[u8], &[u8]) + 'a;

/// The type of a line that is not event data: no event type can hold a line end.
pub const NOT_DATA: &[u8] = b"\n";

/// The type of a run of plain events' data, joined ([`SseParser::with_plain_runs`]).
pub const PLAIN_RUN: &[u8] = b"\n\n";

/// Plain events' data collected before it is handed on as one [`PLAIN_RUN`].
const RUN_BYTES: usize = 4096;

/// Longest value of a plain event: tiny events are what the runs are for.
const PLAIN_MAX: usize = 64;

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// A parser that hands on consecutive plain events — each one `data:` line and its blank
    /// line, whole in the input, whose value is at most 64 bytes of printable ASCII that
    /// [`is_plain_text`] takes as text as it is — as one [`PLAIN_RUN`] of their values joined
    /// with nothing between them (up to 4 KiB), rather than one call per event. Every other
    /// line or event is handed on after the run before it, so the order is kept; a run never
    /// spans two [`Self::push`] calls.
    pub fn with_plain_runs() -> Self {
        SseParser {
            runs: true,
            ..Self::default()
        }
    }

    /// Events larger than [`MAX_EVENT_BYTES`], handed on in pieces.
    pub fn oversized(&self) -> u64 {
        self.oversized
    }

    /// Parses more of the stream; `on_event(type, data)` runs for each dispatched event
    /// (`type` empty means the default `message`).
    pub fn push(&mut self, mut input: &[u8], on_event: &mut OnEvent<'_>) {
        if self.after_cr {
            self.after_cr = false;
            if let Some(rest) = input.strip_prefix(b"\n") {
                input = rest;
            }
        }
        while let Some(end) = line_end(input) {
            let whole = self.line.is_empty() && !self.long_data && !self.skip_line;
            if whole && !self.has_data && self.runs {
                let used = self.plain_events(input, on_event);
                if used > 0 {
                    input = &input[used..];
                    continue;
                }
            }
            self.end_run(on_event);
            if whole && !self.has_data {
                if let Some(used) = self.whole_event(input, end, on_event) {
                    input = &input[used..];
                    continue;
                }
            }
            if whole && end <= MAX_EVENT_BYTES {
                self.line_done(&input[..end], on_event);
            } else {
                self.append_line(&input[..end], on_event);
                let line = std::mem::take(&mut self.line);
                if self.long_data {
                    on_event(&self.event, &line);
                    self.data.push(b'\n');
                } else if self.skip_line {
                    on_event(NOT_DATA, &line);
                } else {
                    self.line_done(&line, on_event);
                }
                self.line = line;
                self.line.clear();
            }
            self.long_data = false;
            self.skip_line = false;
            let crlf = input[end] == b'\r';
            input = &input[end + 1..];
            if crlf {
                match input.first() {
                    Some(b'\n') => input = &input[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        self.end_run(on_event);
        self.append_line(input, on_event);
    }

    /// Collects the plain events at the start of `input` into the run; returns the bytes
    /// used (0: the input starts with anything else).
    fn plain_events(&mut self, input: &[u8], on_event: &mut OnEvent<'_>) -> usize {
        let mut at = 0;
        while let Some(value) = input[at..].strip_prefix(b"data:") {
            let value = value.strip_prefix(b" ").unwrap_or(value);
            if !value
                .first()
                .is_some_and(|&b| b > b' ' && !matches!(b, b'{' | b'[' | b'"'))
            {
                // Empty, or JSON (most events): not plain, and not worth a look further.
                break;
            }
            let skip = input.len() - at - value.len();
            let Some(n) = value
                .iter()
                .take(PLAIN_MAX + 1)
                .position(|b| !(0x20..0x7f).contains(b))
            else {
                break;
            };
            let (text, tail) = value.split_at(n);
            let eol = if tail.starts_with(b"\n\n") {
                2
            } else if tail.starts_with(b"\r\n\r\n") {
                4
            } else {
                break;
            };
            if !is_plain_text(text) {
                break;
            }
            self.run.extend_from_slice(text);
            at += skip + n + eol;
            if self.run.len() >= RUN_BYTES {
                self.end_run(on_event);
            }
        }
        if at > 0 {
            self.event.clear();
        }
        at
    }

    /// Hands on the run collected so far.
    fn end_run(&mut self, on_event: &mut OnEvent<'_>) {
        if !self.run.is_empty() {
            on_event(PLAIN_RUN, &self.run);
            self.run.clear();
        }
    }

    /// The stream ended: an event without its blank line is not dispatched (WHATWG), but a
    /// long event's pieces already were.
    pub fn finish(&mut self) {
        self.line.clear();
        self.data.clear();
        self.event.clear();
        self.has_data = false;
    }

    /// The fast path for the usual event, one `data:` line and the blank line after it, whole
    /// in `input` (its first line ending at `end`) while no event is being collected:
    /// dispatched from the input without copying. Returns the bytes used, or `None` when the
    /// input holds anything else (then parsed line by line).
    fn whole_event(
        &mut self,
        input: &[u8],
        end: usize,
        on_event: &mut OnEvent<'_>,
    ) -> Option<usize> {
        let value = input[..end].strip_prefix(b"data:")?;
        let value = value.strip_prefix(b" ").unwrap_or(value);
        let rest = &input[end..];
        let eol = if rest.starts_with(b"\n\n") {
            2
        } else if rest.starts_with(b"\r\n\r\n") {
            4
        } else {
            return None;
        };
        if end > MAX_EVENT_BYTES || value.len() + 1 > MAX_EVENT_BYTES {
            return None;
        }
        on_event(&self.event, value);
        self.event.clear();
        Some(end + eol)
    }

    fn append_line(&mut self, mut part: &[u8], on_event: &mut OnEvent<'_>) {
        while !part.is_empty() {
            let room = MAX_EVENT_BYTES - self.line.len();
            let take = room.min(part.len());
            self.line.extend_from_slice(&part[..take]);
            part = &part[take..];
            if self.line.len() == MAX_EVENT_BYTES && !part.is_empty() {
                self.line_overflow(on_event);
            }
        }
    }

    /// The current line reached the limit with more to come.
    fn line_overflow(&mut self, on_event: &mut OnEvent<'_>) {
        if self.skip_line {
            on_event(NOT_DATA, &self.line);
        } else if !self.long_data {
            let Some(value) = self.line.strip_prefix(b"data:") else {
                self.skip_line = true;
                on_event(NOT_DATA, &self.line);
                self.line.clear();
                return;
            };
            let value = value.strip_prefix(b" ").unwrap_or(value);
            self.oversized += 1;
            self.long_data = true;
            self.has_data = true;
            if !self.data.is_empty() {
                on_event(&self.event, &self.data);
                self.data.clear();
            }
            on_event(&self.event, value);
        } else {
            on_event(&self.event, &self.line);
        }
        self.line.clear();
    }

    fn line_done(&mut self, line: &[u8], on_event: &mut OnEvent<'_>) {
        if line.is_empty() {
            if self.has_data {
                let data = self.data.strip_suffix(b"\n").unwrap_or(&self.data);
                on_event(&self.event, data);
            }
            self.data.clear();
            self.event.clear();
            self.has_data = false;
            return;
        }
        if line[0] == b':' {
            on_event(NOT_DATA, line);
            return;
        }
        let (name, value) = match find_short(line, |b| b == b':').or_else(|| {
            (line.len() > SHORT)
                .then(|| memchr::memchr(b':', &line[SHORT..]).map(|i| i + SHORT))
                .flatten()
        }) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match name {
            b"data" => {
                if self.data.len() + value.len() + 1 > MAX_EVENT_BYTES {
                    // Too long to keep whole: hand on what is kept, then go on.
                    self.oversized += 1;
                    if !self.data.is_empty() {
                        on_event(&self.event, &self.data);
                    }
                    self.data.clear();
                }
                self.has_data = true;
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
            }
            b"event" => {
                on_event(NOT_DATA, line);
                self.event.clear();
                self.event
                    .extend_from_slice(&value[..value.len().min(MAX_EVENT_NAME)]);
            }
            _ => on_event(NOT_DATA, line),
        }
    }
}

/// Lines of tiny events are short: within this many bytes, a line's end ([`line_end`], a word
/// at a time) or a field's colon ([`find_short`], a byte at a time: the colon of `event:` or
/// `id:` comes early) is found before memchr's setup would pay off.
const SHORT: usize = 24;

fn find_short(s: &[u8], is: impl Fn(u8) -> bool) -> Option<usize> {
    s.iter().take(SHORT).position(|&b| is(b))
}

/// The first CR or LF: the first [`SHORT`] bytes eight at a time (where tiny events' lines
/// end, before memchr's setup would pay off; a byte loop there was a sixth of the SSE view's
/// time on provider-shaped events, whose lines are longer), the rest with memchr.
fn line_end(s: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // High bit set in each byte equal to `c`; the lowest one set is exact (a borrow only
    // flags bytes after a real match).
    let equal = |w: u64, c: u8| {
        let x = w ^ (ONES * u64::from(c));
        x.wrapping_sub(ONES) & !x & HIGH
    };
    let mut at = 0;
    for word in s.chunks_exact(8).take(SHORT / 8) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let w = u64::from_le_bytes(bytes);
        let m = equal(w, b'\n') | equal(w, b'\r');
        if m != 0 {
            return Some(at + m.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    memchr::memchr2(b'\r', b'\n', &s[at..]).map(|i| i + at)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time line end agrees with a byte loop wherever the CR or LF lies, with
    /// bytes that differ from them by one bit (which a borrow could confuse) before it.
    #[test]
    fn line_end_is_the_first_cr_or_lf() {
        for len in 0..48 {
            for at in 0..=len {
                for end in [b'\r', b'\n'] {
                    for filler in [b'a', 0x0b, 0x0c, 0x0e, 0x8a, 0x8d, 0x00, 0xff] {
                        let mut s = vec![filler; len];
                        if at < len {
                            s[at] = end;
                            // Later CRs and LFs never win over the first.
                            for later in s.iter_mut().skip(at + 1).step_by(3) {
                                *later = b'\n';
                            }
                        }
                        let naive = s.iter().position(|&b| b == b'\r' || b == b'\n');
                        assert_eq!(line_end(&s), naive, "{len} {at} {filler:#x}");
                    }
                }
            }
        }
    }

    fn events(chunks: &[&[u8]]) -> Vec<(String, String)> {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        for c in chunks {
            parser.push(c, &mut |t, d| {
                if t == NOT_DATA {
                    return;
                }
                out.push((
                    String::from_utf8_lossy(t).into_owned(),
                    String::from_utf8_lossy(d).into_owned(),
                ))
            });
        }
        out
    }

    #[test]
    fn whatwg_fields_line_ends_and_splits() {
        let stream = b": comment\r\nevent: delta\r\ndata: a\rdata:b\n\nid: 1\nretry: 5\ndata\n\n";
        let whole = events(&[stream]);
        assert_eq!(
            whole,
            vec![
                ("delta".to_string(), "a\nb".to_string()),
                (String::new(), String::new())
            ]
        );
        for split in 1..stream.len() {
            assert_eq!(events(&[&stream[..split], &stream[split..]]), whole);
        }
    }

    #[test]
    fn whole_events_parsed_in_place_equal_the_line_by_line_parse() {
        // One-line events take the fast path when whole in the input, the line-by-line path
        // when cut; both give the same events, around named events and multi-line data.
        let stream = b"data: a\n\ndata:b\r\n\r\nevent: e\ndata: c\n\ndata: d\ndata: e\n\ndata: f\n\r\ndata: \n\n";
        let whole = events(&[stream]);
        assert_eq!(
            whole,
            [
                ("", "a"),
                ("", "b"),
                ("e", "c"),
                ("", "d\ne"),
                ("", "f"),
                ("", "")
            ]
            .map(|(t, d)| (t.to_string(), d.to_string()))
            .to_vec()
        );
        for split in 1..stream.len() {
            assert_eq!(events(&[&stream[..split], &stream[split..]]), whole);
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(events(&bytes), whole);
    }

    /// The events of `chunks`, plain text data (runs, or events that are plain text) joined
    /// under one type `+`, as the reassembly feeds them to the generic stream.
    fn joined(mut parser: SseParser, chunks: &[&[u8]]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for c in chunks {
            parser.push(c, &mut |t, d| {
                let plain = t == PLAIN_RUN || (t != NOT_DATA && is_plain_text(d));
                match out.last_mut() {
                    Some((last, text)) if plain && last == b"+" => text.extend_from_slice(d),
                    _ if plain => out.push((b"+".to_vec(), d.to_vec())),
                    _ => out.push((t.to_vec(), d.to_vec())),
                }
            });
        }
        out
    }

    #[test]
    fn plain_runs_join_what_event_by_event_dispatch_gives() {
        let mut stream =
            b"data: a\n\ndata:b\r\n\r\nevent: e\ndata: c\n\n: note\ndata: [DONE]\n\n".to_vec();
        stream.extend_from_slice(b"data: {\"x\":1}\n\ndata:  sp\n\ndata: d\ndata: e\n\n");
        stream.extend_from_slice("data: é\n\ndata: \"q\"\n\ndata:\n\n".as_bytes());
        stream.extend_from_slice(&b"data: xy\n\n".repeat(2500));
        stream.extend_from_slice(format!("data: {}\n\ndata: z\n\r", "v".repeat(70)).as_bytes());
        let want = joined(SseParser::new(), &[&stream]);
        let mut runs = 0;
        SseParser::with_plain_runs().push(&stream, &mut |t, _| runs += usize::from(t == PLAIN_RUN));
        assert!(runs >= 4, "runs are used and cut at 4 KiB: {runs}");
        assert_eq!(joined(SseParser::with_plain_runs(), &[&stream]), want);
        for split in 1..stream.len() {
            let chunks = [&stream[..split], &stream[split..]];
            assert_eq!(
                joined(SseParser::with_plain_runs(), &chunks),
                want,
                "{split}"
            );
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(joined(SseParser::with_plain_runs(), &bytes), want);
    }

    #[test]
    fn crlf_split_across_chunks_is_one_line_end() {
        assert_eq!(
            events(&[b"data: x\r", b"\n\r", b"\n"]),
            vec![(String::new(), "x".to_string())]
        );
    }

    #[test]
    fn an_oversized_event_is_handed_on_in_pieces() {
        let mut parser = SseParser::new();
        let big = vec![b'a'; 3 * MAX_EVENT_BYTES + 10];
        let mut got = Vec::new();
        for piece in [&b"data: "[..], &big, b"\n\ndata: ok\n\n"] {
            parser.push(piece, &mut |t, d| {
                if t != NOT_DATA {
                    got.push(d.to_vec())
                }
            });
        }
        // The same long line within one chunk is cut the same way.
        let mut one = Vec::new();
        let stream = [&b"data: "[..], &big, b"\n\ndata: ok\n\n"].concat();
        SseParser::new().push(&stream, &mut |t, d| {
            if t != NOT_DATA {
                one.push(d.to_vec())
            }
        });
        assert_eq!(one, got);
        assert!(got.iter().all(|d| d.len() <= MAX_EVENT_BYTES));
        assert_eq!(got.last().map(Vec::as_slice), Some(&b"ok"[..]));
        assert_eq!(got.concat().len(), big.len() + 2);
        assert_eq!(parser.oversized(), 1);
    }
}
