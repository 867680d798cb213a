//! The findings table printed on a terminal: local time, severity, pattern, direction, dest,
//! snippet (one line, control characters shown escaped).

use std::fmt::Write;

use guardian_parser::finding::Finding;

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
