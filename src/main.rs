//! `guardian`: parse arguments, run, map the outcome to an exit code.
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let command = guardian::cli::from_env();
    match guardian::cli::run(command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            guardian::diag::stderr_line(format_args!("guardian: {e}"));
            ExitCode::from(e.exit_code)
        }
    }
}
