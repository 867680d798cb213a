//! Every async-std call of Guardian lives here (async-std is deprecated upstream in favour of
//! smol; switching runtime means rewriting this file). The rest of the proxy sees `futures-io`
//! traits and these functions.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

pub use async_std::net::{TcpListener, TcpStream};
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
    TcpListener::bind(addr).await
}

/// Connects to `host:port` (DNS through the runtime's resolver) within `limit`.
pub async fn connect(host: &str, port: u16, limit: Duration) -> io::Result<TcpStream> {
    let stream = timeout(limit, TcpStream::connect((host, port))).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Connects to an address within `limit`.
pub async fn connect_addr(addr: SocketAddr, limit: Duration) -> io::Result<TcpStream> {
    let stream = timeout(limit, TcpStream::connect(addr)).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

pub use async_std::channel::{bounded, Receiver, Sender};
pub use async_std::sync::Mutex;
