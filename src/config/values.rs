//! Validating newtypes for single values of the configuration. Each is built only through
//! `TryFrom` from what the file holds, a JSON value (so that a wrong type gets a sentence as
//! clear as a wrong value, and the sentence can quote what was written): an invalid value
//! cannot exist. The error is the part of the sentence after `config key "…": `; the key is
//! added from where the value stood ([`super::keys`]).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use guardian_parser::authority::Authority;
use guardian_parser::scan::Platform;
use ipnet::IpNet;
use serde::Deserialize;
use serde_json::Value;

/// Smallest and largest `max_scan_bytes`.
pub const MAX_SCAN_BYTES_RANGE: (u64, u64) = (1024, 64 << 20);
/// Largest `dedup_window`.
pub const MAX_DEDUP_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// What is wrong with one value: the sentence after the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid(pub String);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The string `v` holds, or the sentence `wrong`.
pub(super) fn text(v: &Value, wrong: &str) -> Result<String, Invalid> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| Invalid(wrong.to_string()))
}

/// `platform`: picoclaw, nanoclaw or generic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub struct PlatformName(Platform);

impl PlatformName {
    /// The platform.
    pub fn get(self) -> Platform {
        self.0
    }
}

impl TryFrom<Value> for PlatformName {
    type Error = Invalid;
    fn try_from(v: Value) -> Result<Self, Invalid> {
        let s = text(&v, "must be a string")?;
        Platform::parse(&s)
            .map(PlatformName)
            .ok_or_else(|| Invalid(format!("{s:?} must be one of picoclaw, nanoclaw, generic")))
    }
}

/// `mode`: only `"detect"` exists (Guardian never blocks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub struct Detect;

impl TryFrom<Value> for Detect {
    type Error = Invalid;
    fn try_from(v: Value) -> Result<Self, Invalid> {
        let s = text(&v, "must be a string")?;
        if s != "detect" {
            return Err(Invalid(format!(
                "{s:?} is not supported: the only mode is \"detect\" (Guardian never blocks)"
            )));
        }
        Ok(Detect)
    }
}

/// A `true`/`false` switch (`https_inspection`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub struct Switch(bool);

impl Switch {
    /// Whether it is on.
    pub fn get(self) -> bool {
        self.0
    }
}

impl TryFrom<Value> for Switch {
    type Error = Invalid;
    fn try_from(v: Value) -> Result<Self, Invalid> {
        v.as_bool()
            .map(Switch)
            .ok_or_else(|| Invalid("must be true or false".into()))
    }
}

/// `max_scan_bytes`: a whole number in [`MAX_SCAN_BYTES_RANGE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub struct ScanBudget(u64);

impl ScanBudget {
    /// Bytes scanned per message.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl TryFrom<Value> for ScanBudget {
    type Error = Invalid;
    fn try_from(v: Value) -> Result<Self, Invalid> {
        let (lo, hi) = MAX_SCAN_BYTES_RANGE;
        v.as_u64()
            .filter(|n| (lo..=hi).contains(n))
            .map(ScanBudget)
            .ok_or_else(|| Invalid(format!("{v} must be a whole number from {lo} to {hi}")))
    }
}

/// `dedup_window`: a humantime duration up to [`MAX_DEDUP_WINDOW`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub struct DedupWindow(Duration);

impl DedupWindow {
    /// The window.
    pub fn get(self) -> Duration {
        self.0
    }
}

impl TryFrom<Value> for DedupWindow {
    type Error = Invalid;
    fn try_from(v: Value) -> Result<Self, Invalid> {
        let s = text(&v, "must be a string")?;
        let d = humantime::parse_duration(&s)
            .map_err(|e| Invalid(format!("{s:?} is not a duration like \"10m\" ({e})")))?;
        if d > MAX_DEDUP_WINDOW {
            return Err(Invalid(format!("{s:?} must be between 0s and 24h")));
        }
        Ok(DedupWindow(d))
    }
}

/// An `allow_clients` entry: a CIDR, or a bare address meaning just that host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub struct Cidr(IpNet);

impl Cidr {
    /// The network.
    pub fn get(self) -> IpNet {
        self.0
    }
}

impl TryFrom<Value> for Cidr {
    type Error = Invalid;
    fn try_from(v: Value) -> Result<Self, Invalid> {
        let s = text(&v, "every entry must be a string")?;
        s.parse::<IpNet>()
            .ok()
            .or_else(|| s.parse::<std::net::IpAddr>().ok().map(IpNet::from))
            .map(Cidr)
            .ok_or_else(|| Invalid(format!("{s:?} is not a CIDR like \"10.0.0.0/8\"")))
    }
}

/// `listen`: an `ip:port`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub struct ListenAddr(SocketAddr);

impl ListenAddr {
    /// The address.
    pub fn get(self) -> SocketAddr {
        self.0
    }
}

impl TryFrom<Value> for ListenAddr {
    type Error = Invalid;
    fn try_from(v: Value) -> Result<Self, Invalid> {
        let s = text(&v, "must be a string")?;
        s.parse()
            .map(ListenAddr)
            .map_err(|_| Invalid(format!("{s:?} must be an ip:port like \"127.0.0.1:8877\"")))
    }
}

/// `host:port` or `[v6]:port`, lower-cased, with the port written out and no userinfo: the
/// one authority parser ([`Authority::parse`], which also refuses wildcards) and a registered
/// name as [`HostPattern`] allows.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HostPort(String);

impl HostPort {
    /// `s` as an authority, if it is one.
    pub fn parse(s: &str) -> Option<HostPort> {
        let a = Authority::parse(s, 0).ok()?;
        let named = a.host.contains(':') || HostPattern::parse(&a.host).is_some();
        (a.explicit_port && !a.had_userinfo && named).then(|| HostPort(s.to_ascii_lowercase()))
    }

    /// The authority text.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// `upstream_proxy`: `http://host:port` (a trailing `/` allowed), kept as its authority.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub struct ProxyUrl(HostPort);

impl ProxyUrl {
    /// The parent proxy's `host:port`.
    pub fn into_authority(self) -> String {
        self.0.into_string()
    }
}

impl TryFrom<Value> for ProxyUrl {
    type Error = Invalid;
    fn try_from(v: Value) -> Result<Self, Invalid> {
        let s = text(&v, "must be a string")?;
        s.strip_prefix("http://")
            .and_then(|rest| HostPort::parse(rest.trim_end_matches('/')))
            .map(ProxyUrl)
            .ok_or_else(|| Invalid(format!("{s:?} must look like http://host:port")))
    }
}

/// `upstream_ca_file`: a path (read when the proxy starts).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub struct CaFile(PathBuf);

impl CaFile {
    /// The path.
    pub fn into_path(self) -> PathBuf {
        self.0
    }
}

impl TryFrom<Value> for CaFile {
    type Error = Invalid;
    fn try_from(v: Value) -> Result<Self, Invalid> {
        text(&v, "must be a string").map(|s| CaFile(PathBuf::from(s)))
    }
}

/// A host name or `*.domain`, lower-cased: letters, digits, `.` and `-`, at most 253 bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPattern(String);

impl HostPattern {
    /// `h` as a host pattern, if it is one.
    pub fn parse(h: &str) -> Option<HostPattern> {
        let name = h.strip_prefix("*.").unwrap_or(h);
        let valid = !name.is_empty()
            && name.len() <= 253
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        valid.then(|| HostPattern(h.to_ascii_lowercase()))
    }

    /// The pattern text.
    pub fn into_string(self) -> String {
        self.0
    }
}
