//! Callbacks (issue 6 §3, issue 7 `RequestCallback`): a waiting caller asks to be called back
//! instead of holding (the queue's exit key, or the API). The router keeps the entry at its
//! place (its enqueue time stands) and offers it to an agent like a call; once the agent
//! answers, the customer is dialled through the outbound trunk
//! ([`crate::outbound::Role::Customer`]) and bridged. The call keeps its `call_id` throughout.
//!
//! Pending callbacks are persisted (`callbacks` table) when requested and removed when the
//! customer answers or the callback ends, so a restart restores them
//! ([`Engine::restore_callbacks`]) with their waiting time credited, keeping their place.

use std::time::{Instant, SystemTime};

use switchboard_acd::{CallId, RouterInput};
use switchboard_media::sdp::LocalSdp;
use switchboard_proto::pb;
use switchboard_proto::pb::event::Payload;
use switchboard_sip::{Peer, Transport};
use switchboard_store::{CallbackEntry, WriteOp};

use crate::call::{Call, CallState, CallerLeg};
use crate::command::CommandError;
use crate::engine::{AfterCommit, Engine};

impl Engine {
    /// Turns a waiting call into a callback to `number` (the caller's own number when
    /// `None`): the router keeps its place, the caller is released with BYE, the entry is
    /// persisted. `exit_key` writes Asterisk's `EXITWITHKEY` line for the caller's key press.
    pub(crate) fn request_callback(
        &mut self,
        now: Instant,
        call_id: u128,
        number: Option<String>,
        exit_key: Option<char>,
    ) -> Result<(), CommandError> {
        let wall = self.wall(now);
        let call = self
            .calls
            .get(&call_id)
            .ok_or_else(|| CommandError::UnknownCall(crate::ids::uuid_text(call_id)))?;
        let (Some(stay), None, CallState::Queued, false) = (
            call.queue.clone(),
            call.connected,
            call.state,
            call.callback,
        ) else {
            return Err(CommandError::Refused(
                "only a call waiting in a queue can become a callback".into(),
            ));
        };
        let number = number.unwrap_or_else(|| call.src.clone());
        let dialable = self
            .config
            .default_outbound_trunk()
            .and_then(|t| t.outbound.as_ref())
            .is_some_and(|o| o.request_uri(&number).is_some());
        if !dialable {
            return Err(CommandError::BadDestination(number));
        }
        if !self.route(
            now,
            RouterInput::CallbackRequested {
                call: CallId(call_id),
            },
        ) {
            return Err(CommandError::Refused(
                "the queue refused the callback".into(),
            ));
        }
        // The caller goes; the entry stays. BYE now (RFC 3261 §15).
        self.bye_caller(now, call_id);
        let requested = self.wall(stay.entered);
        let Some(call) = self.calls.get_mut(&call_id) else {
            return Ok(());
        };
        if let Some(dialog) = call.caller.dialog.take() {
            self.dialogs.remove(dialog.id());
        }
        call.callback = true;
        call.dial_customer = Some(number.clone());
        let leg = call.caller.leg;
        let line = exit_key.map(|key| {
            switchboard_store::QueueLogLine::exit_with_key(
                wall,
                &call.text_id,
                &stay.queue,
                key,
                stay.position,
                stay.orig_position,
                now.saturating_duration_since(stay.entered),
            )
        });
        let entry = CallbackEntry {
            id: call.text_id.clone(),
            queue: stay.queue.clone(),
            number: number.clone(),
            name: call.clid.clone(),
            requested,
            due: None,
            priority: self
                .config
                .queue(&stay.queue)
                .map_or(0, |q| i32::from(q.priority)),
            call_id: Some(call.text_id.clone()),
            data: serde_json::to_string(&call.data).unwrap_or_default(),
        };
        let event = callback_event(call, &number, &stay.queue, wall);
        let text_id = call.text_id.clone();
        tracing::info!(call = %text_id, %number, queue = %stay.queue, "callback requested");
        self.media(crate::output::MediaCommand::Stop { leg });
        self.store(WriteOp::SaveCallback(Box::new(entry)), AfterCommit::Nothing);
        // Not a call in progress any more: a restart restores it from the callbacks table
        // instead of closing it `restart`.
        self.store(WriteOp::CallFinished(text_id), AfterCommit::Nothing);
        self.store(
            WriteOp::Record {
                queue_log: line.into_iter().collect(),
                events: vec![event],
            },
            AfterCommit::Nothing,
        );
        Ok(())
    }

    /// The customer of a callback could not be reached: the agent is released (BYE, wrap-up)
    /// and the router retries the entry later at its place. `false` when the call is not a
    /// callback.
    pub(crate) fn on_callback_unreached(&mut self, now: Instant, call_id: u128) -> bool {
        let Some(call) = self.calls.get_mut(&call_id).filter(|c| c.callback) else {
            return false;
        };
        let offer = call.connected.take();
        call.connected_at = None;
        call.state = CallState::Queued;
        if let Some(offer) = offer {
            self.bye_agent(now, offer);
            self.drop_agent_leg(now, offer);
        }
        self.route(
            now,
            RouterInput::CallbackUnreached {
                call: CallId(call_id),
            },
        );
        true
    }

    /// The customer of a callback answered (or the callback ended): it is no longer pending.
    pub(crate) fn callback_done(&mut self, call_id: u128) {
        if let Some(call) = self.calls.get(&call_id).filter(|c| c.callback) {
            let id = call.text_id.clone();
            self.store(WriteOp::RemoveCallback(id), AfterCommit::Nothing);
        }
    }

    /// After a restart: the persisted callbacks go back into their queues, each credited with
    /// the time it had already waited, so it keeps its place ahead of later callers; one
    /// scheduled for later waits for its time (`scheduled_callback.rs`).
    pub fn restore_callbacks(&mut self, now: Instant, entries: Vec<CallbackEntry>) {
        let wall = self.wall(now);
        for entry in entries {
            let Some(id) = crate::click_to_dial::parse_uuid(&entry.id) else {
                tracing::warn!(id = %entry.id, "callback with a malformed id dropped");
                continue;
            };
            if self.calls.contains_key(&id) || self.config.queue(&entry.queue).is_none() {
                tracing::warn!(id = %entry.id, queue = %entry.queue, "callback not restored");
                continue;
            }
            if let Some(due) = entry.due.filter(|due| *due > wall) {
                let at = now + due.duration_since(wall).unwrap_or_default();
                tracing::info!(call = %entry.id, "scheduled callback restored");
                self.scheduled_callbacks.push((at, id, entry));
                continue;
            }
            if !self.enqueue_callback(now, id, &entry) {
                return;
            }
            tracing::info!(call = %entry.id, number = %entry.number, "callback restored");
        }
        self.drain(now);
    }

    /// Puts a callback without a caller into its queue as a call whose customer is dialled
    /// once an agent takes it, credited with the time since it was requested. `false` when it
    /// cannot be placed now (no trunk dials out, or no media port).
    pub(crate) fn enqueue_callback(
        &mut self,
        now: Instant,
        id: u128,
        entry: &CallbackEntry,
    ) -> bool {
        let wall = self.wall(now);
        let Some(outbound) = self
            .config
            .default_outbound_trunk()
            .and_then(|t| t.outbound.clone().map(|o| (t.name.as_str().to_string(), o)))
        else {
            tracing::warn!("callbacks pending but no trunk dials out");
            return false;
        };
        let Some((leg, rtp)) = self.legs.create_leg(None) else {
            return false;
        };
        // A scheduled callback waits from its due time, not from when it was asked for.
        let since = entry
            .due
            .map_or(entry.requested, |due| due.max(entry.requested));
        let waited = wall.duration_since(since).unwrap_or_default();
        let data = serde_json::from_str(&entry.data).unwrap_or_default();
        let call = Call {
            data,
            dial_customer: Some(entry.number.clone()),
            callback: true,
            ..Call::new(
                id,
                entry.id.clone(),
                CallerLeg {
                    leg,
                    rtp,
                    peer: Peer {
                        transport: Transport::Udp,
                        remote: outbound.1.proxy,
                        local: self.config.server.sip_listen,
                    },
                    dialog: None,
                    sdp: LocalSdp::new(rand::Rng::random::<u32>(&mut self.rng).into()),
                    pending_offer: None,
                    bye_reason: None,
                    pending_answer: None,
                },
                entry.number.clone(),
                entry.name.clone(),
                entry.number.clone(),
                outbound.0,
                entry.queue.clone(),
                entry.requested,
                CallState::Queued,
            )
        };
        self.calls.insert(id, call);
        self.enqueue(now, id, &entry.queue);
        if let Some(call) = self.calls.get_mut(&id)
            && let Some(stay) = call.queue.as_mut()
        {
            stay.entered = now.checked_sub(waited).unwrap_or(now);
        }
        self.route(
            now,
            RouterInput::SetWaitAdjustment {
                call: CallId(id),
                adjustment: waited,
            },
        );
        self.route(now, RouterInput::CallbackRequested { call: CallId(id) });
        true
    }
}

/// `CallbackRequested`: the call's id is the callback's.
fn callback_event(
    call: &Call,
    number: &str,
    queue: &str,
    wall: SystemTime,
) -> switchboard_store::NewEvent {
    let event = pb::Event {
        call_id: call.text_id.clone(),
        queue: queue.to_owned(),
        request_id: call.request_id.clone(),
        payload: Some(Payload::CallbackRequested(pb::CallbackRequested {
            callback_id: call.text_id.clone(),
            number: number.to_owned(),
            queue: queue.to_owned(),
            not_before: None,
        })),
        ..Default::default()
    };
    switchboard_proto::codec::journal_event(wall, &event)
}
