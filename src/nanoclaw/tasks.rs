//! What a task asks and what it gets (SPEC §9), independent of how it travels: the host answers
//! tasks from files, the MCP server turns tool calls into tasks.

use std::path::Path;
use std::time::SystemTime;

use guardian_parser::scan::{Registry, Severity};
use serde_json::{json, Map, Value};

use crate::config::Config;
use crate::daemon::{self, Status};
use crate::home::Home;
use crate::report::read;

/// Task types.
pub const TYPES: &[&str] = &[
    "clawsec_traffic_status",
    "clawsec_traffic_findings",
    "clawsec_traffic_check_config",
];

/// Largest `limit` of a findings task.
pub const MAX_LIMIT: u64 = 500;

/// `limit` of a findings task that gives none.
pub const DEFAULT_LIMIT: usize = 50;

/// Whether a request id is acceptable (it names a file: no path characters).
pub fn valid_request_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A task, parsed and validated once: what the host answers and what MCP sends.
#[derive(Debug)]
pub enum Task {
    /// `clawsec_traffic_status`.
    Status,
    /// `clawsec_traffic_findings` with its query.
    Findings {
        /// Which findings.
        filter: read::Filter,
        /// At most this many, newest kept.
        limit: usize,
    },
    /// `clawsec_traffic_check_config`.
    CheckConfig,
}

impl Task {
    /// Parses a task type and its arguments (the task's own fields excluded); `Err` is a
    /// message for the caller.
    pub fn parse(kind: &str, args: &Map<String, Value>) -> Result<Task, String> {
        let allowed: &[&str] = match kind {
            "clawsec_traffic_findings" => &["since", "limit", "pattern", "severity"],
            "clawsec_traffic_status" | "clawsec_traffic_check_config" => &[],
            other => {
                return Err(format!(
                    "unknown task type {other:?}; expected one of {}",
                    TYPES.join(", ")
                ))
            }
        };
        if let Some(k) = args.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(format!("{kind}: unknown argument {k:?}"));
        }
        match kind {
            "clawsec_traffic_status" => return Ok(Task::Status),
            "clawsec_traffic_check_config" => return Ok(Task::CheckConfig),
            _ => {}
        }
        let since = match args.get("since") {
            None => None,
            Some(v) => {
                let s = v
                    .as_str()
                    .ok_or("since must be a string like \"1h\" or an RFC 3339 time")?;
                Some(read::parse_since(s, SystemTime::now()).map_err(|e| e.message)?)
            }
        };
        let limit = match args.get("limit") {
            None => DEFAULT_LIMIT,
            Some(v) => v
                .as_u64()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or(format!(
                    "limit must be a whole number from 1 to {MAX_LIMIT}"
                ))? as usize,
        };
        let pattern = match args.get("pattern") {
            None => None,
            Some(v) => Some(
                v.as_str()
                    .filter(|p| !p.is_empty() && p.len() <= 64)
                    .ok_or("pattern must be a pattern id")?
                    .to_string(),
            ),
        };
        let min_severity = match args.get("severity") {
            None => None,
            Some(v) => Some(
                v.as_str()
                    .and_then(Severity::parse)
                    .ok_or("severity must be low, medium, high or critical")?,
            ),
        };
        Ok(Task::Findings {
            filter: read::Filter {
                since,
                pattern,
                min_severity,
            },
            limit,
        })
    }

    /// Answers the task.
    pub fn answer(&self, home: &Home, config: &Config) -> Value {
        match self {
            Task::Status => match daemon::status(home) {
                Status::Running(s) => {
                    json!({"status": "running", "listen": s.listen, "pid": s.pid, "started_at": s.started_at,
                    "https_inspection": s.https_inspection, "ca_fingerprint_sha256": s.ca_fingerprint_sha256,
                    "config_sha256": s.config_sha256, "counters": daemon::control::counters(home, &s.counters).0})
                }
                other => json!({"status": other.name()}),
            },
            Task::Findings { filter, limit } => findings(filter, *limit, &home.findings()),
            Task::CheckConfig => {
                json!({"config": config.to_json(), "config_sha256": config.sha256()})
            }
        }
    }
}

fn findings(filter: &read::Filter, limit: usize, path: &Path) -> Value {
    let mut kept = std::collections::VecDeque::new();
    let mut matched = 0usize;
    read::for_each(path, |f| {
        if !filter.matches(&f) {
            return;
        }
        matched += 1;
        kept.push_back(f);
        if kept.len() > limit {
            kept.pop_front();
        }
    });
    json!({"count": kept.len(), "matched": matched, "truncated": matched > kept.len(), "findings": Vec::from(kept)})
}

/// Replaces every match of an EXFIL rule in `text` (a safety net over everything IPC and MCP
/// return; findings are already redacted). Digests and other long tokens are kept.
pub fn redact_secrets(registry: &Registry, text: &str) -> String {
    guardian_parser::finding::redact_exfil_only(registry, text.as_bytes())
}
