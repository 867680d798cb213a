//! Where the benign core's time goes, per message shape: the bench workload's responses grouped
//! by media type (and gzip), the requests as one group, each group run through the inspector
//! and through the one-regex baseline, `REPS` rounds each. Prints each group's share of the
//! bytes, its share of the inspector's time and both throughputs, and the inspector's
//! throughput without the encoded views (what those views cost per shape). One machine's
//! figures drift, so compare two builds by running them alternately and taking each group's
//! minimum.
//!
//! `cargo run --release --example shapes [GROUP_FILTER] [REPS]` (filter: a substring of the
//! group name, e.g. `event-stream` or `REQUESTS`; `""` for all; REPS default 20).

use std::collections::BTreeMap;
use std::time::Instant;

use guardian::bench::core::run_stream;
use guardian::bench::workload::generate;
use guardian_parser::inspect::Inspector;
use guardian_parser::scan::{builtin_rules, Direction, Platform, Registry};

fn main() {
    let mut args = std::env::args().skip(1);
    let filter = args.next().unwrap_or_default();
    let reps: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(20);
    let registry = Registry::builtin(Platform::Picoclaw);
    let w = generate(16 << 20, 0, 42);
    let all: Vec<String> = builtin_rules()
        .iter()
        .map(|r| format!("(?:{})", r.regex))
        .collect();
    let Ok(baseline) = regex::bytes::RegexBuilder::new(&all.join("|"))
        .unicode(false)
        .size_limit(64 << 20)
        .dfa_size_limit(64 << 20)
        .build()
    else {
        eprintln!("the baseline alternation does not compile");
        return;
    };
    // Every workload response starts with this status line; binary bodies are random bytes,
    // which hold it with negligible probability.
    let marker = b"HTTP/1.1 200 OK\r\n";
    let mut starts: Vec<usize> = w
        .responses
        .windows(marker.len())
        .enumerate()
        .filter(|(_, x)| *x == marker)
        .map(|(i, _)| i)
        .collect();
    starts.push(w.responses.len());
    let mut groups: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for p in starts.windows(2) {
        let m = &w.responses[p[0]..p[1]];
        let head = String::from_utf8_lossy(&m[..m.len().min(200)]);
        let ct = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Type: "))
            .unwrap_or("?")
            .to_string();
        let key = if head.contains("Content-Encoding: gzip") {
            format!("{ct}+gzip")
        } else {
            ct
        };
        groups.entry(key).or_default().extend_from_slice(m);
    }
    groups.insert("REQUESTS".into(), w.requests.clone());
    let total_bytes = (w.requests.len() + w.responses.len()) as f64;
    let mut rows = Vec::new();
    for (name, bytes) in groups.iter().filter(|(k, _)| k.contains(filter.as_str())) {
        let direction = if name == "REQUESTS" {
            Direction::Outbound
        } else {
            Direction::Inbound
        };
        let t = Instant::now();
        for _ in 0..reps {
            std::hint::black_box(run_stream(&registry, direction, bytes, 1 << 20).detections);
        }
        let inspect = t.elapsed().as_secs_f64() / reps as f64;
        let t = Instant::now();
        for _ in 0..reps {
            let mut inspector = Inspector::new(&registry, direction, 1 << 20);
            inspector.set_encoded_views(false);
            // In `run_stream`'s read size, so the two columns differ by the views alone.
            for piece in bytes.chunks(64 * 1024) {
                let _ = inspector.feed_all(&registry, piece);
            }
            let _ = inspector.finish(&registry);
            std::hint::black_box(inspector.stats().messages);
        }
        let plain = t.elapsed().as_secs_f64() / reps as f64;
        let t = Instant::now();
        for _ in 0..reps {
            std::hint::black_box(baseline.find_iter(bytes).count());
        }
        let base = t.elapsed().as_secs_f64() / reps as f64;
        rows.push((name, bytes.len() as f64, inspect, base, plain));
    }
    let total_time: f64 = rows.iter().map(|r| r.2).sum();
    let mib = |bytes: f64, secs: f64| bytes / secs / f64::from(1 << 20);
    println!("group\tbytes%\ttime%\tinspect_ms\tinspect_MiB/s\tbaseline_MiB/s\tno_encoded_MiB/s");
    for (name, bytes, inspect, base, plain) in rows {
        println!(
            "{name}\t{:.1}\t{:.1}\t{:.3}\t{:.0}\t{:.0}\t{:.0}",
            100.0 * bytes / total_bytes,
            100.0 * inspect / total_time,
            inspect * 1000.0,
            mib(bytes, inspect),
            mib(bytes, base),
            mib(bytes, plain),
        );
    }
}
