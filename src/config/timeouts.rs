//! The `timeouts` key (SPEC §8): four humantime durations, each in [`TIMEOUT_RANGE`].

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::values::{text, Invalid};

/// Smallest and largest value of every `timeouts` entry.
pub const TIMEOUT_RANGE: (Duration, Duration) =
    (Duration::from_millis(10), Duration::from_secs(24 * 3600));

/// The keys of `timeouts`, for the unknown-key sentence.
pub(super) const FIELDS: &[&str] = &["connect", "header", "idle", "response"];

/// Proxy timeouts (SPEC §8), the `timeouts` key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Connecting upstream (`timeouts.connect`).
    pub connect: Duration,
    /// Receiving a complete request head once it started (`timeouts.header`, slowloris).
    pub header: Duration,
    /// A connection with nothing outstanding (`timeouts.idle`).
    pub idle: Duration,
    /// Waiting for response bytes while a request is outstanding (`timeouts.response`).
    pub response: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            header: Duration::from_secs(30),
            idle: Duration::from_secs(60),
            response: Duration::from_secs(600),
        }
    }
}

/// One timeout: a humantime string (`"30s"`, `"250ms"`, `"1h 30m"`) in [`TIMEOUT_RANGE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub struct Timeout(Duration);

impl Timeout {
    /// The duration.
    pub fn get(self) -> Duration {
        self.0
    }
}

impl TryFrom<Value> for Timeout {
    type Error = Invalid;
    fn try_from(v: Value) -> Result<Self, Invalid> {
        let s = text(&v, "must be a string like \"30s\"")?;
        let d = humantime::parse_duration(&s)
            .map_err(|e| Invalid(format!("{s:?} is not a duration like \"30s\" ({e})")))?;
        if !(TIMEOUT_RANGE.0..=TIMEOUT_RANGE.1).contains(&d) {
            return Err(Invalid(format!("{s:?} must be between 10ms and 24h")));
        }
        Ok(Timeout(d))
    }
}

/// `timeouts` as written: every entry optional, none unknown.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTimeouts {
    #[serde(default, deserialize_with = "super::raw::present")]
    connect: Option<Timeout>,
    #[serde(default, deserialize_with = "super::raw::present")]
    header: Option<Timeout>,
    #[serde(default, deserialize_with = "super::raw::present")]
    idle: Option<Timeout>,
    #[serde(default, deserialize_with = "super::raw::present")]
    response: Option<Timeout>,
}

impl RawTimeouts {
    /// The written timeouts over the defaults.
    pub(super) fn resolve(self) -> Timeouts {
        let d = Timeouts::default();
        let or = |t: Option<Timeout>, default| t.map_or(default, Timeout::get);
        Timeouts {
            connect: or(self.connect, d.connect),
            header: or(self.header, d.header),
            idle: or(self.idle, d.idle),
            response: or(self.response, d.response),
        }
    }
}
