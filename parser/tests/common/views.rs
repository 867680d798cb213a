//! The forms a case's input takes in the views of issue 11: streamed replies split across SSE
//! deltas in each provider's event shape, NDJSON, tool-call arguments (JSON in a JSON string),
//! HTML character references. Each is a full message of the case's direction.

use guardian_parser::scan::Direction;

use super::{chunked, json_escape, message};

/// Delta sizes, in characters, every streamed form is split into.
pub const DELTA_SIZES: [usize; 4] = [1, 3, 7, 20];

/// `text` cut into pieces of `size` characters.
pub fn pieces(text: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(size.max(1))
        .map(|c| c.iter().collect())
        .collect()
}

/// One SSE event per piece, in a provider's shape (`{}` is the JSON-escaped piece).
pub const SSE_SHAPES: [(&str, &str, &str); 7] = [
    (
        "openai-chat",
        "",
        r#"{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"{}"}}]}"#,
    ),
    (
        "openai-tool-args",
        "",
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]}"#,
    ),
    (
        "openai-responses",
        "event: response.output_text.delta\n",
        r#"{"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"{}"}"#,
    ),
    (
        "responses-args",
        "event: response.function_call_arguments.delta\n",
        r#"{"type":"response.function_call_arguments.delta","output_index":1,"delta":"{}"}"#,
    ),
    (
        "anthropic-text",
        "event: content_block_delta\n",
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"{}"}}"#,
    ),
    (
        "anthropic-json",
        "event: content_block_delta\n",
        r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{}"}}"#,
    ),
    (
        "gemini",
        "",
        r#"{"candidates":[{"content":{"parts":[{"text":"{}"}],"role":"model"},"index":0}]}"#,
    ),
];

/// Whether a shape carries tool-call arguments (its text is JSON, holding the input).
fn is_arguments(shape: &str) -> bool {
    shape.ends_with("args") || shape.ends_with("json")
}

/// The SSE body of `text` in `shape`, split into deltas of `size` characters, with the
/// lifecycle events a real stream has around them.
pub fn sse_body(shape: &str, text: &str, size: usize) -> Vec<u8> {
    let (_, event, template) = SSE_SHAPES
        .iter()
        .find(|(name, _, _)| *name == shape)
        .expect("known shape");
    let text = if is_arguments(shape) {
        format!("{{\"command\": \"{}\"}}", json_escape(text.as_bytes()))
    } else {
        text.to_string()
    };
    let mut body = String::from(": keep-alive\n\n");
    if shape.starts_with("anthropic") {
        body.push_str("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\"}}\n\n");
    }
    for piece in pieces(&text, size) {
        let data = template.replacen("{}", &json_escape(piece.as_bytes()), 1);
        body.push_str(&format!("{event}data: {data}\r\n\r\n"));
    }
    if shape.starts_with("openai-chat") || shape.starts_with("openai-tool") {
        body.push_str("data: [DONE]\n\n");
    }
    body.into_bytes()
}

/// An Ollama `/api/chat` NDJSON body of `text` in deltas of `size` characters.
pub fn ndjson_body(text: &str, size: usize) -> Vec<u8> {
    let mut body = String::new();
    for piece in pieces(text, size) {
        body.push_str(&format!(
            "{{\"model\":\"llama3\",\"message\":{{\"role\":\"assistant\",\"content\":\"{}\"}},\"done\":false}}\n",
            json_escape(piece.as_bytes())
        ));
    }
    body.push_str("{\"model\":\"llama3\",\"done\":true}\n");
    body.into_bytes()
}

/// `text` with every character but letters and digits as an HTML reference: named where
/// common, hex otherwise (`numeric` forces decimal references for all).
pub fn html_escape(text: &str, numeric: bool) -> String {
    text.chars()
        .map(|c| match c {
            c if c.is_ascii_alphanumeric() => c.to_string(),
            c if numeric => format!("&#{};", c as u32),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '&' => "&amp;".into(),
            '"' => "&quot;".into(),
            '\'' => "&#x27;".into(),
            ' ' => " ".into(),
            c => format!("&#x{:x};", c as u32),
        })
        .collect()
}

/// Every view form of `input` for messages travelling in `direction`. Inputs that are not
/// UTF-8 have no streamed forms (deltas are JSON strings).
pub fn view_forms(direction: Direction, input: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut forms = Vec::new();
    let Ok(text) = std::str::from_utf8(input) else {
        return forms;
    };
    for (shape, _, _) in SSE_SHAPES {
        for size in DELTA_SIZES {
            let body = sse_body(shape, text, size);
            forms.push((
                format!("sse-{shape}-{size}"),
                message(direction, "text/event-stream; charset=utf-8", "", &body),
            ));
        }
    }
    forms.push((
        "sse-chunked-5".into(),
        chunked(
            direction,
            "text/event-stream",
            &sse_body("anthropic-text", text, 3),
            5,
        ),
    ));
    for size in [1, 3] {
        forms.push((
            format!("ndjson-{size}"),
            message(
                direction,
                "application/x-ndjson",
                "",
                &ndjson_body(text, size),
            ),
        ));
    }
    let arguments = format!("{{\"command\": \"{}\"}}", json_escape(input));
    forms.push((
        "tool-call-arguments".into(),
        message(
            direction,
            "application/json",
            "",
            format!(
                "{{\"tool_calls\":[{{\"type\":\"function\",\"function\":{{\"name\":\"run\",\"arguments\":\"{}\"}}}}]}}",
                json_escape(arguments.as_bytes())
            )
            .as_bytes(),
        ),
    ));
    for numeric in [false, true] {
        let html = format!(
            "<!doctype html><html><body><pre>{}</pre></body></html>",
            html_escape(text, numeric)
        );
        forms.push((
            format!("html-{}", if numeric { "decimal" } else { "named" }),
            message(direction, "text/html; charset=utf-8", "", html.as_bytes()),
        ));
    }
    forms.push((
        "html-chunked-3".into(),
        chunked(
            direction,
            "text/html",
            html_escape(text, false).as_bytes(),
            3,
        ),
    ));
    forms
}
