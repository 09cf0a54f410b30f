//! Consultations started over the API (CSTA ConsultationCall / TransferCall / ReconnectCall;
//! issue 7 `StartConsultation`, `CompleteTransfer`, `CancelConsultation`).
//!
//! The customer of a connected call is held on music; the ACD offers a *consultation* to the
//! target (an agent through its personal queue, or a queue) under a router id of its own, so
//! the router reserves, rings, RONAs and wraps up the consulted agent like any offer. The
//! consulted agent's leg belongs to the customer's call (`call_id` stays) and, once it
//! answers, is bridged to the first agent's leg:
//!
//! - `CompleteTransfer`: the customer is bridged to the consulted agent; the first agent gets
//!   BYE and wrap-up; `CallTransferred` names both legs; queue_log `ATTENDEDTRANSFER`.
//! - `CancelConsultation` (or the consulted agent hanging up, or never answering): the
//!   consultation leg ends (CANCEL or BYE) and the customer is bridged back to the first agent.
//! - The customer hanging up during a consultation ends the call, the consultation with it.
//! - `CompleteConference`: the three are mixed in a conference (`conference.rs`).

use std::time::Instant;

use switchboard_acd::{CallId, OfferId, RouterInput};
use switchboard_proto::pb;

use crate::call::AgentLegState;
use crate::command::CommandError;
use crate::engine::Engine;
use crate::events;
use crate::output::MediaCommand;

/// Who a consultation goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsultTarget {
    /// An agent, by configuration id.
    Agent(String),
    /// A queue, by name.
    Queue(String),
}

/// One consultation in progress, keyed by its router id.
#[derive(Debug, Clone)]
pub(crate) struct Consultation {
    /// The customer's call.
    pub(crate) call: u128,
    /// The consulting agent's leg (the call's connected offer when it began).
    pub(crate) agent_a: OfferId,
    /// The consulted agent's leg, once the router offered it.
    pub(crate) offer_b: Option<OfferId>,
    /// Whom it went to.
    pub(crate) target: ConsultTarget,
}

impl Engine {
    /// Starts a consultation from `call_id`'s connected agent to `target`.
    pub(crate) fn start_consultation(
        &mut self,
        now: Instant,
        call_id: u128,
        target: ConsultTarget,
    ) -> Result<(), CommandError> {
        let call = self
            .calls
            .get(&call_id)
            .ok_or_else(|| CommandError::UnknownCall(crate::ids::uuid_text(call_id)))?;
        let Some(agent_a) = call.connected else {
            return Err(CommandError::Refused(
                "the call is not connected to an agent".into(),
            ));
        };
        if self.consultation_of(call_id).is_some() {
            return Err(CommandError::Refused(
                "the call already has a consultation".into(),
            ));
        }
        let agent_name = call.agent.clone().unwrap_or_default();
        let queue = match &target {
            ConsultTarget::Agent(a) if *a == agent_name => {
                return Err(CommandError::Refused(
                    "an agent cannot consult itself".into(),
                ));
            }
            ConsultTarget::Agent(a) if self.config.agent(a).is_some() => {
                crate::acd_map::personal_queue(a)
            }
            ConsultTarget::Agent(a) => return Err(CommandError::Refused(format!("no agent {a}"))),
            ConsultTarget::Queue(q) if self.config.queue(q).is_some() => q.clone(),
            ConsultTarget::Queue(q) => return Err(CommandError::UnknownQueue(q.clone())),
        };
        let wall = self.wall(now);
        let router_id = crate::ids::uuid_v7(wall, &mut self.rng);
        self.consultations.insert(
            router_id,
            Consultation {
                call: call_id,
                agent_a,
                offer_b: None,
                target: target.clone(),
            },
        );
        // The customer waits on music; the first agent hears the consultation's progress
        // (nothing until it is answered: its leg is unbridged).
        let moh = self
            .config
            .queue(&queue)
            .map_or_else(|| "default".to_string(), |q| q.music_on_hold.clone());
        if let Some(call) = self.calls.get_mut(&call_id) {
            call.held = true;
            let customer = call.caller.leg;
            self.media(MediaCommand::MusicOnHold {
                leg: customer,
                class: moh,
            });
        }
        let accepted = self.route(
            now,
            RouterInput::CallArrived {
                call: CallId(router_id),
                queue: queue.as_str().into(),
                priority: 0,
                requirement: None,
            },
        );
        let from_leg = self
            .agent_legs
            .get(&agent_a)
            .map(|l| l.leg.to_string())
            .unwrap_or_default();
        let (agent, queue_name) = match &target {
            ConsultTarget::Agent(a) => (Some(a.as_str()), None),
            ConsultTarget::Queue(q) => (None, Some(q.as_str())),
        };
        if let Some(call) = self.calls.get(&call_id) {
            let event = events::consultation_started(
                call,
                wall,
                &from_leg,
                &consult_leg_name(router_id),
                events::target(agent, queue_name),
                pb::ConsultPurpose::Transfer,
            );
            self.journal(vec![event]);
        }
        if !accepted {
            self.cancel_consultation_by_id(now, router_id, "failed");
            return Err(CommandError::Refused(format!(
                "queue {queue} refused the consultation"
            )));
        }
        Ok(())
    }

    /// The consultation of `call_id`, by router id.
    pub(crate) fn consultation_of(&self, call_id: u128) -> Option<u128> {
        self.consultations
            .iter()
            .find(|(_, c)| c.call == call_id)
            .map(|(id, _)| *id)
    }

    /// `call_id`'s consultation once its target answered: its router id, itself, and the
    /// consulted agent's offer. Refused (no consultation, not answered) otherwise.
    pub(crate) fn answered_consultation(
        &self,
        call_id: u128,
    ) -> Result<(u128, Consultation, OfferId), CommandError> {
        let Some(router_id) = self.consultation_of(call_id) else {
            return Err(CommandError::Refused("the call has no consultation".into()));
        };
        let Some(consult) = self.consultations.get(&router_id).cloned() else {
            return Err(CommandError::Refused("the call has no consultation".into()));
        };
        let answered = consult.offer_b.filter(|o| {
            self.agent_legs
                .get(o)
                .is_some_and(|l| l.state == AgentLegState::Answered)
        });
        let Some(offer_b) = answered else {
            return Err(CommandError::Refused(
                "the consulted party has not answered".into(),
            ));
        };
        Ok((router_id, consult, offer_b))
    }

    /// `CompleteTransfer`: the customer goes to the consulted agent, who must have answered.
    pub(crate) fn complete_consultation(
        &mut self,
        now: Instant,
        call_id: u128,
    ) -> Result<(), CommandError> {
        let (router_id, consult, offer_b) = self.answered_consultation(call_id)?;
        self.consultations.remove(&router_id);
        let (Some(leg_a), Some((leg_b, agent_b))) = (
            self.agent_legs.get(&consult.agent_a).map(|l| l.leg),
            self.agent_legs
                .get(&offer_b)
                .map(|l| (l.leg, l.agent.clone())),
        ) else {
            return Err(CommandError::Refused(
                "a leg of the consultation is gone".into(),
            ));
        };
        if let Some(leg) = self.agent_legs.get_mut(&offer_b) {
            leg.consult = None;
        }
        self.bye_agent(now, consult.agent_a);
        let router_call = self.calls.get(&call_id).map_or(call_id, |c| c.router_call);
        self.route(
            now,
            RouterInput::CallEnded {
                call: CallId(router_call),
            },
        );
        self.drop_agent_leg(now, consult.agent_a);
        let target = match &consult.target {
            ConsultTarget::Agent(a) => events::target(Some(a), None),
            ConsultTarget::Queue(q) => events::target(None, Some(q)),
        };
        self.move_customer_to_consulted(
            now,
            call_id,
            crate::attended::ConsultedParty {
                leg_a,
                offer_b,
                leg_b,
                agent_b: &agent_b,
                router_call: router_id,
                target,
            },
        );
        Ok(())
    }

    /// `CancelConsultation`: the consultation ends and the customer is back with the first
    /// agent.
    pub(crate) fn cancel_consultation(
        &mut self,
        now: Instant,
        call_id: u128,
    ) -> Result<(), CommandError> {
        let Some(router_id) = self.consultation_of(call_id) else {
            return Err(CommandError::Refused("the call has no consultation".into()));
        };
        self.cancel_consultation_by_id(now, router_id, "cancelled");
        Ok(())
    }

    /// Ends consultation `router_id` (`reason` for its event): CANCEL or BYE the consulted leg,
    /// release it in the router, bridge the customer back to the first agent.
    pub(crate) fn cancel_consultation_by_id(
        &mut self,
        now: Instant,
        router_id: u128,
        reason: &str,
    ) {
        let Some(consult) = self.consultations.remove(&router_id) else {
            return;
        };
        let leg_b = consult
            .offer_b
            .and_then(|o| self.agent_legs.get(&o))
            .map(|l| (l.offer, l.state, l.leg));
        match leg_b {
            Some((offer_b, AgentLegState::Answered, _)) => {
                self.bye_agent(now, offer_b);
                self.route(
                    now,
                    RouterInput::CallEnded {
                        call: CallId(router_id),
                    },
                );
                self.drop_agent_leg(now, offer_b);
            }
            // Waiting or ringing: the router withdraws (CANCEL through its decisions).
            _ => {
                self.route(
                    now,
                    RouterInput::CallAbandoned {
                        call: CallId(router_id),
                    },
                );
            }
        }
        let wall = self.wall(now);
        let agent_leg = self.agent_legs.get(&consult.agent_a).map(|l| l.leg);
        let Some(call) = self.calls.get_mut(&consult.call) else {
            return;
        };
        call.held = false;
        let customer = call.caller.leg;
        let event = events::consultation_ended(call, wall, &consult_leg_name(router_id), reason);
        if let Some(agent_leg) = agent_leg {
            self.media(MediaCommand::Stop { leg: customer });
            self.media(MediaCommand::Bridge {
                caller: customer,
                agent: agent_leg,
            });
            self.continue_recording(consult.call, agent_leg);
        }
        self.journal(vec![event]);
    }

    /// The consulted agent answered: bridge it to the first agent (the customer stays on music).
    pub(crate) fn consultation_answered(
        &mut self,
        now: Instant,
        router_id: u128,
        offer_b: OfferId,
    ) {
        let _ = now;
        let Some(consult) = self.consultations.get(&router_id) else {
            return;
        };
        let (Some(a), Some(b)) = (
            self.agent_legs.get(&consult.agent_a).map(|l| l.leg),
            self.agent_legs.get(&offer_b).map(|l| l.leg),
        ) else {
            return;
        };
        self.media(MediaCommand::Stop { leg: b });
        self.media(MediaCommand::Bridge {
            caller: a,
            agent: b,
        });
    }

    /// The router offered consultation `router_id` to `offer_b`.
    pub(crate) fn consultation_offered(&mut self, router_id: u128, offer_b: OfferId) {
        if let Some(c) = self.consultations.get_mut(&router_id) {
            c.offer_b = Some(offer_b);
        }
    }

    /// The customer's call ends: its consultation goes with it.
    pub(crate) fn end_consultation_with_call(&mut self, now: Instant, call_id: u128) {
        if let Some(router_id) = self.consultation_of(call_id) {
            self.cancel_consultation_by_id(now, router_id, "normal");
        }
    }
}

/// The consultation leg's name in events before its SIP leg exists: the router id's text.
fn consult_leg_name(router_id: u128) -> String {
    format!("consult-{}", crate::ids::uuid_text(router_id))
}
