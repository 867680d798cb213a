//! Guardian's binary crate: the I/O shell around `guardian-parser` — configuration, home
//! directory, command line, reports and benchmarks. Every async-std and async-io call lives in
//! `runtime`; the rest sees `futures-io` traits, so the async runtime is one module's concern.
// Two measured exceptions: `heap::release_free_pages` (glibc `malloc_trim`) and the two system
// calls of `proxy::reset` (`SIOCOUTQ`, `SO_LINGER`); `deny`, not `forbid`, so that those
// functions can allow it and nothing else can.
#![deny(unsafe_code)]

pub mod atomic;
pub mod bench;
pub mod cli;
pub mod config;
pub mod counters;
pub mod daemon;
pub mod diag;
pub mod error;
pub mod heap;
pub mod home;
pub mod loopback;
pub mod nanoclaw;
pub mod proxy;
pub mod report;
pub mod runtime;
pub mod service;
pub mod tls;
