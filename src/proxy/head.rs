//! Head rewriting for forwarding (RFC 9110 §7.6.1): hop-by-hop fields are removed, every other
//! header line is copied byte for byte, bodies are never touched.

use guardian_parser::framing::Head;

/// Fields that only concern one hop.
const HOP_BY_HOP: &[&[u8]] = &[
    b"connection",
    b"keep-alive",
    b"proxy-connection",
    b"proxy-authorization",
    b"te",
    b"upgrade",
];

fn is_upgrade(head: &Head) -> bool {
    head.header("upgrade").is_some() && head.has_token("connection", "upgrade")
}

/// Header lines of `head` to forward: hop-by-hop fields and fields named in `Connection` go,
/// except `Upgrade` on an upgrade request or `101` response.
fn copy_fields(head: &Head, out: &mut Vec<u8>) {
    let upgrade = is_upgrade(head);
    let named: Vec<Vec<u8>> = head
        .header_values("connection")
        .flat_map(|v| v.split(|&b| b == b','))
        .map(|t| t.trim_ascii().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    for ((name, _), range) in head.headers().zip(head.header_line_ranges()) {
        let lower = name.to_ascii_lowercase();
        let hop = HOP_BY_HOP.contains(&lower.as_slice()) || named.contains(&lower);
        if hop && !(upgrade && lower == b"upgrade") {
            continue;
        }
        out.extend_from_slice(&head.raw()[range]);
        out.extend_from_slice(b"\r\n");
    }
    if upgrade {
        out.extend_from_slice(b"Connection: upgrade\r\n");
    }
}

/// The request head to send upstream, with `target` as its request target.
pub fn request(head: &Head, target: &[u8], host: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(head.raw().len() + 16);
    out.extend_from_slice(head.method());
    out.push(b' ');
    out.extend_from_slice(target);
    out.extend_from_slice(if head.minor_version() == 0 {
        b" HTTP/1.0\r\n"
    } else {
        b" HTTP/1.1\r\n"
    });
    if head.header("host").is_none() {
        out.extend_from_slice(format!("Host: {host}\r\n").as_bytes());
    }
    copy_fields(head, &mut out);
    out.extend_from_slice(b"\r\n");
    out
}

/// The response head to send to the client; `close` adds `Connection: close`.
pub fn response(head: &Head, close: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(head.raw().len() + 24);
    let status = head.status().unwrap_or(502);
    out.extend_from_slice(if head.minor_version() == 0 {
        b"HTTP/1.0 "
    } else {
        b"HTTP/1.1 "
    });
    out.extend_from_slice(format!("{status} ").as_bytes());
    out.extend_from_slice(head.reason());
    out.extend_from_slice(b"\r\n");
    copy_fields(head, &mut out);
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// A response Guardian writes itself (400, 502, 504), one line of text naming the problem.
pub fn synthetic(status: u16, reason: &str, text: &str) -> Vec<u8> {
    let body = format!("guardian: {text}\n");
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
