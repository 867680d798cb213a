//! Helpers for the durability tests: a `serve` with chosen stderr, polling with a deadline,
//! `status --json`, and a small tmpfs to fill (root only).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{first_stdout_line, BIN};

/// An OpenAI-shaped key: a finding wherever it goes except OpenAI's own hosts.
pub const KEY: &str = "sk-proj-Xk9mB2vQ7rT4wY1zA8cD5fG3hJ6kL0nP2qS4uV7xZ9bC1eF3hI5kM";

/// Polls `check` until it holds or `limit` passes; panics naming `what`.
pub fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Writes a test config (loopback port 0, no dedup, plus `extra`) beside `home`; returns it.
pub fn config_for(home: &Path, extra: serde_json::Value) -> PathBuf {
    let mut cfg = serde_json::json!({"listen": "127.0.0.1:0", "dedup_window": "0s"});
    for (k, v) in extra.as_object().expect("object") {
        cfg[k] = v.clone();
    }
    let path = home.with_extension("config.json");
    std::fs::write(&path, cfg.to_string()).expect("write config");
    path
}

/// A `guardian` command for `home` and `config` with the environment cleaned of overrides.
pub fn guardian(home: &Path, config: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .arg("--home")
        .arg(home)
        .arg("--config")
        .arg(config);
    for k in ["PROFILE_OUTPUT", "LOG_DIR", "CONFIG"] {
        cmd.env_remove(format!("PICOCLAW_TRAFFIC_GUARDIAN_{k}"));
    }
    cmd.env_remove("PICOCLAW_HOME").env_remove("GUARDIAN_HOME");
    cmd
}

/// Starts `guardian serve` for `home` with `stderr`; returns it and its address.
pub fn serve(home: &Path, config: &Path, stderr: Stdio) -> (Child, SocketAddr) {
    let mut child = guardian(home, config, &["serve"])
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("serve starts");
    let line = first_stdout_line(&mut child);
    let addr = line
        .split_whitespace()
        .nth(3)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    (child, addr)
}

/// Posts the key to the origin through the proxy (one outbound finding); curl's exit status.
pub fn send_secret(proxy: SocketAddr, origin: SocketAddr) -> bool {
    let body = format!("{{\"token\":\"{KEY}\"}}");
    let (status, _) = super::curl(&[
        "-x",
        &format!("http://{proxy}"),
        "-o",
        "/dev/null",
        "--data-binary",
        &body,
        &format!("http://{origin}/upload"),
    ]);
    status.success()
}

/// `status --json` as JSON.
pub fn status_json(home: &Path, config: &Path) -> serde_json::Value {
    let out = guardian(home, config, &["status", "--json"])
        .output()
        .expect("status runs");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "status --json: {e}: {} / {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A live counter from `status --json`.
pub fn counter(home: &Path, config: &Path, name: &str) -> u64 {
    status_json(home, config)["counters"][name]
        .as_u64()
        .unwrap_or(0)
}

/// SIGTERM, then the exit code.
pub fn terminate(child: &mut Child) -> Option<i32> {
    let pid = rustix::process::Pid::from_child(child);
    let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    child.wait().ok().and_then(|s| s.code())
}

/// Sends a signal to a child.
pub fn signal(child: &Child, sig: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_child(child);
    rustix::process::kill_process(pid, sig).expect("signal");
}

/// A tmpfs of `size` mounted on a fresh directory (0700), unmounted on drop. `None` when this
/// sandbox cannot mount (not root): the caller says it skipped.
pub struct Tmpfs {
    pub dir: PathBuf,
    _parent: tempfile::TempDir,
}

impl Tmpfs {
    pub fn mount(size: &str) -> Option<Tmpfs> {
        let parent = tempfile::tempdir().ok()?;
        let dir = parent.path().join("fs");
        std::fs::create_dir(&dir).ok()?;
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(&dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs {
            dir,
            _parent: parent,
        })
    }

    /// Fills the filesystem with a file until a write fails (ENOSPC); returns its path.
    pub fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.dir.join("filler");
        let mut f = std::fs::File::create(&path).expect("filler");
        let block = vec![0u8; 4096];
        while f.write_all(&block).is_ok() {}
        let one = [0u8; 1];
        while f.write_all(&one).is_ok() {}
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}
