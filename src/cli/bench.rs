//! `guardian bench`: the user-facing throughput check (SPEC §10).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use argh::FromArgs;
use guardian_parser::scan::{Direction, Registry};
use serde_json::json;

use super::Context;
use crate::bench::core::{peak_rss_bytes, run_stream, sniff_direction};
use crate::bench::workload;
use crate::error::{Error, Result};

/// Measure throughput of the core (framing + decode + scan) on a deterministic mixed workload.
#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand, name = "bench")]
pub struct Bench {
    /// megabytes of generated traffic (default 64)
    #[argh(option, default = "64")]
    mb: usize,
    /// only benchmark the core, not the proxy
    #[argh(switch)]
    core_only: bool,
    /// benchmark the core on this file of raw HTTP/1.1 messages instead
    #[argh(option)]
    input: Option<PathBuf>,
    /// print one JSON object as the last line
    #[argh(switch)]
    json: bool,
    /// guardian home directory
    #[argh(option)]
    home: Option<PathBuf>,
    /// configuration file
    #[argh(option)]
    config: Option<PathBuf>,
}

impl Bench {
    pub fn run(self) -> Result<u8> {
        if !(1..=4096).contains(&self.mb) {
            return Err(Error::usage(format!(
                "--mb {} must be from 1 to 4096",
                self.mb
            )));
        }
        if !self.core_only {
            return Err(Error::usage(
                "the proxy benchmark is not built yet; pass --core-only to benchmark the detection core",
            ));
        }
        let ctx = Context::load(self.home.as_deref(), self.config.as_deref())?;
        let registry = Registry::new(ctx.config.registry_options())
            .map_err(|e| Error::usage(e.to_string()))?;
        let progress = std::io::stderr().is_terminal() && !self.json;
        let (streams, seeded): (Vec<(Direction, Vec<u8>)>, Option<usize>) = match &self.input {
            Some(path) => {
                let data = std::fs::read(path)
                    .map_err(|e| Error::runtime(format!("cannot read {}: {e}", path.display())))?;
                (vec![(sniff_direction(&data), data)], None)
            }
            None => {
                if progress {
                    eprint!("generating {} MB of mixed traffic…\r", self.mb);
                }
                let w = workload::generate(self.mb << 20, 7, 0x6775_6172_6469_616e);
                (
                    vec![
                        (Direction::Outbound, w.requests),
                        (Direction::Inbound, w.responses),
                    ],
                    Some(w.seeded),
                )
            }
        };
        let total: usize = streams.iter().map(|(_, s)| s.len()).sum();
        let mut found = 0usize;
        let mut elapsed = std::time::Duration::ZERO;
        for (i, (direction, stream)) in streams.iter().enumerate() {
            if progress {
                eprint!(
                    "core: stream {}/{} ({:?}, {} MB)…          \r",
                    i + 1,
                    streams.len(),
                    direction,
                    stream.len() >> 20
                );
            }
            let run = run_stream(&registry, *direction, stream, ctx.config.max_scan_bytes);
            if let Some((offset, reason)) = run.error {
                return Err(Error::runtime(format!(
                    "input is not valid HTTP/1.1 at byte {offset}: {reason}"
                )));
            }
            found += run.detections.len();
            elapsed += run.elapsed;
        }
        if progress {
            eprintln!("{:60}", "");
        }
        let mb_per_s = total as f64 / (1 << 20) as f64 / elapsed.as_secs_f64().max(1e-9);
        let summary = json!({
            "core_mb_per_s": (mb_per_s * 10.0).round() / 10.0,
            "core_bytes": total,
            "proxy_mb_per_s": null,
            "proxy_requests_per_s": null,
            "seeded": seeded,
            "found": found,
            "peak_rss_bytes": peak_rss_bytes(),
        });
        let mut out = std::io::stdout().lock();
        if !self.json {
            let _ = writeln!(
                out,
                "core (framing + decode + scan, 1 thread): {mb_per_s:.1} MB/s over {} MB",
                total >> 20
            );
            match seeded {
                Some(s) => {
                    let _ = writeln!(out, "findings: {found} found / {s} seeded");
                }
                None => {
                    let _ = writeln!(out, "findings: {found}");
                }
            }
            if let Some(rss) = peak_rss_bytes() {
                let _ = writeln!(
                    out,
                    "peak RSS: {:.1} MiB (includes the generated workload held in memory)",
                    rss as f64 / (1 << 20) as f64
                );
            }
        }
        let _ = writeln!(out, "{summary}");
        Ok(if seeded.is_some_and(|s| s != found) {
            1
        } else {
            0
        })
    }
}
