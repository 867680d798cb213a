//! One proxy client connection as a sans-IO state machine, shaped like quinn-proto's
//! `Connection`: input methods (`handle_client`, `handle_upstream`, `handle_connected`, …,
//! `handle_timeout(now)`) change state; [`Session::poll_action`] drains what the I/O shell must
//! do (connect, write, respond, tunnel, upgrade, close), [`Session::poll_timeout`] says when to
//! call `handle_timeout`, and [`Session::poll_detection`] drains findings of both directions.
//! No sockets, no runtime, no clock: time is an argument.
//!
//! The client side frames and scans requests ([`ClientState`]); each upstream link frames and
//! scans responses ([`LinkState`]). One request is in flight at a time (many servers mishandle
//! pipelining; the client may still pipeline to Guardian, and its requests are answered in
//! order). Idle links are parked per origin for reuse (at most [`MAX_PARKED`]). Bytes from a
//! link with no request outstanding close that link and never reach the client.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use guardian_parser::scan::{Platform, Registry};
//! use guardian_parser::session::{Action, Config, Session};
//! let registry = Registry::builtin(Platform::Nanoclaw);
//! let now = Instant::now();
//! let mut s = Session::new(&registry, Config::default(), now);
//! s.handle_client(&registry, b"GET http://example.com/ HTTP/1.1\r\nHost: x\r\n\r\n", now);
//! let Some(Action::Connect { link, host, port }) = s.poll_action() else { panic!() };
//! assert_eq!((host.as_str(), port), ("example.com", 80));
//! s.handle_connected(&registry, link, now);
//! let Some(Action::WriteUpstream { bytes, .. }) = s.poll_action() else { panic!() };
//! assert!(bytes.starts_with(b"GET / HTTP/1.1\r\nHost: example.com\r\n"));
//! s.handle_upstream(&registry, link, b"HTTP/1.1 204 No Content\r\n\r\n", now);
//! let Some(Action::WriteClient(bytes)) = s.poll_action() else { panic!() };
//! assert!(bytes.starts_with(b"HTTP/1.1 204"));
//! # let _ = Duration::ZERO;
//! ```

mod client;
mod link;
pub mod rewrite;
pub mod route;
mod shed;

use std::collections::VecDeque;
use std::ops::Range;
use std::time::{Duration, Instant};

use crate::framing::{Head, RequestKind};
use crate::inspect::{Detection, Stats, DEFAULT_MAX_SCAN_BYTES};
use crate::scan::Registry;
pub use client::ClientState;
use link::Link;
pub use link::LinkState;
pub use shed::SHED_AFTER_BODY_BYTES;

/// Idle upstream links kept per client connection, for origins it returns to.
pub const MAX_PARKED: usize = 4;

/// Body pieces from a link at least this long are relayed from the shell's read buffer
/// ([`Action::RelayUpstream`]); shorter ones are copied into [`Action::WriteClient`] so that a
/// small response goes out with its head in one write.
pub const RELAY_MIN: usize = 4 * 1024;

/// Timeouts the session enforces (the connect timeout is the shell's: it owns the socket).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// A request head must be complete this long after its first byte.
    pub header: Duration,
    /// A connection with nothing outstanding closes after this long without bytes; so does one
    /// whose origin accepted an upgrade while the client has not finished the request that
    /// asked for it (the origin's bytes are held, and do not count).
    pub idle: Duration,
    /// A request outstanding this long without response bytes gets a 504 (or the close).
    pub response: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header: Duration::from_secs(30),
            idle: Duration::from_secs(60),
            response: Duration::from_secs(600),
        }
    }
}

/// How a session behaves.
#[derive(Clone, Debug)]
pub struct Config {
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Scan budget per message body.
    pub max_scan_bytes: u64,
    /// Inside an intercepted tunnel: every request goes to this origin (origin-form targets).
    pub origin: Option<(String, u16)>,
    /// Send absolute-form targets upstream (a parent proxy needs them).
    pub absolute_targets: bool,
    /// The client, as log lines name it.
    pub client: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            timeouts: Timeouts::default(),
            max_scan_bytes: DEFAULT_MAX_SCAN_BYTES,
            origin: None,
            absolute_targets: false,
            client: "client".to_string(),
        }
    }
}

/// Names one upstream link of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub u64);

/// What the shell must do, in order.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Open a link to `host:port`; report [`Session::handle_connected`] or
    /// [`Session::handle_connect_failed`].
    Connect {
        /// The new link.
        link: LinkId,
        /// Host.
        host: String,
        /// Port.
        port: u16,
    },
    /// Write these bytes to the client and flush them.
    WriteClient(Vec<u8>),
    /// Write bytes `range` of the input last given to [`Session::handle_upstream`] for `link`
    /// to the client and flush them: a body piece of at least [`RELAY_MIN`] bytes relayed from
    /// the shell's read buffer without a copy. The range is valid while the shell drains the
    /// actions of that call (it reads nothing more into that buffer until then).
    RelayUpstream {
        /// The link whose input holds the bytes.
        link: LinkId,
        /// Where they are in that input.
        range: Range<usize>,
    },
    /// Write these bytes to the link and flush them.
    WriteUpstream {
        /// The link.
        link: LinkId,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Write a response of Guardian's own (see [`rewrite::synthetic`]) to the client.
    Respond {
        /// Status code.
        status: u16,
        /// Reason phrase.
        reason: &'static str,
        /// One line naming the problem.
        text: String,
    },
    /// Close this link; the session forgot it.
    CloseLink(LinkId),
    /// The client asked for a tunnel to `host:port` (CONNECT); `leftover` came after its head.
    /// The session is over: the shell owns the client connection from now on.
    Tunnel {
        /// Host.
        host: String,
        /// Port.
        port: u16,
        /// Client bytes already read that belong to the tunnel.
        leftover: Vec<u8>,
    },
    /// The origin switched protocols as asked: relay both directions. The session is over.
    Upgrade(Box<Upgrade>),
    /// A diagnostic line.
    Log(String),
    /// Close the client connection (after the writes before it). The session is over.
    Close,
    /// Close the client connection without ending it cleanly: a response was cut short (its
    /// origin failed or sent invalid framing mid-body, or went silent past the `response`
    /// timeout). Over TLS no `close_notify` is sent, so the client can tell the end of a
    /// close-delimited body from a truncation, as it could without Guardian in between. The
    /// session is over.
    Abort,
}

/// An honoured `101 Switching Protocols`.
#[derive(Debug, PartialEq, Eq)]
pub struct Upgrade {
    /// The link the upgraded protocol runs on.
    pub link: LinkId,
    /// The origin's `host:port` (findings of the upgraded protocol name it).
    pub dest: String,
    /// The request that asked for the upgrade.
    pub request: Box<Head>,
    /// The `101` response (already written to the client).
    pub response: Box<Head>,
    /// Client bytes already read after the request.
    pub from_client: Vec<u8>,
    /// Upstream bytes already read after the response.
    pub from_upstream: Vec<u8>,
}

/// Why a connect failed, as the shell classified it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectFailure {
    /// 502 or 504.
    pub status: u16,
    /// Its reason phrase.
    pub reason: &'static str,
    /// One line naming the upstream and the cause.
    pub text: String,
}

/// Counters of one session (the shell adds them to the process counters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Requests forwarded upstream.
    pub requests: u64,
    /// Complete responses relayed.
    pub responses: u64,
    /// Header, response and idle timeouts.
    pub timeouts: u64,
    /// Upstreams that failed, closed early, or sent bytes nobody asked for.
    pub upstream_errors: u64,
    /// Messages that were not valid HTTP/1.1 (either direction).
    pub framing_errors: u64,
}

/// What a request needs from its response.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Expected {
    kind: RequestKind,
    /// The client asked to close after this exchange.
    client_close: bool,
    /// The request was HTTP/1.0: its response cannot be chunked (RFC 9112 §6.1).
    http_1_0: bool,
    /// The request asked to switch protocols (kept for the relay).
    upgrade: Option<Box<Head>>,
}

/// One proxy client connection.
#[derive(Debug)]
pub struct Session {
    config: Config,
    client: client::Client,
    links: Vec<Link>,
    /// The link requests go to now; others are parked, most recently used last.
    active: Option<LinkId>,
    next_link: u64,
    actions: VecDeque<Action>,
    detections: VecDeque<Detection>,
    tally: Tally,
    /// Inspector statistics of links already gone and of inspectors replaced by fresh ones.
    gone: Stats,
    /// Last time bytes moved (for the idle timeout).
    last_activity: Instant,
}

impl Session {
    /// A session for a client that connected at `now`.
    pub fn new(registry: &Registry, config: Config, now: Instant) -> Self {
        let inspector = shed::client_inspector(registry, &config);
        Session {
            config,
            client: client::Client::new(inspector),
            links: Vec::new(),
            active: None,
            next_link: 0,
            actions: VecDeque::new(),
            detections: VecDeque::new(),
            tally: Tally::default(),
            gone: Stats::default(),
            last_activity: now,
        }
    }

    /// The next thing the shell must do.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next detection (either direction), oldest first.
    #[must_use]
    pub fn poll_detection(&mut self) -> Option<Detection> {
        self.detections.pop_front()
    }

    /// When [`Session::handle_timeout`] must be called next, if ever.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.client.is_over() {
            return None;
        }
        let t = &self.config.timeouts;
        let mut next = self.client.head_since().map(|since| since + t.header);
        if let Some((_, at)) = self.response_head_deadline() {
            next = Some(next.map_or(at, |n| n.min(at)));
        }
        match self.response_clock() {
            Some((_, since)) => {
                let at = since + t.response;
                next = Some(next.map_or(at, |n| n.min(at)));
            }
            // Nothing outstanding, or a `101` relayed while the client has not finished the
            // request that asked for it: the client must send, so the idle timeout runs.
            _ => {
                let at = self.last_activity + t.idle;
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        next
    }

    /// Whether the shell should read from the client now (`false` while earlier bytes wait).
    pub fn wants_client(&self) -> bool {
        self.client.wants_bytes()
    }

    /// The links the shell should read from (connected, not upgraded).
    pub fn readable_links(&self) -> impl Iterator<Item = LinkId> + '_ {
        self.links.iter().filter(|l| l.readable()).map(|l| l.id)
    }

    /// What the client side is doing.
    pub fn client_state(&self) -> &ClientState {
        &self.client.state
    }

    /// The state of a link, if the session knows it.
    pub fn link_state(&self, link: LinkId) -> Option<&LinkState> {
        self.links.iter().find(|l| l.id == link).map(|l| &l.state)
    }

    /// This session's counters.
    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    /// Inspector statistics of both directions so far.
    pub fn stats(&self) -> Stats {
        let mut total = self.gone;
        add_stats(&mut total, self.client.inspector.stats());
        for link in &self.links {
            add_stats(&mut total, link.inspector.stats());
        }
        total
    }

    /// Time passed: enforces the header, response and idle timeouts.
    pub fn handle_timeout(&mut self, registry: &Registry, now: Instant) {
        if self.client.is_over() {
            return;
        }
        let t = self.config.timeouts;
        if self
            .client
            .head_since()
            .is_some_and(|s| now >= s + t.header)
        {
            self.tally.timeouts += 1;
            self.log(format!(
                "client {}: header read timeout ({}), closing",
                self.config.client,
                humantime::format_duration(t.header)
            ));
            self.client.state = ClientState::Finishing;
        }
        if let Some((id, _)) = self.response_head_deadline().filter(|(_, at)| now >= *at) {
            // An origin dripping its response head: bounded like a client's head.
            self.tally.timeouts += 1;
            let dest = self.dest_of(id);
            let limit = humantime::format_duration(t.header);
            self.log(format!(
                "upstream {dest}: response head not complete within {limit} (header timeout)"
            ));
            self.respond(
                504,
                "Gateway Timeout",
                format!("upstream {dest} did not finish its response head within {limit}"),
            );
            self.drop_link(id);
            self.close();
            return;
        }
        match self.response_clock() {
            Some((id, last)) if now >= last + t.response => {
                self.tally.timeouts += 1;
                let dest = self.dest_of(id);
                let limit = humantime::format_duration(t.response);
                self.log(format!("upstream {dest}: response timeout ({limit})"));
                let started = !self.response_not_started(id);
                if !started {
                    self.respond(
                        504,
                        "Gateway Timeout",
                        format!("upstream {dest} sent no response within {limit}"),
                    );
                }
                self.drop_link(id);
                if started {
                    self.cut_short();
                } else {
                    self.close();
                }
                return;
            }
            None if now >= self.last_activity + t.idle => {
                self.tally.timeouts += 1;
                self.log(format!(
                    "client {}: idle timeout ({}), closing",
                    self.config.client,
                    humantime::format_duration(t.idle)
                ));
                self.close();
                return;
            }
            _ => {}
        }
        self.progress(registry, now);
    }

    fn outstanding(&self) -> Option<&Link> {
        self.links.iter().find(|l| l.is_busy())
    }

    /// The outstanding link whose response bytes are awaited, and since when: the response
    /// timeout runs from its last read (or from the end of the request). While the client is
    /// still sending the body of the request, no response is due yet: the client must send,
    /// and the idle timeout runs instead (a slow upload is not an upstream timeout).
    fn response_clock(&self) -> Option<(LinkId, Instant)> {
        let link = self.outstanding().filter(|l| l.awaits_bytes())?;
        let uploading = link.state == LinkState::Awaiting
            && self.client.state == ClientState::Body { link: link.id };
        (!uploading).then_some((link.id, link.last_read))
    }

    /// The outstanding link whose response head is under way, and when the `header` timeout
    /// ends it.
    fn response_head_deadline(&self) -> Option<(LinkId, Instant)> {
        let link = self
            .outstanding()
            .filter(|l| l.state == LinkState::Awaiting)?;
        Some((link.id, link.head_since? + self.config.timeouts.header))
    }

    fn link_index(&self, id: LinkId) -> Option<usize> {
        self.links.iter().position(|l| l.id == id)
    }

    fn dest_of(&self, id: LinkId) -> String {
        self.links
            .iter()
            .find(|l| l.id == id)
            .map_or_else(String::new, |l| route::authority(&l.host, l.port))
    }

    fn response_not_started(&self, id: LinkId) -> bool {
        self.links
            .iter()
            .find(|l| l.id == id)
            .is_some_and(|l| matches!(l.state, LinkState::Awaiting))
    }

    /// Forgets a link and tells the shell to close it.
    fn drop_link(&mut self, id: LinkId) {
        if let Some(i) = self.link_index(id) {
            let link = self.links.remove(i);
            add_stats(&mut self.gone, link.inspector.stats());
            self.actions.push_back(Action::CloseLink(id));
        }
        if self.active == Some(id) {
            self.active = None;
        }
    }

    fn log(&mut self, line: String) {
        self.actions.push_back(Action::Log(line));
    }

    fn respond(&mut self, status: u16, reason: &'static str, text: String) {
        self.actions.push_back(Action::Respond {
            status,
            reason,
            text,
        });
    }

    /// Ends the session: closes every link and then the client.
    fn close(&mut self) {
        self.end(Action::Close);
    }

    /// Ends the session with a response cut short ([`Action::Abort`]).
    fn cut_short(&mut self) {
        self.end(Action::Abort);
    }

    /// Ends the session: every link dropped, then `last`.
    fn end(&mut self, last: Action) {
        if self.client.is_over() {
            return;
        }
        for id in self.links.iter().map(|l| l.id).collect::<Vec<_>>() {
            self.drop_link(id);
        }
        self.client.state = ClientState::Done;
        self.client.pending = Vec::new();
        self.actions.push_back(last);
    }

    fn write_client(&mut self, bytes: &[u8]) {
        if let Some(Action::WriteClient(out)) = self.actions.back_mut() {
            out.extend_from_slice(bytes);
        } else {
            self.actions.push_back(Action::WriteClient(bytes.to_vec()));
        }
    }

    /// [`Self::write_client`] of a buffer the session made (a rewritten head): moved into a
    /// new action rather than copied.
    fn write_client_owned(&mut self, bytes: Vec<u8>) {
        if let Some(Action::WriteClient(out)) = self.actions.back_mut() {
            out.extend_from_slice(&bytes);
        } else {
            self.actions.push_back(Action::WriteClient(bytes));
        }
    }

    /// Relays body bytes `range` of `input` (from `link`) to the client: large pieces by
    /// range, small ones copied (merged with what precedes them).
    fn relay_client(&mut self, link: LinkId, input: &[u8], range: Range<usize>) {
        if range.len() >= RELAY_MIN {
            self.actions
                .push_back(Action::RelayUpstream { link, range });
        } else {
            self.write_client(&input[range]);
        }
    }

    fn write_upstream(&mut self, link: LinkId, bytes: &[u8]) {
        if !self.extend_upstream(link, bytes) {
            self.actions.push_back(Action::WriteUpstream {
                link,
                bytes: bytes.to_vec(),
            });
        }
    }

    /// [`Self::write_upstream`] of a buffer the session made (a rewritten head): moved into
    /// a new action rather than copied.
    fn write_upstream_owned(&mut self, link: LinkId, bytes: Vec<u8>) {
        if !self.extend_upstream(link, &bytes) {
            self.actions
                .push_back(Action::WriteUpstream { link, bytes });
        }
    }

    /// Appends to the last action when it writes to `link`; `false` when it does not.
    fn extend_upstream(&mut self, link: LinkId, bytes: &[u8]) -> bool {
        match self.actions.back_mut() {
            Some(Action::WriteUpstream {
                link: l,
                bytes: out,
            }) if *l == link => {
                out.extend_from_slice(bytes);
                true
            }
            _ => false,
        }
    }

    fn collect(&mut self, from: Option<usize>) {
        let inspector = match from {
            Some(i) => &mut self.links[i].inspector,
            None => &mut self.client.inspector,
        };
        while let Some(d) = inspector.poll_detection() {
            self.detections.push_back(d);
        }
    }
}

fn add_stats(total: &mut Stats, s: &Stats) {
    total.messages += s.messages;
    total.body_bytes += s.body_bytes;
    total.detections += s.detections;
    total.exempted += s.exempted;
    total.scan_truncated += s.scan_truncated;
    total.unscanned_bytes += s.unscanned_bytes;
    total.unknown_encodings += s.unknown_encodings;
    total.decode_errors += s.decode_errors;
    total.framing_errors += s.framing_errors;
    total.view_repeats += s.view_repeats;
}
