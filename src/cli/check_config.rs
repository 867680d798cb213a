//! `guardian check-config`: validate the configuration, print it and its digest.

use std::path::PathBuf;

use argh::FromArgs;
use serde_json::json;

use super::Context;
use crate::error::Result;

/// Validate the configuration and print the effective settings and config_sha256.
#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand, name = "check-config")]
pub struct CheckConfig {
    /// print one JSON object
    #[argh(switch)]
    json: bool,
    /// guardian home directory
    #[argh(option)]
    home: Option<PathBuf>,
    /// configuration file
    #[argh(option)]
    config: Option<PathBuf>,
}

impl CheckConfig {
    pub fn run(self) -> Result<u8> {
        let ctx = Context::load(self.home.as_deref(), self.config.as_deref())?;
        let effective = ctx.config.to_json();
        let digest = ctx.config.sha256();
        if self.json {
            say!(
                "{}",
                json!({"ok": true, "config": effective, "config_sha256": digest})
            );
        } else {
            say!(
                "{}",
                serde_json::to_string_pretty(&effective).unwrap_or_default()
            );
            say!("config_sha256: {digest}");
        }
        Ok(0)
    }
}
