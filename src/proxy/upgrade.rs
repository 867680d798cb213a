//! The relay of a connection upgraded by an honoured `101 Switching Protocols`: the bytes each
//! side sent after the heads first, then both directions copied unchanged until either side
//! closes or is idle for the idle timeout. One function, given both directions' byte streams
//! and the request/response heads, so inspection of the upgraded protocol hooks in here.

use guardian_parser::session::Upgrade;

use super::connection::write_flush;
use super::tunnel::copy_until_idle;
use super::{BoxRead, BoxWrite, Shared};

/// Relays an upgraded connection until it ends.
pub async fn relay(
    shared: &Shared,
    client: (BoxRead, BoxWrite),
    upstream: (BoxRead, BoxWrite),
    upgrade: &Upgrade,
) {
    let (client_r, mut client_w) = client;
    let (upstream_r, mut upstream_w) = upstream;
    if write_flush(&mut client_w, &upgrade.from_upstream)
        .await
        .is_err()
        || write_flush(&mut upstream_w, &upgrade.from_client)
            .await
            .is_err()
    {
        return;
    }
    let up = copy_until_idle(shared, client_r, &mut upstream_w);
    let down = copy_until_idle(shared, upstream_r, &mut client_w);
    futures_lite::future::zip(up, down).await;
}
