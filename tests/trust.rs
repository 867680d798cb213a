//! What a child of `guardian run` is given (SPEC §8): the proxy variables in every mode, and with
//! inspection every trust variable of the README's table, keeping the CAs the user had set. Also
//! the commands `setup` prints and `ca rotate`.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use common::*;

/// Every store-replacing variable of SPEC §8 (the README table), written out here rather than
/// imported from `src/tls/trust.rs`, so that the test checks the code against the spec.
const STORE_VARS: &[&str] = &[
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

fn test_ca_pem(name: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.distinguished_name.push(rcgen::DnType::CommonName, name);
    p.self_signed(&key).unwrap().pem()
}

/// The environment `env` prints under `guardian run [extra] -- env`, with `preset` set first.
fn child_env(home: &Path, extra: &[&str], preset: &[(&str, &Path)]) -> HashMap<String, String> {
    let mut cmd = Command::new(BIN);
    cmd.arg("run").args(extra).arg("--home").arg(home);
    cmd.args(["--", "env"]);
    for v in STORE_VARS
        .iter()
        .chain(&["NODE_EXTRA_CA_CERTS", "NODE_USE_ENV_PROXY"])
    {
        cmd.env_remove(v);
    }
    for (k, v) in preset {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn run_sets_every_variable_and_keeps_the_users_own_cas() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (corp_bundle, corp_extra) = (
        dir.path().join("corp-bundle.pem"),
        dir.path().join("corp-extra.pem"),
    );
    let (bundle_pem, extra_pem) = (test_ca_pem("Corp Root"), test_ca_pem("Corp Extra"));
    std::fs::write(&corp_bundle, &bundle_pem).unwrap();
    std::fs::write(&corp_extra, &extra_pem).unwrap();
    let preset = [
        ("SSL_CERT_FILE", corp_bundle.as_path()),
        ("NODE_EXTRA_CA_CERTS", corp_extra.as_path()),
    ];

    // Plain: proxy variables and NODE_USE_ENV_PROXY; the user's trust passes through untouched.
    let plain = child_env(&home, &[], &preset);
    let proxy = plain["HTTP_PROXY"].clone();
    assert!(proxy.starts_with("http://127.0.0.1:"), "{proxy}");
    for k in ["HTTPS_PROXY", "http_proxy", "https_proxy"] {
        assert_eq!(plain[k], proxy, "{k}");
    }
    assert_eq!(plain["NODE_USE_ENV_PROXY"], "1");
    assert_eq!(Path::new(&plain["SSL_CERT_FILE"]), corp_bundle);
    assert_eq!(Path::new(&plain["NODE_EXTRA_CA_CERTS"]), corp_extra);
    assert!(!plain.contains_key("REQUESTS_CA_BUNDLE"));

    // Inspecting: every store variable names one bundle = the user's bundle + Guardian CA.
    let env = child_env(&home, &["--https-inspection"], &preset);
    assert_eq!(env["NODE_USE_ENV_PROXY"], "1");
    assert!(env["HTTPS_PROXY"].starts_with("http://127.0.0.1:"));
    let guardian_ca = std::fs::read_to_string(home.join("ca/ca.pem")).unwrap();
    let bundle = &env["SSL_CERT_FILE"];
    assert!(Path::new(bundle).starts_with(home.join("ca")), "{bundle}");
    for k in STORE_VARS {
        assert_eq!(&env[*k], bundle, "{k} names the bundle");
    }
    let text = std::fs::read_to_string(bundle).unwrap();
    assert!(
        text.starts_with(&bundle_pem),
        "the user's bundle comes first"
    );
    assert!(text.ends_with(&guardian_ca), "then Guardian's CA");
    assert!(!text.contains(&extra_pem));
    let extra = std::fs::read_to_string(&env["NODE_EXTRA_CA_CERTS"]).unwrap();
    assert!(extra.starts_with(&extra_pem) && extra.ends_with(&guardian_ca));
    assert!(!extra.contains(&bundle_pem));
    // The user's files are untouched.
    assert_eq!(std::fs::read_to_string(&corp_bundle).unwrap(), bundle_pem);
    assert_eq!(std::fs::read_to_string(&corp_extra).unwrap(), extra_pem);

    // Nothing preset: system roots + Guardian CA, and the bare CA for Node.
    let env = child_env(&home, &["--https-inspection"], &[]);
    assert_eq!(Path::new(&env["SSL_CERT_FILE"]), home.join("ca/bundle.pem"));
    assert_eq!(
        Path::new(&env["NODE_EXTRA_CA_CERTS"]),
        home.join("ca/ca.pem")
    );
    let system = std::fs::read_to_string(home.join("ca/bundle.pem")).unwrap();
    assert!(system.ends_with(&guardian_ca) && system.len() > guardian_ca.len());
}

#[test]
fn an_unreadable_user_bundle_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["run", "--https-inspection", "--home"])
        .arg(dir.path().join("home"))
        .args(["--", "true"])
        .env("REQUESTS_CA_BUNDLE", "/nonexistent/corp.pem")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/corp.pem"));
}

#[test]
fn setup_prints_only_commands_for_the_home_it_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("my home");
    let cfg = dir.path().join("cfg.json");
    std::fs::write(
        &cfg,
        r#"{"https_inspection": true, "listen": "127.0.0.1:8877"}"#,
    )
    .unwrap();
    let home_arg = format!("--home '{}'", home.display());
    for (args, platform) in [(&[][..], "picoclaw"), (&["--config"][..], "nanoclaw")] {
        let mut cmd = Command::new(BIN);
        cmd.args(["setup", "--platform", platform, "--home"])
            .arg(&home);
        if !args.is_empty() {
            cmd.arg("--config").arg(&cfg);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8_lossy(&out.stdout);
        let commands: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("guardian ") || l.contains("`guardian "))
            .collect();
        assert!(commands.len() >= 3, "{text}");
        for line in &commands {
            assert!(line.contains(&home_arg), "{line:?} lacks {home_arg}");
            if !args.is_empty() {
                assert!(
                    line.contains(&format!("--config {}", cfg.display())),
                    "{line:?}"
                );
            }
        }
        assert!(
            text.contains(&format!("--watch '{}/posture.json'", home.display()))
                || platform != "picoclaw"
        );
        assert!(text.contains("NODE_USE_ENV_PROXY=1"));
        assert!(text.contains("Node 24"));
        assert!(text.contains("--add-host=host.docker.internal:host-gateway"));
        for l in text.lines() {
            let envs = l.split_whitespace().filter(|w| *w == "env").count();
            assert!(envs <= 1, "one env prefix per line: {l}");
        }
        if args.is_empty() {
            assert!(text.contains("To turn it on"), "{text}");
        } else {
            assert!(text.contains("npm_config_cafile="), "{text}");
        }
    }
}

#[test]
fn ca_rotate_retires_the_old_ca_and_a_running_daemon_keeps_it_until_restart() {
    let g = Guardian::serve(serde_json::json!({"https_inspection": true}));
    let home = g.home_dir();
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .arg("--home")
            .arg(&home)
            .output()
            .unwrap();
        ok_stdout(out)
    };
    let status =
        || -> serde_json::Value { serde_json::from_str(&run(&["status", "--json"])).unwrap() };
    let old = status()["ca_fingerprint_sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let out = run(&["ca", "rotate"]);
    assert!(
        out.contains(&old) && out.contains("until you restart it"),
        "{out}"
    );
    let shown = run(&["ca", "show"]);
    assert!(
        !shown.contains(&format!("sha256 fingerprint: {old}")),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("retired CA sha256 {old}")),
        "{shown}"
    );
    assert_eq!(
        status()["ca_fingerprint_sha256"],
        old.as_str(),
        "the daemon still uses it"
    );
    assert!(home.join("ca/retired").join(&old).join("ca.key").exists());
    let bundle = std::fs::read_to_string(home.join("ca/bundle.pem")).unwrap();
    assert!(bundle.ends_with(&std::fs::read_to_string(home.join("ca/ca.pem")).unwrap()));
    drop(g);
}
