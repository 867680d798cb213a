//! The profile fragment (`posture.json`, SPEC §7) that `picoclaw-security-guardian` watches.
//! Rewritten only when a field other than `generated_at` changed (every change of a watched
//! file's fingerprint is critical drift there), written atomically, never through a symlink.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use guardian_parser::scan::Platform;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::atomic::write_json_atomic;
use crate::config::{env_name, hex, Config, Env};
use crate::error::{Error, Result};
use crate::home::Home;
use crate::tls::ca::CaFiles;

/// Schema version of the fragment.
pub const SCHEMA: &str = "clawsec-traffic-posture/v1";

/// `monitor_status` (SPEC §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MonitorStatus {
    /// A verified daemon of this home runs.
    Running,
    /// No daemon.
    Stopped,
    /// A state file that does not describe a live daemon.
    Stale,
}

/// Exactly the fields of SPEC §7.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Posture {
    /// Always [`SCHEMA`].
    pub schema_version: String,
    /// Platform.
    pub platform: Platform,
    /// `running`, `stopped` or `stale`.
    pub monitor_status: MonitorStatus,
    /// Always `detect`.
    pub mode: String,
    /// Whether TLS is intercepted.
    pub https_inspection: bool,
    /// SHA-256 of the CA certificate DER when inspecting.
    pub ca_fingerprint_sha256: Option<String>,
    /// Digest of the effective configuration.
    pub config_sha256: String,
    /// SHA-256 of `findings.jsonl` (of the empty string when absent).
    pub finding_log_sha256: String,
    /// When the fragment was computed.
    pub generated_at: String,
}

impl Posture {
    /// The fragment for this configuration, monitor status and home (its findings log, and its
    /// CA when inspecting).
    pub fn compute(config: &Config, monitor_status: MonitorStatus, home: &Home) -> Self {
        Posture {
            schema_version: SCHEMA.to_string(),
            platform: config.platform,
            monitor_status,
            mode: "detect".to_string(),
            https_inspection: config.https_inspection,
            ca_fingerprint_sha256: config
                .https_inspection
                .then(|| CaFiles::of(&home.dir).fingerprint())
                .flatten(),
            config_sha256: config.sha256(),
            finding_log_sha256: file_sha256(&home.findings()),
            generated_at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        }
    }

    fn same_except_time(&self, other: &Posture) -> bool {
        Posture {
            generated_at: String::new(),
            ..self.clone()
        } == Posture {
            generated_at: String::new(),
            ..other.clone()
        }
    }
}

/// SHA-256 (hex) of a file's bytes, read as a stream; of the empty string when absent.
pub fn file_sha256(path: &Path) -> String {
    let mut hasher = Sha256::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = f.read(&mut buf) {
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
    }
    hex(&hasher.finalize())
}

/// Where the fragment goes: `<P>_TRAFFIC_GUARDIAN_PROFILE_OUTPUT` or `HOME_DIR/posture.json`;
/// it must not be a symlink (nor under one), and for picoclaw with `PICOCLAW_HOME` set it must
/// stay under it.
pub fn output_path(home_dir: &Path, platform: Platform, env: Env<'_>) -> Result<PathBuf> {
    let path = env_name(platform, "PROFILE_OUTPUT")
        .and_then(|n| env(&n))
        .map_or_else(|| home_dir.join("posture.json"), PathBuf::from);
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Error::usage(format!(
            "{} is a symlink; the posture fragment is never written through one",
            path.display()
        )));
    }
    if std::fs::metadata(&path).is_ok_and(|m| !m.is_file()) {
        return Err(Error::usage(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    if let (Platform::Picoclaw, Some(root)) = (platform, env("PICOCLAW_HOME")) {
        let parent = path.parent().and_then(|p| p.canonicalize().ok());
        let root = Path::new(&root).canonicalize().ok();
        if let (Some(parent), Some(root)) = (parent, root) {
            if !parent.starts_with(&root) {
                return Err(Error::usage(format!("{} is outside $PICOCLAW_HOME ({}); set PICOCLAW_TRAFFIC_GUARDIAN_PROFILE_OUTPUT under it", path.display(), root.display())));
            }
        }
    }
    Ok(path)
}

/// Writes `posture` unless the file already says the same (except `generated_at`); returns
/// whether it wrote.
pub fn write_if_changed(path: &Path, posture: &Posture) -> Result<bool> {
    if let Ok(bytes) = std::fs::read(path) {
        if serde_json::from_slice::<Posture>(&bytes).is_ok_and(|old| old.same_except_time(posture))
        {
            return Ok(false);
        }
    }
    write_json_atomic(path, posture)
        .map_err(|e| Error::runtime(format!("cannot write {}: {e}", path.display())))?;
    Ok(true)
}
