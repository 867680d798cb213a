//! The proxy part of `guardian bench`: the same workload through a loopback proxy to a
//! loopback origin, and directly to the origin, in one run (so the ratio is meaningful), each
//! over the same number of concurrent keep-alive connections (the workload's exchanges dealt
//! round-robin, pipelined on each connection), plus keep-alive small requests per second.

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
    /// Concurrent connections each run used.
    pub connections: usize,
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

/// Default of `--connections`: a handful, like an agent's HTTP client pool.
pub const DEFAULT_CONNECTIONS: usize = 8;

/// Runs the proxy benchmark over `connections` concurrent connections.
pub fn run(workload: &Workload, small_requests: usize, connections: usize) -> Result<ProxyRun> {
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

    let total = (workload.requests.len() + workload.responses.len()) as f64 / (1u64 << 20) as f64;
    let connections = connections.clamp(1, requests.len().max(1));
    // Exchange i goes to connection i % connections, so both runs carry identical traffic.
    let deal = |form: &dyn Fn(&[u8]) -> Vec<u8>| -> Vec<Vec<u8>> {
        let mut streams = vec![Vec::new(); connections];
        for (i, r) in requests.iter().enumerate() {
            streams[i % connections].extend_from_slice(&form(r));
        }
        streams
    };
    let counts: Vec<usize> = (0..connections)
        .map(|c| (c..requests.len()).step_by(connections).count())
        .collect();
    let timed = |addr: SocketAddr, streams: Vec<Vec<u8>>| -> Result<f64> {
        let start = Instant::now();
        let tasks: Vec<_> = streams
            .into_iter()
            .zip(counts.iter().copied())
            .map(|(stream, n)| {
                runtime::spawn(async move {
                    let kinds = vec![RequestKind::Other; n];
                    let (_, complete) = loopback::exchange(addr, &stream, &kinds).await?;
                    Ok::<_, std::io::Error>((complete, n))
                })
            })
            .collect();
        for t in tasks {
            let (complete, n) = runtime::block_on(t)
                .map_err(|e| Error::runtime(format!("bench exchange failed: {e}")))?;
            if complete != n {
                return Err(Error::runtime(format!(
                    "bench: {complete} of {n} responses arrived on one connection"
                )));
            }
        }
        Ok(total / start.elapsed().as_secs_f64().max(1e-9))
    };
    let direct_mb_per_s = timed(origin, deal(&to_origin_form))?;
    let proxy_mb_per_s = timed(proxy, deal(&|r: &[u8]| r.to_vec()))?;

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
        connections,
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
