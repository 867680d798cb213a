//! What one small keep-alive exchange costs the sans-IO core: a `GET` in absolute form (as
//! `wrk` sends through a proxy) and nginx's answer of three bytes, fed to a request and a
//! response inspector, and played through a proxy `Session` (request in, head rewritten and
//! written upstream, response in, written to the client: everything the proxy does per
//! request but the sockets). `ROUNDS` rounds of `N` exchanges; prints the fastest round's
//! nanoseconds per exchange (the minimum: a shared machine only ever slows a round down).
//! Compare two builds by running them alternately.
//!
//! `cargo run --release --example heads [N] [ROUNDS]` (default 20000 and 40).

use std::time::Instant;

use guardian_parser::inspect::Inspector;
use guardian_parser::scan::{Direction, Platform, Registry};
use guardian_parser::session::{Action, Config, LinkId, Session};

const REQUEST: &[u8] =
    b"GET http://127.0.0.1:18080/small HTTP/1.1\r\nHost: 127.0.0.1:18080\r\n\r\n";
const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Wed, 02 Dec 2026 21:30:00 GMT\r\n\
Content-Type: application/octet-stream\r\nContent-Length: 3\r\n\
Last-Modified: Wed, 02 Dec 2026 21:25:39 GMT\r\nConnection: keep-alive\r\n\
ETag: \"692f5a13-3\"\r\nAccept-Ranges: bytes\r\n\r\nok\n";

/// One exchange through the session; `false` if it did not go as a proxy's would.
fn exchange(registry: &Registry, s: &mut Session, link: &mut Option<LinkId>) -> bool {
    let now = Instant::now();
    s.handle_client(registry, REQUEST, now);
    let mut wrote_upstream = false;
    while let Some(action) = s.poll_action() {
        match action {
            Action::Connect { link: l, .. } => {
                *link = Some(l);
                s.handle_connected(registry, l, now);
            }
            Action::WriteUpstream { .. } => wrote_upstream = true,
            _ => {}
        }
    }
    let Some(l) = *link else {
        return false;
    };
    s.handle_upstream(registry, l, RESPONSE, now);
    let mut wrote_client = false;
    while let Some(action) = s.poll_action() {
        wrote_client |= matches!(action, Action::WriteClient(_));
    }
    while s.poll_detection().is_some() {}
    wrote_upstream && wrote_client
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(40);
    let registry = Registry::builtin(Platform::Picoclaw);
    let mut requests = Inspector::new(&registry, Direction::Outbound, 1 << 20);
    let mut responses = Inspector::new(&registry, Direction::Inbound, 1 << 20);
    let mut session = Session::new(&registry, Config::default(), Instant::now());
    let mut link = None;
    let per = |t: Instant| t.elapsed().as_secs_f64() * 1e9 / n as f64;
    let (mut request, mut response, mut proxied) = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
    for _ in 0..rounds {
        for (inspector, bytes, best) in [
            (&mut requests, REQUEST, &mut request),
            (&mut responses, RESPONSE, &mut response),
        ] {
            let t = Instant::now();
            for _ in 0..n {
                if inspector.feed_all(&registry, bytes).is_some() {
                    eprintln!("framing error");
                    return;
                }
                std::hint::black_box(inspector.poll_detection());
            }
            *best = best.min(per(t));
        }
        let t = Instant::now();
        for _ in 0..n {
            if !exchange(&registry, &mut session, &mut link) {
                eprintln!("the session did not relay the exchange");
                return;
            }
        }
        proxied = proxied.min(per(t));
    }
    println!(
        "inspectors {:.0} ns (request {request:.0}, response {response:.0})\tsession {proxied:.0} ns",
        request + response
    );
}
