//! What a rule is: identity, classification and how it matches.

use serde::{Deserialize, Serialize};

/// Which way a message travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Client → origin: requests.
    Outbound,
    /// Origin → client: responses.
    Inbound,
}

/// What a finding is evidence of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ThreatType {
    /// A secret or credential path leaving in a request.
    Exfil,
    /// A command an agent could be made to run, arriving in a response.
    Injection,
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Low,
    /// Worth a look.
    Medium,
    /// Worth acting on.
    High,
    /// Act now.
    Critical,
}

/// The agent runtime Guardian watches; labels findings and enables platform-only rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Picoclaw (Go).
    Picoclaw,
    /// NanoClaw (TypeScript, in containers).
    Nanoclaw,
    /// Any other process.
    Generic,
}

impl Direction {
    /// The lowercase name used in findings.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Outbound => "outbound",
            Self::Inbound => "inbound",
        }
    }
}

impl ThreatType {
    /// The name used in findings.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exfil => "EXFIL",
            Self::Injection => "INJECTION",
        }
    }
}

impl Severity {
    /// The lowercase name used in findings.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// Parses a lowercase severity name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Low, Self::Medium, Self::High, Self::Critical]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

impl Platform {
    /// The lowercase name used in findings and config.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Picoclaw => "picoclaw",
            Self::Nanoclaw => "nanoclaw",
            Self::Generic => "generic",
        }
    }

    /// Parses a lowercase platform name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Picoclaw, Self::Nanoclaw, Self::Generic]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// The bytes around a regex match, for a rule's context check.
#[derive(Clone, Copy, Debug)]
pub struct MatchContext<'a> {
    /// Up to [`LOOKBACK`](super::LOOKBACK) bytes before the match (fewer at the start of a part).
    pub before: &'a [u8],
    /// The matched bytes.
    pub matched: &'a [u8],
    /// Up to [`SNIPPET_CONTEXT`](super::SNIPPET_CONTEXT) bytes after the match.
    pub after: &'a [u8],
}

impl MatchContext<'_> {
    /// The byte just before the match, if any.
    pub fn prev(&self) -> Option<u8> {
        self.before.last().copied()
    }

    /// The byte just after the match, if any.
    pub fn next(&self) -> Option<u8> {
        self.after.first().copied()
    }
}

/// A context check that the regex alone cannot express (no look-around in `regex`).
pub type Check = fn(&MatchContext<'_>) -> bool;

/// What the byte before a match may be, checked before the regex runs, so that candidates in
/// the middle of a token (`sk-sk-sk-…`, `AKIAAKIA…`) cost one comparison each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Boundary {
    /// Anything.
    Any,
    /// Not a letter or digit.
    NotAlnum,
    /// Not a letter, digit, `_` or `-` (a token of a key alphabet starts here).
    NotToken,
    /// Not a letter, digit, `_`, `-` or `.` (a command word starts here).
    NotNameChar,
}

impl Boundary {
    /// Whether `prev` (the byte before the candidate, if any) is allowed.
    pub fn allows(self, prev: Option<u8>) -> bool {
        let Some(b) = prev else { return true };
        match self {
            Boundary::Any => true,
            Boundary::NotAlnum => !b.is_ascii_alphanumeric(),
            Boundary::NotToken => !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
            Boundary::NotNameChar => {
                !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
            }
        }
    }
}

/// A rule as written: built-in or from `patterns.extra`.
///
/// Matching contract: a match always **starts with one of `literals`** (or of `ci_literals`,
/// compared ASCII case-insensitively)
/// and the regex is tried anchored at each literal occurrence. That is what makes the prefilter
/// free of false negatives and confirmation O(match length).
#[derive(Clone, Debug)]
pub struct RuleSpec {
    /// Stable pattern id (`ai_api_key`, …).
    pub id: String,
    /// EXFIL or INJECTION.
    pub threat: ThreatType,
    /// Which messages the rule applies to.
    pub direction: Direction,
    /// Severity of its findings.
    pub severity: Severity,
    /// `Some(p)`: only active when Guardian runs for platform `p`.
    pub platform: Option<Platform>,
    /// Prefilter anchors, case-sensitive; every match starts with one of these or of
    /// `ci_literals`.
    pub literals: Vec<String>,
    /// Prefilter anchors matched ASCII case-insensitively.
    pub ci_literals: Vec<String>,
    /// The confirming regex (bytes, Unicode off), applied anchored at a literal.
    pub regex: String,
    /// What may precede a match (checked before the regex).
    pub boundary: Boundary,
    /// Extra context check, for built-in rules.
    pub check: Option<Check>,
    /// When the check rejects a regex match, the matched span still belongs to this occurrence
    /// and the rule is not tried inside it: the `rm` words inside an `rm` command's argument
    /// list are arguments, not commands.
    pub consumes_rejected: bool,
}
