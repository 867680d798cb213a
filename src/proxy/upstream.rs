//! Connecting upstream: `resolve` overrides, the parent proxy (`upstream_proxy`), CONNECT
//! through it, and timeouts, with errors that name the upstream.

use std::fmt;
use std::io;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use guardian_parser::framing::{Event, Framer, RequestKind, Role};

use super::Shared;
use crate::runtime::{self, TcpStream};
pub use guardian_parser::session::route::{authority, split_authority};

/// Why an upstream could not be used.
#[derive(Debug)]
pub enum UpstreamError {
    /// No connection within the connect timeout (504).
    Timeout(String, Duration),
    /// Connection refused, unreachable, DNS failure… (502).
    Failed(String, io::Error),
    /// The parent proxy answered CONNECT with this status (502).
    ParentRefused(String, u16),
}

impl UpstreamError {
    /// Counts this failure: a timeout, or an upstream error.
    pub fn count(&self, counters: &crate::counters::Counters) {
        let counter = match self {
            UpstreamError::Timeout(..) => &counters.timeouts,
            _ => &counters.upstream_errors,
        };
        crate::counters::add(counter, 1);
    }

    /// The status to answer with and its reason phrase.
    pub fn status(&self) -> (u16, &'static str) {
        match self {
            UpstreamError::Timeout(..) => (504, "Gateway Timeout"),
            _ => (502, "Bad Gateway"),
        }
    }
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpstreamError::Timeout(who, limit) => {
                let limit = humantime::format_duration(*limit);
                write!(
                    f,
                    "upstream {who} did not accept a connection within {limit}"
                )
            }
            UpstreamError::Failed(who, e) => write!(f, "cannot connect to upstream {who}: {e}"),
            UpstreamError::ParentRefused(who, status) => {
                write!(f, "parent proxy {who} refused CONNECT with status {status}")
            }
        }
    }
}

/// A TCP connection to where requests for `host:port` go: the parent proxy if one is
/// configured, else the origin (through `resolve` if it names it).
pub async fn connect(shared: &Shared, host: &str, port: u16) -> Result<TcpStream, UpstreamError> {
    if let Some(parent) = &shared.config.upstream_proxy {
        let (phost, pport) = split_authority(parent, 8080).ok_or_else(|| {
            UpstreamError::Failed(
                parent.clone(),
                io::Error::new(io::ErrorKind::InvalidInput, "bad parent proxy address"),
            )
        })?;
        return dial(shared, &phost, pport, parent).await;
    }
    dial(shared, host, port, &authority(host, port)).await
}

async fn dial(
    shared: &Shared,
    host: &str,
    port: u16,
    label: &str,
) -> Result<TcpStream, UpstreamError> {
    let key = authority(host, port);
    let limit = shared.config.timeouts.connect;
    let result = match shared.config.resolve.get(&key) {
        Some(addr) => runtime::connect_addr(*addr, limit).await,
        None => runtime::connect(host, port, limit).await,
    };
    result.map_err(|e| match e.kind() {
        io::ErrorKind::TimedOut => UpstreamError::Timeout(label.to_string(), limit),
        _ => UpstreamError::Failed(label.to_string(), e),
    })
}

/// A tunnel to `host:port`: direct, or through the parent proxy's CONNECT. Returns the stream
/// and any bytes the parent sent after its response head.
pub async fn tunnel(
    shared: &Shared,
    host: &str,
    port: u16,
) -> Result<(TcpStream, Vec<u8>), UpstreamError> {
    let mut stream = connect(shared, host, port).await?;
    let Some(parent) = shared.config.upstream_proxy.clone() else {
        return Ok((stream, Vec::new()));
    };
    let target = authority(host, port);
    let request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
    let fail = |e: io::Error| UpstreamError::Failed(parent.clone(), e);
    stream.write_all(request.as_bytes()).await.map_err(fail)?;
    let mut framer = Framer::new(Role::Response);
    framer.expect_response(RequestKind::Connect);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = runtime::timeout(shared.config.timeouts.connect, stream.read(&mut buf))
            .await
            .map_err(fail)?;
        if n == 0 {
            return Err(fail(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "parent proxy closed during CONNECT",
            )));
        }
        let step = framer.feed(&buf[..n]);
        match step.event {
            Some(Event::Head(head)) => {
                let status = head.status().unwrap_or(0);
                if !(200..300).contains(&status) {
                    return Err(UpstreamError::ParentRefused(parent, status));
                }
                return Ok((stream, buf[step.consumed..n].to_vec()));
            }
            Some(Event::Error(e)) => {
                return Err(fail(io::Error::new(
                    io::ErrorKind::InvalidData,
                    e.to_string(),
                )));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_authority;

    #[test]
    fn routing_splits_through_the_one_authority_parser() {
        assert_eq!(
            split_authority("User@Example.com", 80),
            Some(("example.com".into(), 80))
        );
        assert_eq!(
            split_authority("[::1]:8443", 443),
            Some(("::1".into(), 8443))
        );
        for hostile in [
            "",
            "[::1",
            "host:99999",
            "a@b@c",
            "a b:80",
            "::1:443",
            "host:0",
        ] {
            assert_eq!(split_authority(hostile, 80), None, "{hostile:?}");
        }
    }
}
