//! The host side of NanoClaw IPC (SPEC §9): every 100 ms, task files
//! `ROOT/<group>/clawsec_traffic/*.json` are answered in `ROOT/<group>/clawsec_results/<requestId>.json`
//! (atomically) and removed. A malformed task (bad JSON, over 64 KiB, unknown type, bad
//! `requestId`, `groupFolder` not its directory, a symlink, a `.tmp` left behind) gets an error
//! result when a request id can be read, is moved to `ROOT/errors/`, and never stops the loop.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use super::tasks;
use crate::config::Config;
use crate::home::Home;
use crate::proxy::Shared;

/// Largest task file accepted.
pub const MAX_TASK_BYTES: u64 = 64 * 1024;
/// A `.tmp` file older than this is a half-written task that will never complete.
pub const STALE_TMP: Duration = Duration::from_secs(60);
/// Poll interval.
pub const POLL: Duration = Duration::from_millis(100);

/// Answers IPC tasks for one home.
pub struct IpcService {
    /// `--ipc-root`.
    pub root: PathBuf,
    /// The daemon's home.
    pub home: Home,
    /// Its effective configuration.
    pub config: Config,
    /// The running proxy (for the rules used in redaction, and the log).
    pub shared: Arc<Shared>,
}

impl IpcService {
    /// Polls until `stopping`.
    pub fn run(&self, stopping: &AtomicBool) {
        while !stopping.load(Ordering::Acquire) {
            self.poll_once();
            std::thread::sleep(POLL);
        }
    }

    /// Handles every task present now.
    pub fn poll_once(&self) {
        let Ok(groups) = std::fs::read_dir(&self.root) else {
            return;
        };
        for group in groups.flatten() {
            let name = group.file_name().to_string_lossy().to_string();
            let Ok(kind) = group.file_type() else {
                continue;
            };
            if name == "errors" || !kind.is_dir() || kind.is_symlink() {
                continue;
            }
            let tasks = group.path().join("clawsec_traffic");
            if std::fs::symlink_metadata(&tasks).is_ok_and(|m| m.file_type().is_symlink()) {
                self.shared
                    .log
                    .line(&format!("ipc: {} is a symlink; ignored", tasks.display()));
                continue;
            }
            let Ok(entries) = std::fs::read_dir(&tasks) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            files.sort();
            for path in files {
                self.handle(&name, &group.path(), &path);
            }
        }
    }

    fn handle(&self, group: &str, group_dir: &Path, path: &Path) {
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let stem_id = file
            .strip_suffix(".json")
            .filter(|s| tasks::valid_request_id(s))
            .map(str::to_string);
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return;
        };
        if file.ends_with(".tmp") {
            // Being written: leave it, unless it was abandoned.
            let old = meta
                .modified()
                .ok()
                .and_then(|m| SystemTime::now().duration_since(m).ok())
                .is_some_and(|a| a > STALE_TMP);
            if old {
                self.reject(
                    group,
                    path,
                    None,
                    group_dir,
                    "a half-written task (.tmp) was abandoned",
                );
            }
            return;
        }
        if !file.ends_with(".json") {
            self.reject(group, path, None, group_dir, "not a .json task file");
            return;
        }
        if meta.file_type().is_symlink() || !meta.is_file() {
            self.reject(
                group,
                path,
                stem_id.as_deref(),
                group_dir,
                "task is not a regular file (symlinks are refused)",
            );
            return;
        }
        if meta.len() > MAX_TASK_BYTES {
            self.reject(
                group,
                path,
                stem_id.as_deref(),
                group_dir,
                "task is larger than 64 KiB",
            );
            return;
        }
        let task: Value = match std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
        {
            Some(v) => v,
            None => {
                self.reject(
                    group,
                    path,
                    stem_id.as_deref(),
                    group_dir,
                    "task is not valid JSON",
                );
                return;
            }
        };
        let Some(obj) = task.as_object() else {
            self.reject(
                group,
                path,
                stem_id.as_deref(),
                group_dir,
                "task must be a JSON object",
            );
            return;
        };
        let id = obj
            .get("requestId")
            .and_then(Value::as_str)
            .filter(|id| tasks::valid_request_id(id))
            .map(str::to_string);
        let Some(id) = id else {
            self.reject(
                group,
                path,
                None,
                group_dir,
                "requestId must be 1-64 characters of [A-Za-z0-9_-]",
            );
            return;
        };
        if obj.get("groupFolder").and_then(Value::as_str) != Some(group) {
            self.reject(
                group,
                path,
                Some(&id),
                group_dir,
                &format!("groupFolder must be {group:?}, the task's own directory"),
            );
            return;
        }
        let kind = obj.get("type").and_then(Value::as_str).unwrap_or("");
        let mut args = obj.clone();
        for k in ["type", "requestId", "groupFolder", "timestamp"] {
            args.remove(k);
        }
        let task = match tasks::Task::parse(kind, &args) {
            Ok(task) => task,
            Err(e) => {
                self.reject(group, path, Some(&id), group_dir, &e);
                return;
            }
        };
        let result = task.answer(&self.home, &self.config);
        self.write_result(
            group_dir,
            &id,
            &json!({"requestId": id, "ok": true, "result": result}),
        );
        let _ = std::fs::remove_file(path);
    }

    fn reject(&self, group: &str, path: &Path, id: Option<&str>, group_dir: &Path, why: &str) {
        self.shared
            .log
            .line(&format!("ipc: {group}: {}: {why}", path.display()));
        if let Some(id) = id {
            self.write_result(
                group_dir,
                id,
                &json!({"requestId": id, "ok": false, "error": why}),
            );
        }
        let errors = self.root.join("errors");
        let _ = std::fs::create_dir_all(&errors);
        let name = format!(
            "{group}-{}-{}",
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
            path.file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default()
        );
        if std::fs::rename(path, errors.join(name)).is_err() {
            let _ = std::fs::remove_file(path);
        }
    }

    fn write_result(&self, group_dir: &Path, id: &str, value: &Value) {
        let dir = group_dir.join("clawsec_results");
        let _ = std::fs::create_dir_all(&dir);
        let text = tasks::redact_secrets(&self.shared.registry, &value.to_string());
        // 0644: the container reads it, possibly as another uid.
        let ok =
            crate::atomic::write_atomic(&dir.join(format!("{id}.json")), text.as_bytes(), 0o644);
        if let Err(e) = ok {
            self.shared
                .log
                .line(&format!("ipc: cannot write the result {id}: {e}"));
        }
    }
}
