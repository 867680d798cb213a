//! Detection: a rule table anchored on rare literals, an Aho-Corasick prefilter that never
//! misses a rule's match (every match starts with one of its literals), confirmation by the
//! rule's anchored regex (or, for the token rules, by its shape, `scan/shape.rs`) and context check,
//! streamed across chunk boundaries.

mod buckets;
mod checks;
mod credentials;
mod exfil_command;
mod registry;
mod rule;
mod rules;
mod shape;
mod stream;

pub use registry::{
    max_match_len, Registry, RegistryOptions, Rule, RuleError, RuleId, MAX_MATCH_LEN,
    MIN_EXTRA_LITERAL_LEN,
};
pub use rule::{
    Boundary, Check, Direction, MatchContext, Platform, RuleSpec, Severity, ThreatType,
};
pub use rules::{builtin_ids, builtin_rules};
pub(crate) use stream::find_all_unchecked;
pub use stream::{reference_scan, RawMatch, StreamScanner, BLOCK, LOOKBACK, SNIPPET_CONTEXT};
