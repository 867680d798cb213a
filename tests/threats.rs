//! `guardian threats --summary` and `--since` (which seeks in a large log), the bench's
//! --connections/--json figures, and MCP errors naming arguments as MCP callers write them.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use common::*;
use serde_json::{json, Value};

fn finding(pattern: &str, severity: &str, dest: &str, at: SystemTime) -> String {
    json!({"schema_version":"clawsec-traffic-finding/v1","platform":"generic","direction":"outbound",
        "protocol":"http","threat_type":"EXFIL","pattern":pattern,"severity":severity,"source":"127.0.0.1",
        "dest":dest,"snippet":"[REDACTED:x]","timestamp":humantime::format_rfc3339_millis(at).to_string()})
    .to_string()
        + "\n"
}

fn threats(home: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("threats")
        .args(args)
        .arg("--home")
        .arg(home)
        .output()
        .unwrap();
    ok_stdout(out)
}

/// A log: 3000 old findings (two days ago), then recent ones, a garbage line and a partial line.
fn log(home: &Path) -> SystemTime {
    std::fs::create_dir_all(home).unwrap();
    let now = SystemTime::now();
    let old = now - Duration::from_secs(2 * 86_400);
    let mut text = String::new();
    for i in 0..3000u64 {
        text.push_str(&finding(
            "ai_api_key",
            "high",
            "old.example:443",
            old + Duration::from_secs(i),
        ));
    }
    text.push_str("not json\n");
    let recent = now - Duration::from_secs(600);
    for i in 0..5u64 {
        text.push_str(&finding(
            "ai_api_key",
            "high",
            "api.example:443",
            recent + Duration::from_secs(i),
        ));
    }
    text.push_str(&finding(
        "credential_path",
        "high",
        "api.example:443",
        recent,
    ));
    text.push_str(&finding(
        "sensitive_unix_path",
        "medium",
        "b.example:80",
        recent + Duration::from_secs(9),
    ));
    text.push_str("{\"schema_version\":\"clawsec-traffic-fin"); // crash mid-write
    std::fs::File::create(home.join("findings.jsonl"))
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .unwrap();
    recent
}

#[test]
fn summary_counts_per_pattern_severity_and_destination() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("h");
    let recent = log(&home);
    let rows: Vec<Value> = threats(&home, &["--summary", "--json", "--since", "1h"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let newest = humantime::format_rfc3339_millis(recent + Duration::from_secs(4)).to_string();
    assert_eq!(
        rows,
        vec![
            json!({"pattern":"ai_api_key","severity":"high","dest":"api.example:443","count":5,"newest":newest}),
            json!({"pattern":"credential_path","severity":"high","dest":"api.example:443","count":1,
                "newest":humantime::format_rfc3339_millis(recent).to_string()}),
            json!({"pattern":"sensitive_unix_path","severity":"medium","dest":"b.example:80","count":1,
                "newest":humantime::format_rfc3339_millis(recent + Duration::from_secs(9)).to_string()}),
        ]
    );
    let all = threats(&home, &["--summary", "--json"]);
    assert!(all.contains(r#""count":3000"#), "{all}");
    let table = threats(&home, &["--summary", "--severity", "high"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("COUNT") && lines[0].contains("NEWEST"),
        "{table}"
    );
    assert!(
        lines[1].starts_with("3000 ") && lines[1].contains("old.example:443"),
        "{table}"
    );
    assert_eq!(lines.len(), 4, "{table}");
    assert!(!table.contains("sensitive_unix_path"));
    assert!(threats(&home, &["--summary", "--pattern", "nope"]).contains("(no findings match)"));
}

#[test]
fn since_reads_only_the_window_of_a_large_log() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("h");
    log(&home);
    let json = threats(&home, &["--since", "1h", "--json"]);
    assert_eq!(json.lines().count(), 7, "{json}");
    assert!(!json.contains("old.example"));
    assert_eq!(
        threats(&home, &["--since", "3d", "--json"]).lines().count(),
        3007
    );
    let err = Command::new(BIN)
        .args(["threats", "--since", "yesterday", "--home"])
        .arg(&home)
        .output()
        .unwrap();
    assert_eq!(err.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&err.stderr).contains("--since \"yesterday\" must be"));
}

#[test]
fn mcp_errors_name_the_argument_as_mcp_callers_write_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["mcp", "--ipc-dir"])
        .arg(dir.path())
        .args(["--group", "main", "--timeout", "1s"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let input = [
        json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}),
        json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"clawsec_traffic_findings","arguments":{"since":"yesterday"}}}),
    ]
    .map(|v| v.to_string() + "\n")
    .concat();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let last: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    let text = last["result"]["content"][0]["text"].as_str().unwrap();
    assert_eq!(last["result"]["isError"], true);
    assert!(text.starts_with("since \"yesterday\" must be"), "{text}");
    assert!(!text.contains("--since"), "{text}");
}

#[test]
fn bench_reports_the_ratio_over_concurrent_connections() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args([
            "bench",
            "--mb",
            "2",
            "--connections",
            "3",
            "--json",
            "--home",
        ])
        .arg(dir.path().join("h"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    for k in [
        "core_mb_per_s",
        "proxy_mb_per_s",
        "direct_mb_per_s",
        "proxy_vs_direct",
        "proxy_requests_per_s",
        "peak_rss_bytes",
    ] {
        assert!(v[k].as_f64().is_some_and(|x| x > 0.0), "{k}: {v}");
    }
    let ratio = v["proxy_mb_per_s"].as_f64().unwrap() / v["direct_mb_per_s"].as_f64().unwrap();
    assert!(
        (ratio - v["proxy_vs_direct"].as_f64().unwrap()).abs() < 0.05 * ratio.max(0.1),
        "{v}"
    );
    assert_eq!(v["connections"], 3);
    assert_eq!(v["found"], v["seeded"]);
    assert_eq!(v["proxy_found"], v["proxy_seeded"]);
    let core_only: Value = serde_json::from_slice(
        Command::new(BIN)
            .args(["bench", "--mb", "1", "--core-only", "--json", "--home"])
            .arg(dir.path().join("h"))
            .output()
            .unwrap()
            .stdout
            .split(|&b| b == b'\n')
            .rfind(|l| !l.is_empty())
            .unwrap(),
    )
    .unwrap();
    assert!(core_only["proxy_vs_direct"].is_null() && core_only["direct_mb_per_s"].is_null());
    let bad = Command::new(BIN)
        .args(["bench", "--connections", "0"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
