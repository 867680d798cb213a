//! The two keys that map names to hosts: `resolve` (`host:port` → `ip:port`, like
//! `curl --resolve`) and `trusted_credential_hosts` (pattern id → expected-use hosts).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::Deserialize;
use serde_json::Value;

use super::objects::UniqueMap;
use super::values::{HostPattern, HostPort, Invalid};

/// `resolve`: address overrides by lower-cased `host:port`, each written once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "UniqueMap<Value>")]
pub struct Resolve(BTreeMap<String, SocketAddr>);

impl Resolve {
    /// The overrides.
    pub fn into_map(self) -> BTreeMap<String, SocketAddr> {
        self.0
    }
}

impl TryFrom<UniqueMap<Value>> for Resolve {
    type Error = Invalid;
    fn try_from(entries: UniqueMap<Value>) -> Result<Self, Invalid> {
        let mut map = BTreeMap::new();
        for (from, to) in entries.0 {
            let key = HostPort::parse(&from)
                .ok_or_else(|| Invalid(format!("key {from:?} must be host:port")))?;
            let addr: SocketAddr = to
                .as_str()
                .unwrap_or_default()
                .parse()
                .map_err(|_| Invalid(format!("{from:?} → {to} must be an ip:port")))?;
            if map.insert(key.into_string(), addr).is_some() {
                // Keys compare without case: `A:1` and `a:1` are one host.
                return Err(Invalid(format!(
                    "key {from:?} names the same host:port as an earlier key"
                )));
            }
        }
        Ok(Resolve(map))
    }
}

/// `trusted_credential_hosts`: extra expected-use hosts by pattern id (whether the id exists is
/// checked once the patterns are known).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "UniqueMap<Value>")]
pub struct TrustedHosts(BTreeMap<String, Vec<String>>);

impl TrustedHosts {
    /// The hosts by pattern id.
    pub fn into_map(self) -> BTreeMap<String, Vec<String>> {
        self.0
    }
}

impl TryFrom<UniqueMap<Value>> for TrustedHosts {
    type Error = Invalid;
    fn try_from(entries: UniqueMap<Value>) -> Result<Self, Invalid> {
        let mut map = BTreeMap::new();
        for (id, hosts) in entries.0 {
            let list = hosts
                .as_array()
                .ok_or_else(|| Invalid(format!("{id:?} must map to a list of hosts")))?;
            let hosts = list
                .iter()
                .map(|h| {
                    h.as_str()
                        .and_then(HostPattern::parse)
                        .map(HostPattern::into_string)
                        .ok_or_else(|| Invalid(format!("{id:?}: {h} is not a host or *.domain")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            map.insert(id, hosts);
        }
        Ok(TrustedHosts(map))
    }
}
