//! The configuration file as written: serde types whose leaves are the validating newtypes of
//! `values`, `timeouts`, `patterns` and `hosts`, so that a file that deserialises holds only
//! valid values; then the checks across keys, into a [`Config`].

use std::path::Path;

use serde::{Deserialize, Deserializer};

use super::hosts::{Resolve, TrustedHosts};
use super::keys;
use super::objects::Object;
use super::patterns::RawPatterns;
use super::timeouts::RawTimeouts;
use super::values::{
    CaFile, Cidr, DedupWindow, Detect, Invalid, ListenAddr, PlatformName, ProxyUrl, ScanBudget,
    Switch,
};
use super::{default_allow_clients, Config};
use crate::error::{Error, Result};

/// The top-level keys, for the unknown-key sentence.
pub(super) const KEYS: &[&str] = &[
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

/// A key that may be left out but, when written, must hold a value of its type: `null` is
/// checked like any other value instead of meaning "absent" (serde's `Option` reads `null` as
/// `None`). Only `upstream_proxy` and `upstream_ca_file` take `null` (SPEC §3's defaults).
pub(super) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// `config.json` as written: every key optional, none unknown, none twice.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default, deserialize_with = "present")]
    pub platform: Option<PlatformName>,
    #[serde(default, deserialize_with = "present")]
    pub listen: Option<ListenAddr>,
    #[serde(default, deserialize_with = "present")]
    pub mode: Option<Detect>,
    #[serde(default, deserialize_with = "present")]
    pub https_inspection: Option<Switch>,
    #[serde(default, deserialize_with = "present")]
    pub max_scan_bytes: Option<ScanBudget>,
    #[serde(default, deserialize_with = "present")]
    pub dedup_window: Option<DedupWindow>,
    #[serde(default, deserialize_with = "present")]
    pub allow_clients: Option<Vec<Cidr>>,
    #[serde(default)]
    pub upstream_proxy: Option<ProxyUrl>,
    #[serde(default)]
    pub upstream_ca_file: Option<CaFile>,
    #[serde(default, deserialize_with = "present")]
    pub resolve: Option<Resolve>,
    #[serde(default, deserialize_with = "present")]
    pub trusted_credential_hosts: Option<TrustedHosts>,
    #[serde(default, deserialize_with = "present")]
    pub patterns: Option<Object<RawPatterns>>,
    #[serde(default, deserialize_with = "present")]
    pub timeouts: Option<Object<RawTimeouts>>,
}

impl RawConfig {
    /// Reads the text of `file`: a JSON syntax error first, for the whole document (before any
    /// key is looked at), then every key and value where it stands.
    pub(super) fn parse(text: &str, file: &Path) -> Result<RawConfig> {
        serde_json::from_str::<serde_json::Value>(text).map_err(|e| {
            Error::usage(format!(
                "config file {} is not valid JSON ({e}); fix the syntax or remove the file",
                file.display()
            ))
        })?;
        let mut de = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut de)
            .map(|Object(raw)| raw)
            .map_err(|e| keys::at_path(&e))
    }

    /// The configuration: the values written over the defaults, then the checks that span
    /// keys (a non-loopback `listen` needs `allow_clients`; patterns compile; every
    /// `trusted_credential_hosts` id exists).
    pub(super) fn validate(self) -> Result<Config> {
        let d = Config::default();
        let patterns = self.patterns.unwrap_or_default().0;
        let c = Config {
            platform: self.platform.map_or(d.platform, PlatformName::get),
            listen: self.listen.map_or(d.listen, ListenAddr::get),
            https_inspection: self
                .https_inspection
                .map_or(d.https_inspection, Switch::get),
            max_scan_bytes: self
                .max_scan_bytes
                .map_or(d.max_scan_bytes, ScanBudget::get),
            dedup_window: self.dedup_window.map_or(d.dedup_window, DedupWindow::get),
            allow_clients: self.allow_clients.map_or(d.allow_clients, |list| {
                list.into_iter().map(Cidr::get).collect()
            }),
            upstream_proxy: self.upstream_proxy.map(ProxyUrl::into_authority),
            upstream_ca_file: self.upstream_ca_file.map(CaFile::into_path),
            resolve: self.resolve.map_or(d.resolve, Resolve::into_map),
            trusted_credential_hosts: self
                .trusted_credential_hosts
                .map_or(d.trusted_credential_hosts, TrustedHosts::into_map),
            disable: patterns.disable.map_or(d.disable, |ids| {
                ids.into_iter().map(|id| id.into_string()).collect()
            }),
            extra: patterns.extra.unwrap_or(d.extra),
            timeouts: self.timeouts.map_or(d.timeouts, |t| t.0.resolve()),
        };
        if !c.listen.ip().is_loopback() && c.allow_clients == default_allow_clients() {
            return Err(keys::keyed(
                "listen",
                Invalid(format!("{} is not a loopback address: set \"allow_clients\" to the networks that may use the proxy", c.listen)),
            ));
        }
        // Compile once here so a bad pattern is a config error, not a runtime one.
        guardian_parser::scan::Registry::new(c.registry_options())
            .map_err(|e| keys::keyed("patterns", Invalid(e.to_string())))?;
        for id in c.trusted_credential_hosts.keys() {
            if !guardian_parser::scan::builtin_ids().any(|b| b == id)
                && !c.extra.iter().any(|e| &e.id == id)
            {
                return Err(keys::keyed(
                    "trusted_credential_hosts",
                    Invalid(format!("unknown pattern id {id:?}")),
                ));
            }
        }
        Ok(c)
    }
}
