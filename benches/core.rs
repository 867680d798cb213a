//! Criterion benches of the sans-IO core on raw byte streams: framing alone, decoding, scanning,
//! and the whole inspector, on benign mixed traffic, secret-dense traffic and adversarial input.
//! The same group measures, as a baseline, one `regex` alternation of every rule over the same
//! bytes, so the ratio to a naive scanner is visible in one run.

use std::hint::black_box;
use std::io::Write;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use guardian::bench::core::run_stream;
use guardian::bench::workload::{generate, Rng};
use guardian_parser::framing::{Framer, Role};
use guardian_parser::inspect::Inspector;
use guardian_parser::scan::{builtin_rules, Direction, Platform, Registry, StreamScanner};

const MB: usize = 1 << 20;

fn benign() -> (Vec<u8>, Vec<u8>) {
    let w = generate(16 * MB, 0, 42);
    (w.requests, w.responses)
}

fn secret_dense() -> Vec<u8> {
    let w = generate(8 * MB, 1, 7);
    let mut all = w.requests;
    all.extend(w.responses);
    all
}

/// Inputs built to defeat a scanner: repeated literal prefixes, megabytes of base64, endless
/// chunk-size lines.
fn adversarial() -> Vec<(&'static str, Vec<u8>)> {
    let mut rng = Rng::new(3);
    let base64: String = (0..4 * MB)
        .map(|_| {
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[rng.below(64)]
                as char
        })
        .collect();
    let mut chunk_lines =
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    while chunk_lines.len() < 4 * MB {
        chunk_lines.extend_from_slice(
            b"1;ext=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nx\r\n",
        );
    }
    chunk_lines.extend_from_slice(b"0\r\n\r\n");
    let mut json_sse = Vec::new();
    while json_sse.len() < 4 * MB {
        let c = b"abcdefghijklmnopqrstuvwxyz"[rng.below(26)] as char;
        json_sse.extend_from_slice(
            format!("data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{c}\"}}}}]}}\n\n").as_bytes(),
        );
    }
    vec![
        ("sk-sk-sk", b"sk-".repeat(4 * MB / 3)),
        ("AKIA-repeated", b"AKIA".repeat(MB)),
        ("rm-rm-rm", b"rm -rf ./a ".repeat(MB / 4)),
        ("base64", base64.into_bytes()),
        ("chunk-size-lines", chunk_lines),
        ("tiny-sse-events", b"data: x\n\n".repeat(4 * MB / 9)),
        ("json-sse-1-char-deltas", json_sse),
    ]
}

/// The media type adversarial bodies are sent as: SSE for the event streams.
fn content_type(name: &str) -> &'static str {
    if name.contains("sse") {
        "text/event-stream"
    } else {
        "application/octet-stream"
    }
}

fn as_body(body: &[u8], content_type: &str) -> Vec<u8> {
    let mut m = format!(
        "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    m.extend_from_slice(body);
    m
}

fn as_response(body: &[u8], content_type: &str) -> Vec<u8> {
    let mut m = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    m.extend_from_slice(body);
    m
}

/// The same messages with the streamed media types relabelled `text/plain` (same length, so
/// framing is unchanged): the bytes are then scanned as they are, without the SSE and NDJSON
/// views, which is what the views cost is measured against.
fn without_stream_views(stream: &[u8]) -> Vec<u8> {
    let mut out = stream.to_vec();
    for (from, to) in [
        (
            &b"Content-Type: text/event-stream\r\n"[..],
            &b"Content-Type: text/plain.......\r\n"[..],
        ),
        (
            b"Content-Type: application/x-ndjson\r\n",
            b"Content-Type: text/plain..........\r\n",
        ),
    ] {
        let mut at = 0;
        while let Some(i) = out[at..].windows(from.len()).position(|w| w == from) {
            out[at + i..at + i + from.len()].copy_from_slice(to);
            at += i + from.len();
        }
    }
    out
}

/// One unanchored alternation of every built-in regex: what a naive scanner would run.
fn alternation() -> regex::bytes::Regex {
    let all: Vec<String> = builtin_rules()
        .iter()
        .map(|r| format!("(?:{})", r.regex))
        .collect();
    regex::bytes::RegexBuilder::new(&all.join("|"))
        .unicode(false)
        .size_limit(64 << 20)
        .dfa_size_limit(64 << 20)
        .build()
        .expect("alternation compiles")
}

fn bench_core(c: &mut Criterion) {
    let registry = Registry::builtin(Platform::Picoclaw);
    let (requests, responses) = benign();
    let dense = secret_dense();
    let baseline = alternation();
    let plain_responses = without_stream_views(&responses);

    let mut g = c.benchmark_group("benign-mixed");
    g.sample_size(10);
    let total = (requests.len() + responses.len()) as u64;
    g.throughput(Throughput::Bytes(total));
    g.bench_function("inspect (framing+decode+scan)", |b| {
        b.iter(|| {
            let a = run_stream(&registry, Direction::Outbound, &requests, MB as u64)
                .detections
                .len();
            let z = run_stream(&registry, Direction::Inbound, &responses, MB as u64)
                .detections
                .len();
            black_box(a + z)
        })
    });
    // The same without the decoded views of issue 11 item 6 (base64/hex runs, iterated
    // percent, zero-width characters, look-alikes): their cost, in the same run.
    g.bench_function("inspect without encoded views", |b| {
        b.iter(|| {
            let mut n = 0;
            for (dir, stream) in [
                (Direction::Outbound, &requests),
                (Direction::Inbound, &responses),
            ] {
                let mut inspector = Inspector::new(&registry, dir, MB as u64);
                inspector.set_encoded_views(false);
                for piece in stream.chunks(64 * 1024) {
                    let _ = inspector.feed_all(&registry, piece);
                    while inspector.poll_detection().is_some() {
                        n += 1;
                    }
                }
                let _ = inspector.finish(&registry);
                while inspector.poll_detection().is_some() {
                    n += 1;
                }
            }
            black_box(n)
        })
    });
    g.bench_function("framing only", |b| {
        b.iter(|| {
            let mut n = 0;
            for (role, stream) in [(Role::Request, &requests), (Role::Response, &responses)] {
                let mut framer = Framer::new(role);
                let mut at = 0;
                while at < stream.len() {
                    let step = framer.feed(&stream[at..]);
                    at += step.consumed;
                    n += 1;
                    if step.event.is_none() {
                        break;
                    }
                }
            }
            black_box(n)
        })
    });
    g.bench_function("scan only (streaming scanner)", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            for (dir, stream) in [
                (Direction::Outbound, &requests),
                (Direction::Inbound, &responses),
            ] {
                let mut s = StreamScanner::new(&registry, dir, u64::MAX);
                for piece in stream.chunks(64 * 1024) {
                    let _ = s.push(&registry, piece, &mut out);
                }
                s.finish(&registry, &mut out);
            }
            black_box(out.len())
        })
    });
    g.bench_function("baseline: one regex alternation", |b| {
        b.iter(|| {
            black_box(
                baseline.find_iter(&requests).count() + baseline.find_iter(&responses).count(),
            )
        })
    });
    g.finish();

    // The SSE and NDJSON views' cost: the inbound half of the same traffic with and without.
    let mut g = c.benchmark_group("views");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(responses.len() as u64));
    g.bench_function("inspect, streams without views (text/plain)", |b| {
        b.iter(|| {
            let z = run_stream(&registry, Direction::Inbound, &plain_responses, MB as u64)
                .detections
                .len();
            black_box(z)
        })
    });
    g.bench_function("inspect, responses with views", |b| {
        b.iter(|| {
            let z = run_stream(&registry, Direction::Inbound, &responses, MB as u64)
                .detections
                .len();
            black_box(z)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("decode");
    g.sample_size(10);
    let text: Vec<u8> = responses.iter().copied().take(8 * MB).collect();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&text).expect("gzip");
    let gz = enc.finish().expect("gzip");
    let gz_message = {
        let mut m = format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
            gz.len()
        )
        .into_bytes();
        m.extend_from_slice(&gz);
        m
    };
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("gzip body (decoded bytes/s)", |b| {
        b.iter(|| {
            black_box(
                run_stream(&registry, Direction::Inbound, &gz_message, 64 * MB as u64)
                    .stats
                    .body_bytes,
            )
        })
    });
    g.finish();

    let mut g = c.benchmark_group("secret-dense");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(dense.len() as u64));
    g.bench_function("inspect", |b| {
        b.iter(|| {
            black_box(
                run_stream(&registry, Direction::Outbound, &dense, MB as u64)
                    .detections
                    .len(),
            )
        })
    });
    g.finish();

    let mut g = c.benchmark_group("adversarial");
    g.sample_size(10);
    for (name, body) in adversarial() {
        let (request, response) = if name == "chunk-size-lines" {
            let response = String::from_utf8_lossy(&body).replacen(
                "POST / HTTP/1.1\r\nHost: x",
                "HTTP/1.1 200 OK\r\nServer: x",
                1,
            );
            (body, response.into_bytes())
        } else {
            (
                as_body(&body, content_type(name)),
                as_response(&body, content_type(name)),
            )
        };
        g.throughput(Throughput::Bytes((request.len() + response.len()) as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let out = run_stream(&registry, Direction::Outbound, &request, 64 * MB as u64);
                let inbound = run_stream(&registry, Direction::Inbound, &response, 64 * MB as u64);
                assert!(out.error.is_none() && inbound.error.is_none());
                black_box(out.detections.len() + inbound.detections.len())
            })
        });
    }
    g.finish();
}

/// Prose of `len` bytes from a small vocabulary: what chat text looks like to the scanner.
fn prose(rng: &mut Rng, len: usize) -> String {
    const WORDS: [&str; 12] = [
        "the", "model", "answer", "streams", "tokens", "quickly", "and", "then", "a", "file",
        "reads", "config",
    ];
    let mut s = String::with_capacity(len + 8);
    while s.len() < len {
        s.push_str(WORDS[rng.below(WORDS.len())]);
        s.push(' ');
    }
    s
}

/// WebSocket sessions after the `101` (issue 11 item 3), fed to the core's `WebSocket` the way
/// the proxy's relay does (`READ_SIZE` pieces, both directions interleaved): Realtime sessions
/// with fragmented client messages and delta events, compressed (permessage-deflate with
/// context takeover) or not, and the adversarial stream of 1-byte frames.
fn bench_websocket(c: &mut Criterion) {
    use guardian::bench::websocket::{one_byte_frames, run, session, Session};
    let registry = Registry::builtin(Platform::Picoclaw);
    let mut rng = Rng::new(11);
    let mut compressed = Vec::new();
    let mut plain = Vec::new();
    let total = |v: &[Session]| v.iter().map(Session::len).sum::<usize>();
    while total(&compressed) < 8 * MB || total(&plain) < 8 * MB {
        let s = session(&mut rng, 64 * 1024, None, &mut prose);
        match s.extensions.client.is_some() {
            true if total(&compressed) < 8 * MB => compressed.push(s),
            false if total(&plain) < 8 * MB => plain.push(s),
            _ => {}
        }
    }
    let frames = one_byte_frames(8 * MB / 3);
    let mut g = c.benchmark_group("websocket");
    g.sample_size(10);
    for (name, sessions) in [
        ("1-byte frames", std::slice::from_ref(&frames)),
        ("realtime sessions, compressed", &compressed[..]),
        ("realtime sessions, plain text", &plain[..]),
    ] {
        g.throughput(Throughput::Bytes(total(sessions) as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let r = run(&registry, sessions, MB as u64);
                assert_eq!(r.violations, 0);
                black_box(r.found)
            })
        });
    }
    g.finish();
}

/// Adversarial input for the decoded views (issue 11 item 6): text bodies the views must
/// decode, not binary ones (those get no decoded views): 4 MB of base64 as `text/plain`, the
/// same inside 1-character SSE deltas, and JSON strings escaped inside each other.
fn bench_adversarial_views(c: &mut Criterion) {
    let registry = Registry::builtin(Platform::Picoclaw);
    let mut rng = Rng::new(5);
    let base64 = rng.string(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        4 * MB,
    );
    let mut sse_base64 = Vec::new();
    for c in base64.as_bytes()[..MB].chunks(4) {
        sse_base64.extend_from_slice(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"");
        sse_base64.extend_from_slice(c);
        sse_base64.extend_from_slice(b"\"}}]}\n\n");
    }
    let mut nested = br#"{"a":"x"}"#.to_vec();
    while nested.len() < 4 * MB {
        let inner = String::from_utf8_lossy(&nested)
            .replace('\\', "\\\\")
            .replace('"', "\\\"");
        nested = format!("{{\"arguments\":\"{inner}\",\"n\":[{inner:?}]}}").into_bytes();
    }
    nested.truncate(4 * MB);
    let mut g = c.benchmark_group("adversarial-views");
    g.sample_size(10);
    for (name, body, content_type) in [
        ("base64 text body", base64.as_bytes(), "text/plain"),
        (
            "base64 in 4-char SSE deltas",
            &sse_base64[..],
            "text/event-stream",
        ),
        ("nested JSON escapes", &nested[..], "application/json"),
    ] {
        let request = as_body(body, content_type);
        let response = as_response(body, content_type);
        g.throughput(Throughput::Bytes((request.len() + response.len()) as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let out = run_stream(&registry, Direction::Outbound, &request, 64 * MB as u64);
                let inbound = run_stream(&registry, Direction::Inbound, &response, 64 * MB as u64);
                assert!(out.error.is_none() && inbound.error.is_none());
                black_box(out.detections.len() + inbound.detections.len())
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_core,
    bench_websocket,
    bench_adversarial_views
);
criterion_main!(benches);
