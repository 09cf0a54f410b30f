//! Identifier newtypes: cheap to clone (`Arc<str>`), compared and hashed as their text, and
//! borrowable as `&str` so maps keyed by them can be searched with a plain string.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Arc<str>);

        impl $name {
            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(name: &str) -> Self {
                $name(Arc::from(name))
            }
        }

        impl From<String> for $name {
            fn from(name: String) -> Self {
                $name(Arc::from(name))
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&*self.0, f)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                &*self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                &*self.0 == *other
            }
        }
    };
}

name_type!(
    /// An agent's id: also the SIP user part it registers with and authenticates as (`1001`).
    AgentId
);
name_type!(
    /// A queue's name (`support`).
    QueueName
);
name_type!(
    /// A skill's name (`support`, `sales`), as used in agents' `skills` and queue requirements.
    SkillName
);
name_type!(
    /// An IVR flow's name (`main`).
    IvrName
);
name_type!(
    /// A SIP trunk's name (`carrier`).
    TrunkName
);

/// A password for SIP digest authentication (RFC 3261 §22, RFC 7616). `Debug` never shows it,
/// so a logged configuration does not leak credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct DigestPassword(String);

impl DigestPassword {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        DigestPassword(password.into())
    }

    /// The password itself, for computing digest responses (HA1). Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DigestPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DigestPassword(***)")
    }
}

/// A SIP or SIPS URI checked at load time (a static agent contact, a route to an external
/// destination). Kept as the text the operator wrote; the SIP layer parses it when it dials.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SipUri(String);

impl SipUri {
    /// Checks `text` is a `sip:` or `sips:` URI (RFC 3261 §19.1.1) with a valid host (a name,
    /// an IPv4 address or a bracketed IPv6 address) and optional port, user part, parameters
    /// and headers. A structural check only: the SIP layer parses it fully when it dials.
    pub fn parse(text: &str) -> Option<Self> {
        let has_scheme = |scheme: &str| {
            text.get(..scheme.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
        };
        let rest = if has_scheme("sip:") {
            text.get(4..)?
        } else if has_scheme("sips:") {
            text.get(5..)?
        } else {
            return None;
        };
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        // userinfo@hostport;params?headers — parameters and headers start after the host.
        let (before_headers, _) = rest.split_once('?').unwrap_or((rest, ""));
        let host_port = match before_headers.rsplit_once('@') {
            Some((user, host_port)) if !user.is_empty() => host_port,
            Some(_) => return None,
            None => before_headers,
        };
        let host_port = host_port.split(';').next().unwrap_or_default();
        is_host_port(host_port).then(|| SipUri(text.to_owned()))
    }

    /// The URI as written in the configuration.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Where a request to this URI goes without DNS: a `sip:` URI whose host is an IP address
    /// and whose `transport` parameter, if any, is `udp` (port 5060 by default, RFC 3261
    /// §19.1.2). `None` for names, `sips:` and stream transports.
    pub fn udp_address(&self) -> Option<std::net::SocketAddr> {
        let rest = self
            .0
            .get(..4)?
            .eq_ignore_ascii_case("sip:")
            .then(|| &self.0[4..])?;
        let (before_headers, _) = rest.split_once('?').unwrap_or((rest, ""));
        let mut parts = before_headers.split(';');
        let user_host = parts.next()?;
        let udp = parts.all(|p| match p.split_once('=') {
            Some((k, v)) if k.eq_ignore_ascii_case("transport") => v.eq_ignore_ascii_case("udp"),
            _ => true,
        });
        if !udp {
            return None;
        }
        let host_port = user_host.rsplit_once('@').map_or(user_host, |(_, h)| h);
        if let Ok(addr) = host_port.parse::<std::net::SocketAddr>() {
            return Some(addr);
        }
        let host = host_port.trim_start_matches('[').trim_end_matches(']');
        host.parse::<std::net::IpAddr>()
            .ok()
            .map(|ip| std::net::SocketAddr::new(ip, 5060))
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// `host[:port]` per RFC 3261 §25.1: hostname, IPv4address or "[" IPv6address "]".
fn is_host_port(text: &str) -> bool {
    let (host, port) = if let Some(bracketed) = text.strip_prefix('[') {
        let Some((v6, after)) = bracketed.split_once(']') else {
            return false;
        };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        match after {
            "" => return true,
            _ => ("", after.strip_prefix(':')),
        }
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    let port_ok = match port {
        None => true,
        Some(port) => port.parse::<u16>().is_ok_and(|p| p > 0),
    };
    let host_ok = text.starts_with('[')
        || (!host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            }));
    port_ok && host_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn maps_keyed_by_names_are_searchable_by_str() {
        let mut map = BTreeMap::new();
        map.insert(QueueName::from("support"), 1);
        assert_eq!(map.get("support"), Some(&1));
    }

    #[test]
    fn password_debug_is_redacted() {
        assert_eq!(
            format!("{:?}", DigestPassword::new("secret")),
            "DigestPassword(***)"
        );
    }

    #[test]
    fn sip_uri_accepts_sip_and_sips_with_a_host() {
        assert!(SipUri::parse("sip:1001@192.0.2.10:5060").is_some());
        assert!(SipUri::parse("sips:agent@pbx.example.com").is_some());
        assert!(SipUri::parse("sip:[2001:db8::1]:5062;transport=tcp").is_some());
    }

    #[test]
    fn sip_uri_refuses_other_schemes_and_garbage() {
        for bad in [
            "http://x",
            "tel:+15551234",
            "sip:",
            "1001@host",
            "sip:a b@host",
            "sip:@host",
            "sip:u@host:99999",
            "sip:u@[::1",
            "sip:u@ho_st",
            "",
        ] {
            assert!(SipUri::parse(bad).is_none(), "{bad:?} accepted");
        }
    }
}
