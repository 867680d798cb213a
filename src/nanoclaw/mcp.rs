//! `guardian mcp`: an MCP server over stdio (JSON-RPC 2.0, one message per line) for inside a
//! NanoClaw container. A tool call becomes a task file in the group's IPC directory; the host
//! service answers it; the result is read, deleted and returned. No answer within the timeout is
//! a tool error saying the host service did not answer.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Map, Value};

use super::tasks;

/// Protocol versions this server speaks, newest first.
pub const PROTOCOL_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// JSON-RPC error codes.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;

/// The MCP server's settings.
pub struct McpServer {
    /// The group's IPC directory as mounted in the container.
    pub ipc_dir: PathBuf,
    /// The group folder name (`--group` or `NANOCLAW_GROUP_FOLDER`).
    pub group: String,
    /// How long to wait for the host service.
    pub timeout: Duration,
}

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// The tools, with a JSON Schema for each input.
pub fn tools() -> Value {
    let none = json!({"type": "object", "properties": {}, "additionalProperties": false});
    json!([
        {"name": "clawsec_traffic_status", "title": "Guardian status",
         "description": "Whether Guardian (the traffic monitor of this agent's host) is running, its address and counters.",
         "inputSchema": none},
        {"name": "clawsec_traffic_findings", "title": "Guardian findings",
         "description": "Recent redacted findings: secrets leaving in requests (EXFIL) and commands arriving in responses (INJECTION). Newest last.",
         "inputSchema": {"type": "object", "additionalProperties": false, "properties": {
            "since": {"type": "string", "description": "Only findings newer than this: a duration like 1h or 30m, or an RFC 3339 time."},
            "limit": {"type": "integer", "minimum": 1, "maximum": tasks::MAX_LIMIT, "description": "At most this many (newest kept), default 50."},
            "pattern": {"type": "string", "description": "Only this pattern id, e.g. ai_api_key or pipe_to_shell."},
            "severity": {"type": "string", "enum": ["low", "medium", "high", "critical"], "description": "Only this severity and above."}}}},
        {"name": "clawsec_traffic_check_config", "title": "Guardian configuration",
         "description": "The effective configuration of the host's Guardian and its config_sha256.",
         "inputSchema": none},
    ])
}

impl McpServer {
    /// Serves stdin/stdout until stdin closes.
    pub fn serve(&self) {
        let stdin = std::io::stdin();
        let mut stdout = std::io::stdout();
        for line in stdin.lock().lines() {
            let Ok(line) = line else { break };
            if line.trim().is_empty() {
                continue;
            }
            if let Some(reply) = self.handle_line(&line) {
                let _ = writeln!(stdout, "{reply}");
                let _ = stdout.flush();
            }
        }
    }

    /// One incoming line → at most one outgoing message.
    pub fn handle_line(&self, line: &str) -> Option<Value> {
        let msg: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                return Some(error(
                    Value::Null,
                    PARSE_ERROR,
                    &format!("parse error: {e}"),
                ))
            }
        };
        let Some(obj) = msg.as_object() else {
            return Some(error(
                Value::Null,
                INVALID_REQUEST,
                "a message must be a JSON object",
            ));
        };
        let id = obj.get("id").cloned();
        if obj.get("jsonrpc") != Some(&json!("2.0")) {
            return Some(error(
                id.unwrap_or(Value::Null),
                INVALID_REQUEST,
                "jsonrpc must be \"2.0\"",
            ));
        }
        let Some(method) = obj.get("method").and_then(Value::as_str) else {
            // A response from the client (we send no requests) or garbage: nothing to answer.
            return id
                .filter(|_| !obj.contains_key("result") && !obj.contains_key("error"))
                .map(|id| error(id, INVALID_REQUEST, "method missing"));
        };
        let id = id?; // a notification: never answered
        if !matches!(id, Value::String(_) | Value::Number(_)) {
            return Some(error(
                Value::Null,
                INVALID_REQUEST,
                "id must be a string or a number",
            ));
        }
        let params = obj.get("params").cloned().unwrap_or(json!({}));
        Some(match method {
            "initialize" => {
                let asked = params
                    .get("protocolVersion")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let version = PROTOCOL_VERSIONS
                    .iter()
                    .find(|v| **v == asked)
                    .copied()
                    .unwrap_or(PROTOCOL_VERSIONS[0]);
                result(
                    id,
                    json!({
                        "protocolVersion": version,
                        "capabilities": {"tools": {"listChanged": false}},
                        "serverInfo": {"name": "guardian", "title": "Guardian traffic monitor", "version": env!("CARGO_PKG_VERSION")},
                        "instructions": "Read-only tools about the traffic Guardian watched for this agent. Findings are redacted."
                    }),
                )
            }
            "ping" => result(id, json!({})),
            "tools/list" => result(id, json!({"tools": tools()})),
            "tools/call" => self.call(id, &params),
            other => error(id, METHOD_NOT_FOUND, &format!("method not found: {other}")),
        })
    }

    fn call(&self, id: Value, params: &Value) -> Value {
        let Some(name) = params.get("name").and_then(Value::as_str) else {
            return error(id, INVALID_PARAMS, "tools/call needs a tool name");
        };
        if !tasks::TYPES.contains(&name) {
            return error(id, INVALID_PARAMS, &format!("unknown tool {name:?}"));
        }
        let args = match params.get("arguments") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return tool_error(id, "arguments must be an object"),
        };
        // Validated here for a prompt error; the host parses it again from the file.
        if let Err(e) = tasks::Task::parse(name, &args) {
            return tool_error(id, &e);
        }
        match self.ask_host(name, args) {
            Ok(value) => result(
                id,
                json!({"content": [{"type": "text", "text": value.to_string()}], "structuredContent": value, "isError": false}),
            ),
            Err(e) => tool_error(id, &e),
        }
    }

    /// Writes a task, waits for its result, deletes it.
    fn ask_host(&self, kind: &str, args: Map<String, Value>) -> Result<Value, String> {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let request_id = format!(
            "mcp-{}-{}-{}",
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::Relaxed),
            nanos % 1_000_000_000
        );
        let mut task = args;
        task.insert("type".into(), json!(kind));
        task.insert("requestId".into(), json!(request_id));
        task.insert("groupFolder".into(), json!(self.group));
        task.insert(
            "timestamp".into(),
            json!(humantime::format_rfc3339_millis(SystemTime::now()).to_string()),
        );
        let tasks_dir = self.ipc_dir.join("clawsec_traffic");
        std::fs::create_dir_all(&tasks_dir)
            .map_err(|e| format!("cannot create {}: {e}", tasks_dir.display()))?;
        let path = tasks_dir.join(format!("{request_id}.json"));
        // 0644: the host service reads it, possibly as another uid.
        crate::atomic::write_atomic(&path, Value::Object(task).to_string().as_bytes(), 0o644)
            .map_err(|e| format!("cannot write the task: {e}"))?;
        let result_path = self
            .ipc_dir
            .join("clawsec_results")
            .join(format!("{request_id}.json"));
        let start = Instant::now();
        while start.elapsed() < self.timeout {
            if let Ok(bytes) = std::fs::read(&result_path) {
                let _ = std::fs::remove_file(&result_path);
                let v: Value = serde_json::from_slice(&bytes)
                    .map_err(|e| format!("the host's result is not JSON: {e}"))?;
                return match v.get("ok") {
                    Some(Value::Bool(true)) => Ok(v.get("result").cloned().unwrap_or(Value::Null)),
                    _ => Err(v
                        .get("error")
                        .and_then(Value::as_str)
                        .unwrap_or("the host refused the task")
                        .to_string()),
                };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = std::fs::remove_file(&path);
        Err(format!("the Guardian host service did not answer within {} s; is `guardian host --ipc-root …` running on the host?", self.timeout.as_secs_f32()))
    }
}

fn result(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

fn error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

fn tool_error(id: Value, message: &str) -> Value {
    result(
        id,
        json!({"content": [{"type": "text", "text": message}], "isError": true}),
    )
}
