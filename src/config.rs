//! Configuration (SPEC §3): file + clawsec environment variables → one validated [`Config`],
//! with a canonical digest. Every key is checked here, once, with an error naming the key and
//! the allowed values.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use guardian_parser::authority::Authority;
use guardian_parser::scan::{Direction, Platform, RegistryOptions, RuleSpec, Severity, ThreatType};
use ipnet::IpNet;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Smallest and largest `max_scan_bytes`.
pub const MAX_SCAN_BYTES_RANGE: (u64, u64) = (1024, 64 << 20);
/// Largest `dedup_window`.
pub const MAX_DEDUP_WINDOW: Duration = Duration::from_secs(24 * 3600);

const KEYS: &[&str] = &[
    "platform",
    "listen",
    "mode",
    "https_inspection",
    "max_scan_bytes",
    "dedup_window",
    "allow_clients",
    "upstream_proxy",
    "upstream_ca_file",
    "resolve",
    "trusted_credential_hosts",
    "patterns",
    "timeouts",
];

/// Smallest and largest value of every `timeouts` entry.
pub const TIMEOUT_RANGE: (Duration, Duration) =
    (Duration::from_millis(10), Duration::from_secs(24 * 3600));

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

/// An extra pattern as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtraPattern {
    /// Pattern id.
    pub id: String,
    /// EXFIL or INJECTION.
    pub threat_type: ThreatType,
    /// outbound or inbound.
    pub direction: Direction,
    /// Severity.
    pub severity: Severity,
    /// Confirming regex.
    pub regex: String,
    /// Prefilter literals.
    pub literals: Vec<String>,
}

/// The effective, validated configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Platform label.
    pub platform: Platform,
    /// Listen address.
    pub listen: SocketAddr,
    /// Whether CONNECT tunnels are intercepted.
    pub https_inspection: bool,
    /// Scan budget per message.
    pub max_scan_bytes: u64,
    /// Dedup window.
    pub dedup_window: Duration,
    /// Clients allowed to use the proxy.
    pub allow_clients: Vec<IpNet>,
    /// Parent proxy `host:port`.
    pub upstream_proxy: Option<String>,
    /// Extra PEM roots for upstream TLS.
    pub upstream_ca_file: Option<PathBuf>,
    /// `host:port` → address overrides.
    pub resolve: BTreeMap<String, SocketAddr>,
    /// Extra expected-use hosts per pattern.
    pub trusted_credential_hosts: BTreeMap<String, Vec<String>>,
    /// Patterns turned off.
    pub disable: Vec<String>,
    /// Extra patterns.
    pub extra: Vec<ExtraPattern>,
    /// Proxy timeouts.
    pub timeouts: Timeouts,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            platform: Platform::Picoclaw,
            listen: SocketAddr::from(([127, 0, 0, 1], 8877)),
            https_inspection: false,
            max_scan_bytes: 1 << 20,
            dedup_window: Duration::from_secs(600),
            allow_clients: default_allow_clients(),
            upstream_proxy: None,
            upstream_ca_file: None,
            resolve: BTreeMap::new(),
            trusted_credential_hosts: BTreeMap::new(),
            disable: Vec::new(),
            extra: Vec::new(),
            timeouts: Timeouts::default(),
        }
    }
}

fn default_allow_clients() -> Vec<IpNet> {
    ["127.0.0.1/32", "::1/128"]
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// Where the configuration came from, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// The configuration.
    pub config: Config,
    /// The file read, if any.
    pub file: Option<PathBuf>,
}

/// Environment variable names of a platform (`PICOCLAW_TRAFFIC_GUARDIAN_MODE`, …).
pub fn env_name(platform: Platform, suffix: &str) -> Option<String> {
    let prefix = match platform {
        Platform::Picoclaw => "PICOCLAW",
        Platform::Nanoclaw => "NANOCLAW",
        Platform::Generic => return None,
    };
    Some(format!("{prefix}_TRAFFIC_GUARDIAN_{suffix}"))
}

/// Reads an environment variable through a lookup function (tests pass their own).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment as an [`Env`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Loads the configuration: `--config FILE`, else `<P>_TRAFFIC_GUARDIAN_CONFIG`, else
/// `HOME_DIR/config.json` if it exists, else defaults; then the environment overrides of the
/// resulting platform.
pub fn load(flag: Option<&Path>, home: &Path, env: Env<'_>) -> Result<Loaded> {
    let from_env = [Platform::Picoclaw, Platform::Nanoclaw]
        .iter()
        .filter_map(|p| env_name(*p, "CONFIG").and_then(|n| env(&n)))
        .next()
        .map(PathBuf::from);
    let default = home.join("config.json");
    let file = match (flag, from_env) {
        (Some(f), _) => Some(f.to_path_buf()),
        (None, Some(f)) => Some(f),
        (None, None) if default.exists() => Some(default),
        (None, None) => None,
    };
    let mut value = match &file {
        Some(path) => {
            let text = read_regular(path)?;
            serde_json::from_str::<Value>(&text).map_err(|e| {
                Error::usage(format!(
                    "config file {} is not valid JSON ({e}); fix the syntax or remove the file",
                    path.display()
                ))
            })?
        }
        None => Value::Object(Map::new()),
    };
    let obj = value
        .as_object_mut()
        .ok_or_else(|| Error::usage("config: the top level must be a JSON object"))?;
    apply_env(obj, env)?;
    let config = from_json(obj)?;
    Ok(Loaded { config, file })
}

/// Reads a configuration file, which must be a regular file: opened non-blocking and checked
/// before reading, so a FIFO or a device is an error at once, never a block.
fn read_regular(path: &Path) -> Result<String> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let cannot = |e: std::io::Error| {
        Error::usage(format!("cannot read config file {}: {e}", path.display()))
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(cannot)?;
    if !file.metadata().map_err(cannot)?.is_file() {
        return Err(Error::usage(format!(
            "config file {} is not a regular file (a FIFO, device or directory); pass a JSON file",
            path.display()
        )));
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(cannot)?;
    Ok(text)
}

fn apply_env(obj: &mut Map<String, Value>, env: Env<'_>) -> Result<()> {
    let platform = match obj.get("platform") {
        Some(Value::String(p)) => Platform::parse(p).unwrap_or(Platform::Picoclaw),
        _ => Platform::Picoclaw,
    };
    let get = |suffix: &str| env_name(platform, suffix).and_then(|n| env(&n).map(|v| (n, v)));
    if let Some((_, v)) = get("MODE") {
        obj.insert("mode".into(), Value::String(v));
    }
    if let Some((name, v)) = get("MAX_SCAN_BYTES") {
        let n: u64 = v
            .trim()
            .parse()
            .map_err(|_| Error::usage(format!("{name}={v:?} must be a whole number of bytes")))?;
        obj.insert("max_scan_bytes".into(), json!(n));
    }
    if let Some((_, v)) = get("PROXY_URL") {
        obj.insert("upstream_proxy".into(), Value::String(v));
    }
    if let Some((name, v)) = get("REDACT_SNIPPETS") {
        match v.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => {}
            _ => {
                return Err(Error::usage(format!(
                    "{name}={v:?}: redaction cannot be turned off; unset the variable or set it to true"
                )))
            }
        }
    }
    Ok(())
}

fn bad(key: &str, what: impl std::fmt::Display) -> Error {
    Error::usage(format!("config key \"{key}\": {what}"))
}

/// Validates a configuration object (unknown keys rejected).
pub fn from_json(obj: &Map<String, Value>) -> Result<Config> {
    if let Some(unknown) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(Error::usage(format!(
            "config: unknown key \"{unknown}\"; allowed keys: {}",
            KEYS.join(", ")
        )));
    }
    let mut c = Config::default();
    let str_of = |key: &str, v: &Value| {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| bad(key, "must be a string"))
    };
    if let Some(v) = obj.get("platform") {
        let s = str_of("platform", v)?;
        c.platform = Platform::parse(&s).ok_or_else(|| {
            bad(
                "platform",
                format!("{s:?} must be one of picoclaw, nanoclaw, generic"),
            )
        })?;
    }
    if let Some(v) = obj.get("mode") {
        let s = str_of("mode", v)?;
        if s != "detect" {
            return Err(bad(
                "mode",
                format!(
                    "{s:?} is not supported: the only mode is \"detect\" (Guardian never blocks)"
                ),
            ));
        }
    }
    if let Some(v) = obj.get("https_inspection") {
        c.https_inspection = v
            .as_bool()
            .ok_or_else(|| bad("https_inspection", "must be true or false"))?;
    }
    if let Some(v) = obj.get("max_scan_bytes") {
        let (lo, hi) = MAX_SCAN_BYTES_RANGE;
        c.max_scan_bytes = v
            .as_u64()
            .filter(|n| (lo..=hi).contains(n))
            .ok_or_else(|| {
                bad(
                    "max_scan_bytes",
                    format!("{v} must be a whole number from {lo} to {hi}"),
                )
            })?;
    }
    if let Some(v) = obj.get("dedup_window") {
        let s = str_of("dedup_window", v)?;
        let d = humantime::parse_duration(&s).map_err(|e| {
            bad(
                "dedup_window",
                format!("{s:?} is not a duration like \"10m\" ({e})"),
            )
        })?;
        if d > MAX_DEDUP_WINDOW {
            return Err(bad(
                "dedup_window",
                format!("{s:?} must be between 0s and 24h"),
            ));
        }
        c.dedup_window = d;
    }
    if let Some(v) = obj.get("allow_clients") {
        let list = v.as_array().ok_or_else(|| {
            bad(
                "allow_clients",
                "must be a list of CIDRs like \"127.0.0.1/32\"",
            )
        })?;
        c.allow_clients = list
            .iter()
            .map(|item| {
                let s = item
                    .as_str()
                    .ok_or_else(|| bad("allow_clients", "every entry must be a string"))?;
                parse_cidr(s).ok_or_else(|| {
                    bad(
                        "allow_clients",
                        format!("{s:?} is not a CIDR like \"10.0.0.0/8\""),
                    )
                })
            })
            .collect::<Result<_>>()?;
    }
    if let Some(v) = obj.get("listen") {
        let s = str_of("listen", v)?;
        c.listen = s.parse().map_err(|_| {
            bad(
                "listen",
                format!("{s:?} must be an ip:port like \"127.0.0.1:8877\""),
            )
        })?;
    }
    if !c.listen.ip().is_loopback() && c.allow_clients == default_allow_clients() {
        return Err(bad(
            "listen",
            format!("{} is not a loopback address: set \"allow_clients\" to the networks that may use the proxy", c.listen),
        ));
    }
    match obj.get("upstream_proxy") {
        None | Some(Value::Null) => {}
        Some(v) => c.upstream_proxy = Some(parse_proxy_url(&str_of("upstream_proxy", v)?)?),
    }
    match obj.get("upstream_ca_file") {
        None | Some(Value::Null) => {}
        Some(v) => c.upstream_ca_file = Some(PathBuf::from(str_of("upstream_ca_file", v)?)),
    }
    if let Some(v) = obj.get("resolve") {
        let map = v
            .as_object()
            .ok_or_else(|| bad("resolve", "must be an object {\"host:port\": \"ip:port\"}"))?;
        for (from, to) in map {
            if !valid_authority(from) {
                return Err(bad("resolve", format!("key {from:?} must be host:port")));
            }
            let to_s = to.as_str().unwrap_or_default();
            let addr: SocketAddr = to_s
                .parse()
                .map_err(|_| bad("resolve", format!("{from:?} → {to} must be an ip:port")))?;
            c.resolve.insert(from.to_ascii_lowercase(), addr);
        }
    }
    if let Some(v) = obj.get("trusted_credential_hosts") {
        let map = v.as_object().ok_or_else(|| {
            bad(
                "trusted_credential_hosts",
                "must be an object {\"pattern_id\": [\"host\", \"*.domain\"]}",
            )
        })?;
        for (id, hosts) in map {
            let hosts = hosts
                .as_array()
                .ok_or_else(|| {
                    bad(
                        "trusted_credential_hosts",
                        format!("{id:?} must map to a list of hosts"),
                    )
                })?
                .iter()
                .map(|h| {
                    h.as_str()
                        .filter(|h| valid_host_pattern(h))
                        .map(str::to_ascii_lowercase)
                        .ok_or_else(|| {
                            bad(
                                "trusted_credential_hosts",
                                format!("{id:?}: {h} is not a host or *.domain"),
                            )
                        })
                })
                .collect::<Result<Vec<_>>>()?;
            c.trusted_credential_hosts.insert(id.clone(), hosts);
        }
    }
    if let Some(v) = obj.get("timeouts") {
        c.timeouts = parse_timeouts(v)?;
    }
    if let Some(v) = obj.get("patterns") {
        parse_patterns(v, &mut c)?;
    }
    // Compile once here so a bad pattern is a config error, not a runtime one.
    guardian_parser::scan::Registry::new(c.registry_options())
        .map_err(|e| Error::usage(format!("config key \"patterns\": {e}")))?;
    for id in c.trusted_credential_hosts.keys() {
        if !guardian_parser::scan::builtin_ids().any(|b| b == id)
            && !c.extra.iter().any(|e| &e.id == id)
        {
            return Err(bad(
                "trusted_credential_hosts",
                format!("unknown pattern id {id:?}"),
            ));
        }
    }
    Ok(c)
}

fn parse_timeouts(v: &Value) -> Result<Timeouts> {
    const FIELDS: &[&str] = &["connect", "header", "idle", "response"];
    let obj = v.as_object().ok_or_else(|| {
        bad(
            "timeouts",
            "must be an object {\"connect\", \"header\", \"idle\", \"response\"}",
        )
    })?;
    if let Some(unknown) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(bad(
            "timeouts",
            format!("unknown key \"{unknown}\"; allowed: {}", FIELDS.join(", ")),
        ));
    }
    let mut t = Timeouts::default();
    for (name, slot) in [
        ("connect", &mut t.connect),
        ("header", &mut t.header),
        ("idle", &mut t.idle),
        ("response", &mut t.response),
    ] {
        let Some(v) = obj.get(name) else { continue };
        let key = format!("timeouts.{name}");
        let s = v
            .as_str()
            .ok_or_else(|| bad(&key, "must be a string like \"30s\""))?;
        let d = humantime::parse_duration(s)
            .map_err(|e| bad(&key, format!("{s:?} is not a duration like \"30s\" ({e})")))?;
        if !(TIMEOUT_RANGE.0..=TIMEOUT_RANGE.1).contains(&d) {
            return Err(bad(&key, format!("{s:?} must be between 10ms and 24h")));
        }
        *slot = d;
    }
    Ok(t)
}

fn parse_patterns(v: &Value, c: &mut Config) -> Result<()> {
    let obj = v.as_object().ok_or_else(|| {
        bad(
            "patterns",
            "must be an object {\"disable\": [...], \"extra\": [...]}",
        )
    })?;
    if let Some(unknown) = obj.keys().find(|k| *k != "disable" && *k != "extra") {
        return Err(bad(
            "patterns",
            format!("unknown key \"{unknown}\"; allowed: disable, extra"),
        ));
    }
    if let Some(d) = obj.get("disable") {
        let list = d
            .as_array()
            .ok_or_else(|| bad("patterns.disable", "must be a list of pattern ids"))?;
        c.disable = list
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad("patterns.disable", "entries must be strings"))
            })
            .collect::<Result<_>>()?;
    }
    if let Some(e) = obj.get("extra") {
        let list = e
            .as_array()
            .ok_or_else(|| bad("patterns.extra", "must be a list of pattern objects"))?;
        for item in list {
            c.extra.push(parse_extra(item)?);
        }
    }
    Ok(())
}

fn parse_extra(item: &Value) -> Result<ExtraPattern> {
    const FIELDS: &[&str] = &[
        "id",
        "threat_type",
        "direction",
        "severity",
        "regex",
        "literals",
    ];
    let obj = item
        .as_object()
        .ok_or_else(|| bad("patterns.extra", "every entry must be an object"))?;
    if let Some(unknown) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(bad(
            "patterns.extra",
            format!("unknown field \"{unknown}\"; fields: {}", FIELDS.join(", ")),
        ));
    }
    let field = |name: &str| {
        obj.get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                bad(
                    "patterns.extra",
                    format!("field \"{name}\" is required and must be a string"),
                )
            })
    };
    let id = field("id")?;
    let threat_type = match field("threat_type")?.as_str() {
        "EXFIL" => ThreatType::Exfil,
        "INJECTION" => ThreatType::Injection,
        other => {
            return Err(bad(
                "patterns.extra",
                format!("{id}: threat_type {other:?} must be EXFIL or INJECTION"),
            ))
        }
    };
    let direction = match field("direction")?.as_str() {
        "outbound" => Direction::Outbound,
        "inbound" => Direction::Inbound,
        other => {
            return Err(bad(
                "patterns.extra",
                format!("{id}: direction {other:?} must be outbound or inbound"),
            ))
        }
    };
    let sev = field("severity")?;
    let severity = Severity::parse(&sev).ok_or_else(|| {
        bad(
            "patterns.extra",
            format!("{id}: severity {sev:?} must be low, medium, high or critical"),
        )
    })?;
    let literals = obj
        .get("literals")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            bad(
                "patterns.extra",
                format!("{id}: field \"literals\" must be a list of strings"),
            )
        })?
        .iter()
        .map(|l| {
            l.as_str()
                .map(str::to_string)
                .ok_or_else(|| bad("patterns.extra", format!("{id}: literals must be strings")))
        })
        .collect::<Result<_>>()?;
    Ok(ExtraPattern {
        id,
        threat_type,
        direction,
        severity,
        regex: field("regex")?,
        literals,
    })
}

fn parse_cidr(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}

fn parse_proxy_url(s: &str) -> Result<String> {
    let rest = s.strip_prefix("http://").ok_or_else(|| {
        bad(
            "upstream_proxy",
            format!("{s:?} must look like http://host:port"),
        )
    })?;
    let authority = rest.trim_end_matches('/');
    if !valid_authority(authority) {
        return Err(bad(
            "upstream_proxy",
            format!("{s:?} must look like http://host:port"),
        ));
    }
    Ok(authority.to_ascii_lowercase())
}

/// `host:port` or `[v6]:port` with the port written out and no userinfo (the one authority
/// parser, [`Authority::parse`], which also refuses wildcards); a registered name as
/// `valid_host_pattern` allows.
fn valid_authority(s: &str) -> bool {
    Authority::parse(s, 0).is_ok_and(|a| {
        a.explicit_port && !a.had_userinfo && (a.host.contains(':') || valid_host_pattern(&a.host))
    })
}

fn valid_host_pattern(h: &str) -> bool {
    let name = h.strip_prefix("*.").unwrap_or(h);
    !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

impl Config {
    /// The detection part, for building the rule registry.
    pub fn registry_options(&self) -> RegistryOptions {
        RegistryOptions {
            platform: Some(self.platform),
            disable: self.disable.clone(),
            extra: self
                .extra
                .iter()
                .map(|e| RuleSpec {
                    id: e.id.clone(),
                    threat: e.threat_type,
                    direction: e.direction,
                    severity: e.severity,
                    platform: None,
                    literals: e.literals.clone(),
                    ci_literals: Vec::new(),
                    regex: e.regex.clone(),
                    boundary: guardian_parser::scan::Boundary::Any,
                    check: None,
                    consumes_rejected: false,
                })
                .collect(),
            trusted_credential_hosts: self.trusted_credential_hosts.clone(),
        }
    }

    /// The effective configuration as JSON (the shape of `config.json`).
    pub fn to_json(&self) -> Value {
        json!({
            "platform": self.platform.as_str(),
            "listen": self.listen.to_string(),
            "mode": "detect",
            "https_inspection": self.https_inspection,
            "max_scan_bytes": self.max_scan_bytes,
            "dedup_window": humantime::format_duration(self.dedup_window).to_string(),
            "allow_clients": self.allow_clients.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "upstream_proxy": self.upstream_proxy.as_ref().map(|a| format!("http://{a}")),
            "upstream_ca_file": self.upstream_ca_file.as_ref().map(|p| p.display().to_string()),
            "resolve": self.resolve.iter().map(|(k, v)| (k.clone(), json!(v.to_string()))).collect::<Map<_, _>>(),
            "trusted_credential_hosts": self.trusted_credential_hosts,
            "timeouts": {
                "connect": humantime::format_duration(self.timeouts.connect).to_string(),
                "header": humantime::format_duration(self.timeouts.header).to_string(),
                "idle": humantime::format_duration(self.timeouts.idle).to_string(),
                "response": humantime::format_duration(self.timeouts.response).to_string(),
            },
            "patterns": {
                "disable": self.disable,
                "extra": self.extra.iter().map(|e| json!({
                    "id": e.id, "threat_type": e.threat_type.as_str(), "direction": e.direction.as_str(),
                    "severity": e.severity.as_str(), "regex": e.regex, "literals": e.literals,
                })).collect::<Vec<_>>(),
            },
        })
    }

    /// SHA-256 (hex) of the effective configuration as canonical JSON (sorted keys, no spaces).
    pub fn sha256(&self) -> String {
        // serde_json's Map is a BTreeMap (no preserve_order feature): keys serialise sorted.
        let canonical = serde_json::to_string(&self.to_json()).unwrap_or_default();
        hex(&Sha256::digest(canonical.as_bytes()))
    }

    /// Whether a client address may use the proxy.
    pub fn allows(&self, ip: std::net::IpAddr) -> bool {
        let ip = match ip {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
            v4 => v4,
        };
        self.allow_clients.iter().any(|net| net.contains(&ip))
    }
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(v: Value) -> Result<Config> {
        from_json(v.as_object().expect("object"))
    }

    #[test]
    fn authority_keys_go_through_the_one_parser() {
        let c = config(
            json!({"resolve": {"API.example.com:443": "127.0.0.1:8443", "[::1]:80": "127.0.0.1:80"},
            "upstream_proxy": "http://Parent.internal:3128"}),
        )
        .expect("valid");
        assert!(
            c.resolve.contains_key("api.example.com:443") && c.resolve.contains_key("[::1]:80")
        );
        assert_eq!(c.upstream_proxy.as_deref(), Some("parent.internal:3128"));
        for key in [
            "",
            "[::1",
            "host:99999",
            "a@b@c:80",
            "u@host:80",
            "a b:80",
            "host",
            "::1:80",
            "*.x.com:443",
            "host:0",
        ] {
            let e = config(json!({"resolve": {key: "127.0.0.1:1"}})).expect_err(key);
            assert!(
                e.message.contains("resolve") && e.message.contains("must be host:port"),
                "{key:?}: {}",
                e.message
            );
        }
        for url in [
            "http://",
            "http://[::1",
            "http://host:99999",
            "http://a@b@c:80",
            "http://a b:80",
        ] {
            let e = config(json!({"upstream_proxy": url})).expect_err(url);
            assert!(
                e.message.contains("upstream_proxy"),
                "{url:?}: {}",
                e.message
            );
        }
    }
}
