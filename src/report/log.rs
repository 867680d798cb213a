//! Diagnostics (`guardian.log`, 0600): one timestamped line per event, never request or response
//! content, so never a secret.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;
use std::time::SystemTime;

/// A line-oriented diagnostics log.
#[derive(Debug)]
pub struct Log {
    file: Mutex<Option<File>>,
    echo: bool,
}

impl Log {
    /// Logs to `path` (created 0600) and, with `echo`, to standard error.
    pub fn open(path: Option<&Path>, echo: bool) -> Self {
        let file = path.and_then(|p| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(p)
                .ok()
        });
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

    /// Writes one line.
    pub fn line(&self, message: &str) {
        let line = format!(
            "{} {message}\n",
            humantime::format_rfc3339_millis(SystemTime::now())
        );
        if let Ok(mut file) = self.file.lock() {
            if let Some(f) = file.as_mut() {
                let _ = f.write_all(line.as_bytes());
            }
        }
        if self.echo {
            eprintln!("guardian: {message}");
        }
    }
}
