//! SIP dialogs (RFC 3261 §12), for a UA on either side of an INVITE.
//!
//! A [`Dialog`] is the state two UAs share after an INVITE: Call-ID and tags (the
//! [`DialogId`]), the route set, the remote target, and both CSeq counters. It is pure data
//! with builders: it never sends and never keeps time. In-dialog requests are built here and
//! handed to the transaction layer; incoming in-dialog requests are checked here (CSeq order,
//! target refresh) before the TU acts on them.
//!
//! - UAS side: [`Dialog::uas`] from the INVITE and our 1xx/2xx carrying our To tag.
//!   Route set = the INVITE's Record-Route as is (§12.1.1).
//! - UAC side: [`Dialog::uac`] from our INVITE and their 1xx (with a To tag) or 2xx. Route set
//!   = the response's Record-Route reversed (§12.1.2); recomputed on the 2xx (§13.2.2.4).
//!
//! Tags and branches come from a seeded RNG handed in ([`new_tag`], [`new_branch`]); nothing
//! here reads OS randomness, so tests and replays are deterministic.

use rand::Rng;
use rsip::headers::{ToTypedHeader, UntypedHeader};
use rsip::prelude::HeadersExt;
use rsip::{Header, Method, Param, Request, Response, StatusCode, Uri, UriWithParams};

use crate::Transport;
use crate::transaction::MAGIC_COOKIE;

/// Identifies a dialog from our side (§12): Call-ID, our tag, their tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    /// The SIP Call-ID header value.
    pub sip_call_id: String,
    /// Our tag (From tag of requests we send).
    pub local_tag: String,
    /// Their tag.
    pub remote_tag: String,
}

impl DialogId {
    /// The dialog an incoming in-dialog request names (§12.2.2): its To tag is ours, its From
    /// tag theirs. `None` when a tag or Call-ID is missing (not an in-dialog request).
    pub fn of_incoming(request: &Request) -> Option<Self> {
        Some(DialogId {
            sip_call_id: request.call_id_header().ok()?.value().trim().to_string(),
            local_tag: request.to_header().ok()?.tag().ok()??.to_string(),
            remote_tag: request.from_header().ok()?.tag().ok()??.to_string(),
        })
    }

    /// The dialog a response to our request names: From tag ours, To tag theirs.
    pub fn of_response(response: &Response) -> Option<Self> {
        Some(DialogId {
            sip_call_id: response.call_id_header().ok()?.value().trim().to_string(),
            local_tag: response.from_header().ok()?.tag().ok()??.to_string(),
            remote_tag: response.to_header().ok()?.tag().ok()??.to_string(),
        })
    }
}

/// Where a dialog is (§12: early after a 1xx with a tag, confirmed after a 2xx).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    /// Created by a provisional response; may still fail.
    Early,
    /// Created or confirmed by a 2xx.
    Confirmed,
    /// Ended by BYE, or an early dialog ended by a non-2xx final (§12.3).
    Terminated,
}

/// Which side of the initial INVITE we were.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// We sent the INVITE.
    Uac,
    /// We received it.
    Uas,
}

/// Why a message cannot create or continue a dialog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DialogError {
    /// A header the dialog needs is missing or does not parse.
    #[error("missing or malformed {0}")]
    Header(&'static str),
    /// The message carries no tag where the dialog needs one.
    #[error("missing {0} tag")]
    Tag(&'static str),
    /// The request's CSeq is lower than the last one seen (§12.2.2).
    #[error("CSeq {received} is lower than {last}")]
    CSeqOutOfOrder {
        /// What the request carried.
        received: u32,
        /// The remote sequence number so far.
        last: u32,
    },
    /// The message belongs to another dialog.
    #[error("message is not in this dialog")]
    NotInDialog,
}

impl DialogError {
    /// The response an incoming request that failed this way gets (§12.2.2: 500 for an
    /// out-of-order CSeq; 481 for another dialog; 400 for a malformed request).
    pub fn response(&self) -> StatusCode {
        match self {
            DialogError::CSeqOutOfOrder { .. } => StatusCode::ServerInternalError,
            DialogError::NotInDialog => StatusCode::CallTransactionDoesNotExist,
            DialogError::Header(_) | DialogError::Tag(_) => StatusCode::BadRequest,
        }
    }
}

/// Our side of the Via for requests we build: the transport and the sent-by (host:port) we
/// advertise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalVia {
    /// The transport the request goes on.
    pub transport: Transport,
    /// `host[:port]` to put in the Via (the address responses should come back to).
    pub sent_by: String,
}

/// One SIP dialog (RFC 3261 §12).
#[derive(Debug, Clone)]
pub struct Dialog {
    id: DialogId,
    role: Role,
    state: DialogState,
    /// Our From (in requests we send), with our tag.
    local: String,
    /// Their To (in requests we send), with their tag.
    remote: String,
    remote_target: Uri,
    route_set: Vec<UriWithParams>,
    /// `None` until we send a request in a dialog we did not create (§12.1.1).
    local_seq: Option<u32>,
    remote_seq: Option<u32>,
    /// The CSeq number of the latest INVITE we sent, for the ACK of its 2xx (§13.2.2.4).
    invite_seq: Option<u32>,
    local_contact: String,
}

impl Dialog {
    /// The UAS's dialog (§12.1.1): from the INVITE we received and our response carrying our
    /// To tag (a 1xx makes it early, a 2xx confirmed). The response's Contact is ours.
    pub fn uas(invite: &Request, response: &Response) -> Result<Dialog, DialogError> {
        let to = response
            .to_header()
            .map_err(|_| DialogError::Header("To"))?;
        let local_tag = tag_of(to.tag(), "To")?;
        let from = invite
            .from_header()
            .map_err(|_| DialogError::Header("From"))?;
        let remote_tag = tag_of(from.tag(), "From")?;
        Ok(Dialog {
            id: DialogId {
                sip_call_id: call_id(invite)?,
                local_tag,
                remote_tag,
            },
            role: Role::Uas,
            state: state_for(response),
            local: to.value().to_string(),
            remote: from.value().to_string(),
            remote_target: contact_uri(invite)?,
            route_set: record_route(invite)?,
            local_seq: None,
            remote_seq: Some(cseq_of(invite)?),
            invite_seq: None,
            local_contact: contact_value(response).unwrap_or_default(),
        })
    }

    /// The UAC's dialog (§12.1.2): from the INVITE we sent and a response with a To tag (a 1xx
    /// makes it early, a 2xx confirmed). Each fork's tag makes another dialog.
    pub fn uac(invite: &Request, response: &Response) -> Result<Dialog, DialogError> {
        let from = invite
            .from_header()
            .map_err(|_| DialogError::Header("From"))?;
        let local_tag = tag_of(from.tag(), "From")?;
        let to = response
            .to_header()
            .map_err(|_| DialogError::Header("To"))?;
        let remote_tag = tag_of(to.tag(), "To")?;
        let seq = cseq_of(invite)?;
        let mut route_set = record_route(response)?;
        route_set.reverse();
        Ok(Dialog {
            id: DialogId {
                sip_call_id: call_id(invite)?,
                local_tag,
                remote_tag,
            },
            role: Role::Uac,
            state: state_for(response),
            local: from.value().to_string(),
            remote: to.value().to_string(),
            remote_target: contact_uri(response)?,
            route_set,
            local_seq: Some(seq),
            remote_seq: None,
            invite_seq: Some(seq),
            local_contact: contact_value(invite).unwrap_or_default(),
        })
    }

    /// The dialog's id.
    pub fn id(&self) -> &DialogId {
        &self.id
    }

    /// Early, confirmed or terminated.
    pub fn state(&self) -> DialogState {
        self.state
    }

    /// Which side of the initial INVITE we were.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Where in-dialog requests are addressed (the peer's Contact, refreshed by re-INVITE and
    /// UPDATE).
    pub fn remote_target(&self) -> &Uri {
        &self.remote_target
    }

    /// The route set, in the order Route headers are sent.
    pub fn route_set(&self) -> &[UriWithParams] {
        &self.route_set
    }

    /// The URI to resolve for the next hop (§12.2.1.1, RFC 3263): the first route if any,
    /// otherwise the remote target.
    pub fn next_hop(&self) -> &Uri {
        self.route_set
            .first()
            .map_or(&self.remote_target, |route| &route.uri)
    }

    /// The last CSeq number we used, if any.
    pub fn local_seq(&self) -> Option<u32> {
        self.local_seq
    }

    /// The last CSeq number the peer used, if any.
    pub fn remote_seq(&self) -> Option<u32> {
        self.remote_seq
    }

    /// UAC: a further response to the INVITE that created the dialog. A 2xx confirms it and
    /// recomputes the route set and target (§13.2.2.4); a non-2xx final ends an early dialog
    /// (§12.3); a 1xx may refresh the target.
    pub fn on_invite_response(&mut self, response: &Response) -> Result<(), DialogError> {
        if DialogId::of_response(response).as_ref() != Some(&self.id) {
            return Err(DialogError::NotInDialog);
        }
        let code = response.status_code.code();
        match code {
            100..=199 if self.state == DialogState::Early => {
                if let Ok(uri) = contact_uri(response) {
                    self.remote_target = uri;
                }
            }
            200..=299 => {
                if self.state == DialogState::Early && self.role == Role::Uac {
                    let mut route_set = record_route(response)?;
                    route_set.reverse();
                    self.route_set = route_set;
                }
                if let Ok(uri) = contact_uri(response) {
                    self.remote_target = uri;
                }
                if self.state == DialogState::Early {
                    self.state = DialogState::Confirmed;
                }
            }
            300.. if self.state == DialogState::Early => self.state = DialogState::Terminated,
            _ => {}
        }
        Ok(())
    }

    /// UAS: our 2xx to the initial INVITE confirms an early dialog.
    pub fn confirm(&mut self) {
        if self.state == DialogState::Early {
            self.state = DialogState::Confirmed;
        }
    }

    /// Marks the dialog ended (BYE sent or received, or the call failed).
    pub fn terminate(&mut self) {
        self.state = DialogState::Terminated;
    }

    /// Checks an incoming in-dialog request (§12.2.2) and applies it: the CSeq must not go
    /// backwards (500 otherwise, see [`DialogError::response`]); a target refresh (re-INVITE,
    /// UPDATE) replaces the remote target with its Contact; a BYE ends the dialog. ACK and
    /// CANCEL carry the CSeq of their INVITE and do not advance the counter.
    pub fn on_request(&mut self, request: &Request) -> Result<(), DialogError> {
        if DialogId::of_incoming(request).as_ref() != Some(&self.id) {
            return Err(DialogError::NotInDialog);
        }
        let seq = cseq_of(request)?;
        if !matches!(request.method, Method::Ack | Method::Cancel) {
            if let Some(last) = self.remote_seq
                && seq < last
            {
                return Err(DialogError::CSeqOutOfOrder {
                    received: seq,
                    last,
                });
            }
            self.remote_seq = Some(seq);
        }
        if is_target_refresh(request.method)
            && let Ok(uri) = contact_uri(request)
        {
            self.remote_target = uri;
        }
        if request.method == Method::Bye {
            self.state = DialogState::Terminated;
        }
        Ok(())
    }

    /// A new in-dialog request (§12.2.1.1): the next local CSeq, a fresh branch, From/To/Call-ID
    /// of the dialog, Request-URI and Route from the route set and remote target (loose or
    /// strict routing), and our Contact on target-refresh and REFER/NOTIFY/SUBSCRIBE. For ACK
    /// use [`Dialog::ack`]; CANCEL is built by the transaction layer.
    pub fn request(&mut self, method: Method, via: &LocalVia, rng: &mut impl Rng) -> Request {
        let seq = match self.local_seq {
            Some(seq) => seq.wrapping_add(1),
            // §8.1.1.5: an initial value below 2^31.
            None => rng.random_range(1..(1u32 << 31)),
        };
        self.local_seq = Some(seq);
        if method == Method::Invite {
            self.invite_seq = Some(seq);
        }
        self.build(method, seq, via, rng)
    }

    /// The ACK for a 2xx to our latest INVITE (§13.2.2.4): the INVITE's CSeq number, method
    /// ACK, a branch of its own (it is a new transaction, §17.1.1.3). Send it with the
    /// layer's `SendStateless`, again for every retransmitted 2xx.
    pub fn ack(&self, via: &LocalVia, rng: &mut impl Rng) -> Request {
        let seq = self.invite_seq.or(self.local_seq).unwrap_or(1);
        self.build(Method::Ack, seq, via, rng)
    }

    /// A BYE (§15.1.1).
    pub fn bye(&mut self, via: &LocalVia, rng: &mut impl Rng) -> Request {
        self.request(Method::Bye, via, rng)
    }

    /// A re-INVITE (§14.1); attach the SDP offer with [`with_body`].
    pub fn reinvite(&mut self, via: &LocalVia, rng: &mut impl Rng) -> Request {
        self.request(Method::Invite, via, rng)
    }

    fn build(&self, method: Method, seq: u32, via: &LocalVia, rng: &mut impl Rng) -> Request {
        let mut headers = rsip::Headers::default();
        headers.push(Header::Via(rsip::headers::Via::new(format!(
            "SIP/2.0/{} {};branch={};rport",
            via.transport.via_token(),
            via.sent_by,
            new_branch(rng)
        ))));
        headers.push(Header::MaxForwards(rsip::headers::MaxForwards::new("70")));
        headers.push(Header::From(rsip::headers::From::new(self.local.clone())));
        headers.push(Header::To(rsip::headers::To::new(self.remote.clone())));
        headers.push(Header::CallId(rsip::headers::CallId::new(
            self.id.sip_call_id.clone(),
        )));
        headers.push(Header::CSeq(rsip::headers::CSeq::new(format!(
            "{seq} {method}"
        ))));
        // §12.2.1.1: loose routing when the first route has `lr`; else strict routing puts
        // the first route in the Request-URI and the remote target at the end of the Route.
        let uri = match self.route_set.first() {
            None => self.remote_target.clone(),
            Some(first) if is_loose(first) => {
                for route in &self.route_set {
                    headers.push(Header::Route(rsip::headers::Route::new(route.to_string())));
                }
                self.remote_target.clone()
            }
            Some(first) => {
                let mut uri = first.uri.clone();
                uri.params.clear();
                for route in self.route_set.iter().skip(1) {
                    headers.push(Header::Route(rsip::headers::Route::new(route.to_string())));
                }
                headers.push(Header::Route(rsip::headers::Route::new(format!(
                    "<{}>",
                    self.remote_target
                ))));
                uri
            }
        };
        let needs_contact = is_target_refresh(method)
            || matches!(method, Method::Refer | Method::Notify | Method::Subscribe);
        if needs_contact && !self.local_contact.is_empty() {
            headers.push(Header::Contact(rsip::headers::Contact::new(
                self.local_contact.clone(),
            )));
        }
        headers.push(Header::ContentLength(rsip::headers::ContentLength::new(
            "0",
        )));
        Request {
            method,
            uri,
            version: rsip::Version::V2,
            headers,
            body: Vec::new(),
        }
    }
}

/// Puts a body on a request, with its Content-Type and a matching Content-Length.
pub fn with_body(mut request: Request, content_type: &str, body: Vec<u8>) -> Request {
    set_body_headers(&mut request.headers, content_type, body.len());
    request.body = body;
    request
}

/// Puts a body on a response (an SDP answer in a 200), as [`with_body`] does for requests.
pub fn response_with_body(mut response: Response, content_type: &str, body: Vec<u8>) -> Response {
    set_body_headers(&mut response.headers, content_type, body.len());
    response.body = body;
    response
}

fn set_body_headers(headers: &mut rsip::Headers, content_type: &str, len: usize) {
    headers.retain(|h| !matches!(h, Header::ContentLength(_) | Header::ContentType(_)));
    headers.push(Header::ContentType(rsip::headers::ContentType::new(
        content_type.to_string(),
    )));
    headers.push(Header::ContentLength(rsip::headers::ContentLength::new(
        len.to_string(),
    )));
}

/// Whether `method` refreshes the remote target (§12.2: re-INVITE; RFC 3311: UPDATE).
pub fn is_target_refresh(method: Method) -> bool {
    matches!(method, Method::Invite | Method::Update)
}

/// A fresh tag (§19.3: at least 32 bits of randomness; we use 64).
pub fn new_tag(rng: &mut impl Rng) -> String {
    format!("{:016x}", rng.random::<u64>())
}

/// A fresh RFC 3261 branch (§8.1.1.7): the magic cookie and 64 random bits.
pub fn new_branch(rng: &mut impl Rng) -> String {
    format!("{MAGIC_COOKIE}{:016x}", rng.random::<u64>())
}

fn is_loose(route: &UriWithParams) -> bool {
    route.uri.params.iter().any(|p| matches!(p, Param::Lr))
        || route.params.iter().any(|p| matches!(p, Param::Lr))
}

fn state_for(response: &Response) -> DialogState {
    if (200..300).contains(&response.status_code.code()) {
        DialogState::Confirmed
    } else {
        DialogState::Early
    }
}

fn tag_of(
    tag: Result<Option<rsip::param::Tag>, rsip::Error>,
    which: &'static str,
) -> Result<String, DialogError> {
    match tag {
        Ok(Some(tag)) => Ok(tag.to_string()),
        Ok(None) => Err(DialogError::Tag(which)),
        Err(_) => Err(DialogError::Header(which)),
    }
}

fn call_id(message: &impl HeadersExt) -> Result<String, DialogError> {
    Ok(message
        .call_id_header()
        .map_err(|_| DialogError::Header("Call-ID"))?
        .value()
        .trim()
        .to_string())
}

fn cseq_of(message: &impl HeadersExt) -> Result<u32, DialogError> {
    message
        .cseq_header()
        .ok()
        .and_then(|c| c.seq().ok())
        .ok_or(DialogError::Header("CSeq"))
}

fn contact_uri(message: &impl HeadersExt) -> Result<Uri, DialogError> {
    let contact = message
        .contact_header()
        .map_err(|_| DialogError::Header("Contact"))?;
    contact
        .typed()
        .map(|c| c.uri)
        .map_err(|_| DialogError::Header("Contact"))
}

fn contact_value(message: &impl HeadersExt) -> Option<String> {
    message.contact_header().ok().map(|c| c.value().to_string())
}

/// Every Record-Route value of a message, in order (a header may hold several).
fn record_route<M: rsip::message::HasHeaders>(
    message: &M,
) -> Result<Vec<UriWithParams>, DialogError> {
    let mut routes = Vec::new();
    for header in message.headers().iter() {
        if let Header::RecordRoute(rr) = header {
            let typed = rr
                .typed()
                .map_err(|_| DialogError::Header("Record-Route"))?;
            routes.extend(typed.uris().iter().cloned());
        }
    }
    Ok(routes)
}

#[cfg(test)]
mod tests;
