//! Offerless INVITEs (RFC 3261 §13.2.1, §14.2; RFC 3264 §5): an INVITE or re-INVITE without
//! a body is answered 200 with *our* offer, and the peer's answer comes in the ACK.
//!
//! - A trunk INVITE without SDP: the 200 carries our offer (all our codecs, sendrecv); the
//!   call's queue or IVR starts only when the ACK brings an acceptable answer (no media, no
//!   music before that).
//! - A re-INVITE without SDP on the caller's or an agent's leg (a phone asking "what is the
//!   session?", or a session refresh): the 200 offers our current session again; the `o=`
//!   version moves on because the offer differs from our last answer (RFC 3264 §8).
//! - An ACK without an acceptable answer leaves no session to keep: RFC 3261 §13.3.1.4 says
//!   the UAS ends it with BYE; ours carries `Reason: SIP ;cause=488` (RFC 3326) so the far end
//!   and its logs know why.

use std::time::Instant;

use rsip::{Header, Request, StatusCode};
use switchboard_media::sdp::{
    Direction, LocalMedia, NegotiationError, SdpAnswer, SessionDescription, accept_answer,
};
use switchboard_sip::dialog::{DialogId, response_with_body};
use switchboard_sip::transaction::TransactionId;
use switchboard_store::HangupSide;

use crate::call::Ending;
use crate::engine::{DialogOwner, Engine};
use crate::output::MediaCommand;

/// The `Reason` of our BYE when the ACK brought no usable answer.
pub(crate) const NO_ANSWER_REASON: &str = "SIP ;cause=488 ;text=\"no acceptable answer in ACK\"";

impl Engine {
    /// A re-INVITE without a body on either leg: 200 with our offer, answer awaited in the ACK.
    pub(crate) fn on_offerless_reinvite(
        &mut self,
        now: Instant,
        id: TransactionId,
        owner: DialogOwner,
        request: &Request,
    ) {
        let offer = match owner {
            DialogOwner::Caller(call_id) => self.calls.get_mut(&call_id).map(|call| {
                let local = LocalMedia::g711(call.caller.rtp.ip(), call.caller.rtp.port());
                let offer = call.caller.sdp.offer(&local, Direction::SendRecv);
                call.caller.pending_offer = Some(offer.clone());
                (offer, call.caller.peer.local)
            }),
            DialogOwner::Agent(offer_id) => self.agent_legs.get_mut(&offer_id).map(|leg| {
                let local = LocalMedia::g711(leg.rtp.ip(), leg.rtp.port());
                let offer = leg.sdp.offer(&local, Direction::SendRecv);
                leg.pending_offer = Some(offer.clone());
                (offer, leg.peer.local)
            }),
            DialogOwner::Outbound(_) => None, // far legs: on_outbound_in_dialog
        };
        let Some((offer, local_addr)) = offer else {
            let response = switchboard_sip::message::response_to(
                request,
                StatusCode::CallTransactionDoesNotExist,
                None,
            );
            self.respond(now, id, response);
            return;
        };
        let mut response = switchboard_sip::message::response_to(request, StatusCode::OK, None);
        response.headers.push(Header::Contact(
            format!("<sip:switchboard@{local_addr}>").into(),
        ));
        let response = response_with_body(
            response,
            "application/sdp",
            offer.0.to_string().into_bytes(),
        );
        self.respond(now, id, response);
    }

    /// An ACK on one of our dialogs: if we offered in the 2xx it acknowledges, its body is the
    /// answer. ACKs of 2xx that carried an answer (the usual case) change nothing.
    pub(crate) fn on_ack(&mut self, now: Instant, ack: &Request) {
        let Some(owner) = DialogId::of_incoming(ack).and_then(|id| self.dialogs.get(&id).copied())
        else {
            return;
        };
        let pending = match owner {
            DialogOwner::Caller(call) => self
                .calls
                .get_mut(&call)
                .and_then(|c| c.caller.pending_offer.take()),
            DialogOwner::Agent(offer) => self
                .agent_legs
                .get_mut(&offer)
                .and_then(|l| l.pending_offer.take()),
            DialogOwner::Outbound(_) => None, // we never offer in a far leg's 2xx
        };
        let Some(offer) = pending else {
            return; // an ACK retransmission, or an ACK of a 2xx with our answer
        };
        let answer = if ack.body.is_empty() {
            Err(NegotiationError::NoAudio)
        } else {
            SessionDescription::parse(&ack.body)
                .map_err(|_| NegotiationError::NoAudio)
                .and_then(|sdp| accept_answer(&offer, &SdpAnswer(sdp)))
        };
        let media = match answer {
            Ok(media) => media,
            Err(err) => {
                tracing::info!(error = %err, "ACK without an acceptable answer: BYE");
                self.no_answer_in_ack(now, owner);
                return;
            }
        };
        match owner {
            DialogOwner::Caller(call_id) => {
                let Some(call) = self.calls.get_mut(&call_id) else {
                    return;
                };
                let leg = call.caller.leg;
                let start = call.start_after_ack.take();
                let held = media.held_by_remote;
                self.media(MediaCommand::SetMedia { leg, media });
                match start {
                    Some(queue) => self.begin_call(now, call_id, queue),
                    None => self.hold_changed(call_id, leg, held),
                }
            }
            DialogOwner::Agent(offer) => {
                let Some(leg) = self.agent_legs.get(&offer) else {
                    return;
                };
                let (call_id, leg_id) = (leg.call, leg.leg);
                let held = media.held_by_remote;
                self.media(MediaCommand::SetMedia { leg: leg_id, media });
                self.hold_changed(call_id, leg_id, held);
            }
            DialogOwner::Outbound(_) => {}
        }
    }

    /// RFC 3261 §13.3.1.4: no acceptable answer in the ACK ends the session with BYE.
    fn no_answer_in_ack(&mut self, now: Instant, owner: DialogOwner) {
        match owner {
            DialogOwner::Caller(call_id) => {
                if let Some(call) = self.calls.get_mut(&call_id) {
                    call.caller.bye_reason = Some(NO_ANSWER_REASON.to_string());
                    call.start_after_ack = None;
                }
                self.end_call(
                    now,
                    call_id,
                    Ending {
                        side: HangupSide::System,
                        reason: "no-sdp-answer",
                    },
                );
            }
            DialogOwner::Agent(offer) => {
                // The agent's leg is unusable: BYE it, then the call ends as if the agent had
                // hung up (a consultation or transfer cannot go on without the agent's audio).
                self.bye_agent_with_reason(now, offer, Some(NO_ANSWER_REASON));
                self.agent_hung_up(now, offer);
            }
            DialogOwner::Outbound(_) => {}
        }
    }
}
