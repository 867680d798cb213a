//! The control socket (`HOME_DIR/control.sock`, 0600 in the 0700 home): a running daemon answers
//! each connection with one JSON line of live counters and closes it. `status` reads counters
//! there first, so it reports current figures even when `state.json` cannot be rewritten (a full
//! disk: the atomic rewrite needs a new file); `state.json` remains the fallback. Nothing is read
//! from the peer, so there is nothing to parse or to trust.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::home::Home;
use crate::proxy::counters::Counters;

/// How long a reader or the daemon waits on one exchange.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(1);

/// The largest answer a reader accepts.
const MAX_ANSWER: u64 = 64 * 1024;

/// The socket's path.
pub fn path(home: &Home) -> PathBuf {
    home.dir.join("control.sock")
}

/// Binds the socket (replacing a stale one: the caller holds the home's lock) and answers on a
/// background thread until the process exits.
pub fn serve(home: &Home, counters: Arc<Counters>) -> std::io::Result<()> {
    let path = path(home);
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    std::thread::Builder::new()
        .name("control".into())
        .spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_write_timeout(Some(EXCHANGE_TIMEOUT));
                let mut line = counters.snapshot().to_string();
                line.push('\n');
                let _ = stream.write_all(line.as_bytes());
            }
        })?;
    Ok(())
}

/// Removes the socket (on shutdown).
pub fn remove(home: &Home) {
    let _ = std::fs::remove_file(path(home));
}

/// Live counters from the daemon of `home`, if it answers.
pub fn fetch(home: &Home) -> Option<Value> {
    fetch_at(&path(home))
}

fn fetch_at(path: &Path) -> Option<Value> {
    let stream = UnixStream::connect(path).ok()?;
    stream.set_read_timeout(Some(EXCHANGE_TIMEOUT)).ok()?;
    let mut bytes = Vec::new();
    stream.take(MAX_ANSWER).read_to_end(&mut bytes).ok()?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .filter(Value::is_object)
}

/// The counters to report for a running daemon: live over the socket, else those `state.json`
/// last recorded; with where they came from (`"live"` or `"state.json"`).
pub fn counters(home: &Home, recorded: &Value) -> (Value, &'static str) {
    match fetch(home) {
        Some(live) => (live, "live"),
        None => (recorded.clone(), "state.json"),
    }
}
