//! NDJSON / JSON Lines streams (`application/x-ndjson`, `application/jsonl`, Ollama): one JSON
//! value per line, lines split across chunks carried over. A line past [`MAX_LINE_BYTES`] is
//! dropped from reassembly (counted); the raw body scan still sees it.

/// Most bytes of one line kept for reassembly.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Streaming line splitter.
#[derive(Debug, Default)]
pub struct NdjsonParser {
    line: Vec<u8>,
    overflow: bool,
    oversized: u64,
}

impl NdjsonParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lines dropped because they were longer than [`MAX_LINE_BYTES`].
    pub fn oversized(&self) -> u64 {
        self.oversized
    }

    /// Splits more of the stream; `on_line` runs for each complete, non-blank line.
    pub fn push(&mut self, mut input: &[u8], on_line: &mut dyn FnMut(&[u8])) {
        while let Some(end) = memchr::memchr(b'\n', input) {
            if self.line.is_empty() && !self.overflow {
                emit(&input[..end], on_line);
            } else {
                self.append(&input[..end]);
                if self.overflow {
                    self.oversized += 1;
                } else {
                    emit(&self.line, on_line);
                }
                self.line.clear();
                self.overflow = false;
            }
            input = &input[end + 1..];
        }
        self.append(input);
    }

    /// The stream ended: a last line without its newline is still a line.
    pub fn finish(&mut self, on_line: &mut dyn FnMut(&[u8])) {
        if !self.overflow {
            emit(&self.line, on_line);
        }
        self.line.clear();
        self.overflow = false;
    }

    fn append(&mut self, part: &[u8]) {
        let room = MAX_LINE_BYTES.saturating_sub(self.line.len());
        if part.len() > room {
            self.overflow = true;
        }
        self.line.extend_from_slice(&part[..part.len().min(room)]);
    }
}

fn emit(line: &[u8], on_line: &mut dyn FnMut(&[u8])) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().any(|b| !b.is_ascii_whitespace()) {
        on_line(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_anywhere_are_whole() {
        let stream = b"{\"a\":1}\r\n\n{\"b\":2}\n{\"c\"";
        let mut whole = Vec::new();
        let mut p = NdjsonParser::new();
        p.push(stream, &mut |l| whole.push(l.to_vec()));
        p.finish(&mut |l| whole.push(l.to_vec()));
        assert_eq!(whole.len(), 3);
        for split in 1..stream.len() {
            let mut got = Vec::new();
            let mut p = NdjsonParser::new();
            p.push(&stream[..split], &mut |l| got.push(l.to_vec()));
            p.push(&stream[split..], &mut |l| got.push(l.to_vec()));
            p.finish(&mut |l| got.push(l.to_vec()));
            assert_eq!(got, whole);
        }
    }
}
