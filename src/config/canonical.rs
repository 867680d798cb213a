//! The effective configuration as JSON (the shape of `config.json`) and its digest,
//! `config_sha256` (SPEC §3): the same settings give the same digest wherever they came from.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::Config;

impl Config {
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
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
