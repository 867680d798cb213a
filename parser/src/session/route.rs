//! Where a request goes: the authority of an absolute-form target (or the origin of an
//! intercepted tunnel), the request-target to send, and the `Host` to send (RFC 9112 §3.2.2).

use crate::framing::Head;

/// A routed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// Lower-cased host (no brackets for IPv6).
    pub host: String,
    /// Port.
    pub port: u16,
    /// The request-target to send upstream.
    pub target: Vec<u8>,
    /// The absolute-form target's authority (without userinfo), which replaces `Host`.
    pub named: Option<String>,
}

/// Routes a request head. `origin` is the fixed origin of an intercepted tunnel (origin-form
/// targets); `absolute` keeps the absolute form (for a parent proxy). `None`: not a request a
/// forward proxy can route.
pub fn route(head: &Head, origin: Option<&(String, u16)>, absolute: bool) -> Option<Route> {
    // A fragment is never sent (RFC 9110 §4.2.5, RFC 9112 §3.2: no request-target form holds
    // one); it is scanned with the rest of the target all the same.
    let target = head.target();
    let target = &target[..memchr::memchr(b'#', target).unwrap_or(target.len())];
    if let Some((host, port)) = origin {
        return Some(Route {
            host: host.clone(),
            port: *port,
            target: if target.is_empty() {
                b"/".to_vec()
            } else {
                target.to_vec()
            },
            named: None,
        });
    }
    let rest = target
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case(b"http://"))
        .map(|_| &target[7..])?;
    let end = rest
        .iter()
        .position(|b| matches!(b, b'/' | b'?'))
        .unwrap_or(rest.len());
    let named = std::str::from_utf8(&rest[..end]).ok()?;
    let (host, port) = split_authority(named, 80)?;
    let named = named.rsplit('@').next().unwrap_or(named).to_string();
    let sent = if absolute {
        target.to_vec()
    } else {
        match &rest[end..] {
            [] => b"/".to_vec(),
            [b'?', ..] => [b"/".as_slice(), &rest[end..]].concat(),
            p => p.to_vec(),
        }
    };
    Some(Route {
        host,
        port,
        target: sent,
        named: Some(named),
    })
}

/// Splits `host:port`, `[v6]:port` or `host` (with `default_port`), lower-cased, userinfo
/// dropped. `None` for an empty host, a bad port or characters no host name has.
pub fn split_authority(authority: &str, default_port: u16) -> Option<(String, u16)> {
    crate::authority::Authority::parse(authority, default_port)
        .ok()
        .map(|a| (a.host, a.port))
}

/// Formats `host:port` (brackets for IPv6).
pub fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}
