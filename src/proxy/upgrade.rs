//! The relay of a connection upgraded by an honoured `101 Switching Protocols`: the bytes each
//! side sent after the heads first, then both directions copied unchanged until either side
//! closes or is idle for the idle timeout. One function, given both directions' byte streams
//! and the request/response heads; a WebSocket upgrade is also fed to its inspection
//! ([`super::websocket`]), every other upgrade is relayed blind (counted).

use std::sync::Arc;

use guardian_parser::finding::Protocol;
use guardian_parser::scan::Direction;
use guardian_parser::session::Upgrade;

use super::connection::write_flush;
use super::tunnel::copy_until_idle;
use super::websocket;
use super::{BoxRead, BoxWrite, Shared};

/// Relays an upgraded connection until it ends.
pub async fn relay(
    shared: &Arc<Shared>,
    client: (BoxRead, BoxWrite, &str, Protocol),
    upstream: (BoxRead, BoxWrite),
    upgrade: &Upgrade,
) {
    let (client_r, mut client_w, source, protocol) = client;
    let (upstream_r, mut upstream_w) = upstream;
    let tap = websocket::on_switch(
        shared,
        websocket::asks_websocket(&upgrade.request),
        &upgrade.response,
        source,
        protocol,
        &upgrade.dest,
    );
    if write_flush(&mut client_w, &upgrade.from_upstream)
        .await
        .is_err()
        || write_flush(&mut upstream_w, &upgrade.from_client)
            .await
            .is_err()
    {
        return;
    }
    websocket::feed(tap.as_ref(), Direction::Inbound, &upgrade.from_upstream);
    websocket::feed(tap.as_ref(), Direction::Outbound, &upgrade.from_client);
    let client_r = websocket::observed(client_r, tap.clone(), Direction::Outbound);
    let upstream_r = websocket::observed(upstream_r, tap.clone(), Direction::Inbound);
    let up = copy_until_idle(shared, client_r, &mut upstream_w);
    let down = copy_until_idle(shared, upstream_r, &mut client_w);
    futures_lite::future::zip(up, down).await;
    websocket::end(tap.as_ref(), Direction::Outbound);
    websocket::end(tap.as_ref(), Direction::Inbound);
}
