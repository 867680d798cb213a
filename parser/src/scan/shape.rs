//! A rule's regex, when it is a set of alternatives each made of fixed bytes (literals or
//! classes) and at most one greedy repetition of a byte class at its end — what the token
//! rules look like (`sk-(?:proj-|admin-)?[A-Za-z0-9_-]{20,200}|AIza[A-Za-z0-9_-]{35}|…`) — is
//! confirmed without a regex engine: each alternative in the regex's order of preference is
//! tried at the candidate, and the first whose fixed bytes match and whose run is long enough
//! gives the match, the run taken as long as it goes up to its maximum. That is what a
//! backtracking engine does, and so the leftmost-first match the regex finds.
//!
//! An automaton walks such a match one dependent table lookup per byte (about 2 ns a byte on
//! an API key, lazy or full DFA alike); here the bytes of a run are tested independently.
//! Every rule that does not have this shape keeps its regex.

use regex_syntax::hir::{Class, Hir, HirKind};

/// Alternatives expanded at most (a rule with more keeps its regex).
const MAX_ALTERNATIVES: usize = 64;

/// Fixed bytes an alternative may hold at most.
const MAX_FIXED: usize = 64;

/// A set of bytes.
#[derive(Clone, PartialEq, Eq)]
struct ByteSet([bool; 256]);

impl std::fmt::Debug for ByteSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let members: Vec<u8> = (0..=255u8).filter(|&b| self.contains(b)).collect();
        write!(f, "{:?}", members.escape_ascii().to_string())
    }
}

impl ByteSet {
    fn of_byte(b: u8) -> Self {
        let mut set = [false; 256];
        set[usize::from(b)] = true;
        ByteSet(set)
    }

    fn of_class(class: &Class) -> Option<Self> {
        let Class::Bytes(bytes) = class else {
            return None;
        };
        let mut set = [false; 256];
        for range in bytes.ranges() {
            for b in range.start()..=range.end() {
                set[usize::from(b)] = true;
            }
        }
        Some(ByteSet(set))
    }

    fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b)]
    }
}

/// One alternative: fixed bytes, then optionally a greedy run of `min..=max` bytes of a set.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Alternative {
    fixed: Vec<ByteSet>,
    run: Option<(ByteSet, usize, usize)>,
}

impl Alternative {
    fn empty() -> Self {
        Alternative {
            fixed: Vec::new(),
            run: None,
        }
    }

    /// `self` then `next`, if the result still has its run (if any) last.
    fn then(&self, next: &Alternative) -> Option<Alternative> {
        if self.run.is_some() && (!next.fixed.is_empty() || next.run.is_some()) {
            return None;
        }
        let mut fixed = self.fixed.clone();
        fixed.extend(next.fixed.iter().cloned());
        (fixed.len() <= MAX_FIXED).then(|| Alternative {
            fixed,
            run: self.run.clone().or_else(|| next.run.clone()),
        })
    }

    /// The end of this alternative's match at the start of `hay`.
    fn end(&self, hay: &[u8]) -> Option<usize> {
        let n = self.fixed.len();
        if hay.len() < n || !self.fixed.iter().zip(hay).all(|(set, &b)| set.contains(b)) {
            return None;
        }
        let Some((set, min, max)) = &self.run else {
            return Some(n);
        };
        let run = hay[n..]
            .iter()
            .take(*max)
            .take_while(|&&b| set.contains(b))
            .count();
        (run >= *min).then_some(n + run)
    }
}

/// A regex of the shape the module docs describe, as its alternatives in order of preference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Shape {
    alternatives: Vec<Alternative>,
}

impl Shape {
    /// The shape of `regex` (parsed as the rules are: bytes, no Unicode), or `None` when it has
    /// another.
    pub(crate) fn of(regex: &str) -> Option<Self> {
        let hir = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .build()
            .parse(regex)
            .ok()?;
        let alternatives = expand(&hir)?;
        Some(Shape { alternatives })
    }

    /// The end of the leftmost-first match anchored at the start of `hay`, as the regex finds
    /// it on the same bytes.
    pub(crate) fn match_end(&self, hay: &[u8]) -> Option<usize> {
        self.alternatives.iter().find_map(|a| a.end(hay))
    }
}

/// The alternatives of `hir` in order of preference, or `None` if it is not of the shape.
fn expand(hir: &Hir) -> Option<Vec<Alternative>> {
    let single = |fixed: Vec<ByteSet>| Some(vec![Alternative { fixed, run: None }]);
    match hir.kind() {
        HirKind::Empty => Some(vec![Alternative::empty()]),
        HirKind::Literal(literal) => {
            single(literal.0.iter().map(|&b| ByteSet::of_byte(b)).collect())
        }
        HirKind::Class(class) => single(vec![ByteSet::of_class(class)?]),
        HirKind::Capture(capture) => expand(&capture.sub),
        HirKind::Alternation(subs) => {
            let mut all = Vec::new();
            for sub in subs {
                all.extend(expand(sub)?);
                if all.len() > MAX_ALTERNATIVES {
                    return None;
                }
            }
            Some(all)
        }
        HirKind::Concat(subs) => {
            let mut all = vec![Alternative::empty()];
            for sub in subs {
                let next = expand(sub)?;
                let mut joined = Vec::with_capacity(all.len() * next.len());
                // The earlier part's choices are tried first: they are the outer loop.
                for a in &all {
                    for b in &next {
                        joined.push(a.then(b)?);
                    }
                }
                if joined.len() > MAX_ALTERNATIVES {
                    return None;
                }
                all = joined;
            }
            Some(all)
        }
        HirKind::Repetition(rep) => {
            let max = usize::try_from(rep.max?).ok()?;
            let min = usize::try_from(rep.min).ok()?;
            let set = match rep.sub.kind() {
                HirKind::Class(class) => ByteSet::of_class(class),
                HirKind::Literal(literal) if literal.0.len() == 1 => {
                    Some(ByteSet::of_byte(literal.0[0]))
                }
                _ => None,
            };
            match set {
                // A fixed count is fixed bytes; otherwise a run, which must end its alternative.
                Some(set) if min == max && min <= MAX_FIXED => single(vec![set; min]),
                Some(set) if rep.greedy => Some(vec![Alternative {
                    fixed: Vec::new(),
                    run: Some((set, min, max)),
                }]),
                // `x?` over anything else: with it first when greedy.
                None if min == 0 && max == 1 => {
                    let with = expand(&rep.sub)?;
                    let without = Alternative::empty();
                    Some(if rep.greedy {
                        with.into_iter().chain([without]).collect()
                    } else {
                        std::iter::once(without).chain(with).collect()
                    })
                }
                _ => None,
            }
        }
        HirKind::Look(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::builtin_rules;
    use proptest::prelude::*;
    use regex::bytes::{Regex, RegexBuilder};

    fn anchored(regex: &str) -> Regex {
        RegexBuilder::new(&format!("^(?:{regex})"))
            .unicode(false)
            .build()
            .expect("compiles")
    }

    #[test]
    fn the_token_rules_have_the_shape_and_the_others_do_not() {
        let shaped: Vec<String> = builtin_rules()
            .iter()
            .filter(|r| Shape::of(&r.regex).is_some())
            .map(|r| r.id.clone())
            .collect();
        for id in ["ai_api_key", "aws_access_key_id", "code_host_token"] {
            assert!(shaped.iter().any(|s| s == id), "{id}: {shaped:?}");
        }
        for id in [
            "reverse_shell",
            "pipe_to_shell",
            "destructive_rm",
            "private_key_pem",
        ] {
            assert!(!shaped.iter().any(|s| s == id), "{id}: {shaped:?}");
        }
    }

    #[test]
    fn preference_follows_the_regex_not_the_length() {
        // Leftmost-first: the first alternative that matches wins, even when shorter.
        let s = Shape::of("ab|abc[0-9]{1,3}").expect("shaped");
        assert_eq!(s.match_end(b"abc123"), Some(2));
        let s = Shape::of("(?:x-)?[a-z-]{2,4}").expect("shaped");
        assert_eq!(s.match_end(b"x-ab"), Some(4));
        assert_eq!(
            s.match_end(b"x-a"),
            Some(3),
            "the group gives way to the run"
        );
        let s = Shape::of("(?:x-)??[a-z-]{2,4}").expect("shaped");
        assert_eq!(
            s.match_end(b"x-abcd"),
            Some(4),
            "a lazy group is tried last"
        );
        for other in [
            "a[0-9]{1,3}b",
            "a+",
            r"a\b",
            "(?:ab){2,3}",
            "a[0-9]{1,3}|b{1,2}c",
        ] {
            assert_eq!(Shape::of(other), None, "{other}");
        }
    }

    /// Haystacks near a rule's matches: one of its literal-looking prefixes (taken from the
    /// regex text's own words) or random bytes, then bytes from token alphabets and breaks.
    fn haystack() -> impl Strategy<Value = Vec<u8>> {
        let starts = prop_oneof![
            Just(b"sk-".to_vec()),
            Just(b"sk-proj-".to_vec()),
            Just(b"sk-ant-api03-".to_vec()),
            Just(b"sk-or-v1-".to_vec()),
            Just(b"AIza".to_vec()),
            Just(b"hf_".to_vec()),
            Just(b"gsk_".to_vec()),
            Just(b"AKIA".to_vec()),
            Just(b"A3TX".to_vec()),
            Just(b"ghp_".to_vec()),
            Just(b"github_pat_".to_vec()),
            Just(b"glpat-".to_vec()),
            Just(b"npm_".to_vec()),
            Just(b"pypi-AgE".to_vec()),
            Just(b"dckr_pat_".to_vec()),
            Just(b"xoxb-".to_vec()),
            Just(b"/.env".to_vec()),
            Just(b"'.env.".to_vec()),
            Just(b"\\.aws\\sso/cache/".to_vec()),
            Just(b".azure/".to_vec()),
            Just(b"/.netrc".to_vec()),
            Just(b".picoclaw/auth.json".to_vec()),
            Just(b"authorized_keys".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..6),
        ];
        // Runs of every length up to past the longest maximum (255), so that each rule's
        // minimum and maximum are crossed; then a break and more bytes.
        let alphabet =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.".to_vec();
        let run = (
            0..270usize,
            proptest::collection::vec(prop::sample::select(alphabet), 270),
        )
            .prop_map(|(n, bytes)| bytes[..n].to_vec());
        let rest = proptest::collection::vec(
            prop_oneof![
                3 => prop::sample::select(b"Aa0_-.:/ \r\n\"".to_vec()),
                1 => any::<u8>(),
            ],
            0..40,
        );
        let tail = (run, rest).prop_map(|(r, t)| [r, t].concat());
        (starts, tail).prop_map(|(s, t)| [s, t].concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Every shaped built-in rule ends its match where its regex does, or matches nothing
        /// where the regex matches nothing.
        #[test]
        fn shaped_rules_match_as_their_regex(hay in haystack()) {
            for rule in builtin_rules() {
                let Some(shape) = Shape::of(&rule.regex) else { continue };
                let regex = anchored(&rule.regex);
                prop_assert_eq!(
                    shape.match_end(&hay),
                    regex.find(&hay).map(|m| m.end()),
                    "{}", rule.id
                );
            }
        }
    }
}
