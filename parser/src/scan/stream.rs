//! Streaming scanner for one part of a message (a head, a body, a trailer section).
//!
//! Data is copied into a block buffer; each full block is searched by the prefilter, and every
//! literal hit is confirmed by its rule's anchored regex once the whole window it could need
//! (longest match + snippet context) is available, or at the end of the part. The buffer keeps
//! [`LOOKBACK`] bytes before the next unconfirmed hit and nothing else, so memory is bounded by
//! [`BLOCK`] + that overlap whatever the message size, and the result does not depend on how the
//! input was split. Per rule, matches do not overlap (like `find_iter`): a hit inside the
//! previous match of the same rule is skipped. A part that comes whole (a head view, a body in
//! one piece) is searched where it lies, without the copy ([`StreamScanner::push_last`]).

use std::ops::Range;

use sha2::{Digest, Sha256};

use aho_corasick::{Anchored, Input};

use super::registry::{Index, Registry, RuleId};
use super::rule::{Direction, MatchContext};

/// Bytes of context kept on each side of a match for its snippet.
pub const SNIPPET_CONTEXT: usize = 48;

/// Bytes before a match that a rule's check may look at.
pub const LOOKBACK: usize = 256;

/// Bytes buffered before the prefilter runs.
pub const BLOCK: usize = 32 * 1024;

/// Literal hits in a block before their density is judged.
const DENSE_HITS: usize = 32;

/// Above one literal hit per this many bytes, the rest of the block is searched without the
/// SIMD prefilter, whose restart per hit then costs more than it skips.
const DENSE_GAP: usize = 64;

/// A confirmed match, with the raw bytes of its snippet (redact before showing them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawMatch {
    /// The rule that matched.
    pub rule: RuleId,
    /// Offset of the match in the scanned part (after decoding).
    pub start: u64,
    /// Offset just past the match.
    pub end: u64,
    /// Up to [`SNIPPET_CONTEXT`] bytes either side of the match, and the match.
    pub context: Vec<u8>,
    /// Where the match lies in `context`.
    pub within: Range<usize>,
    /// Whether the part continues before / after `context` (so an edge may cut a token).
    pub cut: (bool, bool),
}

impl RawMatch {
    /// SHA-256 of the matched bytes (the dedup key; never the bytes themselves). Computed on
    /// demand: most matches in a head are expected use and never need one.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(&self.context[self.within.clone()]).into()
    }
}

/// Streaming scanner state for one part. Reusable via [`StreamScanner::reset`].
#[derive(Debug)]
pub struct StreamScanner {
    direction: Direction,
    buf: Vec<u8>,
    /// Offset in the part of `buf[0]`.
    base: u64,
    /// Hits starting before this offset have been confirmed or rejected.
    next_hit: u64,
    /// Per rule: end of its last match, to keep matches of one rule apart.
    last_end: Vec<u64>,
    candidates: Vec<(usize, RuleId)>,
    /// Lower-cased copy of the block, for case-insensitive literals.
    folded: Vec<u8>,
    scanned: u64,
    budget: u64,
    truncated: bool,
}

impl StreamScanner {
    /// A scanner for parts travelling in `direction`, scanning at most `budget` bytes per part.
    pub fn new(registry: &Registry, direction: Direction, budget: u64) -> Self {
        StreamScanner {
            direction,
            buf: Vec::new(),
            base: 0,
            next_hit: 0,
            last_end: vec![0; registry.rules().count()],
            candidates: Vec::new(),
            folded: Vec::new(),
            scanned: 0,
            budget,
            truncated: false,
        }
    }

    /// Starts a new part.
    pub fn reset(&mut self) {
        if self.buf.capacity() > 2 * BLOCK {
            self.buf = Vec::new();
        }
        self.buf.clear();
        self.base = 0;
        self.next_hit = 0;
        self.last_end.iter_mut().for_each(|e| *e = 0);
        self.scanned = 0;
        self.truncated = false;
    }

    /// Bytes accepted into this part so far.
    pub fn scanned(&self) -> u64 {
        self.scanned
    }

    /// Whether the budget cut this part short.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Scans more bytes of the part. Returns `false` once the budget is used up (later bytes
    /// are ignored, and counted by the caller as unscanned).
    pub fn push(&mut self, registry: &Registry, data: &[u8], out: &mut Vec<RawMatch>) -> bool {
        let mut data = self.within_budget(data);
        while !data.is_empty() {
            let take = (BLOCK.saturating_sub(self.buf.len()))
                .max(1)
                .min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buf.len() >= BLOCK {
                self.process(registry, false, out);
            }
        }
        !self.truncated
    }

    /// The part ended: confirms what is left.
    pub fn finish(&mut self, registry: &Registry, out: &mut Vec<RawMatch>) {
        self.process(registry, true, out);
    }

    /// The part's last bytes: [`Self::push`] then [`Self::finish`], in one call. When they are
    /// the whole part (nothing buffered yet), they are searched where they lie instead of
    /// being copied into the block buffer first; the matches are the same.
    pub fn push_last(&mut self, registry: &Registry, data: &[u8], out: &mut Vec<RawMatch>) -> bool {
        if !self.buf.is_empty() || self.base != 0 {
            let more = self.push(registry, data, out);
            self.finish(registry, out);
            return more;
        }
        let data = self.within_budget(data);
        self.search(registry, data, true, out);
        self.base = data.len() as u64;
        self.next_hit = self.base;
        !self.truncated
    }

    /// The part of `data` the budget still admits, counted as scanned (the rest marks the part
    /// truncated).
    fn within_budget<'d>(&mut self, data: &'d [u8]) -> &'d [u8] {
        let room = self.budget.saturating_sub(self.scanned);
        let data = if (data.len() as u64) > room {
            self.truncated = true;
            &data[..room as usize]
        } else {
            data
        };
        self.scanned += data.len() as u64;
        data
    }

    fn process(&mut self, registry: &Registry, last: bool, out: &mut Vec<RawMatch>) {
        let buf = std::mem::take(&mut self.buf);
        let len = buf.len();
        let limit = self.search(registry, &buf, last, out);
        self.buf = buf;
        self.next_hit = self.base + limit as u64;
        let keep_from = limit.saturating_sub(LOOKBACK.max(SNIPPET_CONTEXT));
        if last {
            self.buf.clear();
            self.base += len as u64;
            self.next_hit = self.base;
        } else if keep_from > 0 {
            self.buf.drain(..keep_from);
            self.base += keep_from as u64;
        }
    }

    /// Confirms the hits in `buf` (the part from offset `base` on) that start before the
    /// returned limit: all of them when `last`, else those whose window lies inside `buf`.
    fn search(
        &mut self,
        registry: &Registry,
        buf: &[u8],
        last: bool,
        out: &mut Vec<RawMatch>,
    ) -> usize {
        let index = registry.index(self.direction);
        let len = buf.len();
        let from = usize::try_from(self.next_hit - self.base)
            .unwrap_or(len)
            .min(len);
        let need = index.max_match_len + SNIPPET_CONTEXT + 1;
        let limit = if last {
            len
        } else {
            len.saturating_sub(need).max(from)
        };
        let search_end = if last {
            len
        } else {
            (limit + index.max_literal_len.saturating_sub(1)).min(len)
        };
        collect_candidates(
            registry,
            true,
            index,
            &buf[from..search_end],
            &mut self.folded,
            from,
            limit,
            &mut self.candidates,
        );
        for &(p, rule) in &self.candidates {
            if self.base + (p as u64) < self.last_end[usize::from(rule.0)] {
                continue;
            }
            match confirm(registry, rule, buf, p, true, Engine::Fastest) {
                Confirmed::Match(end) => {
                    self.last_end[usize::from(rule.0)] = self.base + end as u64;
                    out.push(raw_match(rule, buf, p..end, self.base, last));
                }
                Confirmed::Consumed(end) => {
                    self.last_end[usize::from(rule.0)] = self.base + end as u64
                }
                Confirmed::No => {}
            }
        }
        limit
    }
}

/// Literal hits of `index` in `hay` (which sits at `offset` of the buffer) that start before
/// `limit`, as sorted, deduplicated (position, rule) pairs. See
/// [`Searcher`](super::registry::Searcher) for why this finds every literal occurrence although
/// the search does not report overlapping matches.
#[allow(clippy::too_many_arguments)]
fn collect_candidates(
    registry: &Registry,
    prefilter_boundary: bool,
    index: &Index,
    hay: &[u8],
    folded: &mut Vec<u8>,
    offset: usize,
    limit: usize,
    out: &mut Vec<(usize, RuleId)>,
) {
    out.clear();
    let limit_in_hay = limit.saturating_sub(offset);
    let mut folded_ready = false;
    for searcher in &index.searchers {
        if hay.len() < searcher.min_literal_len.max(1) {
            continue;
        }
        let hay = if searcher.folded {
            if !folded_ready {
                // One pass that the compiler vectorises (a zeroed buffer filled in place
                // was two).
                folded.clear();
                folded.extend(hay.iter().map(u8::to_ascii_lowercase));
                folded_ready = true;
            }
            folded.as_slice()
        } else {
            hay
        };
        // Start with the SIMD searcher; switch to the dense DFA for the rest of the block once
        // hits come more often than one per DENSE_GAP bytes. Both report the same
        // leftmost-longest matches, and resuming at a match's end is what `find_iter` does.
        let (mut at, mut hits, mut dense) = (0, 0usize, false);
        while let Some(hit) = searcher.find_from(hay, at, dense) {
            if hit.start() >= limit_in_hay {
                break;
            }
            let literal = hit.pattern().as_usize();
            push_allowed(
                out,
                registry,
                &searcher.rules[literal],
                hay,
                hit.start(),
                offset,
                prefilter_boundary,
            );
            for &o in &searcher.overlaps[literal] {
                let q = hit.start() + o;
                if q >= limit_in_hay {
                    break;
                }
                if !searcher.may_start(&hay[q..]) {
                    continue;
                }
                let input = Input::new(hay).span(q..hay.len()).anchored(Anchored::Yes);
                if let Some(inner) = searcher.automaton.find(input) {
                    push_allowed(
                        out,
                        registry,
                        &searcher.rules[inner.pattern().as_usize()],
                        hay,
                        q,
                        offset,
                        prefilter_boundary,
                    );
                }
            }
            at = hit.end();
            hits += 1;
            dense = dense || (hits >= DENSE_HITS && hits * DENSE_GAP > at);
        }
    }
    out.sort_unstable();
    out.dedup();
}

/// Queues `rules` at `at` (a position in `hay`), skipping those whose boundary forbids the byte
/// before (only when `check` is on: redaction over-matches on purpose).
fn push_allowed(
    out: &mut Vec<(usize, RuleId)>,
    registry: &Registry,
    rules: &[RuleId],
    hay: &[u8],
    at: usize,
    offset: usize,
    check: bool,
) {
    // The byte before `at` may lie before `hay` (in the buffer): the caller passes hay starting
    // at `from`, and boundary checks there are repeated in `confirm`, so only filter inside hay.
    let prev = at.checked_sub(1).map(|i| hay[i]);
    for &r in rules {
        if !check || at == 0 || registry.rule(r).boundary.allows(prev) {
            out.push((offset + at, r));
        }
    }
}

/// The outcome of trying a rule at a candidate position.
enum Confirmed {
    /// A match ending here.
    Match(usize),
    /// No finding, but the regex's span up to here belongs to this occurrence (a command's
    /// argument list): the rule is not tried again inside it.
    Consumed(usize),
    /// Nothing.
    No,
}

/// How a rule's match is found: by its shape where it has one, or always by its regex (the
/// reference scan, which the scanner is tested against).
#[derive(Clone, Copy)]
enum Engine {
    Fastest,
    Regex,
}

/// Runs `rule` anchored at `p` (boundary, regex, check).
fn confirm(
    registry: &Registry,
    rule: RuleId,
    buf: &[u8],
    p: usize,
    checked: bool,
    engine: Engine,
) -> Confirmed {
    let compiled = registry.rule(rule);
    if checked && !compiled.boundary.allows(p.checked_sub(1).map(|i| buf[i])) {
        return Confirmed::No;
    }
    let window_end = (p + compiled.max_len + 1).min(buf.len());
    let window = &buf[p..window_end];
    let found = match engine {
        Engine::Fastest => compiled.match_end(window),
        Engine::Regex => compiled.regex_match_end(window),
    };
    let Some(end) = found.map(|e| p + e) else {
        return Confirmed::No;
    };
    if end == p {
        return Confirmed::No;
    }
    let ctx = MatchContext {
        before: &buf[p.saturating_sub(LOOKBACK)..p],
        matched: &buf[p..end],
        after: &buf[end..(end + SNIPPET_CONTEXT).min(buf.len())],
    };
    match compiled.check {
        Some(check) if checked && !check(&ctx) => {
            if compiled.consumes_rejected {
                Confirmed::Consumed(end)
            } else {
                Confirmed::No
            }
        }
        _ => Confirmed::Match(end),
    }
}

fn raw_match(rule: RuleId, buf: &[u8], m: Range<usize>, base: u64, last: bool) -> RawMatch {
    let start = m.start.saturating_sub(SNIPPET_CONTEXT);
    let end = (m.end + SNIPPET_CONTEXT).min(buf.len());
    RawMatch {
        rule,
        start: base + m.start as u64,
        end: base + m.end as u64,
        context: buf[start..end].to_vec(),
        within: m.start - start..m.end - start,
        cut: (base + (start as u64) > 0, !(last && end == buf.len())),
    }
}

/// Every match of the rules in `index` in a small complete buffer, checks skipped (used for
/// redaction, where over-matching is the safe side). Per rule, matches do not overlap.
pub(crate) fn find_all_unchecked(
    registry: &Registry,
    index: &Index,
    hay: &[u8],
) -> Vec<(RuleId, Range<usize>)> {
    let mut candidates = Vec::new();
    collect_candidates(
        registry,
        false,
        index,
        hay,
        &mut Vec::new(),
        0,
        hay.len(),
        &mut candidates,
    );
    let mut found: Vec<(RuleId, Range<usize>)> = Vec::new();
    for (p, rule) in candidates {
        if found
            .iter()
            .any(|(r, range)| *r == rule && range.contains(&p))
        {
            continue;
        }
        if let Confirmed::Match(end) = confirm(registry, rule, hay, p, false, Engine::Fastest) {
            found.push((rule, p..end));
        }
    }
    found
}

/// The reference the scanner is tested against: every position, every rule, no prefilter,
/// no streaming. Quadratic; for tests only.
pub fn reference_scan(
    registry: &Registry,
    direction: Direction,
    part: &[u8],
) -> Vec<(RuleId, Range<u64>)> {
    let mut last_end = vec![0usize; registry.rules().count()];
    let mut found = Vec::new();
    for p in 0..part.len() {
        for (id, rule) in registry.rules() {
            if rule.direction != direction
                || !registry.is_active(id)
                || p < last_end[usize::from(id.0)]
            {
                continue;
            }
            match confirm(registry, id, part, p, true, Engine::Regex) {
                Confirmed::Match(end) => {
                    last_end[usize::from(id.0)] = end;
                    found.push((id, p as u64..end as u64));
                }
                Confirmed::Consumed(end) => last_end[usize::from(id.0)] = end,
                Confirmed::No => {}
            }
        }
    }
    found
}
