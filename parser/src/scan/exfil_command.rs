//! `exfil_command`: a command that sends a sensitive file or the environment somewhere.
//!
//! Two shapes. Self-contained: the sending command names what it sends — `curl -d @~/.ssh/id_rsa`,
//! `-F f=@/etc/shadow`, `--upload-file ~/.aws/credentials`, `wget --post-file=…`,
//! `"$(cat ~/.ssh/id_rsa | base64)"`, `$(env)`, `nc host port < ~/.netrc`, PowerShell
//! `Invoke-WebRequest -InFile …` / `-Body (Get-Content …)`. Piped: a command that reads its
//! standard input (`nc host port`, `curl -d @- …`, `curl -T - …`, `socat - TCP:…`) fed by a
//! pipeline whose source is a sensitive file or the environment (`tar cz ~/.ssh | nc …`,
//! `env | curl -d @- …`); the check reads that source in the line before the command.
//!
//! Sensitive: private SSH keys and the `.ssh` directory (not `.pub`, `known_hosts`), cloud and
//! tool credentials, dotenv files (not templates), shell histories, `/etc/shadow`,
//! `/etc/passwd`, `/etc/sudoers`, `/proc/*/environ`. A project file (`-d @payload.json`) is not.

use std::sync::OnceLock;

use regex::bytes::Regex;

use super::rule::MatchContext;

/// A sensitive file: optional directories (`~/`, `$HOME/`, `/root/`, `C:\Users\u\`), then the
/// name, then the end of the word.
macro_rules! sensitive_path {
    () => {
        r#"(?:[^\s'"|;&<>()@/\\`]{0,64}[/\\]){0,8}(?:\.ssh(?:[/\\](?:id_[A-Za-z0-9_]{1,24}|[A-Za-z0-9_-]{1,40}\.(?:pem|key)))?|\.aws[/\\](?:credentials|config)|[._]netrc|\.git-credentials|\.env(?:\.(?:local|production|prod|development|dev|staging))?|\.kube[/\\]config|\.docker[/\\]config\.json|\.npmrc|\.pypirc|\.(?:bash|zsh|sh|python|mysql|psql)_history|\.config[/\\]gcloud[/\\][A-Za-z0-9_.-]{1,64}|\.picoclaw[/\\][A-Za-z0-9_.-]{1,40}|etc[/\\](?:g?shadow|passwd|sudoers|master\.passwd)|proc[/\\](?:self|[0-9]{1,8})[/\\]environ)(?:[\s'"|;&<>()`,]|\z)"#
    };
}

/// The environment as a whole: `env`, `printenv`, `set`, `export -p`, PowerShell `env:`.
macro_rules! environment {
    () => {
        r#"(?:env|printenv|set|export[ \t]{1,4}-p|(?i:gci|get-childitem|dir|ls)[ \t]{1,4}env:)"#
    };
}

/// The sending command names what it sends.
macro_rules! self_contained {
    () => {
        concat!(
            r#"(?:(?:curl|wget)(?:\.exe)?[ \t](?:[^\n;&|`]|\\\r?\n){0,300}?(?:(?:-d|--data(?:-binary|-raw|-ascii)?|-F|--form|--json)[ \t=]{0,4}["']?(?:[A-Za-z0-9_.\[\]-]{1,40}=)?[@<]|--data-urlencode[ \t=]{1,4}["']?[A-Za-z0-9_.-]{0,40}@|(?:-T|--upload-file|--post-file|--body-file)[ \t=]{0,4}["']?|\$\(<[ \t]{0,4}|(?:\$\(|`)[ \t]{0,4}(?:cat|base64|xxd|gzip|tar|head|tail|od|gpg|openssl[ \t]{1,4}(?:base64|enc))[ \t][^)`\n]{0,80}?)"#,
            $crate::scan::exfil_command::sensitive_path!(),
            r#"|(?:curl|wget)(?:\.exe)?[ \t](?:[^\n;&|`]|\\\r?\n){0,300}?(?:\$\(|`)[ \t]{0,4}"#,
            $crate::scan::exfil_command::environment!(),
            r#"[ \t]{0,4}[|)`]|(?:curl|wget|nc|ncat|netcat|socat)(?:\.exe)?[ \t][^\n;&|<]{0,200}?<[ \t]{0,4}"#,
            $crate::scan::exfil_command::sensitive_path!(),
            r#"|(?i:invoke-webrequest|invoke-restmethod|iwr|irm)[ \t][^\n|;]{0,300}?(?:(?i:-infile)[ \t]{1,4}["']?|(?i:-body)[ \t]{1,4}\(?[ \t]{0,4}(?:(?i:get-content|gc|cat|type)[ \t]{1,4}(?:(?i:-path|-raw)[ \t]{1,4})?["']?|\[(?:System\.)?IO\.File\]::Read[A-Za-z]{1,20}\([ \t]{0,4}["']?))"#,
            $crate::scan::exfil_command::sensitive_path!(),
            r#"|(?i:invoke-webrequest|invoke-restmethod|iwr|irm)[ \t][^\n|;]{0,300}?(?i:-body)[ \t]{1,4}\(?[ \t]{0,4}(?i:gci|get-childitem|dir|ls)[ \t]{1,4}env:)"#
        )
    };
}

/// A sending command that reads its standard input; the check looks for what feeds it.
macro_rules! stdin_sink {
    () => {
        r#"(?:nc|ncat|netcat)(?:\.exe)?[ \t](?:[ \t]{0,8}-[A-Za-z]{1,8}){0,4}[ \t]{0,8}[A-Za-z0-9.:_\[\]-]{1,253}[ \t]{1,8}[0-9]{1,5}|(?:curl|wget)[ \t][^\n;&|]{0,300}?(?:@-|(?:-T|--upload-file)[ \t=]{1,4}-)(?:[\s'"]|\z)|socat[ \t]{1,8}-[ \t]{1,8}(?i:tcp|udp|openssl)[46]?(?:-connect)?:"#
    };
}

pub(crate) use {environment, self_contained, sensitive_path, stdin_sink};

fn self_contained_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!("(?-u)^(?:", self_contained!(), ")"))
            .unwrap_or_else(|e| panic!("exfil_command: {e}"))
    })
}

/// The end of a line that pipes a sensitive file or the environment into the next command,
/// with up to two filters between (`tar cz ~/.ssh | base64 | `).
fn piped_source_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!(
            r#"(?-u)(?:^|[\s;&("'`])(?:(?:cat|tar|zip|base64|gzip|xxd|gpg|type|(?i:get-content)|gc|openssl)[ \t][^|\n]{0,120}?"#,
            sensitive_path!(),
            r#"[^|\n]{0,120}|"#,
            environment!(),
            r#"[ \t]{0,8})\|[ \t]{0,8}(?:[A-Za-z0-9_./-]{1,32}(?:[ \t]{1,4}[^|\n]{0,40})?\|[ \t]{0,8}){0,2}$"#
        ))
        .unwrap_or_else(|e| panic!("exfil_command: {e}"))
    })
}

/// Self-contained shapes stand on their own; a standard-input sink needs a sensitive source
/// piped into it on the same line.
pub(crate) fn check(ctx: &MatchContext<'_>) -> bool {
    if self_contained_re().is_match(ctx.matched) {
        return true;
    }
    let line_start = memchr::memrchr(b'\n', ctx.before).map_or(0, |i| i + 1);
    piped_source_re().is_match(&ctx.before[line_start..])
}
