//! NanoClaw: the host service (lifecycle, IPC tasks, malformed tasks, restarts) and the MCP
//! server (protocol, schemas, timeouts, a real MCP client), through the real binary.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

struct Host {
    child: Child,
    dir: tempfile::TempDir,
}

impl Host {
    fn start(dir: tempfile::TempDir) -> Host {
        std::fs::write(
            dir.path().join("c.json"),
            r#"{"listen":"127.0.0.1:0","platform":"nanoclaw","dedup_window":"0s"}"#,
        )
        .unwrap();
        let mut child = Command::new(BIN)
            .args(["host", "--ipc-root"])
            .arg(dir.path().join("ipc"))
            .arg("--home")
            .arg(dir.path().join("home"))
            .arg("--config")
            .arg(dir.path().join("c.json"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let line = first_stdout_line(&mut child);
        assert!(line.contains("listening on"), "{line}");
        Host { child, dir }
    }
    fn root(&self) -> PathBuf {
        self.dir.path().join("ipc")
    }
    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }
    fn stop(mut self) -> tempfile::TempDir {
        let pid = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "clean shutdown on SIGTERM");
        assert!(
            !self.home().join("state.json").exists(),
            "state removed on shutdown"
        );
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, dir)
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_task(root: &Path, group: &str, file: &str, body: &[u8]) -> PathBuf {
    let dir = root.join(group).join("clawsec_traffic");
    std::fs::create_dir_all(&dir).unwrap();
    // As NanoClaw writes a task: a `.tmp` file (the host leaves those alone) renamed into place.
    let tmp = dir.join(format!("{file}.tmp"));
    std::fs::write(&tmp, body).unwrap();
    let path = dir.join(file);
    std::fs::rename(&tmp, &path).unwrap();
    path
}

fn task(kind: &str, id: &str, group: &str, extra: Value) -> Vec<u8> {
    let mut t = json!({"type": kind, "requestId": id, "groupFolder": group, "timestamp": "2026-11-21T00:00:00.000Z"});
    for (k, v) in extra.as_object().unwrap() {
        t[k] = v.clone();
    }
    t.to_string().into_bytes()
}

fn wait_result(root: &Path, group: &str, id: &str) -> Value {
    let path = root
        .join(group)
        .join("clawsec_results")
        .join(format!("{id}.json"));
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if let Ok(b) = std::fs::read(&path) {
            if let Ok(v) = serde_json::from_slice(&b) {
                return v;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no result for {id}");
}

fn seed_findings(home: &Path) {
    std::fs::create_dir_all(home).unwrap();
    // A raw secret in a snippet (as if an old tool had written it): results must redact it anyway.
    let line = |pattern: &str, snippet: &str| {
        format!("{{\"schema_version\":\"clawsec-traffic-finding/v1\",\"platform\":\"nanoclaw\",\"direction\":\"outbound\",\"protocol\":\"http\",\"threat_type\":\"EXFIL\",\"pattern\":\"{pattern}\",\"severity\":\"high\",\"source\":\"127.0.0.1\",\"dest\":\"x:80\",\"snippet\":\"{snippet}\",\"timestamp\":\"2026-11-21T00:00:00.000Z\"}}\n")
    };
    let log = [
        line("aws_access_key_id", "key=AKIAQ3EGT5JMCXWDZP7N"),
        line("credential_path", "[REDACTED:credential_path]"),
    ]
    .concat();
    std::fs::write(home.join("findings.jsonl"), log).unwrap();
}

#[test]
fn host_answers_tasks_and_survives_malformed_ones() {
    let dir = tempfile::tempdir().unwrap();
    seed_findings(&dir.path().join("home"));
    let host = Host::start(dir);
    let root = host.root();
    write_task(
        &root,
        "main",
        "s1.json",
        &task("clawsec_traffic_status", "s1", "main", json!({})),
    );
    let status = wait_result(&root, "main", "s1");
    assert_eq!(status["ok"], true);
    assert_eq!(status["result"]["status"], "running");
    write_task(
        &root,
        "main",
        "f1.json",
        &task(
            "clawsec_traffic_findings",
            "f1",
            "main",
            json!({"limit": 1, "severity": "high"}),
        ),
    );
    let f = wait_result(&root, "main", "f1");
    assert_eq!(f["result"]["count"], 1);
    assert_eq!(f["result"]["matched"], 2);
    write_task(
        &root,
        "main",
        "f2.json",
        &task(
            "clawsec_traffic_findings",
            "f2",
            "main",
            json!({"pattern": "aws_access_key_id"}),
        ),
    );
    let f2 = wait_result(&root, "main", "f2");
    assert!(
        !f2.to_string().contains("AKIAQ3EGT5JMCXWDZP7N"),
        "results are redacted: {f2}"
    );
    assert!(f2.to_string().contains("[REDACTED:aws_access_key_id]"));
    write_task(
        &root,
        "main",
        "c1.json",
        &task("clawsec_traffic_check_config", "c1", "main", json!({})),
    );
    let c = wait_result(&root, "main", "c1");
    assert_eq!(c["result"]["config_sha256"].as_str().unwrap().len(), 64);

    // Malformed tasks: each gets an error result when an id can be read, and goes to errors/.
    write_task(&root, "main", "bad-json.json", b"{not json");
    write_task(
        &root,
        "main",
        "bad-type.json",
        &task("clawsec_traffic_exec", "bad-type", "main", json!({})),
    );
    write_task(
        &root,
        "main",
        "bad-group.json",
        &task("clawsec_traffic_status", "bad-group", "other", json!({})),
    );
    write_task(
        &root,
        "main",
        "bad-args.json",
        &task(
            "clawsec_traffic_findings",
            "bad-args",
            "main",
            json!({"limit": 501}),
        ),
    );
    write_task(
        &root,
        "main",
        "traversal.json",
        &task("clawsec_traffic_status", "../../etc/x", "main", json!({})),
    );
    let big = format!("{{\"type\":\"clawsec_traffic_status\",\"requestId\":\"big\",\"groupFolder\":\"main\",\"pad\":\"{}\"}}", "x".repeat(70_000));
    write_task(&root, "main", "big.json", big.as_bytes());
    let outside = host.dir.path().join("outside.json");
    std::fs::write(
        &outside,
        task("clawsec_traffic_status", "link", "main", json!({})),
    )
    .unwrap();
    std::os::unix::fs::symlink(&outside, root.join("main/clawsec_traffic/link.json")).unwrap();
    for (id, why) in [
        ("bad-json", "not valid JSON"),
        ("bad-type", "unknown task type"),
        ("bad-group", "groupFolder"),
        ("bad-args", "limit"),
        ("big", "64 KiB"),
        ("link", "symlink"),
    ] {
        let r = wait_result(&root, "main", id);
        assert_eq!(r["ok"], false, "{id}");
        assert!(r["error"].as_str().unwrap().contains(why), "{id}: {r}");
    }
    // The traversal id is refused: no result anywhere outside the results directory, once the
    // task has been handled (moved to errors/ with the six others).
    let errors = || std::fs::read_dir(root.join("errors")).map_or(0, Iterator::count);
    let start = Instant::now();
    while errors() < 7 && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!root.join("main/clawsec_results/../../etc").exists());
    assert_eq!(errors(), 7, "every malformed task moved to errors/");
    assert!(outside.exists(), "a symlink's target is never touched");
    // A young half-written .tmp is left alone; the loop still answers.
    let young = root.join("main/clawsec_traffic/late.json.tmp");
    std::fs::write(&young, b"{\"type\":").unwrap();
    write_task(
        &root,
        "main",
        "s2.json",
        &task("clawsec_traffic_status", "s2", "main", json!({})),
    );
    assert_eq!(wait_result(&root, "main", "s2")["ok"], true);
    assert!(young.exists());
    // An abandoned one (older than a minute) is moved away.
    std::fs::File::options()
        .write(true)
        .open(&young)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(120))
        .unwrap();
    let start = Instant::now();
    while young.exists() && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!young.exists());
    host.stop();
}

#[test]
fn concurrent_tasks_and_a_host_restarted_mid_task() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(dir);
    let root = host.root();
    for i in 0..50 {
        let group = if i % 2 == 0 { "alpha" } else { "beta" };
        write_task(
            &root,
            group,
            &format!("t{i}.json"),
            &task("clawsec_traffic_status", &format!("t{i}"), group, json!({})),
        );
    }
    for i in 0..50 {
        let group = if i % 2 == 0 { "alpha" } else { "beta" };
        assert_eq!(wait_result(&root, group, &format!("t{i}"))["ok"], true);
    }
    // Stop the host, leave a task behind, start it again: the task is answered.
    let dir = host.stop();
    let root_path = dir.path().join("ipc");
    write_task(
        &root_path,
        "alpha",
        "later.json",
        &task("clawsec_traffic_status", "later", "alpha", json!({})),
    );
    // Read after the host exited (stop waited for it): nobody is there to answer.
    assert!(
        !root_path.join("alpha/clawsec_results/later.json").exists(),
        "nobody answers while the host is down"
    );
    let host = Host::start(dir);
    assert_eq!(
        wait_result(&host.root(), "alpha", "later")["result"]["status"],
        "running"
    );
    let st = Command::new(BIN)
        .args(["status", "--json", "--home"])
        .arg(host.home())
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&st.stdout).unwrap();
    assert_eq!(
        v["status"], "running",
        "the host service is the home's daemon"
    );
}

struct Mcp {
    child: Child,
    out: BufReader<std::process::ChildStdout>,
}

impl Mcp {
    fn start(ipc_dir: &Path, timeout: &str) -> Mcp {
        let mut child = Command::new(BIN)
            .args(["mcp", "--ipc-dir"])
            .arg(ipc_dir)
            .args(["--timeout", timeout])
            .env("NANOCLAW_GROUP_FOLDER", "main")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        Mcp { child, out }
    }
    fn send(&mut self, msg: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(msg.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }
    fn call(&mut self, msg: Value) -> Value {
        self.send(&msg.to_string());
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap()
    }
}

impl Drop for Mcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn mcp_protocol_schemas_errors_and_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut mcp = Mcp::start(&dir.path().join("ipc/main"), "300ms");
    let init = mcp.call(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}));
    assert_eq!(
        init["result"]["protocolVersion"], "2025-06-18",
        "a supported version is echoed"
    );
    assert!(init["result"]["capabilities"]["tools"].is_object());
    let newer = mcp.call(json!({"jsonrpc": "2.0", "id": "x", "method": "initialize", "params": {"protocolVersion": "2099-01-01"}}));
    assert_eq!(
        newer["result"]["protocolVersion"], "2025-11-25",
        "otherwise the latest supported is offered"
    );
    mcp.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#); // no reply to notifications
    assert_eq!(
        mcp.call(json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}))["result"],
        json!({})
    );
    let list = mcp.call(json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}));
    let tools = list["result"]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        vec![
            "clawsec_traffic_status",
            "clawsec_traffic_findings",
            "clawsec_traffic_check_config"
        ]
    );
    let schemas = serde_json::to_string(
        &tools
            .iter()
            .map(|t| t["inputSchema"].clone())
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let check = Command::new("python3").args(["-c", "import json,sys,jsonschema\nfor s in json.loads(sys.argv[1]): jsonschema.Draft202012Validator.check_schema(s); assert s['type']=='object'\nprint('ok')", &schemas]).output().unwrap();
    if String::from_utf8_lossy(&check.stderr).contains("No module named 'jsonschema'") {
        eprintln!("python jsonschema missing: schemas checked structurally only");
        assert!(tools.iter().all(|t| t["inputSchema"]["type"] == "object"));
    } else {
        assert_eq!(
            String::from_utf8_lossy(&check.stdout).trim(),
            "ok",
            "{}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
    // Bad arguments are tool errors; protocol faults are JSON-RPC errors.
    let bad = mcp.call(json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "clawsec_traffic_findings", "arguments": {"limit": 0}}}));
    assert_eq!(bad["result"]["isError"], true);
    let unknown_arg = mcp.call(json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "clawsec_traffic_status", "arguments": {"x": 1}}}));
    assert_eq!(unknown_arg["result"]["isError"], true);
    assert_eq!(
        mcp.call(json!({"jsonrpc": "2.0", "id": 6, "method": "nope"}))["error"]["code"],
        -32601
    );
    assert_eq!(
        mcp.call(
            json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "rm_rf"}})
        )["error"]["code"],
        -32602
    );
    mcp.send("{not json");
    let mut line = String::new();
    mcp.out.read_line(&mut line).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&line).unwrap()["error"]["code"],
        -32700
    );
    // No host: the call times out as a tool error that says so, and leaves no task behind.
    let start = Instant::now();
    let timeout = mcp.call(json!({"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {"name": "clawsec_traffic_status"}}));
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(timeout["result"]["isError"], true);
    assert!(timeout["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("did not answer"));
    assert_eq!(
        std::fs::read_dir(dir.path().join("ipc/main/clawsec_traffic"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn a_real_mcp_client_sees_redacted_findings() {
    let has_sdk = Command::new("python3")
        .args(["-c", "import mcp"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_sdk {
        eprintln!("the python `mcp` SDK is not installed (.ci/run installs it): skipping the real-client check");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    seed_findings(&dir.path().join("home"));
    let host = Host::start(dir);
    let client = r#"
import asyncio, json, sys
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
async def main():
    params = StdioServerParameters(command=sys.argv[1], args=["mcp", "--ipc-dir", sys.argv[2], "--group", "main"])
    async with stdio_client(params) as (r, w):
        async with ClientSession(r, w) as s:
            await s.initialize()
            tools = await s.list_tools()
            out = {"tools": [t.name for t in tools.tools]}
            for name, args in [("clawsec_traffic_status", {}), ("clawsec_traffic_findings", {"since": "3650d", "limit": 10}), ("clawsec_traffic_check_config", {})]:
                res = await s.call_tool(name, args)
                out[name] = {"isError": res.is_error, "text": res.content[0].text}
            print(json.dumps(out))
asyncio.run(main())
"#;
    let out = Command::new("python3")
        .args(["-c", client, BIN])
        .arg(host.root().join("main"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(v["tools"].as_array().unwrap().len(), 3);
    for tool in [
        "clawsec_traffic_status",
        "clawsec_traffic_findings",
        "clawsec_traffic_check_config",
    ] {
        assert_eq!(v[tool]["isError"], false, "{tool}: {}", v[tool]["text"]);
    }
    assert!(v["clawsec_traffic_status"]["text"]
        .as_str()
        .unwrap()
        .contains("running"));
    assert!(v["clawsec_traffic_findings"]["text"]
        .as_str()
        .unwrap()
        .contains("[REDACTED:aws_access_key_id]"));
    assert!(
        !text.contains("AKIAQ3EGT5JMCXWDZP7N"),
        "nothing unredacted reaches the agent"
    );
}
