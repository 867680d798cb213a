//! Parsed message heads. A [`Head`] owns its raw bytes and keeps ranges into them, so callers are
//! never tied to the framer's buffers.

use std::mem::MaybeUninit;
use std::ops::Range;

use super::{FramingError, MAX_HEADERS};

/// Which side of an exchange a head (and a framer) belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Client to server.
    Request,
    /// Server to client.
    Response,
}

/// How the body that follows a head is delimited (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// No body.
    Empty,
    /// Exactly this many bytes (`Content-Length`).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the connection closes (responses only).
    UntilClose,
}

/// The start line of a head.
#[derive(Clone, Debug, PartialEq, Eq)]
enum StartLine {
    Request {
        method: Range<usize>,
        target: Range<usize>,
    },
    Response {
        status: u16,
        reason: Range<usize>,
    },
}

/// One header field as ranges into [`Head::raw`].
#[derive(Clone, Debug, PartialEq, Eq)]
struct HeaderIndices {
    name: Range<usize>,
    value: Range<usize>,
}

/// A complete request or response head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    raw: Vec<u8>,
    start: StartLine,
    minor_version: u8,
    headers: Vec<HeaderIndices>,
    /// The union of the fields' [`name_bit`]s.
    names: u64,
}

/// A bit standing for header names of this length and first and last letters (ASCII case
/// folded). A head keeps the union of its fields' bits, so that looking up a name that no
/// field has (most lookups: `Transfer-Encoding`, `Connection`, `Content-Encoding`, `Upgrade`
/// on an ordinary message) costs one test instead of a comparison per field.
fn name_bit(name: &[u8]) -> u64 {
    let fold = |b: Option<&u8>| usize::from(b.map_or(0, u8::to_ascii_lowercase));
    let h = name.len().wrapping_mul(31) ^ fold(name.first()).wrapping_mul(7) ^ fold(name.last());
    1 << (h % 64)
}

impl Head {
    /// Parses a complete head (ending with its blank line) of the given role.
    pub(crate) fn parse(role: Role, raw: Vec<u8>) -> Result<Self, FramingError> {
        // Uninitialised slots: initialising 100 headers per head was a measurable share of
        // framing small messages.
        let mut fields = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
        let base = raw.as_ptr() as usize;
        let len = raw.len();
        // httparse hands out slices of `raw`, except a static "" for a reason phrase that is
        // not UTF-8: anything outside `raw` becomes an empty range (found by fuzzing).
        let range_of = |s: &[u8]| match (s.as_ptr() as usize).checked_sub(base) {
            Some(start) if start + s.len() <= len => start..start + s.len(),
            _ => 0..0,
        };
        let indices = |fields: &[httparse::Header<'_>]| -> Vec<HeaderIndices> {
            fields
                .iter()
                .map(|h| HeaderIndices {
                    name: range_of(h.name.as_bytes()),
                    value: range_of(h.value),
                })
                .collect()
        };
        let config = httparse::ParserConfig::default();
        let (start, minor_version, headers) = match role {
            Role::Request => {
                let mut req = httparse::Request::new(&mut []);
                complete(
                    config.parse_request_with_uninit_headers(&mut req, &raw, &mut fields),
                    &raw,
                )?;
                let method = req
                    .method
                    .ok_or(FramingError::MalformedHead("missing method"))?;
                let target = req
                    .path
                    .ok_or(FramingError::MalformedHead("missing request target"))?;
                let start = StartLine::Request {
                    method: range_of(method.as_bytes()),
                    target: range_of(target.as_bytes()),
                };
                (start, req.version.unwrap_or(1), indices(req.headers))
            }
            Role::Response => {
                let mut res = httparse::Response::new(&mut []);
                complete(
                    config.parse_response_with_uninit_headers(&mut res, &raw, &mut fields),
                    &raw,
                )?;
                let status = res
                    .code
                    .ok_or(FramingError::MalformedHead("missing status code"))?;
                let reason = res.reason.map_or(0..0, |r| range_of(r.as_bytes()));
                (
                    StartLine::Response { status, reason },
                    res.version.unwrap_or(1),
                    indices(res.headers),
                )
            }
        };
        let names = headers
            .iter()
            .fold(0, |bits, h| bits | name_bit(&raw[h.name.clone()]));
        Ok(Head {
            raw,
            start,
            minor_version,
            headers,
            names,
        })
    }

    /// The head exactly as it was received, blank line included.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// Whether this is a request head.
    pub fn role(&self) -> Role {
        match self.start {
            StartLine::Request { .. } => Role::Request,
            StartLine::Response { .. } => Role::Response,
        }
    }

    /// The request method (empty for responses).
    pub fn method(&self) -> &[u8] {
        match &self.start {
            StartLine::Request { method, .. } => &self.raw[method.clone()],
            StartLine::Response { .. } => b"",
        }
    }

    /// The request target as sent (origin-, absolute-, authority- or asterisk-form; empty for responses).
    pub fn target(&self) -> &[u8] {
        match &self.start {
            StartLine::Request { target, .. } => &self.raw[target.clone()],
            StartLine::Response { .. } => b"",
        }
    }

    /// The response status code (`None` for requests).
    pub fn status(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { status, .. } => Some(status),
            StartLine::Request { .. } => None,
        }
    }

    /// The response reason phrase (empty for requests).
    pub fn reason(&self) -> &[u8] {
        match &self.start {
            StartLine::Response { reason, .. } => &self.raw[reason.clone()],
            StartLine::Request { .. } => b"",
        }
    }

    /// The minor HTTP version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub fn minor_version(&self) -> u8 {
        self.minor_version
    }

    /// All header fields in order, as (name, value) byte slices.
    pub fn headers(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.headers
            .iter()
            .map(|h| (&self.raw[h.name.clone()], &self.raw[h.value.clone()]))
    }

    /// Byte ranges of each header line (`name: value`, without line ending) within [`Head::raw`].
    pub fn header_line_ranges(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        self.headers
            .iter()
            .map(|h| h.name.start..h.value.end.max(h.name.end))
    }

    /// Values of every header field with this name (ASCII case-insensitive).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        let name = name.as_bytes();
        let fields: &[HeaderIndices] = if self.names & name_bit(name) == 0 {
            &[]
        } else {
            &self.headers
        };
        fields
            .iter()
            .filter(move |h| {
                h.name.len() == name.len() && self.raw[h.name.clone()].eq_ignore_ascii_case(name)
            })
            .map(|h| &self.raw[h.value.clone()])
    }

    /// The first value of a header field (ASCII case-insensitive).
    pub fn header<'a>(&'a self, name: &'a str) -> Option<&'a [u8]> {
        self.header_values(name).next()
    }

    /// Whether any comma-separated element of the named header equals `token` (case-insensitive).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.header_values(name)
            .any(|v| tokens(v).any(|t| t.eq_ignore_ascii_case(token.as_bytes())))
    }

    /// Whether the connection stays open after this message (HTTP/1.1 default, `Connection` header).
    pub fn keep_alive(&self) -> bool {
        if self.has_token("connection", "close") {
            return false;
        }
        self.minor_version >= 1 || self.has_token("connection", "keep-alive")
    }

    /// How the body that follows is delimited, given what the request was (for responses).
    /// Errors on ambiguous framing, which is how request smuggling starts.
    pub(crate) fn body_kind(&self, request: RequestKind) -> Result<BodyKind, FramingError> {
        let role = self.role();
        if role == Role::Request && self.header_values("host").nth(1).is_some() {
            return Err(FramingError::DuplicateHost);
        }
        let nominated = self.header_values("connection").flat_map(tokens).any(|t| {
            [&b"content-length"[..], b"transfer-encoding", b"host"]
                .iter()
                .any(|f| t.eq_ignore_ascii_case(f))
        });
        if nominated {
            return Err(FramingError::ConnectionNamesFraming);
        }
        let content_length = self.content_length()?;
        let has_te = self.header_values("transfer-encoding").next().is_some();
        if has_te && self.minor_version == 0 {
            return Err(FramingError::TransferEncodingInHttp10);
        }
        if has_te && content_length.is_some() {
            return Err(FramingError::TransferEncodingWithContentLength);
        }
        if let Some(status) = self.status() {
            let no_body = (100..200).contains(&status)
                || status == 204
                || status == 304
                || request == RequestKind::Head
                || (request == RequestKind::Connect && (200..300).contains(&status));
            if no_body {
                return Ok(BodyKind::Empty);
            }
        } else if self.method() == b"CONNECT" {
            return Ok(BodyKind::Empty);
        }
        if has_te {
            let codings: Vec<&[u8]> = self
                .header_values("transfer-encoding")
                .flat_map(tokens)
                .collect();
            let chunked = codings
                .iter()
                .filter(|c| c.eq_ignore_ascii_case(b"chunked"))
                .count();
            let last_chunked = codings
                .last()
                .is_some_and(|c| c.eq_ignore_ascii_case(b"chunked"));
            return match (role, chunked, last_chunked) {
                (_, 1, true) => Ok(BodyKind::Chunked),
                (Role::Response, 0, _) => Ok(BodyKind::UntilClose),
                _ => Err(FramingError::InvalidTransferEncoding),
            };
        }
        match (content_length, role) {
            (Some(0), _) => Ok(BodyKind::Empty),
            (Some(n), _) => Ok(BodyKind::Length(n)),
            (None, Role::Request) => Ok(BodyKind::Empty),
            (None, Role::Response) => Ok(BodyKind::UntilClose),
        }
    }

    /// The `Content-Length`, requiring every value (across fields and list elements) to agree.
    fn content_length(&self) -> Result<Option<u64>, FramingError> {
        let mut found: Option<u64> = None;
        for value in self.header_values("content-length") {
            for element in value.split(|&b| b == b',') {
                let n = parse_decimal(trim(element)).ok_or(FramingError::InvalidContentLength)?;
                if found.is_some_and(|f| f != n) {
                    return Err(FramingError::InvalidContentLength);
                }
                found = Some(n);
            }
        }
        Ok(found)
    }
}

/// What a response answers, because HEAD and CONNECT change how it is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    /// A `HEAD` request: the response has no body.
    Head,
    /// A `CONNECT` request: a 2xx response turns the connection into a tunnel.
    Connect,
    /// Any other method.
    Other,
}

impl RequestKind {
    /// Classifies a request method.
    pub fn of_method(method: &[u8]) -> Self {
        match method {
            b"HEAD" => Self::Head,
            b"CONNECT" => Self::Connect,
            _ => Self::Other,
        }
    }
}

fn complete(status: httparse::Result<usize>, raw: &[u8]) -> Result<(), FramingError> {
    match status {
        Ok(httparse::Status::Complete(n)) if n == raw.len() => Ok(()),
        Ok(_) => Err(FramingError::MalformedHead("malformed header section")),
        Err(httparse::Error::TooManyHeaders) => Err(FramingError::TooManyHeaders),
        Err(httparse::Error::HeaderName) if has_obs_fold(raw) => {
            Err(FramingError::ObsoleteLineFolding)
        }
        Err(httparse::Error::HeaderName) => {
            Err(FramingError::MalformedHead("invalid header field name"))
        }
        Err(httparse::Error::HeaderValue) => {
            Err(FramingError::MalformedHead("invalid header field value"))
        }
        Err(httparse::Error::Token) => {
            Err(FramingError::MalformedHead("invalid token in start line"))
        }
        Err(httparse::Error::Version) => {
            Err(FramingError::MalformedHead("unsupported HTTP version"))
        }
        Err(httparse::Error::Status) => Err(FramingError::MalformedHead("invalid status code")),
        Err(httparse::Error::NewLine) => Err(FramingError::MalformedHead("invalid line ending")),
    }
}

/// Whether a line after the start line begins with white space (obs-fold).
fn has_obs_fold(raw: &[u8]) -> bool {
    raw.windows(2)
        .any(|w| w[0] == b'\n' && (w[1] == b' ' || w[1] == b'\t'))
}

/// Comma-separated list elements with optional white space removed, empty ones skipped.
pub(crate) fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim)
        .filter(|t| !t.is_empty())
}

pub(crate) fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end]
}

/// `1*DIGIT` as u64, `None` on anything else or overflow.
pub(crate) fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    s.iter().try_fold(0u64, |n, &b| {
        let digit = (b as char).to_digit(10)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lookup finds exactly the fields a comparison with every field finds: names in any
    /// case, repeated, absent, and absent names that share a present one's bit.
    #[test]
    fn header_lookups_agree_with_a_scan_of_every_field() {
        let fields = [
            "Content-Type",
            "content-length",
            "X-A",
            "x-b",
            "Connection",
            "SET-COOKIE",
            "Set-Cookie",
            "Transfer-Encoding",
            "Vary",
            "ETag",
            "Host",
            "X-Custom-Header",
            "a",
            "Z",
        ];
        let mut raw = b"HTTP/1.1 200 OK\r\n".to_vec();
        for (i, f) in fields.iter().enumerate() {
            raw.extend_from_slice(format!("{f}: v{i}\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\n");
        let head = Head::parse(Role::Response, raw).expect("a valid head");
        let mut queries: Vec<String> = fields.iter().map(|f| f.to_ascii_uppercase()).collect();
        queries.extend(
            [
                "content-encoding",
                "upgrade",
                "expect",
                "x-c",
                "X-a",
                "etag",
                "hOsT",
                "b",
                "z",
                "",
                "Set-Cookies",
                "trailer",
                "keep-alive",
                "proxy-connection",
            ]
            .map(String::from),
        );
        // Names of every length whose bit is already set: the comparison must still decide.
        for len in 1..24 {
            queries.push("q".repeat(len));
            queries.push(format!("x{}b", "-".repeat(len)));
        }
        let mut colliding = 0;
        for q in &queries {
            let naive: Vec<&[u8]> = head
                .headers()
                .filter(|(n, _)| n.eq_ignore_ascii_case(q.as_bytes()))
                .map(|(_, v)| v)
                .collect();
            let found: Vec<&[u8]> = head.header_values(q).collect();
            assert_eq!(found, naive, "{q}");
            colliding += usize::from(naive.is_empty() && head.names & name_bit(q.as_bytes()) != 0);
        }
        assert!(
            colliding > 0,
            "some absent name shares a bit, so the comparison is exercised"
        );
    }
}
