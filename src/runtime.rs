//! Every async-std and async-io call of Guardian lives here (async-std is deprecated upstream
//! in favour of smol; switching runtime means rewriting this file). Sockets are async-io's
//! (async-std's own reactor) under Guardian's [`TcpStream`], which reads by readiness. The rest
//! of the proxy sees `futures-io` traits and these functions.

use std::future::Future;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use async_io::Async;
use futures_lite::{AsyncRead, AsyncWrite};

pub use async_std::task::JoinHandle;

/// Sizes the executor before its first use: one worker thread, unless `ASYNC_STD_THREAD_COUNT`
/// names another number. Guardian shares the cores with the agent it watches and that agent's
/// origins; with a worker per core, every wake-up crossed threads, and on this project's 2-core
/// machine one worker relayed more (README, Performance: keep-alive requests and intercepted
/// TLS, both workers' figures side by side).
///
/// The body runs once: `spawn` is called per connection, and the configuration allocates.
fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        async_global_executor::init_with_config(
            async_global_executor::GlobalExecutorConfig::default()
                .with_env_var("ASYNC_STD_THREAD_COUNT")
                .with_min_threads(1)
                .with_thread_name_fn(|| "async-std/runtime".to_string()),
        )
    });
}

/// Spawns a task.
pub fn spawn<F, T>(future: F) -> JoinHandle<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    init();
    async_std::task::spawn(future)
}

/// Runs a future to completion on the current thread (the entry point of the runtime).
pub fn block_on<F: Future>(future: F) -> F::Output {
    init();
    async_std::task::block_on(future)
}

/// Fails with `TimedOut` if `future` does not finish within `limit`.
pub async fn timeout<T>(
    limit: Duration,
    future: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    async_std::io::timeout(limit, future).await
}

/// Sleeps.
pub async fn sleep(d: Duration) {
    async_std::task::sleep(d).await
}

/// Binds a listener.
pub async fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    Ok(TcpListener(Async::<std::net::TcpListener>::bind(addr)?))
}

/// Connects to `host:port` within `limit`: the names the runtime's resolver gives, in order,
/// until one connects (the last failure otherwise). `TCP_NODELAY` is on.
pub async fn connect(host: &str, port: u16, limit: Duration) -> io::Result<TcpStream> {
    timeout(limit, async {
        let mut last = None;
        for addr in async_std::net::ToSocketAddrs::to_socket_addrs(&(host, port)).await? {
            match Async::<std::net::TcpStream>::connect(addr).await {
                Ok(io) => return Ok(TcpStream::new(io)),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no addresses to connect to")
        }))
    })
    .await
}

/// Connects to an address within `limit`; `TCP_NODELAY` is on.
pub async fn connect_addr(addr: SocketAddr, limit: Duration) -> io::Result<TcpStream> {
    let io = timeout(limit, Async::<std::net::TcpStream>::connect(addr)).await?;
    Ok(TcpStream::new(io))
}

/// A TCP connection on the runtime's reactor; clones are handles of the same socket (one
/// reads, one writes).
///
/// Reads go by readiness: after a read that left the socket empty (it returned less than
/// asked, or would block), the next read waits for the reactor's word that bytes came instead
/// of asking the socket first. A connection loop that waits on the client and its links at
/// once re-polls every one of them at each wake-up, and async-std's stream asked the socket
/// each time: a keep-alive request cost 7.8 `recv`s, 5.8 of them empty (README, Performance
/// "Proxy, 2026-12-03, evening"). A socket that has bytes when its interest is (re-)armed is reported at once by
/// the reactor (epoll checks the level on arming), so nothing that arrives is missed.
#[derive(Clone)]
pub struct TcpStream {
    io: Arc<Async<std::net::TcpStream>>,
    /// The last read through this handle left the socket empty.
    drained: bool,
}

impl TcpStream {
    /// With `TCP_NODELAY` on: every write ends a piece of a message. Best effort: a socket
    /// that refuses it still relays.
    fn new(io: Async<std::net::TcpStream>) -> Self {
        let _ = io.get_ref().set_nodelay(true);
        TcpStream {
            io: Arc::new(io),
            drained: false,
        }
    }

    /// Shuts down one or both directions.
    pub fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }
}

impl std::os::fd::AsFd for TcpStream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl std::os::fd::AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            if this.drained {
                ready!(this.io.poll_readable(cx))?;
            }
            match this.io.get_ref().read(buf) {
                Ok(n) => {
                    this.drained = n < buf.len();
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => this.drained = true,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.io).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.io).poll_write_vectored(cx, bufs)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self.io).poll_flush(cx)
    }
    /// Flushes, as async-std's stream did: the FIN goes with the last handle, or `shutdown`.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self.io).poll_close(cx)
    }
}

/// A TCP listener on the runtime's reactor.
pub struct TcpListener(Async<std::net::TcpListener>);

impl TcpListener {
    /// The next client and its address.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (io, peer) = self.0.accept().await?;
        Ok((TcpStream::new(io), peer))
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().local_addr()
    }
}

pub use async_std::channel::{bounded, Receiver, Sender};
pub use async_std::sync::Mutex;

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::{AsyncReadExt, AsyncWriteExt};

    /// A connected pair on loopback: (the accepted side, the connecting side).
    async fn pair() -> (TcpStream, TcpStream) {
        let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let limit = Duration::from_secs(5);
        let (connected, accepted) =
            futures_lite::future::zip(connect_addr(addr, limit), async { listener.accept().await })
                .await;
        (accepted.expect("accept").0, connected.expect("connect"))
    }

    /// Reads once, failing the test if nothing comes within five seconds.
    async fn read_some(r: &mut TcpStream, buf: &mut [u8]) -> usize {
        timeout(Duration::from_secs(5), r.read(buf))
            .await
            .expect("a read that returns")
    }

    #[test]
    fn reads_after_a_read_that_drained_the_socket_still_see_every_byte() {
        block_on(async {
            let (mut a, mut b) = pair().await;
            let mut buf = [0u8; 64];
            // A short read (the socket is empty after it), then bytes that were already there
            // when the next read starts: the reactor must report them without a fresh event
            // having been awaited first.
            b.write_all(b"first").await.expect("write");
            let n = read_some(&mut a, &mut buf).await;
            assert_eq!(&buf[..n], b"first");
            b.write_all(b"second").await.expect("write");
            b.flush().await.expect("flush");
            let mut got = Vec::new();
            while got.len() < 6 {
                let n = read_some(&mut a, &mut buf).await;
                got.extend_from_slice(&buf[..n]);
            }
            assert_eq!(got, b"second");
            // Reads that fill the buffer are followed by reads that get the rest.
            b.write_all(&[7u8; 100]).await.expect("write");
            let mut small = [0u8; 10];
            let mut total = 0;
            while total < 100 {
                total += read_some(&mut a, &mut small).await;
            }
            assert_eq!(total, 100);
            // The peer's close after a drained read is an end of stream, not a hang.
            b.shutdown(std::net::Shutdown::Write).expect("shutdown");
            assert_eq!(read_some(&mut a, &mut buf).await, 0);
        });
    }

    #[test]
    fn a_drained_read_waits_for_the_next_bytes() {
        block_on(async {
            let (mut a, mut b) = pair().await;
            let mut buf = [0u8; 64];
            b.write_all(b"x").await.expect("write");
            assert_eq!(read_some(&mut a, &mut buf).await, 1);
            // Nothing more yet: the read (polled first) is pending until the writer sends.
            let reader = async { read_some(&mut a, &mut buf).await };
            let writer = async { b.write_all(b"later").await.expect("write") };
            let (n, ()) = futures_lite::future::zip(reader, writer).await;
            assert_eq!(n, 5);
        });
    }
}
