//! The data cases of `cases/patterns.txt` (`+ id input` / `- id input`), shared by every runner
//! that replays them (plain, views, encoded forms, WebSocket frames).

use guardian_parser::scan::RuleSpec;

use super::unescape_case;

/// One case: where it is, whether it must be found, the rule id, the input bytes.
pub struct Case {
    pub line: usize,
    pub positive: bool,
    pub pattern: String,
    pub input: Vec<u8>,
}

/// Every case of the file, in order.
pub fn cases() -> Vec<Case> {
    include_str!("../cases/patterns.txt")
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("+ ") || l.starts_with("- "))
        .map(|(i, l)| {
            let (pattern, input) = l[2..].split_once(' ').expect("case: sign, pattern, input");
            Case {
                line: i + 1,
                positive: l.starts_with('+'),
                pattern: pattern.to_string(),
                input: unescape_case(input),
            }
        })
        .collect()
}

/// The built-in rule with this id.
pub fn spec(id: &str) -> Option<RuleSpec> {
    guardian_parser::scan::builtin_rules()
        .into_iter()
        .find(|r| r.id == id)
}
