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

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rsip::headers::{self, UntypedHeader};
use rsip::{Header, Method, Request, Response, StatusCode, Version};
use switchboard_media::sdp::{
    Direction, LocalMedia, LocalSdp, SdpAnswer, SdpOffer, SessionDescription, accept_answer,
};
use switchboard_sip::dialog::{
    Dialog, LocalVia, new_branch, new_tag, response_with_body, with_body,
};
use switchboard_sip::transaction::TransactionId;
use switchboard_sip::{Peer, Transport};
use switchboard_store::{HangupSide, WriteOp};

use crate::call::{CallState, Ending};
use crate::engine::{AfterCommit, ClientPurpose, DialogOwner, Engine};
use crate::events;
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
                let id = caller_id.unwrap_or_else(|| "switchboard".into());
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
        self.media(MediaCommand::MusicOnHold {
            leg,
            class: "default".into(),
        });
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

    /// A 2xx: ACK it (again for a retransmission); bridge, or hang up a leg no longer wanted.
    fn on_outbound_answer(&mut self, now: Instant, id: OutboundId, response: &Response) {
        let Some(leg) = self.outbound.get(&id) else {
            return;
        };
        let peer = leg.peer;
        if let Some(ack) = leg.ack.clone() {
            self.send_ack(now, peer, ack);
            return;
        }
        let mut dialog = match Dialog::uac(&leg.invite, response) {
            Ok(d) => d,
            Err(err) => {
                tracing::info!(error = %err, "unusable 2xx on an outbound leg");
                return;
            }
        };
        let via = LocalVia {
            transport: peer.transport,
            sent_by: peer.local.to_string(),
        };
        let media = SessionDescription::parse(&response.body)
            .ok()
            .map(SdpAnswer)
            .and_then(|a| accept_answer(&leg.sdp_offer, &a).ok());
        let (state, role, call_id, media_leg) = (leg.state, leg.role, leg.call, leg.leg);
        let ack = dialog.ack(&via, &mut self.rng);
        self.send_ack(now, peer, ack.clone());
        if let Some(leg) = self.outbound.get_mut(&id) {
            leg.ack = Some(ack);
            leg.tx = None;
        }
        let wanted = state == LegState::Ringing && self.calls.contains_key(&call_id);
        let Some(media) = media.filter(|_| wanted) else {
            // Answered after a CANCEL or after the call ended, or no usable SDP answer:
            // ACK + BYE (§15), and the call goes on as if it had failed.
            let bye = dialog.bye(&via, &mut self.rng);
            self.send_request(now, peer, bye, ClientPurpose::Bye);
            if wanted {
                self.outbound_failed(now, id, 488);
            } else {
                self.drop_outbound(id);
            }
            return;
        };
        let wall = self.wall(now);
        if let Some(leg) = self.outbound.get_mut(&id) {
            leg.state = LegState::Answered;
        }
        self.media(MediaCommand::SetMedia {
            leg: media_leg,
            media,
        });
        match role {
            Role::Customer => {
                // The customer's dialog becomes the call's caller dialog; the agent's leg is
                // bridged to this media leg already.
                self.dialogs
                    .insert(dialog.id().clone(), DialogOwner::Caller(call_id));
                let Some(call) = self.calls.get_mut(&call_id) else {
                    return;
                };
                call.caller.dialog = Some(dialog);
                call.dial_customer = None;
                call.answered = wall;
                self.callback_done(call_id);
                self.media(MediaCommand::Stop { leg: media_leg });
                if let Some(call) = self.calls.get(&call_id) {
                    tracing::info!(call = %call.text_id, "customer answered");
                    let event = events::far_connected(call, &media_leg.to_string(), wall);
                    let row = self.in_progress(call, "connected");
                    self.journal(vec![event]);
                    self.store(
                        WriteOp::SaveCall {
                            call: Box::new(row),
                            now: wall,
                        },
                        AfterCommit::Nothing,
                    );
                }
            }
            Role::Far => {
                self.dialogs
                    .insert(dialog.id().clone(), DialogOwner::Outbound(id));
                if let Some(leg) = self.outbound.get_mut(&id) {
                    leg.dialog = Some(dialog);
                }
                let recordings = self.options.recordings_dir.clone();
                let Some(call) = self.calls.get_mut(&call_id) else {
                    return;
                };
                call.state = CallState::Connected;
                call.connected_at = Some((now, wall));
                let caller_leg = call.caller.leg;
                if call.record && call.recording_path.is_none() {
                    call.recording_path = Some(
                        recordings
                            .join(format!("{}.wav", call.text_id))
                            .to_string_lossy()
                            .into_owned(),
                    );
                }
                let recording = call.recording_path.as_ref().map(|_| call.text_id.clone());
                self.media(MediaCommand::Stop { leg: caller_leg });
                self.media(MediaCommand::Bridge {
                    caller: caller_leg,
                    agent: media_leg,
                });
                if let Some(name) = recording {
                    self.media(MediaCommand::Record {
                        caller: caller_leg,
                        agent: media_leg,
                        name,
                    });
                }
                if let Some(call) = self.calls.get(&call_id) {
                    tracing::info!(call = %call.text_id, "forwarded call answered, bridged");
                    let event = events::far_connected(call, &media_leg.to_string(), wall);
                    let row = self.in_progress(call, "connected");
                    self.journal(vec![event]);
                    self.store(
                        WriteOp::SaveCall {
                            call: Box::new(row),
                            now: wall,
                        },
                        AfterCommit::Nothing,
                    );
                }
            }
        }
    }

    /// The leg got a final failure (or timed out, `code` 408): the call ends with the
    /// Asterisk-style dial status as its reason.
    pub(crate) fn outbound_failed(&mut self, now: Instant, id: OutboundId, code: u16) {
        let Some(leg) = self.outbound.get(&id) else {
            return;
        };
        let (state, role, call_id) = (leg.state, leg.role, leg.call);
        self.drop_outbound(id);
        if state != LegState::Ringing {
            return; // the 487 to our CANCEL, or a late answer to a leg we gave up on
        }
        if let Some(call) = self.calls.get_mut(&call_id)
            && role == Role::Far
        {
            call.far = None;
        }
        let reason = dial_status(code);
        tracing::info!(call = call_id, code, reason, ?role, "outbound leg failed");
        if role == Role::Customer && self.on_callback_unreached(now, call_id) {
            return;
        }
        self.end_call(
            now,
            call_id,
            Ending {
                side: HangupSide::System,
                reason,
            },
        );
    }

    /// Forgets a leg: its dialog, and its media leg unless it is the call's caller leg.
    fn drop_outbound(&mut self, id: OutboundId) {
        if let Some(leg) = self.outbound.remove(&id) {
            if let Some(d) = &leg.dialog {
                self.dialogs.remove(d.id());
            }
            if leg.role == Role::Far {
                self.media(MediaCommand::CloseLeg { leg: leg.leg });
            }
        }
    }

    /// The call is ending: CANCEL what still rings, BYE what answered (unless `side` is the
    /// far end itself). Returns the far media legs to close once the CDR is committed.
    pub(crate) fn release_outbound(
        &mut self,
        now: Instant,
        call_id: u128,
        far_hung_up: bool,
    ) -> Vec<LegId> {
        let ids: Vec<OutboundId> = self
            .outbound
            .iter()
            .filter(|(_, l)| l.call == call_id)
            .map(|(id, _)| *id)
            .collect();
        let mut media = Vec::new();
        for id in ids {
            let Some(leg) = self.outbound.get_mut(&id) else {
                continue;
            };
            match leg.state {
                LegState::Ringing => {
                    leg.state = LegState::Cancelled;
                    if let Some(tx) = leg.tx
                        && let Err(err) = self.layer.cancel(now, tx)
                    {
                        tracing::debug!(error = %err, "CANCEL not sent");
                    }
                    // Kept until its final response (487, or a 2xx to ACK and BYE).
                    if leg.role == Role::Far {
                        media.push(leg.leg);
                    }
                    continue;
                }
                LegState::Answered if leg.role == Role::Far && !far_hung_up => {
                    let peer = leg.peer;
                    if let Some(dialog) = leg.dialog.as_mut() {
                        let via = LocalVia {
                            transport: peer.transport,
                            sent_by: peer.local.to_string(),
                        };
                        let bye = dialog.bye(&via, &mut self.rng);
                        dialog.terminate();
                        self.send_request(now, peer, bye, ClientPurpose::Bye);
                    }
                }
                _ => {}
            }
            if let Some(leg) = self.outbound.remove(&id) {
                if let Some(d) = &leg.dialog {
                    self.dialogs.remove(d.id());
                }
                if leg.role == Role::Far {
                    media.push(leg.leg);
                }
            }
        }
        media
    }

    /// The INVITE transaction failed without a response (Timer B, transport error).
    pub(crate) fn on_outbound_failure(&mut self, now: Instant, id: OutboundId) {
        match self.outbound.get(&id).map(|l| l.state) {
            Some(LegState::Ringing) => self.outbound_failed(now, id, 408),
            Some(LegState::Cancelled) => self.drop_outbound(id),
            _ => {}
        }
    }

    /// Legs ringing past [`RING_TIMEOUT`]: CANCEL, and the call goes on as NOANSWER.
    pub(crate) fn outbound_timeouts(&mut self, now: Instant) {
        let due: Vec<OutboundId> = self
            .outbound
            .iter()
            .filter(|(_, l)| l.state == LegState::Ringing && l.ring_deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let Some(leg) = self.outbound.get_mut(&id) else {
                continue;
            };
            if let Some(tx) = leg.tx {
                let _ = self.layer.cancel(now, tx);
            }
            let (role, call_id) = (leg.role, leg.call);
            leg.state = LegState::Cancelled;
            tracing::info!(call = call_id, "outbound leg not answered: CANCEL");
            if let Some(call) = self.calls.get_mut(&call_id)
                && role == Role::Far
            {
                call.far = None;
            }
            if role == Role::Customer && self.on_callback_unreached(now, call_id) {
                continue;
            }
            self.end_call(
                now,
                call_id,
                Ending {
                    side: HangupSide::System,
                    reason: "dial-noanswer",
                },
            );
        }
    }

    /// The earliest ring timeout of an outbound leg.
    pub(crate) fn outbound_deadline(&self) -> Option<Instant> {
        self.outbound
            .values()
            .filter(|l| l.state == LegState::Ringing)
            .map(|l| l.ring_deadline)
            .min()
    }

    /// A request inside a far leg's dialog: BYE ends the call, a re-INVITE is answered from
    /// the leg's own media (hold gives the caller music), OPTIONS/UPDATE/INFO get 200.
    pub(crate) fn on_outbound_in_dialog(
        &mut self,
        now: Instant,
        tx: TransactionId,
        id: OutboundId,
        request: &Request,
    ) {
        let check = self
            .outbound
            .get_mut(&id)
            .and_then(|l| l.dialog.as_mut())
            .map(|d| d.on_request(request));
        let reply = |status| switchboard_sip::message::response_to(request, status, None);
        match check {
            None => return self.respond(now, tx, reply(StatusCode::CallTransactionDoesNotExist)),
            Some(Err(err)) => return self.respond(now, tx, reply(err.response())),
            Some(Ok(())) => {}
        }
        match request.method {
            Method::Bye => {
                self.respond(now, tx, reply(StatusCode::OK));
                let Some(call) = self.outbound.get(&id).map(|l| l.call) else {
                    return;
                };
                if let Some(leg) = self.outbound.get_mut(&id)
                    && let Some(d) = leg.dialog.as_mut()
                {
                    d.terminate();
                }
                // The far party stands in the agent's place: it is the called side hanging up.
                self.end_call(
                    now,
                    call,
                    Ending {
                        side: HangupSide::Agent,
                        reason: "normal",
                    },
                );
            }
            Method::Invite => self.on_outbound_reinvite(now, tx, id, request),
            Method::Options | Method::Update | Method::Info | Method::Notify => {
                self.respond(now, tx, reply(StatusCode::OK));
            }
            // The far party is not ours to let transfer the customer.
            Method::Refer => self.respond(now, tx, reply(StatusCode::Forbidden)),
            _ => {
                let mut response = reply(StatusCode::NotImplemented);
                response
                    .headers
                    .push(Header::Allow(crate::policy::ALLOW.into()));
                self.respond(now, tx, response);
            }
        }
    }

    fn on_outbound_reinvite(
        &mut self,
        now: Instant,
        tx: TransactionId,
        id: OutboundId,
        request: &Request,
    ) {
        let parsed = SessionDescription::parse(&request.body)
            .ok()
            .filter(|_| !request.body.is_empty());
        let Some(leg) = self.outbound.get_mut(&id) else {
            return;
        };
        let local = LocalMedia::g711(leg.rtp.ip(), leg.rtp.port());
        let result = parsed.map(|sdp| leg.sdp.answer(&SdpOffer(sdp), &local));
        let (media_leg, local_addr, call_id) = (leg.leg, leg.peer.local, leg.call);
        let Some(Ok((answer, media))) = result else {
            let response =
                switchboard_sip::message::response_to(request, StatusCode::NotAcceptableHere, None);
            return self.respond(now, tx, response);
        };
        let held = media.held_by_remote;
        let mut response = switchboard_sip::message::response_to(request, StatusCode::OK, None);
        response.headers.push(Header::Contact(
            format!("<sip:switchboard@{local_addr}>").into(),
        ));
        let response = response_with_body(
            response,
            "application/sdp",
            answer.0.to_string().into_bytes(),
        );
        self.respond(now, tx, response);
        self.media(MediaCommand::SetMedia {
            leg: media_leg,
            media,
        });
        let Some(call) = self.calls.get_mut(&call_id) else {
            return;
        };
        if call.held != held {
            call.held = held;
            let caller = call.caller.leg;
            self.media(if held {
                MediaCommand::MusicOnHold {
                    leg: caller,
                    class: "default".into(),
                }
            } else {
                MediaCommand::Stop { leg: caller }
            });
        }
    }

    /// A far leg's `dstchannel` and the destination dialled, for the CDR.
    pub(crate) fn far_party(&self, call_id: u128) -> Option<(String, String)> {
        self.outbound
            .values()
            .find(|l| l.call == call_id)
            .map(|l| (format!("SIP/{}-{}", l.trunk, l.leg), l.destination.clone()))
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
