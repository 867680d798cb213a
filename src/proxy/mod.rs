//! The forward proxy (SPEC §8), the I/O shell around `guardian_parser::session`: accept loop,
//! the per-connection loop (`connection`), upstream sockets and waiting (`links`), connecting
//! (`upstream`), HTTPS interception glue (`intercept`: TLS towards the client and the origin,
//! built from `tls`), blind tunnels (`tunnel`) and the upgrade relay (`upgrade`). The async
//! runtime is confined to `crate::runtime`.

pub mod connection;
pub mod intercept;
pub mod links;
pub mod reset;
pub mod tunnel;
pub mod upgrade;
pub mod upstream;
pub mod websocket;

/// The runtime moved to [`crate::runtime`]; this path stays for existing callers.
pub use crate::runtime;

/// The counters moved to [`crate::counters`]; this path stays for existing callers.
pub use crate::counters;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use guardian_parser::finding::Protocol;
use guardian_parser::inspect::Stats;
use guardian_parser::scan::Registry;

use crate::config::Config;
use crate::counters::{add, dec, Counters};
use crate::report::findings::FindingSink;
use crate::report::log::Log;
use crate::runtime::TcpListener;

/// A boxed reader half of a connection.
pub type BoxRead = Box<dyn futures_lite::AsyncRead + Send + Sync + Unpin>;
/// A boxed writer half of a connection.
pub type BoxWrite = Box<dyn futures_lite::AsyncWrite + Send + Sync + Unpin>;

/// Bytes read per socket read while data streams.
pub use links::READ_BUF;

/// What every connection shares.
pub struct Shared {
    /// Effective configuration.
    pub config: Config,
    /// Compiled rules.
    pub registry: Registry,
    /// Counters for `status`.
    pub counters: Arc<Counters>,
    /// Findings log.
    pub findings: FindingSink,
    /// Diagnostics.
    pub log: Arc<Log>,
    /// HTTPS interception, when `https_inspection` is on.
    pub tls: Option<Arc<crate::tls::Interceptor>>,
}

impl Shared {
    /// Waits (up to `limit`) until no client connection is open, so that findings of messages
    /// that just completed are recorded before the findings log is closed.
    pub fn quiesce(&self, limit: Duration) {
        let start = std::time::Instant::now();
        while self
            .counters
            .active_connections
            .load(std::sync::atomic::Ordering::Acquire)
            > 0
            && start.elapsed() < limit
        {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Adds the growth of an inspector's statistics to the process counters.
pub fn absorb_stats(c: &Counters, before: &Stats, now: &Stats) {
    add(
        &c.scan_truncated,
        now.scan_truncated - before.scan_truncated,
    );
    add(
        &c.unscanned_bytes,
        now.unscanned_bytes - before.unscanned_bytes,
    );
    add(
        &c.unknown_encodings,
        now.unknown_encodings - before.unknown_encodings,
    );
    add(&c.decode_errors, now.decode_errors - before.decode_errors);
}

/// Accepts clients until the listener fails for good.
pub async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let (stream, peer): (runtime::TcpStream, SocketAddr) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: log, back off, keep serving.
                shared.log.line(&format!("accept failed: {e}"));
                runtime::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if !shared.config.allows(peer.ip()) {
            add(&shared.counters.refused_clients, 1);
            shared.log.line(&format!(
                "refused client {} (not in allow_clients)",
                peer.ip()
            ));
            drop(stream);
            continue;
        }
        add(&shared.counters.connections, 1);
        add(&shared.counters.active_connections, 1);
        let shared = shared.clone();
        runtime::spawn(async move {
            let client = connection::Client {
                reader: Box::new(stream.clone()),
                writer: Box::new(stream.clone()),
                socket: Some(stream),
                source: peer.ip().to_string(),
                protocol: Protocol::Http,
                origin: None,
            };
            connection::serve(shared.clone(), client).await;
            dec(&shared.counters.active_connections);
        });
    }
}
