//! `guardian run -- CMD ARGS…`: a proxy on an ephemeral loopback port for one command, with the
//! proxy variables set for that process only. Exits with the command's exit code.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Command;

use argh::FromArgs;
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};

use super::Context;
use crate::error::{Error, Result};
use crate::service::Service;

/// Run a command with its HTTP(S) traffic watched by a private Guardian proxy.
#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand, name = "run")]
pub struct Run {
    /// guardian home directory
    #[argh(option)]
    home: Option<PathBuf>,
    /// configuration file
    #[argh(option)]
    config: Option<PathBuf>,
    /// terminate TLS with the local CA and inspect HTTPS (the CA is trusted by this command only)
    #[argh(switch)]
    https_inspection: bool,
    /// the command and its arguments (after --)
    #[argh(positional, greedy)]
    command: Vec<OsString>,
}

/// The per-process trust variables (SPEC §8) for a home whose CA intercepts TLS, keeping the
/// trust the user's environment already had (see [`crate::tls::trust`]).
pub fn trust_env(home_dir: &std::path::Path) -> Result<Vec<(String, String)>> {
    let files = crate::tls::ca::CaFiles::of(home_dir);
    crate::tls::trust::vars(&files, &|k| std::env::var(k).ok())
}

/// The proxy variables (both spellings) for a proxy listening on `listen`, and
/// `NODE_USE_ENV_PROXY=1` (Node 24+ ignores the others without it), in every mode.
pub fn proxy_vars(listen: &str) -> Vec<(String, String)> {
    let url = format!("http://{listen}");
    let mut vars: Vec<(String, String)> =
        ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"]
            .iter()
            .map(|k| (k.to_string(), url.clone()))
            .collect();
    vars.push(("NODE_USE_ENV_PROXY".into(), "1".into()));
    vars
}

/// The per-process environment (SPEC §8) for a proxy at `addr`, keeping the user's NO_PROXY.
pub fn proxy_env(addr: SocketAddr, user_no_proxy: Option<String>) -> Vec<(String, String)> {
    let mut env = proxy_vars(&addr.to_string());
    if let Some(no_proxy) = user_no_proxy.filter(|v| !v.is_empty()) {
        env.push(("NO_PROXY".into(), no_proxy.clone()));
        env.push(("no_proxy".into(), no_proxy));
    }
    env
}

/// The user's NO_PROXY entries, from either spelling, without duplicates.
pub fn user_no_proxy() -> Option<String> {
    let mut entries: Vec<String> = Vec::new();
    for var in ["NO_PROXY", "no_proxy"] {
        for e in std::env::var(var)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            if !entries.iter().any(|x| x == e) {
                entries.push(e.to_string());
            }
        }
    }
    (!entries.is_empty()).then(|| entries.join(","))
}

impl Run {
    pub fn run(self) -> Result<u8> {
        let Some((program, args)) = self.command.split_first() else {
            return Err(Error::usage(
                "run needs a command: guardian run -- CMD ARGS…",
            ));
        };
        let mut ctx = Context::load(self.home.as_deref(), self.config.as_deref())?;
        ctx.config.https_inspection |= self.https_inspection;
        let inspecting = ctx.config.https_inspection;
        let home = ctx.open_home()?;
        let service = Service::bind(
            ctx.config,
            &home,
            SocketAddr::from(([127, 0, 0, 1], 0)),
            false,
        )?;
        let (shared, addr) = service.spawn();
        let mut command = Command::new(program);
        command.args(args).envs(proxy_env(addr, user_no_proxy()));
        if inspecting {
            command.envs(trust_env(&home.dir)?);
        }
        let mut child = command.spawn().map_err(|e| {
            Error::runtime(format!("cannot start {}: {e}", program.to_string_lossy()))
        })?;
        // Forward the signals a terminal or supervisor sends, so the child decides how to end.
        let pid = rustix::process::Pid::from_child(&child);
        let mut signals =
            signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT])
                .map_err(|e| Error::runtime(format!("cannot install signal handlers: {e}")))?;
        let handle = signals.handle();
        let forwarder = std::thread::spawn(move || {
            for sig in signals.forever() {
                if let Some(s) = rustix::process::Signal::from_named_raw(sig) {
                    let _ = rustix::process::kill_process(pid, s);
                }
            }
        });
        let status = child
            .wait()
            .map_err(|e| Error::runtime(format!("waiting for the command failed: {e}")))?;
        handle.close();
        let _ = forwarder.join();
        // The child's connections close with it; let their last messages be recorded.
        shared.quiesce(std::time::Duration::from_secs(2));
        shared.findings.close();
        let written = shared.findings.written();
        if written > 0 {
            crate::diag!(
                "guardian: {written} finding(s) written to {}",
                home.findings().display()
            );
        }
        Ok(match (status.code(), status.signal()) {
            (Some(code), _) => code.clamp(0, 255) as u8,
            (None, Some(sig)) => (128 + sig).clamp(0, 255) as u8,
            _ => 1,
        })
    }
}
