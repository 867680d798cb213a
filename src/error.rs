//! The error type of the binary: one clear sentence, and whether it was the user's input
//! (exit 2) or the world (exit 1).

use std::fmt;

/// Exit code for bad usage or configuration.
pub const EXIT_USAGE: u8 = 2;
/// Exit code for a runtime failure.
pub const EXIT_RUNTIME: u8 = 1;

/// An error to print once and exit with.
#[derive(Debug)]
pub struct Error {
    /// What went wrong and how to fix it, in one sentence.
    pub message: String,
    /// 2 for usage/config errors, 1 for runtime failures.
    pub exit_code: u8,
}

impl Error {
    /// A usage or configuration error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            exit_code: EXIT_USAGE,
        }
    }

    /// A runtime failure (exit 1).
    pub fn runtime(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            exit_code: EXIT_RUNTIME,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Result with the binary's error.
pub type Result<T> = std::result::Result<T, Error>;
