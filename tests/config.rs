//! Configuration through the real binary (`guardian check-config --json`): the digest of
//! accepted configurations and the exact sentence of every rejected one are pinned, so a change
//! in how the file is read cannot move `config_sha256` or an error message unnoticed. The
//! pinned values were taken from the hand-written reader this replaced.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::BIN;

/// Runs `guardian check-config --json` on `config` (bytes of the file) with only `envs` of
/// the clawsec variables set.
fn check(config: &[u8], envs: &[(&str, &str)]) -> (Output, std::path::PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.json");
    std::fs::write(&path, config).unwrap();
    let out = check_file(&path, dir.path(), envs);
    (out, path, dir)
}

fn check_file(path: &Path, home: &Path, envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(["check-config", "--json", "--home"])
        .arg(home)
        .arg("--config")
        .arg(path)
        .env_remove("GUARDIAN_HOME");
    for (k, _) in std::env::vars() {
        if k.contains("_TRAFFIC_GUARDIAN_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(envs.iter().copied()).output().unwrap()
}

/// The one line on stderr of a rejected configuration, with the file's path as `FILE`.
fn rejected(config: &[u8], envs: &[(&str, &str)]) -> String {
    let (out, path, _dir) = check(config, envs);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty(), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one sentence: {stderr}");
    stderr
        .trim_end()
        .replace(&path.display().to_string(), "FILE")
}

type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

/// (file, environment, config_sha256)
const ACCEPTED: &[Case] = &[
    ("{}", &[], "8faf7d9de30493c2aaa73e56141991afcffc590ea2ca9b04661fcac474168be9"),
    ("{\"platform\": \"nanoclaw\", \"listen\": \"0.0.0.0:9999\", \"mode\": \"detect\", \"https_inspection\": true, \"max_scan_bytes\": 4096, \"dedup_window\": \"90s\", \"allow_clients\": [\"10.0.0.0/8\", \"192.168.1.7\", \"fd00::/8\"], \"upstream_proxy\": \"http://Parent.Internal:3128/\", \"upstream_ca_file\": \"/etc/ssl/extra.pem\", \"resolve\": {\"API.example.com:443\": \"127.0.0.1:8443\", \"[::1]:80\": \"[::1]:8080\"}, \"trusted_credential_hosts\": {\"ai_api_key\": [\"Proxy.example.com\", \"*.corp.example\"], \"x_y\": [\"xy.example\"]}, \"patterns\": {\"disable\": [\"pipe_to_shell\"], \"extra\": [{\"id\": \"x_y\", \"threat_type\": \"EXFIL\", \"direction\": \"outbound\", \"severity\": \"high\", \"regex\": \"XY-[0-9]{8}\", \"literals\": [\"XY-\"]}]}, \"timeouts\": {\"connect\": \"1500ms\", \"header\": \"2s\", \"idle\": \"1h 30m\", \"response\": \"24h\"}}", &[], "e6e92924f3dac8f10ebd774e4b66a747b1e631b9f192ead3c728c4f54ef7bc0a"),
    ("{\"platform\":\"generic\",\"max_scan_bytes\":2048,\"dedup_window\":\"5m\"}", &[], "dd0e382ce2bc9d3f9d84d2be6db2318a8a6595221445b630c20af98603ce6b28"),
    ("{\"upstream_proxy\":null,\"upstream_ca_file\":null,\"dedup_window\":\"0s\",\"mode\":\"detect\"}", &[], "821a0b964deb3b485ea0e53c6a7f1ee1d460cd8ddfe4fbd45992954626cac770"),
    ("{\"platform\":\"nanoclaw\"}", &[("NANOCLAW_TRAFFIC_GUARDIAN_MAX_SCAN_BYTES", " 8192 "), ("NANOCLAW_TRAFFIC_GUARDIAN_PROXY_URL", "http://gw:10255"), ("NANOCLAW_TRAFFIC_GUARDIAN_MODE", "detect"), ("NANOCLAW_TRAFFIC_GUARDIAN_REDACT_SNIPPETS", "Yes")], "7c730272c68bdb4342f1a0df62d2d72f5fd61080f62cb8bf065f73e4efa68bce"),
    ("{\"timeouts\":{\"connect\":\"10ms\",\"idle\":\"24h\"},\"patterns\":{\"disable\":[],\"extra\":[]},\"resolve\":{},\"trusted_credential_hosts\":{\"ai_api_key\":[]}}", &[], "ab9b87cb4c7715841c1141322dfb853e6a47bae6c47246fbfaebb6fe0819b84a"),
];

/// (file, environment, the whole of stderr)
const REJECTED: &[Case] = &[
    ("{\"listn\":\"127.0.0.1:1\"}", &[], "guardian: config: unknown key \"listn\"; allowed keys: platform, listen, mode, https_inspection, max_scan_bytes, dedup_window, allow_clients, upstream_proxy, upstream_ca_file, resolve, trusted_credential_hosts, patterns, timeouts"),
    ("[]", &[], "guardian: config: the top level must be a JSON object"),
    ("\"x\"", &[], "guardian: config: the top level must be a JSON object"),
    ("not json", &[], "guardian: config file FILE is not valid JSON (expected ident at line 1 column 2); fix the syntax or remove the file"),
    ("{\"platform\":1}", &[], "guardian: config key \"platform\": must be a string"),
    ("{\"platform\":\"bogus\"}", &[], "guardian: config key \"platform\": \"bogus\" must be one of picoclaw, nanoclaw, generic"),
    ("{\"mode\":\"block\"}", &[], "guardian: config key \"mode\": \"block\" is not supported: the only mode is \"detect\" (Guardian never blocks)"),
    ("{\"mode\":5}", &[], "guardian: config key \"mode\": must be a string"),
    ("{\"https_inspection\":\"yes\"}", &[], "guardian: config key \"https_inspection\": must be true or false"),
    ("{\"max_scan_bytes\":10}", &[], "guardian: config key \"max_scan_bytes\": 10 must be a whole number from 1024 to 67108864"),
    ("{\"max_scan_bytes\":67108865}", &[], "guardian: config key \"max_scan_bytes\": 67108865 must be a whole number from 1024 to 67108864"),
    ("{\"max_scan_bytes\":\"4096\"}", &[], "guardian: config key \"max_scan_bytes\": \"4096\" must be a whole number from 1024 to 67108864"),
    ("{\"max_scan_bytes\":\"NaN\"}", &[], "guardian: config key \"max_scan_bytes\": \"NaN\" must be a whole number from 1024 to 67108864"),
    ("{\"max_scan_bytes\":1.5}", &[], "guardian: config key \"max_scan_bytes\": 1.5 must be a whole number from 1024 to 67108864"),
    ("{\"max_scan_bytes\":-1}", &[], "guardian: config key \"max_scan_bytes\": -1 must be a whole number from 1024 to 67108864"),
    ("{\"max_scan_bytes\":null}", &[], "guardian: config key \"max_scan_bytes\": null must be a whole number from 1024 to 67108864"),
    ("{\"max_scan_bytes\":18446744073709551616}", &[], "guardian: config key \"max_scan_bytes\": 1.8446744073709552e+19 must be a whole number from 1024 to 67108864"),
    ("{\"max_scan_bytes\":1e400}", &[], "guardian: config file FILE is not valid JSON (number out of range at line 1 column 23); fix the syntax or remove the file"),
    ("{\"dedup_window\":\"2d\"}", &[], "guardian: config key \"dedup_window\": \"2d\" must be between 0s and 24h"),
    ("{\"dedup_window\":\"soon\"}", &[], "guardian: config key \"dedup_window\": \"soon\" is not a duration like \"10m\" (expected number at 0)"),
    ("{\"dedup_window\":600}", &[], "guardian: config key \"dedup_window\": must be a string"),
    ("{\"allow_clients\":\"10.0.0.0/8\"}", &[], "guardian: config key \"allow_clients\": must be a list of CIDRs like \"127.0.0.1/32\""),
    ("{\"allow_clients\":[1]}", &[], "guardian: config key \"allow_clients\": every entry must be a string"),
    ("{\"allow_clients\":[\"10.0.0.0/33\"]}", &[], "guardian: config key \"allow_clients\": \"10.0.0.0/33\" is not a CIDR like \"10.0.0.0/8\""),
    ("{\"listen\":\"localhost:1\"}", &[], "guardian: config key \"listen\": \"localhost:1\" must be an ip:port like \"127.0.0.1:8877\""),
    ("{\"listen\":1}", &[], "guardian: config key \"listen\": must be a string"),
    ("{\"listen\":\"0.0.0.0:8877\"}", &[], "guardian: config key \"listen\": 0.0.0.0:8877 is not a loopback address: set \"allow_clients\" to the networks that may use the proxy"),
    ("{\"upstream_proxy\":\"socks5://x:1\"}", &[], "guardian: config key \"upstream_proxy\": \"socks5://x:1\" must look like http://host:port"),
    ("{\"upstream_proxy\":\"http://host\"}", &[], "guardian: config key \"upstream_proxy\": \"http://host\" must look like http://host:port"),
    ("{\"upstream_proxy\":5}", &[], "guardian: config key \"upstream_proxy\": must be a string"),
    ("{\"upstream_ca_file\":5}", &[], "guardian: config key \"upstream_ca_file\": must be a string"),
    ("{\"resolve\":[]}", &[], "guardian: config key \"resolve\": must be an object {\"host:port\": \"ip:port\"}"),
    ("{\"resolve\":{\"host\":\"127.0.0.1:1\"}}", &[], "guardian: config key \"resolve\": key \"host\" must be host:port"),
    ("{\"resolve\":{\"h:1\":\"nope\"}}", &[], "guardian: config key \"resolve\": \"h:1\" → \"nope\" must be an ip:port"),
    ("{\"resolve\":{\"h:1\":5}}", &[], "guardian: config key \"resolve\": \"h:1\" → 5 must be an ip:port"),
    ("{\"trusted_credential_hosts\":[]}", &[], "guardian: config key \"trusted_credential_hosts\": must be an object {\"pattern_id\": [\"host\", \"*.domain\"]}"),
    ("{\"trusted_credential_hosts\":{\"ai_api_key\":\"x\"}}", &[], "guardian: config key \"trusted_credential_hosts\": \"ai_api_key\" must map to a list of hosts"),
    ("{\"trusted_credential_hosts\":{\"ai_api_key\":[\"a b\"]}}", &[], "guardian: config key \"trusted_credential_hosts\": \"ai_api_key\": \"a b\" is not a host or *.domain"),
    ("{\"trusted_credential_hosts\":{\"ai_api_key\":[5]}}", &[], "guardian: config key \"trusted_credential_hosts\": \"ai_api_key\": 5 is not a host or *.domain"),
    ("{\"trusted_credential_hosts\":{\"nope\":[\"a.com\"]}}", &[], "guardian: config key \"trusted_credential_hosts\": unknown pattern id \"nope\""),
    ("{\"timeouts\":\"1s\"}", &[], "guardian: config key \"timeouts\": must be an object {\"connect\", \"header\", \"idle\", \"response\"}"),
    ("{\"timeouts\":{\"read\":\"1s\"}}", &[], "guardian: config key \"timeouts\": unknown key \"read\"; allowed: connect, header, idle, response"),
    ("{\"timeouts\":{\"connect\":10}}", &[], "guardian: config key \"timeouts.connect\": must be a string like \"30s\""),
    ("{\"timeouts\":{\"header\":\"5ms\"}}", &[], "guardian: config key \"timeouts.header\": \"5ms\" must be between 10ms and 24h"),
    ("{\"timeouts\":{\"idle\":\"25h\"}}", &[], "guardian: config key \"timeouts.idle\": \"25h\" must be between 10ms and 24h"),
    ("{\"timeouts\":{\"response\":\"soon\"}}", &[], "guardian: config key \"timeouts.response\": \"soon\" is not a duration like \"30s\" (expected number at 0)"),
    ("{\"timeouts\":{\"response\":\"NaN\"}}", &[], "guardian: config key \"timeouts.response\": \"NaN\" is not a duration like \"30s\" (expected number at 0)"),
    ("{\"patterns\":[]}", &[], "guardian: config key \"patterns\": must be an object {\"disable\": [...], \"extra\": [...]}"),
    ("{\"patterns\":{\"x\":1}}", &[], "guardian: config key \"patterns\": unknown key \"x\"; allowed: disable, extra"),
    ("{\"patterns\":{\"disable\":\"a\"}}", &[], "guardian: config key \"patterns.disable\": must be a list of pattern ids"),
    ("{\"patterns\":{\"disable\":[1]}}", &[], "guardian: config key \"patterns.disable\": entries must be strings"),
    ("{\"patterns\":{\"disable\":[\"nope\"]}}", &[], "guardian: config key \"patterns\": patterns.disable: unknown pattern id \"nope\""),
    ("{\"patterns\":{\"extra\":{}}}", &[], "guardian: config key \"patterns.extra\": must be a list of pattern objects"),
    ("{\"patterns\":{\"extra\":[1]}}", &[], "guardian: config key \"patterns.extra\": every entry must be an object"),
    ("{\"patterns\": {\"extra\": [{\"id\": \"x_y\", \"threat_type\": \"EXFIL\", \"direction\": \"outbound\", \"severity\": \"high\", \"regex\": \"XY-[0-9]{8}\", \"literals\": [\"XY-\"], \"note\": \"x\"}]}}", &[], "guardian: config key \"patterns.extra\": unknown field \"note\"; fields: id, threat_type, direction, severity, regex, literals"),
    ("{\"patterns\": {\"extra\": [{\"threat_type\": \"EXFIL\", \"direction\": \"outbound\", \"severity\": \"high\", \"regex\": \"XY-[0-9]{8}\", \"literals\": [\"XY-\"]}]}}", &[], "guardian: config key \"patterns.extra\": field \"id\" is required and must be a string"),
    ("{\"patterns\": {\"extra\": [{\"id\": 5, \"threat_type\": \"EXFIL\", \"direction\": \"outbound\", \"severity\": \"high\", \"regex\": \"XY-[0-9]{8}\", \"literals\": [\"XY-\"]}]}}", &[], "guardian: config key \"patterns.extra\": field \"id\" is required and must be a string"),
    ("{\"patterns\": {\"extra\": [{\"id\": \"x_y\", \"threat_type\": \"BOTH\", \"direction\": \"outbound\", \"severity\": \"high\", \"regex\": \"XY-[0-9]{8}\", \"literals\": [\"XY-\"]}]}}", &[], "guardian: config key \"patterns.extra\": x_y: threat_type \"BOTH\" must be EXFIL or INJECTION"),
    ("{\"patterns\": {\"extra\": [{\"id\": \"x_y\", \"threat_type\": \"EXFIL\", \"direction\": \"sideways\", \"severity\": \"high\", \"regex\": \"XY-[0-9]{8}\", \"literals\": [\"XY-\"]}]}}", &[], "guardian: config key \"patterns.extra\": x_y: direction \"sideways\" must be outbound or inbound"),
    ("{\"patterns\": {\"extra\": [{\"id\": \"x_y\", \"threat_type\": \"EXFIL\", \"direction\": \"outbound\", \"severity\": \"urgent\", \"regex\": \"XY-[0-9]{8}\", \"literals\": [\"XY-\"]}]}}", &[], "guardian: config key \"patterns.extra\": x_y: severity \"urgent\" must be low, medium, high or critical"),
    ("{\"patterns\": {\"extra\": [{\"id\": \"x_y\", \"threat_type\": \"EXFIL\", \"direction\": \"outbound\", \"severity\": \"high\", \"regex\": \"XY-[0-9]{8}\"}]}}", &[], "guardian: config key \"patterns.extra\": x_y: field \"literals\" must be a list of strings"),
    ("{\"patterns\": {\"extra\": [{\"id\": \"x_y\", \"threat_type\": \"EXFIL\", \"direction\": \"outbound\", \"severity\": \"high\", \"regex\": \"XY-[0-9]{8}\", \"literals\": [1]}]}}", &[], "guardian: config key \"patterns.extra\": x_y: literals must be strings"),
    ("{\"patterns\": {\"extra\": [{\"id\": \"x_y\", \"threat_type\": \"EXFIL\", \"direction\": \"outbound\", \"severity\": \"high\", \"literals\": [\"XY-\"]}]}}", &[], "guardian: config key \"patterns.extra\": field \"regex\" is required and must be a string"),
    ("{\"patterns\": {\"extra\": [{\"id\": \"x_y\", \"threat_type\": \"EXFIL\", \"direction\": \"outbound\", \"severity\": \"high\", \"regex\": \"XY-.*\", \"literals\": [\"XY-\"]}]}}", &[], "guardian: config key \"patterns\": pattern \"x_y\": regex has no bounded match length; the limit is 2048 (use {m,n}, not * or +)"),
    ("{\"patterns\": {\"extra\": [{\"id\": \"x_y\", \"threat_type\": \"EXFIL\", \"direction\": \"outbound\", \"severity\": \"high\", \"regex\": \"ab(c\", \"literals\": [\"XY-\"]}]}}", &[], "guardian: config key \"patterns\": pattern \"x_y\": invalid regex \"ab(c\": unclosed group at byte 2"),
    ("{}", &[("PICOCLAW_TRAFFIC_GUARDIAN_REDACT_SNIPPETS", "false")], "guardian: PICOCLAW_TRAFFIC_GUARDIAN_REDACT_SNIPPETS=\"false\": redaction cannot be turned off; unset the variable or set it to true"),
    ("{}", &[("PICOCLAW_TRAFFIC_GUARDIAN_MODE", "block")], "guardian: config key \"mode\": \"block\" is not supported: the only mode is \"detect\" (Guardian never blocks)"),
    ("{}", &[("PICOCLAW_TRAFFIC_GUARDIAN_MAX_SCAN_BYTES", "abc")], "guardian: PICOCLAW_TRAFFIC_GUARDIAN_MAX_SCAN_BYTES=\"abc\" must be a whole number of bytes"),
    ("{}", &[("PICOCLAW_TRAFFIC_GUARDIAN_MAX_SCAN_BYTES", "10")], "guardian: config key \"max_scan_bytes\": 10 must be a whole number from 1024 to 67108864"),
    ("{}", &[("PICOCLAW_TRAFFIC_GUARDIAN_PROXY_URL", "ftp://x:1")], "guardian: config key \"upstream_proxy\": \"ftp://x:1\" must look like http://host:port"),
    ("{\"platform\":\"nanoclaw\"}", &[("NANOCLAW_TRAFFIC_GUARDIAN_MODE", "block")], "guardian: config key \"mode\": \"block\" is not supported: the only mode is \"detect\" (Guardian never blocks)"),
];

#[test]
fn accepted_configs_keep_their_digest() {
    for (config, envs, sha) in ACCEPTED {
        let (out, _, _dir) = check(config.as_bytes(), envs);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{config}: {stderr}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["config_sha256"], *sha, "{config}");
    }
}

#[test]
fn rejected_configs_keep_their_sentence() {
    for (config, envs, expected) in REJECTED {
        assert_eq!(rejected(config.as_bytes(), envs), *expected, "{config}");
    }
}

/// Hostile files: each is refused with one sentence naming the key (or the file), never a
/// panic (exit 101) or a hang.
#[test]
fn hostile_configs_get_one_clear_sentence() {
    let deep = format!(
        "{{\"resolve\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let nested_value = format!(
        "{{\"max_scan_bytes\":{}1{}}}",
        "[".repeat(100),
        "]".repeat(100)
    );
    let cases: &[(&[u8], &str)] = &[
        // A key written twice hides one of two settings.
        (
            br#"{"listen":"127.0.0.1:1","listen":"127.0.0.1:2"}"#,
            "config: duplicate key \"listen\"",
        ),
        (
            br#"{"timeouts":{"idle":"1s","idle":"2s"}}"#,
            "config key \"timeouts\": duplicate key \"idle\"",
        ),
        (
            br#"{"resolve":{"a.example:1":"127.0.0.1:1","a.example:1":"127.0.0.1:2"}}"#,
            "config key \"resolve\": duplicate key \"a.example:1\"",
        ),
        (
            br#"{"resolve":{"a.example:1":"127.0.0.1:1","A.example:1":"127.0.0.1:2"}}"#,
            "config key \"resolve\": key \"A.example:1\" names the same host:port as an earlier key",
        ),
        (
            br#"{"trusted_credential_hosts":{"ai_api_key":["a.example"],"ai_api_key":[]}}"#,
            "config key \"trusted_credential_hosts\": duplicate key \"ai_api_key\"",
        ),
        (
            br#"{"patterns":{"extra":[{"id":"x_a","id":"x_b"}]}}"#,
            "config key \"patterns.extra\": duplicate key \"id\"",
        ),
        // A list where an object belongs (serde's derived structs would read it field by field).
        (
            br#"{"timeouts":["1s"]}"#,
            "config key \"timeouts\": must be an object {\"connect\", \"header\", \"idle\", \"response\"}",
        ),
        (
            br#"{"patterns":{"extra":[["x_y"]]}}"#,
            "config key \"patterns.extra\": every entry must be an object",
        ),
        // Deep nesting stops at serde_json's recursion limit, as a syntax error.
        (
            deep.as_bytes(),
            "config file FILE is not valid JSON (recursion limit exceeded at line 1 column 138); fix the syntax or remove the file",
        ),
        (
            nested_value.as_bytes(),
            &format!(
                "config key \"max_scan_bytes\": {}1{} must be a whole number from 1024 to 67108864",
                "[".repeat(100),
                "]".repeat(100)
            ),
        ),
        // Huge and NaN-like numbers.
        (
            br#"{"max_scan_bytes":NaN}"#,
            "config file FILE is not valid JSON (expected value at line 1 column 19); fix the syntax or remove the file",
        ),
        (
            br#"{"max_scan_bytes":-0.0}"#,
            "config key \"max_scan_bytes\": -0.0 must be a whole number from 1024 to 67108864",
        ),
        (
            br#"{"timeouts":{"connect":"18446744073709551616s"}}"#,
            "config key \"timeouts.connect\": \"18446744073709551616s\" is not a duration like \"30s\" (number is too large or cannot be represented without a lack of precision (values below 1ns are not supported))",
        ),
        (
            br#"{"timeouts":{"connect":"inf"}}"#,
            "config key \"timeouts.connect\": \"inf\" is not a duration like \"30s\" (expected number at 0)",
        ),
        (
            br#"{"dedup_window":"99999999999999999999h"}"#,
            "config key \"dedup_window\": \"99999999999999999999h\" is not a duration like \"10m\" (number is too large or cannot be represented without a lack of precision (values below 1ns are not supported))",
        ),
        // Not JSON text at all.
        (
            b"{\"platform\":\"pico\xffclaw\"}",
            "cannot read config file FILE: stream did not contain valid UTF-8",
        ),
        (
            b"",
            "config file FILE is not valid JSON (EOF while parsing a value at line 1 column 0); fix the syntax or remove the file",
        ),
        (
            br#"{} {}"#,
            "config file FILE is not valid JSON (trailing characters at line 1 column 4); fix the syntax or remove the file",
        ),
    ];
    for (config, expected) in cases {
        let shown = String::from_utf8_lossy(&config[..config.len().min(80)]).into_owned();
        assert_eq!(
            rejected(config, &[]),
            format!("guardian: {expected}"),
            "{shown}"
        );
    }
}

/// A file of megabytes is refused before it is read (the largest is 1 MiB: a configuration
/// is a few kilobytes), whether its content would parse or not.
#[test]
fn a_huge_config_file_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    // 100 MB, sparse: nothing is written, so the test costs no disk.
    let sparse = dir.path().join("huge.json");
    std::fs::File::create(&sparse)
        .unwrap()
        .set_len(100 << 20)
        .unwrap();
    // Valid JSON just over the limit.
    let padded = format!("{{{}}}", " ".repeat(1 << 20));
    // Valid JSON at the limit is read.
    let at_limit = format!("{{{}}}", " ".repeat((1 << 20) - 2));
    let (ok, _, _d) = check(at_limit.as_bytes(), &[]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(
        rejected(padded.as_bytes(), &[]),
        "guardian: config file FILE is larger than 1024 KiB; a configuration is a small JSON object"
    );
    let out = check_file(&sparse, dir.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "guardian: config file {} is larger than 1024 KiB; a configuration is a small JSON object",
            sparse.display()
        )
    );
}
