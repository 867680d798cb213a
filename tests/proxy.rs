//! The proxy through the real binary, with curl and raw clients against a loopback async-h1
//! origin: detection end to end, no false positives, bytes unchanged both ways, framing errors,
//! upstream failures, slowloris, concurrency, and the redaction proof.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use serde_json::json;

const AWS: &str = "AKIAQ3EGT5JMCXWDZP7N";
const OPENAI: &str = "sk-proj-Xk9mB2vQ7rT4wY1zA8cD5fG3hJ6kL0nP2qS4uV7xZ9bC1eF3hI5kM";
const ANTHROPIC: &str = "sk-ant-api03-Zq8xW2vB7nM4kL1pR9tY6uI3oE5aS0dF2gH8jK4lZ7xC1vB6nM9qW3eR5tY8uI0oP2aS4dF6gH8jK0lZ2xC4vB6nAA";
const PEM: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n";

#[test]
fn every_pattern_family_is_found_end_to_end() {
    let origin = origin();
    let g = Guardian::serve(json!({"platform": "picoclaw"}));
    let proxy = g.proxy_url();
    let exfil: &[(&str, String)] = &[
        ("ai_api_key", format!("{{\"leak\":\"{ANTHROPIC}\"}}")),
        ("aws_access_key_id", format!("aws_access_key_id={AWS}")),
        ("private_key_pem", PEM.to_string()),
        (
            "ssh_key_path",
            "{\"read\":\"/home/alice/.ssh/id_ed25519\"}".to_string(),
        ),
        ("sensitive_unix_path", "file=../../etc/shadow".to_string()),
        (
            "credential_path",
            "{\"path\":\"/home/alice/.aws/credentials\"}".to_string(),
        ),
        (
            "gateway_token_path",
            "{\"path\":\"/home/alice/.picoclaw/auth.json\"}".to_string(),
        ),
    ];
    for (_, body) in exfil {
        let (status, _) = curl(&[
            "-x",
            &proxy,
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            body,
            &format!("http://{origin}/upload"),
        ]);
        assert!(status.success());
    }
    // In the URL too, percent-encoded.
    let (status, _) = curl(&[
        "-x",
        &proxy,
        &format!("http://{origin}/get?f=%2Fproc%2Fself%2Fenviron"),
    ]);
    assert!(status.success());
    for (name, _, _) in INJECTIONS {
        for suffix in ["", "-gzip"] {
            let (status, body) = curl(&[
                "-x",
                &proxy,
                "--compressed",
                &format!("http://{origin}/inject/{name}{suffix}"),
            ]);
            assert!(status.success() && !body.is_empty());
        }
    }
    let findings = g.findings();
    let patterns: BTreeSet<&str> = findings.iter().map(|f| f.pattern.as_str()).collect();
    for (pattern, _) in exfil {
        assert!(
            patterns.contains(pattern),
            "{pattern} missing: {patterns:?}"
        );
    }
    assert!(patterns.contains("sensitive_unix_path"));
    for (_, pattern, _) in INJECTIONS {
        let n = findings.iter().filter(|f| f.pattern == *pattern).count();
        assert_eq!(n, 2, "{pattern}: once plain, once gzip");
    }
    for f in &findings {
        assert_eq!(f.dest, origin.to_string());
        assert_eq!(f.source, "127.0.0.1");
        assert_eq!(serde_json::to_value(f.protocol).unwrap(), "http");
        let expected = if f.direction.as_str() == "outbound" {
            "EXFIL"
        } else {
            "INJECTION"
        };
        assert_eq!(f.threat_type.as_str(), expected);
        assert!(
            f.timestamp.ends_with('Z') && f.timestamp.len() == 24,
            "{}",
            f.timestamp
        );
    }
    let home = g.stop();
    assert_no_secret_anywhere(
        home.path(),
        &[AWS, ANTHROPIC, "b3BlbnNzaC1rZXktdjEAAAAABG5vbmU"],
    );
}

#[test]
fn benign_traffic_produces_no_finding() {
    let origin = origin();
    let g = Guardian::serve(json!({"resolve": {"api.openai.com:80": origin.to_string()}}));
    let proxy = g.proxy_url();
    // An LLM call carrying its own key to its provider (resolved to the loopback origin).
    let (status, body) = curl(&[
        "-x", &proxy, "-H", &format!("Authorization: Bearer {OPENAI}"), "-H", "Content-Type: application/json",
        "--data-binary", "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"How do I list files?\"}]}",
        "http://api.openai.com/v1/chat/completions",
    ]);
    assert!(status.success() && String::from_utf8_lossy(&body).contains("chatcmpl"));
    for page in [
        "page.html",
        "app.js",
        "style.css",
        "package.json",
        "binary",
        "gzip-page",
    ] {
        let (status, _) = curl(&[
            "-x",
            &proxy,
            "--compressed",
            &format!("http://{origin}/{page}"),
        ]);
        assert!(status.success(), "{page}");
    }
    // A large chunked upload of ordinary text.
    let text = "The agent summarises the build log and suggests running the tests again.\n"
        .repeat(200_000);
    let file = g.home.path().join("upload.txt");
    std::fs::write(&file, &text).unwrap();
    let (status, hash) = curl(&[
        "-x",
        &proxy,
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        &format!("@{}", file.display()),
        &format!("http://{origin}/hash"),
    ]);
    assert!(status.success());
    assert_eq!(String::from_utf8_lossy(&hash), sha256_hex(text.as_bytes()));
    let findings = g.findings();
    assert!(findings.is_empty(), "false positives: {findings:?}");
}

#[test]
fn bytes_are_unchanged_both_ways() {
    let origin = origin();
    let g = Guardian::serve(json!({}));
    let proxy = g.proxy_url();
    for query in ["mb=100", "mb=100&chunked=1"] {
        let out = g.home.path().join("download.bin");
        let (status, _) = curl(&[
            "-x",
            &proxy,
            "-o",
            out.to_str().unwrap(),
            &format!("http://{origin}/big?{query}"),
        ]);
        assert!(status.success(), "{query}");
        let got = std::fs::read(&out).unwrap();
        assert_eq!(got.len(), 100 << 20, "{query}");
        assert_eq!(
            sha256_hex(&got),
            sha256_hex(&pattern_bytes(100 << 20, 99)),
            "{query}"
        );
    }
    let upload = pattern_bytes(100 << 20, 1234);
    let file = g.home.path().join("upload.bin");
    std::fs::write(&file, &upload).unwrap();
    for extra in [&[][..], &["-H", "Transfer-Encoding: chunked"][..]] {
        let mut args = vec!["-x", proxy.as_str(), "--data-binary"];
        let at = format!("@{}", file.display());
        args.push(&at);
        args.extend_from_slice(extra);
        let url = format!("http://{origin}/hash");
        args.push(&url);
        let (status, hash) = curl(&args);
        assert!(status.success());
        assert_eq!(
            String::from_utf8_lossy(&hash),
            sha256_hex(&upload),
            "upload {extra:?}"
        );
    }
}

#[test]
fn secrets_split_across_chunks_and_tcp_writes_are_found() {
    let origin = origin();
    let g = Guardian::serve(json!({}));
    let host = origin.to_string();
    let head = format!("POST http://{host}/upload HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    // The key is split across three chunks, each sent in its own TCP write.
    let pieces: Vec<Vec<u8>> = vec![
        head.into_bytes(),
        b"9\r\nkey=AKIAQ\r\n".to_vec(),
        b"8\r\n3EGT5JMC\r\n".to_vec(),
        b"7\r\nXWDZP7N\r\n".to_vec(),
        b"0\r\n\r\n".to_vec(),
    ];
    let refs: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
    let reply = g.exchange_in_pieces(&refs, Duration::from_secs(5));
    assert!(
        reply.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    let findings = g.findings();
    assert_eq!(
        findings
            .iter()
            .filter(|f| f.pattern == "aws_access_key_id")
            .count(),
        1,
        "{findings:?}"
    );
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let origin = origin();
    let g = Guardian::serve(json!({}));
    let host = origin.to_string();
    let req = |path: &str, extra: &str| {
        format!("GET http://{host}{path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n")
    };
    let all = [
        req("/page.html", ""),
        req("/inject/pipe", ""),
        format!("HEAD http://{host}/page.html HTTP/1.1\r\nHost: {host}\r\n\r\n"),
        req("/style.css", "Connection: close\r\n"),
    ]
    .concat();
    let reply = raw_exchange(g.addr, &[all.as_bytes()], Duration::from_secs(5));
    let text = String::from_utf8_lossy(&reply);
    assert_eq!(text.matches("HTTP/1.1 200").count(), 4, "{text}");
    let (a, b, c) = (
        text.find("<h1>Docs").unwrap(),
        text.find("get.example.sh").unwrap(),
        text.find(".sk-spinner").unwrap(),
    );
    assert!(a < b && b < c, "responses out of order");
    assert_eq!(g.findings().len(), 1);
}

#[test]
fn malformed_requests_get_400_and_the_listener_keeps_serving() {
    let origin = origin();
    let g = Guardian::serve(json!({}));
    let host = origin.to_string();
    let bad: Vec<String> = vec![
        format!("POST http://{host}/ HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello"),
        format!("POST http://{host}/ HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"),
        format!("GET http://{host}/ HTTP/1.1\r\nHost: {host}\r\n bad: fold\r\n\r\n"),
        "GET /relative HTTP/1.1\r\nHost: x\r\n\r\n".to_string(),
        "\x16\x03\x01\x02\x00\x01\x00\x01\x7c\x03\x03 not http\r\n\r\n".to_string(),
    ];
    for request in &bad {
        let reply = raw_exchange(g.addr, &[request.as_bytes()], Duration::from_secs(5));
        let text = String::from_utf8_lossy(&reply);
        assert!(
            text.starts_with("HTTP/1.1 400 Bad Request"),
            "{request:?} → {text}"
        );
        assert!(text.contains("guardian: "), "{text}");
    }
    // A good request on an earlier keep-alive connection is answered before the 400.
    let mixed = format!("GET http://{host}/style.css HTTP/1.1\r\nHost: {host}\r\n\r\nGET http://{host}/ HTTP/1.1\r\nHost: {host}\r\nContent-Length: x\r\n\r\n");
    let reply = String::from_utf8_lossy(&raw_exchange(
        g.addr,
        &[mixed.as_bytes()],
        Duration::from_secs(5),
    ))
    .to_string();
    let (ok, bad) = (
        reply.find("HTTP/1.1 200").unwrap(),
        reply.find("HTTP/1.1 400").unwrap(),
    );
    assert!(ok < bad && reply.contains(".sk-spinner"));
    let (status, body) = curl(&["-x", &g.proxy_url(), &format!("http://{host}/page.html")]);
    assert!(status.success() && String::from_utf8_lossy(&body).contains("Docs"));
}

#[test]
fn upstream_failures_are_502_naming_the_upstream() {
    let g = Guardian::serve(json!({}));
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (_, out) = curl(&[
        "-x",
        &g.proxy_url(),
        "-w",
        "\n%{http_code}",
        &format!("http://{dead}/"),
    ]);
    let text = String::from_utf8_lossy(&out);
    assert!(text.ends_with("502"), "{text}");
    assert!(text.contains(&dead.to_string()), "{text}");
    // For a refused CONNECT, curl reports the proxy's status as http_connect.
    let (_, out) = curl(&[
        "-p",
        "-x",
        &g.proxy_url(),
        "-w",
        "%{http_connect}",
        &format!("http://{dead}/"),
    ]);
    assert_eq!(String::from_utf8_lossy(&out), "502");
}

#[test]
fn slowloris_is_closed_after_the_header_timeout() {
    let g = Guardian::serve(json!({"timeouts": {"header": "1s"}}));
    let mut s = std::net::TcpStream::connect(g.addr).unwrap();
    use std::io::{Read, Write};
    s.write_all(b"GET http://127.0.0.1:9/ HTTP/1.1\r\nX-Slow: ")
        .unwrap();
    let start = std::time::Instant::now();
    // Keep dribbling bytes; the head never completes.
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = [0u8; 64];
    let closed = loop {
        if start.elapsed() > Duration::from_secs(20) {
            break false;
        }
        if s.write_all(b"a").is_err() {
            break true;
        }
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(_) => {}
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break true,
        }
    };
    assert!(closed, "a head that never completes must be cut off");
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "cut off before the 1 s header timeout"
    );
}

#[test]
fn a_thousand_concurrent_connections_complete() {
    let origin = origin();
    let g = Guardian::serve(json!({}));
    let (proxy, host) = (g.addr, origin.to_string());
    let results = async_std::task::block_on(async move {
        let tasks: Vec<_> = (0..1000)
            .map(|i| {
                let host = host.clone();
                async_std::task::spawn(async move {
                    use async_std::io::prelude::*;
                    let mut s = async_std::net::TcpStream::connect(proxy).await?;
                    let req = format!("GET http://{host}/style.css?i={i} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
                    s.write_all(req.as_bytes()).await?;
                    let mut out = Vec::new();
                    s.read_to_end(&mut out).await?;
                    Ok::<bool, std::io::Error>(out.starts_with(b"HTTP/1.1 200") && out.ends_with(b"margin:0}"))
                })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            if async_std::future::timeout(Duration::from_secs(60), t)
                .await
                .ok()
                .and_then(Result::ok)
                == Some(true)
            {
                ok += 1;
            }
        }
        ok
    });
    assert_eq!(results, 1000);
}

#[test]
fn clients_outside_allow_clients_are_refused() {
    let g = Guardian::serve(json!({"allow_clients": ["10.99.0.0/16"]}));
    let (status, _) = curl(&["-x", &g.proxy_url(), "http://127.0.0.1:9/"]);
    assert!(!status.success());
    let log = std::fs::read_to_string(g.home_dir().join("guardian.log")).unwrap();
    assert!(log.contains("refused client 127.0.0.1"), "{log}");
}

/// Regression: switching origin on a client connection opened a new upstream connection each
/// time (ports ran out under load). Links are now parked and reused; responses stay in order.
#[test]
fn alternating_origins_on_one_connection_stay_in_order() {
    let (a, b) = (origin(), origin());
    let g = Guardian::serve(json!({}));
    let mut all = String::new();
    for i in 0..30 {
        let host = if i % 3 == 2 { b } else { a };
        let path = if i % 2 == 0 {
            "/style.css"
        } else {
            "/package.json"
        };
        all.push_str(&format!(
            "GET http://{host}{path}?i={i} HTTP/1.1\r\nHost: {host}\r\n\r\n"
        ));
    }
    all.push_str(&format!(
        "GET http://{a}/page.html HTTP/1.1\r\nHost: {a}\r\nConnection: close\r\n\r\n"
    ));
    let reply = String::from_utf8_lossy(&raw_exchange(
        g.addr,
        &[all.as_bytes()],
        Duration::from_secs(10),
    ))
    .to_string();
    assert_eq!(reply.matches("HTTP/1.1 200").count(), 31);
    let order: Vec<char> = reply.match_indices("sk-spinner").map(|_| 'c').collect();
    assert_eq!(order.len(), 15);
    // Bodies alternate exactly as requested: css, json, css, json, …
    let mut kinds = Vec::new();
    let mut rest = reply.as_str();
    while let Some(i) = rest
        .find(".sk-spinner")
        .into_iter()
        .chain(rest.find("left-pad"))
        .min()
    {
        kinds.push(if rest[i..].starts_with(".sk-spinner") {
            'c'
        } else {
            'j'
        });
        rest = &rest[i + 5..];
    }
    let expected: Vec<char> = (0..30)
        .map(|i| if i % 2 == 0 { 'c' } else { 'j' })
        .collect();
    assert_eq!(kinds, expected);
}

#[test]
fn requests_and_connect_chain_through_upstream_proxy() {
    let origin = origin();
    // The parent is another Guardian: it must see the traffic the child forwards.
    let parent = Guardian::serve(json!({}));
    let child = Guardian::serve(json!({"upstream_proxy": format!("http://{}", parent.addr)}));
    let (status, body) = curl(&[
        "-x",
        &child.proxy_url(),
        &format!("http://{origin}/inject/pipe"),
    ]);
    assert!(status.success() && String::from_utf8_lossy(&body).contains("get.example.sh"));
    // CONNECT through the parent (a blind tunnel in both).
    let (status, body) = curl(&[
        "-p",
        "-x",
        &child.proxy_url(),
        &format!("http://{origin}/style.css"),
    ]);
    assert!(status.success() && String::from_utf8_lossy(&body).contains("sk-spinner"));
    assert_eq!(child.findings().len(), 1);
    assert_eq!(
        parent.findings().len(),
        1,
        "the parent saw the plain request too"
    );
    let log = std::fs::read_to_string(parent.home_dir().join("guardian.log")).unwrap();
    assert!(
        log.contains(&format!("tunnel 127.0.0.1 -> {origin}")),
        "{log}"
    );
}

/// An origin that switches protocols (then echoes) or, on `/no`, declines and keeps speaking HTTP.
const UPGRADE_ORIGIN: &str = r#"
import socket, threading
def read_head(c, buf):
    while b"\r\n\r\n" not in buf:
        d = c.recv(4096)
        if not d: return None, b""
        buf += d
    return buf.split(b"\r\n\r\n", 1)
def handle(c):
    head, rest = read_head(c, b"")
    if head is None: return
    if b"GET /no" in head:
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno")
        head, rest = read_head(c, rest)
        if head is not None: c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nafter")
        return
    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: upgrade\r\n\r\n")
    if rest: c.sendall(b"echo:" + rest)
    while True:
        d = c.recv(4096)
        if not d: break
        c.sendall(b"echo:" + d)
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept(); threading.Thread(target=handle, args=(c,), daemon=True).start()
"#;

#[test]
fn upgrades_are_relayed_and_declined_upgrades_stay_http() {
    use std::io::{Read, Write};
    let mut child = std::process::Command::new("python3")
        .args(["-c", UPGRADE_ORIGIN])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let origin = format!("127.0.0.1:{}", first_stdout_line(&mut child).trim());
    let g = Guardian::serve(json!({}));
    let read_until = |s: &mut std::net::TcpStream, needle: &[u8]| {
        let (mut out, mut buf) = (Vec::new(), [0u8; 4096]);
        while !out.windows(needle.len()).any(|w| w == needle) {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        out
    };
    let mut s = std::net::TcpStream::connect(g.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(format!("GET http://{origin}/ws HTTP/1.1\r\nHost: {origin}\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n").as_bytes()).unwrap();
    assert!(read_until(&mut s, b"\r\n\r\n").starts_with(b"HTTP/1.1 101"));
    s.write_all(b"raw bytes after the switch").unwrap();
    assert!(String::from_utf8_lossy(&read_until(&mut s, b"switch"))
        .contains("echo:raw bytes after the switch"));

    let mut s = std::net::TcpStream::connect(g.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(format!("GET http://{origin}/no HTTP/1.1\r\nHost: {origin}\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n").as_bytes()).unwrap();
    assert!(String::from_utf8_lossy(&read_until(&mut s, b"no")).ends_with("no"));
    s.write_all(format!("GET http://{origin}/next HTTP/1.1\r\nHost: {origin}\r\n\r\n").as_bytes())
        .unwrap();
    let text = String::from_utf8_lossy(&read_until(&mut s, b"after")).to_string();
    assert!(
        text.starts_with("HTTP/1.1 200") && text.ends_with("after"),
        "{text}"
    );
    let _ = child.kill();
    let _ = child.wait();
}
