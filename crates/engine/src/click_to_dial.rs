//! Click-to-dial (issue 6, issue 7 `MakeCall`, CSTA MakeCall): ring the agent's phone first,
//! and once the agent answers dial the customer through the outbound trunk and bridge the two
//! (media anchored; a click-to-dial belongs to no queue, so no queue's `record` applies and it
//! is not recorded).
//!
//! The agent is rung through the router, on its personal queue `agent:<id>`: the router then
//! knows the agent is Reserved and OnCall (no queue call is offered meanwhile), the screen-pop
//! `AgentAlerting` is journaled before the INVITE as for any offer, ring timeout and RONA apply,
//! and the end of the call sends the agent to wrap-up. No queue_log line is written: an
//! originated call is no queue call (Asterisk's `Originate` writes none either).

use std::collections::BTreeMap;
use std::time::Instant;

use switchboard_media::sdp::LocalSdp;
use switchboard_sip::{Peer, Transport};
use switchboard_store::{HangupSide, WriteOp};

use crate::call::{Call, CallState, CallerLeg, Ending};
use crate::command::CommandError;
use crate::engine::{AfterCommit, Engine};
use crate::events;
use crate::outbound::Role;

/// What a click-to-dial asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MakeCall {
    /// The new call's id, UUID text (the API makes a UUIDv7 so it can answer at once).
    pub call_id: String,
    /// The agent whose phone rings first.
    pub agent: String,
    /// The customer: a number (the trunk's dial prefix goes first) or a `sip:` URI.
    pub destination: String,
    /// The number presented to the customer; `None`: the trunk's `caller_id`.
    pub caller_id: Option<String>,
    /// Initial call data (shown in the screen-pop).
    pub data: BTreeMap<String, String>,
    /// The command's `request_id`, carried by every event of the call.
    pub request_id: String,
}

impl Engine {
    /// Accepts a click-to-dial: checks the agent, the trunk and the destination, creates the
    /// call and puts it to the agent's personal queue. Returns before anything rings.
    pub(crate) fn make_call(
        &mut self,
        now: Instant,
        request: MakeCall,
    ) -> Result<(), CommandError> {
        let id = parse_uuid(&request.call_id)
            .ok_or_else(|| CommandError::Refused(format!("{:?} is not a UUID", request.call_id)))?;
        if self.calls.contains_key(&id) {
            return Err(CommandError::Refused(format!(
                "call {} exists already",
                request.call_id
            )));
        }
        if self.config.agent(&request.agent).is_none() {
            return Err(CommandError::UnknownAgent(request.agent));
        }
        let ready = self
            .router
            .agent(&request.agent)
            .is_some_and(|a| matches!(a.state, switchboard_acd::AgentState::Ready));
        if !ready {
            return Err(CommandError::AgentBusy(request.agent));
        }
        if !self.has_device(&request.agent) {
            return Err(CommandError::Refused(format!(
                "agent {} has no phone (not registered, no device)",
                request.agent
            )));
        }
        let trunk = self
            .config
            .default_outbound_trunk()
            .ok_or_else(|| CommandError::Refused("no trunk dials out".into()))?;
        let outbound = trunk
            .outbound
            .as_ref()
            .ok_or_else(|| CommandError::Refused("no trunk dials out".into()))?;
        if outbound.request_uri(&request.destination).is_none() {
            return Err(CommandError::BadDestination(request.destination));
        }
        // It becomes the From user part: a number only (RFC 3261 §25.1 `user`).
        let caller_id = request.caller_id.filter(|c| !c.is_empty());
        if let Some(id) = &caller_id
            && !(id.len() <= 32
                && !id.is_empty()
                && id.char_indices().all(|(i, c)| {
                    c.is_ascii_digit() || (c == '+' && i == 0) || matches!(c, '*' | '#')
                }))
        {
            return Err(CommandError::Refused(format!(
                "caller id {id:?} is not a number"
            )));
        }
        let peer = Peer {
            transport: Transport::Udp,
            remote: outbound.proxy,
            local: self.config.server.sip_listen,
        };
        let trunk_name = trunk.name.as_str().to_string();
        let (leg, rtp) = self
            .legs
            .create_leg(None)
            .ok_or_else(|| CommandError::Refused("no media port free".into()))?;
        let wall = self.wall(now);
        let destination = request.destination.clone();
        let call = Call {
            data: request.data,
            agent: Some(request.agent.clone()),
            dial_customer: Some(destination.clone()),
            present_as: caller_id,
            request_id: request.request_id,
            ..Call::new(
                id,
                request.call_id.clone(),
                CallerLeg {
                    leg,
                    rtp,
                    peer,
                    dialog: None,
                    sdp: LocalSdp::new(rand::Rng::random::<u32>(&mut self.rng).into()),
                    pending_offer: None,
                    bye_reason: None,
                    pending_answer: None,
                },
                destination.clone(),
                // The agent's phone shows whom it is calling.
                format!("\"{destination}\" <{destination}>"),
                destination,
                trunk_name,
                "click-to-dial".into(),
                wall,
                CallState::Queued,
            )
        };
        tracing::info!(call = %call.text_id, agent = %request.agent, "click-to-dial");
        let started = events::call_started(&call, wall);
        let row = self.in_progress(&call, "dialing");
        self.calls.insert(id, call);
        self.journal(vec![started]);
        self.store(
            WriteOp::SaveCall {
                call: Box::new(row),
                now: wall,
            },
            AfterCommit::Nothing,
        );
        let queue = crate::acd_map::personal_queue(&request.agent);
        self.enqueue(now, id, &queue);
        Ok(())
    }

    /// The agent answered a call whose customer is still to be dialled (click-to-dial,
    /// callback): dial the customer now; the agent's leg is bridged to the customer's media
    /// leg already and hears the customer as soon as it answers.
    pub(crate) fn dial_customer(&mut self, now: Instant, call_id: u128) {
        let Some(destination) = self
            .calls
            .get(&call_id)
            .and_then(|c| c.dial_customer.clone())
        else {
            return;
        };
        if let Err(err) = self.dial(now, call_id, Role::Customer, &destination) {
            tracing::warn!(error = %err, destination, "cannot dial the customer");
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

/// `8-4-4-4-12` hex, any case.
pub(crate) fn parse_uuid(text: &str) -> Option<u128> {
    let groups: Vec<&str> = text.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    if groups.len() != 5 || groups.iter().zip(lengths).any(|(g, n)| g.len() != n) {
        return None;
    }
    let hex: String = groups.concat();
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(&hex, 16).ok()
}
