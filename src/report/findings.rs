//! The findings log (SPEC §2, §4): dedup, then one JSON line per `write(2)` on a file opened with
//! `O_APPEND` (0600), from a dedicated writer thread behind a bounded queue, so a slow or full
//! disk never stalls traffic. Nothing is lost silently: a full queue or a failed write is counted
//! (`findings_lost`) and logged.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::SystemTime;

use guardian_parser::finding::{unix_millis, Dedup, Finding, Protocol, DEFAULT_CAPACITY};
use guardian_parser::inspect::Detection;
use guardian_parser::scan::Platform;

use crate::error::{Error, Result};
use crate::proxy::counters::{add, Counters};
use crate::report::log::Log;

/// Findings waiting for the writer thread at most.
pub const QUEUE: usize = 4096;

/// Where findings go.
#[derive(Debug)]
pub struct FindingSink {
    platform: Platform,
    dedup: Mutex<Dedup>,
    queue: Mutex<Option<SyncSender<Vec<u8>>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    counters: Arc<Counters>,
    log: Arc<Log>,
    path: PathBuf,
}

/// Opens `findings.jsonl` for appending, creating it 0600.
pub fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

impl FindingSink {
    /// Starts the writer for `path`.
    pub fn open(
        path: &Path,
        platform: Platform,
        dedup_window_ms: u64,
        counters: Arc<Counters>,
        log: Arc<Log>,
    ) -> Result<Self> {
        let mut file = open_append(path)
            .map_err(|e| Error::runtime(format!("cannot open {}: {e}", path.display())))?;
        let (tx, rx) = sync_channel::<Vec<u8>>(QUEUE);
        let (thread_counters, thread_log, thread_path) =
            (counters.clone(), log.clone(), path.to_path_buf());
        let writer = std::thread::Builder::new()
            .name("findings-writer".into())
            .spawn(move || {
                for line in rx {
                    match file.write(&line) {
                        Ok(n) if n == line.len() => add(&thread_counters.findings, 1),
                        Ok(n) => {
                            add(&thread_counters.findings_lost, 1);
                            thread_log.line(&format!(
                                "findings: short write to {} ({n} of {} bytes)",
                                thread_path.display(),
                                line.len()
                            ));
                        }
                        Err(e) => {
                            add(&thread_counters.findings_lost, 1);
                            thread_log.line(&format!(
                                "findings: cannot write to {}: {e}",
                                thread_path.display()
                            ));
                        }
                    }
                }
            })
            .map_err(|e| Error::runtime(format!("cannot start the findings writer: {e}")))?;
        Ok(FindingSink {
            platform,
            dedup: Mutex::new(Dedup::new(dedup_window_ms, DEFAULT_CAPACITY)),
            queue: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            counters,
            log,
            path: path.to_path_buf(),
        })
    }

    /// Records a detection (dedup first). Never blocks.
    pub fn record(&self, detection: Detection, protocol: Protocol, source: &str, at: SystemTime) {
        let key = detection.dedup_key();
        let now_ms = unix_millis(at);
        let admitted = self
            .dedup
            .lock()
            .map(|mut d| d.admit(key, now_ms))
            .unwrap_or(true);
        if !admitted {
            add(&self.counters.deduplicated, 1);
            return;
        }
        let finding: Finding = detection.into_finding(self.platform, protocol, source, at);
        let Ok(mut line) = serde_json::to_vec(&finding) else {
            return;
        };
        line.push(b'\n');
        let queue = self.queue.lock().ok().and_then(|q| q.clone());
        match queue.map(|q| q.try_send(line)) {
            Some(Ok(())) => {}
            Some(Err(TrySendError::Full(_))) | Some(Err(TrySendError::Disconnected(_))) | None => {
                add(&self.counters.findings_lost, 1);
                self.log.line(&format!(
                    "findings: queue full or closed, a {} finding was not written to {}",
                    finding.pattern,
                    self.path.display()
                ));
            }
        }
    }

    /// Stops accepting findings and waits until every queued one is written.
    pub fn close(&self) {
        if let Ok(mut q) = self.queue.lock() {
            q.take();
        }
        if let Some(handle) = self.writer.lock().ok().and_then(|mut w| w.take()) {
            let _ = handle.join();
        }
    }

    /// Findings written so far.
    pub fn written(&self) -> u64 {
        self.counters.findings.load(Ordering::Relaxed)
    }
}

impl Drop for FindingSink {
    fn drop(&mut self) {
        self.close();
    }
}
