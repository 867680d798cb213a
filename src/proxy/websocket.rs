//! The proxy's side of WebSocket inspection (issue 11 item 3): after a `101` that answers an
//! `Upgrade: websocket` request, the bytes relayed each way are also fed, unchanged and after
//! they were written, to the core's [`WebSocket`] inspector; its detections become findings.
//! A plain struct with no I/O of its own: the upgrade relay ([`super::upgrade::relay`]) feeds
//! it what it reads in each direction. Other
//! upgrades stay a blind tunnel (counted in `blind_upgrades`).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::SystemTime;

use guardian_parser::finding::Protocol;
use guardian_parser::framing::Head;
use guardian_parser::scan::Direction;
use guardian_parser::websocket::{is_websocket_request, Extensions, WebSocket};

use super::{BoxRead, Shared};
use crate::counters::add;

/// Inspection of one upgraded connection, shared by its two relaying tasks.
pub struct Tap {
    shared: Arc<Shared>,
    ws: WebSocket,
    source: String,
    protocol: Protocol,
    dest: String,
    /// Directions whose relay ended; the inspection finishes when both have.
    ended: [bool; 2],
    violation_logged: bool,
}

/// A tap for a `101` head when the request asked for `Upgrade: websocket` and the response
/// switches to it; `None` (counted, a blind tunnel) for every other upgrade.
pub fn on_switch(
    shared: &Arc<Shared>,
    asked_websocket: bool,
    response: &Head,
    source: &str,
    protocol: Protocol,
    dest: &str,
) -> Option<Arc<Mutex<Tap>>> {
    if !(asked_websocket && is_websocket_request(response)) {
        add(&shared.counters.blind_upgrades, 1);
        shared.log.line(&format!(
            "upgrade {source} -> {dest} relayed blind (not a WebSocket)"
        ));
        return None;
    }
    add(&shared.counters.websocket_sessions, 1);
    let ws = WebSocket::new(
        &shared.registry,
        Extensions::of_head(response),
        shared.config.max_scan_bytes,
        Some(dest.to_string()),
    );
    Some(Arc::new(Mutex::new(Tap {
        shared: shared.clone(),
        ws,
        source: source.to_string(),
        protocol,
        dest: dest.to_string(),
        ended: [false; 2],
        violation_logged: false,
    })))
}

/// Whether a request head asks for a WebSocket upgrade.
pub fn asks_websocket(request: &Head) -> bool {
    is_websocket_request(request)
}

/// A reader that feeds what it reads to the tap (the relay writes those bytes on unchanged).
pub fn observed(inner: BoxRead, tap: Option<Arc<Mutex<Tap>>>, direction: Direction) -> BoxRead {
    match tap {
        Some(tap) => Box::new(Observed {
            inner,
            tap,
            direction,
        }),
        None => inner,
    }
}

struct Observed {
    inner: BoxRead,
    tap: Arc<Mutex<Tap>>,
    direction: Direction,
}

impl futures_lite::AsyncRead for Observed {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let read = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(n)) = &read {
            feed(Some(&this.tap), this.direction, &buf[..*n]);
        }
        read
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        // A relay that never started or ended without saying so: finish with what was seen.
        if self.ended != [true, true] {
            self.ended = [true, true];
            self.ws.finish(&self.shared.registry);
            self.record();
        }
    }
}

impl Tap {
    /// Feeds bytes relayed in `direction` (outbound: client → server).
    pub fn feed(&mut self, direction: Direction, data: &[u8]) {
        self.ws.feed(&self.shared.registry, direction, data);
        self.record();
    }

    /// The relay of `direction` ended; once both have, the inspection finishes.
    pub fn end(&mut self, direction: Direction) {
        self.ended[usize::from(direction == Direction::Inbound)] = true;
        if self.ended == [true, true] {
            self.ws.finish(&self.shared.registry);
            self.record();
        }
    }

    fn record(&mut self) {
        while let Some(d) = self.ws.poll_detection() {
            self.shared
                .findings
                .record(d, self.protocol, &self.source, SystemTime::now());
        }
        if let (Some((direction, violation)), false) = (self.ws.violation(), self.violation_logged)
        {
            self.violation_logged = true;
            add(&self.shared.counters.websocket_violations, 1);
            self.shared.log.line(&format!(
                "websocket {} -> {}: {} frames {}: {}; relayed, no longer inspected",
                self.source,
                self.dest,
                direction.as_str(),
                match direction {
                    Direction::Outbound => "from the client",
                    Direction::Inbound => "from the server",
                },
                violation.as_str()
            ));
        }
    }
}

/// Feeds `data` to the tap, if any (a poisoned lock only stops inspection, never the relay).
pub fn feed(tap: Option<&Arc<Mutex<Tap>>>, direction: Direction, data: &[u8]) {
    if let Some(Ok(mut t)) = tap.map(|t| t.lock()) {
        t.feed(direction, data);
    }
}

/// Marks the relay of `direction` ended.
pub fn end(tap: Option<&Arc<Mutex<Tap>>>, direction: Direction) {
    if let Some(Ok(mut t)) = tap.map(|t| t.lock()) {
        t.end(direction);
    }
}
