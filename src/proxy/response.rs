//! The upstream → client pump of one upstream link: frames and scans responses, forwards their
//! bodies byte for byte as they arrive, and answers the requests the client side announced, in
//! order (pipelining), with the framing each needs (HEAD, CONNECT, 1xx, 101).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::SystemTime;

use futures_lite::AsyncReadExt;
use guardian_parser::finding::Protocol;
use guardian_parser::framing::{Event, RequestKind, Section};
use guardian_parser::inspect::Inspector;
use guardian_parser::scan::Direction;

use super::runtime::{self, Mutex};
use super::{head, BoxRead, BoxWrite, Shared, READ_BUF};
use crate::counters::add;

/// What the client side announced: a request was forwarded and needs this response.
#[derive(Clone, Debug)]
pub struct Expected {
    /// HEAD / CONNECT / other.
    pub kind: RequestKind,
    /// The client asked to close after this exchange.
    pub client_close: bool,
    /// The request asked to switch protocols.
    pub upgrade: bool,
    /// The upgrade asked for is `websocket`.
    pub websocket: bool,
}

/// How a pump ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PumpEnd {
    /// Every announced request was answered and the client side closed the channel.
    Drained,
    /// The upstream closed while idle: the client may go on with a new link.
    UpstreamClosed,
    /// The client connection must be closed (Connection: close, error, or a tunnel ended).
    Close,
}

/// Everything a pump needs.
pub struct Pump {
    pub shared: Arc<Shared>,
    pub upstream: BoxRead,
    /// The TCP socket under `upstream` (and the link's writer), to close the link from here.
    pub socket: runtime::TcpStream,
    pub client: Arc<Mutex<BoxWrite>>,
    pub expect: runtime::Receiver<Expected>,
    pub upgraded: runtime::Sender<bool>,
    /// One message per completed response, so the client side can send the next request.
    pub done: runtime::Sender<()>,
    pub stop: runtime::Sender<()>,
    pub dest: String,
    pub source: String,
    pub protocol: Protocol,
    /// Where a `101` to WebSocket leaves its inspection for the client side's relay.
    pub websocket: super::websocket::Slot,
}

enum Wake {
    Expected(Option<Expected>),
    Read(std::io::Result<usize>),
}

impl Pump {
    /// Runs until the link ends.
    pub async fn run(mut self) -> PumpEnd {
        let mut end = self.run_inner().await;
        super::websocket::end(
            super::websocket::take(&self.websocket).as_ref(),
            Direction::Inbound,
        );
        // A link that ended takes no more requests: once the channel is closed the client side's
        // next announcement fails and it reconnects. One announced after the pump last looked
        // (between its final check and this close) was written to a dead link: answer it with
        // a 502 rather than leave the client waiting for an answer nobody will send.
        self.expect.close();
        if end != PumpEnd::Close && self.expect.try_recv().is_ok() {
            add(&self.shared.counters.upstream_errors, 1);
            let text = format!(
                "upstream {} closed the connection before the request could be sent",
                self.dest
            );
            self.shared.log.line(&text);
            self.write(&head::synthetic(502, "Bad Gateway", &text))
                .await;
            end = PumpEnd::Close;
        }
        if end == PumpEnd::Close {
            let _ = self.stop.try_send(());
        }
        end
    }

    async fn run_inner(&mut self) -> PumpEnd {
        let registry = &self.shared.registry;
        let mut inspector = Inspector::new(
            registry,
            Direction::Inbound,
            self.shared.config.max_scan_bytes,
        );
        inspector.set_dest(Some(self.dest.clone()));
        let mut queue: VecDeque<Expected> = VecDeque::new();
        let mut buf = vec![0u8; READ_BUF];
        let mut started = false;
        let mut close_after = false;
        let mut channel_open = true;
        let mut tap = None;
        loop {
            while let Ok(e) = self.expect.try_recv() {
                inspector.framer_mut().expect_response(e.kind);
                queue.push_back(e);
            }
            let idle = queue.is_empty() && !started;
            let wake = if idle && channel_open {
                let next = async { Wake::Expected(self.expect.recv().await.ok()) };
                let read = async { Wake::Read(self.upstream.read(&mut buf).await) };
                futures_lite::future::or(next, read).await
            } else if idle {
                return PumpEnd::Drained;
            } else {
                Wake::Read(
                    runtime::timeout(
                        self.shared.config.timeouts.response,
                        self.upstream.read(&mut buf),
                    )
                    .await,
                )
            };
            let n = match wake {
                Wake::Expected(Some(e)) => {
                    inspector.framer_mut().expect_response(e.kind);
                    queue.push_back(e);
                    continue;
                }
                Wake::Expected(None) => {
                    channel_open = false;
                    continue;
                }
                Wake::Read(Ok(n)) => n,
                Wake::Read(Err(e)) => {
                    let timed_out = e.kind() == std::io::ErrorKind::TimedOut;
                    add(
                        if timed_out {
                            &self.shared.counters.timeouts
                        } else {
                            &self.shared.counters.upstream_errors
                        },
                        1,
                    );
                    self.shared.log.line(&format!(
                        "upstream {}: {}",
                        self.dest,
                        if timed_out {
                            format!(
                                "response timeout ({})",
                                humantime::format_duration(self.shared.config.timeouts.response)
                            )
                        } else {
                            e.to_string()
                        }
                    ));
                    if !started && !queue.is_empty() {
                        let (status, reason) = if timed_out {
                            (504, "Gateway Timeout")
                        } else {
                            (502, "Bad Gateway")
                        };
                        self.write(&head::synthetic(
                            status,
                            reason,
                            &format!("upstream {} failed: {e}", self.dest),
                        ))
                        .await;
                    }
                    return PumpEnd::Close;
                }
            };
            if n > 0 && !started && !solicited(&self.expect, &mut inspector, &mut queue) {
                return self.unsolicited();
            }
            if n == 0 {
                let finished = inspector.finish(registry);
                self.record(&mut inspector);
                return match finished {
                    Some(Event::End) => {
                        add(&self.shared.counters.responses, 1);
                        PumpEnd::Close
                    }
                    None if queue.is_empty() => PumpEnd::UpstreamClosed,
                    _ => {
                        add(&self.shared.counters.upstream_errors, 1);
                        if !started {
                            let text = format!(
                                "upstream {} closed the connection without a complete response",
                                self.dest
                            );
                            self.write(&head::synthetic(502, "Bad Gateway", &text))
                                .await;
                        }
                        PumpEnd::Close
                    }
                };
            }
            let mut at = 0;
            // Until the framer asks for more: an `End` comes on the call after the last body byte.
            loop {
                let step = inspector.feed(registry, &buf[at..n]);
                let consumed = &buf[at..at + step.consumed];
                if matches!(step.section, Section::Body | Section::Tunnel)
                    && !consumed.is_empty()
                    && !self.write(consumed).await
                {
                    return PumpEnd::Close;
                }
                if step.section == Section::Tunnel {
                    super::websocket::feed(tap.as_ref(), Direction::Inbound, consumed);
                }
                at += step.consumed;
                self.record(&mut inspector);
                match step.event {
                    None => break,
                    Some(Event::Head(h)) => {
                        let status = h.status().unwrap_or(0);
                        let interim = (100..200).contains(&status) && status != 101;
                        let upgrade_asked = queue.front().is_some_and(|e| e.upgrade);
                        let client_close = queue.front().is_some_and(|e| e.client_close);
                        if status == 101 && !upgrade_asked {
                            // A switch nobody asked for would turn the rest of the stream into
                            // an unscanned tunnel.
                            add(&self.shared.counters.upstream_errors, 1);
                            let text = format!(
                                "upstream {} switched protocols without being asked to",
                                self.dest
                            );
                            self.shared.log.line(&text);
                            self.write(&head::synthetic(502, "Bad Gateway", &text))
                                .await;
                            return PumpEnd::Close;
                        }
                        if upgrade_asked && status != 101 && !interim {
                            // The origin declined the upgrade: the client side goes on with HTTP.
                            let _ = self.upgraded.try_send(false);
                        }
                        close_after = !interim && (client_close || !h.keep_alive());
                        let head_bytes = head::response(&h, close_after && status != 101);
                        if !self.write(&head_bytes).await {
                            return PumpEnd::Close;
                        }
                        started = !interim;
                        if status == 101 {
                            let ws = queue.front().is_some_and(|e| e.websocket);
                            let (shared, src) = (&self.shared, &self.source);
                            tap = super::websocket::on_switch(
                                shared,
                                ws,
                                &h,
                                src,
                                self.protocol,
                                &self.dest,
                            );
                            if let Ok(mut slot) = self.websocket.lock() {
                                slot.clone_from(&tap);
                            }
                            let _ = self.upgraded.try_send(true);
                        }
                    }
                    Some(Event::End) => {
                        if !started {
                            continue; // end of an interim response
                        }
                        add(&self.shared.counters.responses, 1);
                        queue.pop_front();
                        started = false;
                        let _ = self.done.try_send(());
                        if close_after && !inspector.framer_mut().is_tunnel() {
                            return PumpEnd::Close;
                        }
                        if at < n && !solicited(&self.expect, &mut inspector, &mut queue) {
                            return self.unsolicited();
                        }
                    }
                    Some(Event::Error(e)) => {
                        add(&self.shared.counters.framing_errors, 1);
                        self.shared
                            .log
                            .line(&format!("upstream {} sent invalid HTTP: {e}", self.dest));
                        if !started {
                            let text =
                                format!("upstream {} sent an invalid response: {e}", self.dest);
                            self.write(&head::synthetic(502, "Bad Gateway", &text))
                                .await;
                        }
                        return PumpEnd::Close;
                    }
                    Some(_) => {}
                }
            }
        }
    }

    /// Bytes from a link with no request outstanding: they never reach the client, and the
    /// link is closed (the client connection goes on with a new link).
    fn unsolicited(&self) -> PumpEnd {
        // Closed before the origin can see the link end, so a request the client sends after
        // that is never announced to this link.
        self.expect.close();
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
        add(&self.shared.counters.upstream_errors, 1);
        self.shared.log.line(&format!(
            "upstream {} sent bytes no request asked for; closing that link",
            self.dest
        ));
        PumpEnd::UpstreamClosed
    }

    /// Writes to the client and flushes; `false` when the client is gone.
    async fn write(&self, bytes: &[u8]) -> bool {
        let mut client = self.client.lock().await;
        let ok = runtime::timeout(
            self.shared.config.timeouts.idle,
            super::connection::write_flush(&mut *client, bytes),
        )
        .await
        .is_ok();
        if ok {
            add(&self.shared.counters.bytes_to_clients, bytes.len() as u64);
        }
        ok
    }

    fn record(&self, inspector: &mut Inspector) {
        while let Some(d) = inspector.poll_detection() {
            self.shared
                .findings
                .record(d, self.protocol, &self.source, SystemTime::now());
        }
    }
}

/// Whether bytes arriving now answer a request: one is announced (taking announcements the
/// client side made meanwhile), or the stream is a tunnel after an honoured `101`.
fn solicited(
    expect: &runtime::Receiver<Expected>,
    inspector: &mut Inspector,
    queue: &mut VecDeque<Expected>,
) -> bool {
    while let Ok(e) = expect.try_recv() {
        inspector.framer_mut().expect_response(e.kind);
        queue.push_back(e);
    }
    !queue.is_empty() || inspector.framer_mut().is_tunnel()
}
