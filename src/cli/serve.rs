//! `guardian serve`: the proxy in the foreground (what `start` launches; for systemd/launchd).
//! The daemon loop itself is [`crate::daemon::serve`].

use std::path::PathBuf;

use argh::FromArgs;

use super::Context;
use crate::error::Result;

pub use crate::daemon::serve::EXIT_ALREADY_RUNNING;

/// Run the proxy in the foreground until SIGTERM or SIGINT (SIGHUP reopens the logs).
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

/// Loads the configuration, opens the home and runs the daemon (`serve`; `host` adds `ipc_root`).
pub fn run_daemon(
    home: Option<&std::path::Path>,
    config: Option<&std::path::Path>,
    ipc_root: Option<PathBuf>,
) -> Result<u8> {
    let ctx = Context::load(home, config)?;
    let home = ctx.open_home()?;
    crate::daemon::serve::run(ctx.config, home, ipc_root)
}
