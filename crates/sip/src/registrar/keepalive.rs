//! OPTIONS keep-alive requests towards registered phones (RFC 3261 §11 used as a liveness probe,
//! as Kamailio's `nathelper` and Asterisk's `qualify` do).

use rand::Rng;
use rsip::headers::{self, UntypedHeader};
use rsip::{Header, Method, Request, Version};

use super::Binding;

/// Builds an out-of-dialog OPTIONS for `binding`: Request-URI is the Contact, the Via names the
/// local address the REGISTER arrived on (so the phone's response and its NAT mapping line up),
/// and Call-ID, branch and From tag are fresh from `rng`.
pub(crate) fn options_request(binding: &Binding, rng: &mut impl Rng) -> Request {
    let local = binding.peer.local;
    let branch: u64 = rng.random();
    let tag: u32 = rng.random();
    let call_id: u128 = rng.random();
    let headers: Vec<Header> = vec![
        // RFC 3261 §8.1.1.7 magic cookie; `rport` (RFC 3581) so the answer comes back through NAT.
        Header::Via(headers::Via::new(format!(
            "SIP/2.0/{} {local};branch=z9hG4bK{branch:016x};rport",
            binding.peer.transport
        ))),
        Header::MaxForwards(headers::MaxForwards::new("70")),
        Header::From(headers::From::new(format!(
            "<sip:switchboard@{local}>;tag={tag:08x}"
        ))),
        Header::To(headers::To::new(format!("<{}>", binding.contact))),
        Header::CallId(headers::CallId::new(format!(
            "{call_id:032x}@{}",
            local.ip()
        ))),
        Header::CSeq(headers::CSeq::new("1 OPTIONS")),
        Header::ContentLength(headers::ContentLength::new("0")),
    ];
    Request {
        method: Method::Options,
        uri: binding.contact.clone(),
        version: Version::V2,
        headers: headers.into(),
        body: Vec::new(),
    }
}
