//! The commands `setup`, `start` and `env` print: shell-quoted, per process, and carrying the
//! `--home`/`--config` options the printing command was given, so that a line copied as printed
//! talks to the same home.

use std::path::{Path, PathBuf};

/// The options a printing command was given, repeated on every `guardian …` line it prints.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--home` as given.
    pub home: Option<PathBuf>,
    /// `--config` as given.
    pub config: Option<PathBuf>,
}

impl Options {
    /// `guardian <sub> [--home H] [--config C]`.
    pub fn guardian(&self, sub: &str) -> String {
        let mut line = format!("guardian {sub}");
        for (flag, value) in [("--home", &self.home), ("--config", &self.config)] {
            if let Some(v) = value {
                line.push_str(&format!(" {flag} {}", quote_path(v)));
            }
        }
        line
    }
}

/// `s` as one POSIX shell word (unchanged when it needs no quoting).
pub fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,+%".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A path as one shell word.
pub fn quote_path(p: &Path) -> String {
    quote(&p.to_string_lossy())
}

/// `env K=V K=V …`: one explicit per-process prefix (never two `env`s in a row).
pub fn env_prefix(vars: &[(String, String)]) -> String {
    let words: Vec<String> = vars
        .iter()
        .map(|(k, v)| format!("{k}={}", quote(v)))
        .collect();
    format!("env {}", words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_repeated_and_quoted() {
        let o = Options {
            home: Some("/tmp/my home".into()),
            config: Some("c.json".into()),
        };
        assert_eq!(
            o.guardian("start"),
            "guardian start --home '/tmp/my home' --config c.json"
        );
        assert_eq!(Options::default().guardian("posture"), "guardian posture");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(
            env_prefix(&[("A".into(), "x y".into()), ("B".into(), "1".into())]),
            "env A='x y' B=1"
        );
    }
}
