//! How `switchboard.v1.Event`s are kept in the store journal.
//!
//! The journal payload is the protobuf encoding of the `Event` with its envelope fields that
//! the store owns (`seq`, `journal_epoch`) left empty; the routing keys (`kind`, `call_id`,
//! `agent`, `queue`, `request_id`) and the time also go into the store's columns so readers
//! filter in SQL. Reading back, the columns win over whatever the payload says, so `seq` and the
//! keys a client filters on can never disagree with the journal.

use std::time::SystemTime;

use prost::Message;
use switchboard_store::{EventFilter, NewEvent, StoredEvent};

use crate::pb;
use crate::pb::event::Payload;

/// The journal `kind` of a payload: its case name in PascalCase, as in `Event.kind` and in
/// `EventFilter.kinds`.
pub fn kind_of(payload: &Payload) -> &'static str {
    match payload {
        Payload::CallCreated(_) => "CallCreated",
        Payload::IvrInputCollected(_) => "IvrInputCollected",
        Payload::CallQueued(_) => "CallQueued",
        Payload::AgentAlerting(_) => "AgentAlerting",
        Payload::AgentAlertingEnded(_) => "AgentAlertingEnded",
        Payload::CallConnected(_) => "CallConnected",
        Payload::LegHeld(_) => "LegHeld",
        Payload::LegRetrieved(_) => "LegRetrieved",
        Payload::ConsultationStarted(_) => "ConsultationStarted",
        Payload::ConsultationEnded(_) => "ConsultationEnded",
        Payload::CallTransferred(_) => "CallTransferred",
        Payload::CallConferenced(_) => "CallConferenced",
        Payload::LegEnded(_) => "LegEnded",
        Payload::CallEnded(_) => "CallEnded",
        Payload::CallDataUpdated(_) => "CallDataUpdated",
        Payload::DtmfReceived(_) => "DtmfReceived",
        Payload::CallPriorityChanged(_) => "CallPriorityChanged",
        Payload::CallbackRequested(_) => "CallbackRequested",
        Payload::RecordingStarted(_) => "RecordingStarted",
        Payload::RecordingStopped(_) => "RecordingStopped",
        Payload::AgentLoggedIn(_) => "AgentLoggedIn",
        Payload::AgentLoggedOut(_) => "AgentLoggedOut",
        Payload::AgentStateChanged(_) => "AgentStateChanged",
        Payload::WrapUpCompleted(_) => "WrapUpCompleted",
        Payload::QueueStatsUpdated(_) => "QueueStatsUpdated",
        Payload::ConfigReloaded(_) => "ConfigReloaded",
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// Builds the journal row for an event. The engine fills the envelope's `call_id`, `leg_id`,
/// `agent`, `queue`, `request_id` and `actor` and the payload; `seq`, `journal_epoch`, `time`
/// and `kind` are set here or by the store. An event without payload is journaled as kind
/// `Unknown`.
pub fn journal_event(time: SystemTime, event: &pb::Event) -> NewEvent {
    let mut body = event.clone();
    body.seq = 0;
    body.journal_epoch.clear();
    body.time = None;
    let kind = body.payload.as_ref().map_or("Unknown", kind_of);
    body.kind = kind.to_owned();
    NewEvent {
        time,
        kind: kind.to_owned(),
        call_id: non_empty(&event.call_id),
        agent: non_empty(&event.agent),
        queue: non_empty(&event.queue),
        request_id: non_empty(&event.request_id),
        payload: body.encode_to_vec(),
    }
}

/// Renders a journaled event for the wire. A payload this build cannot decode (written by a
/// newer engine) still goes out with its envelope and `kind`, so clients keep their cursor.
pub fn to_wire(stored: &StoredEvent) -> pb::Event {
    let mut event = pb::Event::decode(stored.event.payload.as_slice()).unwrap_or_default();
    event.seq = stored.seq;
    event.journal_epoch = stored.epoch.to_string();
    event.time = Some(prost_types::Timestamp::from(stored.event.time));
    event.kind = stored.event.kind.clone();
    event.call_id = stored.event.call_id.clone().unwrap_or_default();
    event.agent = stored.event.agent.clone().unwrap_or_default();
    event.queue = stored.event.queue.clone().unwrap_or_default();
    event.request_id = stored.event.request_id.clone().unwrap_or_default();
    event
}

/// The store's filter for a wire filter.
pub fn filter_from_wire(filter: Option<&pb::EventFilter>) -> EventFilter {
    let Some(f) = filter else {
        return EventFilter::default();
    };
    EventFilter {
        kinds: f.kinds.clone(),
        call_ids: f.call_ids.clone(),
        agents: f.agents.clone(),
        queues: f.queues.clone(),
    }
}

/// The wire filter for a store filter.
pub fn filter_to_wire(filter: &EventFilter) -> pb::EventFilter {
    pb::EventFilter {
        kinds: filter.kinds.clone(),
        agents: filter.agents.clone(),
        queues: filter.queues.clone(),
        call_ids: filter.call_ids.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_store::JournalEpoch;

    #[test]
    fn journal_columns_win_over_payload_envelope_on_the_way_out() {
        let event = pb::Event {
            call_id: "c1".into(),
            agent: "1001".into(),
            request_id: "r1".into(),
            payload: Some(Payload::AgentAlertingEnded(pb::AgentAlertingEnded {
                agent: "1001".into(),
                leg_id: "l2".into(),
                reason: pb::AlertingEndReason::NoAnswer as i32,
            })),
            ..Default::default()
        };
        let row = journal_event(SystemTime::UNIX_EPOCH, &event);
        assert_eq!(row.kind, "AgentAlertingEnded");
        assert_eq!(row.call_id.as_deref(), Some("c1"));
        assert_eq!(row.queue, None);
        let mut stored_row = row.clone();
        stored_row.agent = Some("1002".into());
        let wire = to_wire(&StoredEvent {
            seq: 42,
            epoch: JournalEpoch(0xabc),
            event: stored_row,
        });
        assert_eq!(wire.seq, 42);
        assert_eq!(wire.journal_epoch, "0000000000000abc");
        assert_eq!(wire.agent, "1002");
        assert_eq!(wire.payload, event.payload);
    }

    #[test]
    fn undecodable_payload_keeps_envelope_and_kind() {
        let mut row = NewEvent::new(SystemTime::UNIX_EPOCH, "FutureKind", vec![0xff, 0xff, 0xff]);
        row.call_id = Some("c9".into());
        let wire = to_wire(&StoredEvent {
            seq: 7,
            epoch: JournalEpoch(1),
            event: row,
        });
        assert_eq!(
            (wire.seq, wire.kind.as_str(), wire.call_id.as_str()),
            (7, "FutureKind", "c9")
        );
        assert!(wire.payload.is_none());
    }
}
