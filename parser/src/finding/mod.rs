//! The finding record (SPEC §4.1), snippet redaction (§5) and dedup (§4.3).

mod dedup;
mod redact;

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

pub use dedup::{Dedup, DEFAULT_CAPACITY};
pub use redact::{redact_exfil_only, redact_snippet, redact_text, MIN_TOKEN_REDACT};

use crate::scan::{Direction, Platform, Severity, ThreatType};

/// The schema version written in every finding.
pub const SCHEMA_VERSION: &str = "clawsec-traffic-finding/v1";

/// How the message travelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Plain HTTP.
    Http,
    /// Intercepted TLS.
    Https,
}

/// One finding: exactly the fields of SPEC §4.1, nothing else.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: String,
    /// The platform Guardian runs for.
    pub platform: Platform,
    /// `outbound` (request) or `inbound` (response).
    pub direction: Direction,
    /// `http` or `https`.
    pub protocol: Protocol,
    /// `EXFIL` or `INJECTION`.
    pub threat_type: ThreatType,
    /// The pattern id.
    pub pattern: String,
    /// The rule's severity.
    pub severity: Severity,
    /// Client IP.
    pub source: String,
    /// `host:port` of the origin as the client addressed it.
    pub dest: String,
    /// Redacted context of the match.
    pub snippet: String,
    /// UTC, RFC 3339, milliseconds, `Z`.
    pub timestamp: String,
}

/// Milliseconds since the Unix epoch (0 before it): the clock value dedup works in.
pub fn unix_millis(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Formats a time as SPEC's timestamp: `2026-04-26T00:00:00.000Z`.
pub fn timestamp(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}
