//! Journal events (DESIGN.md "Identifiers and events"): each gets its gap-free `seq` in the
//! store and is published only after it is committed. The payload is the `switchboard.v1.Event`
//! protobuf built here and stored through [`switchboard_proto::codec::journal_event`], the one
//! format the gRPC API's Subscribe and ListEvents decode.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use switchboard_acd::AgentState;

use crate::query::wire_state;
use switchboard_proto::codec::journal_event;
use switchboard_proto::pb;
use switchboard_proto::pb::event::Payload;
use switchboard_store::NewEvent;

use crate::call::Call;

fn duration(d: Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

/// The envelope every call event carries: call id, the call's queue and agent.
fn envelope(call: &Call, payload: Payload) -> pb::Event {
    pb::Event {
        call_id: call.text_id.clone(),
        queue: call
            .queue
            .as_ref()
            .map(|q| q.queue.clone())
            .unwrap_or_default(),
        agent: call.agent.clone().unwrap_or_default(),
        request_id: call.request_id.clone(),
        payload: Some(payload),
        ..Default::default()
    }
}

fn caller(call: &Call) -> pb::Party {
    pb::Party {
        number: call.src.clone(),
        name: call.display.clone(),
        restricted: false,
    }
}

/// The call data as the wire carries it; the IVR's collected values (`menu` and the rest) are
/// also its `ivr_inputs`.
fn call_data(call: &Call) -> pb::CallData {
    pb::CallData {
        values: call
            .data
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<HashMap<_, _>>(),
        version: 0,
        etag: String::new(),
    }
}

fn ivr_inputs(call: &Call) -> Vec<pb::IvrInput> {
    call.data
        .iter()
        .map(|(k, v)| pb::IvrInput {
            step: k.clone(),
            key: k.clone(),
            value: v.clone(),
            at: None,
        })
        .collect()
}

/// Names the agent leg in a journaled `AgentAlerting`, `AgentAlertingEnded` or
/// `CallConnected` (the envelope's `leg_id` and the payload's): built before the leg id was
/// known to the event builders, so patched here.
pub(crate) fn set_leg(event: &mut NewEvent, leg: crate::LegId) {
    use prost::Message;
    let Ok(mut decoded) = pb::Event::decode(event.payload.as_slice()) else {
        return;
    };
    let id = crate::query::leg_text(leg);
    match decoded.payload.as_mut() {
        Some(Payload::AgentAlerting(p)) => p.leg_id.clone_from(&id),
        Some(Payload::AgentAlertingEnded(p)) => p.leg_id.clone_from(&id),
        Some(Payload::CallConnected(p)) => p.leg_id.clone_from(&id),
        _ => return,
    }
    decoded.leg_id = id;
    event.payload = decoded.encode_to_vec();
}

/// A call arrived and was answered.
pub(crate) fn call_started(call: &Call, wall: SystemTime) -> NewEvent {
    let snapshot = pb::Call {
        call_id: call.text_id.clone(),
        name: format!("calls/{}", call.text_id),
        caller: Some(caller(call)),
        dialed_number: call.dnis.clone(),
        trunk: call.trunk.clone(),
        call_data: Some(call_data(call)),
        ..Default::default()
    };
    let event = envelope(
        call,
        Payload::CallCreated(pb::CallCreated {
            call: Some(snapshot),
        }),
    );
    journal_event(wall, &event)
}

/// The call entered its queue.
pub(crate) fn call_queued(call: &Call, wall: SystemTime, position: u32) -> NewEvent {
    let stay = pb::QueueStay {
        queue: call
            .queue
            .as_ref()
            .map(|q| q.queue.clone())
            .unwrap_or_default(),
        entered_at: Some(prost_types::Timestamp::from(wall)),
        position,
        priority: 0,
    };
    let event = envelope(
        call,
        Payload::CallQueued(pb::CallQueued {
            stay: Some(stay),
            estimated_wait: None,
        }),
    );
    journal_event(wall, &event)
}

/// The screen-pop: written before the agent's INVITE leaves. Carries everything a CRM needs
/// to pop the record: caller number and name, dialled number, queue, wait and the IVR data.
pub(crate) fn agent_alerting(
    call: &Call,
    agent: &str,
    wall: SystemTime,
    waited: Duration,
) -> NewEvent {
    let mut event = envelope(
        call,
        Payload::AgentAlerting(pb::AgentAlerting {
            agent: agent.to_owned(),
            caller: Some(caller(call)),
            dialed_number: call.dnis.clone(),
            queue: call
                .queue
                .as_ref()
                .map(|q| q.queue.clone())
                .unwrap_or_default(),
            wait_time: Some(duration(waited)),
            ivr_inputs: ivr_inputs(call),
            call_data: Some(call_data(call)),
            transfers: call.transfers.clone(),
            ..Default::default()
        }),
    );
    event.agent = agent.to_owned();
    journal_event(wall, &event)
}

/// The offer to `agent` on call `call_id` ended: answered, or withdrawn/refused (exactly one
/// per `AgentAlerting`). Takes the ids, not the call: the call may already be gone.
pub(crate) fn agent_alerting_ended(
    call_id: &str,
    queue: Option<&str>,
    agent: &str,
    wall: SystemTime,
    reason: pb::AlertingEndReason,
    request_id: &str,
) -> NewEvent {
    let event = pb::Event {
        call_id: call_id.to_owned(),
        request_id: request_id.to_owned(),
        queue: queue.unwrap_or_default().to_owned(),
        agent: agent.to_owned(),
        payload: Some(Payload::AgentAlertingEnded(pb::AgentAlertingEnded {
            agent: agent.to_owned(),
            leg_id: String::new(),
            reason: reason as i32,
        })),
        ..Default::default()
    };
    journal_event(wall, &event)
}

/// The agent answered; the legs are bridged.
pub(crate) fn call_connected(call: &Call, agent: &str, wall: SystemTime) -> NewEvent {
    let mut event = envelope(
        call,
        Payload::CallConnected(pb::CallConnected {
            leg_id: String::new(),
            agent: agent.to_owned(),
        }),
    );
    event.agent = agent.to_owned();
    journal_event(wall, &event)
}

/// The wire state of an agent state (what [`agent_state`] journals as `current`).
pub(crate) fn wire_agent_state(state: &AgentState) -> pb::AgentState {
    wire_state(state).0
}

/// An agent's state changed from `previous` (the state it was last journaled in;
/// `Unspecified` for its first change since the engine started).
pub(crate) fn agent_state(
    agent: &str,
    previous: pb::AgentState,
    state: &AgentState,
    wall: SystemTime,
) -> NewEvent {
    let (current, reason_code) = wire_state(state);
    let event = pb::Event {
        agent: agent.to_owned(),
        payload: Some(Payload::AgentStateChanged(pb::AgentStateChanged {
            agent: agent.to_owned(),
            previous: previous as i32,
            current: current as i32,
            reason_code,
            ..Default::default()
        })),
        ..Default::default()
    };
    journal_event(wall, &event)
}

/// The wire end reason of the engine's CDR reason text.
pub(crate) fn end_reason(reason: &str) -> pb::EndReason {
    match reason {
        "normal" => pb::EndReason::Normal,
        "abandon" | "abandon-after-rona" => pb::EndReason::Abandoned,
        "api-hangup" => pb::EndReason::Api,
        "no-ack" | "session-expired" => pb::EndReason::Timeout,
        "restart" => pb::EndReason::Restart,
        "transferred" => pb::EndReason::Transferred,
        _ => pb::EndReason::Failed,
    }
}

/// The call ended (written with the CDR in one transaction). The text keeps the engine's own
/// reason and the side that hung up (`caller:abandon`).
pub(crate) fn call_ended(call: &Call, wall: SystemTime, side: &str, reason: &str) -> NewEvent {
    let event = envelope(
        call,
        Payload::CallEnded(pb::CallEnded {
            cause: Some(pb::EndCause {
                reason: end_reason(reason) as i32,
                sip_status: 0,
                text: format!("{side}:{reason}"),
            }),
            duration: Some(duration(
                wall.duration_since(call.started).unwrap_or_default(),
            )),
        }),
    );
    journal_event(wall, &event)
}

/// Who a transfer or consultation went to, as the wire names it.
pub(crate) fn target(agent: Option<&str>, queue: Option<&str>) -> Option<pb::TransferTarget> {
    use pb::transfer_target::Target;
    let target = match (agent, queue) {
        (Some(agent), _) => Target::Agent(agent.to_owned()),
        (None, Some(queue)) => Target::Queue(queue.to_owned()),
        (None, None) => return None,
    };
    Some(pb::TransferTarget {
        target: Some(target),
    })
}

/// A blind transfer: `old_leg` (the transferring agent's) left, `new_leg` joined (empty while
/// the target is a queue: its agent leg comes with the offer).
pub(crate) fn call_blind_transferred(
    call: &mut Call,
    old_leg: &str,
    new_leg: &str,
    target: pb::transfer_target::Target,
    wall: SystemTime,
) -> NewEvent {
    call_transferred(
        call,
        wall,
        old_leg,
        new_leg,
        pb::TransferKind::Blind,
        Some(pb::TransferTarget {
            target: Some(target),
        }),
    )
}

/// Transfers kept in a call's history (a call bounced more often keeps the latest).
pub(crate) const MAX_TRANSFERS: usize = 16;

/// The call moved from `old_leg` (the agent who left) to `new_leg`; the transfer joins the
/// call's history (`Call.transfers`, the next screen-pop's `transfers`).
pub(crate) fn call_transferred(
    call: &mut Call,
    wall: SystemTime,
    old_leg: &str,
    new_leg: &str,
    kind: pb::TransferKind,
    to: Option<pb::TransferTarget>,
) -> NewEvent {
    let record = pb::TransferRecord {
        at: Some(prost_types::Timestamp::from(wall)),
        from_leg_id: old_leg.to_owned(),
        to_leg_id: new_leg.to_owned(),
        by_leg_id: old_leg.to_owned(),
        kind: kind as i32,
        target: to,
    };
    let mut event = envelope(
        call,
        Payload::CallTransferred(pb::CallTransferred {
            old_leg_id: old_leg.to_owned(),
            new_leg_id: new_leg.to_owned(),
            transfer: Some(record.clone()),
        }),
    );
    if call.transfers.len() >= MAX_TRANSFERS {
        call.transfers.remove(0);
    }
    call.transfers.push(record);
    event.request_id = call.request_id.clone();
    journal_event(wall, &event)
}

/// The far leg of a forwarded call (or the customer of a click-to-dial) answered.
pub(crate) fn far_connected(call: &Call, leg: &str, wall: SystemTime) -> NewEvent {
    let mut event = envelope(
        call,
        Payload::CallConnected(pb::CallConnected {
            leg_id: leg.to_owned(),
            agent: call.agent.clone().unwrap_or_default(),
        }),
    );
    event.request_id = call.request_id.clone();
    journal_event(wall, &event)
}

/// A consultation leg was started from `from_leg`.
pub(crate) fn consultation_started(
    call: &Call,
    wall: SystemTime,
    from_leg: &str,
    consult_leg: &str,
    to: Option<pb::TransferTarget>,
    purpose: pb::ConsultPurpose,
) -> NewEvent {
    let mut event = envelope(
        call,
        Payload::ConsultationStarted(pb::ConsultationStarted {
            from_leg_id: from_leg.to_owned(),
            consult_leg_id: consult_leg.to_owned(),
            target: to,
            purpose: purpose as i32,
        }),
    );
    event.request_id = call.request_id.clone();
    journal_event(wall, &event)
}

/// A consultation ended without a transfer (`reason` as the engine's CDR reasons).
pub(crate) fn consultation_ended(
    call: &Call,
    wall: SystemTime,
    consult_leg: &str,
    reason: &str,
) -> NewEvent {
    let mut event = envelope(
        call,
        Payload::ConsultationEnded(pb::ConsultationEnded {
            consult_leg_id: consult_leg.to_owned(),
            cause: Some(pb::EndCause {
                reason: end_reason(reason) as i32,
                sip_status: 0,
                text: reason.to_owned(),
            }),
        }),
    );
    event.request_id = call.request_id.clone();
    journal_event(wall, &event)
}
