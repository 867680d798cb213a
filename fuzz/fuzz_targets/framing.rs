//! Framing properties on arbitrary bytes: never a panic, consumed ≤ input (asserted inside
//! `framing_log`), and split invariance: the first bytes choose piece sizes, the rest is the
//! stream; any split must give the same events as one feed.
#![no_main]

use guardian_parser::framing::Role;
use guardian_parser::verify::framing_log;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else { return };
    let role = if control & 1 == 0 { Role::Request } else { Role::Response };
    let (sizes, stream) = rest.split_at(rest.len().min(usize::from(control >> 5)));
    let sizes: Vec<usize> = sizes.iter().map(|&s| usize::from(s) + 1).collect();
    let whole = framing_log(role, stream, &[]);
    assert_eq!(framing_log(role, stream, &sizes), whole, "split {sizes:?} changed the events");
    assert_eq!(framing_log(role, stream, &[1]), whole, "byte-by-byte feeding changed the events");
});
