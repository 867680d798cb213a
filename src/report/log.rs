//! Diagnostics (`guardian.log`, 0600): one timestamped line per event, never request or response
//! content, so never a secret. Best effort: a line that cannot be written (full disk, closed or
//! full stderr) is dropped, never a panic. The file follows its path like the findings log, so
//! logrotate works for it too.

use std::path::Path;
use std::sync::Mutex;
use std::time::SystemTime;

use crate::report::append::PathFile;

/// A line-oriented diagnostics log.
#[derive(Debug)]
pub struct Log {
    file: Mutex<Option<PathFile>>,
    echo: bool,
}

impl Log {
    /// Logs to `path` (created 0600) and, with `echo`, to standard error.
    pub fn open(path: Option<&Path>, echo: bool) -> Self {
        let file = path.map(|p| PathFile::open(p).unwrap_or_else(|_| PathFile::lazy(p)));
        Log {
            file: Mutex::new(file),
            echo,
        }
    }

    /// A log that only echoes (or drops) lines.
    pub fn stderr(echo: bool) -> Self {
        Log {
            file: Mutex::new(None),
            echo,
        }
    }

    /// Closes the file and opens its path again (SIGHUP).
    pub fn reopen(&self) {
        if let Ok(mut file) = self.file.lock() {
            if let Some(f) = file.as_mut() {
                let _ = f.reopen();
            }
        }
    }

    /// Writes one line.
    pub fn line(&self, message: &str) {
        let line = format!(
            "{} {message}\n",
            humantime::format_rfc3339_millis(SystemTime::now())
        );
        if let Ok(mut file) = self.file.lock() {
            if let Some(f) = file.as_mut() {
                let _ = f.append(line.as_bytes(), false);
            }
        }
        if self.echo {
            crate::diag!("guardian: {message}");
        }
    }
}
