//! The interception CA (SPEC §8): ECDSA P-256, `CN=Guardian Local CA <host>`, created once in
//! `HOME_DIR/ca/` (`ca.pem` 0644, `ca.key` 0600). The key never leaves that file: it is never
//! printed, copied or sent; only `ca.pem` and `bundle.pem` are meant to be shared.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use sha2::{Digest, Sha256};

use crate::config::hex;
use crate::error::{Error, Result};

/// Paths of the CA files.
#[derive(Clone, Debug)]
pub struct CaFiles {
    /// `ca/` under HOME_DIR.
    pub dir: PathBuf,
}

impl CaFiles {
    /// The CA files of a home.
    pub fn of(home_dir: &Path) -> Self {
        CaFiles {
            dir: home_dir.join("ca"),
        }
    }
    /// `ca.pem`.
    pub fn cert(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    /// `ca.key`.
    pub fn key(&self) -> PathBuf {
        self.dir.join("ca.key")
    }
    /// `bundle.pem`: system roots + this CA.
    pub fn bundle(&self) -> PathBuf {
        self.dir.join("bundle.pem")
    }

    /// The fingerprint of `ca.pem`, when it exists and parses (the key is not read).
    pub fn fingerprint(&self) -> Option<String> {
        let pem = std::fs::read(self.cert()).ok()?;
        CertificateDer::from_pem_slice(&pem)
            .ok()
            .map(|der| fingerprint(&der))
    }
}

/// SHA-256 (hex, lowercase) of a certificate's DER, as `openssl x509 -outform der | sha256sum`.
pub fn fingerprint(der: &CertificateDer<'_>) -> String {
    hex(&Sha256::digest(der.as_ref()))
}

/// A loaded CA: its certificate and an issuer for leaves.
pub struct Ca {
    /// DER of the CA certificate.
    pub der: CertificateDer<'static>,
    /// Signs leaves.
    pub issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    /// SHA-256 (hex, lowercase) of the certificate DER.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.der)
    }
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Creates the CA if it does not exist (idempotent); returns whether it was created.
pub fn init(files: &CaFiles) -> Result<bool> {
    if files.cert().exists() && files.key().exists() {
        return Ok(false);
    }
    if files.cert().exists() != files.key().exists() {
        return Err(Error::runtime(format!("{} holds only half of a CA (ca.pem or ca.key); move it away and run `guardian ca init`", files.dir.display())));
    }
    crate::home::ensure_private_dir(&files.dir)?;
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|e| Error::runtime(format!("cannot generate the CA key: {e}")))?;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, format!("Guardian Local CA {host}"));
    dn.push(DnType::OrganizationName, "Guardian (local interception CA)");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let (y, m, d) = today();
    params.not_before = rcgen::date_time_ymd(y - 1, m, d.min(28));
    params.not_after = rcgen::date_time_ymd(y + 10, m, d.min(28));
    let cert = params
        .self_signed(&key)
        .map_err(|e| Error::runtime(format!("cannot create the CA certificate: {e}")))?;
    write_file(&files.key(), key.serialize_pem().as_bytes(), 0o600)
        .map_err(|e| Error::runtime(format!("cannot write {}: {e}", files.key().display())))?;
    write_file(&files.cert(), cert.pem().as_bytes(), 0o644)
        .map_err(|e| Error::runtime(format!("cannot write {}: {e}", files.cert().display())))?;
    Ok(true)
}

/// Replaces the CA with a new one: the old `ca.pem`/`ca.key` move to `ca/retired/<fingerprint>/`
/// (0700; nothing is deleted, so a mistaken rotation can be undone by moving them back), the
/// combined bundles that held the old CA are removed, a new CA is created and `bundle.pem`
/// rewritten. Returns (old fingerprint, new fingerprint). A daemon already running keeps the
/// CA it loaded until it is restarted.
pub fn rotate(files: &CaFiles) -> Result<(String, String)> {
    let old = load(files)?;
    let old_fp = old.fingerprint();
    let retired = files.dir.join("retired");
    crate::home::ensure_private_dir(&retired)?;
    let dest = retired.join(&old_fp);
    crate::home::ensure_private_dir(&dest)?;
    for (from, name) in [(files.key(), "ca.key"), (files.cert(), "ca.pem")] {
        std::fs::rename(&from, dest.join(name)).map_err(|e| {
            Error::runtime(format!(
                "cannot move {} to {}: {e}",
                from.display(),
                dest.display()
            ))
        })?;
    }
    super::trust::remove_combined(files);
    init(files)?;
    let new = load(files)?;
    super::bundle::write(files, &new)?;
    Ok((old_fp, new.fingerprint()))
}

/// Loads the CA (it must exist).
pub fn load(files: &CaFiles) -> Result<Ca> {
    let meta = std::fs::metadata(files.key()).map_err(|e| {
        Error::runtime(format!(
            "cannot read {}: {e}; run `guardian ca init`",
            files.key().display()
        ))
    })?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(Error::usage(format!(
            "{} is readable by others; run `chmod 600 {}`",
            files.key().display(),
            files.key().display()
        )));
    }
    let key_pem = std::fs::read_to_string(files.key())
        .map_err(|e| Error::runtime(format!("cannot read the CA key: {e}")))?;
    let cert_pem = std::fs::read_to_string(files.cert())
        .map_err(|e| Error::runtime(format!("cannot read {}: {e}", files.cert().display())))?;
    let key = KeyPair::from_pem(&key_pem)
        .map_err(|e| Error::runtime(format!("the CA key is invalid: {e}")))?;
    let der = CertificateDer::from_pem_slice(cert_pem.as_bytes()).map_err(|e| {
        Error::runtime(format!(
            "{} is not a PEM certificate: {e}",
            files.cert().display()
        ))
    })?;
    let issuer = Issuer::from_ca_cert_pem(&cert_pem, key)
        .map_err(|e| Error::runtime(format!("the CA certificate cannot sign: {e}")))?;
    Ok(Ca { der, issuer })
}

/// Today's (year, month, day) in UTC.
pub fn today() -> (i32, u8, u8) {
    ymd(std::time::SystemTime::now())
}

/// The UTC (year, month, day) of a time.
pub fn ymd(t: std::time::SystemTime) -> (i32, u8, u8) {
    let s = humantime::format_rfc3339_seconds(t).to_string();
    let y = s.get(0..4).and_then(|v| v.parse().ok()).unwrap_or(2026);
    let m = s.get(5..7).and_then(|v| v.parse().ok()).unwrap_or(1);
    let d = s.get(8..10).and_then(|v| v.parse().ok()).unwrap_or(1);
    (y, m, d)
}
