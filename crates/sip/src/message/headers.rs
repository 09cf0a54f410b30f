//! Typed access to the headers Switchboard reads, on any request, response or message.
//!
//! rsip keeps header values as received; its typed parsers want canonical spacing, so values
//! are first stripped of the optional white space RFC 3261 §25.1 allows around `;`, `=`, `/`
//! and `,` (`SEMI = SWS ";" SWS`, ...), outside quoted strings and `<...>`. Multi-valued
//! headers (Via, Contact, Route, Record-Route) are read in order, across repeated header lines
//! and comma-separated values alike (RFC 3261 §7.3.1).

use rsip::headers::{ToTypedHeader, UntypedHeader};
use rsip::message::HasHeaders;
use rsip::typed;
use rsip::{Header, UriWithParams};

/// A header that is missing or does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The header is absent.
    #[error("missing {0} header")]
    Missing(&'static str),
    /// The header is present but its value does not parse.
    #[error("invalid {name} header: {detail}")]
    Invalid {
        /// Canonical header name.
        name: &'static str,
        /// The parser's complaint.
        detail: String,
    },
}

fn invalid(name: &'static str) -> impl Fn(rsip::Error) -> HeaderError {
    move |err| HeaderError::Invalid {
        name,
        detail: err.to_string(),
    }
}

/// The Contact header(s) of a message (RFC 3261 §20.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contacts {
    /// `Contact: *` (only valid in a REGISTER with `Expires: 0`, RFC 3261 §10.2.2).
    Wildcard,
    /// Every contact, in order (possibly empty when there is no Contact header).
    List(Vec<typed::Contact>),
}

/// Reading typed headers from a request, response or [`rsip::SipMessage`].
pub trait SipHeaders: HasHeaders {
    /// Every Via value, top first, across header lines and comma-separated values.
    fn vias(&self) -> Result<Vec<typed::Via>, HeaderError> {
        let values = multi_values(self, |h| match h {
            Header::Via(v) => Some(v.value()),
            _ => None,
        });
        if values.is_empty() {
            return Err(HeaderError::Missing("Via"));
        }
        values
            .iter()
            .map(|v| rsip::headers::Via::new(v.as_str()).typed())
            .map(|r| r.map_err(invalid("Via")))
            .collect()
    }

    /// The topmost Via (the one a response is routed by, RFC 3261 §18.2.2).
    fn top_via(&self) -> Result<typed::Via, HeaderError> {
        let first = multi_values(self, |h| match h {
            Header::Via(v) => Some(v.value()),
            _ => None,
        })
        .into_iter()
        .next()
        .ok_or(HeaderError::Missing("Via"))?;
        rsip::headers::Via::new(first)
            .typed()
            .map_err(invalid("Via"))
    }

    /// The From header.
    #[allow(clippy::wrong_self_convention)] // "From" is the SIP header, not a conversion
    fn from_addr(&self) -> Result<typed::From, HeaderError> {
        let value = single(self, "From", |h| match h {
            Header::From(v) => Some(v.value()),
            _ => None,
        })?;
        rsip::headers::From::new(value)
            .typed()
            .map_err(invalid("From"))
    }

    /// The To header.
    fn to_addr(&self) -> Result<typed::To, HeaderError> {
        let value = single(self, "To", |h| match h {
            Header::To(v) => Some(v.value()),
            _ => None,
        })?;
        rsip::headers::To::new(value).typed().map_err(invalid("To"))
    }

    /// The From tag, if any.
    #[allow(clippy::wrong_self_convention)] // "From" is the SIP header, not a conversion
    fn from_tag(&self) -> Result<Option<String>, HeaderError> {
        Ok(self.from_addr()?.tag().map(|t| t.value().to_string()))
    }

    /// The To tag, if any (present once a dialog is established, RFC 3261 §12.1).
    fn to_tag(&self) -> Result<Option<String>, HeaderError> {
        Ok(self.to_addr()?.tag().map(|t| t.value().to_string()))
    }

    /// The Call-ID, as received.
    fn call_id(&self) -> Result<&str, HeaderError> {
        self.headers()
            .iter()
            .find_map(|h| match h {
                Header::CallId(v) => Some(v.value().trim()),
                _ => None,
            })
            .ok_or(HeaderError::Missing("Call-ID"))
    }

    /// The CSeq header (sequence number and method).
    fn cseq(&self) -> Result<typed::CSeq, HeaderError> {
        let value = single(self, "CSeq", |h| match h {
            Header::CSeq(v) => Some(v.value()),
            _ => None,
        })?;
        let mut parts = value.split_whitespace();
        match (parts.next(), parts.next(), parts.next()) {
            (Some(seq), Some(method), None) => Ok(typed::CSeq {
                seq: seq.parse().map_err(|_| HeaderError::Invalid {
                    name: "CSeq",
                    detail: format!("bad number in {value:?}"),
                })?,
                method: method.parse().map_err(invalid("CSeq"))?,
            }),
            _ => Err(HeaderError::Invalid {
                name: "CSeq",
                detail: format!("not `number method`: {value:?}"),
            }),
        }
    }

    /// The Contact header(s): the wildcard `*`, or every contact in order (with its `expires`
    /// and `q` parameters in `params`).
    fn contacts(&self) -> Result<Contacts, HeaderError> {
        let values = multi_values(self, |h| match h {
            Header::Contact(v) => Some(v.value()),
            _ => None,
        });
        if values.len() == 1 && values.first().is_some_and(|v| v == "*") {
            return Ok(Contacts::Wildcard);
        }
        values
            .iter()
            .map(|v| rsip::headers::Contact::new(v.as_str()).typed())
            .map(|r| r.map_err(invalid("Contact")))
            .collect::<Result<_, _>>()
            .map(Contacts::List)
    }

    /// Max-Forwards, if present (RFC 3261 §8.1.1.6: 0–255).
    fn max_forwards(&self) -> Result<Option<u8>, HeaderError> {
        optional(self, "Max-Forwards", |h| match h {
            Header::MaxForwards(v) => Some(v.value()),
            _ => None,
        })
    }

    /// Expires, in seconds, if present (RFC 3261 §20.19).
    fn expires(&self) -> Result<Option<u32>, HeaderError> {
        optional(self, "Expires", |h| match h {
            Header::Expires(v) => Some(v.value()),
            _ => None,
        })
    }

    /// Every Route entry, in order (RFC 3261 §20.34).
    fn routes(&self) -> Result<Vec<UriWithParams>, HeaderError> {
        route_list(self, "Route", |h| match h {
            Header::Route(v) => Some(v.value()),
            _ => None,
        })
    }

    /// Every Record-Route entry, in order (RFC 3261 §20.30).
    fn record_routes(&self) -> Result<Vec<UriWithParams>, HeaderError> {
        route_list(self, "Record-Route", |h| match h {
            Header::RecordRoute(v) => Some(v.value()),
            _ => None,
        })
    }

    /// Refer-To, if present (RFC 3515).
    fn refer_to(&self) -> Result<Option<typed::ReferTo>, HeaderError> {
        optional(self, "Refer-To", |h| match h {
            Header::ReferTo(v) => Some(v.value()),
            _ => None,
        })
    }

    /// Replaces, if present (RFC 3891).
    fn replaces(&self) -> Result<Option<typed::Replaces>, HeaderError> {
        optional(self, "Replaces", |h| match h {
            Header::Replaces(v) => Some(v.value()),
            _ => None,
        })
    }

    /// Session-Expires, if present (RFC 4028).
    fn session_expires(&self) -> Result<Option<typed::SessionExpires>, HeaderError> {
        optional(self, "Session-Expires", |h| match h {
            Header::SessionExpires(v) => Some(v.value()),
            _ => None,
        })
    }
}

impl<T: HasHeaders + ?Sized> SipHeaders for T {}

fn single<'a, M: HasHeaders + ?Sized>(
    message: &'a M,
    name: &'static str,
    pick: impl Fn(&'a Header) -> Option<&'a str>,
) -> Result<String, HeaderError> {
    message
        .headers()
        .iter()
        .find_map(pick)
        .map(strip_sws)
        .ok_or(HeaderError::Missing(name))
}

fn optional<'a, M, T>(
    message: &'a M,
    name: &'static str,
    pick: impl Fn(&'a Header) -> Option<&'a str>,
) -> Result<Option<T>, HeaderError>
where
    M: HasHeaders + ?Sized,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    message
        .headers()
        .iter()
        .find_map(pick)
        .map(|v| {
            v.trim().parse::<T>().map_err(|e| HeaderError::Invalid {
                name,
                detail: e.to_string(),
            })
        })
        .transpose()
}

/// All values of a multi-valued header, split at commas, SWS stripped.
fn multi_values<'a, M: HasHeaders + ?Sized>(
    message: &'a M,
    pick: impl Fn(&'a Header) -> Option<&'a str>,
) -> Vec<String> {
    message
        .headers()
        .iter()
        .filter_map(pick)
        .flat_map(|v| split_outside(v, b','))
        .map(strip_sws)
        .filter(|v| !v.is_empty())
        .collect()
}

fn route_list<'a, M: HasHeaders + ?Sized>(
    message: &'a M,
    name: &'static str,
    pick: impl Fn(&'a Header) -> Option<&'a str>,
) -> Result<Vec<UriWithParams>, HeaderError> {
    multi_values(message, pick)
        .iter()
        .map(|v| {
            // Route and Record-Route share one grammar (RFC 3261 §25.1 `rec-route`).
            rsip::headers::Route::new(v.as_str())
                .typed()
                .map_err(invalid(name))
                .map(|route| route.0.0)
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|lists| lists.into_iter().flatten().collect())
}

use super::validate::split_outside;

/// Removes the optional white space around `;`, `=`, `/`, `,` and collapses other runs of white
/// space to one SP, outside quoted strings and `<...>` (RFC 3261 §25.1 SEMI, EQUAL, SLASH, COMMA).
pub(crate) fn strip_sws(value: &str) -> String {
    const SEPARATORS: &[char] = &[';', '=', '/', ','];
    let mut out = String::with_capacity(value.len());
    let mut in_quotes = false;
    let mut escaped = false;
    let mut angle = false;
    let mut pending_space = false;
    for c in value.trim().chars() {
        if in_quotes {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_quotes = false;
            }
            continue;
        }
        if !angle && (c == ' ' || c == '\t') {
            pending_space = true;
            continue;
        }
        if pending_space {
            let after_separator = out.ends_with(SEPARATORS);
            if !after_separator && !SEPARATORS.contains(&c) && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
        }
        match c {
            '"' if !angle => in_quotes = true,
            '<' => angle = true,
            '>' => angle = false,
            _ => {}
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &str) -> rsip::Request {
        let raw = format!("OPTIONS sip:a@b SIP/2.0\r\n{headers}Content-Length: 0\r\n\r\n");
        rsip::Request::try_from(raw.as_bytes()).expect("test request parses")
    }

    #[test]
    fn sws_is_removed_outside_quotes_and_brackets() {
        assert_eq!(
            strip_sws("SIP  /   2.0 /UDP    192.0.2.2 ; branch = 390skdjuw"),
            "SIP/2.0/UDP 192.0.2.2;branch=390skdjuw"
        );
        assert_eq!(
            strip_sws("\"J  Rosenberg \\\" ;\"   <sip:a@b> ;  tag = 9"),
            "\"J  Rosenberg \\\" ;\" <sip:a@b>;tag=9"
        );
    }

    #[test]
    fn comma_separated_and_repeated_vias_are_read_in_order() {
        let req = request(
            "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP b.example.com:5070\r\n\
             v: SIP/2.0/UDP c.example.com;branch=z9hG4bK3\r\n",
        );
        let hosts: Vec<String> = req
            .vias()
            .unwrap()
            .iter()
            .map(|v| v.uri.host_with_port.to_string())
            .collect();
        assert_eq!(
            hosts,
            ["a.example.com", "b.example.com:5070", "c.example.com"]
        );
        assert_eq!(
            req.top_via().unwrap().branch().unwrap().to_string(),
            "z9hG4bK1"
        );
    }

    #[test]
    fn routes_keep_order_across_lines_and_commas() {
        let req = request(
            "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n\
             Route: <sip:p3.example.com;lr>\r\n\
             Record-Route: <sip:rr.example.com;lr>\r\n",
        );
        let routes: Vec<String> = req
            .routes()
            .unwrap()
            .iter()
            .map(|r| r.uri.host_with_port.to_string())
            .collect();
        assert_eq!(
            routes,
            ["p1.example.com", "p2.example.com", "p3.example.com"]
        );
        assert_eq!(req.record_routes().unwrap().len(), 1);
    }

    #[test]
    fn contacts_wildcard_list_and_params() {
        let req = request("Contact: *\r\nExpires: 0\r\n");
        assert_eq!(req.contacts().unwrap(), Contacts::Wildcard);
        assert_eq!(req.expires().unwrap(), Some(0));
        let req = request(
            "m: <sip:a@10.0.0.1>;expires=60;q=0.5, \"B\" <sip:b@10.0.0.2>\r\nMax-Forwards: 70\r\n",
        );
        let Contacts::List(list) = req.contacts().unwrap() else {
            panic!("expected a list");
        };
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].expires().unwrap().seconds().unwrap(), 60);
        assert!(
            list[0]
                .params
                .iter()
                .any(|p| matches!(p, rsip::Param::Q(_)))
        );
        assert_eq!(req.max_forwards().unwrap(), Some(70));
    }

    #[test]
    fn dialog_headers_and_transfer_headers() {
        let req = request(
            "From: \"Alice\" <sip:alice@a.example>;tag=f1\r\nTo: sip:bob@b.example ; tag = t2\r\n\
             i: call-1@a.example\r\nCSeq: 7 OPTIONS\r\n\
             r: <sip:carol@c.example?Replaces=abc%40h%3Bto-tag%3D1%3Bfrom-tag%3D2>\r\n\
             Replaces: xyz@h;to-tag=a;from-tag=b;early-only\r\nx: 1800;refresher=uac\r\n",
        );
        assert_eq!(req.from_tag().unwrap().as_deref(), Some("f1"));
        assert_eq!(req.to_tag().unwrap().as_deref(), Some("t2"));
        assert_eq!(req.call_id().unwrap(), "call-1@a.example");
        let cseq = req.cseq().unwrap();
        assert_eq!((cseq.seq, cseq.method), (7, rsip::Method::Options));
        let refer = req.refer_to().unwrap().unwrap();
        assert_eq!(refer.replaces().unwrap().unwrap().call_id, "abc@h");
        assert!(req.replaces().unwrap().unwrap().early_only);
        assert_eq!(
            req.session_expires().unwrap().unwrap().refresher,
            Some(typed::Refresher::Uac)
        );
        assert_eq!(req.expires().unwrap(), None);
    }
}
