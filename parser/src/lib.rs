//! # guardian-parser: the sans-IO core of Guardian
//!
//! Bytes in; HTTP events, detections and statistics out. This crate contains no networking code,
//! no async runtime, no clock, no filesystem access and no global state: time is an argument, and
//! every buffer is bounded by a named limit. It is what the proxy, `guardian scan`,
//! `guardian bench`, the criterion benches and the fuzz targets all drive.
//!
//! - [`authority`]: the one parser of `host[:port]` / `[v6]:port` authorities.
//! - [`framing`]: HTTP/1.1 message framing (on `httparse`) for requests and responses.
//! - [`decode`]: content-encoding (gzip, deflate, br) and text normalisation (percent, JSON).
//! - [`scan`]: rule table, literal prefilter, regex confirmation, streaming across chunks.
//! - [`inspect`]: per-direction inspection of a connection: framing → decode → scan → detections.
//! - [`finding`]: the finding record, snippet redaction and dedup.
//! - [`session`]: one proxy client connection as a state machine (bytes and time in, actions out).
//! - [`websocket`]: RFC 6455 deframing (permessage-deflate inflated) of upgraded connections.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod authority;
pub mod decode;
pub mod finding;
pub mod framing;
pub mod inspect;
pub mod scan;
pub mod session;
pub mod verify;
pub mod websocket;

pub(crate) use framing::{tokens as framing_tokens, trim as framing_trim};
