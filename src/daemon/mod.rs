//! The daemon's lifecycle: who is running (state file + process identity), the single-daemon
//! lock, and what `status` reports.

pub mod control;
pub mod process;
pub mod serve;
pub mod state;

use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::home::Home;
use crate::report::posture::MonitorStatus;
use state::{Read, State};

/// What `status` sees.
#[derive(Debug)]
pub enum Status {
    /// A verified daemon of this home.
    Running(State),
    /// No daemon and no state.
    Stopped,
    /// A state file that does not describe a live daemon of this home (dead pid, reused pid,
    /// corrupt file), with the reason.
    Stale(String),
}

impl Status {
    /// `running`, `stopped` or `stale`.
    pub fn name(&self) -> &'static str {
        match self {
            Status::Running(_) => "running",
            Status::Stopped => "stopped",
            Status::Stale(_) => "stale",
        }
    }

    /// The posture fragment's `monitor_status`.
    pub fn monitor_status(&self) -> MonitorStatus {
        match self {
            Status::Running(_) => MonitorStatus::Running,
            Status::Stopped => MonitorStatus::Stopped,
            Status::Stale(_) => MonitorStatus::Stale,
        }
    }
}

/// Reads the state and checks the process it names.
pub fn status(home: &Home) -> Status {
    match state::read(&home.state()) {
        Read::Missing => Status::Stopped,
        Read::Corrupt(e) => Status::Stale(format!("state.json is corrupt ({e})")),
        Read::State(s) if !process::exists(s.pid) => {
            Status::Stale(format!("pid {} is not running", s.pid))
        }
        Read::State(s) if !process::is_guardian_of(s.pid, s.start_ticks, &home.dir) => {
            Status::Stale(format!(
                "pid {} is not this home's Guardian (the pid was reused)",
                s.pid
            ))
        }
        Read::State(s) => Status::Running(s),
    }
}

/// Removes a stale state file (never signals anything).
pub fn clean_stale(home: &Home) {
    let _ = std::fs::remove_file(home.state());
}

/// The exclusive lock a daemon holds for its home: a second `serve` of the same home fails to
/// take it, so two concurrent starts give one daemon. Released when the process exits.
pub fn lock(home: &Home) -> std::io::Result<Option<File>> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(lock_path(&home.dir))?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Some(file)),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn lock_path(dir: &Path) -> std::path::PathBuf {
    dir.join("daemon.lock")
}
