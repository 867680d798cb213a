//! Counters kept for `status` (SPEC §3, §6): plain atomics, read as a JSON snapshot.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Process-wide counters of the proxy.
        #[derive(Debug, Default)]
        pub struct Counters {
            $($(#[$doc])* pub $name: AtomicU64,)*
        }

        impl Counters {
            /// All counters as a JSON object.
            pub fn snapshot(&self) -> Value {
                // A map, not `json!`: the macro's recursion grows with the number of counters.
                let mut map = serde_json::Map::new();
                $(map.insert(stringify!($name).into(), self.$name.load(Ordering::Relaxed).into());)*
                Value::Object(map)
            }
        }
    };
}

counters! {
    /// Client connections accepted.
    connections,
    /// Client connections open now.
    active_connections,
    /// Clients refused by `allow_clients`.
    refused_clients,
    /// Requests forwarded.
    requests,
    /// Responses relayed.
    responses,
    /// Bytes read from clients.
    bytes_from_clients,
    /// Bytes written to clients.
    bytes_to_clients,
    /// CONNECT tunnels opened.
    tunnels,
    /// Bytes relayed through tunnels (both ways).
    tunnel_bytes,
    /// Findings written to the log.
    findings,
    /// Findings not written again because of dedup.
    deduplicated,
    /// Messages whose scan stopped at max_scan_bytes.
    scan_truncated,
    /// Body bytes forwarded without being scanned.
    unscanned_bytes,
    /// Bodies with an unknown content coding (scanned as identity).
    unknown_encodings,
    /// Bodies with corrupt compressed data.
    decode_errors,
    /// Streams that were not valid HTTP/1.1 (400 or closed).
    framing_errors,
    /// Upstream connect/read failures (502).
    upstream_errors,
    /// Timeouts (504, header read, idle).
    timeouts,
    /// Findings that could not be written (disk full, I/O error) or were dropped (queue full).
    findings_lost,
    /// Findings handed to the writer and not yet written or lost (a gauge; 0 when the log has
    /// everything recorded so far).
    findings_pending,
    /// CONNECT tunnels intercepted (TLS terminated with a Guardian leaf).
    tls_intercepted,
    /// Clients that refused Guardian's certificate (untrusted CA, pinning).
    tls_client_rejected,
    /// Upstream TLS failures (bad certificate, wrong name): answered 502.
    tls_upstream_failures,
    /// Upgraded connections inspected as WebSocket (issue 11).
    websocket_sessions,
    /// WebSocket connections whose inspection stopped at a framing violation (still relayed).
    websocket_violations,
    /// Upgrades to another protocol, relayed blind.
    blind_upgrades,
}

/// Adds to a counter.
pub fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Subtracts one from a gauge.
pub fn dec(counter: &AtomicU64) {
    counter.fetch_sub(1, Ordering::Relaxed);
}
