//! The command line (SPEC §6): one subcommand per file, parsed by argh, validated into a
//! configuration in one place ([`Context`]).

mod bench;
mod scan;

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
    Scan(scan::Scan),
    Bench(bench::Bench),
}

/// Runs a parsed command; returns the process exit code.
pub fn run(command: Command) -> Result<u8> {
    match command.sub {
        Sub::Scan(c) => c.run(),
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
        // The platform decides the default home; read it from an explicit config file first.
        let hint = match config_flag {
            Some(path) => {
                config::load(Some(path), Path::new("/nonexistent"), env)?
                    .config
                    .platform
            }
            None => guardian_parser::scan::Platform::Picoclaw,
        };
        let mut home_dir = home::resolve(home_flag, hint, env)?;
        let loaded = config::load(config_flag, &home_dir, env)?;
        if loaded.config.platform != hint && home_flag.is_none() {
            home_dir = home::resolve(None, loaded.config.platform, env)?;
        }
        Ok(Context {
            config: loaded.config,
            home_dir,
        })
    }
}
