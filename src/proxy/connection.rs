//! The I/O shell of one client connection, a thin loop over the sans-IO
//! [`guardian_parser::session::Session`]: wait (client, links, timer), feed what came, drain the
//! actions (connect, write and flush, respond, close, hand over to a tunnel or an upgrade
//! relay), record findings and counters, wait again. Plain HTTP and intercepted HTTPS (TLS
//! streams from `intercept`) run the same loop.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use futures_lite::AsyncWriteExt;
use guardian_parser::finding::Protocol;
use guardian_parser::inspect::Stats;
use guardian_parser::session::{self, rewrite, Action, LinkId, Session, Tally};

use super::links::{self, Links, ReadBuf, Timer, Wake};
use super::{tunnel, upgrade, BoxRead, BoxWrite, Shared};
use crate::counters::add;
use crate::runtime;

/// How a client connection reaches Guardian.
pub struct Client {
    /// Client → Guardian.
    pub reader: BoxRead,
    /// Guardian → client.
    pub writer: BoxWrite,
    /// Client IP, for findings.
    pub source: String,
    /// `http`, or `https` inside an intercepted tunnel.
    pub protocol: Protocol,
    /// Inside an intercepted tunnel: every request goes to this origin (origin-form targets).
    pub origin: Option<(String, u16)>,
    /// The client's own TCP connection (plain HTTP), reset when a response is cut short.
    /// Inside a tunnel there is none: an intercepted connection ends without a TLS
    /// close_notify instead, and plain HTTP inside a tunnel ends with a FIN.
    pub socket: Option<runtime::TcpStream>,
}

/// What the loop does after an action.
enum Next {
    Go,
    /// The session is over; the client connection is closed.
    End,
    /// The session is over with a response cut short: the client connection is dropped
    /// without a clean close (no TLS `close_notify`).
    Abort,
    /// The session handed the connection over (tunnel, upgrade).
    Handover(Action),
}

/// Serves one client connection until it ends.
pub async fn serve(shared: Arc<Shared>, client: Client) {
    let t = &shared.config.timeouts;
    let config = session::Config {
        timeouts: session::Timeouts {
            header: t.header,
            idle: t.idle,
            response: t.response,
        },
        max_scan_bytes: shared.config.max_scan_bytes,
        origin: client.origin.clone(),
        absolute_targets: shared.config.upstream_proxy.is_some(),
        client: client.source.clone(),
    };
    // Boxed and lent to `run`: an async fn keeps its by-value arguments and the locals they
    // move into apart, which doubled the session's ~2.7 KB in every connection's task; and the
    // box is given back before a tunnel or an upgrade relay takes over.
    let mut session = Box::new(Session::new(&shared.registry, config, Instant::now()));
    let mut shell = Shell {
        shared,
        client,
        buf: ReadBuf::new(),
        links: Links::default(),
        timer: Timer::default(),
        tally: Tally::default(),
        stats: Stats::default(),
        filled: None,
    };
    let handover = shell.run(&mut session).await;
    drop(session);
    let Shell {
        shared,
        client,
        mut links,
        ..
    } = shell;
    match handover {
        Some(Action::Tunnel {
            host,
            port,
            leftover,
        }) => {
            links.close_all();
            if shared.tls.is_some() && client.protocol == Protocol::Http {
                let intercept = super::intercept::intercept(
                    shared.clone(),
                    client.reader,
                    client.writer,
                    &client.source,
                    &host,
                    port,
                    leftover,
                );
                return Box::pin(intercept).await;
            }
            tunnel::open(
                shared,
                client.reader,
                client.writer,
                &client.source,
                &host,
                port,
                leftover,
            )
            .await;
        }
        Some(Action::Upgrade(up)) => {
            let Some(link) = links.take(up.link) else {
                return;
            };
            links.close_all();
            upgrade::relay(
                &shared,
                (
                    client.reader,
                    client.writer,
                    &client.source,
                    client.protocol,
                ),
                (link.reader, link.writer),
                &up,
            )
            .await;
            let _ = link.socket.shutdown(std::net::Shutdown::Both);
        }
        Some(Action::Abort) => {
            // Dropped, not closed: the TCP connection ends without a TLS close_notify, or with
            // a reset once the client has what was sent (a FIN would end a body delimited by
            // the close as if it were whole).
            links.close_all();
            if let Some(socket) = &client.socket {
                super::reset::reset_when_delivered(socket).await;
            }
        }
        _ => {
            links.close_all();
            let mut w = client.writer;
            let _ = w.close().await;
        }
    }
}

struct Shell {
    shared: Arc<Shared>,
    client: Client,
    buf: ReadBuf,
    links: Links,
    timer: Timer,
    /// What of the session's counters was added to the process counters.
    tally: Tally,
    stats: Stats,
    /// The link read last and how many bytes it gave (its buffer grows after the actions).
    filled: Option<(LinkId, usize)>,
}

impl Shell {
    /// Runs the session until it ends; returns the handover or the abort, if any.
    async fn run(&mut self, session: &mut Session) -> Option<Action> {
        loop {
            while let Some(action) = session.poll_action() {
                match self.act(session, action).await {
                    Next::Go => {}
                    Next::End => {
                        self.record(session);
                        return None;
                    }
                    Next::Abort => {
                        self.record(session);
                        return Some(Action::Abort);
                    }
                    Next::Handover(action) => {
                        self.record(session);
                        return Some(action);
                    }
                }
            }
            if let Some((id, n)) = self.filled.take() {
                if let Some(io) = self.links.get_mut(id) {
                    io.buf.grow_if_full(n);
                }
            }
            self.record(session);
            if session.client_state() == &session::ClientState::Idle && !busy(session) {
                // Nothing outstanding: give back the large buffers, the shell's and the
                // inspectors'.
                self.buf.shrink();
                self.links.shrink();
                session.shed(&self.shared.registry);
            }
            let wake = links::wait(
                session,
                &mut self.client.reader,
                &mut self.buf,
                &mut self.links,
                &mut self.timer,
            )
            .await;
            let now = Instant::now();
            let registry = &self.shared.registry;
            match wake {
                Wake::Client(Ok(0)) => session.handle_client_eof(registry, now),
                Wake::Client(Ok(n)) => {
                    add(&self.shared.counters.bytes_from_clients, n as u64);
                    session.handle_client(registry, self.buf.filled(n), now);
                    self.buf.grow_if_full(n);
                }
                // A TLS client's FIN without close_notify: requests carry their own framing,
                // so this is a half-close like a plain client's FIN (a request it cut is
                // incomplete either way), and the responses still due go out.
                Wake::Client(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    session.handle_client_eof(registry, now)
                }
                Wake::Client(Err(_)) => return None,
                Wake::Link(id, Ok(0)) => session.handle_upstream_eof(registry, id, now),
                Wake::Link(id, Ok(n)) => {
                    if let Some(io) = self.links.get_mut(id) {
                        session.handle_upstream(registry, id, io.buf.filled(n), now);
                        // Relay actions point into this buffer: it grows once they are done.
                        self.filled = Some((id, n));
                    }
                }
                Wake::Link(id, Err(e)) => session.handle_link_failed(id, &e.to_string()),
                Wake::Timer => session.handle_timeout(registry, now),
            }
        }
    }

    async fn act(&mut self, session: &mut Session, action: Action) -> Next {
        let registry = &self.shared.registry;
        match action {
            Action::Connect { link, host, port } => {
                // Boxed: connecting (TCP, parent proxy, TLS to the origin) needs a large future
                // only while it runs, not in every connection's task for its whole life.
                let open = Box::pin(links::open(&self.shared, self.client.protocol, &host, port));
                match open.await {
                    Ok(io) => {
                        self.links.insert(link, io);
                        session.handle_connected(registry, link, Instant::now());
                    }
                    Err(failure) => {
                        session.handle_connect_failed(registry, link, failure, Instant::now())
                    }
                }
            }
            Action::WriteClient(bytes) => {
                if !self.write_client(&bytes).await {
                    return Next::End;
                }
            }
            Action::RelayUpstream { link, range } => {
                let Some(io) = self.links.get_mut(link) else {
                    return Next::End;
                };
                let bytes = &io.buf.filled(range.end)[range];
                if !write_client(&self.shared, &mut self.client.writer, bytes).await {
                    return Next::End;
                }
            }
            Action::Respond {
                status,
                reason,
                text,
            } => {
                if !self
                    .write_client(&rewrite::synthetic(status, reason, &text))
                    .await
                {
                    return Next::End;
                }
            }
            Action::WriteUpstream { link, bytes } => {
                let idle = self.shared.config.timeouts.idle;
                let written = match self.links.get_mut(link) {
                    Some(io) => write_flush_within(&mut io.writer, &bytes, idle).await,
                    None => Ok(()),
                };
                if let Err(e) = written {
                    session.handle_link_failed(link, &e.to_string());
                }
            }
            Action::CloseLink(link) => self.links.close(link),
            Action::Log(line) => self.shared.log.line(&line),
            Action::Close => return Next::End,
            Action::Abort => return Next::Abort,
            handover @ (Action::Tunnel { .. } | Action::Upgrade(_)) => {
                return Next::Handover(handover)
            }
        }
        Next::Go
    }

    /// Writes to the client and flushes; `false` when the client is gone.
    async fn write_client(&mut self, bytes: &[u8]) -> bool {
        write_client(&self.shared, &mut self.client.writer, bytes).await
    }

    /// Findings to the log, the session's counters to the process counters.
    fn record(&mut self, session: &mut Session) {
        while let Some(d) = session.poll_detection() {
            self.shared.findings.record(
                d,
                self.client.protocol,
                &self.client.source,
                SystemTime::now(),
            );
        }
        let c = &self.shared.counters;
        let now = *session.tally();
        if now != self.tally {
            add(&c.requests, now.requests - self.tally.requests);
            add(&c.responses, now.responses - self.tally.responses);
            add(&c.timeouts, now.timeouts - self.tally.timeouts);
            add(
                &c.upstream_errors,
                now.upstream_errors - self.tally.upstream_errors,
            );
            add(
                &c.framing_errors,
                now.framing_errors - self.tally.framing_errors,
            );
            self.tally = now;
        }
        let stats = session.stats();
        if stats != self.stats {
            super::absorb_stats(c, &self.stats, &stats);
            self.stats = stats;
        }
    }
}

/// Writes to the client and flushes; `false` when the client is gone or took nothing for the
/// idle timeout (a slow reader that keeps reading is never cut off). Giving up is logged and
/// counted: a response cut short must leave a trace.
async fn write_client(shared: &Shared, writer: &mut BoxWrite, bytes: &[u8]) -> bool {
    let idle = shared.config.timeouts.idle;
    match write_flush_within(writer, bytes, idle).await {
        Ok(()) => {
            add(&shared.counters.bytes_to_clients, bytes.len() as u64);
            true
        }
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
            add(&shared.counters.timeouts, 1);
            shared.log.line(&format!(
                "client took no bytes for {} (idle timeout), closing",
                humantime::format_duration(idle)
            ));
            false
        }
        Err(_) => false,
    }
}

/// Whether a request is outstanding on any link.
fn busy(session: &Session) -> bool {
    session.readable_links().any(|id| {
        !matches!(
            session.link_state(id),
            Some(session::LinkState::Idle) | None
        )
    })
}

/// Writes `bytes` and flushes them: every write ends a piece of a message, and a TLS writer
/// would otherwise keep the tail of it until its next write.
pub async fn write_flush<W>(w: &mut W, bytes: &[u8]) -> std::io::Result<()>
where
    W: futures_lite::AsyncWrite + Unpin + ?Sized,
{
    w.write_all(bytes).await?;
    w.flush().await
}

/// [`write_flush`], failing with `TimedOut` only when the peer takes nothing for `limit`: the
/// clock restarts with every write the peer accepts part of, so a reader that drains a large
/// body slowly but steadily gets all of it. Each write offers everything left: the socket takes
/// what fits (16 KiB steps cost a 256 MiB download 16 sends per read and 12% of its speed).
pub async fn write_flush_within<W>(
    w: &mut W,
    mut bytes: &[u8],
    limit: std::time::Duration,
) -> std::io::Result<()>
where
    W: futures_lite::AsyncWrite + Unpin + ?Sized,
{
    // A write or flush that is done at the first poll gets no timer, as most writes to a
    // socket with room are (building a timer, a clock read, for each was ~2% of the
    // samples of serving small keep-alive requests). Both futures are cancel-safe:
    // one that was pending has written nothing, so it is made again for the timed wait.
    use futures_lite::future::poll_once;
    while !bytes.is_empty() {
        let written = match poll_once(w.write(bytes)).await {
            Some(done) => done,
            None => runtime::timeout(limit, w.write(bytes)).await,
        };
        match written? {
            0 => return Err(std::io::ErrorKind::WriteZero.into()),
            n => bytes = &bytes[n..],
        }
    }
    match poll_once(w.flush()).await {
        Some(done) => done,
        None => runtime::timeout(limit, w.flush()).await,
    }
}

#[cfg(test)]
mod tests {
    /// The size of the future `f` returns, without calling it.
    fn future_size<F, A, B, R>(_: F) -> usize
    where
        F: Fn(A, B) -> R,
    {
        std::mem::size_of::<R>()
    }

    /// A writer that takes at most `take` bytes a call and records what each call offered.
    struct Recorder {
        offered: Vec<usize>,
        take: usize,
    }

    impl futures_lite::AsyncWrite for Recorder {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            self.offered.push(buf.len());
            std::task::Poll::Ready(Ok(buf.len().min(self.take)))
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_close(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn each_write_offers_everything_left() {
        // 16 KiB steps made a 256 MiB download 16 sends per 256 KiB read (0.48 of direct
        // against 0.64 offering the whole piece, README Performance).
        let mut w = Recorder {
            offered: Vec::new(),
            take: 96 * 1024,
        };
        let body = vec![b'x'; 256 * 1024];
        let limit = std::time::Duration::from_secs(5);
        crate::runtime::block_on(super::write_flush_within(&mut w, &body, limit)).expect("written");
        assert_eq!(w.offered, [256 * 1024, 160 * 1024, 64 * 1024]);
    }

    /// A writer whose every other poll is `Pending` (waking itself at once), or every poll
    /// when `stuck` (waking nobody: only a timer ends the wait); what it accepted, in order.
    struct Hesitant {
        accepted: Vec<u8>,
        ready: bool,
        stuck: bool,
    }

    impl Hesitant {
        fn poll(&mut self, cx: &mut std::task::Context<'_>) -> bool {
            self.ready = !self.ready && !self.stuck;
            if !self.ready && !self.stuck {
                cx.waker().wake_by_ref();
            }
            self.ready
        }
    }

    impl futures_lite::AsyncWrite for Hesitant {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            if !self.poll(cx) {
                return std::task::Poll::Pending;
            }
            let n = buf.len().min(5);
            self.accepted.extend_from_slice(&buf[..n]);
            std::task::Poll::Ready(Ok(n))
        }
        fn poll_flush(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            if self.poll(cx) {
                std::task::Poll::Ready(Ok(()))
            } else {
                std::task::Poll::Pending
            }
        }
        fn poll_close(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn a_write_that_waits_is_made_again_and_delivers_every_byte_once() {
        // Writes done at the first poll go without a timer; the others are made again under
        // one. Pending writes and flushes at every other poll, five bytes a write.
        for first_ready in [false, true] {
            let mut w = Hesitant {
                accepted: Vec::new(),
                ready: !first_ready,
                stuck: false,
            };
            let body: Vec<u8> = (0..=255).collect();
            let limit = std::time::Duration::from_secs(5);
            crate::runtime::block_on(super::write_flush_within(&mut w, &body, limit))
                .expect("written");
            assert_eq!(w.accepted, body);
        }
    }

    #[test]
    fn a_write_the_peer_never_takes_times_out() {
        let mut w = Hesitant {
            accepted: Vec::new(),
            ready: false,
            stuck: true,
        };
        let limit = std::time::Duration::from_millis(20);
        let e = crate::runtime::block_on(super::write_flush_within(&mut w, b"x", limit))
            .expect_err("never taken");
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
        assert!(w.accepted.is_empty());
    }

    #[test]
    fn a_connection_task_stays_small_while_it_waits() {
        // Every open client connection holds its `serve` future (the task) for its whole life:
        // 9.9 KB before the session was boxed and connecting boxed (the session counted twice,
        // the connect future's state held forever), 2.4 KB after (the boxed session is
        // ~2.7 KB more).
        let serve = future_size(super::serve);
        assert!(serve <= 4096, "serve future {serve} bytes");
    }
}
