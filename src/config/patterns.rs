//! The `patterns` key: built-in patterns turned off, and extra patterns (compiled and checked
//! for a bounded match length when the whole configuration is validated).

use guardian_parser::scan::{Direction, Severity, ThreatType};
use serde::Deserialize;
use serde_json::Value;

use super::objects::Object;
use super::values::{text, Invalid};

/// The keys of `patterns`, for the unknown-key sentence.
pub(super) const FIELDS: &[&str] = &["disable", "extra"];
/// The fields of a `patterns.extra` entry, for the unknown-field sentence.
pub(super) const EXTRA_FIELDS: &[&str] = &[
    "id",
    "threat_type",
    "direction",
    "severity",
    "regex",
    "literals",
];

/// `patterns` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPatterns {
    #[serde(default, deserialize_with = "super::raw::present")]
    pub disable: Option<Vec<PatternId>>,
    #[serde(default, deserialize_with = "super::raw::present")]
    pub extra: Option<Vec<ExtraPattern>>,
}

/// A `patterns.disable` entry (whether the id exists is checked against the registry).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Value")]
pub struct PatternId(String);

impl PatternId {
    /// The id.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl TryFrom<Value> for PatternId {
    type Error = Invalid;
    fn try_from(v: Value) -> Result<Self, Invalid> {
        text(&v, "entries must be strings").map(PatternId)
    }
}

/// An extra pattern as configured.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Object<RawExtra>")]
pub struct ExtraPattern {
    /// Pattern id.
    pub id: String,
    /// EXFIL or INJECTION.
    pub threat_type: ThreatType,
    /// outbound or inbound.
    pub direction: Direction,
    /// Severity.
    pub severity: Severity,
    /// Confirming regex.
    pub regex: String,
    /// Prefilter literals.
    pub literals: Vec<String>,
}

/// A `patterns.extra` entry as written: the fields are checked together, so that a sentence
/// can name the pattern's id.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExtra {
    id: Option<Value>,
    threat_type: Option<Value>,
    direction: Option<Value>,
    severity: Option<Value>,
    regex: Option<Value>,
    literals: Option<Value>,
}

impl TryFrom<Object<RawExtra>> for ExtraPattern {
    type Error = Invalid;
    fn try_from(Object(raw): Object<RawExtra>) -> Result<Self, Invalid> {
        let field = |name: &str, v: Option<Value>| {
            v.as_ref()
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    Invalid(format!("field \"{name}\" is required and must be a string"))
                })
        };
        let id = field("id", raw.id)?;
        let threat_type = match field("threat_type", raw.threat_type)?.as_str() {
            "EXFIL" => ThreatType::Exfil,
            "INJECTION" => ThreatType::Injection,
            other => {
                return Err(Invalid(format!(
                    "{id}: threat_type {other:?} must be EXFIL or INJECTION"
                )))
            }
        };
        let direction = match field("direction", raw.direction)?.as_str() {
            "outbound" => Direction::Outbound,
            "inbound" => Direction::Inbound,
            other => {
                return Err(Invalid(format!(
                    "{id}: direction {other:?} must be outbound or inbound"
                )))
            }
        };
        let sev = field("severity", raw.severity)?;
        let severity = Severity::parse(&sev).ok_or_else(|| {
            Invalid(format!(
                "{id}: severity {sev:?} must be low, medium, high or critical"
            ))
        })?;
        let literals = match raw.literals {
            Some(Value::Array(list)) => list
                .into_iter()
                .map(|l| match l {
                    Value::String(s) => Ok(s),
                    _ => Err(Invalid(format!("{id}: literals must be strings"))),
                })
                .collect::<Result<_, _>>()?,
            _ => {
                return Err(Invalid(format!(
                    "{id}: field \"literals\" must be a list of strings"
                )))
            }
        };
        Ok(ExtraPattern {
            regex: field("regex", raw.regex)?,
            id,
            threat_type,
            direction,
            severity,
            literals,
        })
    }
}
