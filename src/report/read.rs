//! Reading `findings.jsonl` back: line by line (the log is streamed, never loaded whole), a
//! partial last line (crash mid-write) and unparsable lines skipped.

use std::io::{BufRead, BufReader};
use std::path::Path;

use guardian_parser::finding::Finding;

/// Every complete, valid finding in the log, oldest first.
pub fn findings(path: &Path) -> Vec<Finding> {
    let mut out = Vec::new();
    for_each(path, |f| out.push(f));
    out
}

/// Calls `f` for every complete, valid finding, oldest first, reading the file as a stream.
pub fn for_each(path: &Path, mut f: impl FnMut(Finding)) {
    let Ok(file) = std::fs::File::open(path) else {
        return;
    };
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line.last() != Some(&b'\n') => return, // partial last line
            Ok(_) => {
                if let Ok(finding) = serde_json::from_slice::<Finding>(&line) {
                    f(finding);
                }
            }
        }
    }
}
