//! Reading `findings.jsonl` back: line by line (the log is streamed, never loaded whole), a
//! partial last line (crash mid-write) and unparsable lines skipped.

use std::io::{BufRead, BufReader};
use std::path::Path;

use guardian_parser::finding::Finding;

/// Every complete, valid finding in the log, oldest first.
pub fn findings(path: &Path) -> Vec<Finding> {
    let mut out = Vec::new();
    for_each(path, |f| out.push(f));
    out
}

/// Calls `f` for every complete, valid finding, oldest first, reading the file as a stream.
pub fn for_each(path: &Path, mut f: impl FnMut(Finding)) {
    let Ok(file) = std::fs::File::open(path) else {
        return;
    };
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line.last() != Some(&b'\n') => return, // partial last line
            Ok(_) => {
                if let Ok(finding) = serde_json::from_slice::<Finding>(&line) {
                    f(finding);
                }
            }
        }
    }
}

/// Which findings a reader wants (`threats`, the IPC findings task).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only findings at or after this time.
    pub since: Option<std::time::SystemTime>,
    /// Only this pattern id.
    pub pattern: Option<String>,
    /// Only this severity and above.
    pub min_severity: Option<guardian_parser::scan::Severity>,
}

impl Filter {
    /// Whether a finding passes.
    pub fn matches(&self, f: &Finding) -> bool {
        let at =
            humantime::parse_rfc3339(&f.timestamp).unwrap_or(std::time::SystemTime::UNIX_EPOCH);
        !(self.since.is_some_and(|s| at < s)
            || self.pattern.as_deref().is_some_and(|p| p != f.pattern)
            || self.min_severity.is_some_and(|m| f.severity < m))
    }

    /// Whether anything is filtered at all.
    pub fn is_active(&self) -> bool {
        self.since.is_some() || self.pattern.is_some() || self.min_severity.is_some()
    }
}

/// Parses a `since` value: a humantime duration before `now`, or an RFC 3339 time.
pub fn parse_since(
    value: &str,
    now: std::time::SystemTime,
) -> crate::error::Result<std::time::SystemTime> {
    if let Ok(d) = humantime::parse_duration(value) {
        return Ok(now
            .checked_sub(d)
            .unwrap_or(std::time::SystemTime::UNIX_EPOCH));
    }
    humantime::parse_rfc3339_weak(value).map_err(|_| {
        crate::error::Error::usage(format!(
            "--since {value:?} must be a duration like 1h or a time like 2026-04-26T00:00:00Z"
        ))
    })
}
