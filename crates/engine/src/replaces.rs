//! An INVITE with `Replaces` (RFC 3891) from an authenticated agent phone.
//!
//! Where it makes sense for a B2BUA that anchors the customer: the agent moves its own call to
//! another device (desk phone → softphone, RFC 3891 §1's "transfer to another device"). The
//! new INVITE names the agent's dialog with Switchboard as that agent's phone sees it; the
//! new device's dialog takes the old one's place, the customer is bridged to the new device's
//! media, the old device gets BYE. The router is untouched: the same agent stays on the call.
//!
//! Everything else is refused as RFC 3891 §3 says: no such dialog → 481; a dialog that is not
//! this agent's connected call leg (another agent's call, the customer's dialog, a
//! consultation) → 403; `early-only` naming a confirmed dialog → 486; no usable offer → 488.

use std::time::Instant;

use rsip::headers::UntypedHeader;
use rsip::{Header, Request, StatusCode};
use switchboard_media::sdp::{LocalMedia, LocalSdp, SdpOffer, SessionDescription};
use switchboard_proto::pb;
use switchboard_sip::Peer;
use switchboard_sip::dialog::{Dialog, response_with_body};
use switchboard_sip::transaction::TransactionId;
use switchboard_store::WriteOp;

use crate::attended::parse_replaces_value;
use crate::call::AgentLegState;
use crate::engine::{AfterCommit, DialogOwner, Engine};
use crate::events;
use crate::output::MediaCommand;

/// The `Reason` on the BYE to the replaced device.
const REPLACED_REASON: &str = "SIP ;cause=200 ;text=\"Call completed elsewhere\"";

impl Engine {
    /// `request` (authenticated as `agent`) carries Replaces: handles it and returns `true`,
    /// or returns `false` when it has none.
    pub(crate) fn on_invite_with_replaces(
        &mut self,
        now: Instant,
        id: TransactionId,
        peer: Peer,
        request: &Request,
        agent: &str,
    ) -> bool {
        let Some(value) = request.headers.iter().find_map(|h| match h {
            Header::Replaces(r) => Some(r.value().to_string()),
            _ => None,
        }) else {
            return false;
        };
        let Some(replaces) = parse_replaces_value(&value) else {
            self.refuse_fresh(now, id, request, StatusCode::BadRequest);
            return true;
        };
        let offer_id = match self.dialog_replaced(&replaces) {
            None => {
                self.refuse_fresh(now, id, request, StatusCode::CallTransactionDoesNotExist);
                return true;
            }
            Some(DialogOwner::Agent(offer)) => offer,
            Some(DialogOwner::Caller(_) | DialogOwner::Outbound(_)) => {
                self.refuse_fresh(now, id, request, StatusCode::Forbidden);
                return true;
            }
        };
        let Some(leg) = self.agent_legs.get(&offer_id) else {
            self.refuse_fresh(now, id, request, StatusCode::CallTransactionDoesNotExist);
            return true;
        };
        if replaces.early_only && leg.state == AgentLegState::Answered {
            self.refuse_fresh(now, id, request, StatusCode::BusyHere);
            return true;
        }
        let call_id = leg.call;
        let own_connected_leg = leg.agent == agent
            && leg.state == AgentLegState::Answered
            && leg.consult.is_none()
            && self
                .calls
                .get(&call_id)
                .is_some_and(|c| c.connected == Some(offer_id));
        if !own_connected_leg {
            self.refuse_fresh(now, id, request, StatusCode::Forbidden);
            return true;
        }
        let Some(offer) = SessionDescription::parse(&request.body)
            .ok()
            .filter(|_| !request.body.is_empty())
            .map(SdpOffer)
        else {
            self.refuse_fresh(now, id, request, StatusCode::NotAcceptableHere);
            return true;
        };
        let Some(customer) = self.calls.get(&call_id).map(|c| c.caller.leg) else {
            return true;
        };
        let Some((media_leg, rtp)) = self.legs.create_leg(Some(customer)) else {
            self.refuse_fresh(now, id, request, StatusCode::ServiceUnavailable);
            return true;
        };
        let mut sdp = LocalSdp::new(rand::Rng::random::<u32>(&mut self.rng).into());
        let Ok((answer, media)) = sdp.answer(&offer, &LocalMedia::g711(rtp.ip(), rtp.port()))
        else {
            self.media(MediaCommand::CloseLeg { leg: media_leg });
            self.refuse_fresh(now, id, request, StatusCode::NotAcceptableHere);
            return true;
        };
        let mut response = self.response(request, StatusCode::OK);
        response.headers.push(Header::Contact(
            format!("<sip:switchboard@{}>", peer.local).into(),
        ));
        let response = response_with_body(
            response,
            "application/sdp",
            answer.0.to_string().into_bytes(),
        );
        let dialog = match Dialog::uas(request, &response) {
            Ok(dialog) => dialog,
            Err(err) => {
                self.media(MediaCommand::CloseLeg { leg: media_leg });
                let refusal = self.response(request, err.response());
                self.respond(now, id, refusal);
                return true;
            }
        };
        self.respond(now, id, response);
        // The old device goes; its dialog and media leg with it.
        self.bye_agent_with_reason(now, offer_id, Some(REPLACED_REASON));
        let Some(leg) = self.agent_legs.get_mut(&offer_id) else {
            return true;
        };
        let old_leg = leg.leg;
        let old_dialog = leg.dialog.replace(dialog.clone()).map(|d| d.id().clone());
        leg.leg = media_leg;
        leg.rtp = rtp;
        leg.peer = peer;
        leg.sdp = sdp;
        leg.pending_offer = None;
        if let Some(old) = old_dialog {
            self.dialogs.remove(&old);
        }
        self.dialogs
            .insert(dialog.id().clone(), DialogOwner::Agent(offer_id));
        self.media(MediaCommand::SetMedia {
            leg: media_leg,
            media,
        });
        self.media(MediaCommand::Bridge {
            caller: customer,
            agent: media_leg,
        });
        self.media(MediaCommand::CloseLeg { leg: old_leg });
        self.continue_recording(call_id, media_leg);
        let wall = self.wall(now);
        if let Some(call) = self.calls.get_mut(&call_id) {
            call.held = false;
            let event = events::call_transferred(
                call,
                wall,
                &old_leg.to_string(),
                &media_leg.to_string(),
                pb::TransferKind::Attended,
                events::target(Some(agent), None),
            );
            tracing::info!(call = %call.text_id, %agent, from = %old_leg, to = %media_leg, "call moved to another device (Replaces)");
            self.store(
                WriteOp::Record {
                    queue_log: Vec::new(),
                    events: vec![event],
                },
                AfterCommit::Nothing,
            );
        }
        true
    }

    /// A final refusal of a dialog-creating request (with a fresh To tag).
    fn refuse_fresh(
        &mut self,
        now: Instant,
        id: TransactionId,
        request: &Request,
        status: StatusCode,
    ) {
        let response = self.response(request, status);
        self.respond(now, id, response);
    }
}
