//! HTTP/1.1 message framing as a sans-IO state machine.
//!
//! A [`Framer`] is fed arbitrary slices of one direction of a connection and reports, one
//! [`Event`] per call, where messages start and end and which bytes are payload. Incomplete input
//! is not an error: [`Step::event`] is `None` and everything was consumed (buffered, if it is part
//! of a head). Ambiguous framing (RFC 9112 §6.3) is a typed [`FramingError`], after which the
//! framer stops, because continuing would desynchronise the connection.
//!
//! ```
//! use guardian_parser::framing::{Event, Framer, Role};
//! let mut framer = Framer::new(Role::Request);
//! let input = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi";
//! let (mut pos, mut body) = (0, Vec::new());
//! loop {
//!     let step = framer.feed(&input[pos..]);
//!     if let Some(Event::Body(r)) = &step.event {
//!         body.extend_from_slice(&input[pos..][r.clone()]);
//!     }
//!     pos += step.consumed;
//!     if step.event.is_none() { break; }
//! }
//! assert_eq!(body, b"hi");
//! ```

mod chunked;
mod error;
mod head;
mod limits;

use std::collections::VecDeque;
use std::ops::Range;

use chunked::{ChunkOutput, ChunkedDecoder};
pub use error::FramingError;
pub(crate) use head::{tokens, trim};
pub use head::{BodyKind, Head, RequestKind, Role};
pub use limits::*;

/// What happened in one [`Framer::feed`] call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A complete head. Bytes of it may have been consumed by earlier steps (they were buffered).
    Head(Box<Head>),
    /// Payload bytes (chunk framing removed) at this range of the input passed to `feed`.
    Body(Range<usize>),
    /// Trailer field bytes of a chunked body at this range of the input.
    Trailer(Range<usize>),
    /// The current message is complete.
    End,
    /// Opaque bytes after a CONNECT or a `101 Switching Protocols`, at this range of the input.
    Tunnel(Range<usize>),
    /// The stream is not valid HTTP/1.1; nothing more will be consumed.
    Error(FramingError),
}

/// What the bytes consumed by a step were, on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// Part of a message head (including ignored empty lines before it).
    Head,
    /// Part of a message body, framing included (chunk-size lines, CRLFs, trailers).
    Body,
    /// Tunnel bytes.
    Tunnel,
}

/// The result of one [`Framer::feed`] call.
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// How many bytes of the input were consumed (never more than its length).
    pub consumed: usize,
    /// What the consumed bytes were.
    pub section: Section,
    /// What happened, if anything; `None` means "give me more input".
    pub event: Option<Event>,
}

#[derive(Clone, Debug)]
enum State {
    Head,
    Length {
        remaining: u64,
    },
    Chunked(ChunkedDecoder),
    UntilClose,
    /// The message is complete; `End` is reported next, then the framer moves to `after`.
    End {
        tunnel: bool,
    },
    Tunnel,
    Failed,
}

/// HTTP/1.1 framing state machine for one direction of one connection.
#[derive(Clone, Debug)]
pub struct Framer {
    role: Role,
    state: State,
    head_buf: Vec<u8>,
    pending: VecDeque<RequestKind>,
    /// Whether the message being framed ends by switching the stream to a tunnel.
    tunnel_after: bool,
}

impl Framer {
    /// A framer for requests (client → server) or responses (server → client).
    pub fn new(role: Role) -> Self {
        Framer {
            role,
            state: State::Head,
            head_buf: Vec::new(),
            pending: VecDeque::new(),
            tunnel_after: false,
        }
    }

    /// The role this framer parses.
    pub fn role(&self) -> Role {
        self.role
    }

    /// For a response framer: the next response answers a request of this kind (HEAD has no body,
    /// CONNECT turns into a tunnel). Unannounced responses are taken as answers to `GET`.
    pub fn expect_response(&mut self, kind: RequestKind) {
        if self.pending.len() < MAX_PENDING_REQUESTS {
            self.pending.push_back(kind);
        }
    }

    /// Treat every byte from now on as opaque (the peer's `101 Switching Protocols` was seen).
    pub fn switch_to_tunnel(&mut self) {
        if !matches!(self.state, State::Failed) {
            self.state = State::Tunnel;
        }
    }

    /// Whether the framer is between messages with nothing buffered.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Head) && self.head_buf.is_empty()
    }

    /// Whether the message's last byte has been framed: the next [`Framer::feed`] reports
    /// `End` without needing input.
    pub fn is_message_complete(&self) -> bool {
        matches!(self.state, State::End { .. })
    }

    /// Whether the stream has turned into a tunnel.
    pub fn is_tunnel(&self) -> bool {
        matches!(self.state, State::Tunnel)
    }

    /// Consumes a prefix of `input` and reports at most one event.
    pub fn feed(&mut self, input: &[u8]) -> Step {
        match &mut self.state {
            State::Head => self.feed_head(input),
            State::Length { remaining } => {
                if input.is_empty() {
                    return step(0, Section::Body, None);
                }
                let take = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len());
                *remaining -= take as u64;
                if *remaining == 0 {
                    self.state = State::End {
                        tunnel: self.tunnel_after,
                    };
                }
                step(take, Section::Body, Some(Event::Body(0..take)))
            }
            State::Chunked(decoder) => match decoder.decode(input) {
                Ok((n, ChunkOutput::None)) => step(n, Section::Body, None),
                Ok((n, ChunkOutput::Data(r))) => step(n, Section::Body, Some(Event::Body(r))),
                Ok((n, ChunkOutput::Trailer(r))) => step(n, Section::Body, Some(Event::Trailer(r))),
                Ok((n, ChunkOutput::Done)) => {
                    self.state = State::End {
                        tunnel: self.tunnel_after,
                    };
                    step(n, Section::Body, None).or_continue(self)
                }
                Err(e) => self.fail(e),
            },
            State::UntilClose if input.is_empty() => step(0, Section::Body, None),
            State::UntilClose => step(
                input.len(),
                Section::Body,
                Some(Event::Body(0..input.len())),
            ),
            State::End { tunnel } => {
                self.state = if *tunnel { State::Tunnel } else { State::Head };
                self.tunnel_after = false;
                step(0, Section::Body, Some(Event::End))
            }
            State::Tunnel if input.is_empty() => step(0, Section::Tunnel, None),
            State::Tunnel => step(
                input.len(),
                Section::Tunnel,
                Some(Event::Tunnel(0..input.len())),
            ),
            State::Failed => step(0, Section::Body, None),
        }
    }

    /// The peer closed its side. Returns `End` for a close-delimited body, an error for a message
    /// cut short, and `None` when the stream ended cleanly between messages.
    pub fn finish(&mut self) -> Option<Event> {
        match &self.state {
            State::Head if self.head_buf.is_empty() => None,
            State::UntilClose | State::End { .. } => {
                self.state = State::Head;
                Some(Event::End)
            }
            State::Tunnel | State::Failed => None,
            _ => {
                self.state = State::Failed;
                Some(Event::Error(FramingError::UnexpectedEof))
            }
        }
    }

    fn feed_head(&mut self, input: &[u8]) -> Step {
        let mut skipped = 0;
        if self.head_buf.is_empty() {
            // RFC 9112 §2.2: ignore empty lines before a request line.
            skipped = input
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
        }
        let data = &input[skipped..];
        let Some(end) = find_head_end(&self.head_buf, data) else {
            if self.head_buf.len() + data.len() > MAX_HEAD_BYTES {
                return self.fail(FramingError::HeadTooLarge);
            }
            self.head_buf.extend_from_slice(data);
            return step(input.len(), Section::Head, None);
        };
        if self.head_buf.len() + end > MAX_HEAD_BYTES {
            return self.fail(FramingError::HeadTooLarge);
        }
        let mut raw = std::mem::take(&mut self.head_buf);
        raw.extend_from_slice(&data[..end]);
        let consumed = skipped + end;
        let head = match Head::parse(self.role, raw) {
            Ok(head) => head,
            Err(e) => return self.fail(e),
        };
        let request = match self.role {
            Role::Request => RequestKind::of_method(head.method()),
            // Interim (1xx other than 101) responses leave the request outstanding.
            Role::Response
                if matches!(head.status(), Some(100..=199)) && head.status() != Some(101) =>
            {
                self.pending.front().copied().unwrap_or(RequestKind::Other)
            }
            Role::Response => self.pending.pop_front().unwrap_or(RequestKind::Other),
        };
        let body = match head.body_kind(request) {
            Ok(body) => body,
            Err(e) => return self.fail(e),
        };
        self.tunnel_after = match (self.role, head.status()) {
            (Role::Request, _) => request == RequestKind::Connect,
            (Role::Response, Some(101)) => true,
            (Role::Response, Some(status)) => {
                request == RequestKind::Connect && (200..300).contains(&status)
            }
            (Role::Response, None) => false,
        };
        self.state = match body {
            BodyKind::Empty => State::End {
                tunnel: self.tunnel_after,
            },
            BodyKind::Length(n) => State::Length { remaining: n },
            BodyKind::Chunked => State::Chunked(ChunkedDecoder::new()),
            BodyKind::UntilClose => State::UntilClose,
        };
        step(consumed, Section::Head, Some(Event::Head(Box::new(head))))
    }

    fn fail(&mut self, error: FramingError) -> Step {
        self.state = State::Failed;
        self.head_buf = Vec::new();
        step(0, Section::Body, Some(Event::Error(error)))
    }
}

fn step(consumed: usize, section: Section, event: Option<Event>) -> Step {
    Step {
        consumed,
        section,
        event,
    }
}

impl Step {
    /// A step that finished a body reports `End` at once rather than waiting for more input.
    fn or_continue(self, framer: &mut Framer) -> Step {
        let next = framer.feed(&[]);
        Step {
            consumed: self.consumed,
            section: self.section,
            event: next.event,
        }
    }
}

/// Finds the end of a head (just after the blank line) in `data`, given the bytes already
/// buffered before it. Only the new bytes are searched, so a slow sender costs linear time.
fn find_head_end(buffered: &[u8], data: &[u8]) -> Option<usize> {
    let before = |i: usize, back: usize| -> Option<u8> {
        // Byte `back` positions before data[i], looking into the buffered bytes if needed.
        if back <= i {
            Some(data[i - back])
        } else {
            buffered.len().checked_sub(back - i).map(|j| buffered[j])
        }
    };
    memchr::memchr_iter(b'\n', data)
        .find(|&i| match before(i, 1) {
            Some(b'\n') => true,
            Some(b'\r') => before(i, 2) == Some(b'\n'),
            _ => false,
        })
        .map(|i| i + 1)
}
