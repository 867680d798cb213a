//! The shell's side of upstream links and of waiting: the sockets behind the session's
//! [`LinkId`]s, opening them (plain, through the parent proxy, or TLS to the origin), and one
//! wait over the client, every readable link and the session's next timeout.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_lite::AsyncRead;
use guardian_parser::finding::Protocol;
use guardian_parser::session::{ConnectFailure, LinkId, Session};

use super::{upstream, BoxRead, BoxWrite, Shared};
use crate::counters::add;
use crate::runtime::{self, TcpStream};

/// The largest read buffer of a blind tunnel direction (reached while data streams).
pub const READ_BUF: usize = 64 * 1024;
/// The largest read buffer of a connection, reached while a large body streams (fewer reads
/// and wake-ups per byte; given back when the connection goes idle). One read then drains what
/// a fast link has queued in one wake-up: a 256 MiB loopback download ran at 0.47 of direct
/// nginx with 256 KiB, 0.62 with 1 MiB, no better with 4 MiB (2026-12-04, 2-core AMD EPYC).
pub const STREAM_BUF: usize = 1024 * 1024;
/// Bytes read per read while a connection waits (buffers shrink back to this when idle): a
/// typical request head fits, and an idle link has nothing to say (a byte from it closes it).
pub const IDLE_BUF: usize = 1024;
/// The step below [`STREAM_BUF`], where a buffer stops while [`STREAM_BUFFERS`] are taken.
const CAPPED_BUF: usize = STREAM_BUF / 4;
/// Buffers of [`STREAM_BUF`] held at once by all connections together (32 MiB): a burst of
/// large downloads does not hold a MiB each.
const STREAM_BUFFERS: usize = 32;

/// How many read buffers hold [`STREAM_BUF`] bytes.
struct Slots {
    taken: AtomicUsize,
    max: usize,
}

impl Slots {
    fn take(&self) -> bool {
        self.taken
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .is_ok()
    }

    fn give_back(&self) {
        self.taken.fetch_sub(1, Ordering::AcqRel);
    }
}

static SLOTS: Slots = Slots {
    taken: AtomicUsize::new(0),
    max: STREAM_BUFFERS,
};

/// A read buffer that grows while data streams and shrinks when the connection is idle.
pub struct ReadBuf {
    bytes: Vec<u8>,
    /// The slot it holds while it is [`STREAM_BUF`] bytes long.
    slot: Option<&'static Slots>,
}

impl ReadBuf {
    /// A small buffer.
    pub fn new() -> Self {
        ReadBuf {
            bytes: vec![0; IDLE_BUF],
            slot: None,
        }
    }

    /// Resizes to `size`, taking a slot of `slots` for [`STREAM_BUF`] (or stopping at
    /// [`CAPPED_BUF`] when none is free) and giving one back below it.
    fn resize(&mut self, size: usize, slots: &'static Slots) {
        let size = match (size >= STREAM_BUF, self.slot) {
            (true, Some(_)) => return,
            (true, None) if slots.take() => {
                self.slot = Some(slots);
                STREAM_BUF
            }
            (true, None) => CAPPED_BUF,
            (false, held) => {
                if let Some(slots) = held {
                    slots.give_back();
                }
                self.slot = None;
                size
            }
        };
        if size != self.bytes.len() {
            self.bytes = vec![0; size];
        }
    }

    /// The bytes to read into.
    pub fn space(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// The first `n` bytes read.
    pub fn filled(&self, n: usize) -> &[u8] {
        &self.bytes[..n]
    }

    /// A read filled the buffer: the next one gets one four times the size, up to
    /// [`STREAM_BUF`] (a message of a few KiB never holds the largest one).
    pub fn grow_if_full(&mut self, n: usize) {
        self.grow_if_full_in(n, &SLOTS);
    }

    fn grow_if_full_in(&mut self, n: usize, slots: &'static Slots) {
        if n == self.bytes.len() && n < STREAM_BUF {
            self.resize((n * 4).min(STREAM_BUF), slots);
        }
    }

    /// Sizes the buffer to what is in flight, after a read of `n` bytes, for a relay that
    /// cannot tell when it goes idle (a blind tunnel: its next read may wait for minutes): a
    /// full read grows it four-fold up to `max`; a read that used at most a sixteenth of it
    /// shrinks it to the smallest size of the ladder (`IDLE_BUF` × 4ᵏ) that would have held
    /// that read, so a tunnel that went quiet after a burst waits with a small buffer.
    pub fn fit(&mut self, n: usize, max: usize) {
        let len = self.bytes.len();
        if n == len && len < max {
            self.resize((len * 4).min(max), &SLOTS);
        } else if len > IDLE_BUF && n <= len / 16 {
            let mut size = IDLE_BUF;
            while size < n {
                size *= 4;
            }
            self.resize(size, &SLOTS);
        }
    }

    /// Back to the small size (the connection went idle).
    pub fn shrink(&mut self) {
        if self.bytes.len() > IDLE_BUF {
            self.resize(IDLE_BUF, &SLOTS);
        }
    }
}

impl Drop for ReadBuf {
    fn drop(&mut self) {
        if let Some(slots) = self.slot.take() {
            slots.give_back();
        }
    }
}

impl Default for ReadBuf {
    fn default() -> Self {
        Self::new()
    }
}

/// One open upstream link.
pub struct LinkIo {
    /// Link → Guardian.
    pub reader: BoxRead,
    /// Guardian → link.
    pub writer: BoxWrite,
    /// The TCP socket under both, to close the link at once.
    pub socket: TcpStream,
    /// Its read buffer.
    pub buf: ReadBuf,
}

/// Every open link of one client connection.
#[derive(Default)]
pub struct Links(HashMap<LinkId, LinkIo>);

impl Links {
    /// Adds an opened link.
    pub fn insert(&mut self, id: LinkId, io: LinkIo) {
        self.0.insert(id, io);
    }

    /// The link, if open.
    pub fn get_mut(&mut self, id: LinkId) -> Option<&mut LinkIo> {
        self.0.get_mut(&id)
    }

    /// Takes a link out (for an upgrade relay).
    pub fn take(&mut self, id: LinkId) -> Option<LinkIo> {
        self.0.remove(&id)
    }

    /// Closes a link now.
    pub fn close(&mut self, id: LinkId) {
        if let Some(io) = self.0.remove(&id) {
            let _ = io.socket.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Closes every link.
    pub fn close_all(&mut self) {
        for (_, io) in self.0.drain() {
            let _ = io.socket.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Shrinks every link's buffer (the connection is idle).
    pub fn shrink(&mut self) {
        for io in self.0.values_mut() {
            io.buf.shrink();
        }
    }
}

/// Opens a link for requests to `host:port`: TLS to the origin inside an intercepted tunnel,
/// else TCP to the origin or the parent proxy. Failures are counted and logged here.
pub async fn open(
    shared: &Shared,
    protocol: Protocol,
    host: &str,
    port: u16,
) -> Result<LinkIo, ConnectFailure> {
    if protocol == Protocol::Https {
        return match super::intercept::connect_origin(shared, host, port).await {
            Ok((reader, writer, socket)) => Ok(LinkIo {
                reader,
                writer,
                socket,
                buf: ReadBuf::new(),
            }),
            Err(reason) => {
                add(&shared.counters.tls_upstream_failures, 1);
                shared.log.line(&reason);
                Err(ConnectFailure {
                    status: 502,
                    reason: "Bad Gateway",
                    text: reason,
                })
            }
        };
    }
    match upstream::connect(shared, host, port).await {
        Ok(stream) => Ok(LinkIo {
            reader: Box::new(stream.clone()),
            writer: Box::new(stream.clone()),
            socket: stream,
            buf: ReadBuf::new(),
        }),
        Err(e) => {
            e.count(&shared.counters);
            shared.log.line(&e.to_string());
            let (status, reason) = e.status();
            Err(ConnectFailure {
                status,
                reason,
                text: e.to_string(),
            })
        }
    }
}

/// What ended a wait.
pub enum Wake {
    /// The client read returned.
    Client(std::io::Result<usize>),
    /// A link read returned.
    Link(LinkId, std::io::Result<usize>),
    /// The session's timeout is due.
    Timer,
}

/// The timer of one connection, kept while the session's deadline does not move earlier (a
/// timer that fires early costs one `handle_timeout` that does nothing).
#[derive(Default)]
pub struct Timer {
    armed: Option<(Instant, Sleep)>,
}

/// A pending sleep of the runtime.
type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

impl Timer {
    fn arm(&mut self, deadline: Option<Instant>) {
        let Some(deadline) = deadline else {
            self.armed = None;
            return;
        };
        if self.armed.as_ref().is_some_and(|(at, _)| *at <= deadline) {
            return;
        }
        let wait = deadline.saturating_duration_since(Instant::now()) + Duration::from_millis(1);
        self.armed = Some((deadline, Box::pin(runtime::sleep(wait))));
    }
}

/// Waits until the client (if the session wants its bytes), a readable link, or the timer is
/// ready.
pub async fn wait(
    session: &Session,
    client: &mut BoxRead,
    client_buf: &mut ReadBuf,
    links: &mut Links,
    timer: &mut Timer,
) -> Wake {
    timer.arm(session.poll_timeout());
    let want_client = session.wants_client();
    futures_lite::future::poll_fn(|cx| {
        if want_client {
            if let Poll::Ready(r) = Pin::new(&mut *client).poll_read(cx, client_buf.space()) {
                return Poll::Ready(Wake::Client(r));
            }
        }
        for id in session.readable_links() {
            if let Some(io) = links.0.get_mut(&id) {
                if let Poll::Ready(r) = Pin::new(&mut io.reader).poll_read(cx, io.buf.space()) {
                    return Poll::Ready(Wake::Link(id, r));
                }
            }
        }
        if let Some((_, sleep)) = &mut timer.armed {
            if sleep.as_mut().poll(cx).is_ready() {
                timer.armed = None;
                return Poll::Ready(Wake::Timer);
            }
        }
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_so_many_buffers_hold_the_largest_size() {
        static TWO: Slots = Slots {
            taken: AtomicUsize::new(0),
            max: 2,
        };
        let grown = || {
            let mut buf = ReadBuf::new();
            while buf.space().len() < CAPPED_BUF {
                let full = buf.space().len();
                buf.grow_if_full_in(full, &TWO);
            }
            let full = buf.space().len();
            buf.grow_if_full_in(full, &TWO);
            buf
        };
        let (a, mut b) = (grown(), grown());
        assert_eq!((a.space_len(), b.space_len()), (STREAM_BUF, STREAM_BUF));
        let mut c = grown();
        assert_eq!(c.space_len(), CAPPED_BUF, "no slot left: one step below");
        drop(a);
        c.grow_if_full_in(CAPPED_BUF, &TWO);
        assert_eq!(
            c.space_len(),
            STREAM_BUF,
            "a dropped buffer gave its slot back"
        );
        b.resize(IDLE_BUF, &TWO);
        assert_eq!(TWO.taken.load(Ordering::Acquire), 1, "a shrunk one too");
        drop(c);
        assert_eq!(TWO.taken.load(Ordering::Acquire), 0);
    }

    impl ReadBuf {
        fn space_len(&self) -> usize {
            self.bytes.len()
        }
    }

    #[test]
    fn a_read_buffer_grows_with_full_reads_and_shrinks_when_idle() {
        static ANY: Slots = Slots {
            taken: AtomicUsize::new(0),
            max: usize::MAX,
        };
        let mut buf = ReadBuf::new();
        assert_eq!(buf.space().len(), IDLE_BUF);
        buf.grow_if_full_in(IDLE_BUF - 1, &ANY);
        assert_eq!(buf.space().len(), IDLE_BUF, "a read that did not fill it");
        let mut size = IDLE_BUF;
        for _ in 0..8 {
            let full = buf.space().len();
            buf.grow_if_full_in(full, &ANY);
            size = (size * 4).min(STREAM_BUF);
            assert_eq!(
                buf.space().len(),
                size,
                "four times the size of the full one"
            );
        }
        assert_eq!(size, STREAM_BUF, "up to the largest");
        buf.shrink();
        assert_eq!(buf.space().len(), IDLE_BUF);
    }

    #[test]
    fn a_tunnel_buffer_follows_what_is_in_flight() {
        let mut buf = ReadBuf::new();
        let mut sizes = Vec::new();
        // A burst of full reads, then a read of 3 KiB, then of 40 bytes (the tunnel went
        // quiet), then a full read again.
        for _ in 0..4 {
            let full = buf.space().len();
            buf.fit(full, READ_BUF);
            sizes.push(buf.space().len());
        }
        buf.fit(3 * 1024, READ_BUF);
        sizes.push(buf.space().len());
        buf.fit(40, READ_BUF);
        sizes.push(buf.space().len());
        buf.fit(IDLE_BUF, READ_BUF);
        sizes.push(buf.space().len());
        let k = 1024;
        assert_eq!(sizes, [4 * k, 16 * k, 64 * k, 64 * k, 4 * k, k, 4 * k]);
        // A read of more than a sixteenth keeps the size (no reallocation per read while data
        // flows in pieces).
        let mut buf = ReadBuf::new();
        buf.fit(IDLE_BUF, READ_BUF);
        buf.fit(4 * k, READ_BUF);
        buf.fit(16 * k, READ_BUF);
        buf.fit(5 * k, READ_BUF);
        assert_eq!(buf.space().len(), 64 * k);
    }
}
