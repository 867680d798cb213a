//! Hostile peers on raw sockets: an origin that answers with whatever bytes a test scripts,
//! a client that reads responses one by one, and polling with a deadline instead of sleeps.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Polls `cond` every few milliseconds until it holds or `limit` passes; returns whether it held.
pub fn poll_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    cond()
}

/// What a raw origin observed, shared with the test.
#[derive(Default)]
pub struct Seen {
    /// Connections accepted.
    pub connections: AtomicUsize,
    /// Connections on which the proxy closed its side (a read returned 0).
    pub closed: AtomicUsize,
    /// Every byte received, all connections in order of arrival.
    pub received: Mutex<Vec<u8>>,
}

impl Seen {
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
    pub fn closed(&self) -> usize {
        self.closed.load(Ordering::SeqCst)
    }
    pub fn received_text(&self) -> String {
        String::from_utf8_lossy(&self.received.lock().unwrap()).into_owned()
    }
}

/// One accepted origin connection.
pub struct OriginConn {
    pub stream: TcpStream,
    buf: Vec<u8>,
    seen: Arc<Seen>,
}

impl OriginConn {
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => {
                self.seen.closed.fetch_add(1, Ordering::SeqCst);
                false
            }
            Ok(n) => {
                self.seen
                    .received
                    .lock()
                    .unwrap()
                    .extend_from_slice(&chunk[..n]);
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// The next request head (blank line included), `None` if the proxy closed first.
    pub fn read_head(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                return Some(self.buf.drain(..i + 4).collect());
            }
            if !self.fill() {
                return None;
            }
        }
    }

    /// The next `n` body bytes, `None` if the proxy closed first.
    pub fn read_body(&mut self, n: usize) -> Option<Vec<u8>> {
        while self.buf.len() < n {
            if !self.fill() {
                return None;
            }
        }
        Some(self.buf.drain(..n).collect())
    }

    /// Reads until the proxy closes the connection (or 20 s pass); `true` if it closed.
    pub fn wait_close(&mut self) -> bool {
        let _ = self.stream.set_read_timeout(Some(Duration::from_secs(20)));
        let mut chunk = [0u8; 4096];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    self.seen.closed.fetch_add(1, Ordering::SeqCst);
                    return true;
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return e.kind() != std::io::ErrorKind::WouldBlock
                        && e.kind() != std::io::ErrorKind::TimedOut
                }
            }
        }
    }

    pub fn write(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }
}

/// A loopback origin that runs `handler(index, conn)` for every connection it accepts.
pub fn raw_origin<F>(handler: F) -> (SocketAddr, Arc<Seen>)
where
    F: Fn(usize, &mut OriginConn) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let handler = Arc::new(handler);
    let shared = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let index = shared.connections.fetch_add(1, Ordering::SeqCst);
            let (handler, seen) = (handler.clone(), shared.clone());
            std::thread::spawn(move || {
                let mut conn = OriginConn {
                    stream,
                    buf: Vec::new(),
                    seen,
                };
                handler(index, &mut conn);
            });
        }
    });
    (addr, seen)
}

/// A raw client connection to the proxy that reads responses one at a time.
pub struct RawClient {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

/// One response as received: its head (blank line included) and body.
#[derive(Debug)]
pub struct RawResponse {
    pub head: String,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn status(&self) -> u16 {
        self.head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl RawClient {
    /// Connects; every read gives up after `wait` (so a hang fails the test instead of blocking it).
    pub fn connect(proxy: SocketAddr, wait: Duration) -> RawClient {
        let stream = TcpStream::connect(proxy).unwrap();
        stream.set_nodelay(true).unwrap();
        stream.set_read_timeout(Some(wait)).unwrap();
        RawClient {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// The next response (Content-Length framed, or up to close without one); `None` on a close
    /// or a timeout before a complete head.
    pub fn response(&mut self) -> Option<RawResponse> {
        let end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            if !self.fill() {
                return None;
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        self.buf.drain(..end);
        let length = head.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        });
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = match length {
            _ if (100..200).contains(&status) || status == 204 || status == 304 => Vec::new(),
            Some(n) => {
                while self.buf.len() < n {
                    if !self.fill() {
                        break;
                    }
                }
                let n = n.min(self.buf.len());
                self.buf.drain(..n).collect()
            }
            None => {
                while self.fill() {}
                std::mem::take(&mut self.buf)
            }
        };
        Some(RawResponse { head, body })
    }

    /// Whatever arrives until the proxy closes or the read timeout passes.
    pub fn rest(&mut self) -> Vec<u8> {
        while self.fill() {}
        std::mem::take(&mut self.buf)
    }
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
