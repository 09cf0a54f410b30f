//! Calls placed from an agent's phone (issue 6, attended transfer): a registered agent
//! INVITEs Switchboard, digest-authenticated like its REGISTER (407, RFC 3261 §22.3), and the
//! Request-URI user says where to: another agent (by id), a queue (by name) or a DNIS route.
//! The call is a call like any other (own `call_id`, queue_log, CDR with the agent as
//! `accountcode` and channel); it is usually the consultation leg of an attended transfer,
//! which is why its media leg is put on the same media worker as the agent's current call.
//! Outside numbers go through trunks (the outbound work); they are refused with 404 here.

use std::time::Instant;

use rsip::prelude::HeadersExt;
use rsip::{Header, Request, StatusCode};
use switchboard_config::Target;
use switchboard_sip::Peer;
use switchboard_sip::transaction::TransactionId;

use crate::call::AgentLegState;
use crate::engine::Engine;
use crate::events;
use switchboard_proto::pb;

/// Where an agent's call goes, or why it does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PlacedTarget {
    /// A queue (an agent's personal queue `agent:<id>` for an agent).
    Queue(String),
    /// An IVR flow.
    Ivr(String),
    /// Refused with this status and warning text.
    Refused(StatusCode, &'static str),
}

impl Engine {
    /// An authenticated INVITE from `agent`'s phone to `dialled`.
    pub(crate) fn on_agent_placed_invite(
        &mut self,
        now: Instant,
        id: TransactionId,
        peer: Peer,
        request: Request,
        dialled: &str,
    ) {
        let agent = request
            .from_header()
            .ok()
            .and_then(|f| f.uri().ok())
            .and_then(|u| u.user().map(str::to_string))
            .unwrap_or_default();
        // RFC 3891: an INVITE that replaces one of our dialogs is not a new call.
        if self.on_invite_with_replaces(now, id, peer, &request, &agent) {
            return;
        }
        if self.refuse_if_overloaded(now, id, &request) {
            return;
        }
        let (context, queue) = match self.placed_target(&agent, dialled) {
            PlacedTarget::Queue(q) => (q.clone(), Some(q)),
            PlacedTarget::Ivr(flow) => (flow, None),
            PlacedTarget::Refused(status, why) => {
                tracing::info!(%agent, dialled, why, "agent call refused");
                let mut response = self.response(&request, status);
                response.headers.push(Header::Other(
                    "Warning".into(),
                    format!("399 switchboard \"{why}\""),
                ));
                self.respond(now, id, response);
                return;
            }
        };
        tracing::info!(%agent, dialled, to = %context, "call placed by an agent");
        let customer_call = self.connected_call_of(&agent);
        let before: std::collections::HashSet<u128> = self.calls.keys().copied().collect();
        let target_queue = queue.clone();
        self.answer_new_call(
            now,
            id,
            peer,
            request,
            dialled,
            context,
            queue,
            Some(agent.clone()),
        );
        // The new call, if it was answered, is a consultation of the agent's customer call.
        let Some(consult) = self.calls.keys().copied().find(|c| !before.contains(c)) else {
            return;
        };
        let Some(customer_call) = customer_call else {
            return;
        };
        self.consultation_began(now, customer_call, consult, &agent, dialled, target_queue);
    }

    /// Links `consult` to the customer call and journals `ConsultationStarted` on the latter.
    fn consultation_began(
        &mut self,
        now: Instant,
        customer_call: u128,
        consult: u128,
        agent: &str,
        dialled: &str,
        queue: Option<String>,
    ) {
        let wall = self.wall(now);
        let from_leg = self
            .agent_legs
            .values()
            .find(|l| l.call == customer_call && l.agent == agent)
            .map(|l| l.leg.to_string())
            .unwrap_or_default();
        let Some(consult_leg) = self.calls.get_mut(&consult).map(|c| {
            c.consult_of = Some(customer_call);
            c.caller.leg.to_string()
        }) else {
            return;
        };
        let to_agent = self
            .config
            .agent(dialled)
            .map(|_| dialled.to_string())
            .or_else(|| {
                queue
                    .as_deref()
                    .and_then(|q| q.strip_prefix("agent:"))
                    .map(str::to_string)
            });
        let target = events::target(to_agent.as_deref(), queue.as_deref());
        let Some(call) = self.calls.get(&customer_call) else {
            return;
        };
        let event = events::consultation_started(
            call,
            wall,
            &from_leg,
            &consult_leg,
            target,
            pb::ConsultPurpose::Transfer,
        );
        self.journal(vec![event]);
    }

    /// Resolves what `agent` dialled: an agent id, a queue name, or a DNIS route, in that order
    /// (agent ids and DNIS are digits; queue names are words, so they do not collide).
    pub(crate) fn placed_target(&self, agent: &str, dialled: &str) -> PlacedTarget {
        if dialled == agent {
            return PlacedTarget::Refused(StatusCode::Forbidden, "an agent cannot call itself");
        }
        if self.config.agent(dialled).is_some() {
            return PlacedTarget::Queue(crate::acd_map::personal_queue(dialled));
        }
        if let Some(queue) = self.config.queue(dialled) {
            return PlacedTarget::Queue(queue.name.as_str().to_string());
        }
        match self.config.route(dialled).map(|r| &r.target) {
            Some(Target::Queue(q)) => PlacedTarget::Queue(q.as_str().to_string()),
            Some(Target::Agent(a)) if a.as_str() == agent => {
                PlacedTarget::Refused(StatusCode::Forbidden, "an agent cannot call itself")
            }
            Some(Target::Agent(a)) => {
                PlacedTarget::Queue(crate::acd_map::personal_queue(a.as_str()))
            }
            Some(Target::Ivr(flow)) if self.flows.contains_key(flow.as_str()) => {
                PlacedTarget::Ivr(flow.as_str().to_string())
            }
            Some(_) => PlacedTarget::Refused(
                StatusCode::NotFound,
                "route target not reachable from agent phones",
            ),
            None => PlacedTarget::Refused(
                StatusCode::NotFound,
                "no agent, queue or route by that name; outside numbers are not dialled from agent phones",
            ),
        }
    }

    /// The call `agent` is talking on (its answered agent leg), if any.
    pub(crate) fn connected_call_of(&self, agent: &str) -> Option<u128> {
        self.agent_legs
            .values()
            .find(|l| l.agent == agent && l.state == AgentLegState::Answered)
            .map(|l| l.call)
            .filter(|call| self.calls.contains_key(call))
    }
}
