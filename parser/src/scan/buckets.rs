//! Literal order for the SIMD prefilter.
//!
//! `aho-corasick`'s Teddy puts each literal in one of 8 (slim) or 16 (fat) buckets and, for each
//! bucket, tests a block of text against the union of its literals' first bytes, nibble by
//! nibble: a bucket holding `AIza` and `/etc` also fires on `Ata` and `/Iz`. Every firing costs a
//! verification of each literal in the bucket, so which literals share a bucket decides how fast
//! the search runs: on the bench traffic, random literal orders ran between 0.5× and 1.9× the
//! rule table's order.
//!
//! Teddy assigns literal `i` to bucket `B - 1 - i % B` (literals whose first bytes have the same
//! low nibbles share the first one's bucket), so the order the literals are given in is the
//! assignment. [`teddy_order`] picks that order to minimise the expected verifications per byte
//! under a fixed model of HTTP payloads (`Model`): bytes drawn from English-like text with the
//! punctuation of JSON, HTML and URLs or at random, plus the windows of common English, code
//! and JSON words (whose letters are not independent). The model is written from what such
//! traffic looks like, not fitted to a benchmark; it was checked on this repository's own
//! sources as well as on the bench traffic. If `aho-corasick` ever assigns buckets differently,
//! this costs speed, never matches: the order of literals has no effect on what is found.

/// Bytes of each literal that Teddy fingerprints, at most.
const MAX_MASK: usize = 4;

/// Literal counts above which Teddy uses 16 buckets instead of 8.
const SLIM_LIMIT: usize = 32;

/// Literal counts above which `aho-corasick` does not use Teddy at all (and order is moot).
const TEDDY_LIMIT: usize = 64;

/// A permutation of `0..literals.len()`: the order to hand the literals to the searcher in.
pub(crate) fn teddy_order(literals: &[Vec<u8>]) -> Vec<usize> {
    let n = literals.len();
    let mask = literals
        .iter()
        .map(Vec::len)
        .min()
        .unwrap_or(0)
        .min(MAX_MASK);
    if !(2..=TEDDY_LIMIT).contains(&n) || mask == 0 {
        return (0..n).collect();
    }
    let buckets = if n > SLIM_LIMIT { 16 } else { 8 };
    let low_nibbles = |i: usize| -> [u8; MAX_MASK] {
        let mut nibbles = [0u8; MAX_MASK];
        for (n, b) in nibbles.iter_mut().zip(&literals[i][..mask]) {
            *n = b & 0xf;
        }
        nibbles
    };

    // Literals Teddy will put together anyway form one item; its longest literal (the first
    // Teddy meets, as it walks literals longest first) decides the bucket.
    let mut items: Vec<Vec<usize>> = Vec::new();
    for i in 0..n {
        match items
            .iter_mut()
            .find(|item| low_nibbles(item[0]) == low_nibbles(i))
        {
            Some(item) => item.push(i),
            None => items.push(vec![i]),
        }
    }
    for item in &mut items {
        // Longest first; the stable sort keeps the earlier literal first on ties.
        item.sort_by_key(|&i| std::cmp::Reverse(literals[i].len()));
    }
    // Each bucket gets the item count round-robin gives it (the order below relies on that).
    // Start with sorted items dealt in runs, so literals sharing leading bytes share a bucket,
    // then swap items between buckets while that lowers the expected cost; swaps keep counts.
    items.sort_by(|a, b| literals[a[0]].cmp(&literals[b[0]]));
    let mut counts = vec![0usize; buckets];
    for p in 0..items.len() {
        counts[buckets - 1 - p % buckets] += 1;
    }
    let mut members: Vec<Vec<usize>> = Vec::with_capacity(buckets);
    let mut next = 0;
    for &count in &counts {
        members.push((next..next + count).collect());
        next += count;
    }
    let masks: Vec<ItemMask> = items
        .iter()
        .map(|item| ItemMask::new(item.iter().map(|&i| &literals[i][..mask])))
        .collect();
    let model = Model::new(mask);
    let cost = |bucket: &[usize]| model.bucket_cost(bucket.iter().map(|&i| &masks[i]));
    let mut costs: Vec<f64> = members.iter().map(|m| cost(m)).collect();
    for _ in 0..16 {
        let mut improved = false;
        for a in 0..buckets {
            for b in a + 1..buckets {
                for x in 0..members[a].len() {
                    for y in 0..members[b].len() {
                        swap(&mut members, (a, x), (b, y));
                        let (ca, cb) = (cost(&members[a]), cost(&members[b]));
                        if ca + cb < (costs[a] + costs[b]) * 0.999 {
                            (costs[a], costs[b]) = (ca, cb);
                            improved = true;
                        } else {
                            swap(&mut members, (a, x), (b, y));
                        }
                    }
                }
            }
        }
        if !improved {
            break;
        }
    }

    // Position p lands in bucket B - 1 - p % B: deal each bucket's items into its positions,
    // then append the literals that follow their item's first.
    let mut queues: Vec<Vec<usize>> = members
        .iter()
        .map(|bucket| bucket.iter().rev().map(|&item| items[item][0]).collect())
        .collect();
    let mut order = Vec::with_capacity(n);
    for p in 0..items.len() {
        if let Some(i) = queues[buckets - 1 - p % buckets].pop() {
            order.push(i);
        }
    }
    order.extend(items.iter().flat_map(|item| item[1..].iter().copied()));
    debug_assert_eq!(order.len(), n);
    order
}

/// Exchanges two items between buckets `a.0 < b.0`.
fn swap(members: &mut [Vec<usize>], a: (usize, usize), b: (usize, usize)) {
    let (left, right) = members.split_at_mut(b.0);
    std::mem::swap(&mut left[a.0][a.1], &mut right[0][b.1]);
}

/// The nibbles an item's literals put into a bucket's fingerprint, per byte position.
struct ItemMask {
    lo: [u16; MAX_MASK],
    hi: [u16; MAX_MASK],
    literals: usize,
}

impl ItemMask {
    fn new<'a>(prefixes: impl Iterator<Item = &'a [u8]>) -> Self {
        let mut m = ItemMask {
            lo: [0; MAX_MASK],
            hi: [0; MAX_MASK],
            literals: 0,
        };
        for prefix in prefixes {
            for (j, &b) in prefix.iter().enumerate().take(MAX_MASK) {
                m.lo[j] |= 1 << (b & 0xf);
                m.hi[j] |= 1 << (b >> 4);
            }
            m.literals += 1;
        }
        m
    }
}

/// What a bucket's firing is judged against: independent bytes ([`byte_weights`]) plus the
/// windows of common words, whose letters are not independent (`return` fires a bucket built
/// from `telnet`, `ruby` and `perl` far more often than letter frequencies suggest).
struct Model {
    mask: usize,
    weights: [f64; 256],
    /// Per first byte, the windows starting with it: each position's low and high nibble as
    /// one-bit sets, and the window's weight.
    windows: Vec<Vec<Window>>,
}

type Window = ([(u16, u16); MAX_MASK], f64);

impl Model {
    fn new(mask: usize) -> Self {
        let mut windows: Vec<Vec<Window>> = vec![Vec::new(); 256];
        for &(word, per_mille) in COMMON_WORDS {
            let framed = format!(" {word} ");
            for w in framed.as_bytes().windows(mask) {
                let mut key = [(0u16, 0u16); MAX_MASK];
                for (k, &b) in key.iter_mut().zip(w) {
                    *k = (1 << (b & 0xf), 1 << (b >> 4));
                }
                let list = &mut windows[usize::from(w[0])];
                match list.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, p)) => *p += per_mille / 1000.0,
                    None => list.push((key, per_mille / 1000.0)),
                }
            }
        }
        Model {
            mask,
            weights: byte_weights(),
            windows,
        }
    }

    /// Expected verifications per byte for a bucket: the probability that it fires times its
    /// literals. A bucket fires where every position's byte has both nibbles among those of
    /// the bucket's literals there.
    fn bucket_cost<'a>(&self, items: impl Iterator<Item = &'a ItemMask>) -> f64 {
        let (mut lo, mut hi, mut literals) = ([0u16; MAX_MASK], [0u16; MAX_MASK], 0);
        for item in items {
            for j in 0..self.mask {
                lo[j] |= item.lo[j];
                hi[j] |= item.hi[j];
            }
            literals += item.literals;
        }
        let independent: f64 = (0..self.mask)
            .map(|j| {
                let mut p = 0.0;
                for h in bits(hi[j]) {
                    for l in bits(lo[j]) {
                        p += self.weights[h << 4 | l];
                    }
                }
                p
            })
            .product();
        // Only windows whose first byte the bucket accepts can match.
        let mut words = 0.0;
        for h in bits(hi[0]) {
            for l in bits(lo[0]) {
                words += (self.windows[h << 4 | l].iter())
                    .filter(|(w, _)| {
                        (1..self.mask).all(|j| lo[j] & w[j].0 != 0 && hi[j] & w[j].1 != 0)
                    })
                    .map(|(_, p)| p)
                    .sum::<f64>();
            }
        }
        (independent + words) * literals as f64
    }
}

/// Words common in HTTP payloads of AI agents (English prose, source code in several
/// languages, JSON and HTTP vocabulary), with rough occurrences per thousand bytes. A model of
/// text in general, not of any benchmark.
const COMMON_WORDS: &[(&str, f64)] = &[
    ("the", 8.0),
    ("and", 4.0),
    ("of", 4.0),
    ("to", 4.0),
    ("in", 3.0),
    ("is", 2.0),
    ("that", 1.5),
    ("for", 1.5),
    ("it", 1.5),
    ("with", 1.0),
    ("as", 1.0),
    ("on", 1.0),
    ("this", 1.0),
    ("be", 1.0),
    ("are", 1.0),
    ("you", 1.0),
    ("from", 0.8),
    ("or", 0.8),
    ("not", 0.8),
    ("have", 0.6),
    ("by", 0.6),
    ("an", 0.6),
    ("was", 0.5),
    ("will", 0.4),
    ("can", 0.4),
    ("all", 0.4),
    ("which", 0.3),
    ("there", 0.3),
    ("their", 0.3),
    ("if", 0.8),
    ("return", 0.8),
    ("function", 0.4),
    ("const", 0.4),
    ("let", 0.4),
    ("var", 0.2),
    ("self", 0.6),
    ("def", 0.3),
    ("class", 0.3),
    ("import", 0.3),
    ("else", 0.3),
    ("new", 0.3),
    ("true", 0.4),
    ("false", 0.4),
    ("null", 0.4),
    ("none", 0.2),
    ("string", 0.3),
    ("print", 0.2),
    ("while", 0.1),
    ("http", 0.4),
    ("https", 0.3),
    ("json", 0.2),
    ("type", 0.4),
    ("content", 0.4),
    ("data", 0.4),
    ("name", 0.4),
    ("value", 0.3),
    ("text", 0.3),
    ("error", 0.2),
    ("message", 0.2),
    ("id", 0.4),
    ("user", 0.2),
    ("file", 0.2),
    ("path", 0.2),
];

/// The indices of the set bits of a nibble set.
fn bits(mut set: u16) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        let i = set.trailing_zeros() as usize;
        set &= set.wrapping_sub(1);
        (i < 16).then_some(i)
    })
}

/// The payload model: three quarters text (English letter frequencies, spaces, digits and the
/// punctuation of JSON, HTML and URLs), one quarter uniformly random bytes (compressed or
/// binary bodies). Weights sum to 1.
fn byte_weights() -> [f64; 256] {
    const LETTERS: &[u8] = b"etaoinshrdlcumwfgypbvkjxqz";
    const LETTER_PERCENT: [f64; 26] = [
        12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8, 2.4, 2.4, 2.2, 2.0, 2.0,
        1.9, 1.5, 1.0, 0.8, 0.15, 0.15, 0.1, 0.07,
    ];
    const PUNCTUATION: &[u8] = b"\"':,./-_={}<>()[];\n\r\t&?%#!+*@";
    let mut text = [0.0f64; 256];
    let letter_total: f64 = LETTER_PERCENT.iter().sum();
    for (&c, &pct) in LETTERS.iter().zip(&LETTER_PERCENT) {
        text[usize::from(c)] += 0.55 * pct / letter_total;
        text[usize::from(c.to_ascii_uppercase())] += 0.05 * pct / letter_total;
    }
    text[usize::from(b' ')] += 0.15;
    for d in b'0'..=b'9' {
        text[usize::from(d)] += 0.06 / 10.0;
    }
    for &p in PUNCTUATION {
        text[usize::from(p)] += 0.17 / PUNCTUATION.len() as f64;
    }
    let text_total: f64 = text.iter().sum();
    let mut weights = [0.0f64; 256];
    for (w, t) in weights.iter_mut().zip(&text) {
        *w = 0.75 * t / text_total + 0.25 / 256.0;
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_permutation(order: &[usize], n: usize) -> bool {
        let mut seen = vec![false; n];
        order.len() == n
            && order
                .iter()
                .all(|&i| i < n && !std::mem::replace(&mut seen[i], true))
    }

    #[test]
    fn order_is_a_permutation() {
        for n in [0, 1, 2, 7, 8, 9, 31, 32, 33, 48, 64] {
            let literals: Vec<Vec<u8>> =
                (0..n).map(|i| format!("lit{i:03}x").into_bytes()).collect();
            assert!(is_permutation(&teddy_order(&literals), n), "n = {n}");
        }
    }

    #[test]
    fn more_literals_than_teddy_takes_keep_their_order() {
        // Many `patterns.extra` literals: no search (it would be slow and pointless).
        let literals: Vec<Vec<u8>> = (0..400).map(|i| format!("x{i:04}").into_bytes()).collect();
        assert_eq!(teddy_order(&literals), (0..400).collect::<Vec<_>>());
    }

    #[test]
    fn literals_sharing_low_nibbles_keep_their_longest_first() {
        // `invoke-…` share their first four bytes: the longest must come first.
        let literals: Vec<Vec<u8>> = [
            "iex",
            "invoke-webrequest",
            "invoke-expression",
            "cmd",
            "invoke-restmethod",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        let order = teddy_order(&literals);
        assert!(is_permutation(&order, literals.len()));
        let first_invoke = order.iter().position(|&i| literals[i].starts_with(b"invo"));
        let longest = order[first_invoke.unwrap_or(0)];
        assert_eq!(literals[longest].len(), 17);
    }

    #[test]
    fn similar_literals_cost_less_together() {
        // `/etc`-like literals and upper-case key prefixes: mixing them widens every position's
        // nibble sets, so keeping them apart must cost less.
        let model = Model::new(4);
        let cost = |a: &[u8], b: &[u8]| {
            let items = [
                ItemMask::new([a].into_iter()),
                ItemMask::new([b].into_iter()),
            ];
            model.bucket_cost(items.iter())
        };
        let apart = cost(b"/etc", b"/etx") + cost(b"AKIA", b"AKIB");
        let mixed = cost(b"/etc", b"AKIA") + cost(b"/etx", b"AKIB");
        assert!(apart < mixed);
    }

    #[test]
    fn common_words_make_a_bucket_costly() {
        // `telnet`, `ruby` and `perl` together accept `turn` (from `return`).
        let model = Model::new(4);
        let cost = |literals: &[&[u8]]| {
            let items: Vec<ItemMask> = literals
                .iter()
                .map(|l| ItemMask::new([*l].into_iter()))
                .collect();
            model.bucket_cost(items.iter())
        };
        let with_turn = cost(&[b"teln", b"ruby", b"perl"]);
        let without = cost(&[b"teln", b"wget", b"perl"]);
        assert!(with_turn > 2.0 * without, "{with_turn} vs {without}");
    }

    #[test]
    fn the_order_groups_similar_literals() {
        // Nine literals, eight buckets: one bucket holds two. Any two of the common words
        // together widen a fingerprint over frequent letters; the two `/et` paths together
        // only widen their last byte, so they must be the pair.
        let literals: Vec<Vec<u8>> = [
            "then", "/etc", "sort", "line", "word", "/etx", "read", "node", "test",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        let order = teddy_order(&literals);
        let bucket = |i: usize| {
            let p = order.iter().position(|&o| o == i).unwrap_or(usize::MAX);
            7 - p % 8
        };
        assert_eq!(bucket(1), bucket(5), "order {order:?}");
    }

    #[test]
    fn weights_are_a_distribution() {
        let sum: f64 = byte_weights().iter().sum();
        assert!((sum - 1.0).abs() < 1e-9);
    }
}
