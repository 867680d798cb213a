//! `guardian threats`: findings from `findings.jsonl`, newest last, filtered; the log is
//! streamed (never loaded whole) and a partial last line is skipped.

use std::path::PathBuf;
use std::time::SystemTime;

use argh::FromArgs;
use guardian_parser::scan::Severity;

use super::Context;
use crate::error::{Error, Result};
use crate::report::{read, table};

/// Show logged findings: --since 1h or an RFC 3339 time, --pattern ID, --severity S (and above),
/// --summary for counts.
#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand, name = "threats")]
pub struct Threats {
    /// only findings newer than this: a duration (1h, 30m) or an RFC 3339 time
    #[argh(option)]
    since: Option<String>,
    /// only this pattern id
    #[argh(option)]
    pattern: Option<String>,
    /// only this severity and above (low, medium, high, critical)
    #[argh(option)]
    severity: Option<String>,
    /// counts per pattern, severity and destination, with the newest time of each
    #[argh(switch)]
    summary: bool,
    /// print JSON lines (SPEC §4.1, or one object per summary row) instead of a table
    #[argh(switch)]
    json: bool,
    /// guardian home directory
    #[argh(option)]
    home: Option<PathBuf>,
    /// configuration file
    #[argh(option)]
    config: Option<PathBuf>,
}

impl Threats {
    pub fn run(self) -> Result<u8> {
        let ctx = Context::load(self.home.as_deref(), self.config.as_deref())?;
        let filter = read::Filter {
            since: self
                .since
                .as_deref()
                .map(|s| read::parse_since_as("--since", s, SystemTime::now()))
                .transpose()?,
            pattern: self.pattern.clone(),
            min_severity: match self.severity.as_deref() {
                None => None,
                Some(s) => Some(Severity::parse(s).ok_or_else(|| {
                    Error::usage(format!(
                        "--severity {s:?} must be low, medium, high or critical"
                    ))
                })?),
            },
        };
        let path = ctx.open_existing_home()?.findings();
        if self.summary {
            let mut summary = table::Summary::default();
            read::for_each_since(&path, filter.since, |f| {
                if filter.matches(&f) {
                    summary.add(&f);
                }
            });
            let rows = summary.rows();
            if self.json {
                for r in &rows {
                    say!("{}", r.to_json());
                }
            } else {
                say!("{}", table::SUMMARY_HEADER);
                for r in &rows {
                    say!("{}", r.line());
                }
                if rows.is_empty() {
                    say!(
                        "(no findings{})",
                        if filter.is_active() { " match" } else { "" }
                    );
                }
            }
            return Ok(0);
        }
        if !self.json {
            say!("{}", table::HEADER);
        }
        let mut shown = 0usize;
        read::for_each_since(&path, filter.since, |f| {
            if !filter.matches(&f) {
                return;
            }
            shown += 1;
            if self.json {
                say!("{}", serde_json::to_string(&f).unwrap_or_default());
            } else {
                say!("{}", table::row(&f));
            }
        });
        if !self.json && shown == 0 {
            say!(
                "(no findings{})",
                if filter.is_active() { " match" } else { "" }
            );
        }
        Ok(0)
    }
}
