//! The main path and its failures: bridge and records, hang-ups, abandon, RONA, busy,
//! ring-all, unknown DNIS, overload.

use super::*;

#[test]
fn trunk_call_to_201_rings_the_registered_agent_bridges_and_writes_the_cdr() {
    let mut h = Harness::new("longest-idle");
    h.register("1001", 1);
    assert_eq!(h.agent_state("1001"), AgentState::Ready);
    h.trunk_invite("201", "a");
    // 100 Trying from the layer, then our 200 with SDP (media anchored).
    assert_eq!(h.responses_to(trunk().remote), vec![100, 200]);
    let invite = h
        .last_request_to(phone(1).remote, Method::Invite)
        .expect("the agent's phone is invited");
    assert_eq!(
        invite.uri.to_string(),
        format!("sip:1001@{}", phone(1).remote)
    );
    let from = rsip::headers::UntypedHeader::value(invite.from_header().unwrap()).to_string();
    assert!(
        from.starts_with("\"5551234\""),
        "caller's number as display: {from}"
    );
    assert!(
        invite
            .headers
            .iter()
            .any(|h| matches!(h, rsip::Header::Other(n, _) if n == "X-Switchboard-Call-Id"))
    );
    // The screen-pop is journaled before the INVITE leaves.
    let alert = h
        .log
        .iter()
        .position(|l| l == "store:AgentAlerting")
        .unwrap();
    let sent = h.log.iter().position(|l| l == "sip:INVITE").unwrap();
    assert!(alert < sent, "{:?}", h.log);
    h.trunk_in_dialog("a", "ACK", 1);
    h.advance(Duration::from_secs(2));
    h.phone_answers(1, 200, "OK");
    assert!(
        h.last_request_to(phone(1).remote, Method::Ack).is_some(),
        "agent 2xx ACKed"
    );
    assert!(matches!(h.agent_state("1001"), AgentState::OnCall { .. }));
    h.advance(Duration::from_secs(30));
    h.trunk_in_dialog("a", "BYE", 2);
    assert!(
        h.last_request_to(phone(1).remote, Method::Bye).is_some(),
        "agent released"
    );
    assert!(matches!(h.agent_state("1001"), AgentState::WrapUp { .. }));
    assert_eq!(
        h.queue_log(),
        vec!["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
    );
    let cdr = h.cdr().expect("CDR written");
    assert_eq!(cdr.disposition, Disposition::Answered);
    assert_eq!(cdr.agent.as_deref(), Some("1001"));
    assert_eq!(cdr.src, "5551234");
    assert_eq!(cdr.dst, "201");
    assert_eq!(cdr.hangup_side, Some(HangupSide::Caller));
    assert_eq!(cdr.billsec(), 32);
    assert!(cdr.recording_path.is_some(), "queue records");
    h.advance(Duration::from_secs(6));
    assert_eq!(h.agent_state("1001"), AgentState::Ready, "wrap-up over");
    assert_eq!(h.engine.call_count(), 0);
}

#[test]
fn agent_hangup_releases_the_caller_with_bye_and_logs_completeagent() {
    let mut h = Harness::new("longest-idle");
    h.register("1001", 1);
    h.trunk_invite("201", "b");
    h.trunk_in_dialog("b", "ACK", 1);
    h.phone_answers(1, 200, "OK");
    let ok = h.last_request_to(phone(1).remote, Method::Ack).unwrap();
    let to = rsip::headers::UntypedHeader::value(ok.to_header().unwrap()).to_string();
    let from = rsip::headers::UntypedHeader::value(ok.from_header().unwrap()).to_string();
    let call_id = rsip::headers::UntypedHeader::value(ok.call_id_header().unwrap()).to_string();
    // The phone's BYE: its From is our To and the other way round.
    let bye = format!(
        "BYE sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKbye1\r\n\
         Max-Forwards: 70\r\nFrom: {to}\r\nTo: {from}\r\nCall-ID: {call_id}\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
        phone(1).remote
    );
    h.deliver(phone(1), &bye);
    assert_eq!(h.responses_to(phone(1).remote).last(), Some(&200));
    assert!(
        h.last_request_to(trunk().remote, Method::Bye).is_some(),
        "caller released"
    );
    assert_eq!(
        h.queue_log(),
        vec!["ENTERQUEUE", "CONNECT", "COMPLETEAGENT"]
    );
    assert_eq!(h.cdr().unwrap().hangup_side, Some(HangupSide::Agent));
}

#[test]
fn caller_hanging_up_while_queued_is_an_abandon() {
    let mut h = Harness::new("longest-idle");
    h.trunk_invite("201", "c");
    h.trunk_in_dialog("c", "ACK", 1);
    h.advance(Duration::from_secs(12));
    h.trunk_in_dialog("c", "BYE", 2);
    assert_eq!(h.queue_log(), vec!["ENTERQUEUE", "ABANDON"]);
    let cdr = h.cdr().unwrap();
    assert_eq!(cdr.disposition, Disposition::NoAnswer);
    assert_eq!(cdr.end_reason, "abandon");
    assert_eq!(cdr.wait_seconds, Some(12));
    assert_eq!(h.engine.call_count(), 0);
}

#[test]
fn caller_hanging_up_while_the_agent_rings_cancels_the_agent_and_frees_it() {
    let mut h = Harness::new("longest-idle");
    h.register("1001", 1);
    h.trunk_invite("201", "d");
    h.phone_answers(1, 180, "Ringing");
    h.trunk_in_dialog("d", "BYE", 2);
    assert!(
        h.last_request_to(phone(1).remote, Method::Cancel).is_some(),
        "CANCEL to the ringing phone"
    );
    assert_eq!(h.queue_log(), vec!["ENTERQUEUE", "ABANDON"]);
    assert_eq!(h.agent_state("1001"), AgentState::Ready);
    // The phone confirms with 487; nothing changes, nobody is stuck Reserved.
    h.phone_answers(1, 487, "Request Terminated");
    assert_eq!(h.agent_state("1001"), AgentState::Ready);
}

#[test]
fn ring_timeout_cancels_the_phone_and_offers_the_next_agent() {
    let mut h = Harness::new("linear");
    h.register("1001", 1);
    h.register("1002", 2);
    h.trunk_invite("201", "e");
    let first = if h.last_request_to(phone(1).remote, Method::Invite).is_some() {
        1
    } else {
        2
    };
    let second = 3 - first;
    h.phone_answers(first, 180, "Ringing");
    h.advance(Duration::from_secs(16));
    assert!(
        h.last_request_to(phone(first).remote, Method::Cancel)
            .is_some(),
        "RONA CANCEL"
    );
    assert!(matches!(
        h.agent_state(&format!("100{first}")),
        AgentState::NotReady(_)
    ));
    assert!(
        h.last_request_to(phone(second).remote, Method::Invite)
            .is_some(),
        "next agent rung"
    );
    assert!(h.queue_log().contains(&"RINGNOANSWER".to_string()));
    h.phone_answers(second, 200, "OK");
    assert!(matches!(
        h.agent_state(&format!("100{second}")),
        AgentState::OnCall { .. }
    ));
}

#[test]
fn busy_agent_is_handled_as_rona_and_unreachable_as_failed() {
    let mut h = Harness::new("linear");
    h.register("1001", 1);
    h.trunk_invite("201", "f");
    h.phone_answers(1, 486, "Busy Here");
    assert!(matches!(h.agent_state("1001"), AgentState::NotReady(_)));
    assert!(h.queue_log().contains(&"RINGNOANSWER".to_string()));
    assert_eq!(h.engine.call_count(), 1, "the caller keeps waiting");
}

#[test]
fn ring_all_second_answer_gets_ack_and_bye() {
    let mut h = Harness::new("ring-all");
    h.register("1001", 1);
    h.register("1002", 2);
    h.trunk_invite("201", "g");
    assert!(h.last_request_to(phone(1).remote, Method::Invite).is_some());
    assert!(h.last_request_to(phone(2).remote, Method::Invite).is_some());
    // Provisionals first: a CANCEL waits for one (RFC 3261 §9.1).
    h.phone_answers(1, 180, "Ringing");
    h.phone_answers(2, 180, "Ringing");
    h.phone_answers(1, 200, "OK");
    assert!(
        h.last_request_to(phone(2).remote, Method::Cancel).is_some(),
        "loser cancelled"
    );
    // Both answered at once: the late 200 is ACKed and hung up.
    h.phone_answers(2, 200, "OK");
    assert!(h.last_request_to(phone(2).remote, Method::Ack).is_some());
    assert!(h.last_request_to(phone(2).remote, Method::Bye).is_some());
    assert!(matches!(h.agent_state("1001"), AgentState::OnCall { .. }));
    assert!(!matches!(
        h.agent_state("1002"),
        AgentState::Reserved { .. } | AgentState::OnCall { .. }
    ));
}

#[test]
fn phone_answering_twice_with_two_to_tags_keeps_the_first_dialog_and_byes_the_second() {
    let mut h = Harness::new("linear");
    h.register("1001", 1);
    h.trunk_invite("201", "two");
    h.phone_answers(1, 180, "Ringing");
    h.phone_answers(1, 200, "OK");
    h.phone_answers_tagged(1, 200, "OK", "other");
    h.phone_answers(1, 200, "OK"); // the first 200, retransmitted
    let to_tags = |method: Method| -> Vec<String> {
        h.sent_to(phone(1).remote)
            .into_iter()
            .filter_map(|m| match m {
                SipMessage::Request(r) if r.method == method => r
                    .headers
                    .iter()
                    .find_map(|h| match h {
                        rsip::Header::To(to) => Some(to.to_string()),
                        _ => None,
                    })
                    .and_then(|to| to.split("tag=").nth(1).map(str::to_owned)),
                _ => None,
            })
            .collect()
    };
    // RFC 3261 §13.2.2.4: each 2xx is ACKed, the retransmission too.
    assert_eq!(to_tags(Method::Ack), ["ph1", "other", "ph1"]);
    // The dialog we do not keep is ended; the kept one carries the call.
    assert_eq!(to_tags(Method::Bye), ["other"]);
    assert!(matches!(h.agent_state("1001"), AgentState::OnCall { .. }));
}

#[test]
fn caller_bye_is_answered_only_after_the_cdr_is_committed() {
    let mut h = Harness::new("linear");
    h.register("1001", 1);
    h.trunk_invite("201", "bye");
    h.trunk_in_dialog("bye", "ACK", 1);
    h.phone_answers(1, 200, "OK");
    let before = h.log.len();
    h.trunk_in_dialog("bye", "BYE", 2);
    let after: Vec<&str> = h.log[before..]
        .iter()
        .map(String::as_str)
        .filter(|l| *l == "store:CallEnded" || *l == "sip:200")
        .collect();
    // A kill -9 between the two must not leave the caller told "ended" and the store saying
    // "in progress" (closed `restart` on the next start).
    assert_eq!(
        after,
        ["store:CallEnded", "sip:200"],
        "{:?}",
        &h.log[before..]
    );
}

/// Legs while `left` allows: our media port pool, drained by the test.
struct LimitedLegs {
    next: u64,
    left: Arc<std::sync::atomic::AtomicUsize>,
}

impl LegAllocator for LimitedLegs {
    fn create_leg(&mut self, _near: Option<LegId>) -> Option<(LegId, SocketAddr)> {
        use std::sync::atomic::Ordering;
        self.left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .ok()?;
        self.next += 1;
        let port = 30000 + 2 * u16::try_from(self.next).ok()?;
        Some((LegId(self.next), SocketAddr::from(([127, 0, 0, 1], port))))
    }
}

#[test]
fn agent_whose_offer_failed_for_want_of_our_media_ports_is_ready_again_and_gets_the_call() {
    let left = Arc::new(std::sync::atomic::AtomicUsize::new(1));
    let config =
        switchboard_config::parse(&CONFIG.replace("STRATEGY", "linear"), Path::new("t.toml"))
            .unwrap();
    let mut h = Harness::new("linear");
    h.engine = Engine::new(
        Arc::new(config),
        HashMap::new(),
        EngineOptions::default(),
        Box::new(LimitedLegs {
            next: 0,
            left: left.clone(),
        }),
        h.now,
        SystemTime::UNIX_EPOCH,
    )
    .unwrap();
    h.register("1001", 1);
    // The caller's leg takes the last port; the agent's leg cannot be made.
    h.trunk_invite("201", "ports");
    assert!(h.last_request_to(phone(1).remote, Method::Invite).is_none());
    assert!(matches!(h.agent_state("1001"), AgentState::NotReady(_)));
    // Ports are free again: the agent is not left NotReady for good; the call reaches it.
    left.store(10, std::sync::atomic::Ordering::Relaxed);
    h.advance(Duration::from_secs(3));
    assert!(
        h.last_request_to(phone(1).remote, Method::Invite).is_some(),
        "the waiting call is offered again"
    );
    assert!(matches!(h.agent_state("1001"), AgentState::Reserved { .. }));
}

#[test]
fn nothing_is_held_per_call_once_calls_end_and_their_transactions_time_out() {
    let mut h = Harness::new("longest-idle");
    h.register("1001", 1);
    for i in 0..3 {
        let id = format!("held{i}");
        h.trunk_invite("201", &id);
        h.trunk_in_dialog(&id, "ACK", 1);
        h.phone_answers(1, 200, "OK");
        h.trunk_in_dialog(&id, "BYE", 2);
        h.advance(Duration::from_secs(10)); // past the wrap-up
    }
    // Past Timer F / Timer J / Timer K (64·T1): every transaction is gone too.
    h.advance(Duration::from_secs(64));
    let e = &h.engine;
    let held = [
        ("calls", e.calls.len()),
        ("agent_legs", e.agent_legs.len()),
        ("client_tx", e.client_tx.len()),
        ("dialogs", e.dialogs.len()),
        ("tickets", e.tickets.len()),
        ("caller_invites", e.caller_invites.len()),
        ("caller_byes", e.caller_byes.len()),
        ("pending", e.pending.len()),
        ("media_retries", e.media_retries.len()),
        ("transactions", e.layer.len()),
    ];
    assert!(held.iter().all(|(_, n)| *n == 0), "{held:?}");
}

#[test]
fn unknown_dnis_gets_404_and_no_call() {
    let mut h = Harness::new("linear");
    h.trunk_invite("999", "h");
    assert_eq!(h.responses_to(trunk().remote).last(), Some(&404));
    assert_eq!(h.engine.call_count(), 0);
}

#[test]
fn invites_over_the_call_limit_get_503_with_retry_after() {
    let text = CONFIG.replace("STRATEGY", "linear");
    let config = switchboard_config::parse(&text, Path::new("t.toml")).unwrap();
    let t0 = Instant::now();
    let mut h = Harness::new("linear");
    h.engine = Engine::new(
        Arc::new(config),
        HashMap::new(),
        EngineOptions {
            max_calls: 1,
            ..EngineOptions::default()
        },
        Box::new(CountingLegs(0)),
        t0,
        SystemTime::UNIX_EPOCH,
    )
    .unwrap();
    h.now = t0;
    h.trunk_invite("201", "i1");
    h.trunk_invite("201", "i2");
    let last = h
        .sent_to(trunk().remote)
        .into_iter()
        .rev()
        .find_map(|m| match m {
            SipMessage::Response(r) if r.status_code.code() >= 200 => Some(r),
            _ => None,
        })
        .unwrap();
    assert_eq!(last.status_code.code(), 503);
    assert!(last.to_string().contains("Retry-After: "), "{last}");
    assert_eq!(
        h.engine.call_count(),
        1,
        "the established call keeps its service"
    );
}

/// Every journaled event (appends and records), in write order.
fn journaled(h: &Harness) -> Vec<switchboard_store::NewEvent> {
    h.writes
        .iter()
        .flat_map(|w| match w {
            WriteOp::Append(events) | WriteOp::Record { events, .. } => events.clone(),
            _ => Vec::new(),
        })
        .collect()
}

#[test]
fn ring_all_journals_one_alerting_ended_per_alerting_answered_for_the_winner() {
    use switchboard_proto::pb::{self, event::Payload};
    let mut h = Harness::new("ring-all");
    h.register("1001", 1);
    h.register("1002", 2);
    h.trunk_invite("201", "g");
    h.phone_answers(1, 180, "Ringing");
    h.phone_answers(2, 180, "Ringing");
    h.phone_answers(1, 200, "OK");
    let events = journaled(&h);
    let alerted: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "AgentAlerting")
        .collect();
    assert_eq!(alerted.len(), 2);
    let ended: Vec<(String, i32)> = events
        .iter()
        .filter(|e| e.kind == "AgentAlertingEnded")
        .map(|e| {
            let wire = switchboard_proto::codec::to_wire(&switchboard_store::StoredEvent {
                seq: 1,
                epoch: switchboard_store::JournalEpoch(1),
                event: e.clone(),
            });
            match wire.payload {
                Some(Payload::AgentAlertingEnded(x)) => (x.agent, x.reason),
                other => panic!("payload {other:?}"),
            }
        })
        .collect();
    let mut ended = ended;
    ended.sort();
    assert_eq!(
        ended,
        vec![
            ("1001".to_string(), pb::AlertingEndReason::Answered as i32),
            ("1002".to_string(), pb::AlertingEndReason::Cancelled as i32),
        ]
    );
}

/// The `AgentStateChanged` events journaled so far for `agent`, as (previous, current).
fn agent_state_changes(
    h: &Harness,
    agent: &str,
) -> Vec<(
    switchboard_proto::pb::AgentState,
    switchboard_proto::pb::AgentState,
)> {
    use prost::Message as _;
    use switchboard_proto::pb;
    h.writes
        .iter()
        .flat_map(|w| match w {
            WriteOp::Append(events) | WriteOp::Record { events, .. } => events.clone(),
            _ => Vec::new(),
        })
        .filter_map(
            |e| match pb::Event::decode(e.payload.as_slice()).ok()?.payload? {
                pb::event::Payload::AgentStateChanged(c) if c.agent == agent => Some((
                    pb::AgentState::try_from(c.previous).ok()?,
                    pb::AgentState::try_from(c.current).ok()?,
                )),
                _ => None,
            },
        )
        .collect()
}

#[test]
fn agent_state_events_name_the_state_before_as_previous() {
    use switchboard_proto::pb::AgentState as S;
    let mut h = Harness::new("longest-idle");
    h.register("1001", 1);
    h.trunk_invite("201", "a");
    h.trunk_in_dialog("a", "ACK", 1);
    h.phone_answers(1, 200, "OK");
    h.trunk_in_dialog("a", "BYE", 2);
    // Found on the wire (registration_wire.rs): every change had previous = UNSPECIFIED, so a
    // CRM could not tell a wrap-up ending from a login.
    assert_eq!(
        agent_state_changes(&h, "1001"),
        vec![
            (S::Unspecified, S::Ready),
            (S::Ready, S::Reserved),
            (S::Reserved, S::Busy),
            (S::Busy, S::WrapUp),
        ]
    );
}

#[test]
fn a_burst_of_ended_calls_gives_the_per_call_maps_room_back() {
    let mut h = Harness::new("longest-idle");
    for k in 0..300 {
        let id = format!("burst{k}");
        h.trunk_invite("201", &id);
        h.trunk_in_dialog(&id, "ACK", 1);
    }
    assert_eq!(h.engine.call_count(), 300);
    let held = h.engine.calls.capacity();
    assert!(held >= 300);
    for k in 0..300 {
        h.trunk_in_dialog(&format!("burst{k}"), "BYE", 2);
    }
    assert_eq!(h.engine.call_count(), 0);
    h.advance(Duration::from_secs(1));
    assert!(
        h.engine.calls.capacity() < held / 4,
        "{} of {held} kept",
        h.engine.calls.capacity()
    );
}
