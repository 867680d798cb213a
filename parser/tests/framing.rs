//! Framing: message boundaries, every RFC 9112 §6.3 ambiguity as a typed error, and split
//! invariance (any split of a stream gives the same events and payload as one feed).

use guardian_parser::framing::{
    Event, Framer, FramingError, RequestKind, Role, Section, MAX_HEAD_BYTES,
};
use proptest::prelude::*;

use guardian_parser::verify::{framing_log, LogEvent as Ev};

/// Frames `stream` split by `sizes`, with responses announced as answering `expect`.
fn run(role: Role, stream: &[u8], sizes: &[usize], expect: &[RequestKind]) -> Vec<Ev> {
    if expect.is_empty() {
        return lines(framing_log(role, stream, sizes));
    }
    // Announced request kinds need a framer of our own; split invariance is covered elsewhere.
    let mut framer = Framer::new(role);
    for &k in expect {
        framer.expect_response(k);
    }
    let mut log = Vec::new();
    let mut at = 0;
    loop {
        let step = framer.feed(&stream[at..]);
        let input = &stream[at..];
        at += step.consumed;
        match step.event {
            None => break,
            Some(Event::Head(h)) => log.push(Ev::Head(h.raw().to_vec())),
            Some(Event::Body(r)) => log.push(Ev::Body(input[r].to_vec())),
            Some(Event::Tunnel(r)) => log.push(Ev::Tunnel(input[r].to_vec())),
            Some(Event::Trailer(r)) => log.push(Ev::Trailer(input[r].to_vec())),
            Some(Event::End) => log.push(Ev::End),
            Some(Event::Error(e)) => {
                log.push(Ev::Error(e));
                break;
            }
        }
    }
    lines(log)
}

fn whole(role: Role, stream: &[u8]) -> Vec<Ev> {
    lines(run(role, stream, &[stream.len().max(1)], &[]))
}

fn body(b: &[u8]) -> Ev {
    Ev::Body(b.to_vec())
}

/// A head event, matched by its start line.
fn head(line: &str) -> Ev {
    Ev::Head(line.as_bytes().to_vec())
}

/// The log with each head reduced to its start line (CR kept), for readable expectations.
fn lines(log: Vec<Ev>) -> Vec<Ev> {
    log.into_iter()
        .map(|e| match e {
            Ev::Head(raw) => Ev::Head(raw.split(|&b| b == b'\n').next().unwrap_or(b"").to_vec()),
            e => e,
        })
        .collect()
}

#[test]
fn content_length_and_keep_alive_pipelining() {
    let s = b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_eq!(
        whole(Role::Request, s),
        vec![
            head("POST /a HTTP/1.1\r"),
            body(b"hello"),
            Ev::End,
            head("GET /b HTTP/1.1\r"),
            Ev::End
        ]
    );
}

#[test]
fn chunked_with_extensions_and_trailers() {
    let s = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=val\r\nhello\r\n6 ; x\r\n world\r\n0\r\nX-Sum: 1\r\nX-B: 2\r\n\r\n";
    assert_eq!(
        whole(Role::Response, s),
        vec![
            head("HTTP/1.1 200 OK\r"),
            body(b"hello world"),
            Ev::Trailer(b"X-Sum: 1X-B: 2".to_vec()),
            Ev::End
        ]
    );
}

#[test]
fn close_delimited_response_ends_at_eof() {
    let s = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end";
    assert_eq!(
        whole(Role::Response, s),
        vec![head("HTTP/1.0 200 OK\r"), body(b"until the end"), Ev::End]
    );
}

#[test]
fn responses_without_body() {
    let s = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 99\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n";
    assert_eq!(
        whole(Role::Response, s),
        vec![
            head("HTTP/1.1 100 Continue\r"),
            Ev::End,
            head("HTTP/1.1 204 No Content\r"),
            Ev::End,
            head("HTTP/1.1 304 Not Modified\r"),
            Ev::End
        ]
    );
    let head_response = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    assert_eq!(
        run(
            Role::Response,
            head_response,
            &[head_response.len()],
            &[RequestKind::Head, RequestKind::Other]
        ),
        vec![
            head("HTTP/1.1 200 OK\r"),
            Ev::End,
            head("HTTP/1.1 200 OK\r"),
            body(b"ok"),
            Ev::End
        ]
    );
}

#[test]
fn connect_and_upgrade_become_tunnels() {
    let req =
        b"CONNECT api.example:443 HTTP/1.1\r\nHost: api.example:443\r\n\r\n\x16\x03\x01binary";
    assert_eq!(
        whole(Role::Request, req),
        vec![
            head("CONNECT api.example:443 HTTP/1.1\r"),
            Ev::End,
            Ev::Tunnel(b"\x16\x03\x01binary".to_vec())
        ]
    );
    let res = b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03server";
    assert_eq!(
        lines(run(
            Role::Response,
            res,
            &[res.len()],
            &[RequestKind::Connect]
        )),
        vec![
            head("HTTP/1.1 200 Connection established\r"),
            Ev::End,
            Ev::Tunnel(b"\x16\x03\x03server".to_vec())
        ]
    );
    let ws = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello";
    assert_eq!(
        whole(Role::Response, ws),
        vec![
            head("HTTP/1.1 101 Switching Protocols\r"),
            Ev::End,
            Ev::Tunnel(b"\x81\x05hello".to_vec())
        ]
    );
}

#[test]
fn empty_lines_before_a_request_are_ignored() {
    assert_eq!(
        whole(Role::Request, b"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        vec![head("GET / HTTP/1.1\r"), Ev::End]
    );
}

fn error_of(role: Role, s: &[u8]) -> FramingError {
    match whole(role, s).pop() {
        Some(Ev::Error(e)) => e,
        other => panic!(
            "expected an error for {:?}, got {other:?}",
            String::from_utf8_lossy(s)
        ),
    }
}

#[test]
fn ambiguous_framing_is_an_error() {
    use FramingError::*;
    let cases: &[(&[u8], FramingError)] = &[
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", TransferEncodingWithContentLength),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", InvalidContentLength),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n\r\n", InvalidContentLength),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", InvalidContentLength),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", InvalidContentLength),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", InvalidTransferEncoding),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", InvalidTransferEncoding),
        (b"GET / HTTP/1.1\r\nHost: x\r\n folded: value\r\n\r\n", ObsoleteLineFolding),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", DuplicateHost),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", InvalidChunkSize),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n", InvalidChunkSize),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc", InvalidChunkSize),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", InvalidChunkTerminator),
        (b"GARBAGE\r\n\r\n", MalformedHead("invalid token in start line")),
        (b"POST / HTTP/1.1\r\nHost: x\r\nConnection: Content-Length\r\nContent-Length: 3\r\n\r\n", ConnectionNamesFraming),
        (b"POST / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n", ConnectionNamesFraming),
        (b"GET / HTTP/1.1\r\nHost: x\r\nConnection: HOST\r\n\r\n", ConnectionNamesFraming),
        (b"POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", TransferEncodingInHttp10),
    ];
    for (input, expected) in cases {
        assert_eq!(
            &error_of(Role::Request, input),
            expected,
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    assert_eq!(
        error_of(
            Role::Response,
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        ),
        TransferEncodingWithContentLength
    );
    assert_eq!(
        error_of(
            Role::Response,
            b"HTTP/1.1 200 OK\r\nConnection: content-length\r\nContent-Length: 5\r\n\r\n"
        ),
        ConnectionNamesFraming
    );
    assert_eq!(
        error_of(
            Role::Response,
            b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        ),
        TransferEncodingInHttp10
    );
}

#[test]
fn limits_are_typed_errors() {
    let mut big = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    big.resize(MAX_HEAD_BYTES + 10, b'a');
    big.extend_from_slice(b"\r\n\r\n");
    assert_eq!(error_of(Role::Request, &big), FramingError::HeadTooLarge);
    // Also when the head arrives a byte at a time: the buffer never grows past the limit.
    assert_eq!(
        run(Role::Request, &big, &[1], &[]).pop(),
        Some(Ev::Error(FramingError::HeadTooLarge))
    );

    let mut many = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..101 {
        many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert_eq!(error_of(Role::Request, &many), FramingError::TooManyHeaders);

    let mut long_ext =
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;".to_vec();
    long_ext.resize(long_ext.len() + 5000, b'e');
    assert_eq!(
        error_of(Role::Request, &long_ext),
        FramingError::ChunkLineTooLong
    );
}

#[test]
fn truncated_messages_are_errors_at_eof() {
    assert_eq!(
        error_of(
            Role::Request,
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nshort"
        ),
        FramingError::UnexpectedEof
    );
    assert_eq!(
        error_of(Role::Request, b"GET / HTTP/1.1\r\nHost"),
        FramingError::UnexpectedEof
    );
    assert_eq!(whole(Role::Request, b""), vec![]);
}

#[test]
fn after_an_error_nothing_more_is_consumed() {
    let mut framer = Framer::new(Role::Request);
    let step = framer
        .feed(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
    assert!(matches!(step.event, Some(Event::Error(_))));
    assert_eq!(step.consumed, 0);
    let again = framer.feed(b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!((again.consumed, again.event), (0, None));
}

#[test]
fn head_exposes_fields() {
    let mut framer = Framer::new(Role::Request);
    let step = framer.feed(b"GET http://a.example:8080/p?q=1 HTTP/1.1\r\nHost: a.example:8080\r\nConnection: close\r\nX-A: 1\r\n\r\n");
    let Some(Event::Head(h)) = step.event else {
        panic!("head expected")
    };
    assert_eq!(h.method(), b"GET");
    assert_eq!(h.target(), b"http://a.example:8080/p?q=1");
    assert_eq!(h.header("x-a"), Some(&b"1"[..]));
    assert!(!h.keep_alive());
    assert_eq!(h.headers().count(), 3);
}

/// A generator of valid streams of several messages, to check split invariance on.
fn message_stream() -> impl Strategy<Value = Vec<u8>> {
    let body = proptest::collection::vec(any::<u8>(), 0..300);
    let one = (body, 0..3u8, 1..50usize).prop_map(|(body, kind, chunk)| {
        let mut m = Vec::new();
        match kind {
            0 => {
                m.extend_from_slice(
                    format!(
                        "POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    )
                    .as_bytes(),
                );
                m.extend_from_slice(&body);
            }
            1 => {
                m.extend_from_slice(
                    b"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
                );
                for piece in body.chunks(chunk) {
                    m.extend_from_slice(format!("{:X}\r\n", piece.len()).as_bytes());
                    m.extend_from_slice(piece);
                    m.extend_from_slice(b"\r\n");
                }
                m.extend_from_slice(b"0\r\nT: v\r\n\r\n");
            }
            _ => m.extend_from_slice(b"GET /g HTTP/1.1\r\nHost: h\r\n\r\n"),
        }
        m
    });
    proptest::collection::vec(one, 1..5).prop_map(|ms| ms.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_split_of_a_valid_stream_gives_the_same_events(stream in message_stream(), sizes in proptest::collection::vec(1..64usize, 1..8)) {
        let one = whole(Role::Request, &stream);
        prop_assert!(!one.iter().any(|e| matches!(e, Ev::Error(_))), "generated stream must be valid: {:?}", one);
        prop_assert_eq!(lines(run(Role::Request, &stream, &sizes, &[])), one);
    }

    #[test]
    fn any_split_of_arbitrary_bytes_gives_the_same_events(stream in proptest::collection::vec(any::<u8>(), 0..600), sizes in proptest::collection::vec(1..64usize, 1..8)) {
        for role in [Role::Request, Role::Response] {
            prop_assert_eq!(lines(run(role, &stream, &sizes, &[])), whole(role, &stream));
        }
    }

    #[test]
    fn mutated_streams_split_the_same(stream in message_stream(), flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4), sizes in proptest::collection::vec(1..32usize, 1..6)) {
        let mut s = stream;
        for (i, b) in flips { let at = i.index(s.len()); s[at] = b; }
        prop_assert_eq!(lines(run(Role::Request, &s, &sizes, &[])), whole(Role::Request, &s));
    }
}

/// Regression (found by `mutated_streams_split_the_same`): a trailer line's CR at the start of
/// a feed produced an empty trailer and stopped consuming.
#[test]
fn regression_trailer_cr_at_start_of_a_feed() {
    let s = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: v\r\n\r\n";
    let cr = s.len() - 4;
    assert_eq!(
        run(Role::Request, s, &[cr, 100], &[]),
        whole(Role::Request, s)
    );
}

/// Regression (found by `mutated_streams_split_the_same`): a bare LF in a trailer line reported
/// the line's bytes only when they arrived in an earlier feed.
#[test]
fn regression_bare_lf_in_trailer_is_split_invariant() {
    let s = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT:\nx\r\n\r\n";
    let expected = whole(Role::Request, s);
    assert_eq!(
        expected.last(),
        Some(&Ev::Error(FramingError::InvalidTrailer))
    );
    for split in 1..s.len() {
        assert_eq!(
            run(Role::Request, s, &[split, 100], &[]),
            expected,
            "split at {split}"
        );
    }
}

/// The proxy forwards body and tunnel bytes verbatim and rewrites heads: every consumed byte
/// must be classified correctly, whatever the split.
#[test]
fn sections_classify_every_consumed_byte() {
    let s = b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nCONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\ntunnel";
    let head_bytes = b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".len()
        + b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n".len();
    for size in [1, 2, 5, 7, s.len()] {
        let mut framer = Framer::new(Role::Request);
        let (mut head, mut body, mut tunnel) = (0, 0, 0);
        for piece in s.chunks(size) {
            let mut at = 0;
            loop {
                let step = framer.feed(&piece[at..]);
                at += step.consumed;
                match step.section {
                    Section::Head => head += step.consumed,
                    Section::Body => body += step.consumed,
                    Section::Tunnel => tunnel += step.consumed,
                }
                if step.event.is_none() {
                    break;
                }
            }
        }
        assert_eq!(
            (head, body, tunnel),
            (head_bytes, b"3\r\nabc\r\n0\r\n\r\n".len(), b"tunnel".len()),
            "piece size {size}"
        );
    }
}

/// Regression (found by `cargo fuzz run framing`): a reason phrase that is not UTF-8 made
/// httparse return a static "" outside the head buffer, and computing its range overflowed
/// (a panic in debug, an out-of-bounds slice in `reason()` in release).
#[test]
fn regression_non_utf8_reason_phrase() {
    let input = include_bytes!("regressions/framing-non-utf8-reason.bin");
    let (_, stream) = input.split_first().unwrap();
    let log = framing_log(Role::Response, stream, &[]);
    assert_eq!(log, framing_log(Role::Response, stream, &[1]));
    let mut framer = Framer::new(Role::Response);
    let step = framer.feed(b"HTTP/1.1 200 Gr\xfc\xdfe\r\nContent-Length: 0\r\n\r\n");
    let Some(Event::Head(h)) = step.event else {
        panic!("a non-UTF-8 reason is still a response")
    };
    assert_eq!(h.status(), Some(200));
    let _ = h.reason();
}

/// Chunk extensions follow their grammar (RFC 9112 §7.1.1) and trailers may not reframe the
/// message (RFC 9110 §6.5.1): a hop that reads a quote, a `;` or a trailer `Content-Length`
/// differently would frame the stream differently (found by a hostile-client probe).
#[test]
fn bad_chunk_extensions_and_reframing_trailers_are_errors() {
    use FramingError::*;
    let chunked = |rest: &str| {
        format!("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{rest}")
            .into_bytes()
    };
    let many: String = (0..101).map(|i| format!("T{i}: v\r\n")).collect();
    let cases: Vec<(Vec<u8>, FramingError)> = vec![
        (chunked("3;\"\r\nabc\r\n0\r\n\r\n"), InvalidChunkSize),
        (chunked("3;a=\"x\r\nabc\r\n0\r\n\r\n"), InvalidChunkSize),
        (chunked("3;\r\nabc\r\n0\r\n\r\n"), InvalidChunkSize),
        (chunked("3;a=\r\nabc\r\n0\r\n\r\n"), InvalidChunkSize),
        (chunked("3;a b\r\nabc\r\n0\r\n\r\n"), InvalidChunkSize),
        (chunked("3;a=\"q\"x\r\nabc\r\n0\r\n\r\n"), InvalidChunkSize),
        (chunked("0\r\nContent-Length: 5\r\n\r\n"), InvalidTrailer),
        (
            chunked("0\r\ntransfer-encoding: chunked\r\n\r\n"),
            InvalidTrailer,
        ),
        (chunked("0\r\nHOST: evil.example\r\n\r\n"), InvalidTrailer),
        (chunked("0\r\nno colon here\r\n\r\n"), InvalidTrailer),
        (chunked("0\r\n: empty name\r\n\r\n"), InvalidTrailer),
        (chunked(&format!("0\r\n{many}\r\n")), InvalidTrailer),
    ];
    for (input, expected) in &cases {
        for split in [1, 7, input.len()] {
            assert_eq!(
                run(Role::Request, input, &[split, 100], &[]).last(),
                Some(&Ev::Error(expected.clone())),
                "{} split {split}",
                String::from_utf8_lossy(input)
            );
        }
    }
    // What the grammar allows still frames: BWS, tokens, quoted strings with escapes, 100
    // trailer fields, a field whose name only starts like a framing one.
    let fine: String = (0..100).map(|i| format!("T{i}: v\r\n")).collect();
    for ok in [
        chunked("3 ; a ; b = c ; d=\"q \\\" ;\"\r\nabc\r\n0\r\n\r\n"),
        chunked(&format!("0\r\n{fine}\r\n")),
        chunked("0\r\nContent-Length-Sig: 1\r\nHosts: 2\r\n\r\n"),
    ] {
        let events = whole(Role::Request, &ok);
        assert!(
            !events.iter().any(|e| matches!(e, Ev::Error(_))),
            "{}: {events:?}",
            String::from_utf8_lossy(&ok)
        );
    }
}
