//! `guardian serve`: the proxy in the foreground (what `start` launches; for systemd/launchd).

use std::path::PathBuf;

use argh::FromArgs;

use super::Context;
use crate::error::Result;
use crate::service::Service;

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
        let ctx = Context::load(self.home.as_deref(), self.config.as_deref())?;
        let home = ctx.open_home()?;
        let listen = ctx.config.listen;
        let service = Service::bind(ctx.config, &home, listen, true)?;
        let addr = service.addr;
        let (shared, _) = service.spawn();
        println!(
            "guardian: listening on {addr} (findings: {})",
            home.findings().display()
        );
        shared.log.line(&format!(
            "serving on {addr}, config_sha256 {}",
            shared.config.sha256()
        ));
        let signal = super::wait_for_termination()?;
        shared.log.line(&format!("{signal}: stopping"));
        shared.findings.close();
        Ok(0)
    }
}
