//! `guardian bench`: the user-facing throughput check (SPEC §10).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use argh::FromArgs;
use guardian_parser::scan::{Direction, Registry};
use serde_json::json;

use super::Context;
use crate::bench::core::{peak_rss_bytes, run_stream, sniff_direction};
use crate::bench::proxy::ProxyRun;
use crate::bench::workload::{self, Workload};
use crate::error::{Error, Result};

/// Measure throughput: the detection core on a deterministic mixed workload, then the same
/// workload through a loopback proxy.
#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand, name = "bench")]
pub struct Bench {
    /// megabytes of generated traffic (default 64)
    #[argh(option, default = "64")]
    mb: usize,
    /// concurrent keep-alive connections for the proxy and direct runs (default 8)
    #[argh(option, default = "crate::bench::proxy::DEFAULT_CONNECTIONS")]
    connections: usize,
    /// only benchmark the core, not the proxy
    #[argh(switch)]
    core_only: bool,
    /// benchmark the core on this file of raw HTTP/1.1 messages instead (implies --core-only)
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

/// What the core run measured.
struct CoreRun {
    bytes: usize,
    elapsed: Duration,
    found: usize,
}

impl Bench {
    pub fn run(self) -> Result<u8> {
        if !(1..=4096).contains(&self.mb) {
            return Err(Error::usage(format!(
                "--mb {} must be from 1 to 4096",
                self.mb
            )));
        }
        if !(1..=256).contains(&self.connections) {
            return Err(Error::usage(format!(
                "--connections {} must be from 1 to 256",
                self.connections
            )));
        }
        let ctx = Context::load(self.home.as_deref(), self.config.as_deref())?;
        let registry = Registry::new(ctx.config.registry_options())
            .map_err(|e| Error::usage(e.to_string()))?;
        let progress = std::io::stderr().is_terminal() && !self.json;
        let say = |s: &str| {
            if progress {
                crate::diag::stderr_text(format_args!("{s:<72}\r"));
            }
        };
        let (streams, workload): (Vec<(Direction, Vec<u8>)>, Option<Workload>) = match &self.input {
            Some(path) => {
                let data = std::fs::read(path)
                    .map_err(|e| Error::runtime(format!("cannot read {}: {e}", path.display())))?;
                (vec![(sniff_direction(&data), data)], None)
            }
            None => {
                say(&format!("generating {} MB of mixed traffic…", self.mb));
                let w = workload::generate(self.mb << 20, 7, 0x6775_6172_6469_616e);
                (
                    vec![
                        (Direction::Outbound, w.requests.clone()),
                        (Direction::Inbound, w.responses.clone()),
                    ],
                    Some(w),
                )
            }
        };
        let mut core = CoreRun {
            bytes: 0,
            elapsed: Duration::ZERO,
            found: 0,
        };
        for (i, (direction, stream)) in streams.iter().enumerate() {
            say(&format!(
                "core: stream {}/{} ({:?}, {} MB)…",
                i + 1,
                streams.len(),
                direction,
                stream.len() >> 20
            ));
            let run = run_stream(&registry, *direction, stream, ctx.config.max_scan_bytes);
            if let Some((offset, reason)) = run.error {
                return Err(Error::runtime(format!(
                    "input is not valid HTTP/1.1 at byte {offset}: {reason}"
                )));
            }
            core.bytes += stream.len();
            core.found += run.detections.len();
            core.elapsed += run.elapsed;
        }
        if let Some(w) = &workload {
            say("core: WebSocket sessions…");
            let run =
                crate::bench::websocket::run(&registry, &w.websocket, ctx.config.max_scan_bytes);
            core.bytes += run.bytes;
            core.found += run.found;
            core.elapsed += run.elapsed;
        }
        let proxy = match (&workload, self.core_only || self.input.is_some()) {
            (Some(w), false) => {
                say(&format!("proxy: the workload directly, then through a loopback proxy, over {} connections; then small requests…", self.connections));
                Some(crate::bench::proxy::run(w, 20_000, self.connections)?)
            }
            _ => None,
        };
        say("");
        let seeded = workload.as_ref().map(|w| w.seeded + w.websocket_seeded);
        self.report(
            &core,
            proxy.as_ref(),
            seeded,
            workload.as_ref().map(|w| w.seeded),
        );
        let core_ok = seeded.is_none_or(|s| s == core.found);
        // The proxy run carries the HTTP exchanges only.
        let http_seeded = workload.as_ref().map(|w| w.seeded);
        let proxy_ok = proxy.as_ref().is_none_or(|p| Some(p.found) == http_seeded);
        Ok(if core_ok && proxy_ok { 0 } else { 1 })
    }

    fn report(
        &self,
        core: &CoreRun,
        proxy: Option<&ProxyRun>,
        seeded: Option<usize>,
        http_seeded: Option<usize>,
    ) {
        let mb_per_s =
            core.bytes as f64 / (1u64 << 20) as f64 / core.elapsed.as_secs_f64().max(1e-9);
        let round = |x: f64| (x * 10.0).round() / 10.0;
        let mut out = std::io::stdout().lock();
        if !self.json {
            let _ = writeln!(
                out,
                "core (framing + decode + scan, 1 thread): {mb_per_s:.1} MB/s over {} MB",
                core.bytes >> 20
            );
            match seeded {
                Some(s) => {
                    let _ = writeln!(out, "findings (core): {} found / {s} seeded", core.found);
                }
                None => {
                    let _ = writeln!(out, "findings (core): {}", core.found);
                }
            }
            if let Some(p) = proxy {
                let _ = writeln!(
                    out,
                    "proxy (loopback, same workload, {} keep-alive connections): {:.1} MB/s vs {:.1} MB/s direct to the same origin",
                    p.connections, p.proxy_mb_per_s, p.direct_mb_per_s
                );
                let _ = writeln!(
                    out,
                    "proxy / direct: {:.2}; {:.0} small keep-alive requests/s via the proxy; {} findings via the proxy",
                    ratio(p),
                    p.requests_per_s,
                    p.found
                );
            }
            if let Some(rss) = peak_rss_bytes() {
                let _ = writeln!(
                    out,
                    "peak RSS: {:.1} MiB (includes the generated workload held in memory)",
                    rss as f64 / (1u64 << 20) as f64
                );
            }
        }
        let summary = json!({
            "core_mb_per_s": round(mb_per_s),
            "core_bytes": core.bytes,
            "proxy_mb_per_s": proxy.map(|p| round(p.proxy_mb_per_s)),
            "direct_mb_per_s": proxy.map(|p| round(p.direct_mb_per_s)),
            "proxy_vs_direct": proxy.map(|p| (ratio(p) * 1000.0).round() / 1000.0),
            "connections": proxy.map(|p| p.connections),
            "proxy_requests_per_s": proxy.map(|p| p.requests_per_s.round()),
            "seeded": seeded,
            "found": core.found,
            "proxy_found": proxy.map(|p| p.found),
            // The proxy run carries the HTTP exchanges, not the WebSocket sessions.
            "proxy_seeded": proxy.and(http_seeded),
            "proxy_counters": proxy.map(|p| p.counters.clone()),
            "peak_rss_bytes": peak_rss_bytes(),
        });
        let _ = writeln!(out, "{summary}");
    }
}

/// Proxy throughput as a fraction of direct throughput, measured in the same run.
fn ratio(p: &ProxyRun) -> f64 {
    p.proxy_mb_per_s / p.direct_mb_per_s.max(1e-9)
}
