//! The data cases of `cases/patterns.txt` (`+ id input` / `- id input`), shared by every runner
//! that replays them (plain, views, encoded forms, WebSocket frames).

use guardian_parser::inspect::Detection;
use guardian_parser::scan::{Direction, Platform, Registry, RuleSpec};

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

/// Every platform, for negative cases: silent on each.
pub const PLATFORMS: [Platform; 3] = [Platform::Picoclaw, Platform::Nanoclaw, Platform::Generic];

/// Checks every positive case in each of its forms: `forms(case, direction)` names and builds
/// them, `run` inspects one; the case's pattern must be found exactly once in each. Panics
/// listing every failure; returns how many forms were checked.
pub fn check_positives<F>(
    forms: impl Fn(&Case, Direction) -> Vec<(String, F)>,
    run: impl Fn(&Registry, Direction, &F) -> Vec<Detection>,
) -> usize {
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in cases().into_iter().filter(|c| c.positive) {
        let spec = spec(&case.pattern).expect("a positive case names a built-in pattern");
        let registry = Registry::builtin(spec.platform.unwrap_or(Platform::Generic));
        for (form, data) in forms(&case, spec.direction) {
            checked += 1;
            let found = run(&registry, spec.direction, &data);
            if found.iter().filter(|d| d.pattern == case.pattern).count() != 1 {
                failures.push(format!(
                    "line {} [{form}] {}: expected 1 {} finding, got {:?}",
                    case.line,
                    String::from_utf8_lossy(&case.input),
                    case.pattern,
                    found.iter().map(|d| &d.pattern).collect::<Vec<_>>()
                ));
            }
        }
    }
    assert_no_failures(&failures);
    checked
}

/// Checks every negative case in each of its forms on each of `platforms`, in its pattern's
/// direction (both for `*`): no finding of that pattern (of any, for `*`). Panics listing
/// every failure; returns how many forms were checked.
pub fn check_negatives<F>(
    platforms: &[Platform],
    forms: impl Fn(&Case, Direction) -> Vec<(String, F)>,
    run: impl Fn(&Registry, Direction, &F) -> Vec<Detection>,
) -> usize {
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in cases().into_iter().filter(|c| !c.positive) {
        let directions = match spec(&case.pattern) {
            Some(s) => vec![s.direction],
            None => vec![Direction::Outbound, Direction::Inbound],
        };
        for &platform in platforms {
            let registry = Registry::builtin(platform);
            for &direction in &directions {
                for (form, data) in forms(&case, direction) {
                    checked += 1;
                    let bad: Vec<_> = run(&registry, direction, &data)
                        .into_iter()
                        .filter(|d| case.pattern == "*" || d.pattern == case.pattern)
                        .map(|d| (d.pattern, d.snippet))
                        .collect();
                    if !bad.is_empty() {
                        failures.push(format!(
                            "line {} [{form}, {platform:?}]: unexpected {bad:?} in {}",
                            case.line,
                            String::from_utf8_lossy(&case.input)
                        ));
                    }
                }
            }
        }
    }
    assert_no_failures(&failures);
    checked
}

fn assert_no_failures(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
