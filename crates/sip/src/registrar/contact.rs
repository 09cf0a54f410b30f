//! Reading the Contact and Expires headers of a REGISTER (RFC 3261 §10.2.1, §10.3 steps 6–7,
//! §20.10, §20.19).

use rsip::prelude::*;
use rsip::{Header, Param, Request};

/// The Contact headers of a REGISTER.
#[derive(Debug)]
pub(crate) enum RequestedContacts {
    /// No Contact at all: a query for the current bindings (§10.2.3).
    Query,
    /// `Contact: *`, alone (§10.2.2).
    Wildcard,
    /// Contacts to add, refresh or remove.
    List(Vec<RequestedContact>),
}

/// One contact of a REGISTER.
#[derive(Debug)]
pub(crate) struct RequestedContact {
    /// The contact without its `expires` parameter.
    pub(crate) contact: rsip::typed::Contact,
    /// Its `expires` parameter, if any, in seconds.
    pub(crate) expires: Option<u64>,
}

/// Why the Contact or Expires headers were refused with 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContactError {
    Malformed,
    BadExpires,
    /// `*` mixed with other contacts, or without `Expires: 0` (§10.3 step 6).
    BadWildcard,
}

impl ContactError {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            ContactError::Malformed => "Malformed Contact",
            ContactError::BadExpires => "Malformed Expires",
            ContactError::BadWildcard => "Invalid Wildcard Contact",
        }
    }
}

/// Reads the Contact headers. A header may list several contacts separated by commas (§7.3.1),
/// so values are split here at commas outside quotes and angle brackets.
pub(crate) fn requested_contacts(request: &Request) -> Result<RequestedContacts, ContactError> {
    let mut pieces = Vec::new();
    for header in request.headers.iter() {
        if let Header::Contact(contact) = header {
            pieces.extend(split_top_level_commas(contact.value()));
        }
    }
    if pieces.is_empty() {
        return Ok(RequestedContacts::Query);
    }
    if pieces.contains(&"*") {
        if pieces.len() != 1 || expires_header(request)? != Some(0) {
            return Err(ContactError::BadWildcard);
        }
        return Ok(RequestedContacts::Wildcard);
    }
    pieces
        .into_iter()
        .map(parse_contact)
        .collect::<Result<Vec<_>, _>>()
        .map(RequestedContacts::List)
}

/// The Expires header in seconds; values past 2³²−1 saturate (§20.19 asks to treat them as such).
pub(crate) fn expires_header(request: &Request) -> Result<Option<u64>, ContactError> {
    request
        .expires_header()
        .map(|h| parse_delta_seconds(h.value()).ok_or(ContactError::BadExpires))
        .transpose()
}

fn parse_contact(piece: &str) -> Result<RequestedContact, ContactError> {
    let mut contact = rsip::headers::Contact::new(piece)
        .typed()
        .map_err(|_| ContactError::Malformed)?;
    // §20.10: without angle brackets, every `;param` is a header parameter, not a URI one.
    if !piece.contains('<') {
        let uri_params = std::mem::take(&mut contact.uri.params);
        contact.params.splice(0..0, uri_params);
    }
    let mut expires = None;
    let mut params = Vec::with_capacity(contact.params.len());
    for param in contact.params {
        match param {
            Param::Expires(value) => {
                expires = Some(parse_delta_seconds(value.value()).ok_or(ContactError::BadExpires)?)
            }
            Param::Other(name, Some(value)) if name.value().eq_ignore_ascii_case("expires") => {
                expires = Some(parse_delta_seconds(value.value()).ok_or(ContactError::BadExpires)?)
            }
            other => params.push(other),
        }
    }
    contact.params = params;
    Ok(RequestedContact { contact, expires })
}

/// `delta-seconds = 1*DIGIT` (§25.1), saturating at 2³²−1 (§20.19, §20.10).
fn parse_delta_seconds(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let max = u64::from(u32::MAX);
    Some(text.parse::<u64>().map_or(max, |v| v.min(max)))
}

fn split_top_level_commas(value: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let (mut in_quotes, mut escaped, mut in_angle) = (false, false, false);
    let mut start = 0;
    for (i, c) in value.char_indices() {
        if in_quotes {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_quotes = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_quotes = true,
            '<' => in_angle = true,
            '>' => in_angle = false,
            ',' if !in_angle => {
                pieces.push(value.get(start..i).unwrap_or("").trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(value.get(start..).unwrap_or("").trim());
    pieces.retain(|p| !p.is_empty());
    pieces
}

/// URI equality for binding matches (§10.3 step 7 defers to §19.1.4): scheme, user
/// (case-sensitive), host (case-insensitive), port (an absent port differs from 5060) and the
/// `transport` parameter. Other URI parameters are ignored: phones add and drop things like
/// `line=` between refreshes, and treating those as new bindings would pile up stale contacts.
pub(crate) fn same_contact(a: &rsip::Uri, b: &rsip::Uri) -> bool {
    let scheme = |u: &rsip::Uri| {
        u.scheme
            .as_ref()
            .map(|s| s.to_string().to_ascii_lowercase())
    };
    let host = |u: &rsip::Uri| u.host().to_string().to_ascii_lowercase();
    let transport = |u: &rsip::Uri| u.transport().map(|t| t.to_string().to_ascii_lowercase());
    scheme(a) == scheme(b)
        && a.user() == b.user()
        && host(a) == host(b)
        && a.port() == b.port()
        && transport(a) == transport(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn register(headers: &str) -> Request {
        let raw = format!(
            "REGISTER sip:sb SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK1\r\n\
             From: <sip:1001@sb>;tag=a\r\nTo: <sip:1001@sb>\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n\
             {headers}Content-Length: 0\r\n\r\n"
        );
        Request::try_from(raw.as_bytes()).expect("test request parses")
    }

    fn list(headers: &str) -> Vec<RequestedContact> {
        match requested_contacts(&register(headers)) {
            Ok(RequestedContacts::List(l)) => l,
            other => panic!("expected contacts, got {other:?}"),
        }
    }

    #[test]
    fn comma_separated_contacts_are_split_outside_quotes_and_brackets() {
        let contacts = list(
            "Contact: \"A, B\" <sip:1001@10.0.0.2:5062;transport=udp>;expires=60, <sip:1001@10.0.0.3>\r\n",
        );
        assert_eq!(contacts.len(), 2);
        assert_eq!(contacts[0].expires, Some(60));
        assert_eq!(
            contacts[0].contact.uri.transport(),
            Some(&rsip::Transport::Udp)
        );
        assert_eq!(contacts[1].expires, None);
    }

    #[test]
    fn bare_uri_parameters_are_header_parameters() {
        let contacts = list("Contact: sip:1001@10.0.0.2;expires=0\r\n");
        assert_eq!(contacts[0].expires, Some(0));
        assert!(contacts[0].contact.uri.params.is_empty());
    }

    #[test]
    fn huge_expires_saturates_and_garbage_is_refused() {
        assert_eq!(
            list("Contact: <sip:a@b>;expires=99999999999999999999999\r\n")[0].expires,
            Some(u64::from(u32::MAX))
        );
        assert_eq!(parse_delta_seconds("-1"), None);
        assert_eq!(parse_delta_seconds(""), None);
        assert_eq!(parse_delta_seconds(" 30 "), Some(30));
    }

    #[test]
    fn wildcard_needs_expires_zero_and_no_other_contact() {
        assert!(matches!(
            requested_contacts(&register("Contact: *\r\nExpires: 0\r\n")),
            Ok(RequestedContacts::Wildcard)
        ));
        assert_eq!(
            requested_contacts(&register("Contact: *\r\n")).err(),
            Some(ContactError::BadWildcard)
        );
        assert_eq!(
            requested_contacts(&register("Contact: *, <sip:a@b>\r\nExpires: 0\r\n")).err(),
            Some(ContactError::BadWildcard)
        );
    }

    #[test]
    fn no_contact_is_a_query() {
        assert!(matches!(
            requested_contacts(&register("")),
            Ok(RequestedContacts::Query)
        ));
    }

    #[test]
    fn contact_equality_ignores_host_case_but_not_port() {
        let u = |s: &str| rsip::Uri::try_from(s).unwrap();
        assert!(same_contact(
            &u("sip:1001@Example.COM:5060"),
            &u("sip:1001@example.com:5060;line=2")
        ));
        assert!(!same_contact(
            &u("sip:1001@example.com"),
            &u("sip:1001@example.com:5060")
        ));
        assert!(!same_contact(
            &u("sip:1001@example.com"),
            &u("sip:1002@example.com")
        ));
        assert!(!same_contact(
            &u("sip:1001@h;transport=tcp"),
            &u("sip:1001@h")
        ));
    }
}
