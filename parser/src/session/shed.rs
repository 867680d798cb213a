//! Giving back the memory of finished messages. An inspector's buffers (the scanners' blocks
//! and their folded copies, the decoded views') grow to what the largest message needed and
//! keep that size; across thousands of idle keep-alive connections that is most of the
//! process's memory. Between messages nothing of an inspector is needed but its statistics, so
//! [`Session::shed`] replaces an inspector that has framed a body of some size with a fresh one.

use crate::inspect::Inspector;
use crate::scan::{Direction, Registry};

use super::client::ClientState;
use super::{add_stats, route, Config, LinkState, Session};

/// Body bytes an inspector may have framed and still be kept when its side goes idle: below
/// this its buffers are about as small as a fresh inspector's, and replacing it would only cost
/// time on small keep-alive exchanges.
pub const SHED_AFTER_BODY_BYTES: u64 = 4 * 1024;

/// A fresh inspector of the client's requests.
pub(super) fn client_inspector(registry: &Registry, config: &Config) -> Inspector {
    let mut inspector = Inspector::new(registry, Direction::Outbound, config.max_scan_bytes);
    if let Some((host, port)) = &config.origin {
        inspector.set_dest(Some(route::authority(host, *port)));
    }
    inspector
}

/// A fresh inspector of the responses of a link to `host:port`.
pub(super) fn link_inspector(
    registry: &Registry,
    config: &Config,
    host: &str,
    port: u16,
) -> Inspector {
    let mut inspector = Inspector::new(registry, Direction::Inbound, config.max_scan_bytes);
    inspector.set_dest(Some(route::authority(host, port)));
    inspector
}

impl Session {
    /// Gives back the buffers of finished messages: the inspector of a client side between
    /// requests (no byte of the next one read) and of every idle link gives back the decoders
    /// it keeps for a next body, and is replaced by a fresh one once it has framed more than
    /// [`SHED_AFTER_BODY_BYTES`] of bodies. Statistics are
    /// kept; what the session does next is unchanged. The shell calls it when the connection
    /// waits with nothing outstanding.
    pub fn shed(&mut self, registry: &Registry) {
        if self.client.is_over() {
            return;
        }
        let grown = |i: &Inspector| i.stats().body_bytes > SHED_AFTER_BODY_BYTES;
        if self.client.state == ClientState::Idle && self.client.pending.is_empty() {
            self.client.inspector.release_spare();
            if grown(&self.client.inspector) {
                let fresh = client_inspector(registry, &self.config);
                let old = std::mem::replace(&mut self.client.inspector, fresh);
                add_stats(&mut self.gone, old.stats());
            }
        }
        for link in &mut self.links {
            if link.state == LinkState::Idle {
                link.inspector.release_spare();
                if grown(&link.inspector) {
                    let fresh = link_inspector(registry, &self.config, &link.host, link.port);
                    let old = std::mem::replace(&mut link.inspector, fresh);
                    add_stats(&mut self.gone, old.stats());
                }
            }
        }
    }
}
