//! Inspection of one direction of one connection: framing events drive head scanning and the
//! body pipeline (decode → normalise → scan); matches become [`Detection`]s after the
//! expected-use exemption and redaction. Same code for the proxy, `guardian scan`, benches and
//! fuzzing.

mod expected_use;

use std::collections::VecDeque;
use std::time::SystemTime;

pub use expected_use::{
    documented_url_position, host_matches, host_of, provider_hosts, CREDENTIAL_HEADERS,
    CREDENTIAL_PARAMS,
};

use crate::decode::encoded::{strip_zero_width, target_views, Scope};
use crate::decode::streams::is_streamed;
use crate::decode::{
    decode_base64_token, BodyDecoder, EncodedView, Normaliser, Reassembly, SpareLayers, TextForm,
    View,
};
use crate::finding::{redact_snippet, timestamp, Dedup, Finding, Protocol, SCHEMA_VERSION};
use crate::framing::{Event, Framer, Head, Role, Step};
use crate::scan::{
    Direction, Platform, RawMatch, Registry, RuleId, Severity, StreamScanner, ThreatType,
};

/// Default `max_scan_bytes`.
pub const DEFAULT_MAX_SCAN_BYTES: u64 = 1 << 20;

/// A confirmed, redacted detection, before it is labelled as a finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detection {
    /// The rule.
    pub rule: RuleId,
    /// Pattern id.
    pub pattern: String,
    /// EXFIL or INJECTION.
    pub threat: ThreatType,
    /// Severity.
    pub severity: Severity,
    /// Direction of the message.
    pub direction: Direction,
    /// `host:port` the message was addressed to, when known.
    pub dest: Option<String>,
    /// Redacted snippet.
    pub snippet: String,
    /// SHA-256 of the matched bytes (for dedup).
    pub digest: [u8; 32],
}

impl Detection {
    /// The dedup key of this detection (SPEC §4.3: pattern, direction, dest, match digest).
    pub fn dedup_key(&self) -> [u8; 32] {
        Dedup::key(
            &self.pattern,
            self.direction.as_str(),
            self.dest.as_deref().unwrap_or("-"),
            &self.digest,
        )
    }

    /// Labels a detection as a §4.1 finding.
    pub fn into_finding(
        self,
        platform: Platform,
        protocol: Protocol,
        source: &str,
        at: SystemTime,
    ) -> Finding {
        Finding {
            schema_version: SCHEMA_VERSION.to_string(),
            platform,
            direction: self.direction,
            protocol,
            threat_type: self.threat,
            pattern: self.pattern,
            severity: self.severity,
            source: source.to_string(),
            dest: self.dest.unwrap_or_else(|| "-".to_string()),
            snippet: self.snippet,
            timestamp: timestamp(at),
        }
    }
}

/// Counters of one inspector.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Complete messages.
    pub messages: u64,
    /// Body payload bytes seen (before decoding).
    pub body_bytes: u64,
    /// Detections reported.
    pub detections: u64,
    /// Matches not reported because they were expected use.
    pub exempted: u64,
    /// Messages whose scan stopped at `max_scan_bytes`.
    pub scan_truncated: u64,
    /// Body bytes forwarded without being scanned (past the budget, or after corrupt data).
    pub unscanned_bytes: u64,
    /// Bodies with a content coding Guardian cannot decode (scanned as identity).
    pub unknown_encodings: u64,
    /// Bodies whose compressed data was corrupt.
    pub decode_errors: u64,
    /// Streams that were not valid HTTP/1.1.
    pub framing_errors: u64,
    /// Matches seen by more than one view of a message (its own text, the reassembled or a
    /// decoded view), reported once.
    pub view_repeats: u64,
}

/// Most matches remembered to report a match once across views (per message here, per
/// direction of a WebSocket connection).
pub(crate) const MAX_REMEMBERED: usize = 256;

/// Bytes at the start of two matches of one rule that, when equal, make them one occurrence.
const SAME_START: usize = 16;

/// Whether two matched texts of one rule, from different views, are one occurrence: one
/// contains the other, or both start alike.
pub(crate) fn same_occurrence(a: &[u8], b: &[u8]) -> bool {
    let n = SAME_START.min(a.len()).min(b.len());
    memchr::memmem::find(a, b).is_some()
        || memchr::memmem::find(b, a).is_some()
        || (n == SAME_START && a[..n] == b[..n])
}

/// A head view and where each of its segments ends.
type HeadView<'a> = (&'a [u8], &'a [(usize, Segment)]);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    StartLine,
    Header {
        credential: bool,
    },
    /// The target's decoded views (`decode::encoded::target_views`); `folded`: look-alikes
    /// folded, which count only for the path and command rules.
    Decoded {
        folded: bool,
    },
}

/// What a `Content-Type` says about a body: its text form, whether it is streamed (SSE,
/// NDJSON), whether it is binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Media {
    form: TextForm,
    streamed: bool,
    binary: bool,
}

/// [`Media`] of the last `Content-Type` seen, worked out again only when the value changes:
/// the messages of one connection nearly always repeat it.
#[derive(Debug, Default)]
struct MediaMemo {
    content_type: Option<Vec<u8>>,
    media: Option<Media>,
}

impl MediaMemo {
    fn of(&mut self, content_type: Option<&[u8]>) -> Media {
        match self.media {
            Some(media) if self.content_type.as_deref() == content_type => media,
            _ => {
                let media = Media {
                    form: content_type.map_or(TextForm::Raw, TextForm::for_content_type),
                    streamed: content_type.is_some_and(|ct| is_streamed(ct).is_some()),
                    binary: content_type.is_some_and(crate::decode::encoded::is_binary),
                };
                match (&mut self.content_type, content_type) {
                    (Some(kept), Some(ct)) => {
                        kept.clear();
                        kept.extend_from_slice(ct);
                    }
                    (kept, ct) => *kept = ct.map(<[u8]>::to_vec),
                }
                self.media = Some(media);
                media
            }
        }
    }
}

/// Inspector for one direction of one connection.
#[derive(Debug)]
pub struct Inspector {
    direction: Direction,
    framer: Framer,
    head_scanner: StreamScanner,
    body_scanner: StreamScanner,
    trailer_scanner: StreamScanner,
    body: Option<BodyDecoder>,
    /// The decoding layers of the last finished bodies, for the next one.
    spare_layers: SpareLayers,
    dest_override: Option<String>,
    dest: Option<String>,
    /// Where the next message's destination is built (see `on_head`).
    dest_scratch: String,
    /// The host of `dest` (lower case, no port), computed when an expected-use check first
    /// needs it in a message.
    dest_host: Option<String>,
    head_view: Vec<u8>,
    segments: Vec<(usize, Segment)>,
    matches: Vec<RawMatch>,
    /// Matches from the reassembled view of a streamed body.
    view_matches: Vec<RawMatch>,
    /// Matches from the decoded views of a body.
    decoded_matches: Vec<(View, RawMatch)>,
    /// What the last message's `Content-Type` said about its body.
    media: MediaMemo,
    /// The decoded target, and its look-alike-folded form, while a head view is built.
    target_scratch: (Vec<u8>, Vec<u8>),
    /// Matches reported in this message: rule, matched bytes, view.
    reported: Vec<(RuleId, Vec<u8>, View)>,
    max_scan_bytes: u64,
    /// Whether the decoded views (`decode::encoded`) are on.
    encoded_views: bool,
    detections: VecDeque<Detection>,
    stats: Stats,
}

impl Inspector {
    /// An inspector of requests (`Outbound`) or responses (`Inbound`).
    pub fn new(registry: &Registry, direction: Direction, max_scan_bytes: u64) -> Self {
        let role = match direction {
            Direction::Outbound => Role::Request,
            Direction::Inbound => Role::Response,
        };
        Inspector {
            direction,
            framer: Framer::new(role),
            head_scanner: StreamScanner::new(registry, direction, u64::MAX),
            body_scanner: StreamScanner::new(registry, direction, max_scan_bytes),
            trailer_scanner: StreamScanner::new(registry, direction, max_scan_bytes),
            body: None,
            spare_layers: SpareLayers::default(),
            dest_override: None,
            dest: None,
            dest_scratch: String::new(),
            dest_host: None,
            media: MediaMemo::default(),
            head_view: Vec::new(),
            segments: Vec::new(),
            matches: Vec::new(),
            view_matches: Vec::new(),
            decoded_matches: Vec::new(),
            target_scratch: (Vec::new(), Vec::new()),
            reported: Vec::new(),
            max_scan_bytes,
            encoded_views: true,
            detections: VecDeque::new(),
            stats: Stats::default(),
        }
    }

    /// The `host:port` messages are addressed to, overriding what requests say (the CONNECT
    /// authority of an intercepted tunnel; the request's origin for responses).
    pub fn set_dest(&mut self, dest: Option<String>) {
        self.dest_override = dest;
    }

    /// Gives back the memory kept between messages for the next one (the last bodies'
    /// decoders); for a stream that has gone idle. What it finds is unchanged.
    pub fn release_spare(&mut self) {
        self.spare_layers.clear();
    }

    /// Whether memory is kept for a next message ([`Self::release_spare`] gives it back).
    pub fn holds_spare(&self) -> bool {
        !self.spare_layers.is_empty()
    }

    /// Turns the decoded views (base64/hex runs, iterated percent, zero-width characters,
    /// look-alikes; on by default) off or on from the next message: for benches that measure
    /// what they cost, side by side in one run.
    pub fn set_encoded_views(&mut self, on: bool) {
        self.encoded_views = on;
    }

    /// The framer (to announce expected responses or switch to a tunnel).
    pub fn framer_mut(&mut self) -> &mut Framer {
        &mut self.framer
    }

    /// Counters so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The `host:port` of the current message, when known.
    pub fn dest(&self) -> Option<&str> {
        self.dest.as_deref()
    }

    /// Frames and scans a prefix of `input`; returns the framing step unchanged.
    pub fn feed(&mut self, registry: &Registry, input: &[u8]) -> Step {
        let step = self.framer.feed(input);
        match &step.event {
            Some(Event::Head(head)) => self.on_head(registry, head),
            Some(Event::Body(range)) => {
                let data = &input[range.clone()];
                self.stats.body_bytes += data.len() as u64;
                if let Some(body) = &mut self.body {
                    if body.is_stopped() {
                        self.stats.unscanned_bytes += data.len() as u64;
                    } else {
                        body.push(
                            registry,
                            &mut self.body_scanner,
                            data,
                            self.framer.is_message_complete(),
                            &mut self.matches,
                            &mut self.view_matches,
                        );
                    }
                    if let Some(found) = body.encoded_found() {
                        self.decoded_matches.append(found);
                    }
                }
            }
            Some(Event::Trailer(range)) => {
                let _ =
                    self.trailer_scanner
                        .push(registry, &input[range.clone()], &mut self.matches);
                let _ = self
                    .trailer_scanner
                    .push(registry, b"\n", &mut self.matches);
            }
            Some(Event::End) => self.on_end(registry),
            Some(Event::Error(_)) => self.stats.framing_errors += 1,
            Some(Event::Tunnel(_)) | None => {}
        }
        self.drain(registry, None);
        step
    }

    /// Frames and scans all of `input` (for callers that do not forward bytes: offline scans,
    /// benches, tests). Feeds until the framer asks for more, which also reports an `End` due
    /// on the call after a body's last byte. Returns the framing error that stopped the stream.
    pub fn feed_all(
        &mut self,
        registry: &Registry,
        input: &[u8],
    ) -> Option<crate::framing::FramingError> {
        let mut at = 0;
        loop {
            let step = self.feed(registry, &input[at..]);
            at += step.consumed;
            match step.event {
                None => return None,
                Some(Event::Error(e)) => return Some(e),
                Some(_) => {}
            }
        }
    }

    /// The peer closed; ends a close-delimited body.
    pub fn finish(&mut self, registry: &Registry) -> Option<Event> {
        let event = self.framer.finish();
        match &event {
            Some(Event::End) => self.on_end(registry),
            Some(Event::Error(_)) => self.stats.framing_errors += 1,
            _ => {}
        }
        self.drain(registry, None);
        event
    }

    /// The next detection, oldest first.
    #[must_use]
    pub fn poll_detection(&mut self) -> Option<Detection> {
        self.detections.pop_front()
    }

    fn on_head(&mut self, registry: &Registry, head: &Head) {
        // Keep-alive requests repeat one host: the destination is built in a scratch string
        // and, when it is the previous message's, that one (and its host, if worked out) is
        // kept.
        let mut dest = std::mem::take(&mut self.dest_scratch);
        dest.clear();
        let known = match &self.dest_override {
            Some(d) => {
                dest.push_str(d);
                true
            }
            None => request_dest(head, &mut dest),
        };
        if !(known && self.dest.as_deref() == Some(dest.as_str())) {
            let previous = self.dest.take();
            if known {
                self.dest = Some(std::mem::take(&mut dest));
            }
            dest = previous.unwrap_or(dest);
            self.dest_host = None;
        }
        self.dest_scratch = dest;
        self.reported.clear();
        self.build_head_view(head);
        self.head_scanner.reset();
        let _ = self
            .head_scanner
            .push_last(registry, &self.head_view, &mut self.matches);
        let segments = std::mem::take(&mut self.segments);
        let view = std::mem::take(&mut self.head_view);
        self.drain(registry, Some((&view, &segments)));
        self.segments = segments;
        self.head_view = view;

        let content_type = head.header("content-type");
        let media = self.media.of(content_type);
        let form = media.form;
        let reassembly = content_type
            .filter(|_| media.streamed)
            .and_then(|ct| Reassembly::for_content_type(ct, self.direction, self.max_scan_bytes));
        let binary = media.binary;
        let views = self.encoded_views && !binary;
        let body = self.body.insert(BodyDecoder::reusing(
            head.header_values("content-encoding"),
            form,
            &mut self.spare_layers,
        ));
        // A streamed body's decoded views are its streams' own: only their budget is given.
        match reassembly {
            Some(r) => {
                body.set_reassembly(Some(
                    r.with_encoded_views(views.then_some(self.max_scan_bytes)),
                ));
            }
            None => body.set_encoded(views.then(|| {
                EncodedView::new(Scope::for_form(form), self.direction, self.max_scan_bytes)
            })),
        }
        self.reported.clear();
        self.body_scanner.reset();
        self.trailer_scanner.reset();
    }

    fn on_end(&mut self, registry: &Registry) {
        self.stats.messages += 1;
        if let Some(body) = &mut self.body {
            let outcome = body.finish(
                registry,
                &mut self.body_scanner,
                &mut self.matches,
                &mut self.view_matches,
            );
            self.stats.scan_truncated += u64::from(outcome.truncated);
            self.stats.unknown_encodings += u64::from(outcome.unknown_encoding);
            self.stats.decode_errors += u64::from(outcome.corrupt);
            if let Some(found) = body.encoded_found() {
                self.decoded_matches.append(found);
            }
            body.recycle(&mut self.spare_layers);
        }
        self.body = None;
        self.trailer_scanner.finish(registry, &mut self.matches);
    }

    /// Head view: the start line with the target percent-decoded, then `name: value` lines.
    fn build_head_view(&mut self, head: &Head) {
        self.head_view.clear();
        self.segments.clear();
        if head.role() == Role::Request {
            self.head_view.extend_from_slice(head.method());
            self.head_view.push(b' ');
            let (mut target, mut folded) = std::mem::take(&mut self.target_scratch);
            target.clear();
            folded.clear();
            let mut decoder = Normaliser::new(TextForm::Percent {
                plus_is_space: false,
            });
            decoder.push(head.target(), &mut |t| {
                target.extend_from_slice(t);
                true
            });
            decoder.finish(&mut |t| {
                target.extend_from_slice(t);
                true
            });
            // Zero-width characters are dropped before scanning, as in bodies.
            let start = self.head_view.len();
            if self.encoded_views {
                strip_zero_width(&target, &mut self.head_view);
            } else {
                self.head_view.extend_from_slice(&target);
            }
            target.clear();
            target.extend_from_slice(&self.head_view[start..]);
            self.head_view.push(b'\n');
            self.segments
                .push((self.head_view.len(), Segment::StartLine));
            self.target_scratch = (target, folded);
        }
        for (name, value) in head.headers() {
            self.head_view.extend_from_slice(name);
            self.head_view.extend_from_slice(b": ");
            self.head_view.extend_from_slice(value);
            self.head_view.push(b'\n');
            let credential = CREDENTIAL_HEADERS
                .iter()
                .any(|h| name.eq_ignore_ascii_case(h.as_bytes()));
            self.segments
                .push((self.head_view.len(), Segment::Header { credential }));
            if credential && head.role() == Role::Request {
                self.push_basic_credential(name, value);
            }
        }
        if head.role() == Role::Request && self.encoded_views {
            // The target's decoded views follow the headers, as segments of their own.
            let (target, mut folded) = std::mem::take(&mut self.target_scratch);
            let start = self.head_view.len();
            target_views(&target, &mut self.head_view, &mut folded);
            if self.head_view.len() > start {
                self.segments
                    .push((self.head_view.len(), Segment::Decoded { folded: false }));
            }
            if !folded.is_empty() {
                self.head_view.extend_from_slice(&folded);
                self.segments
                    .push((self.head_view.len(), Segment::Decoded { folded: true }));
            }
            self.target_scratch = (target, folded);
        }
    }

    /// After an `Authorization: Basic` (or `Proxy-Authorization`) field, its credential
    /// decoded, as a credential header line of its own (`name: Basic user:password`): git, pip
    /// and docker send tokens as the password of basic auth, so a token is found there (and is
    /// expected use only to its provider, like any credential header).
    fn push_basic_credential(&mut self, name: &[u8], value: &[u8]) {
        let authorization = name.eq_ignore_ascii_case(b"authorization")
            || name.eq_ignore_ascii_case(b"proxy-authorization");
        let Some(token) = authorization.then(|| basic_token(value)).flatten() else {
            return;
        };
        let mut decoded = Vec::new();
        if !decode_base64_token(token, &mut decoded) {
            return;
        }
        self.head_view.extend_from_slice(name);
        self.head_view.extend_from_slice(b": Basic ");
        // One line, whatever the credential holds.
        self.head_view.extend(decoded.iter().map(
            |&b| {
                if b == b'\n' || b == b'\r' {
                    b' '
                } else {
                    b
                }
            },
        ));
        self.head_view.push(b'\n');
        self.segments
            .push((self.head_view.len(), Segment::Header { credential: true }));
    }

    /// Turns raw matches into detections. `head` gives the head view and its segments when the
    /// matches came from a head (where the expected-use exemption applies).
    fn drain(&mut self, registry: &Registry, head: Option<HeadView<'_>>) {
        // Called after every framing step; nearly all find nothing to drain.
        if self.matches.is_empty()
            && self.view_matches.is_empty()
            && self.decoded_matches.is_empty()
        {
            return;
        }
        let mut matches = std::mem::take(&mut self.matches);
        for m in matches.drain(..) {
            self.report(registry, m, head, View::RAW);
        }
        self.matches = matches;
        let mut matches = std::mem::take(&mut self.view_matches);
        for m in matches.drain(..) {
            self.report(registry, m, None, View::STREAMS);
        }
        self.view_matches = matches;
        let mut matches = std::mem::take(&mut self.decoded_matches);
        for (view, m) in matches.drain(..) {
            self.report(registry, m, None, view);
        }
        self.decoded_matches = matches;
    }

    /// Reports one match, unless it is expected use (heads) or another view of this message
    /// already reported it.
    fn report(
        &mut self,
        registry: &Registry,
        mut m: RawMatch,
        head: Option<HeadView<'_>>,
        mut from_view: View,
    ) {
        let rule = registry.rule(m.rule);
        if let Some((view, segments)) = head {
            let start = usize::try_from(m.start).unwrap_or(usize::MAX);
            m = within_line(m, view, segments);
            match segments.iter().find(|(end, _)| start < *end) {
                Some((_, Segment::Decoded { folded })) => {
                    if *folded && !crate::decode::encoded::is_folded_rule(&rule.id) {
                        return;
                    }
                    from_view = if *folded {
                        View::FOLDED
                    } else {
                        View::HEAD_DECODED
                    };
                }
                _ => {
                    // Remembered, exempt or not, so that a decoded segment (which follows the
                    // headers) does not repeat it.
                    if matches!(segments.last(), Some((_, Segment::Decoded { .. }))) {
                        let _ = self.seen_in_other_view(&m, View::RAW);
                    }
                    if self.is_expected_use(registry, &rule.id, &m, view, segments) {
                        self.stats.exempted += 1;
                        return;
                    }
                    from_view = View::RAW;
                }
            }
            if from_view != View::RAW && self.seen_in_other_view(&m, from_view) {
                self.stats.view_repeats += 1;
                return;
            }
        } else if self.seen_in_other_view(&m, from_view) {
            self.stats.view_repeats += 1;
            return;
        }
        self.stats.detections += 1;
        self.detections.push_back(Detection {
            rule: m.rule,
            pattern: rule.id.clone(),
            threat: rule.threat,
            severity: rule.severity,
            direction: self.direction,
            dest: self.dest.clone(),
            snippet: redact_snippet(registry, &m),
            digest: m.digest(),
        });
    }

    /// Whether a match of the same occurrence came from the other view of this body (one
    /// matched text contains the other, or both start alike); remembers this one otherwise.
    fn seen_in_other_view(&mut self, m: &RawMatch, from_view: View) -> bool {
        let matched = &m.context[m.within.clone()];
        if self.reported.iter().any(|(rule, other, view)| {
            *rule == m.rule && *view != from_view && same_occurrence(other, matched)
        }) {
            return true;
        }
        if self.reported.len() < MAX_REMEMBERED {
            self.reported.push((m.rule, matched.to_vec(), from_view));
        }
        false
    }

    /// Whether a head match is expected use (SPEC §4.2): in a credential place and sent to the
    /// provider's host (or a trusted one). The destination's host is worked out once per
    /// message, when a match in a credential place first needs it.
    fn is_expected_use(
        &mut self,
        registry: &Registry,
        pattern: &str,
        m: &RawMatch,
        view: &[u8],
        segments: &[(usize, Segment)],
    ) -> bool {
        let Some(dest) = self.dest.as_deref() else {
            return false;
        };
        if !in_credential_place(pattern, m, view, segments) {
            return false;
        }
        let host = self.dest_host.get_or_insert_with(|| host_of(dest)).as_str();
        let matched = &m.context[m.within.clone()];
        provider_hosts(pattern, matched)
            .iter()
            .any(|p| host_matches(p, host))
            || registry
                .trusted_hosts(pattern)
                .iter()
                .any(|p| host_matches(p, host))
    }
}

/// The value of a `Basic` authorization (`Basic <token68>`, the scheme in any case).
fn basic_token(value: &[u8]) -> Option<&[u8]> {
    let scheme = value.get(..6)?;
    if !scheme.eq_ignore_ascii_case(b"basic ") {
        return None;
    }
    let token = value[6..].trim_ascii();
    (!token.is_empty()).then_some(token)
}

/// A head match with its snippet context cut to the line (segment) it is on: a finding in a
/// header never shows a neighbouring header's value (a cookie, another credential, the raw
/// form of a decoded basic credential).
fn within_line(mut m: RawMatch, view: &[u8], segments: &[(usize, Segment)]) -> RawMatch {
    let start = usize::try_from(m.start).unwrap_or(usize::MAX);
    let end = usize::try_from(m.end).unwrap_or(usize::MAX);
    let Some(i) = segments.iter().position(|(e, _)| start < *e) else {
        return m;
    };
    let line_start = i.checked_sub(1).map_or(0, |p| segments[p].0);
    let mut line_end = segments[i].0;
    if view.get(line_end.wrapping_sub(1)) == Some(&b'\n') {
        line_end -= 1;
    }
    let ctx_start = start - m.within.start;
    let ctx_end = ctx_start + m.context.len();
    // A match reaching past its line keeps what it matched.
    let lo = ctx_start.max(line_start.min(start));
    let hi = ctx_end.min(line_end.max(end));
    if lo == ctx_start && hi == ctx_end {
        return m;
    }
    m.context = m.context[lo - ctx_start..hi - ctx_start].to_vec();
    m.within = start - lo..end - lo;
    // An edge at the line's start or end cuts no token.
    m.cut = (m.cut.0 && lo != line_start, m.cut.1 && hi != line_end);
    m
}

/// Whether a head match sits where its credential is sent by design: a credential header, a
/// credential query parameter, or the place its client documents in the URL.
fn in_credential_place(
    pattern: &str,
    m: &RawMatch,
    view: &[u8],
    segments: &[(usize, Segment)],
) -> bool {
    let start = usize::try_from(m.start).unwrap_or(usize::MAX);
    let Some((_, segment)) = segments.iter().find(|(end, _)| start < *end) else {
        return false;
    };
    let matched = &m.context[m.within.clone()];
    match segment {
        Segment::Header { credential } => *credential,
        Segment::Decoded { .. } => false,
        Segment::StartLine => {
            CREDENTIAL_PARAMS.iter().any(|param| {
                // `?param=` or `&param=` just before the match.
                let before = &view[..start];
                let Some(name_start) = before.len().checked_sub(param.len() + 1) else {
                    return false;
                };
                before.ends_with(b"=")
                    && before[name_start..before.len() - 1].eq_ignore_ascii_case(param.as_bytes())
                    && name_start > 0
                    && matches!(before[name_start - 1], b'?' | b'&')
            }) || documented_url_position(
                pattern,
                matched,
                &view[..start],
                m.context.get(m.within.end).copied(),
            )
        }
    }
}

/// Appends the `host:port` a request is addressed to to `out`: the absolute-form authority, the
/// CONNECT target, or the `Host` header (port 80 by default, 443 for `https://` targets).
/// Returns `false`, leaving `out` as it was, when the request names none.
pub fn request_dest(head: &Head, out: &mut String) -> bool {
    let target = head.target();
    if head.method() == b"CONNECT" {
        return match std::str::from_utf8(target) {
            Ok(t) => {
                out.push_str(t);
                true
            }
            Err(_) => false,
        };
    }
    let (authority, default_port) = if let Some(rest) = strip_prefix_ci(target, b"http://") {
        (rest, ":80")
    } else if let Some(rest) = strip_prefix_ci(target, b"https://") {
        (rest, ":443")
    } else {
        match head.header("host") {
            Some(host) => (host, ":80"),
            None => return false,
        }
    };
    let end = authority
        .iter()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(authority.len());
    let Ok(authority) = std::str::from_utf8(&authority[..end]) else {
        return false;
    };
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    if authority.is_empty() {
        return false;
    }
    let has_port = if authority.starts_with('[') {
        authority.contains("]:")
    } else {
        authority.contains(':')
    };
    let start = out.len();
    out.push_str(authority);
    out[start..].make_ascii_lowercase();
    if !has_port {
        out.push_str(default_port);
    }
    true
}

fn strip_prefix_ci<'a>(s: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    (s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &s[prefix.len()..])
}
