//! WebSocket inspection (RFC 6455, RFC 7692) after a `101` that answers an `Upgrade: websocket`
//! request: both directions deframed, unmasked, fragments joined, permessage-deflate inflated,
//! and the message payloads of each direction scanned as one stream (outbound rules on
//! client→server frames, inbound rules on server→client frames). Sans-IO: the caller feeds the
//! bytes it relays, unchanged, and takes [`Detection`]s.
//!
//! A framing violation (see [`Violation`]) stops the inspection of the whole connection: what
//! was seen is still scanned, later bytes are not (the caller keeps relaying them).
//!
//! Memory per connection, both directions together: two deframers (16 KiB scratch each), two
//! inflaters when compression is negotiated (zlib state ≈ 7 KiB + the negotiated window, at most
//! 32 KiB, + a 16 KiB output piece each), a held text message of at most 64 KiB per direction,
//! and per direction one scanner window (≤ 33 KiB) for the message stream, one for control
//! frames and one per reassembled delta stream (at most 8): about 0.9 MiB at worst, typically
//! under 200 KiB.

mod channel;
mod frame;

pub use channel::{Channel, ChannelStats, DeflateParams, DELTA_VIEWS, MAX_EVENT};
pub use frame::{Deframer, Piece, Violation, MAX_CONTROL, SCRATCH};

use std::collections::VecDeque;

use crate::decode::View;
use crate::finding::redact_snippet;
use crate::framing::Head;
use crate::inspect::{same_occurrence, Detection, MAX_REMEMBERED};
use crate::scan::{Direction, RawMatch, Registry, RuleId};

/// The extensions a handshake's response negotiated, as far as deframing needs them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extensions {
    /// permessage-deflate parameters of client→server messages, when negotiated.
    pub client: Option<DeflateParams>,
    /// permessage-deflate parameters of server→client messages, when negotiated.
    pub server: Option<DeflateParams>,
    /// An extension other than permessage-deflate was negotiated (frames cannot be decoded).
    pub unsupported: bool,
}

impl Extensions {
    /// Parses the `Sec-WebSocket-Extensions` values of a `101` response (RFC 7692 §7.1).
    pub fn from_response<'a>(values: impl Iterator<Item = &'a [u8]>) -> Self {
        let mut ext = Extensions::default();
        for value in values {
            for offer in value.split(|&b| b == b',') {
                let mut params = offer.split(|&b| b == b';').map(trim);
                let name = params.next().unwrap_or(b"");
                if name.is_empty() {
                    continue;
                }
                if !name.eq_ignore_ascii_case(b"permessage-deflate") || ext.client.is_some() {
                    ext.unsupported = true;
                    continue;
                }
                let mut client = DeflateParams {
                    no_context_takeover: false,
                    max_window_bits: 15,
                };
                let mut server = client;
                for param in params {
                    let (key, value) = match param.iter().position(|&b| b == b'=') {
                        Some(i) => (trim(&param[..i]), trim(&param[i + 1..])),
                        None => (param, &b""[..]),
                    };
                    let value = value.strip_prefix(b"\"").unwrap_or(value);
                    let value = value.strip_suffix(b"\"").unwrap_or(value);
                    let bits = std::str::from_utf8(value)
                        .ok()
                        .and_then(|v| v.parse::<u8>().ok())
                        .filter(|b| (8..=15).contains(b));
                    match key.to_ascii_lowercase().as_slice() {
                        b"server_no_context_takeover" => server.no_context_takeover = true,
                        b"client_no_context_takeover" => client.no_context_takeover = true,
                        b"server_max_window_bits" => match bits {
                            Some(b) => server.max_window_bits = b,
                            None => ext.unsupported = true,
                        },
                        b"client_max_window_bits" => match bits {
                            Some(b) => client.max_window_bits = b,
                            None if value.is_empty() => {}
                            None => ext.unsupported = true,
                        },
                        b"" => {}
                        _ => ext.unsupported = true,
                    }
                }
                ext.client = Some(client);
                ext.server = Some(server);
            }
        }
        ext
    }

    /// The extensions of a `101` head.
    pub fn of_head(head: &Head) -> Self {
        Self::from_response(head.header_values("sec-websocket-extensions"))
    }
}

fn trim(s: &[u8]) -> &[u8] {
    crate::framing_trim(s)
}

/// Whether a request asks for a WebSocket upgrade (`Upgrade: websocket`).
pub fn is_websocket_request(head: &Head) -> bool {
    head.header_values("upgrade")
        .flat_map(crate::framing_tokens)
        .any(|t| t.eq_ignore_ascii_case(b"websocket"))
}

/// Counters of one connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Client→server counters.
    pub outbound: ChannelStats,
    /// Server→client counters.
    pub inbound: ChannelStats,
    /// Frames parsed, both directions.
    pub frames: u64,
    /// Detections reported.
    pub detections: u64,
    /// Matches seen in both the message stream and the reassembled deltas, reported once.
    pub view_repeats: u64,
}

/// Inspection of one upgraded WebSocket connection, both directions.
#[derive(Debug)]
pub struct WebSocket {
    outbound: Channel,
    inbound: Channel,
    dest: Option<String>,
    violation: Option<(Direction, Violation)>,
    finished: bool,
    /// Matches by view: the message stream, the reassembled deltas.
    matches: [Vec<RawMatch>; 2],
    /// Matches of the decoded views, with their view.
    decoded: Vec<(View, RawMatch)>,
    /// Per direction (outbound, inbound): recently reported rule, matched bytes, view.
    reported: [VecDeque<(RuleId, Vec<u8>, usize)>; 2],
    detections: VecDeque<Detection>,
    stats: Stats,
}

impl WebSocket {
    /// Inspection of a connection to `dest` with the negotiated `extensions`; each message is
    /// scanned up to `max_scan_bytes` after inflation.
    pub fn new(
        registry: &Registry,
        extensions: Extensions,
        max_scan_bytes: u64,
        dest: Option<String>,
    ) -> Self {
        let outbound = Channel::new(
            registry,
            Direction::Outbound,
            extensions.client,
            max_scan_bytes,
        );
        let inbound = Channel::new(
            registry,
            Direction::Inbound,
            extensions.server,
            max_scan_bytes,
        );
        WebSocket {
            outbound,
            inbound,
            dest,
            violation: extensions
                .unsupported
                .then_some((Direction::Inbound, Violation::Extension)),
            finished: false,
            matches: Default::default(),
            decoded: Vec::new(),
            reported: [VecDeque::new(), VecDeque::new()],
            detections: VecDeque::new(),
            stats: Stats::default(),
        }
    }

    /// Feeds bytes relayed in `direction` (outbound: client→server).
    pub fn feed(&mut self, registry: &Registry, direction: Direction, data: &[u8]) {
        if self.violation.is_some() || self.finished {
            return;
        }
        let channel = match direction {
            Direction::Outbound => &mut self.outbound,
            Direction::Inbound => &mut self.inbound,
        };
        let result = channel.feed(registry, data);
        channel.take_matches(&mut self.matches, &mut self.decoded);
        self.drain(registry, direction);
        if let Err(v) = result {
            self.violation = Some((direction, v));
            // What was seen is still scanned to its end.
            self.finish_channels(registry);
        }
    }

    /// The connection ended: scans what each direction holds.
    pub fn finish(&mut self, registry: &Registry) {
        if !self.finished {
            self.finish_channels(registry);
        }
    }

    fn finish_channels(&mut self, registry: &Registry) {
        self.finished = true;
        for direction in [Direction::Outbound, Direction::Inbound] {
            let channel = match direction {
                Direction::Outbound => &mut self.outbound,
                Direction::Inbound => &mut self.inbound,
            };
            channel.finish(registry);
            channel.take_matches(&mut self.matches, &mut self.decoded);
            self.drain(registry, direction);
        }
    }

    /// The framing violation that stopped inspection, and the direction it came from.
    pub fn violation(&self) -> Option<(Direction, Violation)> {
        self.violation
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        Stats {
            outbound: self.outbound.stats(),
            inbound: self.inbound.stats(),
            frames: self.outbound.frames() + self.inbound.frames(),
            ..self.stats
        }
    }

    /// The next detection, oldest first.
    #[must_use]
    pub fn poll_detection(&mut self) -> Option<Detection> {
        self.detections.pop_front()
    }

    fn drain(&mut self, registry: &Registry, direction: Direction) {
        for view in 0..self.matches.len() {
            let mut matches = std::mem::take(&mut self.matches[view]);
            for m in matches.drain(..) {
                self.report(registry, direction, m, view);
            }
            self.matches[view] = matches;
        }
        let mut decoded = std::mem::take(&mut self.decoded);
        for (view, m) in decoded.drain(..) {
            // Decoded views are numbered after the two views above.
            self.report(registry, direction, m, 2 + usize::from(view.0));
        }
        self.decoded = decoded;
    }

    fn report(&mut self, registry: &Registry, direction: Direction, m: RawMatch, view: usize) {
        let matched = &m.context[m.within.clone()];
        let reported = &mut self.reported[usize::from(direction == Direction::Inbound)];
        if reported.iter().any(|(rule, other, v)| {
            *rule == m.rule && *v != view && same_occurrence(other, matched)
        }) {
            self.stats.view_repeats += 1;
            return;
        }
        if reported.len() == MAX_REMEMBERED {
            reported.pop_front();
        }
        reported.push_back((m.rule, matched.to_vec(), view));
        let rule = registry.rule(m.rule);
        self.stats.detections += 1;
        self.detections.push_back(Detection {
            rule: m.rule,
            pattern: rule.id.clone(),
            threat: rule.threat,
            severity: rule.severity,
            direction,
            dest: self.dest.clone(),
            snippet: redact_snippet(registry, &m),
            digest: m.digest(),
        });
    }
}
