//! Helpers shared by the integration tests: run raw byte streams through the real inspector.
#![allow(dead_code)]

pub mod cases;
pub mod encoded;
pub mod views;
pub mod websocket;

use std::io::Write;

use guardian_parser::framing::Event;
use guardian_parser::inspect::{Detection, Inspector};
use guardian_parser::scan::{Direction, Registry};

pub const MAX_SCAN: u64 = 1 << 20;

/// Feeds `stream` in pieces of the given sizes (cycled), then EOF; returns detections and events.
pub fn inspect_split(
    registry: &Registry,
    direction: Direction,
    stream: &[u8],
    sizes: &[usize],
) -> (Vec<Detection>, Vec<String>) {
    let mut inspector = Inspector::new(registry, direction, MAX_SCAN);
    let mut detections = Vec::new();
    let mut events = Vec::new();
    let mut pos = 0;
    let mut i = 0;
    while pos < stream.len() {
        let size = sizes[i % sizes.len()].max(1);
        i += 1;
        let piece = &stream[pos..(pos + size).min(stream.len())];
        pos += piece.len();
        let mut at = 0;
        loop {
            let step = inspector.feed(registry, &piece[at..]);
            at += step.consumed;
            match step.event {
                None => break,
                Some(Event::Error(e)) => {
                    events.push(format!("error {e}"));
                    break;
                }
                Some(e) => events.push(event_name(&e)),
            }
        }
        assert_eq!(
            at,
            piece.len(),
            "framer must consume everything it is given unless it failed: {events:?}"
        );
        while let Some(d) = inspector.poll_detection() {
            detections.push(d);
        }
    }
    if let Some(e) = inspector.finish(registry) {
        events.push(event_name(&e));
    }
    while let Some(d) = inspector.poll_detection() {
        detections.push(d);
    }
    (detections, events)
}

fn event_name(e: &Event) -> String {
    match e {
        Event::Head(_) => "head".into(),
        Event::Body(_) => "body".into(),
        Event::Trailer(_) => "trailer".into(),
        Event::End => "end".into(),
        Event::Tunnel(_) => "tunnel".into(),
        Event::Error(e) => format!("error {e}"),
    }
}

pub fn inspect(registry: &Registry, direction: Direction, stream: &[u8]) -> Vec<Detection> {
    inspect_split(registry, direction, stream, &[stream.len().max(1)]).0
}

pub fn request(content_type: &str, extra_headers: &str, body: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "POST http://collector.example/upload HTTP/1.1\r\nHost: collector.example\r\nContent-Type: {content_type}\r\n{extra_headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    m.extend_from_slice(body);
    m
}

pub fn response(content_type: &str, extra_headers: &str, body: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n{extra_headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    m.extend_from_slice(body);
    m
}

pub fn message(
    direction: Direction,
    content_type: &str,
    extra_headers: &str,
    body: &[u8],
) -> Vec<u8> {
    match direction {
        Direction::Outbound => request(content_type, extra_headers, body),
        Direction::Inbound => response(content_type, extra_headers, body),
    }
}

/// The same body in chunked transfer coding with chunks of `size`.
pub fn chunked(direction: Direction, content_type: &str, body: &[u8], size: usize) -> Vec<u8> {
    let start = match direction {
        Direction::Outbound => "POST /upload HTTP/1.1\r\nHost: collector.example\r\n",
        Direction::Inbound => "HTTP/1.1 200 OK\r\n",
    };
    let mut m =
        format!("{start}Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n")
            .into_bytes();
    for piece in body.chunks(size.max(1)) {
        m.extend_from_slice(format!("{:x};ext=1\r\n", piece.len()).as_bytes());
        m.extend_from_slice(piece);
        m.extend_from_slice(b"\r\n");
    }
    m.extend_from_slice(b"0\r\nX-Trailer: done\r\n\r\n");
    m
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn raw_deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        w.write_all(data).unwrap();
    }
    out
}

pub fn percent_encode_all(data: &[u8]) -> String {
    data.iter()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (*b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn json_escape(data: &[u8]) -> String {
    let s = String::from_utf8_lossy(data);
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_ascii_graphic() || c == ' ' => out.push(c),
            c => out.push_str(&format!("\\u{:04x}", c as u32)),
        }
    }
    out
}

/// Parses the escapes of the pattern case files.
pub fn unescape_case(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'\\' => out.push(b'\\'),
                b'x' => {
                    out.push(u8::from_str_radix(&s[i + 2..i + 4], 16).unwrap());
                    i += 2;
                }
                other => panic!("unknown escape \\{}", other as char),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}
