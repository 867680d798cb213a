//! The proxy part of `guardian bench`: the same workload through a loopback proxy to a
//! loopback origin, and directly to the origin, in one run (so the ratio is meaningful), plus
//! keep-alive small requests per second.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use guardian_parser::framing::{Event, Framer, RequestKind, Role};

use crate::bench::workload::Workload;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::home;
use crate::loopback;
use crate::proxy::runtime;
use crate::service::Service;

/// What the proxy run measured.
#[derive(Debug, Clone)]
pub struct ProxyRun {
    /// Workload bytes (both directions) per second through the proxy, in MB/s.
    pub proxy_mb_per_s: f64,
    /// The same directly to the origin, in MB/s.
    pub direct_mb_per_s: f64,
    /// Small keep-alive requests per second through the proxy.
    pub requests_per_s: f64,
    /// Findings the proxy wrote.
    pub found: usize,
    /// The proxy's counters at the end of the run.
    pub counters: serde_json::Value,
}

/// Splits a stream of messages of one role into one element per message, in order.
fn split_messages(role: Role, stream: &[u8]) -> Vec<Vec<u8>> {
    let mut framer = Framer::new(role);
    let (mut out, mut start, mut at) = (Vec::new(), 0, 0);
    loop {
        let step = framer.feed(&stream[at..]);
        at += step.consumed;
        match step.event {
            Some(Event::End) => {
                out.push(stream[start..at].to_vec());
                start = at;
            }
            None | Some(Event::Error(_)) => return out,
            Some(_) => {}
        }
    }
}

/// Runs the proxy benchmark.
pub fn run(workload: &Workload, small_requests: usize) -> Result<ProxyRun> {
    let responses = Arc::new(split_messages(Role::Response, &workload.responses));
    let requests = split_messages(Role::Request, &workload.requests);
    if requests.len() != responses.len() {
        return Err(Error::runtime(
            "bench workload: requests and responses do not pair up",
        ));
    }
    let origin_responses = responses.clone();
    let origin = loopback::origin(Arc::new(move |_, head| {
        // Workload requests name their exchange (`?n=…`), so any connection gets the right answer.
        let target = String::from_utf8_lossy(head.target()).to_string();
        let index = target
            .rsplit_once("?n=")
            .and_then(|(_, n)| n.parse::<usize>().ok());
        match index.and_then(|n| origin_responses.get(n)) {
            Some(response) => response.clone(),
            None => loopback::response("200 OK", "text/plain", "", b"ok"),
        }
    }))
    .map_err(|e| Error::runtime(format!("cannot start the bench origin: {e}")))?;

    let dir = std::env::temp_dir().join(format!("guardian-bench-{}", std::process::id()));
    let home = home::open(
        dir.clone(),
        guardian_parser::scan::Platform::Picoclaw,
        &|_| None,
    )?;
    // Every workload request names one of a few hosts; all of them resolve to the origin.
    let resolve = ["api.openai.com:80", "uploads.example:80"]
        .iter()
        .map(|h| (h.to_string(), origin))
        .collect();
    let config = Config {
        resolve,
        dedup_window: Duration::ZERO,
        ..Config::default()
    };
    let service = Service::bind(config, &home, SocketAddr::from(([127, 0, 0, 1], 0)), false)?;
    let (shared, proxy) = service.spawn();

    let kinds = vec![RequestKind::Other; requests.len()];
    let total = (workload.requests.len() + workload.responses.len()) as f64 / (1u64 << 20) as f64;
    let timed = |addr: SocketAddr, stream: Vec<u8>| -> Result<f64> {
        let start = Instant::now();
        let (_, complete) = runtime::block_on(loopback::exchange(addr, &stream, &kinds))
            .map_err(|e| Error::runtime(format!("bench exchange failed: {e}")))?;
        if complete != kinds.len() {
            return Err(Error::runtime(format!(
                "bench: {complete} of {} responses arrived",
                kinds.len()
            )));
        }
        Ok(total / start.elapsed().as_secs_f64().max(1e-9))
    };
    let direct_stream: Vec<u8> = requests
        .iter()
        .map(|r| to_origin_form(r))
        .collect::<Vec<_>>()
        .concat();
    let direct_mb_per_s = timed(origin, direct_stream)?;
    let proxy_mb_per_s = timed(proxy, workload.requests.clone())?;

    let requests_per_s = runtime::block_on(small_requests_per_s(proxy, origin, small_requests))?;
    shared.quiesce(Duration::from_secs(5));
    shared.findings.close();
    let found = crate::report::read::findings(&home.findings()).len();
    if std::env::var_os("GUARDIAN_BENCH_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let counters = shared.counters.snapshot();
    Ok(ProxyRun {
        proxy_mb_per_s,
        direct_mb_per_s,
        requests_per_s,
        found,
        counters,
    })
}

/// `POST http://host/path HTTP/1.1` → `POST /path HTTP/1.1`, for the direct run.
fn to_origin_form(request: &[u8]) -> Vec<u8> {
    let Some(start) = memchr_slice(request, b" http://") else {
        return request.to_vec();
    };
    let rest = &request[start + 8..];
    let path = rest.iter().position(|&b| b == b'/').unwrap_or(0);
    [&request[..start + 1], &rest[path..]].concat()
}

fn memchr_slice(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Keep-alive GETs of a tiny resource over 16 connections.
async fn small_requests_per_s(proxy: SocketAddr, origin: SocketAddr, total: usize) -> Result<f64> {
    const CONNECTIONS: usize = 16;
    let per = (total / CONNECTIONS).max(1);
    let start = Instant::now();
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            runtime::spawn(async move {
                let mut s = runtime::connect_addr(proxy, Duration::from_secs(10)).await?;
                let req = format!("GET http://{origin}/small HTTP/1.1\r\nHost: {origin}\r\n\r\n")
                    .into_bytes();
                let mut buf = vec![0u8; 4096];
                for _ in 0..per {
                    s.write_all(&req).await?;
                    let mut framer = Framer::new(Role::Response);
                    let mut done = false;
                    while !done {
                        let n = s.read(&mut buf).await?;
                        if n == 0 {
                            return Err(std::io::Error::new(
                                std::io::ErrorKind::UnexpectedEof,
                                "proxy closed",
                            ));
                        }
                        let mut at = 0;
                        loop {
                            let step = framer.feed(&buf[at..n]);
                            at += step.consumed;
                            match step.event {
                                Some(Event::End) => done = true,
                                None => break,
                                Some(_) => {}
                            }
                        }
                    }
                }
                Ok::<usize, std::io::Error>(per)
            })
        })
        .collect();
    let mut done = 0;
    for t in tasks {
        done += t
            .await
            .map_err(|e| Error::runtime(format!("bench small requests: {e}")))?;
    }
    Ok(done as f64 / start.elapsed().as_secs_f64().max(1e-9))
}
