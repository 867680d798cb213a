//! The text deltas of one streamed event (an SSE `data` payload or an NDJSON line), per provider
//! shape, each tagged with the logical stream it continues. Concatenating a stream's deltas in
//! order gives the text the agent sees.
//!
//! Shapes, tried in this order:
//! - OpenAI Chat Completions: `choices[i].delta.content` (and `reasoning_content`), one stream per
//!   choice; `choices[i].delta.tool_calls[j].function.arguments`, one stream per tool call.
//! - Anthropic Messages: `content_block_delta` with `text_delta.text`,
//!   `input_json_delta.partial_json`, `thinking_delta.thinking`; `content_block_start` text; one
//!   stream per content block `index`.
//! - OpenAI Responses and Realtime: any `type` ending in `.delta` with a string `delta`
//!   (`response.output_text.delta`, `response.function_call_arguments.delta`,
//!   `response.reasoning_text.delta`, `response.audio_transcript.delta`, …), one stream per
//!   event type, `output_index` and `content_index`.
//! - Google Gemini: `candidates[i].content.parts[j].text`, one stream per candidate.
//! - Ollama: `message.content` (`/api/chat`) and `response` (`/api/generate`).
//! - Anything else: every string value of the event, concatenated (one generic stream); data
//!   that is not JSON is taken as text.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A logical stream within one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StreamKey {
    /// Which provider field this stream comes from.
    pub kind: StreamKind,
    /// First index (choice, content block, output, candidate).
    pub a: u64,
    /// Second index (tool call, content part).
    pub b: u64,
}

/// What a stream carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamKind {
    /// Text shown to or produced by the agent.
    Text,
    /// Reasoning text (kept apart from the visible text).
    Reasoning,
    /// Tool-call arguments: JSON text whose strings are unescaped once more (nested JSON).
    Arguments,
    /// An OpenAI Responses / Realtime `*.delta` event, by a hash of its type.
    Typed(u32),
    /// The generic fallback.
    Generic,
    /// SSE lines that carry no event data.
    OtherLines,
}

impl StreamKey {
    /// The stream of SSE lines that carry no event data.
    pub const OTHER_LINES: StreamKey = StreamKey {
        kind: StreamKind::OtherLines,
        a: 0,
        b: 0,
    };

    /// The generic stream (every string value; data that is not JSON).
    pub const GENERIC: StreamKey = StreamKey {
        kind: StreamKind::Generic,
        a: 0,
        b: 0,
    };

    fn new(kind: StreamKind, a: u64, b: u64) -> Self {
        StreamKey { kind, a, b }
    }

    /// Whether the stream's text is itself JSON (tool-call arguments).
    pub fn is_json(&self) -> bool {
        self.kind == StreamKind::Arguments
    }
}

/// [`for_each_delta`] for the events of one stream, which skips parsing an event shaped like
/// the previous one around its single text delta.
///
/// Streamed replies send one event per few characters, and the events of a stream differ only
/// in that text and in values nobody reads: an `event_id` (OpenAI Realtime), a
/// `sequence_number` (OpenAI Responses), a timestamp. When an event gave exactly one delta,
/// read verbatim from a JSON string without escapes, that event is kept as a template whose
/// *holes* are its value strings without escapes and its integers, except the top-level `type`
/// (the one string whose value decides the shape) and the numbers of the keys the shapes read
/// (`index`, `output_index`, `content_index`). A next event with the template's bytes outside
/// the holes, and in each hole a valid JSON string body (no `"`, no backslash, no control
/// character, UTF-8) or integer of at most 18 digits, is the same JSON document with other values there: it
/// parses, its keys and structure are the template's, and it gives the same delta with the
/// text of the delta's hole, since no provider rule looks at the other values (a delta's text
/// included). Anything else is parsed in full. No allocation per event once the template's
/// buffers have grown.
#[derive(Debug, Default)]
pub struct DeltaParser {
    /// The last event, when it is a template.
    template: Vec<u8>,
    /// Its holes, in order.
    holes: Vec<Hole>,
    /// Which hole is the delta's text, and its stream; `None`: no template.
    delta: Option<(usize, StreamKey)>,
}

/// A value of a template that may differ in the next event.
#[derive(Clone, Copy, Debug)]
struct Hole {
    start: usize,
    end: usize,
    number: bool,
}

/// Most holes of a template (values after them are kept as they are).
const MAX_HOLES: usize = 32;

/// Number keys the provider shapes read: never holes.
const READ_NUMBERS: [&[u8]; 3] = [b"index", b"output_index", b"content_index"];

impl DeltaParser {
    /// A parser with no template yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Events whose data is [`is_plain_text`] were passed by: what [`Self::for_each_delta`]
    /// would have made of them is their text on [`StreamKey::GENERIC`], and no template.
    pub fn plain_text_seen(&mut self) {
        self.delta = None;
    }

    /// Calls `out(stream, text)` for each text delta in one event's data, as
    /// [`for_each_delta`] does.
    pub fn for_each_delta(&mut self, data: &[u8], out: &mut dyn FnMut(StreamKey, &str)) {
        if let Some((hole, key)) = self.delta {
            if let Some(text) = self.fill(data, hole) {
                out(key, text);
                return;
            }
        }
        self.delta = None;
        let mut deltas = 0;
        let mut only = None;
        let top_type = for_each_delta_in(data, &mut |key, text| {
            deltas += 1;
            only = Some((key, text.as_ptr() as usize, text.len()));
            out(key, text)
        });
        let (Some((key, at, len)), 1) = (only, deltas) else {
            return;
        };
        // The text must be borrowed from the event (a string without escapes), quoted, not
        // empty, and not the top-level `type`.
        let Some(start) = at.checked_sub(data.as_ptr() as usize) else {
            return;
        };
        let end = start + len;
        let quoted = start > 0 && end < data.len() && data[start - 1] == b'"' && data[end] == b'"';
        if len == 0 || !quoted || top_type == Some(at) {
            return;
        }
        let top_type = top_type.and_then(|t| t.checked_sub(data.as_ptr() as usize));
        self.template.clear();
        self.template.extend_from_slice(data);
        holes_of(&self.template, top_type, &mut self.holes);
        self.delta = self
            .holes
            .iter()
            .position(|h| h.start == start && h.end == end && !h.number)
            .map(|i| (i, key));
    }

    /// The delta's text when `data` is the template with other values in its holes.
    fn fill<'d>(&self, data: &'d [u8], delta: usize) -> Option<&'d str> {
        let t = &self.template;
        let d = self.holes[delta];
        // Most often only the delta differs: the same bytes before and after it.
        let suffix = &t[d.end..];
        if data.len() >= d.start + suffix.len()
            && data[..d.start] == t[..d.start]
            && data.ends_with(suffix)
        {
            let text = string_body(&data[d.start..data.len() - suffix.len()]);
            if let Some(text) = text.filter(|t| !t.is_empty()) {
                return Some(text);
            }
        }
        let (mut at, mut from) = (0, 0);
        let mut text = None;
        for (i, hole) in self.holes.iter().enumerate() {
            let fixed = &t[from..hole.start];
            if data.get(at..at + fixed.len())? != fixed {
                return None;
            }
            at += fixed.len();
            let rest = &data[at..];
            let n = if hole.number {
                let n = rest
                    .iter()
                    .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))?;
                is_small_integer(&rest[..n]).then_some(n)?
            } else {
                let n = rest
                    .iter()
                    .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
                let body = string_body(&rest[..n])?;
                if i == delta {
                    text = Some(body);
                }
                n
            };
            at += n;
            from = hole.end;
        }
        (data.get(at..)? == &t[from..]).then_some(())?;
        text.filter(|t| !t.is_empty())
    }
}

/// `s` as the body of a JSON string without escapes: no `"`, backslash or control character,
/// and UTF-8.
fn string_body(s: &[u8]) -> Option<&str> {
    if s.iter().any(|&b| b == b'"' || b == b'\\' || b < 0x20) {
        return None;
    }
    std::str::from_utf8(s).ok()
}

/// The holes of a template (valid JSON, as it parsed): value strings without escapes other
/// than the one at `top_type`, and small integers not under a key the shapes read.
fn holes_of(t: &[u8], top_type: Option<usize>, holes: &mut Vec<Hole>) {
    holes.clear();
    let mut key: Option<&[u8]> = None;
    let mut i = 0;
    while i < t.len() && holes.len() < MAX_HOLES {
        match t[i] {
            b'"' => {
                let start = i + 1;
                let mut j = start;
                let mut escaped = false;
                while let Some(&b) = t.get(j) {
                    match b {
                        b'\\' => {
                            escaped = true;
                            j += 2;
                        }
                        b'"' => break,
                        _ => j += 1,
                    }
                }
                let end = j.min(t.len());
                let next = t[(end + 1).min(t.len())..]
                    .iter()
                    .find(|b| !b.is_ascii_whitespace());
                if next == Some(&b':') {
                    key = Some(&t[start..end]);
                } else {
                    if !escaped && top_type != Some(start) {
                        holes.push(Hole {
                            start,
                            end,
                            number: false,
                        });
                    }
                    key = None;
                }
                i = end + 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while t
                    .get(i)
                    .is_some_and(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                {
                    i += 1;
                }
                let read = key.is_some_and(|k| READ_NUMBERS.contains(&k));
                if !read && is_small_integer(&t[start..i]) {
                    holes.push(Hole {
                        start,
                        end: i,
                        number: true,
                    });
                }
                key = None;
            }
            _ => i += 1,
        }
    }
}

/// A JSON integer of at most 18 digits (`-?(0|[1-9][0-9]*)`): one that serde_json parses
/// whatever its value (longer or fractional numbers could overflow, which fails the parse).
fn is_small_integer(s: &[u8]) -> bool {
    let digits = s.strip_prefix(b"-").unwrap_or(s);
    !digits.is_empty()
        && digits.len() <= 18
        && digits.iter().all(u8::is_ascii_digit)
        && (digits[0] != b'0' || digits.len() == 1)
}

/// Whether [`for_each_delta`] takes this data as text as it is, one delta of the generic
/// stream: not empty, ASCII, not `[DONE]`, and not starting like JSON (`{`, `[`, `"`) or with
/// white space. Such data cannot continue a [`DeltaParser`] template (every template starts
/// like JSON), so runs of it may be joined and fed at once.
pub fn is_plain_text(data: &[u8]) -> bool {
    match data.first() {
        None => false,
        Some(b) if b.is_ascii_whitespace() || matches!(b, b'{' | b'[' | b'"') => false,
        Some(_) => data.is_ascii() && data != b"[DONE]",
    }
}

/// Calls `out(stream, text)` for each text delta in one event's data.
pub fn for_each_delta(data: &[u8], out: &mut dyn FnMut(StreamKey, &str)) {
    for_each_delta_in(data, out);
}

/// [`for_each_delta`]; returns the address of the top-level `type` string when the event is a
/// JSON object that has one.
fn for_each_delta_in(data: &[u8], out: &mut dyn FnMut(StreamKey, &str)) -> Option<usize> {
    let generic = StreamKey::new(StreamKind::Generic, 0, 0);
    if data == b"[DONE]" {
        return None;
    }
    let first = data.iter().find(|b| !b.is_ascii_whitespace());
    if !matches!(first, Some(b'{' | b'[' | b'"')) {
        if let Ok(text) = std::str::from_utf8(data) {
            if !text.is_empty() {
                out(generic, text);
            }
        }
        return None;
    }
    match serde_json::from_slice::<Value<'_>>(data) {
        Ok(value) => {
            if !provider_deltas(&value, out) {
                strings(&value, &mut |s| out(generic, s), 0);
            }
            let top_type = value.get("type").and_then(Value::as_str);
            top_type.map(|t| t.as_ptr() as usize)
        }
        Err(_) => {
            if let Ok(text) = std::str::from_utf8(data) {
                out(generic, text);
            }
            None
        }
    }
}

/// Known provider shapes; `true` when the event was one (even one carrying no text).
fn provider_deltas(v: &Value<'_>, out: &mut dyn FnMut(StreamKey, &str)) -> bool {
    if let Some(choices) = v.get("choices").and_then(Value::as_array) {
        for (i, choice) in choices.iter().enumerate() {
            let index = index_of(choice, i);
            let Some(delta) = choice.get("delta").or_else(|| choice.get("message")) else {
                if let Some(text) = choice.get("text").and_then(Value::as_str) {
                    out(StreamKey::new(StreamKind::Text, index, 0), text);
                }
                continue;
            };
            if let Some(text) = delta.get("content").and_then(Value::as_str) {
                out(StreamKey::new(StreamKind::Text, index, 0), text);
            }
            for field in ["reasoning_content", "reasoning"] {
                if let Some(text) = delta.get(field).and_then(Value::as_str) {
                    out(StreamKey::new(StreamKind::Reasoning, index, 0), text);
                }
            }
            if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
                for (j, call) in calls.iter().enumerate() {
                    let args = call
                        .get("function")
                        .and_then(|f| f.get("arguments"))
                        .and_then(Value::as_str);
                    if let Some(args) = args {
                        let key = StreamKey::new(StreamKind::Arguments, index, index_of(call, j));
                        out(key, args);
                    }
                }
            }
        }
        return true;
    }
    if let Some(kind) = v.get("type").and_then(Value::as_str) {
        let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
        match kind {
            "content_block_delta" => {
                let Some(delta) = v.get("delta") else {
                    return true;
                };
                for (field, stream) in [
                    ("text", StreamKind::Text),
                    ("partial_json", StreamKind::Arguments),
                    ("thinking", StreamKind::Reasoning),
                ] {
                    if let Some(text) = delta.get(field).and_then(Value::as_str) {
                        out(StreamKey::new(stream, index, 0), text);
                    }
                }
                return true;
            }
            "content_block_start" => {
                let block = v.get("content_block");
                if let Some(text) = block.and_then(|b| b.get("text")).and_then(Value::as_str) {
                    out(StreamKey::new(StreamKind::Text, index, 0), text);
                }
                return true;
            }
            _ if kind.ends_with(".delta") => {
                if let Some(text) = v.get("delta").and_then(Value::as_str) {
                    let a = v.get("output_index").and_then(Value::as_u64).unwrap_or(0);
                    let b = v.get("content_index").and_then(Value::as_u64).unwrap_or(0);
                    let stream = if kind.contains("arguments") {
                        StreamKind::Arguments
                    } else {
                        StreamKind::Typed(fnv(kind))
                    };
                    out(StreamKey::new(stream, a, b), text);
                }
                return true;
            }
            _ if ["message", "content_block", "response.", "ping", "error"]
                .iter()
                .any(|p| kind.starts_with(p)) =>
            {
                // Lifecycle events of a known provider: no delta.
                return true;
            }
            _ => {}
        }
    }
    if let Some(candidates) = v.get("candidates").and_then(Value::as_array) {
        for (i, candidate) in candidates.iter().enumerate() {
            let parts = candidate
                .get("content")
                .and_then(|c| c.get("parts"))
                .and_then(Value::as_array);
            for part in parts.into_iter().flatten() {
                if let Some(text) = part.get("text").and_then(Value::as_str) {
                    out(
                        StreamKey::new(StreamKind::Text, index_of(candidate, i), 0),
                        text,
                    );
                }
            }
        }
        return true;
    }
    if v.get("model").is_some() || v.get("done").is_some() {
        let chat = v
            .get("message")
            .and_then(|m| m.get("content"))
            .and_then(Value::as_str);
        let generate = v.get("response").and_then(Value::as_str);
        if let Some(text) = chat.or(generate) {
            out(StreamKey::new(StreamKind::Text, 0, 0), text);
            return true;
        }
    }
    false
}

fn index_of(v: &Value<'_>, position: usize) -> u64 {
    v.get("index")
        .and_then(Value::as_u64)
        .unwrap_or(position as u64)
}

/// Every string value (not keys), depth-first; bounded depth (serde_json limits it to 128).
fn strings(v: &Value<'_>, out: &mut dyn FnMut(&str), depth: usize) {
    match v {
        Value::String(s) => out(s),
        Value::Array(items) if depth < 32 => items.iter().for_each(|i| strings(i, out, depth + 1)),
        Value::Object(map) if depth < 32 => {
            map.iter().for_each(|(_, i)| strings(i, out, depth + 1))
        }
        _ => {}
    }
}

/// One event's JSON, parsed by serde_json exactly as `serde_json::Value` would be but
/// borrowing strings without escapes from the event and keeping objects as sorted vectors, so
/// an event costs a few allocations instead of a `String` per key and value and a `BTreeMap`
/// per object. Objects behave as `Value`'s `BTreeMap`: keys sorted bytewise, the last of
/// duplicate keys wins.
#[derive(Debug)]
enum Value<'a> {
    Other,
    U64(u64),
    String(Cow<'a, str>),
    Array(Vec<Value<'a>>),
    Object(Vec<(Cow<'a, str>, Value<'a>)>),
}

impl<'a> Value<'a> {
    fn get(&self, key: &str) -> Option<&Value<'a>> {
        match self {
            Value::Object(map) => map.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    fn as_u64(&self) -> Option<u64> {
        match self {
            Value::U64(n) => Some(*n),
            _ => None,
        }
    }

    fn as_array(&self) -> Option<&Vec<Value<'a>>> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }
}

/// A string, borrowed when the input holds it without escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Value<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Value<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Value<'de>, E> {
                Ok(Value::Other)
            }
            fn visit_i64<E>(self, n: i64) -> Result<Value<'de>, E> {
                // As `serde_json::Value::as_u64`: only non-negative integers are `u64`.
                Ok(u64::try_from(n).map_or(Value::Other, Value::U64))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Value<'de>, E> {
                Ok(Value::U64(n))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Value<'de>, E> {
                Ok(Value::Other)
            }
            fn visit_unit<E>(self) -> Result<Value<'de>, E> {
                Ok(Value::Other)
            }
            fn visit_none<E>(self) -> Result<Value<'de>, E> {
                Ok(Value::Other)
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Value<'de>, E> {
                Ok(Value::String(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Value<'de>, E> {
                Ok(Value::String(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Value<'de>, E> {
                Ok(Value::String(Cow::Owned(s)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'de>, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Value::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value<'de>, A::Error> {
                let mut entries: Vec<(Cow<'de, str>, Value<'de>)> = Vec::new();
                while let Some(Text(key)) = map.next_key()? {
                    entries.push((key, map.next_value()?));
                }
                // Stable: among equal keys the last one read is kept, as `BTreeMap::insert`.
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                entries.dedup_by(|later, kept| {
                    let same = later.0 == kept.0;
                    if same {
                        std::mem::swap(later, kept);
                    }
                    same
                });
                Ok(Value::Object(entries))
            }
        }
        d.deserialize_any(V)
    }
}

fn fnv(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deltas(data: &str) -> Vec<(StreamKey, String)> {
        let mut out = Vec::new();
        for_each_delta(data.as_bytes(), &mut |k, t| out.push((k, t.to_string())));
        out
    }

    #[test]
    fn borrowed_parse_visits_strings_as_serde_json_value() {
        fn reference(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::String(s) => out.push(s.clone()),
                serde_json::Value::Array(a) => a.iter().for_each(|i| reference(i, out)),
                serde_json::Value::Object(m) => m.values().for_each(|i| reference(i, out)),
                _ => {}
            }
        }
        for doc in [
            r#"{"z":"1","a":"2","m":["3",{"b":"4","a":"\u0041"}]}"#,
            r#"{"k":"first","x":1,"k":"second","k":"third"}"#,
            r#"["a",-1,2.5,null,true,{"":"e"}]"#,
        ] {
            let ours: Value<'_> = serde_json::from_str(doc).unwrap();
            let theirs: serde_json::Value = serde_json::from_str(doc).unwrap();
            let mut got = Vec::new();
            strings(&ours, &mut |s| got.push(s.to_string()), 0);
            let mut want = Vec::new();
            reference(&theirs, &mut want);
            assert_eq!(got, want, "{doc}");
        }
        let v: Value<'_> = serde_json::from_str(r#"{"index":-3,"n":7,"f":1.0}"#).unwrap();
        assert_eq!(v.get("index").and_then(Value::as_u64), None);
        assert_eq!(v.get("n").and_then(Value::as_u64), Some(7));
        assert_eq!(v.get("f").and_then(Value::as_u64), None);
    }

    /// Each event through one [`DeltaParser`] gives what it gives parsed alone.
    fn same_as_parsing_each_event(events: &[String]) {
        let mut parser = DeltaParser::new();
        for event in events {
            let mut got = Vec::new();
            parser.for_each_delta(event.as_bytes(), &mut |k, t| got.push((k, t.to_string())));
            assert_eq!(got, deltas(event), "{event:?} after {events:?}");
        }
    }

    const SHAPES: &[&str] = &[
        r#"{"choices":[{"index":0,"delta":{"content":"T"}}]}"#,
        r#"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"T"}}"#,
        r#"{"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"T"}"#,
        r#"{"model":"m","message":{"role":"assistant","content":"T"},"done":false}"#,
        r#"{"type":"T"}"#,
        r#"{"delta":"T"}"#,
        r#"{"type":"T","delta":"x"}"#,
        r#""T""#,
        "T",
        r#"{"a":"T","a":"T"}"#,
        r#"{"type":"response.output_text.delta","event_id":"T","item_id":"i","output_index":0,"content_index":0,"delta":"T"}"#,
        r#"{"type":"response.output_text.delta","sequence_number":1T,"output_index":0,"delta":"T"}"#,
        r#"{"id":"T","created":T,"choices":[{"index":1T,"delta":{"content":"x"}}]}"#,
        r#"{"type":"content_block_delta","index":T,"delta":{"type":"T","text":"T"}}"#,
        r#"{"type":"response.T.delta","output_index":T2,"n":[T,-T],"delta":"T"}"#,
    ];

    #[test]
    fn templates_give_what_a_full_parse_gives() {
        let texts = [
            "rm -rf /",
            "content_block_delta",
            "x",
            "ping",
            "y",
            "response.x.delta",
            "",
            "a\\\"b",
            "é ü",
            "\\u0041",
            "x\ny",
            "content_block_delta",
            "response.x.delta",
            "[DONE]",
            "\"",
            "x\u{1}",
            "\\",
            "7",
            "12",
            "0",
            "01",
            "-3",
            "1e999",
            "123456789012345678901234567890",
        ];
        for shape in SHAPES {
            let events: Vec<String> = texts.iter().map(|t| shape.replace('T', t)).collect();
            same_as_parsing_each_event(&events);
        }
    }

    #[test]
    fn templates_take_events_with_other_ids_and_sequence_numbers() {
        let event = |id: &str, seq: u32, index: u32, text: &str| {
            format!(
                r#"{{"type":"response.output_text.delta","event_id":"{id}","sequence_number":{seq},"output_index":{index},"content_index":0,"delta":"{text}"}}"#
            )
        };
        let mut parser = DeltaParser::new();
        parser.for_each_delta(event("event_a", 1, 0, "rm").as_bytes(), &mut |_, _| {});
        let (hole, _) = parser.delta.expect("a template");
        let next = event("event_Bcd9", 22, 0, " -rf");
        assert_eq!(parser.fill(next.as_bytes(), hole), Some(" -rf"));
        // The numbers the shapes read, and the structure, are not holes.
        assert_eq!(parser.fill(event("e", 2, 1, "x").as_bytes(), hole), None);
        assert_eq!(parser.fill(event("e\\n", 2, 0, "x").as_bytes(), hole), None);
        assert_eq!(parser.fill(event("e", 2, 0, "").as_bytes(), hole), None);
        let long = event("e", 2, 0, "x").replace(":2,", ":1234567890123456789,");
        assert_eq!(parser.fill(long.as_bytes(), hole), None);
    }

    proptest::proptest! {
        #[test]
        fn any_sequence_of_events_gives_what_full_parses_give(
            events in proptest::collection::vec(
                (0..SHAPES.len(), "[a-c0-9e \"\\\\\\n\u{1}\u{e9}.{}:,\\[\\]-]{0,5}"),
                1..12,
            ),
        ) {
            let events: Vec<String> =
                events.iter().map(|(shape, text)| SHAPES[*shape].replace('T', text)).collect();
            same_as_parsing_each_event(&events);
        }
    }

    #[test]
    fn provider_shapes() {
        let chat = deltas(
            r#"{"choices":[{"index":1,"delta":{"content":"hi","tool_calls":[{"index":2,"function":{"arguments":"{\"a\""}}]}}]}"#,
        );
        assert_eq!(
            chat[0],
            (StreamKey::new(StreamKind::Text, 1, 0), "hi".into())
        );
        assert_eq!(
            chat[1],
            (StreamKey::new(StreamKind::Arguments, 1, 2), "{\"a\"".into())
        );
        let anthropic = deltas(
            r#"{"type":"content_block_delta","index":3,"delta":{"type":"text_delta","text":"x"}}"#,
        );
        assert_eq!(
            anthropic,
            vec![(StreamKey::new(StreamKind::Text, 3, 0), "x".into())]
        );
        assert!(deltas(r#"{"type":"message_stop"}"#).is_empty());
        assert_eq!(deltas(r#"{"delta":"d"}"#)[0].0.kind, StreamKind::Generic);
        assert!(deltas(r#"{"choices":[{"delta":{"role":"assistant"}}]}"#).is_empty());
        let gemini =
            deltas(r#"{"candidates":[{"content":{"parts":[{"text":"a"},{"text":"b"}]}}]}"#);
        assert_eq!(gemini.len(), 2);
        assert_eq!(deltas("[DONE]"), vec![]);
        assert_eq!(deltas("plain words")[0].1, "plain words");
    }
}
