//! `guardian posture`: compute, write (only if changed) and print the profile fragment.

use std::path::PathBuf;

use argh::FromArgs;

use super::Context;
use crate::config::process_env;
use crate::daemon::{self, Status};
use crate::error::Result;
use crate::report::posture::{self, Posture};

/// Write and print the posture fragment watched by picoclaw-security-guardian.
#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand, name = "posture")]
pub struct PostureCmd {
    /// accepted for uniformity: the fragment is JSON
    #[argh(switch)]
    json: bool,
    /// guardian home directory
    #[argh(option)]
    home: Option<PathBuf>,
    /// configuration file
    #[argh(option)]
    config: Option<PathBuf>,
}

impl PostureCmd {
    pub fn run(self) -> Result<u8> {
        let _ = self.json;
        let ctx = Context::load(self.home.as_deref(), self.config.as_deref())?;
        let home = ctx.open_home()?;
        let status = daemon::status(&home);
        // A running daemon's configuration is the one that counts.
        let path = posture::output_path(&home.dir, ctx.config.platform, &process_env)?;
        let mut fragment = Posture::compute(&ctx.config, status.monitor_status(), &home);
        if let Status::Running(s) = &status {
            fragment.config_sha256 = s.config_sha256.clone();
            fragment.https_inspection = s.https_inspection;
            fragment.ca_fingerprint_sha256 = s.ca_fingerprint_sha256.clone();
        }
        let wrote = posture::write_if_changed(&path, &fragment)?;
        let shown = if wrote {
            fragment
        } else {
            serde_json::from_slice(&std::fs::read(&path).unwrap_or_default()).unwrap_or(fragment)
        };
        say!("{}", serde_json::to_string(&shown).unwrap_or_default());
        crate::diag!(
            "guardian: {} {}",
            if wrote { "wrote" } else { "unchanged:" },
            path.display()
        );
        Ok(0)
    }
}
