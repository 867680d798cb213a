//! Named limits of the framing layer. Exceeding one is a typed [`FramingError`](super::FramingError).

/// Largest request or response head (start line + header fields + blank line), in bytes.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Most header fields accepted in one head (and in one trailer section).
pub const MAX_HEADERS: usize = 100;

/// Longest chunk-size line (size, extensions and CRLF) accepted in a chunked body.
pub const MAX_CHUNK_LINE_BYTES: usize = 4096;

/// Largest trailer section of a chunked body, in bytes.
pub const MAX_TRAILER_BYTES: usize = 64 * 1024;

/// Most responses a response framer remembers as outstanding (pipelined requests).
pub const MAX_PENDING_REQUESTS: usize = 1024;
