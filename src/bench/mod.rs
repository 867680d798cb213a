//! Benchmark support shared by `guardian bench` and the criterion benches.

pub mod core;
pub mod proxy;
pub mod websocket;
pub mod workload;
