//! Head rewriting for forwarding (RFC 9110 §7.6.1): hop-by-hop fields are removed, every other
//! header line is copied byte for byte, bodies are never touched.

use crate::framing::Head;

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

/// Fields that frame the message or route it: never removed, even when `Connection` names them
/// (the framer rejects such a message before it gets here; this is the second lock).
const NEVER_DROPPED: &[&[u8]] = &[b"content-length", b"transfer-encoding", b"host"];

/// Header lines of `head` to forward: hop-by-hop fields and fields named in `Connection` go,
/// except `Upgrade` on an upgrade request or `101` response; fields named in `skip` go too.
fn copy_fields(head: &Head, skip: &[&[u8]], out: &mut Vec<u8>) {
    let upgrade = is_upgrade(head);
    // Compared without lower-cased copies: this runs on every forwarded head.
    let named: Vec<&[u8]> = head
        .header_values("connection")
        .flat_map(|v| v.split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
        .collect();
    let listed = |list: &[&[u8]], name: &[u8]| list.iter().any(|l| l.eq_ignore_ascii_case(name));
    for ((name, _), range) in head.headers().zip(head.header_line_ranges()) {
        if listed(skip, name) {
            continue;
        }
        let hop =
            listed(HOP_BY_HOP, name) || (listed(&named, name) && !listed(NEVER_DROPPED, name));
        if hop && !(upgrade && name.eq_ignore_ascii_case(b"upgrade")) {
            continue;
        }
        out.extend_from_slice(&head.raw()[range]);
        out.extend_from_slice(b"\r\n");
    }
    if upgrade {
        out.extend_from_slice(b"Connection: upgrade\r\n");
    }
}

/// The request head to send upstream, with `target` as its request target. `authority` is the
/// absolute-form target's authority, which replaces every `Host` field (RFC 9112 §3.2.2);
/// without one (origin-form inside an intercepted tunnel) the client's `Host` is kept, and
/// `fallback` is sent when it has none.
pub fn request(head: &Head, target: &[u8], authority: Option<&str>, fallback: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(head.raw().len() + 16);
    out.extend_from_slice(head.method());
    out.push(b' ');
    out.extend_from_slice(target);
    out.extend_from_slice(if head.minor_version() == 0 {
        b" HTTP/1.0\r\n"
    } else {
        b" HTTP/1.1\r\n"
    });
    let host_line = |out: &mut Vec<u8>, host: &str| {
        out.extend_from_slice(b"Host: ");
        out.extend_from_slice(host.as_bytes());
        out.extend_from_slice(b"\r\n");
    };
    match authority {
        Some(a) => {
            host_line(&mut out, a);
            copy_fields(head, &[b"host"], &mut out);
        }
        None => {
            if head.header("host").is_none() {
                host_line(&mut out, fallback);
            }
            copy_fields(head, &[], &mut out);
        }
    }
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
    copy_fields(head, &[], &mut out);
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
