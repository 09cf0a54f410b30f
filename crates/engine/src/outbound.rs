//! Outbound legs (issue 6): the engine as a UAC towards a trunk. One client INVITE per leg to
//! the trunk's `outbound` address, with our SDP offer (media anchored, RFC 3264); 1xx are
//! progress, a 2xx is ACKed (RFC 3261 §13.2.2.4) and bridged, a 401/407 is answered once with
//! the trunk's digest credentials (§22.2, §8.1.3.5: same Call-ID and From tag, CSeq + 1), any
//! other final response fails the leg, and a leg unanswered after [`RING_TIMEOUT`] is
//! CANCELled (§9.1) like Asterisk's `Dial(…,60)`.
//!
//! A leg has one of two roles:
//! - [`Role::Far`]: the caller is forwarded (a route or overflow to a URI, a blind transfer to
//!   a number): the leg stands where an agent leg would, bridged to the caller's leg; its dialog
//!   is owned here ([`DialogOwner::Outbound`]).
//! - [`Role::Customer`]: the customer of a click-to-dial or callback, dialled once the agent
//!   answered; its media leg is the call's caller leg (already bridged to the agent) and, once
//!   answered, its dialog becomes the call's caller dialog, so BYE, re-INVITE and session
//!   handling are the caller leg's.
//!
//! What happens after the INVITE (answer, failure, timeout, BYE and re-INVITE on a far leg) is
//! in `far_leg.rs`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rsip::headers::{self, UntypedHeader};
use rsip::{Header, Method, Request, Response, Version};
use switchboard_media::sdp::{Direction, LocalMedia, LocalSdp, SdpOffer};
use switchboard_sip::dialog::{Dialog, new_branch, new_tag, with_body};
use switchboard_sip::transaction::TransactionId;
use switchboard_sip::{Peer, Transport};
use switchboard_store::HangupSide;

use crate::call::{CallState, Ending};
use crate::engine::{ClientPurpose, Engine};
use crate::output::{LegId, MediaCommand};

/// Names one outbound leg for the life of the process.
pub(crate) type OutboundId = u64;

/// How long an outbound leg may ring before it is CANCELled (Asterisk's usual `Dial` timeout).
pub(crate) const RING_TIMEOUT: Duration = Duration::from_secs(60);

/// What the leg is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The party a caller is forwarded to.
    Far,
    /// The customer of a click-to-dial or callback.
    Customer,
}

/// Where the leg is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LegState {
    /// INVITE sent, no final response.
    Ringing,
    /// 2xx received and ACKed.
    Answered,
    /// We sent CANCEL (or the call ended): a 2xx that still comes is ACKed and hung up.
    Cancelled,
}

/// One outbound INVITE and what came of it.
#[derive(Debug)]
pub(crate) struct OutboundLeg {
    pub(crate) call: u128,
    pub(crate) role: Role,
    pub(crate) leg: LegId,
    pub(crate) rtp: SocketAddr,
    pub(crate) peer: Peer,
    /// The INVITE as last sent (the one a 2xx's dialog is built from).
    pub(crate) invite: Request,
    pub(crate) tx: Option<TransactionId>,
    /// A far leg's dialog once answered (a customer leg's moves to the call).
    pub(crate) dialog: Option<Dialog>,
    /// The ACK of the 2xx, sent again for each retransmitted 2xx.
    pub(crate) ack: Option<Request>,
    pub(crate) sdp_offer: SdpOffer,
    pub(crate) sdp: LocalSdp,
    pub(crate) state: LegState,
    /// A challenge was answered already: a second 401/407 fails the leg (wrong credentials).
    pub(crate) challenged: bool,
    /// The destination as asked for (number or URI), for the CDR's `lastdata`.
    pub(crate) destination: String,
    /// The trunk's name, for `dstchannel`.
    pub(crate) trunk: String,
    pub(crate) ring_deadline: Instant,
}

/// Why a leg could not be dialled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DialError {
    /// No trunk has `outbound` in the configuration.
    #[error("no trunk dials out (configure `outbound` on a [[trunk]])")]
    NoTrunk,
    /// Neither a sip:/sips: URI nor a number.
    #[error("{0:?} is neither a number nor a sip: URI")]
    BadDestination(String),
    /// No media port free, or the call is gone.
    #[error("no media port free")]
    NoResources,
}

impl Engine {
    /// Dials `destination` through the default outbound trunk for `call_id` in `role`; From
    /// presents `from_user` (the caller's number when forwarding, the trunk's caller id when we
    /// originate).
    pub(crate) fn dial(
        &mut self,
        now: Instant,
        call_id: u128,
        role: Role,
        destination: &str,
    ) -> Result<OutboundId, DialError> {
        let trunk = self
            .config
            .default_outbound_trunk()
            .ok_or(DialError::NoTrunk)?;
        let outbound = trunk.outbound.as_ref().ok_or(DialError::NoTrunk)?;
        let uri = outbound
            .request_uri(destination)
            .ok_or_else(|| DialError::BadDestination(destination.to_string()))?;
        let uri = rsip::Uri::try_from(uri.as_str())
            .map_err(|_| DialError::BadDestination(destination.to_string()))?;
        let trunk_name = trunk.name.as_str().to_string();
        let caller_id = outbound.caller_id.clone();
        let proxy = outbound.proxy;
        let local = self.config.server.sip_listen;
        let call = self.calls.get(&call_id).ok_or(DialError::NoResources)?;
        let (from_user, display) = match role {
            Role::Far => (call.src.clone(), call.src.clone()),
            Role::Customer => {
                let id = call
                    .present_as
                    .clone()
                    .or(caller_id)
                    .unwrap_or_else(|| "switchboard".into());
                (id.clone(), id)
            }
        };
        let text_id = call.text_id.clone();
        let (leg, rtp) = match role {
            Role::Customer => (call.caller.leg, call.caller.rtp),
            Role::Far => {
                let near = Some(call.caller.leg);
                self.legs.create_leg(near).ok_or(DialError::NoResources)?
            }
        };
        let peer = Peer {
            transport: Transport::Udp,
            remote: proxy,
            local,
        };
        let mut sdp = LocalSdp::new(rand::Rng::random::<u32>(&mut self.rng).into());
        let sdp_offer = sdp.offer(&LocalMedia::g711(rtp.ip(), rtp.port()), Direction::SendRecv);
        let invite = self.outbound_invite(
            &uri,
            peer,
            &from_user,
            &display,
            &text_id,
            &sdp_offer.0.to_string(),
        );
        let id = self.next_outbound;
        self.next_outbound += 1;
        let Some(tx) = self.send_request(now, peer, invite.clone(), ClientPurpose::Outbound(id))
        else {
            if role == Role::Far {
                self.media(MediaCommand::CloseLeg { leg });
            }
            return Err(DialError::NoResources);
        };
        tracing::info!(call = %text_id, %uri, trunk = %trunk_name, ?role, "dialling out");
        self.outbound.insert(
            id,
            OutboundLeg {
                call: call_id,
                role,
                leg,
                rtp,
                peer,
                invite,
                tx: Some(tx),
                dialog: None,
                ack: None,
                sdp_offer,
                sdp,
                state: LegState::Ringing,
                challenged: false,
                destination: destination.to_string(),
                trunk: trunk_name,
                ring_deadline: now + RING_TIMEOUT,
            },
        );
        Ok(id)
    }

    /// Forwards a call already answered here to `destination` (the caller hears music until
    /// the far end answers). A destination that cannot be dialled ends the call.
    pub(crate) fn forward(&mut self, now: Instant, call_id: u128, destination: &str) {
        let Some(call) = self.calls.get_mut(&call_id) else {
            return;
        };
        call.state = CallState::Forwarding;
        call.context = destination.to_string();
        let leg = call.caller.leg;
        // An answered caller hears music while the far end rings; an unanswered one
        // (`late_answer.rs`) its own ringback, and no media from us before our 200.
        if call.caller.pending_answer.is_none() {
            self.media(MediaCommand::MusicOnHold {
                leg,
                class: "default".into(),
            });
        }
        match self.dial(now, call_id, Role::Far, destination) {
            Ok(id) => {
                if let Some(call) = self.calls.get_mut(&call_id) {
                    call.far = Some(id);
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, destination, "cannot forward the call");
                self.end_call(
                    now,
                    call_id,
                    Ending {
                        side: HangupSide::System,
                        reason: "dial-failed",
                    },
                );
            }
        }
    }

    /// The INVITE towards the trunk: Request-URI the destination, sent to the trunk's address
    /// (an outbound proxy, RFC 3261 §8.1.2), our call id in `X-Switchboard-Call-Id`.
    fn outbound_invite(
        &mut self,
        uri: &rsip::Uri,
        peer: Peer,
        from_user: &str,
        display: &str,
        call_id: &str,
        sdp: &str,
    ) -> Request {
        let local = peer.local;
        let user: String = from_user
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/".contains(*c))
            .collect();
        let user = if user.is_empty() {
            "anonymous".to_string()
        } else {
            user
        };
        let display = display.replace(['"', '\\'], "");
        let headers: Vec<Header> = vec![
            Header::Via(headers::Via::new(format!(
                "SIP/2.0/{} {local};branch={};rport",
                peer.transport.via_token(),
                new_branch(&mut self.rng)
            ))),
            Header::MaxForwards(headers::MaxForwards::new("70")),
            Header::From(headers::From::new(format!(
                "\"{display}\" <sip:{user}@{local}>;tag={}",
                new_tag(&mut self.rng)
            ))),
            Header::To(headers::To::new(format!("<{uri}>"))),
            Header::CallId(headers::CallId::new(format!(
                "{:032x}@{}",
                rand::Rng::random::<u128>(&mut self.rng),
                local.ip()
            ))),
            Header::CSeq(headers::CSeq::new("1 INVITE")),
            Header::Contact(headers::Contact::new(format!("<sip:switchboard@{local}>"))),
            Header::Other("X-Switchboard-Call-Id".into(), call_id.to_string()),
            Header::Allow(crate::policy::ALLOW.into()),
        ];
        let request = Request {
            method: Method::Invite,
            uri: uri.clone(),
            version: Version::V2,
            headers: headers.into(),
            body: Vec::new(),
        };
        with_body(request, "application/sdp", sdp.as_bytes().to_vec())
    }

    /// A response to an outbound INVITE.
    pub(crate) fn on_outbound_response(
        &mut self,
        now: Instant,
        id: OutboundId,
        response: Response,
    ) {
        let code = response.status_code.code();
        match code {
            100..=199 => {
                if let Some(leg) = self.outbound.get(&id)
                    && matches!(code, 180 | 183)
                {
                    tracing::debug!(call = leg.call, code, "outbound leg ringing");
                }
            }
            200..=299 => self.on_outbound_answer(now, id, &response),
            401 | 407 if self.retry_with_credentials(now, id, &response) => {}
            _ => self.outbound_failed(now, id, code),
        }
    }

    /// RFC 3261 §22.2: the same INVITE again (same Call-ID, From tag; CSeq + 1, new branch)
    /// with `Authorization` / `Proxy-Authorization` for the challenge. `false` when there is
    /// nothing to answer with (no credentials, a second challenge, an unusable one).
    fn retry_with_credentials(
        &mut self,
        now: Instant,
        id: OutboundId,
        response: &Response,
    ) -> bool {
        let proxy = response.status_code.code() == 407;
        let Some(leg) = self.outbound.get(&id) else {
            return true; // nothing to fail
        };
        if leg.challenged || leg.state != LegState::Ringing {
            return false;
        }
        let Some(credentials) = self
            .config
            .trunk(&leg.trunk)
            .and_then(|t| t.outbound.as_ref())
            .and_then(|o| o.credentials.clone())
        else {
            return false;
        };
        let challenge = response.headers.iter().find_map(|h| match h {
            Header::WwwAuthenticate(v) if !proxy => Some(v.value().to_string()),
            Header::ProxyAuthenticate(v) if proxy => Some(v.value().to_string()),
            _ => None,
        });
        let Some(challenge) = challenge.and_then(|c| crate::outbound_auth::Challenge::parse(&c))
        else {
            return false;
        };
        let cnonce = format!("{:016x}", rand::Rng::random::<u64>(&mut self.rng));
        let authorization = challenge.authorization(
            &credentials.username,
            credentials.password.expose(),
            "INVITE",
            &leg.invite.uri.to_string(),
            &cnonce,
        );
        let mut invite = leg.invite.clone();
        let peer = leg.peer;
        let seq = 2;
        invite.headers.retain(|h| {
            !matches!(
                h,
                Header::Via(_)
                    | Header::CSeq(_)
                    | Header::Authorization(_)
                    | Header::ProxyAuthorization(_)
            )
        });
        invite
            .headers
            .unique_push(Header::Via(headers::Via::new(format!(
                "SIP/2.0/{} {};branch={};rport",
                peer.transport.via_token(),
                peer.local,
                new_branch(&mut self.rng)
            ))));
        invite
            .headers
            .push(Header::CSeq(headers::CSeq::new(format!("{seq} INVITE"))));
        invite.headers.push(if proxy {
            Header::ProxyAuthorization(headers::ProxyAuthorization::new(authorization))
        } else {
            Header::Authorization(headers::Authorization::new(authorization))
        });
        let Some(tx) = self.send_request(now, peer, invite.clone(), ClientPurpose::Outbound(id))
        else {
            return false;
        };
        if let Some(leg) = self.outbound.get_mut(&id) {
            leg.invite = invite;
            leg.tx = Some(tx);
            leg.challenged = true;
        }
        true
    }
}

/// Asterisk's `DIALSTATUS` for a final response, as the CDR's end reason.
pub(crate) fn dial_status(code: u16) -> &'static str {
    match code {
        486 | 600 => "dial-busy",
        408 | 480 | 487 => "dial-noanswer",
        503 => "dial-congestion",
        603 => "dial-declined",
        _ => "dial-chanunavail",
    }
}
