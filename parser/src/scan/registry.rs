//! The compiled rule set: regexes compiled once, one Aho-Corasick prefilter per direction
//! (literal → rules), and a redaction index holding every EXFIL rule.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::OnceLock;

use aho_corasick::{
    packed, AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Input, Match, MatchKind, Span,
    StartKind,
};
use regex::bytes::{Regex, RegexBuilder};

use super::buckets::teddy_order;
use super::rule::{Boundary, Check, Direction, Platform, RuleSpec, Severity, ThreatType};
use super::rules::builtin_rules;
use super::shape::Shape;

/// Longest match any rule may produce, in bytes; longer regexes are rejected.
pub const MAX_MATCH_LEN: usize = 2048;

/// Shortest literal accepted for a `patterns.extra` rule (shorter ones would hit everywhere).
pub const MIN_EXTRA_LITERAL_LEN: usize = 3;

/// Index of a rule in its [`Registry`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(pub u16);

/// A compiled rule.
#[derive(Debug)]
pub struct Rule {
    /// Stable pattern id.
    pub id: String,
    /// EXFIL or INJECTION.
    pub threat: ThreatType,
    /// Direction it applies to.
    pub direction: Direction,
    /// Severity of its findings.
    pub severity: Severity,
    /// Longest possible match, in bytes.
    pub max_len: usize,
    pub(crate) regex: Regex,
    /// The regex as alternatives of fixed bytes and a final run, when it has that shape: the
    /// same matches, found without an automaton.
    shape: Option<Shape>,
    pub(crate) boundary: Boundary,
    pub(crate) check: Option<Check>,
    /// A rejected match still spans one occurrence (see [`RuleSpec::consumes_rejected`]).
    pub(crate) consumes_rejected: bool,
}

impl Rule {
    /// The end of this rule's leftmost-first match anchored at the start of `hay`.
    pub(crate) fn match_end(&self, hay: &[u8]) -> Option<usize> {
        match &self.shape {
            Some(shape) => shape.match_end(hay),
            None => self.regex_match_end(hay),
        }
    }

    /// [`Self::match_end`] by the regex itself (what the shape is tested against).
    pub(crate) fn regex_match_end(&self, hay: &[u8]) -> Option<usize> {
        self.regex.find(hay).map(|m| m.end())
    }
}

/// Literal prefilter for one set of rules: case-sensitive searchers (Teddy-accelerated when
/// they hold at most 64 literals) and, for the few case-insensitive anchors, folded ones; each
/// kind split by literal length (see `build_index`).
#[derive(Debug)]
pub(crate) struct Index {
    pub(crate) searchers: Vec<Searcher>,
    pub(crate) max_literal_len: usize,
    pub(crate) max_match_len: usize,
}

/// One Aho-Corasick automaton over literals, searched leftmost-longest without overlaps. A
/// `folded` searcher holds lower-cased literals and is run over a lower-cased copy of the data,
/// which makes it case-insensitive while keeping the SIMD (Teddy) prefilter that
/// `aho-corasick` disables for its own ASCII case-insensitive mode.
///
/// Zero false negatives without an overlapping search: `rules[i]` holds the rules of literal `i`
/// **and of every literal that is a prefix of it** (a shorter literal at the same position), and
/// `overlaps[i]` lists the offsets inside literal `i` where another literal could start; the
/// scanner checks those with an anchored search. Every literal occurrence is thus either reported
/// by the iterator, a prefix of a reported one, or at a listed offset inside one.
#[derive(Debug)]
pub(crate) struct Searcher {
    /// The automaton of the literals: anchored searches (the overlap checks), and the search
    /// itself where no SIMD searcher could be built.
    pub(crate) automaton: AhoCorasick,
    /// The SIMD (Teddy) searcher of the same literals, called directly: fast while literal
    /// hits are rare. The automaton's own prefilter is this searcher behind a dynamic call and
    /// a search set-up per hit, which cost 5% of the benign inspector's time (heads and short
    /// bodies are searched from many starts).
    packed: Option<packed::Searcher>,
    /// The same automaton as a DFA without prefilter: where hits are dense (`sk-sk-sk-…`), each
    /// prefilter restart costs more than stepping the DFA over every byte. Same matches. Built
    /// on the first dense run: the DFAs of all searchers are 1.3 MB, a sixth of the rules'
    /// memory, and benign traffic never needs them (see [`Searcher::dense`]).
    dense: OnceLock<Option<AhoCorasick>>,
    literals: Vec<Vec<u8>>,
    /// The shortest literal's length: a shorter haystack holds no occurrence, so the search
    /// (and its set-up, which is most of the cost on a small head or body) is skipped.
    pub(crate) min_literal_len: usize,
    pub(crate) folded: bool,
    pub(crate) rules: Vec<Vec<RuleId>>,
    pub(crate) overlaps: Vec<Vec<usize>>,
    /// Bitmap of the first two bytes of every literal: an overlap offset whose two bytes are not
    /// a literal's start needs no anchored search.
    pub(crate) starts: Box<[u64; 1024]>,
}

impl Searcher {
    /// The next literal occurrence in `hay[at..]` (leftmost-longest, like `find_iter`): by the
    /// SIMD searcher, or by the DFA once hits are `dense`.
    pub(crate) fn find_from(&self, hay: &[u8], at: usize, dense: bool) -> Option<Match> {
        let span = at..hay.len();
        match &self.packed {
            Some(packed) if !dense => packed.find_in(hay, Span::from(span)),
            _ if dense => self.dense().find(Input::new(hay).span(span)),
            _ => self.automaton.find(Input::new(hay).span(span)),
        }
    }

    /// The DFA of [`Self::automaton`], built the first time it is asked for; the automaton
    /// itself if that build fails (the same matches, only slower where hits are dense).
    pub(crate) fn dense(&self) -> &AhoCorasick {
        self.dense
            .get_or_init(|| dense_automaton(&self.literals).ok())
            .as_ref()
            .unwrap_or(&self.automaton)
    }

    /// Whether some literal may start with these bytes (`hay[q..]`); conservative at the end.
    pub(crate) fn may_start(&self, at: &[u8]) -> bool {
        match at {
            [a, b, ..] => {
                let i = usize::from(*a) << 8 | usize::from(*b);
                self.starts[i / 64] & (1 << (i % 64)) != 0
            }
            _ => true,
        }
    }
}

/// Why a rule set could not be built. The text names the pattern and the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError(pub String);

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RuleError {}

/// What to build a [`Registry`] from (the detection part of the configuration).
#[derive(Clone, Debug, Default)]
pub struct RegistryOptions {
    /// Enables platform-only rules and labels findings.
    pub platform: Option<Platform>,
    /// Pattern ids to turn off.
    pub disable: Vec<String>,
    /// Extra rules (`patterns.extra`).
    pub extra: Vec<RuleSpec>,
    /// `pattern_id → hosts` added to the built-in expected-use hosts.
    pub trusted_credential_hosts: BTreeMap<String, Vec<String>>,
}

/// All rules, compiled, with their prefilters.
#[derive(Debug)]
pub struct Registry {
    rules: Vec<Rule>,
    outbound: Index,
    inbound: Index,
    redaction: Index,
    trusted_hosts: HashMap<String, Vec<String>>,
}

impl Registry {
    /// The built-in rules for a platform, nothing disabled.
    pub fn builtin(platform: Platform) -> Self {
        Self::new(RegistryOptions {
            platform: Some(platform),
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("built-in rules must compile: {e}"))
    }

    /// Compiles and validates a rule set.
    pub fn new(options: RegistryOptions) -> Result<Self, RuleError> {
        let builtins = builtin_rules();
        for id in &options.disable {
            if !builtins.iter().chain(&options.extra).any(|r| &r.id == id) {
                return Err(RuleError(format!(
                    "patterns.disable: unknown pattern id {id:?}"
                )));
            }
        }
        for extra in &options.extra {
            validate_extra(extra, &builtins)?;
        }
        let mut rules = Vec::new();
        let mut specs = Vec::new();
        for spec in builtins.iter().chain(&options.extra) {
            rules.push(compile(spec)?);
            specs.push(spec);
        }
        let active = |s: &RuleSpec, d: Direction| {
            s.direction == d
                && !options.disable.contains(&s.id)
                && s.platform.is_none_or(|p| Some(p) == options.platform)
        };
        let index_of = |keep: &dyn Fn(&RuleSpec) -> bool| -> Result<Index, RuleError> {
            let chosen: Vec<(RuleId, &RuleSpec, &Rule)> = specs
                .iter()
                .zip(&rules)
                .enumerate()
                .filter(|(_, (s, _))| keep(s))
                .map(|(i, (s, r))| (RuleId(i as u16), *s, r))
                .collect();
            build_index(&chosen)
        };
        let outbound = index_of(&|s| active(s, Direction::Outbound))?;
        let inbound = index_of(&|s| active(s, Direction::Inbound))?;
        let redaction = index_of(&|s| s.threat == ThreatType::Exfil)?;
        let trusted_hosts = options.trusted_credential_hosts.into_iter().collect();
        Ok(Registry {
            rules,
            outbound,
            inbound,
            redaction,
            trusted_hosts,
        })
    }

    /// A rule by id.
    pub fn rule(&self, id: RuleId) -> &Rule {
        &self.rules[usize::from(id.0)]
    }

    /// All compiled rules (active or not).
    pub fn rules(&self) -> impl Iterator<Item = (RuleId, &Rule)> {
        self.rules
            .iter()
            .enumerate()
            .map(|(i, r)| (RuleId(i as u16), r))
    }

    /// Whether a rule is active for a direction under these options.
    pub fn is_active(&self, id: RuleId) -> bool {
        let rule = self.rule(id);
        self.index(rule.direction)
            .searchers
            .iter()
            .any(|s| s.rules.iter().any(|rs| rs.contains(&id)))
    }

    /// Hosts configured as expected users of a pattern's credentials.
    pub fn trusted_hosts(&self, pattern: &str) -> &[String] {
        self.trusted_hosts.get(pattern).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn index(&self, direction: Direction) -> &Index {
        match direction {
            Direction::Outbound => &self.outbound,
            Direction::Inbound => &self.inbound,
        }
    }

    pub(crate) fn redaction_index(&self) -> &Index {
        &self.redaction
    }

    /// Longest match of any rule in either direction.
    pub fn max_match_len(&self) -> usize {
        self.outbound.max_match_len.max(self.inbound.max_match_len)
    }
}

fn compile(spec: &RuleSpec) -> Result<Rule, RuleError> {
    let max_len =
        max_match_len(&spec.regex).map_err(|e| RuleError(format!("pattern {:?}: {e}", spec.id)))?;
    let regex = RegexBuilder::new(&format!("^(?:{})", spec.regex))
        .unicode(false)
        .size_limit(4 << 20)
        .build()
        .map_err(|e| {
            RuleError(format!(
                "pattern {:?}: invalid regex: {}",
                spec.id,
                one_line(&e)
            ))
        })?;
    if regex.is_match(b"") {
        return Err(RuleError(format!(
            "pattern {:?}: regex matches the empty string",
            spec.id
        )));
    }
    Ok(Rule {
        id: spec.id.clone(),
        threat: spec.threat,
        direction: spec.direction,
        severity: spec.severity,
        max_len,
        regex,
        shape: Shape::of(&spec.regex),
        boundary: spec.boundary,
        check: spec.check,
        consumes_rejected: spec.consumes_rejected,
    })
}

/// The longest match a regex can produce, or an error when it is unbounded or too long.
pub fn max_match_len(regex: &str) -> Result<usize, String> {
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(regex)
        .map_err(|e| syntax_error(regex, &e))?;
    match hir.properties().maximum_len() {
        Some(n) if n <= MAX_MATCH_LEN => Ok(n),
        Some(n) => Err(format!("regex can match {n} bytes; the limit is {MAX_MATCH_LEN} (bound every repetition)")),
        None => Err(format!("regex has no bounded match length; the limit is {MAX_MATCH_LEN} (use {{m,n}}, not * or +)")),
    }
}

/// A regex syntax error as one sentence on one line (the library's message spans several, with
/// a caret under the pattern).
fn syntax_error(regex: &str, e: &regex_syntax::Error) -> String {
    let (kind, at) = match e {
        regex_syntax::Error::Parse(e) => (e.kind().to_string(), e.span().start.offset),
        regex_syntax::Error::Translate(e) => (e.kind().to_string(), e.span().start.offset),
        other => return format!("invalid regex {regex:?}: {}", one_line(other)),
    };
    format!("invalid regex {regex:?}: {kind} at byte {at}")
}

/// Any message folded onto one line.
fn one_line(e: &impl fmt::Display) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn validate_extra(spec: &RuleSpec, builtins: &[RuleSpec]) -> Result<(), RuleError> {
    let id_ok = !spec.id.is_empty()
        && spec.id.len() <= 64
        && spec
            .id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !id_ok {
        return Err(RuleError(format!(
            "patterns.extra: id {:?} must be 1-64 characters of [a-z0-9_]",
            spec.id
        )));
    }
    if builtins.iter().any(|b| b.id == spec.id) {
        return Err(RuleError(format!(
            "patterns.extra: id {:?} is a built-in pattern id",
            spec.id
        )));
    }
    let expected = match spec.threat {
        ThreatType::Exfil => Direction::Outbound,
        ThreatType::Injection => Direction::Inbound,
    };
    if spec.direction != expected {
        return Err(RuleError(format!(
            "patterns.extra {:?}: threat_type {} goes with direction {}",
            spec.id,
            spec.threat.as_str(),
            expected.as_str()
        )));
    }
    if spec.literals.is_empty() || spec.literals.len() > 16 {
        return Err(RuleError(format!(
            "patterns.extra {:?}: literals must hold 1 to 16 strings",
            spec.id
        )));
    }
    if let Some(short) = spec
        .literals
        .iter()
        .find(|l| l.len() < MIN_EXTRA_LITERAL_LEN || l.len() > 256)
    {
        return Err(RuleError(format!(
            "patterns.extra {:?}: literal {short:?} must be {MIN_EXTRA_LITERAL_LEN} to 256 bytes long",
            spec.id
        )));
    }
    if spec.regex.len() > 4096 {
        return Err(RuleError(format!(
            "patterns.extra {:?}: regex longer than 4096 characters",
            spec.id
        )));
    }
    Ok(())
}

/// Literals at least this long share a searcher whose SIMD fingerprint covers this many bytes;
/// shorter ones go elsewhere (see [`build_index`]).
const FINGERPRINT_LEN: usize = 4;

/// The searchers of an index, in search order.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Group {
    /// Case-sensitive literals of at least [`FINGERPRINT_LEN`] bytes.
    Long,
    /// Shorter case-sensitive literals.
    Short,
    /// Case-insensitive literals, searched in a lower-cased copy.
    Folded,
}

/// Splits the literals into searchers by kind (long, short, folded), each kind into parts of at
/// most [`TEDDY_LITERALS`]. Teddy fingerprints the first
/// `min(4, shortest literal)` bytes, so one three-byte literal among fifty longer ones weakens
/// the fingerprint of all of them: measured on the benign bench traffic, the outbound prefilter
/// ran 2.7× faster with short literals apart. When the index has folded literals anyway, the
/// short ones that are already lower case join them (one pass fewer; an upper-case occurrence
/// is only an extra candidate the case-sensitive regex rejects). The folded literals stay
/// together: split, the short ones (`iex`, `cmd`) would share two start bytes and
/// `aho-corasick` would pick a `memchr2` prefilter hitting on every `i`.
fn build_index(rules: &[(RuleId, &RuleSpec, &Rule)]) -> Result<Index, RuleError> {
    let has_folded = rules
        .iter()
        .any(|(_, spec, _)| !spec.ci_literals.is_empty());
    let group_of = |literal: &str, case_insensitive: bool| {
        let lower = literal.bytes().all(|b| !b.is_ascii_uppercase());
        if case_insensitive || (has_folded && lower && literal.len() < FINGERPRINT_LEN) {
            Group::Folded
        } else if literal.len() < FINGERPRINT_LEN {
            Group::Short
        } else {
            Group::Long
        }
    };
    let mut searchers = Vec::new();
    let mut max_literal_len = 0;
    for group in [Group::Long, Group::Short, Group::Folded] {
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut owners: Vec<Vec<RuleId>> = Vec::new();
        for (id, spec, _) in rules {
            let all = (spec.literals.iter().map(|l| (l, false)))
                .chain(spec.ci_literals.iter().map(|l| (l, true)));
            for (literal, case_insensitive) in all {
                if group_of(literal, case_insensitive) != group {
                    continue;
                }
                let key = literal.to_ascii_lowercase().into_bytes();
                let key = if group == Group::Folded {
                    key
                } else {
                    literal.clone().into_bytes()
                };
                match literals.iter().position(|l| *l == key) {
                    Some(i) => owners[i].push(*id),
                    None => {
                        literals.push(key);
                        owners.push(vec![*id]);
                    }
                }
            }
        }
        if literals.is_empty() {
            continue;
        }
        max_literal_len = max_literal_len.max(literals.iter().map(Vec::len).max().unwrap_or(0));
        for part in teddy_sized_parts(&literals) {
            let part_literals: Vec<Vec<u8>> = part.iter().map(|&i| literals[i].clone()).collect();
            let order = teddy_order(&part_literals);
            let part_literals: Vec<Vec<u8>> =
                order.iter().map(|&i| part_literals[i].clone()).collect();
            let part_owners: Vec<Vec<RuleId>> =
                order.iter().map(|&i| owners[part[i]].clone()).collect();
            searchers.push(build_searcher(
                &part_literals,
                &part_owners,
                group == Group::Folded,
            )?);
        }
    }
    Ok(Index {
        searchers,
        max_literal_len,
        max_match_len: rules.iter().map(|(_, _, r)| r.max_len).max().unwrap_or(0),
    })
}

/// Most literals one searcher takes: `aho-corasick` uses Teddy for at most 64 and falls back
/// to a byte-frequency prefilter (much slower on text) beyond.
const TEDDY_LITERALS: usize = 64;

/// The literals (indices) split into as few searchers as keep each within Teddy's limit, in
/// byte order so that literals sharing first bytes share a searcher. Each searcher finds every
/// occurrence of its own literals, so splitting changes speed, never matches.
fn teddy_sized_parts(literals: &[Vec<u8>]) -> Vec<Vec<usize>> {
    let n = literals.len();
    if n <= TEDDY_LITERALS {
        return vec![(0..n).collect()];
    }
    let mut sorted: Vec<usize> = (0..n).collect();
    sorted.sort_by(|&a, &b| literals[a].cmp(&literals[b]));
    let parts = n.div_ceil(TEDDY_LITERALS);
    let size = n.div_ceil(parts);
    sorted.chunks(size).map(<[usize]>::to_vec).collect()
}

fn build_searcher(
    literals: &[Vec<u8>],
    owners: &[Vec<RuleId>],
    case_insensitive: bool,
) -> Result<Searcher, RuleError> {
    let eq = |a: &[u8], b: &[u8]| a == b;
    let mut rules = Vec::with_capacity(literals.len());
    let mut overlaps = Vec::with_capacity(literals.len());
    for lit in literals {
        let mut closed: Vec<RuleId> = literals
            .iter()
            .zip(owners)
            .filter(|(other, _)| other.len() <= lit.len() && eq(&lit[..other.len()], other))
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect();
        closed.sort_unstable();
        closed.dedup();
        rules.push(closed);
        // Offsets o where some literal agrees with lit[o..] on their common length.
        let offsets = (1..lit.len())
            .filter(|&o| {
                let tail = &lit[o..];
                literals.iter().any(|other| {
                    let n = tail.len().min(other.len());
                    eq(&tail[..n], &other[..n])
                })
            })
            .collect();
        overlaps.push(offsets);
    }
    let automaton = automaton_builder()
        .build(literals)
        .map_err(|e| RuleError(format!("prefilter: {e}")))?;
    let mut starts = Box::new([0u64; 1024]);
    for lit in literals {
        if let [a, b, ..] = lit.as_slice() {
            let i = usize::from(*a) << 8 | usize::from(*b);
            starts[i / 64] |= 1 << (i % 64);
        } else {
            // A one-byte literal could start anywhere its byte is: mark every pair.
            for b in 0..256usize {
                let i = usize::from(lit[0]) << 8 | b;
                starts[i / 64] |= 1 << (i % 64);
            }
        }
    }
    let packed = packed::Config::new()
        .match_kind(packed::MatchKind::LeftmostLongest)
        .builder()
        .extend(literals)
        .build();
    Ok(Searcher {
        automaton,
        packed,
        dense: OnceLock::new(),
        literals: literals.to_vec(),
        min_literal_len: literals.iter().map(Vec::len).min().unwrap_or(0),
        folded: case_insensitive,
        rules,
        overlaps,
        starts,
    })
}

/// How both of a searcher's automata match: leftmost-longest, anchored searches too (the
/// overlap checks).
fn automaton_builder() -> AhoCorasickBuilder {
    let mut builder = AhoCorasickBuilder::new();
    builder
        .match_kind(MatchKind::LeftmostLongest)
        .start_kind(StartKind::Both);
    builder
}

/// [`Searcher::dense`]'s DFA.
fn dense_automaton(literals: &[Vec<u8>]) -> Result<AhoCorasick, aho_corasick::BuildError> {
    automaton_builder()
        .kind(Some(AhoCorasickKind::DFA))
        .prefilter(false)
        .build(literals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::StreamScanner;

    fn dense_built(registry: &Registry) -> usize {
        [&registry.outbound, &registry.inbound, &registry.redaction]
            .iter()
            .flat_map(|index| &index.searchers)
            .filter(|s| s.dense.get().is_some())
            .count()
    }

    fn scan(registry: &Registry, data: &[u8]) {
        let mut scanner = StreamScanner::new(registry, Direction::Outbound, u64::MAX);
        let mut out = Vec::new();
        scanner.push(registry, data, &mut out);
        scanner.finish(registry, &mut out);
    }

    #[test]
    fn dense_automata_are_built_only_when_hits_are_dense() {
        let registry = Registry::builtin(Platform::Generic);
        assert_eq!(dense_built(&registry), 0, "none at start");
        let prose = b"{\"model\":\"gpt\",\"messages\":[{\"role\":\"user\",\"content\":\"read ~/notes and sk-\"}]}";
        scan(&registry, &prose.repeat(200));
        assert_eq!(dense_built(&registry), 0, "ordinary traffic needs none");
        scan(&registry, &b"sk-".repeat(100_000));
        assert!(
            dense_built(&registry) >= 1,
            "a dense run builds its searcher's"
        );
    }
}
