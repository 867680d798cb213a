//! `guardian start`: `serve` in the background; waits until it accepts connections.

use std::net::TcpStream;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use argh::FromArgs;

use super::printed::{env_prefix, Options};
use super::Context;
use crate::daemon::{self, Status};
use crate::error::{Error, Result};

/// Start the proxy in the background (one per home); print its address and how to use it.
#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand, name = "start")]
pub struct Start {
    /// guardian home directory
    #[argh(option)]
    home: Option<PathBuf>,
    /// configuration file
    #[argh(option)]
    config: Option<PathBuf>,
}

fn print_state(state: &daemon::state::State, already: bool, opts: &Options, home: &Path) {
    let verb = if already {
        "already running"
    } else {
        "started"
    };
    say!("guardian {verb}: {} (pid {})", state.listen, state.pid);
    let mut vars = super::run::proxy_vars(&state.listen);
    if state.https_inspection {
        match super::run::trust_env(home) {
            Ok(trust) => vars.extend(trust),
            Err(e) => crate::diag!("guardian: {}", e.message),
        }
    }
    say!("Use it for one process at a time, for example:");
    say!("  {} picoclaw gateway", env_prefix(&vars));
    say!(
        "`{}` prints these variables again; `{}` stops the proxy.",
        opts.guardian("env"),
        opts.guardian("stop")
    );
}

impl Start {
    pub fn run(self) -> Result<u8> {
        let ctx = Context::load(self.home.as_deref(), self.config.as_deref())?;
        let home = ctx.open_home()?;
        let opts = Options {
            home: self.home.clone(),
            config: self.config.clone(),
        };
        let print_running = |state: &daemon::state::State, already: bool| {
            print_state(state, already, &opts, &home.dir)
        };
        match daemon::status(&home) {
            Status::Running(state) => {
                print_running(&state, true);
                return Ok(0);
            }
            Status::Stale(reason) => {
                crate::diag!("guardian: cleaning a stale state ({reason})");
                daemon::clean_stale(&home);
            }
            Status::Stopped => {}
        }
        let exe = std::env::current_exe()
            .map_err(|e| Error::runtime(format!("cannot find the guardian binary: {e}")))?;
        let mut cmd = Command::new(exe);
        cmd.arg("serve").arg("--home").arg(&home.dir);
        if let Some(c) = &self.config {
            cmd.arg("--config").arg(c);
        }
        let err_path = home.dir.join("start.err");
        let err_file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&err_path)
            .map_err(|e| Error::runtime(format!("cannot create {}: {e}", err_path.display())))?;
        // A process group of its own: the terminal's Ctrl-C does not reach the daemon.
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err_file)
            .process_group(0)
            .spawn()
            .map_err(|e| Error::runtime(format!("cannot start guardian serve: {e}")))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(exit)) = child.try_wait() {
                if exit.code() == Some(super::serve::EXIT_ALREADY_RUNNING.into()) {
                    // Another start won the race: report its daemon once it is up.
                    if let Some(state) = wait_running(&home, deadline) {
                        print_running(&state, true);
                        return Ok(0);
                    }
                }
                let err = std::fs::read_to_string(&err_path).unwrap_or_default();
                return Err(Error::runtime(format!(
                    "guardian serve exited ({exit}): {}",
                    err.trim()
                )));
            }
            if let Status::Running(state) = daemon::status(&home) {
                if state.pid == child.id() && TcpStream::connect(&state.listen).is_ok() {
                    let _ = std::fs::remove_file(&err_path);
                    print_running(&state, false);
                    return Ok(0);
                }
            }
            if Instant::now() > deadline {
                return Err(Error::runtime(
                    "guardian serve did not accept connections within 10 s; see guardian.log",
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn wait_running(home: &crate::home::Home, deadline: Instant) -> Option<daemon::state::State> {
    while Instant::now() < deadline {
        if let Status::Running(state) = daemon::status(home) {
            if TcpStream::connect(&state.listen).is_ok() {
                return Some(state);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}
