//! The findings log (SPEC §2, §4): dedup, then one JSON line per `write(2)` on a file opened with
//! `O_APPEND` (0600), from a dedicated writer thread behind a bounded queue, so a slow or full
//! disk never stalls traffic. A line is written whole or not at all, the file follows its path
//! (rotation, deletion, SIGHUP: [`crate::report::append`]), and nothing is lost silently: a full
//! queue or a failed write is counted (`findings_lost`) and logged (once per failing streak, so
//! a full disk does not flood the log it shares).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::SystemTime;

use guardian_parser::finding::{unix_millis, Dedup, Finding, Protocol, DEFAULT_CAPACITY};
use guardian_parser::inspect::Detection;
use guardian_parser::scan::Platform;

use crate::error::{Error, Result};
use crate::proxy::counters::{add, dec, Counters};
use crate::report::append::{Appended, PathFile};
use crate::report::log::Log;

pub use crate::report::append::open_append;

/// Findings waiting for the writer thread at most.
pub const QUEUE: usize = 4096;

/// What the writer thread is asked to do.
#[derive(Debug)]
enum Job {
    /// Append this line.
    Line(Vec<u8>),
    /// Reopen the path now (SIGHUP).
    Reopen,
}

/// Where findings go.
#[derive(Debug)]
pub struct FindingSink {
    platform: Platform,
    dedup: Mutex<Dedup>,
    queue: Mutex<Option<SyncSender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    reopen: Arc<AtomicBool>,
    counters: Arc<Counters>,
    log: Arc<Log>,
    path: PathBuf,
}

/// The writer thread: appends lines, counts each as written or lost, reopens when asked.
fn write_loop(
    mut file: PathFile,
    rx: Receiver<Job>,
    reopen: &AtomicBool,
    counters: &Counters,
    log: &Log,
) {
    let mut failing = 0u64;
    for job in rx {
        let line = match job {
            Job::Line(line) => line,
            Job::Reopen => {
                if reopen.swap(false, Ordering::AcqRel) {
                    match file.reopen() {
                        Ok(()) => log.line(&format!(
                            "findings: reopened {} (SIGHUP)",
                            file.path().display()
                        )),
                        Err(e) => log.line(&format!(
                            "findings: cannot reopen {}: {e}",
                            file.path().display()
                        )),
                    }
                }
                continue;
            }
        };
        let out = file.append(&line, reopen.swap(false, Ordering::AcqRel));
        if let Some(why) = out.reopened {
            log.line(&format!("findings: {}: {why}", file.path().display()));
        }
        match out.appended {
            Appended::Whole => {
                add(&counters.findings, 1);
                dec(&counters.findings_pending);
                if failing > 0 {
                    log.line(&format!(
                        "findings: writing to {} again after {failing} lost finding(s)",
                        file.path().display()
                    ));
                    failing = 0;
                }
            }
            Appended::Lost(why) | Appended::Fragment(_, why) => {
                add(&counters.findings_lost, 1);
                dec(&counters.findings_pending);
                failing += 1;
                if failing == 1 {
                    log.line(&format!(
                        "findings: a finding was lost, {} cannot be written: {why}; counting losses in findings_lost until it can",
                        file.path().display()
                    ));
                }
            }
        }
    }
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
        let file = PathFile::open(path)
            .map_err(|e| Error::runtime(format!("cannot open {}: {e}", path.display())))?;
        let (tx, rx) = sync_channel::<Job>(QUEUE);
        let reopen = Arc::new(AtomicBool::new(false));
        let (thread_counters, thread_log, thread_reopen) =
            (counters.clone(), log.clone(), reopen.clone());
        let writer = std::thread::Builder::new()
            .name("findings-writer".into())
            .spawn(move || write_loop(file, rx, &thread_reopen, &thread_counters, &thread_log))
            .map_err(|e| Error::runtime(format!("cannot start the findings writer: {e}")))?;
        Ok(FindingSink {
            platform,
            dedup: Mutex::new(Dedup::new(dedup_window_ms, DEFAULT_CAPACITY)),
            queue: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            reopen,
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
        // Counted pending before the writer can see it, so the gauge never goes below zero.
        add(&self.counters.findings_pending, 1);
        match queue.map(|q| q.try_send(Job::Line(line))) {
            Some(Ok(())) => {}
            Some(Err(TrySendError::Full(_))) | Some(Err(TrySendError::Disconnected(_))) | None => {
                dec(&self.counters.findings_pending);
                add(&self.counters.findings_lost, 1);
                self.log.line(&format!(
                    "findings: queue full or closed, a {} finding was not written to {}",
                    finding.pattern,
                    self.path.display()
                ));
            }
        }
    }

    /// Reopens the findings file before the next line (SIGHUP): the writer closes it and opens
    /// the path again, creating it.
    pub fn reopen(&self) {
        self.reopen.store(true, Ordering::Release);
        if let Some(q) = self.queue.lock().ok().and_then(|q| q.clone()) {
            // A full queue has a line coming, which sees the flag.
            let _ = q.try_send(Job::Reopen);
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
