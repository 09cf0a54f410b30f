//! What Switchboard answers to a request outside any dialog, decided before any work is done
//! (RFC 3261 §8.2: method, then URI scheme, then extensions, then the addressed user).
//!
//! Pure: the request and a [`Directory`] in, a [`Decision`] out.

use std::collections::HashSet;
use std::net::IpAddr;

use ipnet::IpNet;

use rsip::prelude::HeadersExt;
use rsip::{Method, Request, Scheme, StatusCode};

/// Methods Switchboard implements, for `Allow` (RFC 3261 §20.5).
pub(crate) const ALLOW: &str =
    "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, REFER, NOTIFY, UPDATE";
/// Body types Switchboard accepts, for `Accept` (RFC 3261 §20.1).
pub(crate) const ACCEPT: &str = "application/sdp, application/dtmf-relay, message/sipfrag";
/// Option tags Switchboard supports, for `Supported` (RFC 3261 §20.37): session timers
/// (RFC 4028). `replaces` (RFC 3891) comes with attended transfer.
pub(crate) const SUPPORTED: &[&str] = &["timer", "replaces"];

/// Who and what Switchboard knows, as the policy needs it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Directory {
    /// Sources allowed to send INVITEs without authentication.
    pub(crate) trunk_sources: Vec<IpNet>,
    /// Agent ids (= SIP user names).
    pub(crate) agents: HashSet<String>,
    /// Dialled numbers with a route.
    pub(crate) routes: HashSet<String>,
}

impl Directory {
    pub(crate) fn is_trunk(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.trunk_sources.iter().any(|net| net.contains(&ip))
    }

    /// Whether the Request-URI user is someone we serve; a URI with no user addresses the
    /// server itself.
    fn knows_user(&self, user: Option<&str>) -> bool {
        match user {
            None | Some("") => true,
            Some(u) => self.agents.contains(u) || self.routes.contains(u),
        }
    }
}

/// What to do with a request that matched no transaction or dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Hand it to the registrar.
    Register,
    /// An INVITE to route by its dialled number.
    Invite {
        /// The Request-URI user (DNIS).
        dnis: String,
        /// Whether it came from an allow-listed trunk (else it must authenticate as an agent).
        from_trunk: bool,
    },
    /// OPTIONS to us: 200 with capabilities.
    Capabilities,
    /// Answer with this status and nothing else.
    Reject(StatusCode),
    /// 420 Bad Extension naming the first required option tag we lack in `Unsupported`.
    BadExtension(String),
    /// ACK outside a transaction or dialog: nothing to send (RFC 3261 §17.2.3 stray ACK).
    Ignore,
}

/// Decides the first step for an out-of-dialog request from `source`.
pub(crate) fn decide(request: &Request, source: IpAddr, directory: &Directory) -> Decision {
    let has_to_tag = request
        .to_header()
        .ok()
        .and_then(|t| t.tag().ok().flatten())
        .is_some();
    match request.method {
        Method::Ack => return Decision::Ignore,
        // In-dialog methods whose dialog we do not know (RFC 3261 §12.2.2).
        Method::Bye
        | Method::Cancel
        | Method::Update
        | Method::Info
        | Method::PRack
        | Method::Refer
        | Method::Notify
            if has_to_tag || matches!(request.method, Method::Bye | Method::Cancel) =>
        {
            return Decision::Reject(StatusCode::CallTransactionDoesNotExist);
        }
        Method::Invite | Method::Options | Method::Register => {}
        // Known methods we do not serve outside a dialog, and extension methods (§21.5.2).
        _ => return Decision::Reject(StatusCode::NotImplemented),
    }
    // §8.2.2.1: the Request-URI scheme must be one we understand.
    if !matches!(
        request.uri.scheme,
        None | Some(Scheme::Sip) | Some(Scheme::Sips)
    ) {
        return Decision::Reject(StatusCode::UnsupportedUriScheme);
    }
    // §8.2.2.3: any Require option tag we do not support → 420 (listed in Unsupported).
    if let Some(tag) = unsupported_required(request) {
        return Decision::BadExtension(tag);
    }
    let user = request.uri.user();
    match request.method {
        Method::Register => Decision::Register,
        Method::Options if directory.knows_user(user) => Decision::Capabilities,
        Method::Options => Decision::Reject(StatusCode::NotFound),
        Method::Invite => {
            let from_trunk = directory.is_trunk(source);
            let dnis = user.unwrap_or_default().to_string();
            if !from_trunk {
                // Agents authenticate; anyone else is refused (issue: 403, not a challenge).
                Decision::Invite { dnis, from_trunk }
            } else if directory.routes.contains(&dnis) || directory.agents.contains(&dnis) {
                Decision::Invite { dnis, from_trunk }
            } else {
                Decision::Reject(StatusCode::NotFound)
            }
        }
        _ => Decision::Reject(StatusCode::NotImplemented),
    }
}

/// The first option tag in `Require` that is not in [`SUPPORTED`].
fn unsupported_required(request: &Request) -> Option<String> {
    use rsip::headers::UntypedHeader;
    request
        .headers
        .iter()
        .filter_map(|header| match header {
            rsip::Header::Require(require) => Some(require.value()),
            _ => None,
        })
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .find(|tag| !tag.is_empty() && !SUPPORTED.iter().any(|s| s.eq_ignore_ascii_case(tag)))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, uri: &str, extra: &str) -> Request {
        let raw = format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n\
             Max-Forwards: 70\r\nFrom: <sip:x@127.0.0.1>;tag=1\r\nTo: <{uri}>\r\n\
             Call-ID: c@127.0.0.1\r\nCSeq: 1 {method}\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        Request::try_from(raw.as_str()).expect("test request parses")
    }

    fn directory() -> Directory {
        Directory {
            trunk_sources: vec!["127.0.0.0/8".parse().unwrap()],
            agents: ["1001".to_string()].into(),
            routes: ["201".to_string()].into(),
        }
    }

    const TRUNK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 9));
    const STRANGER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

    #[test]
    fn options_to_the_server_or_a_known_user_gets_capabilities() {
        let d = directory();
        assert_eq!(
            decide(&request("OPTIONS", "sip:127.0.0.1", ""), TRUNK, &d),
            Decision::Capabilities
        );
        assert_eq!(
            decide(&request("OPTIONS", "sip:1001@127.0.0.1", ""), TRUNK, &d),
            Decision::Capabilities
        );
        assert_eq!(
            decide(&request("OPTIONS", "sip:nobody@127.0.0.1", ""), TRUNK, &d),
            Decision::Reject(StatusCode::NotFound)
        );
    }

    #[test]
    fn invite_from_trunk_routes_by_dnis_and_unknown_dnis_is_404() {
        let d = directory();
        assert_eq!(
            decide(&request("INVITE", "sip:201@127.0.0.1", ""), TRUNK, &d),
            Decision::Invite {
                dnis: "201".into(),
                from_trunk: true
            }
        );
        assert_eq!(
            decide(&request("INVITE", "sip:999@127.0.0.1", ""), TRUNK, &d),
            Decision::Reject(StatusCode::NotFound)
        );
    }

    #[test]
    fn invite_from_outside_the_allow_list_must_authenticate() {
        assert_eq!(
            decide(
                &request("INVITE", "sip:201@127.0.0.1", ""),
                STRANGER,
                &directory()
            ),
            Decision::Invite {
                dnis: "201".into(),
                from_trunk: false
            }
        );
    }

    #[test]
    fn unsupported_methods_get_501_and_orphan_bye_481() {
        let d = directory();
        assert_eq!(
            decide(&request("MESSAGE", "sip:1001@127.0.0.1", ""), TRUNK, &d),
            Decision::Reject(StatusCode::NotImplemented)
        );
        assert_eq!(
            decide(&request("BYE", "sip:1001@127.0.0.1", ""), TRUNK, &d),
            Decision::Reject(StatusCode::CallTransactionDoesNotExist)
        );
        assert_eq!(
            decide(&request("ACK", "sip:1001@127.0.0.1", ""), TRUNK, &d),
            Decision::Ignore
        );
    }

    #[test]
    fn required_extension_we_lack_gets_420() {
        assert_eq!(
            decide(
                &request("INVITE", "sip:201@127.0.0.1", "Require: 100rel\r\n"),
                TRUNK,
                &directory()
            ),
            Decision::BadExtension("100rel".into())
        );
    }

    #[test]
    fn ipv4_mapped_source_counts_as_its_ipv4_trunk() {
        let mapped: IpAddr = "::ffff:127.0.0.5".parse().unwrap();
        assert!(directory().is_trunk(mapped));
        assert!(!directory().is_trunk("::1".parse().unwrap()));
    }
}
