//! The end of a call (issue 6 §6–7): release the other leg, tell the router, write the CDR and
//! the last queue_log line in one transaction, and free the media only after that commit.

use std::time::Instant;

use switchboard_acd::{CallId, RouterInput};
use switchboard_store::{AmaFlags, Cdr, Disposition, HangupSide, QueueLogLine, WriteOp};

use crate::call::{CallState, Ending};
use crate::engine::{AfterCommit, Engine};
use crate::events;

impl Engine {
    /// Ends `call_id` for `ending`. Idempotent: a call already gone is ignored.
    pub(crate) fn end_call(&mut self, now: Instant, call_id: u128, ending: Ending) {
        if !self.calls.contains_key(&call_id) {
            return;
        }
        // A consultation in progress ends with the call (the customer is gone), and so does a
        // conference's second agent.
        self.end_consultation_with_call(now, call_id);
        self.end_conference_with_call(now, call_id);
        let Some(call) = self.calls.get(&call_id) else {
            return;
        };
        let connected = call.connected;
        let state = call.state;
        // The agent hung up on a surveyed queue: the caller rates the call before we let go.
        if ending.side == HangupSide::Agent
            && state == CallState::Connected
            && call.survey
            && let Some(offer) = connected
        {
            self.release_agent(now, call_id, offer, ending);
            if self.start_survey(now, call_id) {
                return;
            }
        }
        // Release the other side.
        if ending.side != HangupSide::Caller {
            self.bye_caller(now, call_id);
        }
        let wall = self.wall(now);
        let mut lines = Vec::new();
        if let Some(offer) = self.calls.get(&call_id).and_then(|c| c.connected) {
            if self.agent_legs.contains_key(&offer) {
                self.release_agent(now, call_id, offer, ending);
            }
        } else if state == CallState::Queued {
            // Waiting or ringing: an abandon (the router CANCELs ringing agents through its
            // CancelOffer decisions, §9.1).
            self.abandon_in_router(now, call_id);
            if ending.side == HangupSide::Caller
                && let Some(call) = self.calls.get(&call_id)
                && let Some(stay) = &call.queue
            {
                lines.push(QueueLogLine::abandon(
                    wall,
                    &call.text_id,
                    &stay.queue,
                    stay.position,
                    stay.orig_position,
                    now.saturating_duration_since(stay.entered),
                ));
            }
        }
        // A callback that ends is no longer pending (answered ones were removed already).
        self.callback_done(call_id);
        // Outbound legs: CANCEL what rings, BYE what answered (not the far end that hung up).
        let far = self.far_party(call_id);
        let far_hung_up = ending.side == HangupSide::Agent
            && self
                .calls
                .get(&call_id)
                .is_some_and(|c| c.connected.is_none());
        let mut release = self.release_outbound(now, call_id, far_hung_up);
        let Some(mut call) = self.calls.remove(&call_id) else {
            return;
        };
        // Any agent leg of this call still out (ringing after a system end) is cancelled.
        let stragglers: Vec<_> = self
            .agent_legs
            .values()
            .filter(|l| l.call == call_id)
            .map(|l| l.offer)
            .collect();
        for offer in stragglers {
            if let Some(leg) = self.agent_legs.get(&offer)
                && let Some(tx) = leg.tx
                && leg.state == crate::call::AgentLegState::Ringing
            {
                let _ = self.layer.cancel(now, tx);
            }
            if let Some(leg) = self.agent_legs.get_mut(&offer) {
                leg.state = crate::call::AgentLegState::Cancelled;
            }
        }
        if let Some(dialog) = &call.caller.dialog {
            self.dialogs.remove(dialog.id());
        }
        lines.append(&mut self.pending_lines(&call, now, ending));
        let answered_by_agent = call.connected_at.is_some();
        // A forwarded caller we never answered (`late_answer.rs`): no answer time.
        let caller_answered = call.caller.pending_answer.is_none();
        // A forwarded call's CDR reads like Asterisk's `Dial(SIP/trunk/number)`.
        let (dstchannel, lastapp, lastdata) = match (&far, &call.agent) {
            (Some((channel, destination)), _) => {
                (channel.clone(), "Dial".to_string(), destination.clone())
            }
            _ => (
                call.agent
                    .as_ref()
                    .map(|a| format!("SIP/{a}"))
                    .unwrap_or_default(),
                if call.queue.is_some() { "Queue" } else { "IVR" }.to_string(),
                call.context.clone(),
            ),
        };
        let disposition = match ending.reason {
            "dial-busy" => Disposition::Busy,
            "dial-noanswer" => Disposition::NoAnswer,
            "dial-congestion" => Disposition::Congestion,
            "dial-chanunavail" | "dial-declined" | "dial-failed" => Disposition::Failed,
            _ if !caller_answered => Disposition::NoAnswer,
            _ if answered_by_agent || call.queue.is_none() => Disposition::Answered,
            _ => Disposition::NoAnswer,
        };
        let reason =
            if !answered_by_agent && ending.side == HangupSide::Caller && call.queue.is_some() {
                if call.rona {
                    "abandon-after-rona"
                } else {
                    "abandon"
                }
            } else {
                ending.reason
            };
        let event = events::call_ended(&call, wall, ending.side.as_str(), reason);
        // A consultation that ends without a transfer says so on the customer's call.
        if let Some(customer) = call.consult_of.and_then(|c| self.calls.get(&c))
            && reason != "transferred"
        {
            let ended =
                events::consultation_ended(customer, wall, &call.caller.leg.to_string(), reason);
            self.journal(vec![ended]);
        }
        self.remember_ended(now, &call, events::end_reason(reason));
        let cdr = Cdr {
            call_id: call.text_id.clone(),
            accountcode: call.trunk.clone(),
            src: call.src.clone(),
            dst: call.dnis.clone(),
            dcontext: call.context.clone(),
            clid: call.clid.clone(),
            channel: format!("SIP/{}-{}", call.trunk, call.caller.leg),
            dstchannel,
            lastapp,
            lastdata,
            start: call.started,
            answer: caller_answered.then_some(call.answered),
            end: wall,
            disposition,
            amaflags: AmaFlags::Documentation,
            userfield: String::new(),
            queue: call.queue.as_ref().map(|q| q.queue.clone()),
            agent: call.agent.clone(),
            wait_seconds: call.queue.as_ref().map(|q| {
                call.connected_at
                    .map_or(now, |(at, _)| at)
                    .saturating_duration_since(q.entered)
                    .as_secs()
            }),
            survey_score: call.survey_score,
            recording_path: call.recording_path.take(),
            hangup_side: Some(ending.side),
            end_reason: reason.to_string(),
            disposition_code: None,
            notes: None,
        };
        tracing::info!(call = %call.text_id, side = ending.side.as_str(), reason, "call ended");
        metrics::counter!("switchboard_calls_ended_total").increment(1);
        let bye = self.caller_byes.remove(&call_id);
        self.store(
            WriteOp::FinishCall {
                cdr: Box::new(cdr),
                queue_log: lines,
                events: vec![event],
            },
            AfterCommit::ReleaseLegs {
                legs: {
                    release.push(call.caller.leg);
                    release
                },
                bye,
            },
        );
    }

    /// Ends the agent's part of a connected call: BYE unless the agent hung up, the router's
    /// `CallEnded` (wrap-up), and the COMPLETE line kept for the CDR's transaction.
    fn release_agent(
        &mut self,
        now: Instant,
        call_id: u128,
        offer: switchboard_acd::OfferId,
        ending: Ending,
    ) {
        if ending.side != HangupSide::Agent {
            self.bye_agent(now, offer);
        }
        let router_call = self.calls.get(&call_id).map_or(call_id, |c| c.router_call);
        self.route(
            now,
            RouterInput::CallEnded {
                call: CallId(router_call),
            },
        );
        let wall = self.wall(now);
        if let Some(call) = self.calls.get_mut(&call_id)
            && let (Some(stay), Some((at, _)), Some(agent)) =
                (&call.queue, call.connected_at, call.agent.clone())
        {
            let hold = at.saturating_duration_since(stay.entered);
            let talk = now.saturating_duration_since(at);
            let line = if ending.side == HangupSide::Caller {
                QueueLogLine::complete_caller(
                    wall,
                    &call.text_id,
                    &stay.queue,
                    &agent,
                    hold,
                    talk,
                    stay.orig_position,
                )
            } else {
                QueueLogLine::complete_agent(
                    wall,
                    &call.text_id,
                    &stay.queue,
                    &agent,
                    hold,
                    talk,
                    stay.orig_position,
                )
            };
            self.pending.insert(call_id, line);
        }
        if let Some(call) = self.calls.get_mut(&call_id) {
            call.connected = None;
        }
        self.drop_agent_leg(now, offer);
    }

    fn pending_lines(
        &mut self,
        call: &crate::call::Call,
        _now: Instant,
        _ending: Ending,
    ) -> Vec<QueueLogLine> {
        self.pending.remove(&call.id).into_iter().collect()
    }
}
