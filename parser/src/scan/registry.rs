//! The compiled rule set: regexes compiled once, one Aho-Corasick prefilter per direction
//! (literal → rules), and a redaction index holding every EXFIL rule.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::bytes::{Regex, RegexBuilder};

use super::rule::{Check, Direction, Platform, RuleSpec, Severity, ThreatType};
use super::rules::builtin_rules;

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
    pub(crate) check: Option<Check>,
}

/// Literal prefilter for one set of rules.
#[derive(Debug)]
pub(crate) struct Index {
    pub(crate) prefilter: Option<AhoCorasick>,
    pub(crate) literal_rules: Vec<Vec<RuleId>>,
    pub(crate) max_literal_len: usize,
    pub(crate) max_match_len: usize,
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
        Self::new(RegistryOptions { platform: Some(platform), ..Default::default() })
            .unwrap_or_else(|e| panic!("built-in rules must compile: {e}"))
    }

    /// Compiles and validates a rule set.
    pub fn new(options: RegistryOptions) -> Result<Self, RuleError> {
        let builtins = builtin_rules();
        for id in &options.disable {
            if !builtins.iter().chain(&options.extra).any(|r| &r.id == id) {
                return Err(RuleError(format!("patterns.disable: unknown pattern id {id:?}")));
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
        Ok(Registry { rules, outbound, inbound, redaction, trusted_hosts })
    }

    /// A rule by id.
    pub fn rule(&self, id: RuleId) -> &Rule {
        &self.rules[usize::from(id.0)]
    }

    /// All compiled rules (active or not).
    pub fn rules(&self) -> impl Iterator<Item = (RuleId, &Rule)> {
        self.rules.iter().enumerate().map(|(i, r)| (RuleId(i as u16), r))
    }

    /// Whether a rule is active for a direction under these options.
    pub fn is_active(&self, id: RuleId) -> bool {
        let rule = self.rule(id);
        self.index(rule.direction).literal_rules.iter().any(|rs| rs.contains(&id))
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
    let max_len = max_match_len(&spec.regex).map_err(|e| RuleError(format!("pattern {:?}: {e}", spec.id)))?;
    let regex = RegexBuilder::new(&format!("^(?:{})", spec.regex))
        .unicode(false)
        .size_limit(4 << 20)
        .build()
        .map_err(|e| RuleError(format!("pattern {:?}: invalid regex: {e}", spec.id)))?;
    if regex.is_match(b"") {
        return Err(RuleError(format!("pattern {:?}: regex matches the empty string", spec.id)));
    }
    Ok(Rule {
        id: spec.id.clone(),
        threat: spec.threat,
        direction: spec.direction,
        severity: spec.severity,
        max_len,
        regex,
        check: spec.check,
    })
}

/// The longest match a regex can produce, or an error when it is unbounded or too long.
pub fn max_match_len(regex: &str) -> Result<usize, String> {
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(regex)
        .map_err(|e| format!("invalid regex: {e}"))?;
    match hir.properties().maximum_len() {
        Some(n) if n <= MAX_MATCH_LEN => Ok(n),
        Some(n) => Err(format!("regex can match {n} bytes; the limit is {MAX_MATCH_LEN} (bound every repetition)")),
        None => Err(format!("regex has no bounded match length; the limit is {MAX_MATCH_LEN} (use {{m,n}}, not * or +)")),
    }
}

fn validate_extra(spec: &RuleSpec, builtins: &[RuleSpec]) -> Result<(), RuleError> {
    let id_ok = !spec.id.is_empty()
        && spec.id.len() <= 64
        && spec.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !id_ok {
        return Err(RuleError(format!("patterns.extra: id {:?} must be 1-64 characters of [a-z0-9_]", spec.id)));
    }
    if builtins.iter().any(|b| b.id == spec.id) {
        return Err(RuleError(format!("patterns.extra: id {:?} is a built-in pattern id", spec.id)));
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
    if spec.literals.is_empty() || spec.literals.len() > 64 {
        return Err(RuleError(format!("patterns.extra {:?}: literals must hold 1 to 64 strings", spec.id)));
    }
    if let Some(short) = spec.literals.iter().find(|l| l.len() < MIN_EXTRA_LITERAL_LEN || l.len() > 256) {
        return Err(RuleError(format!(
            "patterns.extra {:?}: literal {short:?} must be {MIN_EXTRA_LITERAL_LEN} to 256 bytes long",
            spec.id
        )));
    }
    if spec.regex.len() > 4096 {
        return Err(RuleError(format!("patterns.extra {:?}: regex longer than 4096 characters", spec.id)));
    }
    Ok(())
}

fn build_index(rules: &[(RuleId, &RuleSpec, &Rule)]) -> Result<Index, RuleError> {
    let mut literals: Vec<Vec<u8>> = Vec::new();
    let mut literal_rules: Vec<Vec<RuleId>> = Vec::new();
    for (id, spec, _) in rules {
        for literal in &spec.literals {
            let key = literal.as_bytes().to_ascii_lowercase();
            match literals.iter().position(|l| *l == key) {
                Some(i) => literal_rules[i].push(*id),
                None => {
                    literals.push(key);
                    literal_rules.push(vec![*id]);
                }
            }
        }
    }
    let prefilter = if literals.is_empty() {
        None
    } else {
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&literals)
            .map_err(|e| RuleError(format!("prefilter: {e}")))?;
        Some(ac)
    };
    Ok(Index {
        prefilter,
        literal_rules,
        max_literal_len: literals.iter().map(Vec::len).max().unwrap_or(0),
        max_match_len: rules.iter().map(|(_, _, r)| r.max_len).max().unwrap_or(0),
    })
}
