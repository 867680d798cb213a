//! Context checks of the built-in rules: token boundaries, key randomness, and the look-behind
//! that `regex` does not offer. Each check sees only bounded context ([`MatchContext`]).

use std::sync::OnceLock;

use regex::bytes::Regex;

use super::credentials::{is_placeholder, looks_random};
use super::rule::MatchContext;

fn is_alnum(b: Option<u8>) -> bool {
    b.is_some_and(|b| b.is_ascii_alphanumeric())
}

fn is_word(b: Option<u8>) -> bool {
    b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Characters that continue a file name or command word.
fn is_name_char(b: Option<u8>) -> bool {
    b.is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Whether the match stands alone as a token: no letter or digit glued to either side.
fn standalone(ctx: &MatchContext<'_>) -> bool {
    !is_alnum(ctx.prev()) && !is_alnum(ctx.next())
}

const AI_KEY_PREFIXES: &[&str] = &[
    "sk-ant-api03-",
    "sk-ant-admin01-",
    "sk-ant-oat01-",
    "sk-ant-sid01-",
    "sk-proj-",
    "sk-svcacct-",
    "sk-admin-",
    "sk-or-v1-",
    "sk-",
    "AIza",
    "hf_",
    "gsk_",
    "xai-",
    "pplx-",
    "r8_",
    "tgp_v1_",
];

pub(crate) fn ai_api_key(ctx: &MatchContext<'_>) -> bool {
    let prefix = AI_KEY_PREFIXES
        .iter()
        .find(|p| ctx.matched.starts_with(p.as_bytes()))
        .map_or(0, |p| p.len());
    let body = &ctx.matched[prefix..];
    standalone(ctx)
        && !matches!(ctx.next(), Some(b'_' | b'-'))
        && !is_placeholder(body)
        && looks_random(body)
        && (prefix != 3 || !ctx.matched.starts_with(b"hf_") || mixed_case_letters(body))
}

/// Hugging Face tokens are 34 random letters, about half of them upper case; a camel-case
/// identifier (`hf_initWithFrameAndStyleAndDelegate`) has one capital per word.
fn mixed_case_letters(body: &[u8]) -> bool {
    let upper = body.iter().filter(|b| b.is_ascii_uppercase()).count();
    let lower = body.iter().filter(|b| b.is_ascii_lowercase()).count();
    upper >= 8 && lower >= 8
}

pub(crate) fn aws_access_key_id(ctx: &MatchContext<'_>) -> bool {
    standalone(ctx) && !is_placeholder(&ctx.matched[4..])
}

/// `/id_rsa` and friends (the match starts at the path separator), not the public half and
/// not a document about keys (`docs/ssh/id_rsa-explained.md`).
pub(crate) fn ssh_key_path(ctx: &MatchContext<'_>) -> bool {
    const DOCUMENTS: &[&[u8]] = &[b".pub", b".md", b".txt", b".html", b".rst", b".adoc"];
    !DOCUMENTS.iter().any(|ext| ctx.matched.ends_with(ext)) && !is_name_char(ctx.next())
}

/// A path that is not the tail of a longer name on either side (a match that starts with a
/// separator already starts a path component).
pub(crate) fn path_boundary(ctx: &MatchContext<'_>) -> bool {
    (starts_with_separator(ctx) || !is_word(ctx.prev())) && !is_word(ctx.next())
}

/// `sensitive_unix_path`: a path on its own. `/etc/passwd` holds no secret on a shadowed
/// system and is every path API's documentation example (`Path::new("/etc/passwd")`); it is a
/// finding where it is being read or fetched: after `../` (traversal), as a parameter value
/// (`file=/etc/passwd`, a tool call's `"path": "/etc/passwd"`), or as the argument of a
/// command that reads or sends files.
pub(crate) fn sensitive_unix_path(ctx: &MatchContext<'_>) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    if !path_boundary(ctx) {
        return false;
    }
    if !ctx.matched.starts_with(b"/etc/passwd") {
        return true;
    }
    let re = lookbehind(
        r#"(?-u)(?:\.\.|=|["']?(?i:path|file|filename|file_?path)["']?[ \t]*:[ \t]*["']|(?:^|[\s;&|(`"'])(?:sudo[ \t]+)?(?:cat|less|more|head|tail|cp|scp|rsync|curl|wget|nc|base64|xxd|strings|type|Get-Content|gc|vi|vim|nano|open|read|tar|zip)(?:[ \t]+-\S+)*[ \t]+)$"#,
        &RE,
    );
    re.is_match(ctx.before)
}

fn starts_with_separator(ctx: &MatchContext<'_>) -> bool {
    matches!(ctx.matched.first(), Some(b'/' | b'\\'))
}

/// A path whose end is not glued to more name characters.
pub(crate) fn path_end(ctx: &MatchContext<'_>) -> bool {
    !is_word(ctx.next()) && ctx.next() != Some(b'-')
}

/// Dotenv files that are templates, not secrets.
const DOTENV_TEMPLATES: &[&[u8]] = &[
    b"example",
    b"sample",
    b"template",
    b"dist",
    b"defaults",
    b"schema",
    b"tpl",
];

pub(crate) fn credential_path(ctx: &MatchContext<'_>) -> bool {
    let m = ctx.matched;
    let env_at = memchr::memmem::find(m, b".env");
    if let Some(at) = env_at.filter(|&at| at <= 1) {
        let suffix = m.get(at + 5..).unwrap_or(b"");
        if DOTENV_TEMPLATES
            .iter()
            .any(|t| suffix.eq_ignore_ascii_case(t))
            || is_word(ctx.next())
        {
            return false;
        }
        return match m[0] {
            // `".env"` or `'.env.local'`: the whole quoted string is the file name.
            q @ (b'"' | b'\'') => ctx.next() == Some(q),
            b'=' => matches!(
                ctx.next(),
                None | Some(b'&' | b' ' | b'"' | b'\'' | b'\r' | b'\n' | b'#')
            ),
            _ => true,
        };
    }
    (starts_with_separator(ctx) || !is_alnum(ctx.prev())) && path_end(ctx)
}

pub(crate) fn not_glued_before(ctx: &MatchContext<'_>) -> bool {
    !is_alnum(ctx.prev()) && !is_word(ctx.next())
}

/// Command words must start a word: `form ` is not `rm `, `run.sh -c` is not `sh -c`.
fn command_start(ctx: &MatchContext<'_>) -> bool {
    !is_name_char(ctx.prev())
}

fn lookbehind(pattern: &'static str, cell: &'static OnceLock<Regex>) -> &'static Regex {
    cell.get_or_init(|| {
        Regex::new(pattern).unwrap_or_else(|e| panic!("built-in look-behind {pattern}: {e}"))
    })
}

/// `curl …` inside `<(…)`, `$(…)` or backticks whose output a shell or interpreter runs:
/// `bash <(curl …)`, `sh -c "$(curl …)"`, `eval "$(wget …)"`, `` eval `curl …` ``,
/// `python3 <(curl …)`, `python3 -c "$(curl …)"`.
fn runs_substitution(before: &[u8]) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = lookbehind(
        r#"(?-u)(?:^|[\s;&|("'`])(?:(?:sudo[ \t]+)?(?:/usr/bin/|/bin/)?(?:(?:ba|z|da|k)?sh|python[23]?(?:\.[0-9]{1,2})?|perl|ruby|node|php)(?:[ \t]+-[A-Za-z]+)*?(?:[ \t]+-[A-Za-z]*[ceEr][A-Za-z]*)?|eval|source|\.|exec)[ \t]*["']?(?:<\( ?|\$\( ?|`)$"#,
        &RE,
    );
    re.is_match(before)
}

pub(crate) fn pipe_to_shell(ctx: &MatchContext<'_>) -> bool {
    let piped_ok = !is_name_char(ctx.next()) && ctx.next() != Some(b'/');
    match ctx.matched.last() {
        Some(b')' | b'`') if !ctx.matched[..1].eq_ignore_ascii_case(b"i") => {
            return runs_substitution(ctx.before)
        }
        _ => {}
    }
    match ctx.matched.first() {
        Some(b'i' | b'I') if ctx.matched.to_ascii_lowercase().starts_with(b"iex") => {
            command_start(ctx)
        }
        Some(b'i' | b'I')
            if ctx
                .matched
                .to_ascii_lowercase()
                .starts_with(b"invoke-expression") =>
        {
            command_start(ctx)
        }
        _ => {
            command_start(ctx)
                && piped_ok
                && downloads_something(ctx.matched)
                && interpreter_runs_stdin(ctx.matched, ctx.after)
        }
    }
}

/// A download names what it fetches: `curl | sh` in prose or a table cell (`| curl | bash |`)
/// has no argument before its pipe, and runs nothing.
fn downloads_something(matched: &[u8]) -> bool {
    let word_end = matched
        .iter()
        .position(|b| matches!(b, b' ' | b'\t'))
        .unwrap_or(matched.len());
    let args = &matched[word_end..];
    let pipe = memchr::memchr(b'|', args).unwrap_or(args.len());
    args[..pipe]
        .iter()
        .any(|b| !matches!(b, b' ' | b'\t' | b'\\' | b'\r' | b'\n'))
}

/// Whether the command a download is piped into executes it. A shell always might (`sh`,
/// `bash -s -- args`); an interpreter runs its standard input only when it is given no module,
/// inline code or script: `python3`, `python3 -`, `perl -w` do, `python3 -m json.tool` (a
/// pretty-printer), `node -e …` and `ruby script.rb` read the download as data.
fn interpreter_runs_stdin(matched: &[u8], after: &[u8]) -> bool {
    let word = matched
        .rsplit(|&b| matches!(b, b'|' | b'/' | b' ' | b'\t'))
        .next()
        .unwrap_or(b"");
    let end = after
        .iter()
        .position(|b| matches!(b, b'\n' | b'\r' | b';' | b'&' | b'|' | b')' | b'`'))
        .unwrap_or(after.len());
    let rest = &after[..end];
    // Quoted inline code runs past the `;` and `)` that end the command's words.
    let line = &after[..memchr::memchr2(b'\n', b'\r', after).unwrap_or(after.len())];
    let lower = word.to_ascii_lowercase();
    if lower.starts_with(b"powershell") || lower.starts_with(b"pwsh") {
        return powershell_runs_stdin(rest);
    }
    // Option letters that name code, a module or a script file instead of standard input.
    let code_options: &[u8] = if word.starts_with(b"python") {
        b"cm"
    } else if word.starts_with(b"perl") {
        b"eE"
    } else if word.starts_with(b"ruby") {
        b"e"
    } else if word.starts_with(b"node") {
        b"ep"
    } else if word.starts_with(b"php") {
        b"rf"
    } else {
        return true;
    };
    for token in rest.split(|b| matches!(b, b' ' | b'\t')) {
        // A quote ends the command's text (`"curl … | python3"}` in JSON): keep what precedes.
        // Markup after the command (`| python3 -</code>`) ends it too.
        let token = token
            .split(|b| matches!(b, b'"' | b'\''))
            .next()
            .unwrap_or(b"");
        let token = match memchr::memmem::find(token, b"</") {
            Some(at) => &token[..at],
            None => token,
        };
        match token {
            [] | b"-" => continue,
            [b'-', b'-', long @ ..] => {
                if long.starts_with(b"eval") || long.starts_with(b"print") {
                    return code_runs_stdin(line);
                }
            }
            [b'-', letters @ ..] => {
                if letters.iter().any(|l| code_options.contains(l)) {
                    return code_runs_stdin(line);
                }
            }
            // Redirections (`2>&1`, `<in`) are not scripts.
            t if t.iter().any(|b| matches!(b, b'<' | b'>')) => continue,
            _ => return false,
        }
    }
    true
}

/// Inline code that evaluates what it reads from standard input (the piped download):
/// `python3 -c 'exec(sys.stdin.read())'`, `perl -e 'eval join "", <STDIN>'`,
/// `ruby -e 'eval STDIN.read'`, `node -e 'eval(require("fs").readFileSync(0, "utf8"))'`.
fn code_runs_stdin(code: &[u8]) -> bool {
    let has = |w: &[u8]| memchr::memmem::find(code, w).is_some();
    (has(b"exec") || has(b"eval"))
        && (has(b"stdin") || has(b"STDIN") || has(b"readFileSync(0") || has(b"<>"))
}

/// `| powershell` and `| pwsh` run standard input unless a parameter names a command, a file
/// or encoded code; `-Command -` and `-File -` read standard input too.
fn powershell_runs_stdin(rest: &[u8]) -> bool {
    let mut tokens = rest
        .split(|b| matches!(b, b' ' | b'\t'))
        .filter(|t| !t.is_empty());
    while let Some(token) = tokens.next() {
        let lower = token.to_ascii_lowercase();
        let Some(name) = lower
            .strip_prefix(b"-")
            .or_else(|| lower.strip_prefix(b"/"))
        else {
            // A parameter's value (`-ExecutionPolicy Bypass`), or a script file to run.
            if lower.ends_with(b".ps1") {
                return false;
            }
            continue;
        };
        let names_code = matches!(
            name,
            b"c" | b"command" | b"f" | b"file" | b"e" | b"ec" | b"enc" | b"encodedcommand"
        );
        if names_code {
            return tokens.next().is_some_and(|t| t == b"-");
        }
    }
    true
}

/// What inline Node code must touch to be more than a build step: processes, the network,
/// code from strings, the environment, encoded payloads.
const NODE_RISKY: &[&[u8]] = &[
    b"child_process",
    b"exec",
    b"spawn",
    b"eval",
    b"Function",
    b"http",
    b"net",
    b"fetch",
    b"dgram",
    b"vm",
    b"import(",
    b"process.env",
    b"Buffer",
    b"atob",
    b"base64",
    b"\\x",
];

/// `shell_exec_flag`: a command word; for `node -e "…"` with its whole code in view, only code
/// that reaches beyond files (package scripts such as `node -e "require('fs').rmSync('dist')"`
/// are build steps, not injections).
pub(crate) fn shell_exec_flag(ctx: &MatchContext<'_>) -> bool {
    if !command_start(ctx) {
        return false;
    }
    let m = ctx.matched;
    if !m.starts_with(b"node") || !matches!(m.last(), Some(b'"' | b'\'')) {
        return true;
    }
    let code_start = m
        .iter()
        .position(|&b| b == b'"' || b == b'\'')
        .unwrap_or(m.len());
    let code = &m[code_start..];
    code.len() < 3
        || NODE_RISKY
            .iter()
            .any(|w| memchr::memmem::find(code, w).is_some())
}

pub(crate) fn reverse_shell(ctx: &MatchContext<'_>) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    if !ctx.matched.starts_with(b"/") && is_word(ctx.prev()) {
        return false;
    }
    if !matches!(ctx.matched, b"TCPSocket.new" | b"TCPSocket.open") {
        return true;
    }
    // Ruby spawning a shell whose standard streams are the socket opened in its own arguments:
    // `spawn("sh", [:in, :out, :err] => TCPSocket.new(host, port))`.
    let line_start = memchr::memrchr(b'\n', ctx.before).map_or(0, |i| i + 1);
    let re = lookbehind(
        r#"(?-u)(?:spawn|exec|system|popen)[ \t]{0,4}\(?[ \t]{0,4}["'](?:/bin/)?(?:ba|z|da)?sh["'][^\n]{0,200}?(?::in|:out|:err|STDIN|STDOUT|\$stdin|\$stdout|[0-2])[^\n]{0,80}=>[ \t]{0,4}$"#,
        &RE,
    );
    re.is_match(&ctx.before[line_start..])
}

/// Targets whose recursive removal destroys a system or a home directory.
fn dangerous_rm_target(target: &[u8]) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = lookbehind(
        r"(?-u)^(?:/+\.{0,2}|(?:~|\$HOME|\$\{HOME(?::?[-?=+][^}/]{0,40})?\})/?\.?|/(?:bin|boot|dev|etc|home|lib|lib32|lib64|libx32|media|mnt|opt|proc|root|run|sbin|srv|sys|usr|var|Users|System|Library|Applications|private)/?)\*?$",
        &RE,
    );
    re.is_match(target)
}

/// `rm` with a recursive flag (any order, short or long) on a dangerous target, or with
/// `--no-preserve-root`. The regex captured the whole argument list; this parses it.
pub(crate) fn destructive_rm(ctx: &MatchContext<'_>) -> bool {
    if !command_start(ctx) {
        return false;
    }
    let (mut recursive, mut no_preserve, mut dangerous, mut options_done) =
        (false, false, false, false);
    for raw in shell_words(&ctx.matched[2..]) {
        let word = unquote(raw);
        if options_done || !raw.starts_with(b"-") {
            dangerous |= dangerous_rm_target(word);
        } else if word == b"--" {
            options_done = true;
        } else if let Some(long) = word.strip_prefix(b"--") {
            recursive |= long == b"recursive";
            no_preserve |= long == b"no-preserve-root";
        } else {
            recursive |= word.iter().any(|&b| b == b'r' || b == b'R');
        }
    }
    // `--no-preserve-root` alone, in prose (`the rm --no-preserve-root option`), removes
    // nothing: it counts with a recursive flag or a dangerous target.
    (no_preserve && (recursive || dangerous)) || (recursive && dangerous)
}

fn shell_words(args: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = args;
    std::iter::from_fn(move || {
        let start = rest.iter().position(|b| !matches!(b, b' ' | b'\t'))?;
        rest = &rest[start..];
        let end = match rest[0] {
            q @ (b'"' | b'\'') => rest[1..]
                .iter()
                .position(|&b| b == q)
                .map_or(rest.len(), |e| e + 2),
            _ => rest
                .iter()
                .position(|b| matches!(b, b' ' | b'\t'))
                .unwrap_or(rest.len()),
        };
        let (word, tail) = rest.split_at(end);
        rest = tail;
        Some(word)
    })
}

fn unquote(word: &[u8]) -> &[u8] {
    match word {
        [q @ (b'"' | b'\''), inner @ .., last] if q == last => inner,
        _ => word,
    }
}

/// `authorized_keys` as the destination of a write: `>> path`, `> path`, `tee [-a] path`,
/// `cp|mv|install SRC path`, PowerShell `Add-Content`/`Set-Content`/`Out-File … path`.
/// Reading or mentioning the file is not a finding.
pub(crate) fn authorized_keys_write(ctx: &MatchContext<'_>) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    // `authorized_keys.bak` is another file.
    let another_file = ctx.next() == Some(b'.') && is_alnum(ctx.after.get(1).copied());
    if is_word(ctx.next()) || another_file {
        return false;
    }
    let line_start = memchr::memrchr(b'\n', ctx.before).map_or(0, |i| i + 1);
    let line = &ctx.before[line_start..];
    // Walk back over the directory part of the path (`~/.ssh/`, `"$HOME"/.ssh/`, `/root/.ssh/`,
    // `$env:USERPROFILE\.ssh\`).
    let path_start = line
        .iter()
        .rposition(|b| !(b.is_ascii_alphanumeric() || b"_.~/\\${}\"'-@%:".contains(b)))
        .map_or(0, |i| i + 1);
    let re = lookbehind(
        r#"(?-u)(?:>>?|(?:^|[\s;&|("'`])(?:sudo[ \t]+(?:-\S+[ \t]+)*)?tee(?:[ \t]+-[A-Za-z-]+)*|(?:^|[\s;&|("'`])(?:cp|mv|install|ln)(?:[ \t]+-\S+)*[ \t]+[^-\s]\S*|(?:^|[\s;&|("'`])(?i:add-content|set-content|out-file)[ \t][^\n|;]{0,300}?)[ \t]*$"#,
        &RE,
    );
    re.is_match(&line[..path_start])
}
