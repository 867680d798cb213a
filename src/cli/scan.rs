//! `guardian scan`: raw HTTP/1.1 streams (saved captures) through the same core, offline.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::SystemTime;

use argh::FromArgs;
use guardian_parser::finding::{unix_millis, Dedup, Protocol, DEFAULT_CAPACITY};
use guardian_parser::scan::{Direction, Registry};

use super::Context;
use crate::bench::core::{run_stream, sniff_direction};
use crate::error::{Error, Result};
use crate::report::table;

/// Scan files of raw HTTP/1.1 messages (or - for stdin) and print the findings Guardian would log.
#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand, name = "scan")]
pub struct Scan {
    /// outbound (requests) or inbound (responses); by default each file is sniffed
    #[argh(option)]
    direction: Option<String>,
    /// print findings as JSON lines (SPEC §4.1)
    #[argh(switch)]
    json: bool,
    /// guardian home directory
    #[argh(option)]
    home: Option<PathBuf>,
    /// configuration file
    #[argh(option)]
    config: Option<PathBuf>,
    /// files to scan; - reads standard input
    #[argh(positional)]
    files: Vec<String>,
}

impl Scan {
    pub fn run(self) -> Result<u8> {
        let ctx = Context::load(self.home.as_deref(), self.config.as_deref())?;
        let direction = match self.direction.as_deref() {
            None => None,
            Some("outbound") => Some(Direction::Outbound),
            Some("inbound") => Some(Direction::Inbound),
            Some(other) => {
                return Err(Error::usage(format!(
                    "--direction {other:?} must be outbound or inbound"
                )))
            }
        };
        if self.files.is_empty() {
            return Err(Error::usage(
                "scan needs at least one FILE (or - for standard input)",
            ));
        }
        let registry = Registry::new(ctx.config.registry_options())
            .map_err(|e| Error::usage(e.to_string()))?;
        let mut dedup = Dedup::new(ctx.config.dedup_window.as_millis() as u64, DEFAULT_CAPACITY);
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let mut failed = false;
        if !self.json {
            let _ = writeln!(out, "{}", table::HEADER);
        }
        for name in &self.files {
            let data = match read_input(name) {
                Ok(d) => d,
                Err(e) => {
                    crate::diag!("guardian: cannot read {name}: {e}");
                    failed = true;
                    continue;
                }
            };
            let dir = direction.unwrap_or_else(|| sniff_direction(&data));
            let run = run_stream(&registry, dir, &data, ctx.config.max_scan_bytes);
            if let Some((offset, reason)) = &run.error {
                crate::diag!("guardian: {name}: not valid HTTP/1.1 at byte {offset}: {reason}; findings before it are shown");
            }
            let now = SystemTime::now();
            let now_ms = unix_millis(now);
            for d in run.detections {
                if !dedup.admit(d.dedup_key(), now_ms) {
                    continue;
                }
                let finding = d.into_finding(ctx.config.platform, Protocol::Http, "-", now);
                let line = if self.json {
                    serde_json::to_string(&finding).map_err(|e| Error::runtime(e.to_string()))?
                } else {
                    table::row(&finding)
                };
                if writeln!(out, "{line}").is_err() {
                    // Broken pipe (e.g. `| head`) is not an error.
                    return Ok(0);
                }
            }
        }
        Ok(if failed { 1 } else { 0 })
    }
}

fn read_input(name: &str) -> std::io::Result<Vec<u8>> {
    if name == "-" {
        let mut data = Vec::new();
        std::io::stdin().read_to_end(&mut data)?;
        Ok(data)
    } else {
        std::fs::read(name)
    }
}
