//! The daemon loop (`serve`, and `host` with NanoClaw IPC): it holds the home's lock (so there is
//! only ever one), keeps `state.json` current, answers the control socket, rewrites the posture
//! fragment when it changes, reopens its logs on SIGHUP, and cleans up on SIGTERM/SIGINT.
//! Diagnostics are best effort ([`crate::diag`]): a full disk or a closed stderr loses lines,
//! never the daemon.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::config::{process_env, Config};
use crate::daemon::state::{write_json_atomic, State};
use crate::daemon::{self, control, process};
use crate::error::{Error, Result};
use crate::home::Home;
use crate::proxy::Shared;
use crate::report::posture::{self, MonitorStatus, Posture};
use crate::service::Service;

/// Exit code of a `serve` that found another daemon holding the home.
pub const EXIT_ALREADY_RUNNING: u8 = 3;

/// How often `state.json`'s counters are rewritten.
const STATE_EVERY: Duration = Duration::from_secs(2);
/// How often the posture fragment is recomputed (SPEC §7).
const POSTURE_EVERY: Duration = Duration::from_secs(60);

/// Runs the daemon of `home` until SIGTERM or SIGINT; `ipc_root` adds the NanoClaw IPC service.
pub fn run(config: Config, home: Home, ipc_root: Option<PathBuf>) -> Result<u8> {
    let Some(_lock) = daemon::lock(&home)
        .map_err(|e| Error::runtime(format!("cannot lock {}: {e}", home.dir.display())))?
    else {
        crate::diag!(
            "guardian: another Guardian is already serving {}; see `guardian status`",
            home.dir.display()
        );
        return Ok(EXIT_ALREADY_RUNNING);
    };
    let termination = Termination::install()?;
    let posture_path = posture::output_path(&home.dir, config.platform, &process_env)?;
    let listen = config.listen;
    let service = Service::bind(config, &home, listen, true)?;
    let addr = service.addr;
    let (shared, _) = service.spawn();
    if let Err(e) = control::serve(&home, shared.counters.clone()) {
        shared.log.line(&format!(
            "cannot open the control socket {}: {e}; `status` reads counters from state.json only",
            control::path(&home).display()
        ));
    }
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
    let write_posture = |status: MonitorStatus| {
        let p = Posture::compute(&shared.config, status, &home);
        if let Err(e) = posture::write_if_changed(&posture_path, &p) {
            shared.log.line(&e.to_string());
        }
    };
    write_posture(MonitorStatus::Running);
    crate::diag::stdout_line(format_args!(
        "guardian: listening on {addr} (findings: {})",
        home.findings().display()
    ));
    shared.log.line(&format!(
        "serving on {addr}, pid {pid}, config_sha256 {}",
        state.config_sha256
    ));

    let stopping = Arc::new(AtomicBool::new(false));
    let refresher = {
        let (stopping, shared, home) = (stopping.clone(), shared.clone(), home.clone());
        let (state, posture_path) = (state.clone(), posture_path.clone());
        std::thread::spawn(move || refresh(&stopping, &shared, &home, state, &posture_path))
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
    let signal = termination.wait(|| {
        shared.log.reopen();
        shared.findings.reopen();
        shared
            .log
            .line("SIGHUP: reopening findings.jsonl and guardian.log");
    });
    stopping.store(true, Ordering::Release);
    let _ = refresher.join();
    if let Some(ipc) = ipc {
        let _ = ipc.join();
    }
    shared.log.line(&format!("{signal}: stopping"));
    shared.quiesce(Duration::from_secs(2));
    shared.findings.close();
    control::remove(&home);
    let _ = std::fs::remove_file(home.state());
    write_posture(MonitorStatus::Stopped);
    Ok(0)
}

/// Keeps `state.json`'s counters current and the posture fragment fresh until `stopping`.
/// A rewrite that fails (full disk) is logged once per failing streak; `status` then reads
/// the control socket.
fn refresh(
    stopping: &AtomicBool,
    shared: &Shared,
    home: &Home,
    mut state: State,
    posture_path: &std::path::Path,
) {
    let tick = Duration::from_millis(100);
    let (mut since_state, mut since_posture) = (Duration::ZERO, Duration::ZERO);
    let mut state_failing = false;
    while !stopping.load(Ordering::Acquire) {
        std::thread::sleep(tick);
        since_state += tick;
        since_posture += tick;
        if since_state >= STATE_EVERY && !stopping.load(Ordering::Acquire) {
            since_state = Duration::ZERO;
            state.counters = shared.counters.snapshot();
            match write_json_atomic(&home.state(), &state) {
                Ok(()) if state_failing => {
                    state_failing = false;
                    shared.log.line("state.json is being rewritten again");
                }
                Ok(()) => {}
                Err(e) if !state_failing => {
                    state_failing = true;
                    shared.log.line(&format!(
                        "cannot rewrite {}: {e}; its counters are frozen, `guardian status` reads live ones over {}",
                        home.state().display(),
                        control::path(home).display()
                    ));
                }
                Err(_) => {}
            }
        }
        if since_posture >= POSTURE_EVERY {
            since_posture = Duration::ZERO;
            let p = Posture::compute(&shared.config, MonitorStatus::Running, home);
            let _ = posture::write_if_changed(posture_path, &p);
        }
    }
}

/// SIGTERM, SIGINT and SIGHUP, caught from the moment this is installed: installed before the
/// daemon says it is listening, so a signal sent right after that line is never the default
/// action (an exit without cleanup, losing queued findings and leaving `state.json`).
pub struct Termination(signal_hook::iterator::Signals);

impl Termination {
    /// Installs the handlers.
    pub fn install() -> Result<Termination> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])
            .map(Termination)
            .map_err(|e| Error::runtime(format!("cannot install signal handlers: {e}")))
    }

    /// Blocks until SIGTERM or SIGINT (also one that came before this call) and returns its
    /// name; calls `on_hup` at every SIGHUP.
    pub fn wait(mut self, mut on_hup: impl FnMut()) -> &'static str {
        use signal_hook::consts::{SIGHUP, SIGINT};
        for sig in self.0.forever() {
            match sig {
                SIGHUP => on_hup(),
                SIGINT => return "SIGINT",
                _ => return "SIGTERM",
            }
        }
        "SIGTERM"
    }
}
