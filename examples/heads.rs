//! What one small keep-alive exchange costs the inspectors: a `GET` in absolute form (as `wrk`
//! sends through a proxy) and nginx's answer of three bytes, each fed to its own inspector,
//! in `ROUNDS` rounds of `N` exchanges. Prints the fastest round's nanoseconds per request and
//! per response (the minimum: a shared machine only ever slows a round down); compare two
//! builds by running them alternately.
//!
//! `cargo run --release --example heads [N] [ROUNDS]` (default 20000 and 40).

use std::time::Instant;

use guardian_parser::inspect::Inspector;
use guardian_parser::scan::{Direction, Platform, Registry};

const REQUEST: &[u8] =
    b"GET http://127.0.0.1:18080/small HTTP/1.1\r\nHost: 127.0.0.1:18080\r\n\r\n";
const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Wed, 02 Dec 2026 21:30:00 GMT\r\n\
Content-Type: application/octet-stream\r\nContent-Length: 3\r\n\
Last-Modified: Wed, 02 Dec 2026 21:25:39 GMT\r\nConnection: keep-alive\r\n\
ETag: \"692f5a13-3\"\r\nAccept-Ranges: bytes\r\n\r\nok\n";

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let rounds: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(40);
    let registry = Registry::builtin(Platform::Picoclaw);
    let mut requests = Inspector::new(&registry, Direction::Outbound, 1 << 20);
    let mut responses = Inspector::new(&registry, Direction::Inbound, 1 << 20);
    let time = |inspector: &mut Inspector, bytes: &[u8]| {
        let t = Instant::now();
        for _ in 0..n {
            if inspector.feed_all(&registry, bytes).is_some() {
                eprintln!("framing error");
                return f64::NAN;
            }
            std::hint::black_box(inspector.poll_detection());
        }
        t.elapsed().as_secs_f64() * 1e9 / n as f64
    };
    let (mut request, mut response) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..rounds {
        request = request.min(time(&mut requests, REQUEST));
        response = response.min(time(&mut responses, RESPONSE));
    }
    println!(
        "exchange {:.0} ns\trequest {request:.0} ns\tresponse {response:.0} ns",
        request + response
    );
}
