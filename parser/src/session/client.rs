//! The client side of a session: frames and scans requests, routes each to a link (reusing or
//! parking links per origin), forwards heads rewritten and bodies byte for byte, and turns
//! CONNECT and upgrades into the shell's business. Ambiguous framing gets a 400 after every
//! earlier response was delivered, then the connection closes: never a desynchronised stream.

use std::time::Instant;

use crate::framing::{Event, Head, RequestKind, Section};
use crate::inspect::Inspector;
use crate::scan::Registry;

use super::link::Link;
use super::route::{self, split_authority};
use super::{rewrite, Action, ConnectFailure, Expected, LinkId, LinkState, Session, MAX_PARKED};

/// What the client side is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientState {
    /// Between requests.
    Idle,
    /// A request head is arriving since this instant (the header timeout runs).
    Head {
        /// When its first byte came.
        since: Instant,
    },
    /// A routed request waits until nothing else is outstanding and its link is connected.
    Waiting {
        /// Where it goes.
        route: route::Route,
        /// The link chosen for it, once chosen.
        link: Option<LinkId>,
    },
    /// The body of the request in flight on this link is being forwarded.
    Body {
        /// The link.
        link: LinkId,
    },
    /// The body of a request Guardian answered itself is read and dropped; then the
    /// connection closes.
    Discard,
    /// An upgrade request was forwarded; its response decides between a relay and HTTP.
    AwaitUpgrade {
        /// The link.
        link: LinkId,
    },
    /// A CONNECT waits for earlier responses, then becomes a tunnel.
    ToTunnel {
        /// Host.
        host: String,
        /// Port.
        port: u16,
    },
    /// Nothing more is read; the connection closes once nothing is outstanding.
    Finishing,
    /// A response of Guardian's own waits for earlier responses; then the connection closes.
    Failing {
        /// Status.
        status: u16,
        /// Reason phrase.
        reason: &'static str,
        /// Text.
        text: String,
    },
    /// The session is over (closed, tunnel or upgrade handed to the shell).
    Done,
}

/// Client-side state.
#[derive(Debug)]
pub(super) struct Client {
    pub(super) inspector: Inspector,
    pub(super) state: ClientState,
    /// Bytes read but not processed yet (the state machine was blocked).
    pub(super) pending: Vec<u8>,
    /// The request being handled (from its head until it is sent).
    request: Option<(Vec<u8>, Expected)>,
    /// The client closed its side.
    eof: bool,
    /// A CONNECT head was seen; its end starts the tunnel.
    connect: Option<(String, u16)>,
    /// Close after the exchange in flight (the client asked, or Guardian must).
    finish_after: bool,
}

impl Client {
    pub(super) fn new(inspector: Inspector) -> Self {
        Client {
            inspector,
            state: ClientState::Idle,
            pending: Vec::new(),
            request: None,
            eof: false,
            connect: None,
            finish_after: false,
        }
    }

    pub(super) fn is_over(&self) -> bool {
        self.state == ClientState::Done
    }

    pub(super) fn head_since(&self) -> Option<Instant> {
        match self.state {
            ClientState::Head { since } => Some(since),
            _ => None,
        }
    }

    /// Whether bytes can be processed now.
    fn accepts(&self) -> bool {
        matches!(
            self.state,
            ClientState::Idle
                | ClientState::Head { .. }
                | ClientState::Body { .. }
                | ClientState::Discard
        )
    }

    pub(super) fn wants_bytes(&self) -> bool {
        !self.eof
            && self.pending.is_empty()
            && !self.is_over()
            && self.state != ClientState::Finishing
            && !matches!(self.state, ClientState::Failing { .. })
    }
}

impl Session {
    /// Bytes from the client.
    pub fn handle_client(&mut self, registry: &Registry, bytes: &[u8], now: Instant) {
        if self.client.is_over() || self.client.eof || bytes.is_empty() {
            return;
        }
        self.last_activity = now;
        if self.client.pending.is_empty() && self.client.accepts() {
            let used = self.feed_client(registry, bytes, now);
            if used < bytes.len() && !self.client.is_over() {
                self.client.pending.extend_from_slice(&bytes[used..]);
            }
        } else {
            self.client.pending.extend_from_slice(bytes);
        }
        self.progress(registry, now);
    }

    /// The client closed its side: outstanding responses are still delivered, then the
    /// connection closes.
    pub fn handle_client_eof(&mut self, registry: &Registry, now: Instant) {
        if self.client.is_over() {
            return;
        }
        self.client.eof = true;
        self.progress(registry, now);
    }

    /// Moves on as far as the state allows: sends a waiting request, starts a tunnel, finishes,
    /// and processes bytes that were held back.
    pub(super) fn progress(&mut self, registry: &Registry, now: Instant) {
        loop {
            if self.client.is_over() {
                return;
            }
            if self.outstanding().is_none() {
                match std::mem::replace(&mut self.client.state, ClientState::Idle) {
                    ClientState::Waiting { route, link } => {
                        if !self.dispatch(registry, route, link, now) {
                            return;
                        }
                    }
                    ClientState::ToTunnel { host, port } => {
                        let leftover = std::mem::take(&mut self.client.pending);
                        for id in self.links.iter().map(|l| l.id).collect::<Vec<_>>() {
                            self.drop_link(id);
                        }
                        self.client.state = ClientState::Done;
                        self.actions.push_back(Action::Tunnel {
                            host,
                            port,
                            leftover,
                        });
                        return;
                    }
                    ClientState::Finishing => return self.close(),
                    ClientState::Failing {
                        status,
                        reason,
                        text,
                    } => {
                        self.respond(status, reason, text);
                        return self.close();
                    }
                    // The origin declined the upgrade and answered: HTTP goes on.
                    ClientState::AwaitUpgrade { .. } => {}
                    other => self.client.state = other,
                }
            }
            if !self.client.accepts() {
                return;
            }
            if self.client.pending.is_empty() {
                // The framer reports a request's `End` on the call after its last byte: an
                // upgrade or a CONNECT must not wait for the client's next bytes to get it.
                let _ = self.feed_client(registry, &[], now);
                if !self.client.accepts() {
                    continue;
                }
                if self.client.eof {
                    let _ = self.client.inspector.finish(registry);
                    self.collect(None);
                    if self.client.state == ClientState::Discard {
                        return self.close();
                    }
                    self.client.state = ClientState::Finishing;
                    continue;
                }
                return;
            }
            let pending = std::mem::take(&mut self.client.pending);
            let used = self.feed_client(registry, &pending, now);
            if !self.client.is_over() {
                let mut rest = pending;
                rest.drain(..used);
                self.client.pending = rest;
            }
            if used == 0 && self.client.accepts() {
                return;
            }
        }
    }

    /// Frames, scans and forwards client bytes until done or blocked; returns bytes used.
    fn feed_client(&mut self, registry: &Registry, input: &[u8], now: Instant) -> usize {
        let mut at = 0;
        while self.client.accepts() {
            let idle = self.client.state == ClientState::Idle;
            let step = self.client.inspector.feed(registry, &input[at..]);
            let consumed = at..at + step.consumed;
            at += step.consumed;
            self.collect(None);
            if idle && step.section == Section::Head && !consumed.is_empty() {
                self.client.state = ClientState::Head { since: now };
            }
            if step.section == Section::Body && !consumed.is_empty() {
                if let ClientState::Body { link } = self.client.state {
                    self.write_upstream(link, &input[consumed]);
                }
            }
            match step.event {
                None => break,
                Some(Event::Head(h)) => self.on_request_head(h),
                Some(Event::End) => self.on_request_end(now),
                Some(Event::Error(e)) => {
                    self.tally.framing_errors += 1;
                    let text = format!("bad request: {e}");
                    self.log(format!("client {}: {text}", self.config.client));
                    if let ClientState::Body { link } = self.client.state {
                        // The broken request was partly forwarded: nothing the link could still
                        // say answers it, so drop the link now (earlier requests were answered
                        // before this one was sent) and answer 400 at once.
                        let started = !self.response_not_started(link);
                        self.drop_link(link);
                        if started {
                            self.close();
                            break;
                        }
                    }
                    self.fail(400, "Bad Request", text);
                    break;
                }
                Some(_) => {}
            }
        }
        at
    }

    /// A response of Guardian's own after every earlier one, then the close.
    fn fail(&mut self, status: u16, reason: &'static str, text: String) {
        self.client.pending = Vec::new();
        self.client.state = ClientState::Failing {
            status,
            reason,
            text,
        };
    }

    fn on_request_head(&mut self, h: Box<Head>) {
        if h.method() == b"CONNECT" {
            let target = String::from_utf8_lossy(h.target()).to_string();
            match split_authority(&target, 443) {
                Some(hp) if target.contains(':') => {
                    self.client.connect = Some(hp);
                    self.client.state = ClientState::Discard;
                }
                _ => self.fail(400, "Bad Request", "CONNECT needs host:port".into()),
            }
            return;
        }
        let Some(route) = route::route(
            &h,
            self.config.origin.as_ref(),
            self.config.absolute_targets,
        ) else {
            let text = "Guardian is a forward proxy: send absolute-form requests (http://host/path), and CONNECT for https";
            return self.fail(400, "Bad Request", text.into());
        };
        let upgrade = h.header("upgrade").is_some() && h.has_token("connection", "upgrade");
        let expected = Expected {
            kind: RequestKind::of_method(h.method()),
            client_close: !h.keep_alive(),
            http_1_0: h.minor_version() == 0,
            upgrade: None,
        };
        // Only an origin-form request (inside a tunnel) without a Host field needs it.
        let fallback = match route.named {
            None => route::authority(&route.host, route.port),
            Some(_) => String::new(),
        };
        let bytes = rewrite::request(&h, &route.target, route.named.as_deref(), &fallback);
        let expected = Expected {
            upgrade: upgrade.then_some(h),
            ..expected
        };
        self.client.request = Some((bytes, expected));
        self.client.state = ClientState::Waiting { route, link: None };
    }

    fn on_request_end(&mut self, now: Instant) {
        if let Some((host, port)) = self.client.connect.take() {
            self.client.state = ClientState::ToTunnel { host, port };
            return;
        }
        self.client.state = match std::mem::replace(&mut self.client.state, ClientState::Idle) {
            ClientState::Discard => ClientState::Finishing,
            ClientState::Body { link } => {
                let (switched, awaiting) = match self.link_index(link) {
                    Some(i) => {
                        if self.links[i].state == LinkState::Awaiting {
                            // The request is sent: the response timeout starts now.
                            self.links[i].last_read = now;
                        }
                        (
                            self.links[i].state == LinkState::Switched,
                            self.links[i].state == LinkState::Awaiting
                                && self.links[i].asked_upgrade(),
                        )
                    }
                    None => (false, false),
                };
                if switched {
                    self.client.state = ClientState::AwaitUpgrade { link };
                    return self.start_upgrade(link);
                }
                if awaiting {
                    ClientState::AwaitUpgrade { link }
                } else if self.client.finish_after {
                    ClientState::Finishing
                } else {
                    ClientState::Idle
                }
            }
            _ if self.client.finish_after => ClientState::Finishing,
            _ => ClientState::Idle,
        };
    }

    /// Sends the waiting request once its link is ready; `false` while it must wait.
    fn dispatch(
        &mut self,
        registry: &Registry,
        route: route::Route,
        link: Option<LinkId>,
        now: Instant,
    ) -> bool {
        let id = match link {
            Some(id) if self.link_index(id).is_some() => id,
            _ => self.pick_link(registry, &route.host, route.port, now),
        };
        let Some(i) = self.link_index(id) else {
            return false;
        };
        if self.links[i].state == LinkState::Connecting {
            self.client.state = ClientState::Waiting {
                route,
                link: Some(id),
            };
            return false;
        }
        let Some((bytes, expected)) = self.client.request.take() else {
            return true;
        };
        self.client.finish_after |= expected.client_close;
        self.tally.requests += 1;
        self.links[i].send(expected, now);
        self.write_upstream_owned(id, bytes);
        self.client.state = ClientState::Body { link: id };
        true
    }

    /// The link for the next request to (host, port): the active one if it goes there, else a
    /// parked one, else a new one (the active link is parked).
    fn pick_link(&mut self, registry: &Registry, host: &str, port: u16, now: Instant) -> LinkId {
        let same = |l: &Link| l.host == host && l.port == port;
        if let Some(id) = self.active {
            if self.links.iter().any(|l| l.id == id && same(l)) {
                return id;
            }
        }
        self.active = None;
        // Parked links are kept most recently used last; the active one just became parked.
        if let Some(i) = self.links.iter().position(same) {
            let link = self.links.remove(i);
            let id = link.id;
            self.links.push(link);
            self.active = Some(id);
            return id;
        }
        if self.links.len() > MAX_PARKED {
            let oldest = self.links[0].id;
            self.drop_link(oldest);
        }
        let id = LinkId(self.next_link);
        self.next_link += 1;
        let inspector = super::shed::link_inspector(registry, &self.config, host, port);
        self.links.push(Link::new(id, host, port, inspector, now));
        self.active = Some(id);
        self.actions.push_back(Action::Connect {
            link: id,
            host: host.to_string(),
            port,
        });
        id
    }

    /// The link is connected.
    pub fn handle_connected(&mut self, registry: &Registry, link: LinkId, now: Instant) {
        if let Some(i) = self.link_index(link) {
            if self.links[i].state == LinkState::Connecting {
                self.links[i].state = LinkState::Idle;
                self.links[i].last_read = now;
            }
        }
        self.progress(registry, now);
    }

    /// The link could not be opened: the request waiting for it gets this answer, its body is
    /// dropped, and the connection closes.
    pub fn handle_connect_failed(
        &mut self,
        registry: &Registry,
        link: LinkId,
        failure: ConnectFailure,
        now: Instant,
    ) {
        let Some(i) = self.link_index(link) else {
            return;
        };
        self.links.remove(i);
        if self.active == Some(link) {
            self.active = None;
        }
        if matches!(self.client.state, ClientState::Waiting { link: Some(l), .. } if l == link) {
            self.client.request = None;
            self.respond(failure.status, failure.reason, failure.text);
            self.client.finish_after = true;
            self.client.state = ClientState::Discard;
        }
        self.progress(registry, now);
    }
}
