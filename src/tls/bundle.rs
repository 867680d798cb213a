//! `ca/bundle.pem`: the system roots followed by the Guardian CA, for the per-process variables
//! that replace the system trust store (SSL_CERT_FILE, CURL_CA_BUNDLE, …). Rewritten when
//! either part changed, through [`crate::atomic::write_atomic`] (a symlink planted at the path
//! is refused, never written through).

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use super::ca::{Ca, CaFiles};
use crate::atomic::write_atomic;
use crate::error::{Error, Result};

fn pem(der: &CertificateDer<'_>) -> String {
    let block = pem::Pem::new("CERTIFICATE", der.as_ref().to_vec());
    pem::encode_config(
        &block,
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// Whether `path` is a regular file (not a symlink) holding exactly `bytes`.
pub(crate) fn holds(path: &std::path::Path, bytes: &[u8]) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
        && std::fs::read(path).is_ok_and(|old| old == bytes)
}

/// Writes the bundle if its content changed.
pub fn write(files: &CaFiles, ca: &Ca) -> Result<()> {
    let mut text = String::new();
    for cert in rustls_native_certs::load_native_certs().certs {
        text.push_str(&pem(&cert));
    }
    text.push_str(&pem(&ca.der));
    let path = files.bundle();
    if holds(&path, text.as_bytes()) {
        return Ok(());
    }
    write_atomic(&path, text.as_bytes(), 0o644)
        .map_err(|e| Error::runtime(format!("cannot write {}: {e}", path.display())))?;
    // The bundle must parse back.
    let _ = CertificateDer::pem_file_iter(files.bundle())
        .map_err(|e| Error::runtime(format!("bundle: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_planted_at_the_bundle_is_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        crate::home::ensure_private_dir(dir.path()).expect("home");
        let files = CaFiles::of(dir.path());
        crate::tls::ca::init(&files).expect("ca");
        let ca = crate::tls::ca::load(&files).expect("load");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").expect("write");
        let _ = std::fs::remove_file(files.bundle());
        std::os::unix::fs::symlink(&victim, files.bundle()).expect("symlink");
        let err = write(&files, &ca).expect_err("a symlink is refused");
        assert!(err.message.contains("symlink"), "{}", err.message);
        assert_eq!(std::fs::read(&victim).expect("read"), b"keep");
        // Without the symlink the bundle is written, 0644, as a regular file.
        std::fs::remove_file(files.bundle()).expect("unlink");
        write(&files, &ca).expect("write");
        let meta = std::fs::symlink_metadata(files.bundle()).expect("meta");
        assert!(meta.file_type().is_file());
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
            0o644
        );
        assert!(holds(
            &files.bundle(),
            &std::fs::read(files.bundle()).expect("read")
        ));
    }
}
