//! Lifecycle, posture, threats and setup through the real binary.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use sha2::{Digest, Sha256};

struct Home {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    config: std::path::PathBuf,
}

fn home() -> Home {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g");
    let config = dir.path().join("c.json");
    std::fs::write(&config, r#"{"listen":"127.0.0.1:0"}"#).unwrap();
    Home {
        _dir: dir,
        path,
        config,
    }
}

fn g(h: &Home, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .arg("--home")
        .arg(&h.path)
        .arg("--config")
        .arg(&h.config);
    for k in ["PROFILE_OUTPUT", "LOG_DIR", "CONFIG"] {
        cmd.env_remove(format!("PICOCLAW_TRAFFIC_GUARDIAN_{k}"));
    }
    cmd.env_remove("PICOCLAW_HOME").output().unwrap()
}

fn text(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn state(h: &Home) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(h.path.join("state.json")).unwrap()).unwrap()
}

fn start_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .nth(19)
        .unwrap()
        .parse()
        .unwrap()
}

fn write_state(h: &Home, pid: u32, ticks: u64) {
    std::fs::create_dir_all(&h.path).unwrap();
    std::fs::set_permissions(&h.path, std::fs::Permissions::from_mode(0o700)).unwrap();
    let s = serde_json::json!({"pid": pid, "start_ticks": ticks, "listen": "127.0.0.1:9", "started_at": "2026-01-01T00:00:00.000Z",
        "home": h.path.display().to_string(), "config_sha256": "x", "https_inspection": false, "ca_fingerprint_sha256": null, "counters": {}});
    std::fs::write(h.path.join("state.json"), s.to_string()).unwrap();
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

#[test]
fn start_status_stop() {
    let h = home();
    let out = g(&h, &["start"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text(&out).starts_with("guardian started: 127.0.0.1:"));
    assert!(!text(&out).contains("export "), "never a global export");
    let st = state(&h);
    let pid = st["pid"].as_u64().unwrap() as u32;
    assert_eq!(
        std::fs::metadata(h.path.join("state.json")).unwrap().mode() & 0o777,
        0o600
    );
    assert!(text(&g(&h, &["start"])).starts_with("guardian already running"));
    let status: serde_json::Value =
        serde_json::from_slice(&g(&h, &["status", "--json"]).stdout).unwrap();
    assert_eq!(status["status"], "running");
    assert_eq!(status["pid"], pid);
    assert!(status["counters"]["connections"].is_u64());
    let env = text(&g(&h, &["env"]));
    assert!(env.contains(&format!(
        "HTTPS_PROXY=http://{}",
        st["listen"].as_str().unwrap()
    )));
    assert!(text(&g(&h, &["stop"])).contains("guardian stopped"));
    assert!(!alive(pid));
    assert!(!h.path.join("state.json").exists());
    assert_eq!(text(&g(&h, &["status"])).trim(), "stopped");
    let posture: serde_json::Value =
        serde_json::from_slice(&std::fs::read(h.path.join("posture.json")).unwrap()).unwrap();
    assert_eq!(posture["monitor_status"], "stopped");
}

#[test]
fn a_dead_pid_is_stale_and_cleaned() {
    let h = home();
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    write_state(&h, pid, 1);
    let status: serde_json::Value =
        serde_json::from_slice(&g(&h, &["status", "--json"]).stdout).unwrap();
    assert_eq!(status["status"], "stale");
    assert!(
        !h.path.join("state.json").exists(),
        "stale state is cleaned"
    );
}

#[test]
fn a_live_pid_of_another_program_is_never_signalled() {
    let h = home();
    let mut other = Command::new("sleep").arg("30").spawn().unwrap();
    write_state(&h, other.id(), start_ticks(other.id()));
    let out = g(&h, &["stop"]);
    assert!(
        text(&out).contains("nothing was signalled"),
        "{}",
        text(&out)
    );
    assert!(
        alive(other.id()),
        "another program's process must not be killed"
    );
    // A reused pid: the right program name but the wrong start time.
    write_state(&h, other.id(), start_ticks(other.id()) + 1);
    assert!(text(&g(&h, &["stop"])).contains("nothing was signalled"));
    assert!(alive(other.id()));
    other.kill().unwrap();
    let _ = other.wait();
}

#[test]
fn corrupt_and_truncated_state_files_are_stale() {
    for content in [
        "{not json",
        "{\"pid\": 12",
        "",
        "{\"pid\":1,\"unknown\":true}",
    ] {
        let h = home();
        std::fs::create_dir_all(&h.path).unwrap();
        std::fs::set_permissions(&h.path, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::write(h.path.join("state.json"), content).unwrap();
        let status: serde_json::Value =
            serde_json::from_slice(&g(&h, &["status", "--json"]).stdout).unwrap();
        assert_eq!(status["status"], "stale", "{content:?}");
        assert!(!h.path.join("state.json").exists());
        assert!(alive(1), "pid 1 untouched");
    }
}

#[test]
fn a_daemon_that_ignores_sigterm_is_killed_after_5_seconds() {
    let h = home();
    std::fs::create_dir_all(&h.path).unwrap();
    std::fs::set_permissions(&h.path, std::fs::Permissions::from_mode(0o700)).unwrap();
    // Looks like this home's `guardian serve` (arguments) but ignores SIGTERM.
    let mut stubborn = Command::new("python3")
        .args(["-c", "import signal,time,sys; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)", "serve", "--home"])
        .arg(&h.path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(stubborn.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    write_state(&h, stubborn.id(), start_ticks(stubborn.id()));
    let start = Instant::now();
    let out = g(&h, &["stop"]);
    assert!(text(&out).contains("killed after 5 s"), "{}", text(&out));
    assert!(start.elapsed() >= Duration::from_secs(5));
    let status = stubborn.wait().unwrap();
    assert!(!status.success(), "SIGKILLed");
}

#[test]
fn concurrent_starts_give_one_daemon() {
    let h = home();
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(BIN)
                .arg("start")
                .arg("--home")
                .arg(&h.path)
                .arg("--config")
                .arg(&h.config)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    assert!(
        outs.iter().all(|o| o.status.success()),
        "{:?}",
        outs.iter()
            .map(|o| String::from_utf8_lossy(&o.stderr).to_string())
            .collect::<Vec<_>>()
    );
    let started = outs
        .iter()
        .filter(|o| text(o).starts_with("guardian started"))
        .count();
    assert_eq!(started, 1, "exactly one start starts a daemon");
    let home_arg = h.path.display().to_string();
    let serving: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<String> = cmd
                .split(|&b| b == 0)
                .map(|a| String::from_utf8_lossy(a).to_string())
                .collect();
            args.iter().any(|a| a == "serve") && args.contains(&home_arg) && alive(*pid)
        })
        .collect();
    assert_eq!(serving.len(), 1, "{serving:?}");
    g(&h, &["stop"]);
}

/// picoclaw-security-guardian's config-text analysis (SPEC §7), applied to the fragment.
fn profile_flags(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let needles = [
        "public: true",
        "bind: 0.0.0.0",
        "host: 0.0.0.0",
        "-public",
        "\"listen\": \"0.0.0.0\"",
        "auth: false",
        "\"auth\": false",
        "disable_auth",
        "no_auth",
        "\"password\": \"\"",
        "allow_unsigned",
        "skip_signature",
        "disable_signature",
        "insecure_skip_verify",
        "\"sandbox\": false",
        "restrict_to_workspace: false",
        "mcp:",
        "mcp_servers",
        "modelcontextprotocol",
        "\"mcp\"",
        "tools:",
        "code_execution",
        "shell",
        "filesystem",
        "\"tools\"",
        "\"exec\"",
        "cron",
        "schedule",
    ];
    let mut flags: Vec<String> = needles
        .iter()
        .filter(|n| lower.contains(*n))
        .map(|n| n.to_string())
        .collect();
    let secret =
        regex::Regex::new(r#"(?i)(api[_-]?key|token|secret|password)\s*[":=]+\s*['"]?[^\s'"]{8,}"#)
            .unwrap();
    flags.extend(
        secret
            .find_iter(text)
            .map(|m| format!("secret marker {}", m.as_str())),
    );
    flags
}

/// The watched-file record: {path, exists, type, size, mode (3 octal digits), sha256}.
fn watched(path: &std::path::Path) -> serde_json::Value {
    let meta = std::fs::symlink_metadata(path).unwrap();
    let bytes = std::fs::read(path).unwrap();
    serde_json::json!({"path": path.display().to_string(), "exists": true, "type": if meta.is_file() { "file" } else { "other" },
        "size": meta.len(), "mode": format!("{:03o}", meta.mode() & 0o777), "sha256": sha256_hex(&bytes)})
}

#[test]
fn posture_fragment_schema_digests_and_compatibility() {
    let origin = origin();
    let h = home();
    // Some findings, so the log digest is not the empty one.
    let out = Command::new(BIN)
        .args(["run", "--home"])
        .arg(&h.path)
        .arg("--config")
        .arg(&h.config)
        .args([
            "--",
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "--data-binary",
            "k=AKIAQ3EGT5JMCXWDZP7N",
            &format!("http://{origin}/u"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let first = g(&h, &["posture"]);
    assert_eq!(first.status.code(), Some(0));
    let path = h.path.join("posture.json");
    let bytes = std::fs::read(&path).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 9, "{keys:?}");
    assert_eq!(v["schema_version"], "clawsec-traffic-posture/v1");
    assert_eq!(v["monitor_status"], "stopped");
    assert_eq!(v["mode"], "detect");
    assert_eq!(v["ca_fingerprint_sha256"], serde_json::Value::Null);
    let findings = std::fs::read(h.path.join("findings.jsonl")).unwrap();
    assert!(!findings.is_empty());
    assert_eq!(
        v["finding_log_sha256"],
        format!("{:x}", Sha256::digest(&findings))
    );
    let cc: serde_json::Value =
        serde_json::from_slice(&g(&h, &["check-config", "--json"]).stdout).unwrap();
    assert_eq!(v["config_sha256"], cc["config_sha256"]);
    assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);

    // Unchanged → not rewritten: the watched-file fingerprint stays the same.
    let before = watched(&path);
    // Until the clock has left the recorded millisecond, so a rewrite would differ.
    let recorded = v["generated_at"].as_str().unwrap().to_string();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string() <= recorded
        && std::time::Instant::now() < deadline
    {
        std::hint::spin_loop();
    }
    g(&h, &["posture"]);
    assert_eq!(watched(&path), before);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "generated_at alone never rewrites the file"
    );
    assert!(
        profile_flags(&String::from_utf8_lossy(&bytes)).is_empty(),
        "{:?}",
        profile_flags(&String::from_utf8_lossy(&bytes))
    );

    // Never through a symlink.
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(h.path.join("elsewhere.json"), &path).unwrap();
    let out = g(&h, &["posture"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("symlink"));
    assert!(!h.path.join("elsewhere.json").exists());
}

#[test]
fn threats_filters_and_boundaries() {
    let h = home();
    std::fs::create_dir_all(&h.path).unwrap();
    std::fs::set_permissions(&h.path, std::fs::Permissions::from_mode(0o700)).unwrap();
    let now = std::time::SystemTime::now();
    let line = |ago_s: u64, pattern: &str, severity: &str| {
        let t = humantime::format_rfc3339_millis(now - Duration::from_secs(ago_s));
        format!("{{\"schema_version\":\"clawsec-traffic-finding/v1\",\"platform\":\"picoclaw\",\"direction\":\"outbound\",\"protocol\":\"http\",\"threat_type\":\"EXFIL\",\"pattern\":\"{pattern}\",\"severity\":\"{severity}\",\"source\":\"127.0.0.1\",\"dest\":\"x:80\",\"snippet\":\"s\",\"timestamp\":\"{t}\"}}\n")
    };
    let mut log = [
        line(7200, "ai_api_key", "high"),
        line(1800, "credential_path", "high"),
        line(60, "sensitive_unix_path", "medium"),
    ]
    .concat();
    log.push_str("{\"schema_version\":\"clawsec-traffic-fi"); // a partial last line (crash mid-write)
    std::fs::write(h.path.join("findings.jsonl"), log).unwrap();
    let count = |args: &[&str]| {
        text(&g(h_ref(&h), &[&["threats", "--json"][..], args].concat()))
            .lines()
            .count()
    };
    fn h_ref(h: &Home) -> &Home {
        h
    }
    assert_eq!(count(&[]), 3, "the partial line is skipped");
    assert_eq!(count(&["--since", "1h"]), 2);
    assert_eq!(count(&["--since", "10m"]), 1);
    assert_eq!(count(&["--since", "3h"]), 3);
    let t = humantime::format_rfc3339_seconds(now - Duration::from_secs(1801)).to_string();
    assert_eq!(count(&["--since", &t]), 2, "RFC 3339 boundary");
    assert_eq!(count(&["--pattern", "ai_api_key"]), 1);
    assert_eq!(count(&["--severity", "high"]), 2);
    assert_eq!(count(&["--severity", "medium"]), 3);
    assert_eq!(
        g(&h, &["threats", "--since", "yesterday-ish"])
            .status
            .code(),
        Some(2)
    );
    let table = text(&g(&h, &["threats"]));
    assert!(table.starts_with("TIME") && table.contains("credential_path"));
}

#[test]
fn setup_is_per_process_and_changes_nothing() {
    let h = home();
    for platform in ["picoclaw", "nanoclaw", "generic"] {
        let out = g(&h, &["setup", "--platform", platform]);
        assert_eq!(out.status.code(), Some(0));
        let t = text(&out);
        assert!(
            !t.lines().any(|l| l.trim_start().starts_with("export ")),
            "no global export: {t}"
        );
        assert!(t.contains("env HTTP_PROXY=http://127.0.0.1:0 HTTPS_PROXY="));
        assert!(t.contains("HTTPS inspection is off"));
    }
    assert!(text(&g(&h, &["setup", "--platform", "picoclaw"])).contains("--watch"));
    assert!(text(&g(&h, &["setup", "--platform", "nanoclaw"])).contains("allow_clients"));
    assert!(
        !h.path.exists() || std::fs::read_dir(&h.path).unwrap().next().is_none(),
        "setup creates nothing"
    );
}
