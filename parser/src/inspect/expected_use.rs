//! Expected use is not exfiltration (SPEC §4.2): a credential in a credential header (or
//! Google's `key=` / AWS's `X-Amz-Credential=` query parameter) sent to its own provider.

/// Header fields that carry credentials by design.
pub const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "x-goog-api-key",
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
        _ => &[],
    }
}

/// The host part of `host:port` / `[v6]:port`, lower-cased, trailing dot removed.
pub fn host_of(dest: &str) -> String {
    let host = if let Some(rest) = dest.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        dest.rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(dest, |(h, _)| h)
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// Whether `host` is `pattern` or, for `*.domain`, a subdomain of it.
pub fn host_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(domain) => {
            host.len() > domain.len() + 1
                && host.ends_with(domain)
                && host[..host.len() - domain.len()].ends_with('.')
        }
        None => host == pattern,
    }
}
