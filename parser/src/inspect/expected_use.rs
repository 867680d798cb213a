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
