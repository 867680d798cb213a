//! The daemon's live counters over its control socket (`HOME/control.sock`, one JSON line per
//! connection), and waits on them with a deadline: the signals tests synchronise on instead of
//! sleeping.

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a wait on the daemon may take before the test fails.
pub const LIMIT: Duration = Duration::from_secs(20);

/// The counters the daemon of `home` reports now, if it answers.
pub fn counters(home: &Path) -> Option<Value> {
    let mut stream = UnixStream::connect(home.join("control.sock")).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).ok()?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .filter(Value::is_object)
}

/// One counter, 0 when the daemon does not answer.
pub fn counter(home: &Path, name: &str) -> u64 {
    counters(home)
        .and_then(|c| c[name].as_u64())
        .unwrap_or_default()
}

/// Polls the counters of `home` until `cond` holds (panics naming `what` after [`LIMIT`]);
/// returns the counters that satisfied it.
pub fn wait_counters(home: &Path, what: &str, cond: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + LIMIT;
    loop {
        if let Some(c) = counters(home).filter(|c| cond(c)) {
            return c;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {:?}",
            counters(home)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Lines in the file at `path` (0 when it does not exist).
pub fn lines(path: &Path) -> u64 {
    std::fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count() as u64)
        .unwrap_or_default()
}

/// Waits until the traffic so far is settled in the daemon of `home`: no client connection is
/// open, or every request it forwarded has been answered (blind tunnels stay open until their
/// idle timeout, and carry nothing to find), so every detection has been handed to the
/// findings writer; the writer has nothing pending; and `findings.jsonl` holds as many lines as
/// the writer counted written.
pub fn settle(home: &Path) {
    let log = home.join("findings.jsonl");
    wait_counters(
        home,
        "the traffic to settle and findings to be written",
        |c| {
            let quiet =
                c["active_connections"].as_u64() == Some(0) || c["requests"] == c["responses"];
            quiet
                && c["findings_pending"].as_u64() == Some(0)
                && c["findings"].as_u64() == Some(lines(&log))
        },
    );
}
