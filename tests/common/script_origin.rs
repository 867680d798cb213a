//! Origins written as Python scripts, for what async-h1 does not serve (TLS with a CA of its
//! own, hand-written SSE, WebSocket), and the certificates they present.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::first_stdout_line;

/// A certificate and key for some names, signed by a CA of its own (not the system's, not
/// Guardian's), as PEM files.
pub struct TestCert {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

/// Writes `o.pem`, `o.key` and `ca.pem` for `names` into `dir`; the CA is called `ca_name`.
pub fn test_cert(dir: &Path, names: &[&str], ca_name: &str) -> TestCert {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, ca_name);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert =
        rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
    let files = TestCert {
        cert: dir.join("o.pem"),
        key: dir.join("o.key"),
        ca: dir.join("ca.pem"),
    };
    std::fs::write(&files.cert, cert.pem()).unwrap();
    std::fs::write(&files.key, key.serialize_pem()).unwrap();
    std::fs::write(&files.ca, ca_cert.pem()).unwrap();
    files
}

/// A running script origin: it printed its port as its first line. Killed on drop.
pub struct ScriptOrigin {
    pub child: Child,
    pub port: u16,
    /// The directory holding the script (and any certificate); removed after the child.
    pub dir: tempfile::TempDir,
}

impl Drop for ScriptOrigin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `source` to `dir/file` and runs it with python3 and `args`.
pub fn script_origin<S: AsRef<OsStr>>(
    dir: tempfile::TempDir,
    file: &str,
    source: &str,
    args: &[S],
) -> ScriptOrigin {
    let script = dir.path().join(file);
    std::fs::write(&script, source).unwrap();
    let mut child = Command::new("python3")
        .arg(&script)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let line = first_stdout_line(&mut child);
    let port = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{file} printed no port: {line:?}"));
    ScriptOrigin { child, port, dir }
}
