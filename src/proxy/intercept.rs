//! A CONNECT with inspection: answer 200, terminate TLS with a leaf for the CONNECT host, then
//! serve the HTTP inside exactly like plain HTTP (same pumps, same core), with `protocol:
//! "https"` and an upstream TLS connection that verifies the origin.
//!
//! The first byte inside the tunnel decides: a TLS record starts with 0x16 (handshake); any
//! other byte is a client speaking plain HTTP through CONNECT (Node 24 tunnels `http://` URLs
//! that way), served as plain HTTP to the CONNECT authority with `protocol: "http"`.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use guardian_parser::finding::Protocol;
use rustls_pki_types::ServerName;

use crate::counters::add;
use crate::proxy::{connection, BoxRead, BoxWrite, Shared};
use crate::runtime;

/// The client's halves joined again (bytes already read first), for the TLS acceptor.
struct Joined {
    prefix: Vec<u8>,
    at: usize,
    reader: BoxRead,
    writer: BoxWrite,
}

impl AsyncRead for Joined {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if self.at < self.prefix.len() {
            let n = buf.len().min(self.prefix.len() - self.at);
            buf[..n].copy_from_slice(&self.prefix[self.at..self.at + n]);
            self.at += n;
            return Poll::Ready(Ok(n));
        }
        Pin::new(&mut self.reader).poll_read(cx, buf)
    }
}

impl AsyncWrite for Joined {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.writer).poll_write(cx, buf)
    }
    /// rustls hands over every record it has sealed at once: one `writev`, not one per record.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.writer).poll_write_vectored(cx, bufs)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.writer).poll_flush(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.writer).poll_close(cx)
    }
}

/// The first byte of a TLS connection: a handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// Intercepts one CONNECT to `host:port`.
pub async fn intercept(
    shared: Arc<Shared>,
    mut reader: BoxRead,
    writer: BoxWrite,
    source: &str,
    host: &str,
    port: u16,
    mut leftover: Vec<u8>,
) {
    let Some(tls) = shared.tls.clone() else {
        return;
    };
    let mut writer = writer;
    if writer
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await
        .is_err()
    {
        return;
    }
    if leftover.is_empty() {
        let mut first = [0u8; 1];
        match runtime::timeout(shared.config.timeouts.header, reader.read(&mut first)).await {
            Ok(1) => leftover.push(first[0]),
            _ => return,
        }
    }
    if leftover[0] != TLS_HANDSHAKE {
        let client = connection::Client {
            reader: Box::new(futures_lite::io::Cursor::new(leftover).chain(reader)),
            writer,
            source: source.to_string(),
            protocol: Protocol::Http,
            origin: Some((host.to_string(), port)),
            socket: None,
        };
        return connection::serve(shared, client).await;
    }
    let config = match tls.server_config(host) {
        Ok(c) => c,
        Err(e) => {
            shared.log.line(&e.to_string());
            return;
        }
    };
    let joined = Joined {
        prefix: leftover,
        at: 0,
        reader,
        writer,
    };
    let accept = futures_rustls::TlsAcceptor::from(config).accept(joined);
    let stream = match runtime::timeout(shared.config.timeouts.header, accept).await {
        Ok(s) => s,
        Err(e) => {
            // Typically a client that does not trust the Guardian CA, or pins certificates.
            // Logged before it is counted: whoever sees the counter finds the line.
            shared.log.line(&format!("TLS with client {source} for {host} failed ({e}); if the client pins certificates, exclude {host} with NO_PROXY"));
            add(&shared.counters.tls_client_rejected, 1);
            return;
        }
    };
    add(&shared.counters.tls_intercepted, 1);
    let (r, w) = futures_lite::io::split(stream);
    let client = connection::Client {
        reader: Box::new(r),
        writer: Box::new(w),
        source: source.to_string(),
        protocol: Protocol::Https,
        origin: Some((host.to_string(), port)),
        socket: None,
    };
    connection::serve(shared, client).await;
}

/// A verified TLS connection to the origin (through the parent proxy if one is configured),
/// and the TCP socket under it (to shut the link down from either half).
pub async fn connect_origin(
    shared: &Shared,
    host: &str,
    port: u16,
) -> Result<(BoxRead, BoxWrite, runtime::TcpStream), String> {
    let Some(tls) = &shared.tls else {
        return Err("HTTPS inspection is off".into());
    };
    let (tcp, from_parent) = crate::proxy::upstream::tunnel(shared, host, port)
        .await
        .map_err(|e| e.to_string())?;
    if !from_parent.is_empty() {
        return Err(format!("parent proxy sent data before TLS to {host}"));
    }
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| format!("{host} is not a valid TLS server name: {e}"))?;
    let socket = tcp.clone();
    let connector = futures_rustls::TlsConnector::from(tls.client.clone());
    let stream = runtime::timeout(shared.config.timeouts.connect, connector.connect(name, tcp))
        .await
        .map_err(|e| format!("TLS to upstream {host}:{port} failed: {e}"))?;
    let (r, w) = futures_lite::io::split(stream);
    Ok((Box::new(r), Box::new(w), socket))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that takes everything and records how many slices each write offered.
    struct Slices(std::sync::Arc<std::sync::Mutex<Vec<usize>>>);

    impl AsyncWrite for Slices {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.0.lock().expect("lock").push(1);
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_write_vectored(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            self.0.lock().expect("lock").push(bufs.len());
            Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn sealed_records_reach_the_client_socket_in_one_write() {
        let offered = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut joined = Joined {
            prefix: Vec::new(),
            at: 0,
            reader: Box::new(futures_lite::io::empty()),
            writer: Box::new(Slices(offered.clone())),
        };
        let records = [[1u8; 100], [2u8; 100], [3u8; 100]];
        let slices: Vec<io::IoSlice<'_>> = records.iter().map(|r| io::IoSlice::new(r)).collect();
        let n = runtime::block_on(futures_lite::AsyncWriteExt::write_vectored(
            &mut joined,
            &slices,
        ))
        .expect("written");
        assert_eq!(n, 300);
        assert_eq!(*offered.lock().expect("lock"), [3]);
    }
}
