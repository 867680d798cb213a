//! Expected use is not exfiltration (SPEC §4.2): a credential in a credential header (or
//! Google's `key=` / AWS's `X-Amz-Credential=` query parameter) sent to its own provider, or in
//! the place its client documents: a Telegram bot token in the URL path (`/bot<token>/…`), a
//! webhook URL as the request's own URL, a token as the password of the URL's user info
//! (`https://user:<token>@github.com/…`).

/// Header fields that carry credentials by design.
pub const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "x-goog-api-key",
    "private-token",
];

/// Query parameters that carry credentials by design.
pub const CREDENTIAL_PARAMS: &[&str] = &["key", "x-amz-credential"];

/// The built-in provider hosts for a pattern match (`*.domain` matches subdomains).
pub fn provider_hosts(pattern: &str, matched: &[u8]) -> &'static [&'static str] {
    match pattern {
        "aws_access_key_id" => &["*.amazonaws.com", "*.amazonaws.com.cn"],
        "ai_api_key" => {
            const BY_PREFIX: &[(&str, &[&str])] = &[
                ("sk-ant-", &["api.anthropic.com"]),
                ("sk-or-", &["openrouter.ai"]),
                ("sk-", &["api.openai.com"]),
                (
                    "AIza",
                    &["generativelanguage.googleapis.com", "*.googleapis.com"],
                ),
                ("hf_", &["huggingface.co", "*.huggingface.co", "*.hf.space"]),
                ("gsk_", &["api.groq.com"]),
                ("xai-", &["api.x.ai"]),
                ("pplx-", &["api.perplexity.ai"]),
                ("r8_", &["api.replicate.com"]),
                ("tgp_v1_", &["api.together.xyz", "api.together.ai"]),
            ];
            BY_PREFIX
                .iter()
                .find(|(p, _)| matched.starts_with(p.as_bytes()))
                .map_or(&[], |(_, hosts)| hosts)
        }
        "chat_platform_token" => by_prefix(
            matched,
            &[
                (":", &["api.telegram.org"]),
                (
                    "Bot",
                    &[
                        "discord.com",
                        "*.discord.com",
                        "discordapp.com",
                        "*.discordapp.com",
                    ],
                ),
                ("discord", &["discord.com", "discordapp.com"]),
                ("DISCORD", &["discord.com", "discordapp.com"]),
                ("xox", &["slack.com", "*.slack.com"]),
                ("xapp-", &["slack.com", "*.slack.com"]),
                ("hooks.slack.com", &["hooks.slack.com"]),
                ("oapi.dingtalk.com", &["oapi.dingtalk.com"]),
                ("open.feishu.cn", &["open.feishu.cn"]),
                ("open.larksuite.com", &["open.larksuite.com"]),
                ("qyapi.weixin.qq.com", &["qyapi.weixin.qq.com"]),
            ],
        ),
        "code_host_token" => by_prefix(
            matched,
            &[
                (
                    "gh",
                    &[
                        "api.github.com",
                        "github.com",
                        "uploads.github.com",
                        "*.githubusercontent.com",
                    ],
                ),
                ("gl", &["gitlab.com", "*.gitlab.com"]),
            ],
        ),
        "package_registry_token" => by_prefix(
            matched,
            &[
                ("npm_", &["registry.npmjs.org", "registry.npmjs.com"]),
                ("pypi-", &["upload.pypi.org", "pypi.org", "test.pypi.org"]),
                (
                    "dckr_",
                    &[
                        "hub.docker.com",
                        "registry-1.docker.io",
                        "auth.docker.io",
                        "index.docker.io",
                    ],
                ),
                ("cio", &["crates.io", "*.crates.io"]),
            ],
        ),
        "cloud_service_key" => by_prefix(
            matched,
            &[
                ("sk_live_", &["api.stripe.com", "files.stripe.com"]),
                ("rk_live_", &["api.stripe.com", "files.stripe.com"]),
                ("SG.", &["api.sendgrid.com"]),
                ("twilio", &["api.twilio.com", "*.twilio.com"]),
                ("TWILIO", &["api.twilio.com", "*.twilio.com"]),
                ("do", &["api.digitalocean.com"]),
                ("api_org_", &["huggingface.co", "*.huggingface.co"]),
                ("ABSK", &["*.amazonaws.com", "*.api.aws"]),
                ("bedrock-api-key-", &["*.amazonaws.com", "*.api.aws"]),
                (
                    "GOCSPX-",
                    &[
                        "oauth2.googleapis.com",
                        "accounts.google.com",
                        "www.googleapis.com",
                    ],
                ),
            ],
        ),
        // AWS secret access keys sign requests and never travel; database URLs always merit
        // a look.
        _ => &[],
    }
}

fn by_prefix(
    matched: &[u8],
    table: &'static [(&'static str, &'static [&'static str])],
) -> &'static [&'static str] {
    table
        .iter()
        .find(|(p, _)| matched.starts_with(p.as_bytes()))
        .map_or(&[], |(_, hosts)| hosts)
}

/// Whether a match in the request line sits where its client documents it, given the request
/// line up to the match (`before`) and the byte after it:
/// - a Telegram bot token as the path's `/bot<id>:<secret>` or `/file/bot<id>:<secret>`;
/// - a webhook URL (Slack, Discord, DingTalk, Feishu/Lark, WeCom) as the request's own URL;
/// - a code-host or registry token as the password of the URL's user info (basic auth).
///
/// The host is checked by the caller: in place and to the provider's host is expected use.
pub fn documented_url_position(
    pattern: &str,
    matched: &[u8],
    before: &[u8],
    next: Option<u8>,
) -> bool {
    let Some(space) = memchr::memchr(b' ', before) else {
        return false;
    };
    let target = &before[space + 1..];
    // The target up to the path: `https://host` (absolute form) or nothing (origin form).
    let path_start = |t: &[u8]| -> usize {
        let rest = strip_scheme(t);
        let after_scheme = t.len() - rest.len();
        if after_scheme == 0 {
            return 0;
        }
        memchr::memchr(b'/', rest).map_or(t.len(), |i| after_scheme + i)
    };
    match pattern {
        "chat_platform_token" if matched.starts_with(b":") => {
            let digits = target
                .iter()
                .rev()
                .take_while(|b| b.is_ascii_digit())
                .count();
            let path = &target[path_start(target)..target.len() - digits];
            path == b"/bot" || path == b"/file/bot"
        }
        "chat_platform_token" => {
            // The URL's host starts the match: the scheme must be all that precedes it.
            !target.is_empty() && strip_scheme(target).is_empty()
        }
        "code_host_token" | "package_registry_token" => {
            // `scheme://user:` then the token, then `@host`.
            let rest = strip_scheme(target);
            rest.len() < target.len()
                && next == Some(b'@')
                && rest.ends_with(b":")
                && !rest[..rest.len() - 1]
                    .iter()
                    .any(|b| matches!(b, b'/' | b'@' | b':' | b'?' | b'#'))
        }
        _ => false,
    }
}

fn strip_scheme(t: &[u8]) -> &[u8] {
    for scheme in [&b"https://"[..], b"http://"] {
        if t.len() >= scheme.len() && t[..scheme.len()].eq_ignore_ascii_case(scheme) {
            return &t[scheme.len()..];
        }
    }
    t
}

/// The host part of `host:port` / `[v6]:port`, lower-cased, trailing dot removed: the one
/// authority parser's ([`crate::authority::host_of`]).
pub use crate::authority::host_of;

/// Whether `host` is `pattern` or, for `*.domain`, a subdomain of it.
pub fn host_matches(pattern: &str, host: &str) -> bool {
    let (pattern, host) = (pattern.trim_end_matches('.').as_bytes(), host.as_bytes());
    match pattern.strip_prefix(b"*.") {
        Some(domain) => {
            let Some(dot) = host.len().checked_sub(domain.len() + 1) else {
                return false;
            };
            dot > 0 && host[dot] == b'.' && host[dot + 1..].eq_ignore_ascii_case(domain)
        }
        None => host.eq_ignore_ascii_case(pattern),
    }
}

#[cfg(test)]
mod tests {
    use super::host_matches;

    #[test]
    fn host_patterns_match_exact_hosts_and_true_subdomains_only() {
        assert!(host_matches("api.openai.com", "api.openai.com"));
        assert!(host_matches("API.OpenAI.com.", "api.openai.com"));
        assert!(!host_matches(
            "api.openai.com",
            "api.openai.com.evil.example"
        ));
        assert!(host_matches(
            "*.amazonaws.com",
            "s3.us-east-1.amazonaws.com"
        ));
        assert!(host_matches("*.AmazonAWS.com", "sts.amazonaws.com"));
        assert!(!host_matches("*.amazonaws.com", "amazonaws.com"));
        assert!(!host_matches("*.amazonaws.com", "evilamazonaws.com"));
        assert!(!host_matches("*.amazonaws.com", ".amazonaws.com"));
        assert!(!host_matches("*.amazonaws.com", "com"));
    }
}
