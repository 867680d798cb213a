//! `guardian threats`: findings from `findings.jsonl`, newest last, filtered; the log is
//! streamed (never loaded whole) and a partial last line is skipped.

use std::path::PathBuf;
use std::time::SystemTime;

use argh::FromArgs;
use guardian_parser::scan::Severity;

use super::Context;
use crate::error::{Error, Result};
use crate::report::{read, table};

/// Show logged findings: --since 1h or an RFC 3339 time, --pattern ID, --severity S (and above).
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
    /// print JSON lines (SPEC §4.1) instead of a table
    #[argh(switch)]
    json: bool,
    /// guardian home directory
    #[argh(option)]
    home: Option<PathBuf>,
    /// configuration file
    #[argh(option)]
    config: Option<PathBuf>,
}

/// Parses `--since`: a humantime duration before `now`, or an RFC 3339 time.
pub fn parse_since(value: &str, now: SystemTime) -> Result<SystemTime> {
    if let Ok(d) = humantime::parse_duration(value) {
        return Ok(now.checked_sub(d).unwrap_or(SystemTime::UNIX_EPOCH));
    }
    humantime::parse_rfc3339_weak(value).map_err(|_| {
        Error::usage(format!(
            "--since {value:?} must be a duration like 1h or a time like 2026-04-26T00:00:00Z"
        ))
    })
}

impl Threats {
    pub fn run(self) -> Result<u8> {
        let ctx = Context::load(self.home.as_deref(), self.config.as_deref())?;
        let since = self
            .since
            .as_deref()
            .map(|s| parse_since(s, SystemTime::now()))
            .transpose()?;
        let min_severity = match self.severity.as_deref() {
            None => None,
            Some(s) => Some(Severity::parse(s).ok_or_else(|| {
                Error::usage(format!(
                    "--severity {s:?} must be low, medium, high or critical"
                ))
            })?),
        };
        let path = crate::home::locate(
            ctx.home_dir.clone(),
            ctx.config.platform,
            &crate::config::process_env,
        )
        .findings();
        if !self.json {
            say!("{}", table::HEADER);
        }
        let mut shown = 0usize;
        read::for_each(&path, |f| {
            let at = humantime::parse_rfc3339(&f.timestamp).unwrap_or(SystemTime::UNIX_EPOCH);
            if since.is_some_and(|s| at < s)
                || self.pattern.as_deref().is_some_and(|p| p != f.pattern)
                || min_severity.is_some_and(|m| f.severity < m)
            {
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
                if since.is_some() || self.pattern.is_some() || min_severity.is_some() {
                    " match"
                } else {
                    ""
                }
            );
        }
        Ok(0)
    }
}
