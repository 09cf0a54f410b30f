//! Callbacks requested without a waiting call (issue 7 `RequestCallback` with no `call`): a
//! web form or a CRM asks that a number be called back through a queue, now or not before a
//! time. The entry is persisted at once (`callbacks` table, with its due time), so a restart
//! keeps it; when due it enters its queue like a caller (ENTERQUEUE) and is offered to an
//! agent, and once the agent answers the customer is dialled (`callback.rs`).

use std::time::{Instant, SystemTime};

use switchboard_proto::pb;
use switchboard_proto::pb::event::Payload;
use switchboard_store::{CallbackEntry, WriteOp};

use crate::command::CommandError;
use crate::engine::{AfterCommit, Engine};

/// A callback to place: the API made its id (a UUIDv7), so the answer needs no round trip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleCallback {
    /// The callback's call id (UUID text); the call keeps it when it is placed.
    pub call_id: String,
    /// The queue that places it.
    pub queue: String,
    /// The number to call back.
    pub number: String,
    /// Not before this time; `None` (or a past time): as soon as an agent is free.
    pub not_before: Option<SystemTime>,
}

impl Engine {
    /// Accepts a callback without a caller: persisted and journaled now, queued when due.
    pub(crate) fn schedule_callback(
        &mut self,
        now: Instant,
        request: ScheduleCallback,
    ) -> Result<(), CommandError> {
        let id = crate::click_to_dial::parse_uuid(&request.call_id)
            .ok_or_else(|| CommandError::Refused(format!("{:?} is not a UUID", request.call_id)))?;
        if self.calls.contains_key(&id) || self.scheduled_callbacks.iter().any(|(_, s, _)| *s == id)
        {
            return Err(CommandError::Refused(format!(
                "call {} already exists",
                request.call_id
            )));
        }
        let priority = self
            .config
            .queue(&request.queue)
            .map(|q| i32::from(q.priority))
            .ok_or_else(|| CommandError::UnknownQueue(request.queue.clone()))?;
        let dialable = self
            .config
            .default_outbound_trunk()
            .and_then(|t| t.outbound.as_ref())
            .is_some_and(|o| o.request_uri(&request.number).is_some());
        if !dialable {
            return Err(CommandError::BadDestination(request.number));
        }
        let wall = self.wall(now);
        let entry = CallbackEntry {
            id: request.call_id.clone(),
            queue: request.queue.clone(),
            number: request.number.clone(),
            name: String::new(),
            requested: wall,
            due: request.not_before,
            priority,
            call_id: None,
            data: String::new(),
        };
        let event = pb::Event {
            call_id: request.call_id.clone(),
            queue: request.queue.clone(),
            payload: Some(Payload::CallbackRequested(pb::CallbackRequested {
                callback_id: request.call_id.clone(),
                number: request.number.clone(),
                queue: request.queue.clone(),
                not_before: request.not_before.map(Into::into),
            })),
            ..Default::default()
        };
        tracing::info!(call = %request.call_id, number = %request.number,
            queue = %request.queue, "callback scheduled");
        self.store(
            WriteOp::SaveCallback(Box::new(entry.clone())),
            AfterCommit::Nothing,
        );
        self.journal(vec![switchboard_proto::codec::journal_event(wall, &event)]);
        let at = request
            .not_before
            .and_then(|due| due.duration_since(wall).ok())
            .map_or(now, |wait| now + wait);
        if at <= now {
            if !self.enqueue_callback(now, id, &entry) {
                return Err(CommandError::Refused(
                    "no media port or outbound trunk to place the callback".into(),
                ));
            }
        } else {
            self.scheduled_callbacks.push((at, id, entry));
        }
        Ok(())
    }

    /// Cancels a scheduled callback that has not entered its queue yet (EndCall on its id):
    /// removed from the callbacks table. `false` when `call_id` names none.
    pub(crate) fn cancel_scheduled_callback(&mut self, call_id: &str) -> bool {
        let Some(i) = self
            .scheduled_callbacks
            .iter()
            .position(|(_, _, entry)| entry.id == call_id)
        else {
            return false;
        };
        let (_, _, entry) = self.scheduled_callbacks.swap_remove(i);
        tracing::info!(call = %entry.id, "scheduled callback cancelled");
        self.store(WriteOp::RemoveCallback(entry.id), AfterCommit::Nothing);
        true
    }

    /// When the next scheduled callback is due.
    pub(crate) fn scheduled_callback_deadline(&self) -> Option<Instant> {
        self.scheduled_callbacks.iter().map(|(at, _, _)| *at).min()
    }

    /// Queues the scheduled callbacks that are due, oldest first. One that cannot be placed
    /// now (no media port) is tried again a second later.
    pub(crate) fn scheduled_callback_timeouts(&mut self, now: Instant) {
        if self.scheduled_callback_deadline().is_none_or(|at| at > now) {
            return;
        }
        let (mut due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.scheduled_callbacks)
            .into_iter()
            .partition(|(at, _, _)| *at <= now);
        self.scheduled_callbacks = later;
        due.sort_by_key(|(at, _, _)| *at);
        for (_, id, entry) in due {
            if !self.enqueue_callback(now, id, &entry) {
                let retry = now + std::time::Duration::from_secs(1);
                self.scheduled_callbacks.push((retry, id, entry));
            }
        }
    }
}
