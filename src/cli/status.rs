//! `guardian status`: running / stopped / stale (a stale state is cleaned), address, pid,
//! uptime, counters (live over the control socket, else as `state.json` last recorded them).
//! It never creates a home: a missing one is an error that names a daemon still serving it.

use std::path::PathBuf;
use std::time::SystemTime;

use argh::FromArgs;
use serde_json::json;

use super::Context;
use crate::daemon::{self, control, Status};
use crate::error::Result;

/// Show whether the background proxy of this home is running, and its counters.
#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand, name = "status")]
pub struct StatusCmd {
    /// print one JSON object
    #[argh(switch)]
    json: bool,
    /// guardian home directory
    #[argh(option)]
    home: Option<PathBuf>,
    /// configuration file
    #[argh(option)]
    config: Option<PathBuf>,
}

impl StatusCmd {
    pub fn run(self) -> Result<u8> {
        let ctx = Context::load(self.home.as_deref(), self.config.as_deref())?;
        let home = ctx.open_existing_home()?;
        let status = daemon::status(&home);
        if let Status::Stale(_) = &status {
            daemon::clean_stale(&home);
        }
        let uptime = |started: &str| {
            humantime::parse_rfc3339(started)
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .map(|d| d.as_secs())
        };
        let (counters, source) = match &status {
            Status::Running(s) => control::counters(&home, &s.counters),
            _ => (serde_json::Value::Null, ""),
        };
        if self.json {
            let value = match &status {
                Status::Running(s) => {
                    json!({"status": "running", "pid": s.pid, "listen": s.listen, "started_at": s.started_at,
                    "uptime_seconds": uptime(&s.started_at), "config_sha256": s.config_sha256, "https_inspection": s.https_inspection,
                    "ca_fingerprint_sha256": s.ca_fingerprint_sha256, "counters": counters, "counters_source": source})
                }
                Status::Stale(reason) => {
                    json!({"status": "stale", "reason": reason, "cleaned": true})
                }
                Status::Stopped => json!({"status": "stopped"}),
            };
            say!("{value}");
            return Ok(0);
        }
        match &status {
            Status::Running(s) => {
                say!(
                    "running: {} (pid {}), up {} s",
                    s.listen,
                    s.pid,
                    uptime(&s.started_at).unwrap_or(0)
                );
                say!("config_sha256: {}", s.config_sha256);
                say!(
                    "https_inspection: {}",
                    if s.https_inspection { "on" } else { "off" }
                );
                if let Some(fp) = &s.ca_fingerprint_sha256 {
                    say!("CA sha256 fingerprint: {fp}");
                }
                say!("counters ({source}):");
                if let Some(obj) = counters.as_object() {
                    for (k, v) in obj {
                        say!("  {k:<20} {v}");
                    }
                }
            }
            Status::Stale(reason) => say!("stale: {reason}; the state file was removed"),
            Status::Stopped => say!("stopped"),
        }
        Ok(0)
    }
}
