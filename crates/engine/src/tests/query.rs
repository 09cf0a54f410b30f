//! The read side (issue 7): calls, agents and queues as the API shows them, read on the
//! simulated clock.

use super::*;
use crate::{CommandError, EngineCommand, EngineQuery, QueryAnswer, QueryError};
use switchboard_acd::{ReasonCode, RequestedState};
use switchboard_proto::pb;

fn calls(h: &Harness) -> Vec<pb::Call> {
    match h.engine.query(h.now, &EngineQuery::Calls) {
        Ok(QueryAnswer::Calls(calls)) => calls,
        other => panic!("calls: {other:?}"),
    }
}

fn agent(h: &Harness, id: &str) -> pb::Agent {
    match h.engine.query(h.now, &EngineQuery::Agent(id.into())) {
        Ok(QueryAnswer::Agent(agent)) => *agent,
        other => panic!("agent {id}: {other:?}"),
    }
}

fn queue(h: &Harness, name: &str) -> pb::QueueStats {
    match h.engine.query(h.now, &EngineQuery::Queue(name.into())) {
        Ok(QueryAnswer::Queue(q)) => q.stats.expect("stats"),
        other => panic!("queue {name}: {other:?}"),
    }
}

fn secs(d: Option<prost_types::Duration>) -> i64 {
    d.map(|d| d.seconds).unwrap_or(-1)
}

#[test]
fn a_waiting_call_reads_with_caller_dnis_queue_position_and_its_customer_leg() {
    let mut h = Harness::new("longest-idle");
    h.trunk_invite("201", "a");
    h.trunk_in_dialog("a", "ACK", 1);
    h.advance(Duration::from_secs(12));
    let calls = calls(&h);
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.state(), pb::CallState::Queued);
    let caller = call.caller.as_ref().unwrap();
    assert_eq!(
        (caller.number.as_str(), caller.name.as_str()),
        ("5551234", "Alice")
    );
    assert_eq!(call.dialed_number, "201");
    assert_eq!(call.trunk, "carrier");
    let stay = call.queue.as_ref().unwrap();
    assert_eq!((stay.queue.as_str(), stay.position), ("support", 1));
    assert_eq!(secs(call.wait_time), 12);
    assert_eq!(call.talk_time, None);
    assert_eq!(call.legs.len(), 1);
    assert_eq!(call.legs[0].role(), pb::LegRole::Customer);
    assert_eq!(
        call.legs[0].name,
        format!("calls/{}/legs/{}", call.call_id, call.legs[0].leg_id)
    );
    assert_eq!(call.legs[0].sip_call_id, "call-a");
    // The queue sees the same call waiting for 12 s, nobody to take it.
    let stats = queue(&h, "support");
    assert_eq!(stats.waiting, 1);
    assert_eq!(secs(stats.longest_wait), 12);
    assert_eq!(stats.offered, 1);
    assert_eq!(stats.agents.unwrap().logged_out, 2);
    // The single read and the list agree.
    match h
        .engine
        .query(h.now, &EngineQuery::Call(call.call_id.clone()))
    {
        Ok(QueryAnswer::Call(one)) => assert_eq!(&*one, call),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_answered_call_names_its_agent_leg_and_talk_time_and_the_agent_names_the_call() {
    let mut h = Harness::new("longest-idle");
    h.register("1001", 1);
    h.trunk_invite("201", "b");
    h.trunk_in_dialog("b", "ACK", 1);
    let ringing = calls(&h).remove(0);
    assert_eq!(ringing.state(), pb::CallState::Alerting);
    assert_eq!(ringing.legs[1].state(), pb::LegState::Alerting);
    assert_eq!(agent(&h, "1001").state(), pb::AgentState::Reserved);
    h.advance(Duration::from_secs(3));
    h.phone_answers(1, 200, "OK");
    h.advance(Duration::from_secs(30));
    let call = calls(&h).remove(0);
    assert_eq!(call.state(), pb::CallState::Connected);
    assert_eq!(call.agent, "1001");
    assert_eq!(secs(call.wait_time), 3);
    assert_eq!(secs(call.talk_time), 30);
    let leg = &call.legs[1];
    assert_eq!(
        (leg.role(), leg.agent.as_str()),
        (pb::LegRole::Agent, "1001")
    );
    assert_eq!(leg.state(), pb::LegState::Connected);
    assert_ne!(leg.leg_id, call.legs[0].leg_id);
    let a = agent(&h, "1001");
    assert_eq!(a.state(), pb::AgentState::Busy);
    assert_eq!(a.active_call_ids, vec![call.call_id.clone()]);
    assert_eq!(a.queues, vec!["support".to_string()]);
    assert_eq!(a.skills.get("support"), Some(&5));
    assert!(
        a.device.contains("1001@"),
        "registered contact: {}",
        a.device
    );
    assert_eq!(a.counters.as_ref().unwrap().offers, 1);
    let stats = queue(&h, "support");
    assert_eq!((stats.waiting, stats.answered), (0, 1));
    assert_eq!(secs(stats.average_speed_of_answer), 3);
    assert_eq!(stats.agents.unwrap().busy, 1);
    assert!(
        (stats.service_level - 1.0).abs() < 1e-9,
        "answered within SL"
    );
}

#[test]
fn an_ended_call_reads_as_ended_and_a_command_on_it_gets_call_ended() {
    let mut h = Harness::new("longest-idle");
    h.trunk_invite("201", "c");
    h.trunk_in_dialog("c", "ACK", 1);
    let id = calls(&h).remove(0).call_id;
    h.advance(Duration::from_secs(5));
    h.trunk_in_dialog("c", "BYE", 2);
    assert!(calls(&h).is_empty());
    match h.engine.query(h.now, &EngineQuery::Call(id.clone())) {
        Ok(QueryAnswer::Call(call)) => {
            assert_eq!(call.state(), pb::CallState::Ended);
            assert_eq!(call.end_cause.unwrap().reason(), pb::EndReason::Abandoned);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        h.engine.handle_command(
            h.now,
            EngineCommand::Hangup {
                call_id: id.clone()
            }
        ),
        Err(CommandError::CallEnded(id))
    );
    assert_eq!(
        h.engine.handle_command(
            h.now,
            EngineCommand::Hangup {
                call_id: "nope".into()
            }
        ),
        Err(CommandError::UnknownCall("nope".into()))
    );
}

#[test]
fn unknown_calls_agents_and_queues_are_refused_by_kind() {
    let h = Harness::new("longest-idle");
    let ask = |q: EngineQuery| h.engine.query(h.now, &q).err();
    assert_eq!(
        ask(EngineQuery::Call("x".into())),
        Some(QueryError::UnknownCall("x".into()))
    );
    assert_eq!(
        ask(EngineQuery::Agent("9".into())),
        Some(QueryError::UnknownAgent("9".into()))
    );
    assert_eq!(
        ask(EngineQuery::Queue("q".into())),
        Some(QueryError::UnknownQueue("q".into()))
    );
    // An agent's personal queue is the router's business, not a configured queue.
    assert_eq!(
        ask(EngineQuery::Queue("agent:1001".into())),
        Some(QueryError::UnknownQueue("agent:1001".into()))
    );
    match h.engine.query(h.now, &EngineQuery::Snapshot) {
        Ok(QueryAnswer::Snapshot(s)) => {
            assert_eq!(
                s.agents
                    .iter()
                    .map(|a| a.agent.as_str())
                    .collect::<Vec<_>>(),
                ["1001", "1002"]
            );
            assert_eq!(s.queues.len(), 1);
            assert!(s.calls.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn agent_etag_moves_with_state_and_pending_state_not_with_time() {
    let mut h = Harness::new("longest-idle");
    h.register("1001", 1);
    let ready = agent(&h, "1001");
    assert_eq!(ready.state(), pb::AgentState::Ready);
    h.advance(Duration::from_secs(60));
    assert_eq!(
        agent(&h, "1001").etag,
        ready.etag,
        "time alone changes nothing"
    );
    h.engine
        .handle_command(
            h.now,
            EngineCommand::SetAgentState {
                agent: "1001".into(),
                state: RequestedState::NotReady(ReasonCode::from("lunch")),
            },
        )
        .unwrap();
    let paused = agent(&h, "1001");
    assert_eq!(paused.state(), pb::AgentState::NotReady);
    assert_eq!(paused.reason_code, "lunch");
    assert_ne!(paused.etag, ready.etag);
    assert!(paused.state_since.is_some());
}

#[test]
fn events_a_command_causes_carry_its_request_id() {
    let mut h = Harness::new("longest-idle");
    h.register("1001", 1);
    let before = h.writes.len();
    h.engine
        .handle_request(
            h.now,
            EngineCommand::SetAgentState {
                agent: "1001".into(),
                state: RequestedState::NotReady(ReasonCode::from("break")),
            },
            Some("req-42".into()),
        )
        .unwrap();
    h.pump();
    let events: Vec<_> = h.writes[before..]
        .iter()
        .filter_map(|w| match w {
            WriteOp::Append(events) => Some(events.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(!events.is_empty());
    assert!(
        events
            .iter()
            .all(|e| e.request_id.as_deref() == Some("req-42")),
        "{events:?}"
    );
    // The next input is not the command's.
    h.trunk_invite("201", "d");
    let later = h.writes.iter().rev().find_map(|w| match w {
        WriteOp::Append(events) => events.last().cloned(),
        _ => None,
    });
    assert_eq!(later.and_then(|e| e.request_id), None);
}

#[test]
fn an_agent_with_several_skills_has_one_etag_however_often_it_is_read() {
    // Two skills: prost renders them as a HashMap, whose order differs between renderings.
    let h = Harness::with(IVR_CONFIG, &["main"]);
    let first = agent(&h, "1001");
    assert_eq!(first.skills.len(), 2);
    for _ in 0..32 {
        assert_eq!(agent(&h, "1001").etag, first.etag);
    }
}

#[test]
fn alerting_its_end_and_the_connection_name_the_agent_leg_the_call_shows() {
    use prost::Message;
    let mut h = Harness::new("longest-idle");
    h.register("1001", 1);
    h.trunk_invite("201", "e");
    h.trunk_in_dialog("e", "ACK", 1);
    h.phone_answers(1, 200, "OK");
    let leg = calls(&h).remove(0).legs.remove(1).leg_id;
    let mut seen = Vec::new();
    for w in &h.writes {
        if let WriteOp::Append(events) | WriteOp::Record { events, .. } = w {
            for e in events {
                let wire = pb::Event::decode(e.payload.as_slice()).unwrap();
                let payload_leg = match &wire.payload {
                    Some(pb::event::Payload::AgentAlerting(p)) => &p.leg_id,
                    Some(pb::event::Payload::AgentAlertingEnded(p)) => &p.leg_id,
                    Some(pb::event::Payload::CallConnected(p)) => &p.leg_id,
                    _ => continue,
                };
                assert_eq!((payload_leg, &wire.leg_id), (&leg, &leg), "{}", e.kind);
                seen.push(e.kind.clone());
            }
        }
    }
    assert_eq!(
        seen,
        ["AgentAlerting", "AgentAlertingEnded", "CallConnected"]
    );
}

#[test]
fn queue_statistics_are_pushed_at_most_once_a_second_per_queue_with_the_latest_figures() {
    use prost::Message;
    let mut h = Harness::new("longest-idle");
    let pushed = |h: &Harness| -> Vec<pb::QueueStats> {
        h.writes
            .iter()
            .filter_map(|w| match w {
                WriteOp::Append(events) => Some(events.clone()),
                _ => None,
            })
            .flatten()
            .filter(|e| e.kind == "QueueStatsUpdated")
            .filter_map(
                |e| match pb::Event::decode(e.payload.as_slice()).ok()?.payload {
                    Some(pb::event::Payload::QueueStatsUpdated(u)) => u.stats,
                    _ => None,
                },
            )
            .collect()
    };
    h.trunk_invite("201", "a");
    assert_eq!(pushed(&h).len(), 1, "the first change goes out at once");
    assert_eq!(pushed(&h)[0].waiting, 1);
    // Three more callers within the second: one push when it is over, with all four.
    for id in ["b", "c", "d"] {
        h.advance(Duration::from_millis(100));
        h.trunk_invite("201", id);
    }
    assert_eq!(pushed(&h).len(), 1);
    h.advance(Duration::from_secs(1));
    let all = pushed(&h);
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(
        (all[1].queue.as_str(), all[1].waiting, all[1].offered),
        ("support", 4, 4)
    );
    // Nothing changes: nothing more is pushed.
    h.advance(Duration::from_secs(5));
    assert_eq!(pushed(&h).len(), 2);
}
