//! The proxy session under random interleavings of client bytes, upstream bytes, connects,
//! closes, time and buffer shedding. Asserts: the origin never receives a request framed
//! differently from how the client framed it, and its body bytes are the client's; what the
//! client receives is a well-framed sequence of at most one final response per request, in
//! order; bytes from a link with no request outstanding never reach the client; no action
//! follows the end.
#![no_main]

use std::collections::{HashMap, VecDeque};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use guardian_parser::framing::{Event, Framer, RequestKind, Role};
use guardian_parser::scan::{Platform, Registry};
use guardian_parser::session::{
    rewrite, Action, Config, ConnectFailure, LinkId, LinkState, Session,
};
use libfuzzer_sys::fuzz_target;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry::builtin(Platform::Nanoclaw))
}

const REQUESTS: &[&[u8]] = &[
    b"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET http://b:81/x HTTP/1.1\r\nHost: b\r\n\r\n",
    b"POST http://a/p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    b"POST http://c/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    b"HEAD http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET http://a/ws HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
    b"CONNECT b:443 HTTP/1.1\r\nHost: b:443\r\n\r\n",
    b"POST http://b:81/ HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
    b"GET http://a/ HTTP/1.1\r\nConnection: close\r\n\r\n",
];

const RESPONSES: &[&[u8]] = &[
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    b"HTTP/1.1 204 No Content\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
    b"HTTP/1.1 200 OK\r\n\r\nuntil close",
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
    b"HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n",
];

/// One message as framed: its head's method or status, and its body bytes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Message {
    start: Vec<u8>,
    body: Vec<u8>,
    complete: bool,
}

/// Frames a stream fed in pieces and keeps its messages.
struct Reader {
    framer: Framer,
    messages: Vec<Message>,
    failed: bool,
}

impl Reader {
    fn new(role: Role) -> Self {
        Reader {
            framer: Framer::new(role),
            messages: Vec::new(),
            failed: false,
        }
    }

    fn feed(&mut self, input: &[u8]) {
        let mut at = 0;
        while !self.failed {
            let step = self.framer.feed(&input[at..]);
            match step.event {
                None => break,
                Some(Event::Head(h)) => self.messages.push(Message {
                    start: match h.status() {
                        Some(s) => s.to_string().into_bytes(),
                        None => h.method().to_vec(),
                    },
                    ..Message::default()
                }),
                Some(Event::Body(r)) => {
                    if let Some(m) = self.messages.last_mut() {
                        m.body.extend_from_slice(&input[at..][r]);
                    }
                }
                Some(Event::End) => {
                    if let Some(m) = self.messages.last_mut() {
                        m.complete = true;
                    }
                }
                Some(Event::Error(_)) => self.failed = true,
                Some(Event::Tunnel(_)) => break,
                Some(_) => {}
            }
            at += step.consumed;
        }
    }
}

struct World {
    s: Session,
    now: Instant,
    pending_connects: VecDeque<LinkId>,
    /// What each link was sent, framed as requests, and in which global order heads came.
    upstream: HashMap<LinkId, Reader>,
    upstream_order: Vec<(LinkId, usize)>,
    /// Bytes the client received (synthetic responses included).
    to_client: Vec<u8>,
    over: bool,
}

impl World {
    /// Carries out the actions; `input` is what the last `handle_upstream` was given (the
    /// bytes a `RelayUpstream` range points into).
    fn drain_with(&mut self, input: Option<(LinkId, &[u8])>) {
        while let Some(a) = self.s.poll_action() {
            assert!(!self.over, "an action after the end: {a:?}");
            match a {
                Action::Connect { link, .. } => self.pending_connects.push_back(link),
                Action::WriteClient(b) => self.to_client.extend_from_slice(&b),
                Action::RelayUpstream { link, range } => {
                    let (from, bytes) = input.expect("a relay with no upstream input");
                    assert_eq!(from, link, "a relay from another link's input");
                    self.to_client.extend_from_slice(&bytes[range]);
                }
                Action::Respond {
                    status,
                    reason,
                    text,
                } => self
                    .to_client
                    .extend_from_slice(&rewrite::synthetic(status, reason, &text)),
                Action::WriteUpstream { link, bytes } => {
                    let reader = self
                        .upstream
                        .entry(link)
                        .or_insert_with(|| Reader::new(Role::Request));
                    let before = reader.messages.len();
                    reader.feed(&bytes);
                    assert!(!reader.failed, "the origin got a request it cannot frame");
                    for i in before..reader.messages.len() {
                        self.upstream_order.push((link, i));
                    }
                }
                Action::CloseLink(_) | Action::Log(_) => {}
                Action::Close | Action::Abort | Action::Tunnel { .. } | Action::Upgrade(_) => self.over = true,
            }
        }
    }

    fn drain(&mut self) {
        self.drain_with(None)
    }

    fn links(&self) -> Vec<LinkId> {
        self.s.readable_links().collect()
    }
}

fuzz_target!(|data: &[u8]| {
    let registry = registry();
    let start = Instant::now();
    let mut w = World {
        s: Session::new(registry, Config::default(), start),
        now: start,
        pending_connects: VecDeque::new(),
        upstream: HashMap::new(),
        upstream_order: Vec::new(),
        to_client: Vec::new(),
        over: false,
    };
    let mut client_sent = Vec::new();
    let mut ops = data.iter().copied();
    while let (Some(op), Some(arg)) = (ops.next(), ops.next()) {
        if w.over {
            break;
        }
        let before = w.to_client.len();
        match op % 9 {
            0 => {
                let r = REQUESTS[arg as usize % REQUESTS.len()];
                client_sent.extend_from_slice(r);
                w.s.handle_client(registry, r, w.now);
            }
            1 => {
                let n = (arg as usize % 16).min(ops.len());
                let raw: Vec<u8> = ops.by_ref().take(n).collect();
                client_sent.extend_from_slice(&raw);
                w.s.handle_client(registry, &raw, w.now);
            }
            2 | 3 => {
                let links = w.links();
                if links.is_empty() {
                    continue;
                }
                let link = links[arg as usize % links.len()];
                let bytes: Vec<u8> = if op % 9 == 2 {
                    // Two more than the fixed ones: a response with a body large enough to be
                    // relayed by range, and a large piece of a body that continues.
                    match (arg as usize / 8) % (RESPONSES.len() + 2) {
                        i if i < RESPONSES.len() => RESPONSES[i].to_vec(),
                        i if i == RESPONSES.len() => {
                            let mut r = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n".to_vec();
                            r.resize(r.len() + 5000, b'x');
                            r
                        }
                        _ => vec![b'y'; 6000],
                    }
                } else {
                    let n = (arg as usize % 16).min(ops.len());
                    ops.by_ref().take(n).collect()
                };
                let unasked = w.s.link_state(link) == Some(&LinkState::Idle);
                w.s.handle_upstream(registry, link, &bytes, w.now);
                w.drain_with(Some((link, &bytes)));
                if unasked {
                    assert_eq!(
                        w.to_client.len(),
                        before,
                        "unsolicited bytes reached the client"
                    );
                }
            }
            4 => {
                if let Some(link) = w.pending_connects.pop_front() {
                    if arg % 4 == 0 {
                        let failure = ConnectFailure {
                            status: 502,
                            reason: "Bad Gateway",
                            text: "refused".into(),
                        };
                        w.s.handle_connect_failed(registry, link, failure, w.now);
                    } else {
                        w.s.handle_connected(registry, link, w.now);
                    }
                }
            }
            5 => {
                w.now += Duration::from_secs(u64::from(arg) * 8);
                if w.s.poll_timeout().is_some_and(|t| t <= w.now) {
                    w.s.handle_timeout(registry, w.now);
                }
                // The shell sheds buffers while it waits; at any point it must change nothing.
                if arg % 2 == 1 {
                    w.s.shed(registry);
                }
            }
            6 => {
                let links = w.links();
                if let Some(&link) = links.get(arg as usize % links.len().max(1)) {
                    w.s.handle_upstream_eof(registry, link, w.now);
                }
            }
            7 => w.s.handle_client_eof(registry, w.now),
            _ => {
                let links = w.links();
                if let Some(&link) = links.get(arg as usize % links.len().max(1)) {
                    w.s.handle_link_failed(link, "reset");
                }
            }
        }
        w.drain();
    }

    // Requests as the client framed them, in order.
    let mut client = Reader::new(Role::Request);
    client.feed(&client_sent);
    for (k, &(link, i)) in w.upstream_order.iter().enumerate() {
        let up = &w.upstream[&link].messages[i];
        let sent = client
            .messages
            .get(k)
            .expect("a request the client did not send");
        assert_eq!(up.start, sent.start, "request {k} changed method");
        assert!(
            sent.body.starts_with(&up.body),
            "request {k}: forwarded body bytes are not the client's"
        );
        if up.complete {
            assert!(
                sent.complete && up.body == sent.body,
                "request {k} framed differently"
            );
        }
    }

    // What the client received: well framed, at most one final response per request, in order.
    let mut framer = Framer::new(Role::Response);
    for m in &client.messages {
        framer.expect_response(match m.start.as_slice() {
            b"HEAD" => RequestKind::Head,
            b"CONNECT" => RequestKind::Connect,
            _ => RequestKind::Other,
        });
    }
    let mut responses = Reader {
        framer,
        messages: Vec::new(),
        failed: false,
    };
    responses.feed(&w.to_client);
    assert!(!responses.failed, "the client got a stream it cannot frame");
    let finals = responses
        .messages
        .iter()
        .filter(|m| !(m.start.starts_with(b"1") && m.start.len() == 3 && m.start != b"101"))
        .count();
    // A stream that stopped being HTTP gets one answer (the 400) for its broken request.
    let requests = client.messages.len() + usize::from(client.failed);
    assert!(finals <= requests.max(1), "more responses than requests");
});
