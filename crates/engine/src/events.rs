//! Journal events (DESIGN.md "Identifiers and events"): each gets its gap-free `seq` in the
//! store and is published only after it is committed. Payloads are JSON objects; the gRPC
//! bus re-encodes them.

use std::time::{Duration, SystemTime};

use serde_json::json;
use switchboard_store::NewEvent;

use crate::call::Call;

fn event(
    wall: SystemTime,
    kind: &str,
    call: Option<&Call>,
    payload: serde_json::Value,
) -> NewEvent {
    let mut e = NewEvent::new(wall, kind, serde_json::to_vec(&payload).unwrap_or_default());
    if let Some(call) = call {
        e.call_id = Some(call.text_id.clone());
        e.queue = call.queue.as_ref().map(|q| q.queue.clone());
        e.agent = call.agent.clone();
    }
    e
}

/// A call arrived and was answered.
pub(crate) fn call_started(call: &Call, wall: SystemTime) -> NewEvent {
    event(
        wall,
        "CallStarted",
        Some(call),
        json!({ "caller": call.src, "clid": call.clid, "dnis": call.dnis, "trunk": call.trunk }),
    )
}

/// The call entered its queue.
pub(crate) fn call_queued(call: &Call, wall: SystemTime, position: u32) -> NewEvent {
    event(
        wall,
        "CallQueued",
        Some(call),
        json!({ "position": position, "data": call.data }),
    )
}

/// The screen-pop: written before the agent's INVITE leaves.
pub(crate) fn agent_alerting(
    call: &Call,
    agent: &str,
    wall: SystemTime,
    waited: Duration,
) -> NewEvent {
    let mut e = event(
        wall,
        "AgentAlerting",
        Some(call),
        json!({
            "caller": call.src,
            "clid": call.clid,
            "dnis": call.dnis,
            "queue": call.queue.as_ref().map(|q| q.queue.clone()),
            "wait_seconds": waited.as_secs(),
            "data": call.data,
        }),
    );
    e.agent = Some(agent.to_string());
    e
}

/// The agent answered; the legs are bridged.
pub(crate) fn call_connected(call: &Call, agent: &str, wall: SystemTime) -> NewEvent {
    let mut e = event(
        wall,
        "CallConnected",
        Some(call),
        json!({ "recording": call.recording_path }),
    );
    e.agent = Some(agent.to_string());
    e
}

/// An agent's state changed.
pub(crate) fn agent_state(agent: &str, state: &str, wall: SystemTime) -> NewEvent {
    let mut e = event(wall, "AgentStateChanged", None, json!({ "state": state }));
    e.agent = Some(agent.to_string());
    e
}

/// The call ended (written with the CDR in one transaction).
pub(crate) fn call_ended(call: &Call, wall: SystemTime, side: &str, reason: &str) -> NewEvent {
    event(
        wall,
        "CallEnded",
        Some(call),
        json!({ "hangup_side": side, "reason": reason, "survey_score": call.survey_score }),
    )
}
