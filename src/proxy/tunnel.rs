//! Blind tunnels: CONNECT without inspection (SPEC §8: the dest is counted, content is not
//! inspected) and connections upgraded by a `101` response. Bytes go both ways unchanged until
//! either side closes or both are idle for the idle timeout.

use std::sync::Arc;

use futures_lite::{AsyncReadExt, AsyncWriteExt};

use guardian_parser::session::rewrite;

use super::connection::{write_flush, write_flush_within};
use super::links::{ReadBuf, READ_BUF};
use super::upstream;
use super::{BoxRead, BoxWrite, Shared};
use crate::counters::add;
use crate::runtime;

/// Opens a tunnel for a CONNECT request and relays it.
pub async fn open(
    shared: Arc<Shared>,
    client_reader: BoxRead,
    client_writer: BoxWrite,
    source: &str,
    host: &str,
    port: u16,
    leftover: Vec<u8>,
) {
    let dest = upstream::authority(host, port);
    let (stream, from_parent) = match upstream::tunnel(&shared, host, port).await {
        Ok(ok) => ok,
        Err(e) => {
            e.count(&shared.counters);
            shared
                .log
                .line(&format!("CONNECT {dest} from {source}: {e}"));
            let (status, reason) = e.status();
            let mut w = client_writer;
            let _ = write_flush(&mut w, &rewrite::synthetic(status, reason, &e.to_string())).await;
            let _ = w.close().await;
            return;
        }
    };
    add(&shared.counters.tunnels, 1);
    shared
        .log
        .line(&format!("tunnel {source} -> {dest} (not inspected)"));
    let mut client_w = client_writer;
    let mut upstream_w: BoxWrite = Box::new(stream.clone());
    let established = b"HTTP/1.1 200 Connection established\r\n\r\n";
    let mut hello = established.to_vec();
    hello.extend_from_slice(&from_parent);
    if write_flush(&mut client_w, &hello).await.is_err()
        || write_flush(&mut upstream_w, &leftover).await.is_err()
    {
        return;
    }
    let upstream_r: BoxRead = Box::new(stream);
    let up = copy_until_idle(&shared, client_reader, &mut upstream_w);
    let down = copy_until_idle(&shared, upstream_r, &mut client_w);
    futures_lite::future::zip(up, down).await;
}

/// Copies `from` → `to` until EOF, an error, or the idle timeout; then closes `to`'s write side.
pub async fn copy_until_idle<W>(shared: &Shared, mut from: BoxRead, to: &mut W)
where
    W: futures_lite::AsyncWrite + Unpin + ?Sized,
{
    let idle = shared.config.timeouts.idle;
    // 1 KiB while the tunnel is quiet, up to READ_BUF while data streams (`ReadBuf::fit`): a
    // held-open tunnel no longer keeps 64 KiB per direction.
    let mut buf = ReadBuf::new();
    loop {
        let n = match runtime::timeout(idle, from.read(buf.space())).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if write_flush_within(to, buf.filled(n), idle).await.is_err() {
            break;
        }
        add(&shared.counters.tunnel_bytes, n as u64);
        buf.fit(n, READ_BUF);
    }
    let _ = to.close().await;
}
