//! `guardian serve`: the proxy in the foreground (what `start` launches; for systemd/launchd).
//! It is the daemon of its home: it holds the home's lock (so there is only ever one), keeps
//! `state.json` current, rewrites the posture fragment when it changes, and cleans both up on
//! SIGTERM/SIGINT.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use argh::FromArgs;

use super::Context;
use crate::config::process_env;
use crate::daemon::state::{write_json_atomic, State};
use crate::daemon::{self, process};
use crate::error::{Error, Result};
use crate::report::posture::{self, Posture};
use crate::service::Service;

/// Exit code of a `serve` that found another daemon holding the home.
pub const EXIT_ALREADY_RUNNING: u8 = 3;

/// Run the proxy in the foreground until SIGTERM or SIGINT.
#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand, name = "serve")]
pub struct Serve {
    /// guardian home directory
    #[argh(option)]
    home: Option<PathBuf>,
    /// configuration file
    #[argh(option)]
    config: Option<PathBuf>,
}

impl Serve {
    pub fn run(self) -> Result<u8> {
        run_daemon(self.home.as_deref(), self.config.as_deref(), None)
    }
}

/// The daemon: `serve`, and `host` (which also answers NanoClaw IPC tasks under `ipc_root`).
pub fn run_daemon(
    home: Option<&std::path::Path>,
    config: Option<&std::path::Path>,
    ipc_root: Option<PathBuf>,
) -> Result<u8> {
    let ctx = Context::load(home, config)?;
    let home = ctx.open_home()?;
    let Some(_lock) = daemon::lock(&home)
        .map_err(|e| Error::runtime(format!("cannot lock {}: {e}", home.dir.display())))?
    else {
        eprintln!(
            "guardian: another Guardian is already serving {}; see `guardian status`",
            home.dir.display()
        );
        return Ok(EXIT_ALREADY_RUNNING);
    };
    let posture_path = posture::output_path(&home.dir, ctx.config.platform, &process_env)?;
    let listen = ctx.config.listen;
    let service = Service::bind(ctx.config, &home, listen, true)?;
    let addr = service.addr;
    let (shared, _) = service.spawn();
    let pid = std::process::id();
    let state = State {
        pid,
        start_ticks: process::start_ticks(pid).unwrap_or(0),
        listen: addr.to_string(),
        started_at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        home: home.dir.display().to_string(),
        config_sha256: shared.config.sha256(),
        https_inspection: shared.config.https_inspection,
        ca_fingerprint_sha256: shared.tls.as_ref().map(|t| t.fingerprint()),
        counters: shared.counters.snapshot(),
    };
    write_json_atomic(&home.state(), &state)
        .map_err(|e| Error::runtime(format!("cannot write {}: {e}", home.state().display())))?;
    let write_posture = |status: &str| {
        let p = Posture::compute(&shared.config, status, &home);
        if let Err(e) = posture::write_if_changed(&posture_path, &p) {
            shared.log.line(&e.to_string());
        }
    };
    write_posture("running");
    say!(
        "guardian: listening on {addr} (findings: {})",
        home.findings().display()
    );
    shared.log.line(&format!(
        "serving on {addr}, pid {pid}, config_sha256 {}",
        state.config_sha256
    ));

    // Keep state.json's counters current and the posture fragment fresh while running.
    let stopping = Arc::new(AtomicBool::new(false));
    let refresher = {
        let (stopping, shared, home, posture_path) = (
            stopping.clone(),
            shared.clone(),
            home.clone(),
            posture_path.clone(),
        );
        let mut state = state.clone();
        std::thread::spawn(move || {
            let mut ticks = 0u64;
            while !stopping.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(500));
                ticks += 1;
                if ticks % 4 == 0 && !stopping.load(Ordering::Acquire) {
                    state.counters = shared.counters.snapshot();
                    let _ = write_json_atomic(&home.state(), &state);
                }
                if ticks % 120 == 0 {
                    let p = Posture::compute(&shared.config, "running", &home);
                    let _ = posture::write_if_changed(&posture_path, &p);
                }
            }
        })
    };
    let ipc = ipc_root.map(|root| {
        let service = crate::nanoclaw::ipc::IpcService {
            root,
            home: home.clone(),
            config: shared.config.clone(),
            shared: shared.clone(),
        };
        let stopping = stopping.clone();
        std::thread::spawn(move || service.run(&stopping))
    });
    let signal = super::wait_for_termination()?;
    stopping.store(true, Ordering::Release);
    let _ = refresher.join();
    if let Some(ipc) = ipc {
        let _ = ipc.join();
    }
    shared.log.line(&format!("{signal}: stopping"));
    shared.quiesce(Duration::from_secs(2));
    shared.findings.close();
    let _ = std::fs::remove_file(home.state());
    write_posture("stopped");
    Ok(0)
}
