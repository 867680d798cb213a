//! One upstream link of a session and its response side: frames and scans responses, relays
//! them (heads rewritten, bodies byte for byte) with the framing each request needs (HEAD,
//! 1xx, 101), and closes a link that sends bytes no request asked for.

use std::time::Instant;

use crate::framing::{Event, Head, Section};
use crate::inspect::Inspector;
use crate::scan::Registry;

use super::client::ClientState;
use super::route::authority;
use super::{rewrite, Action, Expected, LinkId, Session, Upgrade};

/// Upstream bytes held after an honoured `101` until the client side finishes its request.
const MAX_HELD: usize = 64 * 1024;

/// What a link is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// The shell is connecting it.
    Connecting,
    /// Connected, nothing outstanding (active or parked).
    Idle,
    /// A request was sent; its final response has not started (interim ones may have come).
    Awaiting,
    /// The final response is being relayed.
    Responding {
        /// The connection closes after it.
        close_after: bool,
    },
    /// A `101` was relayed; the relay starts once the client side finished its request.
    Switched,
}

impl LinkState {
    /// Whether part of a response went to the client already (ending now cuts it short).
    pub fn mid_response(self) -> bool {
        matches!(self, LinkState::Responding { .. } | LinkState::Switched)
    }
}

#[derive(Debug)]
pub(super) struct Link {
    pub(super) id: LinkId,
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) state: LinkState,
    pub(super) inspector: Inspector,
    expected: Option<Expected>,
    /// Last time the link sent bytes (or was sent a request): the response timeout runs from it.
    pub(super) last_read: Instant,
    /// When the first byte of a response head that has not ended came: the `header` timeout
    /// runs from it (a head dripped a byte at a time is bounded like a client's).
    pub(super) head_since: Option<Instant>,
    /// After a `101`: its head and the bytes that followed it.
    switched: Option<(Box<Head>, Vec<u8>)>,
}

impl Link {
    pub(super) fn new(
        id: LinkId,
        host: &str,
        port: u16,
        inspector: Inspector,
        now: Instant,
    ) -> Self {
        Link {
            id,
            host: host.to_string(),
            port,
            state: LinkState::Connecting,
            inspector,
            expected: None,
            last_read: now,
            head_since: None,
            switched: None,
        }
    }

    /// A request goes out on this link.
    pub(super) fn send(&mut self, expected: Expected, now: Instant) {
        self.inspector.framer_mut().expect_response(expected.kind);
        self.expected = Some(expected);
        self.state = LinkState::Awaiting;
        self.last_read = now;
        self.head_since = None;
    }

    pub(super) fn is_busy(&self) -> bool {
        matches!(
            self.state,
            LinkState::Awaiting | LinkState::Responding { .. } | LinkState::Switched
        )
    }

    pub(super) fn awaits_bytes(&self) -> bool {
        matches!(
            self.state,
            LinkState::Awaiting | LinkState::Responding { .. }
        )
    }

    pub(super) fn readable(&self) -> bool {
        match self.state {
            LinkState::Connecting => false,
            LinkState::Switched => self.switched.as_ref().is_some_and(|s| s.1.len() < MAX_HELD),
            _ => true,
        }
    }

    pub(super) fn asked_upgrade(&self) -> bool {
        self.expected.as_ref().is_some_and(|e| e.upgrade.is_some())
    }

    /// Whether a `101` switches to what the request offered: its `Upgrade` names at least one
    /// protocol, and each one it names is among the request's (RFC 9110 §7.8). An origin
    /// picking another protocol (or none) would turn the stream into a relay nobody asked for.
    fn switch_agreed(&self, response: &Head) -> bool {
        let Some(request) = self.expected.as_ref().and_then(|e| e.upgrade.as_deref()) else {
            return false;
        };
        let name = |p: &[u8]| -> Vec<u8> {
            let name = p.split(|&b| b == b'/').next().unwrap_or(p);
            name.to_ascii_lowercase()
        };
        let offered: Vec<Vec<u8>> = request
            .header_values("upgrade")
            .flat_map(crate::framing::tokens)
            .map(name)
            .collect();
        let mut chosen = response
            .header_values("upgrade")
            .flat_map(crate::framing::tokens)
            .peekable();
        chosen.peek().is_some() && chosen.all(|p| offered.contains(&name(p)))
    }

    fn dest(&self) -> String {
        authority(&self.host, self.port)
    }
}

impl Session {
    /// Bytes from an upstream link.
    pub fn handle_upstream(
        &mut self,
        registry: &Registry,
        link: LinkId,
        bytes: &[u8],
        now: Instant,
    ) {
        let Some(i) = self.link_index(link) else {
            return;
        };
        if self.client.is_over() || bytes.is_empty() {
            return;
        }
        match self.links[i].state {
            LinkState::Idle | LinkState::Connecting => return self.unsolicited(link),
            LinkState::Switched => {
                // Held for the relay. The session waits for the client to finish its request
                // (the idle timeout runs from the client's last bytes): an origin that keeps
                // talking does not keep that wait open.
                if let Some((_, held)) = &mut self.links[i].switched {
                    held.extend_from_slice(bytes);
                }
                return;
            }
            _ => {}
        }
        self.last_activity = now;
        self.links[i].last_read = now;
        let mut at = 0;
        // Where the last response head in these bytes ended.
        let mut head_end = None;
        loop {
            let Some(i) = self.link_index(link) else {
                return;
            };
            let step = self.links[i].inspector.feed(registry, &bytes[at..]);
            let consumed = at..at + step.consumed;
            at += step.consumed;
            self.collect(Some(i));
            if matches!(step.section, Section::Body | Section::Tunnel) && !consumed.is_empty() {
                self.relay_client(link, bytes, consumed);
            }
            match step.event {
                None => {
                    // Every byte is in. While the final head is awaited, one is under way
                    // unless the last head ended with these bytes.
                    let link = &mut self.links[i];
                    if link.state == LinkState::Awaiting {
                        link.head_since = match head_end {
                            Some(end) if end == bytes.len() => None,
                            Some(_) => Some(now),
                            None => Some(link.head_since.unwrap_or(now)),
                        };
                    }
                    break;
                }
                Some(Event::Head(h)) => {
                    head_end = Some(at);
                    self.links[i].head_since = None;
                    if !self.on_response_head(i, h) {
                        return;
                    }
                }
                Some(Event::End) => match self.links[i].state {
                    LinkState::Awaiting => {} // the end of an interim response
                    LinkState::Switched => {
                        self.tally.responses += 1;
                        if let Some((_, held)) = &mut self.links[i].switched {
                            held.extend_from_slice(&bytes[at..]);
                        }
                        if matches!(self.client.state, ClientState::AwaitUpgrade { link: l } if l == link)
                        {
                            self.start_upgrade(link);
                        }
                        return;
                    }
                    LinkState::Responding { close_after } => {
                        self.tally.responses += 1;
                        self.links[i].state = LinkState::Idle;
                        self.links[i].expected = None;
                        if close_after {
                            self.drop_link(link);
                            return self.close();
                        }
                        if at < bytes.len() {
                            self.unsolicited(link);
                        }
                        return self.progress(registry, now);
                    }
                    LinkState::Idle | LinkState::Connecting => return self.unsolicited(link),
                },
                Some(Event::Error(e)) => {
                    self.tally.framing_errors += 1;
                    let dest = self.links[i].dest();
                    self.log(format!("upstream {dest} sent invalid HTTP: {e}"));
                    if self.links[i].state.mid_response() {
                        return self.cut_short();
                    }
                    if self.links[i].state == LinkState::Awaiting {
                        let text = format!("upstream {dest} sent an invalid response: {e}");
                        self.respond(502, "Bad Gateway", text);
                    }
                    return self.close();
                }
                Some(_) => {}
            }
        }
    }

    /// Handles a response head; `false` if the session ended.
    fn on_response_head(&mut self, i: usize, h: Box<Head>) -> bool {
        let link = &mut self.links[i];
        let status = h.status().unwrap_or(0);
        let interim = (100..200).contains(&status) && status != 101;
        let asked = link.asked_upgrade();
        let client_close = link.expected.as_ref().is_some_and(|e| e.client_close);
        if status == 101 && !link.switch_agreed(&h) {
            // A switch nobody asked for would turn the rest of the stream into an unscanned
            // tunnel.
            let text = if asked {
                format!(
                    "upstream {} switched to a protocol the request did not offer",
                    link.dest()
                )
            } else {
                format!(
                    "upstream {} switched protocols without being asked to",
                    link.dest()
                )
            };
            self.refuse_response(text);
            return false;
        }
        let to_http_1_0 = link.expected.as_ref().is_some_and(|e| e.http_1_0);
        if to_http_1_0 && !interim && h.header("transfer-encoding").is_some() {
            // A server must not send Transfer-Encoding to an HTTP/1.0 request (RFC 9112 §6.1):
            // relayed, the client would read the chunk framing as body (and a keep-alive
            // client the next response too).
            let text = format!(
                "upstream {} sent a Transfer-Encoding response to an HTTP/1.0 request",
                link.dest()
            );
            self.refuse_response(text);
            return false;
        }
        let close_after = !interim && (client_close || !h.keep_alive());
        let head = rewrite::response(&h, close_after && status != 101);
        if status == 101 {
            link.state = LinkState::Switched;
            link.switched = Some((h, Vec::new()));
        } else if !interim {
            link.state = LinkState::Responding { close_after };
        }
        self.write_client_owned(head);
        true
    }

    /// A response head that must not reach the client: counted, logged, a 502 instead, and the
    /// session ends.
    fn refuse_response(&mut self, text: String) {
        self.tally.upstream_errors += 1;
        self.log(text.clone());
        self.respond(502, "Bad Gateway", text);
        self.close();
    }

    /// The client side finished the upgrade request and the origin switched: hand over.
    pub(super) fn start_upgrade(&mut self, link: LinkId) {
        let Some(i) = self.link_index(link) else {
            return;
        };
        let request = self.links[i].expected.take().and_then(|e| e.upgrade);
        let (Some(request), Some((response, from_upstream))) =
            (request, self.links[i].switched.take())
        else {
            return self.close();
        };
        let from_client = std::mem::take(&mut self.client.pending);
        let dest = self.dest_of(link);
        // The relay owns this link now; every other one closes.
        for id in self
            .links
            .iter()
            .map(|l| l.id)
            .filter(|&id| id != link)
            .collect::<Vec<_>>()
        {
            self.drop_link(id);
        }
        self.links.clear();
        self.client.state = ClientState::Done;
        self.actions.push_back(Action::Upgrade(Box::new(Upgrade {
            link,
            dest,
            request,
            response,
            from_client,
            from_upstream,
        })));
    }

    /// Bytes from a link with no request outstanding: they never reach the client, and the
    /// link is closed (the client connection goes on with a new link).
    fn unsolicited(&mut self, link: LinkId) {
        self.tally.upstream_errors += 1;
        let dest = self.dest_of(link);
        self.log(format!(
            "upstream {dest} sent bytes no request asked for; closing that link"
        ));
        self.drop_link(link);
    }

    /// The link closed its side.
    pub fn handle_upstream_eof(&mut self, registry: &Registry, link: LinkId, now: Instant) {
        let Some(i) = self.link_index(link) else {
            return;
        };
        if self.client.is_over() {
            return;
        }
        let finished = self.links[i].inspector.finish(registry);
        self.collect(Some(i));
        let dest = self.links[i].dest();
        match (finished, self.links[i].state) {
            (Some(Event::End), LinkState::Responding { .. }) => {
                // A close-delimited body ended.
                self.tally.responses += 1;
                self.drop_link(link);
                self.close();
            }
            (None, LinkState::Idle) => {
                self.drop_link(link);
                self.progress(registry, now);
            }
            (_, state) => {
                self.tally.upstream_errors += 1;
                let text =
                    format!("upstream {dest} closed the connection without a complete response");
                if state.mid_response() {
                    self.log(text);
                    return self.cut_short();
                }
                if state == LinkState::Awaiting {
                    self.log(text.clone());
                    self.respond(502, "Bad Gateway", text);
                }
                self.close();
            }
        }
    }

    /// Reading from or writing to the link failed (`text` says how).
    pub fn handle_link_failed(&mut self, link: LinkId, text: &str) {
        let Some(i) = self.link_index(link) else {
            return;
        };
        if self.client.is_over() {
            return;
        }
        let dest = self.links[i].dest();
        self.tally.upstream_errors += 1;
        self.log(format!("upstream {dest}: {text}"));
        match self.links[i].state {
            LinkState::Idle => self.drop_link(link),
            LinkState::Awaiting => {
                self.respond(
                    502,
                    "Bad Gateway",
                    format!("upstream {dest} failed: {text}"),
                );
                self.close();
            }
            state if state.mid_response() => self.cut_short(),
            _ => self.close(),
        }
    }
}
