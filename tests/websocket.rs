//! WebSocket inspection end to end through the real binary (issue 11 item 3): a real client
//! and server (Python `websockets`, independent of Guardian's code) exchange messages through
//! `guardian serve`, plain (`ws://`, absolute-form upgrade request) and with HTTPS inspection
//! (`wss://` through CONNECT, the origin's certificate from a test CA), compressed with
//! permessage-deflate (the library's default) and not. An AWS key split over two frames of one
//! message is exactly one finding, redacted; every message arrives unchanged both ways (the
//! server echoes, the client compares); the raw key is written nowhere.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::script_origin::*;
use common::*;
use serde_json::json;

/// The key, in two halves the client sends as two frames of one text message.
const KEY_A: &str = "AKIA2E3F4G";
const KEY_B: &str = "5H6I7J2K3L";

/// Echo server: every message back as it came; with a certificate and key it serves TLS.
const SERVER: &str = r#"
import asyncio, ssl, sys
from websockets.asyncio.server import serve
async def echo(ws):
    async for message in ws:
        await ws.send(message)
async def main():
    ctx = None
    if len(sys.argv) > 2:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    compression = None if sys.argv[-1] == "plain" else "deflate"
    async with serve(echo, "127.0.0.1", 0, ssl=ctx, compression=compression) as srv:
        print(srv.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main())
"#;

/// Client. `ws PROXY PORT COMPRESSION`: the library's sans-IO protocol over a socket to the
/// proxy, with the request target in absolute form (a forward proxy's plain-HTTP form; the
/// library's own proxy support always uses CONNECT). `wss PROXY HOST CAFILE`: the library's
/// asyncio client through the proxy (CONNECT), trusting Guardian's CA. Both send the key split
/// over two frames, a ping, a binary message and a large compressible one, and check each echo.
const CLIENT: &str = r#"
import asyncio, socket, ssl, sys
KEY_A, KEY_B = sys.argv[5], sys.argv[6]
TEXT = ["aws_access_key_id=" + KEY_A, KEY_B + " (rotated yesterday)"]
BINARY = bytes(range(256)) * 40
LARGE = ("the quick brown fox jumps over the lazy dog " * 3000)
def check(got, want):
    if got != want:
        sys.exit("echo differs: %r != %r" % (got[:80], want[:80]))
if sys.argv[1] == "ws":
    from websockets.client import ClientProtocol
    from websockets.uri import parse_uri
    from websockets.frames import Frame, Opcode
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
    proxy_host, proxy_port = sys.argv[2].rsplit(":", 1)
    uri = "ws://127.0.0.1:%s/echo" % sys.argv[3]
    ext = [ClientPerMessageDeflateFactory()] if sys.argv[4] == "deflate" else None
    proto = ClientProtocol(parse_uri(uri), extensions=ext)
    sock = socket.create_connection((proxy_host, int(proxy_port)), timeout=10)
    request = proto.connect()
    request.path = uri.replace("ws://", "http://")
    proto.send_request(request)
    def flush():
        for chunk in proto.data_to_send():
            if chunk:
                sock.sendall(chunk)
    flush()
    def next_message():
        while True:
            for event in proto.events_received():
                if isinstance(event, Frame) and event.opcode in (Opcode.TEXT, Opcode.BINARY):
                    return event
            data = sock.recv(65536)
            if not data:
                sys.exit("connection closed early")
            proto.receive_data(data)
            flush()
    # The handshake response.
    while proto.handshake_exc is None and proto.state.name == "CONNECTING":
        data = sock.recv(65536)
        if not data:
            sys.exit("no handshake response")
        proto.receive_data(data)
    if proto.handshake_exc is not None:
        sys.exit("handshake failed: %r" % proto.handshake_exc)
    negotiated = [type(e).__name__ for e in proto.extensions]
    proto.send_text(TEXT[0].encode(), fin=False)
    proto.send_ping(b"are you there")
    proto.send_continuation(TEXT[1].encode(), fin=True)
    flush()
    check(next_message().data.decode(), "".join(TEXT))
    proto.send_binary(BINARY); flush()
    check(next_message().data, BINARY)
    proto.send_text(LARGE.encode()); flush()
    check(next_message().data.decode(), LARGE)
    proto.send_close(1000, "bye"); flush()
    # Until the server's close frame (not its TCP close: after an upgrade Guardian closes the
    # client side only when the client does or at the idle timeout).
    while proto.close_rcvd is None:
        data = sock.recv(65536)
        if not data:
            break
        proto.receive_data(data)
    sock.close()
    print("ok", ",".join(negotiated), flush=True)
else:
    from websockets.asyncio.client import connect
    async def main():
        ctx = ssl.create_default_context(cafile=sys.argv[4])
        async with connect("wss://%s/echo" % sys.argv[3], proxy="http://" + sys.argv[2], ssl=ctx) as ws:
            negotiated = [type(e).__name__ for e in ws.protocol.extensions]
            await ws.send(TEXT)  # an iterable: one message, one frame per item
            check(await ws.recv(), "".join(TEXT))
            await ws.ping(b"are you there")
            await ws.send(BINARY)
            check(await ws.recv(), BINARY)
            await ws.send(LARGE)
            check(await ws.recv(), LARGE)
        print("ok", ",".join(negotiated), flush=True)
    asyncio.run(main())
"#;

fn server(dir: tempfile::TempDir, tls: Option<(&Path, &Path)>, compression: &str) -> ScriptOrigin {
    let mut args: Vec<&Path> = tls
        .into_iter()
        .flat_map(|(cert, key)| [cert, key])
        .collect();
    args.push(Path::new(compression));
    script_origin(dir, "ws_server.py", SERVER, &args)
}

/// Runs the client (bounded by its socket timeouts and this deadline); returns its stdout.
fn client(dir: &Path, args: &[&str]) -> String {
    let script = dir.join("ws_client.py");
    std::fs::write(&script, CLIENT).unwrap();
    let mut child = Command::new("python3")
        .arg(&script)
        .args(args)
        .args([KEY_A, KEY_B])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "client hung");
        std::thread::sleep(Duration::from_millis(20));
    }
    ok_stdout(child.wait_with_output().unwrap())
}

/// Waits (bounded) for a finding, stops Guardian, and checks what it wrote: exactly one
/// outbound `aws_access_key_id` with the key redacted, and the raw key in no file or stream.
fn check_one_finding(g: Guardian, protocol: &str, dest: &str) {
    let path = g.home_dir().join("findings.jsonl");
    let deadline = Instant::now() + Duration::from_secs(10);
    while read_findings(&path).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let stderr_path = g.stderr_path.clone();
    let home = g.stop();
    let findings = read_findings(&home.path().join("home").join("findings.jsonl"));
    let patterns: Vec<_> = findings.iter().map(|f| f.pattern.as_str()).collect();
    assert_eq!(patterns, vec!["aws_access_key_id"], "{findings:?}");
    let f = &findings[0];
    assert_eq!(serde_json::to_value(f.direction).unwrap(), "outbound");
    assert_eq!(serde_json::to_value(f.protocol).unwrap(), protocol);
    assert_eq!(f.dest, dest);
    assert!(f.snippet.contains("[REDACTED:aws_access_key_id]"), "{f:?}");
    let log = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    assert!(!log.contains("no longer inspected"), "{log}");
    let key = format!("{KEY_A}{KEY_B}");
    for file in all_files(home.path()) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(
            find(&bytes, key.as_bytes()).is_none() && find(&bytes, KEY_A.as_bytes()).is_none(),
            "raw key in {}",
            file.display()
        );
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn a_key_split_over_two_compressed_frames_is_one_finding_and_every_byte_arrives() {
    let s = server(tempfile::tempdir().unwrap(), None, "deflate");
    let g = Guardian::serve(json!({}));
    let proxy = g.addr.to_string();
    let out = client(
        s.dir.path(),
        &["ws", &proxy, &s.port.to_string(), "deflate"],
    );
    assert_eq!(
        out.trim(),
        "ok PerMessageDeflate",
        "compression was negotiated"
    );
    check_one_finding(g, "http", &format!("127.0.0.1:{}", s.port));
}

#[test]
fn a_key_split_over_two_uncompressed_frames_is_one_finding() {
    let s = server(tempfile::tempdir().unwrap(), None, "plain");
    let g = Guardian::serve(json!({}));
    let proxy = g.addr.to_string();
    let out = client(s.dir.path(), &["ws", &proxy, &s.port.to_string(), "none"]);
    assert_eq!(out.trim(), "ok");
    check_one_finding(g, "http", &format!("127.0.0.1:{}", s.port));
}

#[test]
fn wss_through_https_inspection_is_inspected_too() {
    let dir = tempfile::tempdir().unwrap();
    let cert = test_cert(dir.path(), &["ws.test"], "Test WebSocket Origin CA");
    let s = server(dir, Some((&cert.cert, &cert.key)), "deflate");
    let g = Guardian::serve(json!({
        "https_inspection": true,
        "resolve": {"ws.test:443": format!("127.0.0.1:{}", s.port)},
        "upstream_ca_file": cert.ca.display().to_string(),
    }));
    let cacert = g.home_dir().join("ca").join("ca.pem").display().to_string();
    let proxy = g.addr.to_string();
    let out = client(s.dir.path(), &["wss", &proxy, "ws.test", &cacert]);
    assert_eq!(out.trim(), "ok PerMessageDeflate");
    check_one_finding(g, "https", "ws.test:443");
}

/// An origin that answers one upgrade to a made-up protocol with a `101`, then echoes raw bytes
/// until the client closes.
fn raw_echo_origin() -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        let _ = s.write_all(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x-echo\r\nConnection: Upgrade\r\n\r\n",
        );
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = s.read(&mut buf) {
            if s.write_all(&buf[..n]).is_err() {
                break;
            }
        }
    });
    addr
}

#[test]
fn other_upgrades_stay_a_blind_tunnel() {
    // Relayed unchanged both ways, not deframed (no violation, no finding), logged as blind.
    use std::io::{Read, Write};
    let origin = raw_echo_origin();
    let g = Guardian::serve(json!({}));
    let mut c = std::net::TcpStream::connect(g.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let request = format!(
        "GET http://{origin}/ HTTP/1.1\r\nHost: {origin}\r\nUpgrade: x-echo\r\nConnection: Upgrade\r\n\r\n"
    );
    c.write_all(request.as_bytes()).unwrap();
    let payload = b"\x81\x05hello, not a frame \xff\x00".to_vec();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let mut sent = false;
    let body = loop {
        let n = c.read(&mut buf).unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
        let Some(i) = find(&got, b"\r\n\r\n") else {
            continue;
        };
        if !sent {
            c.write_all(&payload).unwrap();
            sent = true;
        }
        if got.len() >= i + 4 + payload.len() {
            break got[i + 4..].to_vec();
        }
    };
    assert!(
        got.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    assert_eq!(body, payload);
    drop(c);
    let stderr_path = g.stderr_path.clone();
    let home = g.stop();
    assert!(read_findings(&home.path().join("home").join("findings.jsonl")).is_empty());
    let log = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    assert!(log.contains("relayed blind (not a WebSocket)"), "{log}");
    assert!(!log.contains("no longer inspected"), "{log}");
}
