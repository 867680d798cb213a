//! Typed framing errors. Every error ends the stream: after it the framer consumes nothing more,
//! because a peer that framed one message ambiguously cannot be trusted to frame the next.

use std::fmt;

/// Why a byte stream is not acceptable HTTP/1.1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FramingError {
    /// The head (start line and header fields) is longer than [`MAX_HEAD_BYTES`](super::MAX_HEAD_BYTES).
    HeadTooLarge,
    /// More than [`MAX_HEADERS`](super::MAX_HEADERS) header fields.
    TooManyHeaders,
    /// The start line or a header field is malformed; the text says which part.
    MalformedHead(&'static str),
    /// A header field line starts with white space (obsolete line folding, RFC 9112 §5.2).
    ObsoleteLineFolding,
    /// `Content-Length` is not a decimal number, overflows, or appears with differing values.
    InvalidContentLength,
    /// Both `Transfer-Encoding` and `Content-Length` are present (RFC 9112 §6.3, smuggling risk).
    TransferEncodingWithContentLength,
    /// A request's `Transfer-Encoding` does not end in `chunked`, or lists `chunked` twice.
    InvalidTransferEncoding,
    /// More than one `Host` header field in a request.
    DuplicateHost,
    /// `Connection` names `Content-Length`, `Transfer-Encoding` or `Host`: a hop that drops the
    /// fields it names would forward the body unframed (request smuggling).
    ConnectionNamesFraming,
    /// An HTTP/1.0 message with `Transfer-Encoding` (RFC 9112 §6.1: the framing is faulty).
    TransferEncodingInHttp10,
    /// A chunk-size line is malformed (not hex, overflow, bad extension, missing CRLF).
    InvalidChunkSize,
    /// A chunk-size line is longer than [`MAX_CHUNK_LINE_BYTES`](super::MAX_CHUNK_LINE_BYTES).
    ChunkLineTooLong,
    /// Chunk data is not followed by CRLF.
    InvalidChunkTerminator,
    /// The trailer section is malformed or larger than [`MAX_TRAILER_BYTES`](super::MAX_TRAILER_BYTES).
    InvalidTrailer,
    /// The stream ended in the middle of a message.
    UnexpectedEof,
}

impl FramingError {
    /// A short reason for a `400 Bad Request` body or a log line.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::HeadTooLarge => "message head larger than 64 KiB",
            Self::TooManyHeaders => "more than 100 header fields",
            Self::MalformedHead(what) => what,
            Self::ObsoleteLineFolding => "obsolete header line folding",
            Self::InvalidContentLength => "invalid or conflicting Content-Length",
            Self::TransferEncodingWithContentLength => {
                "Transfer-Encoding together with Content-Length"
            }
            Self::InvalidTransferEncoding => "Transfer-Encoding must end in a single chunked",
            Self::DuplicateHost => "more than one Host header field",
            Self::ConnectionNamesFraming => {
                "Connection names Content-Length, Transfer-Encoding or Host"
            }
            Self::TransferEncodingInHttp10 => "Transfer-Encoding in an HTTP/1.0 message",
            Self::InvalidChunkSize => "invalid chunk size line",
            Self::ChunkLineTooLong => "chunk size line too long",
            Self::InvalidChunkTerminator => "chunk data not followed by CRLF",
            Self::InvalidTrailer => "invalid or oversized trailer section",
            Self::UnexpectedEof => "connection closed in the middle of a message",
        }
    }
}

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for FramingError {}
