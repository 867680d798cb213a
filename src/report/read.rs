//! Reading `findings.jsonl` back: line by line (the log is streamed, never loaded whole), a
//! partial last line (crash mid-write) and unparsable lines skipped. A reader that wants only
//! recent findings seeks to them ([`for_each_since`]) instead of reading from the start.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, SystemTime};

use guardian_parser::finding::Finding;

/// Every complete, valid finding in the log, oldest first.
pub fn findings(path: &Path) -> Vec<Finding> {
    let mut out = Vec::new();
    for_each(path, |f| out.push(f));
    out
}

/// Calls `f` for every complete, valid finding, oldest first, reading the file as a stream.
pub fn for_each(path: &Path, f: impl FnMut(Finding)) {
    for_each_since(path, None, f)
}

/// How far out of time order the log's lines may be. Writers (a `run` and a daemon) take a
/// finding's timestamp before their append, so neighbouring lines can be out of order by the
/// time between the two; a minute covers that with a wide margin.
pub const ORDER_SLACK: Duration = Duration::from_secs(60);

/// Below this many bytes left, the search stops and the rest is read line by line.
const SEARCH_SPAN: u64 = 64 * 1024;

/// Calls `f` for every complete, valid finding, oldest first, starting near the first line
/// timestamped at or after `since - ORDER_SLACK` (found by a binary search on line starts: the
/// log is appended in time order). `f` still sees a few older findings; callers filter. A
/// partial last line and unparsable lines are skipped, in the search too.
pub fn for_each_since(path: &Path, since: Option<SystemTime>, mut f: impl FnMut(Finding)) {
    let Ok(mut file) = std::fs::File::open(path) else {
        return;
    };
    let start = match since {
        Some(t) => seek_point(&mut file, t.checked_sub(ORDER_SLACK).unwrap_or(t)).unwrap_or(0),
        None => 0,
    };
    if file.seek(SeekFrom::Start(start)).is_err() {
        return;
    }
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

/// Parses a `since` value: a humantime duration before `now`, or an RFC 3339 time. Errors name
/// the argument `since`, as IPC tasks and MCP calls write it.
pub fn parse_since(
    value: &str,
    now: std::time::SystemTime,
) -> crate::error::Result<std::time::SystemTime> {
    parse_since_as("since", value, now)
}

/// [`parse_since`], with errors naming the argument as `name` (the CLI's `--since`).
pub fn parse_since_as(
    name: &str,
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
            "{name} {value:?} must be a duration like 1h or a time like 2026-04-26T00:00:00Z"
        ))
    })
}

/// A line start before which every line is timestamped before `key` (if the log is in order).
///
/// Invariant: `lo` is a line start and every line starting before it is older than `key`;
/// the first line at or after `key` starts before `hi`, or no valid line starts in
/// `[mid, hi)` and the forward read from `lo` finds it anyway.
fn seek_point(file: &mut std::fs::File, key: SystemTime) -> std::io::Result<u64> {
    let len = file.metadata()?.len();
    let (mut lo, mut hi) = (0u64, len);
    let mut buf = Vec::new();
    while hi > lo + SEARCH_SPAN {
        let mid = lo + (hi - lo) / 2;
        match probe(file, mid, hi, &mut buf)? {
            Some((end, at)) if at < key => lo = end,
            _ => hi = mid,
        }
    }
    Ok(lo)
}

/// The first complete, valid finding whose line starts after `from` (skipping the line `from`
/// falls in) and before `hi`: the offset just past its line and its time.
fn probe(
    file: &mut std::fs::File,
    from: u64,
    hi: u64,
    line: &mut Vec<u8>,
) -> std::io::Result<Option<(u64, SystemTime)>> {
    file.seek(SeekFrom::Start(from))?;
    let mut reader = BufReader::with_capacity(16 * 1024, file.take(hi.saturating_sub(from)));
    let mut at = from;
    line.clear();
    // The line `from` falls in (or the previous line's newline, when `from` starts a line: that
    // line is then skipped too, which only costs the search a little precision).
    at += reader.read_until(b'\n', line)? as u64;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', line)? as u64;
        if n == 0 || line.last() != Some(&b'\n') {
            return Ok(None);
        }
        at += n;
        if let Some(t) = serde_json::from_slice::<Finding>(line)
            .ok()
            .and_then(|f| humantime::parse_rfc3339(&f.timestamp).ok())
        {
            return Ok(Some((at, t)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn line(secs: u64) -> String {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
        format!(
            "{{\"schema_version\":\"clawsec-traffic-finding/v1\",\"platform\":\"generic\",\"direction\":\"outbound\",\"protocol\":\"http\",\"threat_type\":\"EXFIL\",\"pattern\":\"ai_api_key\",\"severity\":\"high\",\"source\":\"127.0.0.1\",\"dest\":\"h:80\",\"snippet\":\"{secs}\",\"timestamp\":\"{}\"}}\n",
            humantime::format_rfc3339_millis(t)
        )
    }

    fn since(path: &Path, secs: u64) -> Vec<String> {
        let filter = Filter {
            since: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs)),
            ..Filter::default()
        };
        let mut out = Vec::new();
        for_each_since(path, filter.since, |f| {
            if filter.matches(&f) {
                out.push(f.snippet)
            }
        });
        out
    }

    #[test]
    fn seeking_finds_exactly_what_a_full_read_finds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("findings.jsonl");
        let mut text = String::new();
        let base = 1_700_000_000u64;
        for i in 0..20_000u64 {
            text.push_str(&line(base + i));
            if i % 997 == 0 {
                text.push_str("garbage that is not JSON\n");
            }
            if i == 12_000 {
                // A few lines out of order by less than ORDER_SLACK.
                text.push_str(&line(base + i - 30));
            }
        }
        text.push_str("{\"partial"); // a crash mid-write
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .expect("write");
        for cut in [0, 1, 5_000, 11_985, 11_990, 12_000, 19_999, 20_000, 30_000] {
            let mut full = Vec::new();
            let key = SystemTime::UNIX_EPOCH + Duration::from_secs(base + cut);
            for_each(&path, |f| {
                if humantime::parse_rfc3339(&f.timestamp).is_ok_and(|t| t >= key) {
                    full.push(f.snippet)
                }
            });
            assert_eq!(since(&path, base + cut), full, "since +{cut}");
        }
        assert_eq!(
            since(&path, base + 19_999),
            vec![(base + 19_999).to_string()]
        );
        assert_eq!(
            since(&path, base + 11_965).len(),
            20_000 - 11_965 + 1,
            "the late line is kept"
        );
    }

    #[test]
    fn small_and_missing_logs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("findings.jsonl");
        assert!(since(&path, 0).is_empty());
        std::fs::write(&path, line(5) + &line(9)).expect("write");
        assert_eq!(since(&path, 6), vec!["9".to_string()]);
    }
}
