//! `ca/bundle.pem`: the system roots followed by the Guardian CA, for the per-process variables
//! that replace the system trust store (SSL_CERT_FILE, CURL_CA_BUNDLE, …). Rewritten when
//! either part changed.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use super::ca::{Ca, CaFiles};
use crate::error::{Error, Result};

fn pem(der: &CertificateDer<'_>) -> String {
    let block = pem::Pem::new("CERTIFICATE", der.as_ref().to_vec());
    pem::encode_config(
        &block,
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// Writes the bundle if its content changed.
pub fn write(files: &CaFiles, ca: &Ca) -> Result<()> {
    let mut text = String::new();
    for cert in rustls_native_certs::load_native_certs().certs {
        text.push_str(&pem(&cert));
    }
    text.push_str(&pem(&ca.der));
    if std::fs::read_to_string(files.bundle()).is_ok_and(|old| old == text) {
        return Ok(());
    }
    let tmp = files.dir.join(".bundle.pem.tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(&tmp)
        .map_err(|e| Error::runtime(format!("cannot write {}: {e}", tmp.display())))?;
    f.write_all(text.as_bytes())
        .map_err(|e| Error::runtime(format!("cannot write {}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, files.bundle())
        .map_err(|e| Error::runtime(format!("cannot write {}: {e}", files.bundle().display())))?;
    // The bundle must parse back.
    let _ = CertificateDer::pem_file_iter(files.bundle())
        .map_err(|e| Error::runtime(format!("bundle: {e}")))?;
    Ok(())
}
