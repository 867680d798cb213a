//! The findings table printed on a terminal: local time, severity, pattern, direction, dest,
//! snippet (one line, control characters shown escaped).

use std::collections::HashMap;
use std::fmt::Write;

use guardian_parser::finding::Finding;
use guardian_parser::scan::Severity;

/// Header line of the table.
pub const HEADER: &str = "TIME                 SEVERITY  PATTERN                        DIR       DEST                           SNIPPET";

/// One row of the table.
pub fn row(f: &Finding) -> String {
    let time = local_time(&f.timestamp);
    let mut snippet = String::with_capacity(f.snippet.len());
    for c in f.snippet.chars() {
        match c {
            '\n' => snippet.push_str("\\n"),
            '\r' => snippet.push_str("\\r"),
            '\t' => snippet.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(snippet, "\\u{{{:x}}}", c as u32);
            }
            c => snippet.push(c),
        }
    }
    format!(
        "{:<20} {:<9} {:<30} {:<9} {:<30} {}",
        time,
        f.severity.as_str(),
        f.pattern,
        f.direction.as_str(),
        truncate(&f.dest, 30),
        snippet
    )
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// The timestamp shown in local time when the offset is known (`TZ`-independent: UTC
/// offset of this machine from `date`-free arithmetic is not available in std, so UTC is shown
/// with a `Z`, which is unambiguous).
fn local_time(ts: &str) -> String {
    ts.get(..19)
        .map_or_else(|| ts.to_string(), |t| format!("{}Z", t.replace('T', " ")))
}

/// Header line of `threats --summary`.
pub const SUMMARY_HEADER: &str =
    "COUNT    SEVERITY  PATTERN                        DEST                           NEWEST";

/// Counts per (pattern, severity, dest) and the newest timestamp of each.
#[derive(Default)]
pub struct Summary {
    rows: HashMap<(String, Severity, String), (u64, String)>,
}

/// One row of a summary.
pub struct SummaryRow {
    /// Pattern id.
    pub pattern: String,
    /// Severity.
    pub severity: Severity,
    /// `host:port`.
    pub dest: String,
    /// Findings counted.
    pub count: u64,
    /// The newest finding's timestamp (RFC 3339).
    pub newest: String,
}

impl Summary {
    /// Counts one finding.
    pub fn add(&mut self, f: &Finding) {
        let row = self
            .rows
            .entry((f.pattern.clone(), f.severity, f.dest.clone()))
            .or_insert_with(|| (0, String::new()));
        row.0 += 1;
        // RFC 3339 UTC with a fixed width compares as text.
        if f.timestamp > row.1 {
            row.1 = f.timestamp.clone();
        }
    }

    /// The rows, most severe first, then most frequent, then by pattern and dest.
    pub fn rows(self) -> Vec<SummaryRow> {
        let mut rows: Vec<SummaryRow> = self
            .rows
            .into_iter()
            .map(|((pattern, severity, dest), (count, newest))| SummaryRow {
                pattern,
                severity,
                dest,
                count,
                newest,
            })
            .collect();
        rows.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(b.count.cmp(&a.count))
                .then_with(|| a.pattern.cmp(&b.pattern))
                .then_with(|| a.dest.cmp(&b.dest))
        });
        rows
    }
}

impl SummaryRow {
    /// The row as a table line.
    pub fn line(&self) -> String {
        format!(
            "{:<8} {:<9} {:<30} {:<30} {}",
            self.count,
            self.severity.as_str(),
            self.pattern,
            truncate(&self.dest, 30),
            local_time(&self.newest)
        )
    }

    /// The row as one JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"pattern": self.pattern, "severity": self.severity.as_str(),
            "dest": self.dest, "count": self.count, "newest": self.newest})
    }
}
