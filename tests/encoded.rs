//! Encoded payloads end to end through the real binary (`guardian serve`, curl as the client,
//! a loopback origin): a base64url-wrapped AWS key in a query string and a twice
//! percent-encoded one in a form body are each one finding, redacted; no raw secret (nor its
//! encoded form) is written to any file or output stream.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// Two AWS access key ids (not AWS's documented examples).
const KEY_IN_QUERY: &str = "AKIA2E3F4G5H6I7J2K3L";
const KEY_IN_FORM: &str = "ASIAQWERTY234567ABCD";

fn base64url(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// Every byte as `%XX`, then the `%` signs encoded once more.
fn percent_twice(data: &[u8]) -> String {
    data.iter().map(|b| format!("%25{b:02X}")).collect()
}

#[test]
fn encoded_keys_in_a_query_and_a_form_body_are_found_and_redacted() {
    let origin = origin();
    let g = Guardian::serve(json!({}));
    let wrapped = base64url(format!("{{\"aws_key\":\"{KEY_IN_QUERY}\"}}").as_bytes());
    let twice = percent_twice(KEY_IN_FORM.as_bytes());
    let query_url = format!("http://{origin}/collect?d={wrapped}&v=2");
    let (status, query_out) = curl(&["-x", &g.proxy_url(), &query_url]);
    assert!(status.success());
    let form = format!("a=1&k={twice}");
    let form_url = format!("http://{origin}/upload");
    let (status, form_out) = curl(&[
        "-x",
        &g.proxy_url(),
        "-H",
        "Content-Type: application/x-www-form-urlencoded",
        "--data-binary",
        &form,
        &form_url,
    ]);
    assert!(status.success());
    // The origin answered both, unchanged.
    assert_eq!(query_out, b"ok");
    assert_eq!(form_out, b"ok");

    let path = g.home_dir().join("findings.jsonl");
    let deadline = Instant::now() + Duration::from_secs(10);
    while read_findings(&path).len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let home = g.stop();
    let findings = read_findings(&home.path().join("home").join("findings.jsonl"));
    let patterns: Vec<_> = findings.iter().map(|f| f.pattern.as_str()).collect();
    assert_eq!(
        patterns,
        vec!["aws_access_key_id", "aws_access_key_id"],
        "{findings:?}"
    );
    for f in &findings {
        assert_eq!(serde_json::to_value(f.direction).unwrap(), "outbound");
        assert!(f.snippet.contains("[REDACTED:aws_access_key_id]"), "{f:?}");
    }

    // No raw secret, nor its base64 form, in any file of the home, the serve process's
    // stderr, or what curl printed.
    let secrets = [KEY_IN_QUERY, KEY_IN_FORM, wrapped.as_str()];
    assert_no_secret_anywhere(home.path(), &secrets);
    for out in [&query_out, &form_out] {
        for s in [KEY_IN_QUERY, KEY_IN_FORM] {
            assert!(!out.windows(s.len()).any(|w| w == s.as_bytes()));
        }
    }
}
