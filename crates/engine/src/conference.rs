//! Three-party conferences (issue 7 `CompleteConference`, CSTA ConferenceCall): the customer,
//! the agent who consulted and the consulted agent, mixed by the media plane (each hears the
//! other two).
//!
//! - `CompleteConference` on a call whose consultation was answered: the consultation becomes
//!   the call's *conferee*; the customer's music stops and the three legs are mixed;
//!   `CallConferenced` names the leg that joined and all three.
//! - Either agent hanging up (or `HangupLeg` on its leg) leaves the other two connected, back
//!   on a plain bridge: if the first agent leaves, the consulted agent becomes the call's
//!   agent. The one who left goes to wrap-up; `LegEnded` names its leg.
//! - The customer hanging up ends the call and releases both agents to wrap-up; one CDR, as
//!   for any call.

use std::time::Instant;

use switchboard_acd::{CallId, OfferId, RouterInput};
use switchboard_proto::pb;
use switchboard_proto::pb::event::Payload;

use crate::command::CommandError;
use crate::engine::Engine;
use crate::output::MediaCommand;

impl Engine {
    /// `CompleteConference`: the customer, the consulting and the consulted agent together.
    pub(crate) fn complete_conference(
        &mut self,
        now: Instant,
        call_id: u128,
    ) -> Result<(), CommandError> {
        let (router_id, consult, offer_b) = self.answered_consultation(call_id)?;
        let (Some(leg_a), Some(leg_b)) = (
            self.agent_legs.get(&consult.agent_a).map(|l| l.leg),
            self.agent_legs.get(&offer_b).map(|l| l.leg),
        ) else {
            return Err(CommandError::Refused(
                "a leg of the consultation is gone".into(),
            ));
        };
        self.consultations.remove(&router_id);
        if let Some(leg) = self.agent_legs.get_mut(&offer_b) {
            leg.consult = None;
        }
        let wall = self.wall(now);
        let Some(call) = self.calls.get_mut(&call_id) else {
            return Err(CommandError::UnknownCall(crate::ids::uuid_text(call_id)));
        };
        call.conferee = Some((offer_b, router_id));
        call.held = false;
        let customer = call.caller.leg;
        let text_id = call.text_id.clone();
        let legs = [customer, leg_a, leg_b];
        let event = pb::Event {
            call_id: text_id.clone(),
            leg_id: leg_b.to_string(),
            agent: call.agent.clone().unwrap_or_default(),
            request_id: call.request_id.clone(),
            payload: Some(Payload::CallConferenced(pb::CallConferenced {
                leg_id: leg_b.to_string(),
                leg_ids: legs.iter().map(ToString::to_string).collect(),
            })),
            ..Default::default()
        };
        self.media(MediaCommand::Stop { leg: customer });
        self.media(MediaCommand::Conference {
            legs: legs.to_vec(),
        });
        // The call's recording goes on (the customer left, everyone else right).
        tracing::info!(call = %text_id, "conference: customer and two agents");
        self.journal(vec![switchboard_proto::codec::journal_event(wall, &event)]);
        Ok(())
    }

    /// `offer`, an agent of `call_id`'s conference, left (its BYE, or `HangupLeg`): the other
    /// two go on, bridged. False when the call has no conference with that agent in it.
    pub(crate) fn leave_conference(&mut self, now: Instant, call_id: u128, offer: OfferId) -> bool {
        let Some(call) = self.calls.get(&call_id) else {
            return false;
        };
        let Some((conferee, conferee_router)) = call.conferee else {
            return false;
        };
        let first = call.connected;
        let first_router = call.router_call;
        let (left_router, staying) = if offer == conferee {
            (conferee_router, first)
        } else if first == Some(offer) {
            (first_router, Some(conferee))
        } else {
            return false;
        };
        let Some(staying) = staying else {
            return false;
        };
        let left_leg = self.agent_legs.get(&offer).map(|l| l.leg);
        let Some((staying_leg, staying_agent)) = self
            .agent_legs
            .get(&staying)
            .map(|l| (l.leg, l.agent.clone()))
        else {
            return false;
        };
        self.route(
            now,
            RouterInput::CallEnded {
                call: CallId(left_router),
            },
        );
        self.drop_agent_leg(now, offer);
        let wall = self.wall(now);
        let Some(call) = self.calls.get_mut(&call_id) else {
            return true;
        };
        call.conferee = None;
        if offer != conferee {
            // The consulted agent carries the call on.
            call.connected = Some(conferee);
            call.agent = Some(staying_agent);
            call.router_call = conferee_router;
        }
        let customer = call.caller.leg;
        let event = pb::Event {
            call_id: call.text_id.clone(),
            leg_id: left_leg.map(|l| l.to_string()).unwrap_or_default(),
            agent: call.agent.clone().unwrap_or_default(),
            request_id: call.request_id.clone(),
            payload: Some(Payload::LegEnded(pb::LegEnded {
                leg_id: left_leg.map(|l| l.to_string()).unwrap_or_default(),
                cause: Some(pb::EndCause {
                    reason: pb::EndReason::Normal as i32,
                    sip_status: 0,
                    text: "left the conference".into(),
                }),
            })),
            ..Default::default()
        };
        tracing::info!(call = %call.text_id, "an agent left the conference");
        self.media(MediaCommand::Bridge {
            caller: customer,
            agent: staying_leg,
        });
        self.continue_recording(call_id, staying_leg);
        self.journal(vec![switchboard_proto::codec::journal_event(wall, &event)]);
        true
    }

    /// The call is ending: its conferee (if any) gets BYE and wrap-up; the connected agent is
    /// released by the call's end as usual.
    pub(crate) fn end_conference_with_call(&mut self, now: Instant, call_id: u128) {
        let Some((conferee, router_id)) =
            self.calls.get_mut(&call_id).and_then(|c| c.conferee.take())
        else {
            return;
        };
        self.bye_agent(now, conferee);
        self.route(
            now,
            RouterInput::CallEnded {
                call: CallId(router_id),
            },
        );
        self.drop_agent_leg(now, conferee);
    }

    /// The agent offer behind `leg` of `call_id`, if it is in the call's conference.
    pub(crate) fn conference_offer_of(&self, call_id: u128, leg: &str) -> Option<OfferId> {
        let call = self.calls.get(&call_id)?;
        let (conferee, _) = call.conferee?;
        [call.connected, Some(conferee)]
            .into_iter()
            .flatten()
            .find(|o| {
                self.agent_legs
                    .get(o)
                    .is_some_and(|l| l.leg.to_string() == leg)
            })
    }
}
