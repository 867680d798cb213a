//! `state.json` (SPEC §2): what a running daemon is, written atomically; read defensively (a
//! corrupt or truncated file is stale, never trusted).

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The running daemon.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Process id of `guardian serve`.
    pub pid: u32,
    /// Its start time in clock ticks since boot (`/proc/PID/stat`), to tell a reused pid.
    pub start_ticks: u64,
    /// The address it listens on.
    pub listen: String,
    /// When it started (RFC 3339, UTC).
    pub started_at: String,
    /// HOME_DIR as it was given.
    pub home: String,
    /// Digest of its effective configuration.
    pub config_sha256: String,
    /// Whether it intercepts TLS.
    pub https_inspection: bool,
    /// CA fingerprint when inspecting.
    pub ca_fingerprint_sha256: Option<String>,
    /// Counters, refreshed while running.
    pub counters: Value,
}

pub use crate::atomic::write_json_atomic;

/// What reading `state.json` found.
#[derive(Debug)]
pub enum Read {
    /// No state file.
    Missing,
    /// A well-formed state.
    State(State),
    /// Present but unreadable, corrupt or truncated.
    Corrupt(String),
}

/// Reads `state.json`.
pub fn read(path: &Path) -> Read {
    match std::fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Read::Missing,
        Err(e) => Read::Corrupt(e.to_string()),
        Ok(bytes) => match serde_json::from_slice::<State>(&bytes) {
            Ok(s) => Read::State(s),
            Err(e) => Read::Corrupt(e.to_string()),
        },
    }
}
