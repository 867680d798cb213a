//! The per-process trust variables (SPEC §8), keeping what the user already trusted.
//!
//! The store-replacing variables ([`STORE_VARS`]) all point at one bundle: the roots the user
//! already trusted (every file one of these variables named, else the system roots) followed by
//! the Guardian CA. `NODE_EXTRA_CA_CERTS` gets the user's extra CAs (if set) followed by the
//! Guardian CA. The user's files are read, never written: a combined file is written under
//! `HOME_DIR/ca/`, named by the SHA-256 of its content, so each distinct combination is written
//! once and a process never sees another's file change under it.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::bundle::holds;
use super::ca::CaFiles;
use crate::atomic::write_atomic;
use crate::config::hex;
use crate::error::{Error, Result};

/// Variables that replace a client's whole trust store, so they get a full bundle.
/// Order matters only for documentation; each names the clients that read it (README table).
pub const STORE_VARS: &[&str] = &[
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "GIT_SSL_CAINFO",
    "AWS_CA_BUNDLE",
    "CARGO_HTTP_CAINFO",
    "PIP_CERT",
    "DENO_CERT",
    "npm_config_cafile",
    "HTTPLIB2_CA_CERTS",
    "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
    "NIX_SSL_CERT_FILE",
    "CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE",
    "BUNDLE_SSL_CA_CERT",
    "HEX_CACERTS_PATH",
];

/// Node's variable for CAs added to its built-in store (it does not replace it).
pub const NODE_EXTRA: &str = "NODE_EXTRA_CA_CERTS";

/// The trust variables for one process, given how the user's environment reads (`user`).
/// Writes the combined files it names when the user had trust variables of their own and the
/// CA exists; otherwise names `ca/bundle.pem` and `ca/ca.pem`.
pub fn vars(
    files: &CaFiles,
    user: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>> {
    let own = |p: &str| Path::new(p).starts_with(&files.dir);
    let set = |k: &str| user(k).filter(|v| !v.is_empty() && !own(v));
    let mut user_bundles: Vec<String> = Vec::new();
    for k in STORE_VARS {
        if let Some(v) = set(k) {
            if !user_bundles.contains(&v) {
                user_bundles.push(v);
            }
        }
    }
    let user_extra = set(NODE_EXTRA);
    let ca_pem = std::fs::read(files.cert()).ok();
    let bundle = match (&ca_pem, user_bundles.is_empty()) {
        (Some(ca), false) => combined(files, "bundle", &user_bundles, ca)?,
        _ => files.bundle(),
    };
    let extra = match (&ca_pem, user_extra) {
        (Some(ca), Some(x)) => combined(files, "node-extra", &[x], ca)?,
        _ => files.cert(),
    };
    let bundle = bundle.display().to_string();
    let mut out: Vec<(String, String)> = STORE_VARS
        .iter()
        .map(|k| (k.to_string(), bundle.clone()))
        .collect();
    out.push((NODE_EXTRA.to_string(), extra.display().to_string()));
    Ok(out)
}

/// `ca/<stem>-<sha256 prefix>.pem`: the user's files, then the Guardian CA.
fn combined(files: &CaFiles, stem: &str, user_files: &[String], ca: &[u8]) -> Result<PathBuf> {
    let mut text = Vec::new();
    for path in user_files {
        let bytes = std::fs::read(path).map_err(|e| {
            Error::usage(format!(
                "the CA file {path} named in your environment cannot be read ({e}); fix or unset that variable"
            ))
        })?;
        text.extend_from_slice(&bytes);
        if !text.ends_with(b"\n") {
            text.push(b'\n');
        }
    }
    text.extend_from_slice(ca);
    let digest = hex(&Sha256::digest(&text));
    let path = files.dir.join(format!("{stem}-{}.pem", &digest[..16]));
    if holds(&path, &text) {
        return Ok(path);
    }
    write_atomic(&path, &text, 0o644)
        .map_err(|e| Error::runtime(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

/// Removes the combined files (they hold a CA that is being replaced).
pub fn remove_combined(files: &CaFiles) {
    let Ok(entries) = std::fs::read_dir(&files.dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if (name.starts_with("bundle-") || name.starts_with("node-extra-"))
            && name.ends_with(".pem")
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home() -> (tempfile::TempDir, CaFiles) {
        let dir = tempfile::tempdir().expect("tempdir");
        crate::home::ensure_private_dir(dir.path()).expect("home");
        let files = CaFiles::of(dir.path());
        crate::tls::ca::init(&files).expect("ca");
        (dir, files)
    }

    #[test]
    fn without_user_trust_the_default_files_are_named() {
        let (_d, files) = home();
        let vars = vars(&files, &|_| None).expect("vars");
        assert_eq!(vars.len(), STORE_VARS.len() + 1);
        for (k, v) in &vars {
            let want = if k == NODE_EXTRA {
                files.cert()
            } else {
                files.bundle()
            };
            assert_eq!(Path::new(v), want, "{k}");
        }
    }

    #[test]
    fn user_bundles_and_extra_cas_are_kept_before_the_guardian_ca() {
        let (d, files) = home();
        let corp = d.path().join("corp.pem");
        let other = d.path().join("other.pem");
        std::fs::write(
            &corp,
            "-----BEGIN CERTIFICATE-----\nCORP\n-----END CERTIFICATE-----",
        )
        .expect("write");
        std::fs::write(&other, "OTHER\n").expect("write");
        let (c, o) = (corp.display().to_string(), other.display().to_string());
        let user = |k: &str| match k {
            "SSL_CERT_FILE" | "NODE_EXTRA_CA_CERTS" => Some(c.clone()),
            "REQUESTS_CA_BUNDLE" => Some(o.clone()),
            _ => None,
        };
        let ca = std::fs::read_to_string(files.cert()).expect("ca");
        let vars = vars(&files, &user).expect("vars");
        let get = |k: &str| {
            let v = &vars.iter().find(|(n, _)| n == k).expect("set").1;
            std::fs::read_to_string(v).expect("readable")
        };
        let bundle = get("SSL_CERT_FILE");
        assert!(bundle
            .starts_with("-----BEGIN CERTIFICATE-----\nCORP\n-----END CERTIFICATE-----\nOTHER\n"));
        assert!(bundle.ends_with(&ca));
        assert_eq!(get("npm_config_cafile"), bundle);
        let extra = get(NODE_EXTRA);
        assert!(extra.contains("CORP") && !extra.contains("OTHER") && extra.ends_with(&ca));
        // The user's files are untouched, and the same input names the same file again.
        assert_eq!(std::fs::read_to_string(&other).expect("read"), "OTHER\n");
        assert_eq!(super::vars(&files, &user).expect("again"), vars);
        // Guardian's own files in the environment (a nested run) are not folded in again.
        let nested = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(
            super::vars(&files, &nested).expect("nested")[0].1,
            files.bundle().display().to_string()
        );
    }

    #[test]
    fn a_symlink_planted_at_a_combined_file_is_not_followed() {
        let (d, files) = home();
        let corp = d.path().join("corp.pem");
        std::fs::write(&corp, "CORP\n").expect("write");
        let c = corp.display().to_string();
        let user = |k: &str| (k == "SSL_CERT_FILE").then(|| c.clone());
        let vars = vars(&files, &user).expect("vars");
        let combined = PathBuf::from(&vars[0].1);
        let text = std::fs::read(&combined).expect("read");
        // Plant a symlink where the same combination is written: to a victim, and to a file
        // with the very same content (which must not be handed out either).
        let victim = d.path().join("victim");
        for content in [&b"keep"[..], &text[..]] {
            std::fs::write(&victim, content).expect("write");
            std::fs::remove_file(&combined).expect("unlink");
            std::os::unix::fs::symlink(&victim, &combined).expect("symlink");
            let err = super::vars(&files, &user).expect_err("a symlink is refused");
            assert!(err.message.contains("symlink"), "{}", err.message);
            assert_eq!(std::fs::read(&victim).expect("read"), content);
        }
        std::fs::remove_file(&combined).expect("unlink");
        assert_eq!(super::vars(&files, &user).expect("again"), vars);
        let meta = std::fs::symlink_metadata(&combined).expect("meta");
        assert!(meta.file_type().is_file());
        assert_eq!(std::fs::read(&combined).expect("read"), text);
    }

    #[test]
    fn an_unreadable_user_file_is_a_clear_error() {
        let (_d, files) = home();
        let err = vars(&files, &|k| {
            (k == "SSL_CERT_FILE").then(|| "/nonexistent/ca.pem".into())
        })
        .expect_err("unreadable");
        assert!(
            err.message.contains("/nonexistent/ca.pem"),
            "{}",
            err.message
        );
    }
}
