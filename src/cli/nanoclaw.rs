//! `guardian host` (NanoClaw host service) and `guardian mcp` (MCP server in the container).

use std::path::PathBuf;
use std::time::Duration;

use argh::FromArgs;

use crate::error::{Error, Result};
use crate::nanoclaw::mcp::McpServer;

/// Run the proxy and answer the IPC tasks of NanoClaw containers (until SIGTERM).
#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand, name = "host")]
pub struct Host {
    /// the NanoClaw IPC root (data/ipc): tasks are read from ROOT/GROUP/clawsec_traffic/
    #[argh(option)]
    ipc_root: PathBuf,
    /// guardian home directory
    #[argh(option)]
    home: Option<PathBuf>,
    /// configuration file
    #[argh(option)]
    config: Option<PathBuf>,
}

/// MCP server (stdio) exposing Guardian's status, findings and configuration to a container agent.
#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand, name = "mcp")]
pub struct Mcp {
    /// the group's own IPC directory as mounted in the container (e.g. /workspace/ipc)
    #[argh(option)]
    ipc_dir: PathBuf,
    /// the group folder (default: $NANOCLAW_GROUP_FOLDER)
    #[argh(option)]
    group: Option<String>,
    /// how long to wait for the host service (default 5s)
    #[argh(option, default = "String::from(\"5s\")")]
    timeout: String,
    /// accepted for uniformity; the MCP server reads no home
    #[argh(option)]
    home: Option<PathBuf>,
    /// accepted for uniformity; the MCP server reads no configuration
    #[argh(option)]
    config: Option<PathBuf>,
}

impl Host {
    pub fn run(self) -> Result<u8> {
        std::fs::create_dir_all(&self.ipc_root).map_err(|e| {
            Error::runtime(format!("cannot create {}: {e}", self.ipc_root.display()))
        })?;
        super::serve::run_daemon(
            self.home.as_deref(),
            self.config.as_deref(),
            Some(self.ipc_root),
        )
    }
}

impl Mcp {
    pub fn run(self) -> Result<u8> {
        let _ = (&self.home, &self.config);
        let group = self
            .group
            .or_else(|| std::env::var("NANOCLAW_GROUP_FOLDER").ok())
            .filter(|g| crate::nanoclaw::tasks::valid_request_id(g))
            .ok_or_else(|| {
                Error::usage(
                    "mcp needs the group folder: pass --group NAME or set NANOCLAW_GROUP_FOLDER",
                )
            })?;
        let timeout = humantime::parse_duration(&self.timeout)
            .ok()
            .filter(|d| !d.is_zero() && *d <= Duration::from_secs(600))
            .ok_or_else(|| {
                Error::usage(format!(
                    "--timeout {:?} must be a duration from 1ms to 10m",
                    self.timeout
                ))
            })?;
        McpServer {
            ipc_dir: self.ipc_dir,
            group,
            timeout,
        }
        .serve();
        Ok(0)
    }
}
