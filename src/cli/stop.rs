//! `guardian stop`: SIGTERM, then SIGKILL after 5 s, to a verified daemon only. A stale state
//! (dead pid, reused pid, corrupt file) is cleaned and nothing is signalled.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use argh::FromArgs;
use rustix::process::Signal;

use super::Context;
use crate::config::process_env;
use crate::daemon::{self, process, Status};
use crate::error::Result;
use crate::report::posture::{self, MonitorStatus, Posture};

/// Grace period between SIGTERM and SIGKILL.
pub const GRACE: Duration = Duration::from_secs(5);

/// Stop the background proxy of this home.
#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand, name = "stop")]
pub struct Stop {
    /// guardian home directory
    #[argh(option)]
    home: Option<PathBuf>,
    /// configuration file
    #[argh(option)]
    config: Option<PathBuf>,
}

impl Stop {
    pub fn run(self) -> Result<u8> {
        let ctx = Context::load(self.home.as_deref(), self.config.as_deref())?;
        let home = ctx.open_existing_home()?;
        match daemon::status(&home) {
            Status::Stopped => say!("guardian is not running"),
            Status::Stale(reason) => {
                daemon::clean_stale(&home);
                say!("cleaned a stale state ({reason}); nothing was signalled");
            }
            Status::Running(state) => {
                let verified = |pid| process::is_guardian_of(pid, state.start_ticks, &home.dir);
                process::signal(state.pid, Signal::TERM);
                let start = Instant::now();
                while verified(state.pid) && start.elapsed() < GRACE {
                    std::thread::sleep(Duration::from_millis(50));
                }
                let killed = verified(state.pid) && process::signal(state.pid, Signal::KILL);
                while verified(state.pid) && start.elapsed() < GRACE + Duration::from_secs(2) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                daemon::clean_stale(&home);
                say!(
                    "guardian stopped (pid {}{})",
                    state.pid,
                    if killed { ", killed after 5 s" } else { "" }
                );
            }
        }
        if let Ok(path) = posture::output_path(&home.dir, ctx.config.platform, &process_env) {
            let _ = posture::write_if_changed(
                &path,
                &Posture::compute(&ctx.config, MonitorStatus::Stopped, &home),
            );
        }
        Ok(0)
    }
}
