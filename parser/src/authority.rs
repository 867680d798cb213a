//! The one authority parser (RFC 3986 §3.2.2–3): `host`, `host:port` and `[v6]:port`, as they
//! come in request targets, `CONNECT` lines, finding destinations and configuration keys.
//!
//! Userinfo (`user:pass@`) is stripped and reported, never kept. Hosts are registered names
//! (letters, digits, `-`, `.`, `_`, at most 253 bytes, lower-cased) or IPv6 literals in
//! brackets (checked with [`std::net::Ipv6Addr`]); a port is 1 to 5 digits in 1–65535. Anything
//! else is an [`AuthorityError`] rather than a guess: an unclosed bracket, a bare IPv6 address,
//! a second `@` (two parsers could pick different hosts from it), spaces, an empty host.

use std::fmt;
use std::net::Ipv6Addr;

/// The longest registered name accepted (DNS: 253 bytes without the trailing dot).
pub const MAX_HOST: usize = 254;

/// A parsed authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    /// The host, lower-cased; an IPv6 literal without its brackets.
    pub host: String,
    /// The port: the one given, else the caller's default.
    pub port: u16,
    /// Whether the port was written out.
    pub explicit_port: bool,
    /// Whether userinfo (`…@`) preceded the host (it is dropped).
    pub had_userinfo: bool,
}

/// Why a string is not an authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorityError {
    /// Nothing (or only userinfo) was given.
    Empty,
    /// More than one `@`.
    TwoUserinfos,
    /// `[` without a matching `]`.
    UnclosedBracket,
    /// The text in brackets is not an IPv6 address.
    BadIpv6,
    /// Bytes after `]` other than `:port`.
    AfterBracket,
    /// Several `:` outside brackets (a bare IPv6 address, or garbage).
    BareColons,
    /// The port is not 1 to 5 digits.
    BadPort,
    /// The port is 0 or above 65535.
    PortOutOfRange,
    /// The host has a byte a host name cannot have (shown).
    BadHostByte(char),
    /// The host is longer than [`MAX_HOST`].
    HostTooLong,
}

impl fmt::Display for AuthorityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthorityError::Empty => f.write_str("the host is empty"),
            AuthorityError::TwoUserinfos => f.write_str("more than one '@'"),
            AuthorityError::UnclosedBracket => f.write_str("'[' without ']'"),
            AuthorityError::BadIpv6 => f.write_str("the bracketed host is not an IPv6 address"),
            AuthorityError::AfterBracket => f.write_str("only ':port' may follow ']'"),
            AuthorityError::BareColons => {
                f.write_str("more than one ':' (write an IPv6 host in brackets)")
            }
            AuthorityError::BadPort => f.write_str("the port must be 1 to 5 digits"),
            AuthorityError::PortOutOfRange => f.write_str("the port must be in 1-65535"),
            AuthorityError::BadHostByte(c) => write!(f, "the host may not contain {c:?}"),
            AuthorityError::HostTooLong => write!(f, "the host is longer than {MAX_HOST} bytes"),
        }
    }
}

impl std::error::Error for AuthorityError {}

impl Authority {
    /// Parses `s`; `default_port` when no port is written.
    pub fn parse(s: &str, default_port: u16) -> Result<Authority, AuthorityError> {
        let (had_userinfo, hostport) = match s.split_once('@') {
            Some((_, rest)) if rest.contains('@') => return Err(AuthorityError::TwoUserinfos),
            Some((_, rest)) => (true, rest),
            None => (false, s),
        };
        if hostport.is_empty() {
            return Err(AuthorityError::Empty);
        }
        let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
            let (literal, tail) = rest
                .split_once(']')
                .ok_or(AuthorityError::UnclosedBracket)?;
            if literal.parse::<Ipv6Addr>().is_err() {
                return Err(AuthorityError::BadIpv6);
            }
            let port = match tail {
                "" => None,
                _ => Some(tail.strip_prefix(':').ok_or(AuthorityError::AfterBracket)?),
            };
            (literal.to_ascii_lowercase(), port)
        } else {
            let (host, port) = match hostport.split_once(':') {
                Some((_, p)) if p.contains(':') => return Err(AuthorityError::BareColons),
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            };
            (registered_name(host)?, port)
        };
        let port_value = match port {
            None => default_port,
            Some(p) => parse_port(p)?,
        };
        Ok(Authority {
            host,
            port: port_value,
            explicit_port: port.is_some(),
            had_userinfo,
        })
    }
}

impl fmt::Display for Authority {
    /// `host:port`, an IPv6 host in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

fn registered_name(host: &str) -> Result<String, AuthorityError> {
    if host.is_empty() {
        return Err(AuthorityError::Empty);
    }
    if host.len() > MAX_HOST {
        return Err(AuthorityError::HostTooLong);
    }
    if let Some(c) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
    {
        return Err(AuthorityError::BadHostByte(c));
    }
    Ok(host.to_ascii_lowercase())
}

fn parse_port(p: &str) -> Result<u16, AuthorityError> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthorityError::BadPort);
    }
    match p.parse::<u32>() {
        Ok(n @ 1..=65535) => Ok(n as u16),
        _ => Err(AuthorityError::PortOutOfRange),
    }
}

/// The host of a finding's destination (`host:port`, `[v6]:port` or `host`), lower-cased,
/// trailing dot removed. Never fails: a destination that does not parse is taken whole, so a
/// strange one still matches nothing rather than something.
pub fn host_of(dest: &str) -> String {
    let host = match Authority::parse(dest, 1) {
        Ok(a) => a.host,
        Err(_) => dest.to_ascii_lowercase(),
    };
    host.trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> (String, u16) {
        let a = Authority::parse(s, 80).unwrap_or_else(|e| panic!("{s:?}: {e}"));
        (a.host, a.port)
    }

    fn err(s: &str) -> AuthorityError {
        Authority::parse(s, 80).expect_err(s)
    }

    #[test]
    fn names_addresses_and_ports() {
        assert_eq!(ok("Example.COM"), ("example.com".into(), 80));
        assert_eq!(ok("example.com:8443"), ("example.com".into(), 8443));
        assert_eq!(ok("10.0.0.1:1"), ("10.0.0.1".into(), 1));
        assert_eq!(ok("[::1]"), ("::1".into(), 80));
        assert_eq!(ok("[2001:DB8::1]:65535"), ("2001:db8::1".into(), 65535));
        assert_eq!(ok("my_host.internal:9"), ("my_host.internal".into(), 9));
        let a = Authority::parse("user:pw@Host:81", 80).expect("userinfo");
        assert_eq!((a.host.as_str(), a.port), ("host", 81));
        assert!(a.had_userinfo && a.explicit_port);
        assert!(!Authority::parse("host", 80).expect("plain").explicit_port);
        assert_eq!(
            Authority::parse("[::1]:8080", 80).expect("v6").to_string(),
            "[::1]:8080"
        );
    }

    #[test]
    fn hostile_authorities_are_errors() {
        assert_eq!(err(""), AuthorityError::Empty);
        assert_eq!(err("user@"), AuthorityError::Empty);
        assert_eq!(err(":80"), AuthorityError::Empty);
        assert_eq!(err("[::1"), AuthorityError::UnclosedBracket);
        assert_eq!(err("[::1]x"), AuthorityError::AfterBracket);
        assert_eq!(err("[::1]:"), AuthorityError::BadPort);
        assert_eq!(err("[not-v6]:80"), AuthorityError::BadIpv6);
        assert_eq!(err("[]:80"), AuthorityError::BadIpv6);
        assert_eq!(err("::1:443"), AuthorityError::BareColons);
        assert_eq!(err("host:99999"), AuthorityError::PortOutOfRange);
        assert_eq!(err("host:65536"), AuthorityError::PortOutOfRange);
        assert_eq!(err("host:0"), AuthorityError::PortOutOfRange);
        assert_eq!(err("host:123456"), AuthorityError::BadPort);
        assert_eq!(err("host:+80"), AuthorityError::BadPort);
        assert_eq!(err("host:"), AuthorityError::BadPort);
        assert_eq!(err("host:8 0"), AuthorityError::BadPort);
        assert_eq!(err("a@b@c"), AuthorityError::TwoUserinfos);
        assert_eq!(err("a@b@c:80"), AuthorityError::TwoUserinfos);
        assert_eq!(err("exa mple.com"), AuthorityError::BadHostByte(' '));
        assert_eq!(err(" example.com"), AuthorityError::BadHostByte(' '));
        assert_eq!(err("example.com/x"), AuthorityError::BadHostByte('/'));
        assert_eq!(err("exämple.com"), AuthorityError::BadHostByte('ä'));
        assert_eq!(err("a\r\nb"), AuthorityError::BadHostByte('\r'));
        assert_eq!(err(&"a".repeat(255)), AuthorityError::HostTooLong);
    }

    #[test]
    fn the_host_of_a_destination() {
        assert_eq!(host_of("API.OpenAI.com.:443"), "api.openai.com");
        assert_eq!(host_of("[::1]:8080"), "::1");
        assert_eq!(host_of("example.com"), "example.com");
        assert_eq!(host_of("u@example.com:80"), "example.com");
        assert_eq!(host_of("a b"), "a b");
    }
}
