//! Matching messages to transactions (RFC 3261 §17.1.3 and §17.2.3).
//!
//! A client transaction is named by the branch of the top Via it sent plus the CSeq method: a
//! response matches when both agree (§17.1.3; the method matters because a CANCEL shares its
//! INVITE's branch). A server transaction is named by the branch and sent-by of the request's
//! top Via and its method, an ACK naming the INVITE it acknowledges (§17.2.3). A branch without
//! the `z9hG4bK` magic cookie comes from an RFC 2543 element; such requests are matched the old
//! way, on Request-URI, To tag, From tag, Call-ID, CSeq and the whole top Via (§17.2.3, last
//! paragraphs).
//!
//! Like Kamailio's `t_lookup.c`, header values are compared as normalised strings rather than as
//! parsed structures: it is faster and exactly as strict as the byte-level comparison §17.2.3
//! describes for the fields that matter.

use rsip::headers::{ToTypedHeader, UntypedHeader};
use rsip::prelude::HeadersExt;
use rsip::{Method, Request, Response};

/// The RFC 3261 branch prefix (§8.1.1.7).
pub(crate) const MAGIC_COOKIE: &str = "z9hG4bK";

/// Why a message cannot be matched to (or start) a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The message has no Via header, or its top Via does not parse.
    #[error("missing or malformed top Via")]
    Via,
    /// The top Via has no branch parameter (RFC 3261 §8.1.1.7 makes it mandatory).
    #[error("top Via has no branch")]
    Branch,
    /// The CSeq header is missing or malformed.
    #[error("missing or malformed CSeq")]
    CSeq,
    /// A header the RFC 2543 fallback compares (Call-ID, From, To) is missing or malformed.
    #[error("missing or malformed Call-ID, From or To")]
    DialogHeaders,
}

/// Names a client transaction: our branch and the request method (§17.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey {
    branch: String,
    method: String,
}

impl ClientKey {
    /// The key of a request we are about to send.
    pub(crate) fn of_request(request: &Request) -> Result<Self, KeyError> {
        Ok(ClientKey {
            branch: top_branch(request)?,
            method: request.method.to_string(),
        })
    }

    /// The key a response names: its top Via branch and its CSeq method.
    pub(crate) fn of_response(response: &Response) -> Result<Self, KeyError> {
        let cseq = response.cseq_header().map_err(|_| KeyError::CSeq)?;
        let method = cseq.method().map_err(|_| KeyError::CSeq)?;
        Ok(ClientKey {
            branch: top_branch(response)?,
            method: method.to_string(),
        })
    }

    /// Whether the branch carries the RFC 3261 magic cookie (ours always do).
    pub(crate) fn is_rfc3261(&self) -> bool {
        self.branch.starts_with(MAGIC_COOKIE)
    }
}

/// Names a server transaction (§17.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ServerKey {
    /// An RFC 3261 request: branch, sent-by and method (ACK counts as INVITE).
    Rfc3261 {
        branch: String,
        sent_by: String,
        method: String,
    },
    /// An RFC 2543 request (no magic cookie).
    Rfc2543 {
        request_uri: String,
        to_tag: Option<String>,
        from_tag: Option<String>,
        call_id: String,
        cseq: u32,
        top_via: String,
        method: String,
    },
}

impl ServerKey {
    /// The key of the transaction `request` belongs to. An ACK yields the key of its INVITE.
    pub(crate) fn of_request(request: &Request) -> Result<Self, KeyError> {
        Self::with_method(request, transaction_method(request.method))
    }

    /// The key of the INVITE transaction a CANCEL (or a non-2xx ACK) refers to (§9.2: same
    /// branch, or for RFC 2543 the same fields but the method).
    pub(crate) fn of_invite_for(request: &Request) -> Result<Self, KeyError> {
        Self::with_method(request, Method::Invite)
    }

    /// For an RFC 2543 ACK: the same key with another To tag (the INVITE had none, or had the
    /// dialog's; the ACK carries the tag of our response).
    pub(crate) fn with_to_tag(&self, tag: Option<String>) -> Self {
        match self {
            ServerKey::Rfc3261 { .. } => self.clone(),
            ServerKey::Rfc2543 {
                request_uri,
                from_tag,
                call_id,
                cseq,
                top_via,
                method,
                ..
            } => ServerKey::Rfc2543 {
                request_uri: request_uri.clone(),
                to_tag: tag,
                from_tag: from_tag.clone(),
                call_id: call_id.clone(),
                cseq: *cseq,
                top_via: top_via.clone(),
                method: method.clone(),
            },
        }
    }

    fn with_method(request: &Request, method: Method) -> Result<Self, KeyError> {
        let via = request.via_header().map_err(|_| KeyError::Via)?;
        let typed = via.typed().map_err(|_| KeyError::Via)?;
        let branch = typed.branch().map(|b| b.to_string());
        match branch {
            Some(branch) if branch.starts_with(MAGIC_COOKIE) => Ok(ServerKey::Rfc3261 {
                branch,
                sent_by: typed.uri.host_with_port.to_string().to_ascii_lowercase(),
                method: method.to_string(),
            }),
            _ => {
                let cseq = request.cseq_header().map_err(|_| KeyError::CSeq)?;
                let cseq = cseq.seq().map_err(|_| KeyError::CSeq)?;
                let call_id = request
                    .call_id_header()
                    .map_err(|_| KeyError::DialogHeaders)?
                    .value()
                    .trim()
                    .to_string();
                let from_tag = request
                    .from_header()
                    .and_then(|f| f.tag())
                    .map_err(|_| KeyError::DialogHeaders)?
                    .map(|t| t.to_string());
                let to_tag = request
                    .to_header()
                    .and_then(|t| t.tag())
                    .map_err(|_| KeyError::DialogHeaders)?
                    .map(|t| t.to_string());
                Ok(ServerKey::Rfc2543 {
                    request_uri: request.uri.to_string(),
                    to_tag,
                    from_tag,
                    call_id,
                    cseq,
                    top_via: normalise_via(via.value()),
                    method: method.to_string(),
                })
            }
        }
    }

    /// Whether this is the RFC 2543 fallback key.
    pub(crate) fn is_rfc2543(&self) -> bool {
        matches!(self, ServerKey::Rfc2543 { .. })
    }
}

/// The method whose transaction a request belongs to: an ACK belongs to its INVITE (§17.2.3).
pub(crate) fn transaction_method(method: Method) -> Method {
    match method {
        Method::Ack => Method::Invite,
        other => other,
    }
}

/// Names the 2xx an ACK acknowledges (§13.3.1.4, §17.1.1.3): the ACK for a 2xx is a new
/// transaction with its own branch, so it is tied to the INVITE by the dialog and CSeq number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct AckKey {
    call_id: String,
    /// `None` for an RFC 2543 peer that sends no From tag.
    from_tag: Option<String>,
    to_tag: String,
    cseq: u32,
}

impl AckKey {
    /// The key of a 2xx response we send.
    pub(crate) fn of_response(response: &Response) -> Option<Self> {
        Some(AckKey {
            call_id: response.call_id_header().ok()?.value().trim().to_string(),
            from_tag: response
                .from_header()
                .ok()?
                .tag()
                .ok()?
                .map(|t| t.to_string()),
            to_tag: response.to_header().ok()?.tag().ok()??.to_string(),
            cseq: response.cseq_header().ok()?.seq().ok()?,
        })
    }

    /// The key an ACK names.
    pub(crate) fn of_ack(ack: &Request) -> Option<Self> {
        Some(AckKey {
            call_id: ack.call_id_header().ok()?.value().trim().to_string(),
            from_tag: ack.from_header().ok()?.tag().ok()?.map(|t| t.to_string()),
            to_tag: ack.to_header().ok()?.tag().ok()??.to_string(),
            cseq: ack.cseq_header().ok()?.seq().ok()?,
        })
    }
}

fn top_branch<M: HeadersExt>(message: &M) -> Result<String, KeyError> {
    let via = message.via_header().map_err(|_| KeyError::Via)?;
    let typed = via.typed().map_err(|_| KeyError::Via)?;
    typed
        .branch()
        .map(|b| b.to_string())
        .ok_or(KeyError::Branch)
}

/// The first Via value (a header line may hold several, comma-separated), without whitespace
/// differences, for the RFC 2543 comparison.
fn normalise_via(value: &str) -> String {
    let first = value.split(',').next().unwrap_or(value);
    first.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsip::Header;

    fn request(raw: &str) -> Request {
        Request::try_from(raw.replace('\n', "\r\n").as_bytes()).expect("test request parses")
    }

    fn invite(branch: &str, via_host: &str) -> Request {
        request(&format!(
            "INVITE sip:q@sb.example SIP/2.0\n\
             Via: SIP/2.0/UDP {via_host};branch={branch}\n\
             From: <sip:a@trunk>;tag=f1\n\
             To: <sip:q@sb.example>\n\
             Call-ID: k1\n\
             CSeq: 7 INVITE\n\
             Content-Length: 0\n\n"
        ))
    }

    fn with_method(req: &Request, method: Method, cseq: &str) -> Request {
        let mut out = req.clone();
        out.method = method;
        out.headers.retain(|h| !matches!(h, Header::CSeq(_)));
        out.headers
            .push(Header::CSeq(rsip::headers::CSeq::new(cseq.to_string())));
        out
    }

    #[test]
    fn ack_and_cancel_find_the_invite_by_branch_and_sent_by() {
        let inv = invite("z9hG4bK-1", "10.0.0.1:5060");
        let key = ServerKey::of_request(&inv).unwrap();
        let ack = with_method(&inv, Method::Ack, "7 ACK");
        assert_eq!(ServerKey::of_request(&ack).unwrap(), key);
        let cancel = with_method(&inv, Method::Cancel, "7 CANCEL");
        assert_ne!(ServerKey::of_request(&cancel).unwrap(), key);
        assert_eq!(ServerKey::of_invite_for(&cancel).unwrap(), key);
    }

    #[test]
    fn same_branch_from_another_sent_by_is_another_transaction() {
        let a = ServerKey::of_request(&invite("z9hG4bK-1", "10.0.0.1:5060")).unwrap();
        let b = ServerKey::of_request(&invite("z9hG4bK-1", "10.0.0.2:5060")).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn rfc2543_request_is_matched_on_dialog_fields_and_top_via() {
        let a = invite("old-1", "10.0.0.1:5060");
        let key = ServerKey::of_request(&a).unwrap();
        assert!(key.is_rfc2543());
        // A retransmission with different whitespace in Via still matches.
        let mut b = a.clone();
        b.headers.retain(|h| !matches!(h, Header::Via(_)));
        b.headers.push(Header::Via(rsip::headers::Via::new(
            "SIP/2.0/UDP  10.0.0.1:5060;branch=old-1",
        )));
        assert_eq!(ServerKey::of_request(&b).unwrap(), key);
        // Another CSeq is another transaction.
        let c = with_method(&a, Method::Invite, "8 INVITE");
        assert_ne!(ServerKey::of_request(&c).unwrap(), key);
    }

    #[test]
    fn response_key_uses_cseq_method() {
        let raw = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-x\r\n\
                   From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: c\r\n\
                   CSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n";
        let response = Response::try_from(raw.as_bytes()).unwrap();
        let key = ClientKey::of_response(&response).unwrap();
        assert_eq!(key.method, "CANCEL");
        assert!(key.is_rfc3261());
    }

    #[test]
    fn request_without_via_cannot_be_keyed() {
        let req = request(
            "OPTIONS sip:x@y SIP/2.0\nFrom: <sip:a@b>;tag=1\nTo: <sip:x@y>\nCall-ID: c\n\
             CSeq: 1 OPTIONS\nContent-Length: 0\n\n",
        );
        assert_eq!(ServerKey::of_request(&req), Err(KeyError::Via));
    }
}
