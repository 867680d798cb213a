//! The clawsec environment overrides (SPEC §3) of the file's platform, applied over what the
//! file says and checked by the same newtypes as the file's values.

use guardian_parser::scan::Platform;
use serde_json::Value;

use super::raw::RawConfig;
use super::values::{Detect, PlatformName, ProxyUrl, ScanBudget};
use super::{env_name, keys, Env};
use crate::error::{Error, Result};

/// Applies `_MODE`, `_MAX_SCAN_BYTES` and `_PROXY_URL`, and refuses `_REDACT_SNIPPETS` other
/// than true (redaction cannot be turned off).
pub(super) fn apply(raw: &mut RawConfig, env: Env<'_>) -> Result<()> {
    let platform = raw.platform.map_or(Platform::Picoclaw, PlatformName::get);
    let get = |suffix: &str| env_name(platform, suffix).and_then(|n| env(&n).map(|v| (n, v)));
    if let Some((_, v)) = get("MODE") {
        raw.mode = Some(Detect::try_from(Value::String(v)).map_err(|e| keys::keyed("mode", e))?);
    }
    if let Some((name, v)) = get("MAX_SCAN_BYTES") {
        let n: u64 = v
            .trim()
            .parse()
            .map_err(|_| Error::usage(format!("{name}={v:?} must be a whole number of bytes")))?;
        raw.max_scan_bytes = Some(
            ScanBudget::try_from(Value::from(n)).map_err(|e| keys::keyed("max_scan_bytes", e))?,
        );
    }
    if let Some((_, v)) = get("PROXY_URL") {
        raw.upstream_proxy = Some(
            ProxyUrl::try_from(Value::String(v)).map_err(|e| keys::keyed("upstream_proxy", e))?,
        );
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
