//! Error sentences. serde reports what went wrong and `serde_path_to_error` where (the path of
//! keys and list items down to the value); this turns both into the one sentence SPEC §3 asks
//! for, naming the key as the SPEC names it (`timeouts.connect`, `patterns.extra`, `resolve`)
//! and what it must be.

use serde_path_to_error::Segment;

use super::values::Invalid;
use super::{patterns, raw, timeouts};
use crate::error::Error;

/// One step of the path to a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step<'a> {
    Key(&'a str),
    Item,
}

use Step::{Item, Key};

/// The error of a value that failed at its place in the file.
pub(super) fn at_path(err: &serde_path_to_error::Error<serde_json::Error>) -> Error {
    let inner = err.inner();
    let full = inner.to_string();
    let position = format!(" at line {} column {}", inner.line(), inner.column());
    let detail = full.strip_suffix(&position).unwrap_or(&full);
    let path: Vec<Step> = err
        .path()
        .iter()
        .map(|s| match s {
            Segment::Map { key } => Key(key),
            _ => Item,
        })
        .collect();
    Error::usage(sentence(&path, detail))
}

/// The error of a value under `key` (an environment override, a check across keys).
pub(super) fn keyed(key: &str, invalid: Invalid) -> Error {
    Error::usage(format!("config key \"{key}\": {invalid}"))
}

fn sentence(path: &[Step], detail: &str) -> String {
    if detail.starts_with("unknown field `") {
        if let Some((Key(name), container)) = path.split_last() {
            return unknown(container, name);
        }
    }
    if detail.starts_with("invalid type: ") {
        if path.is_empty() {
            return "config: the top level must be a JSON object".into();
        }
        if let Some(what) = must_be(path) {
            return with_key(path, what);
        }
    }
    match detail
        .strip_prefix("duplicate field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        Some(name) => with_key(path, &format!("duplicate key \"{name}\"")),
        None => with_key(path, detail),
    }
}

/// The key as the SPEC names it: the top-level key, or `timeouts.x` / `patterns.x`.
fn spec_key(path: &[Step]) -> String {
    match path {
        [Key(top @ ("timeouts" | "patterns")), Key(sub), ..] => format!("{top}.{sub}"),
        [Key(top), ..] => (*top).to_string(),
        _ => String::new(),
    }
}

fn with_key(path: &[Step], detail: &str) -> String {
    match spec_key(path) {
        key if key.is_empty() => format!("config: {detail}"),
        key => format!("config key \"{key}\": {detail}"),
    }
}

/// What a container must be, when the file holds another type there (the values inside them
/// say so themselves, see `values`).
fn must_be(path: &[Step]) -> Option<&'static str> {
    Some(match path {
        [Key("allow_clients")] => "must be a list of CIDRs like \"127.0.0.1/32\"",
        [Key("resolve")] => "must be an object {\"host:port\": \"ip:port\"}",
        [Key("trusted_credential_hosts")] => {
            "must be an object {\"pattern_id\": [\"host\", \"*.domain\"]}"
        }
        [Key("timeouts")] => "must be an object {\"connect\", \"header\", \"idle\", \"response\"}",
        [Key("patterns")] => "must be an object {\"disable\": [...], \"extra\": [...]}",
        [Key("patterns"), Key("disable")] => "must be a list of pattern ids",
        [Key("patterns"), Key("extra")] => "must be a list of pattern objects",
        [Key("patterns"), Key("extra"), Item] => "every entry must be an object",
        _ => return None,
    })
}

fn unknown(container: &[Step], name: &str) -> String {
    match container {
        [] => format!(
            "config: unknown key \"{name}\"; allowed keys: {}",
            raw::KEYS.join(", ")
        ),
        [Key("timeouts")] => with_key(
            container,
            &format!(
                "unknown key \"{name}\"; allowed: {}",
                timeouts::FIELDS.join(", ")
            ),
        ),
        [Key("patterns")] => with_key(
            container,
            &format!(
                "unknown key \"{name}\"; allowed: {}",
                patterns::FIELDS.join(", ")
            ),
        ),
        [Key("patterns"), Key("extra"), Item] => with_key(
            container,
            &format!(
                "unknown field \"{name}\"; fields: {}",
                patterns::EXTRA_FIELDS.join(", ")
            ),
        ),
        _ => with_key(container, &format!("unknown key \"{name}\"")),
    }
}
