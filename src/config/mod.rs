//! Configuration (SPEC §3): file + clawsec environment variables → one validated [`Config`],
//! with a canonical digest. The file is read through serde types ([`raw`]) whose values are
//! validating newtypes ([`values`], [`timeouts`], [`patterns`], [`hosts`]); every error names
//! the key and the allowed values ([`keys`]).

mod canonical;
mod env;
mod hosts;
mod keys;
mod objects;
mod patterns;
mod raw;
mod timeouts;
mod values;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use guardian_parser::scan::{Platform, RegistryOptions, RuleSpec};
use ipnet::IpNet;

use crate::error::{Error, Result};

pub use canonical::hex;
pub use patterns::ExtraPattern;
pub use timeouts::{Timeouts, TIMEOUT_RANGE};
pub use values::{MAX_DEDUP_WINDOW, MAX_SCAN_BYTES_RANGE};

/// Largest configuration file read: a configuration is a few kilobytes, and a file of
/// megabytes is a mistake (or an attack) to report, not to parse.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

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
    let mut raw = match &file {
        Some(path) => raw::RawConfig::parse(&read_regular(path)?, path)?,
        None => raw::RawConfig::default(),
    };
    env::apply(&mut raw, env)?;
    let config = raw.validate()?;
    Ok(Loaded { config, file })
}

/// Reads a configuration file, which must be a regular file of at most [`MAX_FILE_BYTES`]:
/// opened non-blocking and checked before reading, so a FIFO or a device is an error at once,
/// never a block, and a huge file is never read.
fn read_regular(path: &Path) -> Result<String> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let cannot = |e: std::io::Error| {
        Error::usage(format!("cannot read config file {}: {e}", path.display()))
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    if !meta.is_file() {
        return Err(Error::usage(format!(
            "config file {} is not a regular file (a FIFO, device or directory); pass a JSON file",
            path.display()
        )));
    }
    let too_large = || {
        Error::usage(format!(
            "config file {} is larger than {} KiB; a configuration is a small JSON object",
            path.display(),
            MAX_FILE_BYTES >> 10
        ))
    };
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large());
    }
    // The file may grow after the check: read one byte past the limit to notice.
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|_| {
        Error::usage(format!(
            "cannot read config file {}: stream did not contain valid UTF-8",
            path.display()
        ))
    })
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

    /// Whether a client address may use the proxy.
    pub fn allows(&self, ip: std::net::IpAddr) -> bool {
        let ip = match ip {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
            v4 => v4,
        };
        self.allow_clients.iter().any(|net| net.contains(&ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(v: serde_json::Value) -> Result<Config> {
        raw::RawConfig::parse(&v.to_string(), Path::new("test.json"))?.validate()
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

    /// The key lists in the unknown-key sentences are the keys the types accept.
    #[test]
    fn every_listed_key_is_accepted_and_no_other() {
        let accepted = |v: serde_json::Value| {
            config(v).map_or_else(|e| !e.message.contains("unknown"), |_| true)
        };
        for key in raw::KEYS {
            assert!(accepted(json!({ *key: null })), "{key}");
        }
        for key in timeouts::FIELDS {
            assert!(accepted(json!({"timeouts": { *key: null }})), "{key}");
        }
        for key in patterns::FIELDS {
            assert!(accepted(json!({"patterns": { *key: null }})), "{key}");
        }
        for key in patterns::EXTRA_FIELDS {
            assert!(
                accepted(json!({"patterns": {"extra": [{ *key: null }]}})),
                "{key}"
            );
        }
        assert!(!accepted(json!({"extra": null})));
        assert!(!accepted(json!({"timeouts": {"read": null}})));
        assert!(!accepted(json!({"patterns": {"extra": [{"name": null}]}})));
    }
}
