//! The command line (SPEC §6): one subcommand per file, parsed by argh, validated into a
//! configuration in one place ([`Context`]).

/// Prints a line to standard output; a closed pipe (`| head`) is not an error, so write
/// failures are ignored rather than panicking like `println!`.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod bench;
mod ca;
mod check_config;
mod demo;
mod nanoclaw;
mod posture;
mod printed;
mod run;
mod scan;
mod serve;
mod setup;
mod start;
mod status;
mod stop;
mod threats;

pub use run::{proxy_env, trust_env};

use std::path::{Path, PathBuf};

use argh::FromArgs;

use crate::config::{self, Config};
use crate::error::Result;
use crate::home;

/// Guardian: an opt-in forward proxy that watches one process's HTTP traffic for secret
/// exfiltration and command injection, and logs redacted findings. It never blocks.
#[derive(FromArgs, Debug, PartialEq)]
pub struct Command {
    #[argh(subcommand)]
    sub: Sub,
}

#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand)]
enum Sub {
    Ca(ca::Ca),
    Demo(demo::Demo),
    Host(nanoclaw::Host),
    Mcp(nanoclaw::Mcp),
    Run(run::Run),
    Serve(serve::Serve),
    Start(start::Start),
    Stop(stop::Stop),
    Status(status::StatusCmd),
    Threats(threats::Threats),
    Posture(posture::PostureCmd),
    Setup(setup::Setup),
    Env(setup::EnvCmd),
    Scan(scan::Scan),
    CheckConfig(check_config::CheckConfig),
    Bench(bench::Bench),
}

/// argh takes every argument starting with `-` for an option, so `guardian scan -` (standard
/// input, SPEC §10) would not parse: for `scan`, lone `-` operands are moved after a `--`.
pub fn normalise_args(args: Vec<String>) -> Vec<String> {
    let is_scan = args.get(1).is_some_and(|a| a == "scan");
    if !is_scan || !args.iter().any(|a| a == "-") || args.iter().any(|a| a == "--") {
        return args;
    }
    let dashes = args.iter().filter(|a| *a == "-").count();
    let mut out: Vec<String> = args.into_iter().filter(|a| a != "-").collect();
    out.push("--".into());
    out.extend(std::iter::repeat_n("-".to_string(), dashes));
    out
}

/// Parses the process's arguments (after [`normalise_args`]); prints help or usage errors and
/// exits like `argh::from_env` does.
pub fn from_env() -> Command {
    let args = normalise_args(std::env::args().collect());
    let strs: Vec<&str> = args.iter().map(String::as_str).collect();
    let name = strs
        .first()
        .map(|s| s.rsplit('/').next().unwrap_or(s))
        .unwrap_or("guardian");
    match Command::from_args(&[name], strs.get(1..).unwrap_or(&[])) {
        Ok(command) => command,
        Err(early) => {
            let usage_error = early.status.is_err();
            if usage_error {
                crate::diag!("{}\nRun {name} --help for more information.", early.output);
            } else {
                say!("{}", early.output);
            }
            std::process::exit(if usage_error { 2 } else { 0 });
        }
    }
}

/// Runs a parsed command; returns the process exit code.
pub fn run(command: Command) -> Result<u8> {
    match command.sub {
        Sub::Ca(c) => c.run(),
        Sub::Demo(c) => c.run(),
        Sub::Host(c) => c.run(),
        Sub::Mcp(c) => c.run(),
        Sub::Run(c) => c.run(),
        Sub::Serve(c) => c.run(),
        Sub::Start(c) => c.run(),
        Sub::Stop(c) => c.run(),
        Sub::Status(c) => c.run(),
        Sub::Threats(c) => c.run(),
        Sub::Posture(c) => c.run(),
        Sub::Setup(c) => c.run(),
        Sub::Env(c) => c.run(),
        Sub::Scan(c) => c.run(),
        Sub::CheckConfig(c) => c.run(),
        Sub::Bench(c) => c.run(),
    }
}

/// The validated configuration of one invocation, and where HOME_DIR is.
#[derive(Debug)]
pub struct Context {
    /// Effective configuration.
    pub config: Config,
    /// HOME_DIR path (not created by commands that only read).
    pub home_dir: PathBuf,
}

impl Context {
    /// Resolves HOME_DIR and loads the configuration (flags > environment > file > defaults).
    pub fn load(home_flag: Option<&Path>, config_flag: Option<&Path>) -> Result<Self> {
        let env = &config::process_env;
        // An explicit file does not depend on the home, and its platform decides the default
        // home: load it first, once. Otherwise the home decides where config.json is.
        let explicit = config_flag
            .map(|path| config::load(Some(path), Path::new("/nonexistent"), env))
            .transpose()?;
        let hint = explicit
            .as_ref()
            .map_or(guardian_parser::scan::Platform::Picoclaw, |l| {
                l.config.platform
            });
        let mut home_dir = home::resolve(home_flag, hint, env)?;
        let loaded = match explicit {
            Some(loaded) => loaded,
            None => config::load(None, &home_dir, env)?,
        };
        if loaded.config.platform != hint && home_flag.is_none() {
            home_dir = home::resolve(None, loaded.config.platform, env)?;
        }
        Ok(Context {
            config: loaded.config,
            home_dir,
        })
    }
}

impl Context {
    /// Opens an existing HOME_DIR without creating it (`status`, `threats`, `stop`); a missing
    /// home is an error that names a daemon still serving it.
    pub fn open_existing_home(&self) -> Result<home::Home> {
        home::open_existing(
            self.home_dir.clone(),
            self.config.platform,
            &config::process_env,
        )?
        .ok_or_else(|| {
            home::missing(
                &self.home_dir,
                crate::daemon::process::find_daemon_of(&self.home_dir),
            )
        })
    }

    /// Creates (0700) and checks HOME_DIR.
    pub fn open_home(&self) -> Result<home::Home> {
        home::open(
            self.home_dir.clone(),
            self.config.platform,
            &config::process_env,
        )
    }
}

#[cfg(test)]
mod parse_tests {
    use argh::FromArgs;

    use super::Command;

    fn parses(args: &[&str]) -> bool {
        let all: Vec<String> = std::iter::once("guardian")
            .chain(args.iter().copied())
            .map(String::from)
            .collect();
        let normalised = super::normalise_args(all);
        let strs: Vec<&str> = normalised.iter().map(String::as_str).collect();
        Command::from_args(&["guardian"], &strs[1..]).is_ok()
    }

    #[test]
    fn every_subcommand_parses_with_its_documented_flags() {
        for args in [
            &[
                "run",
                "--https-inspection",
                "--home",
                "h",
                "--",
                "picoclaw",
                "gateway",
                "--flag",
            ][..],
            &["serve", "--home", "h", "--config", "c.json"],
            &["start"],
            &["stop"],
            &["status", "--json"],
            &[
                "threats",
                "--since",
                "1h",
                "--pattern",
                "ai_api_key",
                "--severity",
                "high",
                "--json",
            ],
            &["posture"],
            &["setup", "--platform", "nanoclaw"],
            &["env"],
            &["ca", "init"],
            &["ca", "show"],
            &["ca", "rotate", "--home", "h"],
            &["ca", "system-trust", "--i-understand"],
            &["check-config", "--json"],
            &["scan", "--direction", "inbound", "--json", "a.http", "-"],
            &["bench", "--mb", "8", "--core-only", "--json"],
            &["host", "--ipc-root", "data/ipc"],
            &[
                "mcp",
                "--ipc-dir",
                "/workspace/ipc",
                "--group",
                "main",
                "--timeout",
                "2s",
            ],
            &["demo"],
        ] {
            assert!(parses(args), "{args:?}");
        }
    }

    #[test]
    fn unknown_commands_and_flags_are_usage_errors() {
        assert!(!parses(&["block"]));
        assert!(!parses(&["serve", "--mode", "block"]));
        assert!(!parses(&["host"]), "--ipc-root is required");
        assert!(!parses(&["mcp"]), "--ipc-dir is required");
    }
}
