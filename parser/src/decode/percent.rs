//! Percent-decoding iterated: a target or form body already decoded once is decoded twice
//! more (`%252541` → `%2541` → `%41` → `A`: depth 3 in all), streaming, by two chained
//! [`Normaliser`]s.

use super::text::{Normaliser, TextForm};

/// Two more percent decodings of text decoded once (see the module docs).
#[derive(Clone, Debug)]
pub struct IteratedPercent {
    second: Normaliser,
    third: Normaliser,
}

impl IteratedPercent {
    /// Stages for a form body (`plus_is_space`) or a request target.
    pub fn new(plus_is_space: bool) -> Self {
        let form = TextForm::Percent { plus_is_space };
        IteratedPercent {
            second: Normaliser::new(form),
            third: Normaliser::new(form),
        }
    }

    /// Decodes `input` twice more, handing the result to `out`; `false` if `out` said stop.
    pub fn push(&mut self, input: &[u8], out: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        let third = &mut self.third;
        self.second.push(input, &mut |t| third.push(t, out))
    }

    /// Flushes escapes left incomplete.
    pub fn finish(&mut self, out: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        let third = &mut self.third;
        self.second.finish(&mut |t| third.push(t, out)) && self.third.finish(out)
    }
}

/// `text` (decoded once) decoded twice more into `out`; returns whether that changed it.
pub fn decode_more(text: &[u8], out: &mut Vec<u8>) -> bool {
    if memchr::memchr(b'%', text).is_none() {
        return false;
    }
    let start = out.len();
    let mut stages = IteratedPercent::new(false);
    let mut sink = |t: &[u8]| {
        out.extend_from_slice(t);
        true
    };
    stages.push(text, &mut sink);
    stages.finish(&mut sink);
    if out[start..] == *text {
        out.truncate(start);
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_levels_in_all() {
        let mut out = Vec::new();
        assert!(decode_more(b"k=%2541KIA+%25%32%35", &mut out));
        assert_eq!(out, b"k=AKIA+%");
        out.clear();
        assert!(!decode_more(b"plain 100% text", &mut out));
        assert!(out.is_empty());
    }
}
