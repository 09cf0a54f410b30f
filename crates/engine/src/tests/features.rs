//! Around the main path: IVR menu and survey, hold, blind transfer, API commands, expired
//! registrations, session timers.

use super::*;

#[test]
fn dnis_200_runs_the_main_menu_and_digit_1_queues_for_sales_with_menu_in_the_screen_pop() {
    let mut h = Harness::with(IVR_CONFIG, &["main", "survey"]);
    h.trunk_invite("200", "m");
    assert_eq!(h.responses_to(trunk().remote), vec![100, 200]);
    let caller = h
        .media
        .iter()
        .find_map(|c| match c {
            MediaCommand::SetMedia { leg, .. } => Some(*leg),
            _ => None,
        })
        .unwrap();
    assert_eq!(h.prompts_played(), vec!["welcome"]);
    h.finish_playbacks();
    h.press(caller, '1');
    let queued = h
        .writes
        .iter()
        .find_map(|w| match w {
            WriteOp::Record { queue_log, .. } if !queue_log.is_empty() => {
                Some(queue_log[0].to_line())
            }
            _ => None,
        })
        .expect("ENTERQUEUE");
    assert!(queued.contains("|sales|NONE|ENTERQUEUE|"), "{queued}");
    h.register("1001", 1);
    let alerting = h
        .writes
        .iter()
        .find_map(|w| match w {
            WriteOp::Append(events) => events.iter().find(|e| e.kind == "AgentAlerting").cloned(),
            _ => None,
        })
        .expect("screen-pop");
    let event = switchboard_proto::codec::to_wire(&switchboard_store::StoredEvent {
        seq: 1,
        epoch: switchboard_store::JournalEpoch(1),
        event: alerting,
    });
    let Some(switchboard_proto::pb::event::Payload::AgentAlerting(pop)) = event.payload else {
        panic!("AgentAlerting payload: {event:?}");
    };
    assert_eq!((pop.agent.as_str(), pop.queue.as_str()), ("1001", "sales"));
    let data = pop.call_data.unwrap_or_default().values;
    assert_eq!(data.get("menu").map(String::as_str), Some("sales"));
    assert!(
        pop.ivr_inputs
            .iter()
            .any(|i| i.key == "menu" && i.value == "sales")
    );
    assert!(pop.caller.is_some_and(|c| !c.number.is_empty()));
    assert!(h.last_request_to(phone(1).remote, Method::Invite).is_some());
}

#[test]
fn silent_caller_in_the_main_menu_goes_to_support_after_the_digit_timeouts() {
    let mut h = Harness::with(IVR_CONFIG, &["main"]);
    h.trunk_invite("200", "n");
    for _ in 0..4 {
        h.finish_playbacks();
        h.advance(Duration::from_secs(6));
    }
    assert!(
        h.queue_log().first().is_some_and(|e| e == "ENTERQUEUE"),
        "{:?}",
        h.queue_log()
    );
    let line = h
        .writes
        .iter()
        .find_map(|w| match w {
            WriteOp::Record { queue_log, .. } if !queue_log.is_empty() => {
                Some(queue_log[0].to_line())
            }
            _ => None,
        })
        .unwrap();
    assert!(line.contains("|support|"), "{line}");
}

#[test]
fn agent_hangup_on_a_survey_queue_asks_the_caller_and_the_digit_goes_into_the_cdr() {
    let mut h = Harness::with(IVR_CONFIG, &["main", "survey"]);
    h.register("1001", 1);
    h.trunk_invite("201", "s");
    h.trunk_in_dialog("s", "ACK", 1);
    h.phone_answers(1, 200, "OK");
    let caller = h
        .media
        .iter()
        .find_map(|c| match c {
            MediaCommand::SetMedia { leg, .. } => Some(*leg),
            _ => None,
        })
        .unwrap();
    h.media.clear();
    let ack = h.last_request_to(phone(1).remote, Method::Ack).unwrap();
    let to = rsip::headers::UntypedHeader::value(ack.to_header().unwrap()).to_string();
    let from = rsip::headers::UntypedHeader::value(ack.from_header().unwrap()).to_string();
    let call_id = rsip::headers::UntypedHeader::value(ack.call_id_header().unwrap()).to_string();
    let bye = format!(
        "BYE sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKbyes\r\n\
         Max-Forwards: 70\r\nFrom: {to}\r\nTo: {from}\r\nCall-ID: {call_id}\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
        phone(1).remote
    );
    h.deliver(phone(1), &bye);
    // The agent is released at once (wrap-up); the caller stays for the survey.
    assert!(matches!(h.agent_state("1001"), AgentState::WrapUp { .. }));
    assert!(h.last_request_to(trunk().remote, Method::Bye).is_none());
    assert_eq!(h.prompts_played(), vec!["survey-rate-1-5"]);
    h.finish_playbacks();
    h.press(caller, '4');
    h.finish_playbacks();
    assert!(
        h.last_request_to(trunk().remote, Method::Bye).is_some(),
        "caller released after the survey"
    );
    let cdr = h.cdr().unwrap();
    assert_eq!(cdr.survey_score, Some(4));
    assert_eq!(cdr.hangup_side, Some(HangupSide::Agent));
    assert_eq!(
        h.queue_log(),
        vec!["ENTERQUEUE", "CONNECT", "COMPLETEAGENT"]
    );
}

#[test]
fn agent_hold_by_reinvite_sendonly_gives_the_caller_music_and_resume_stops_it() {
    let mut h = Harness::new("linear");
    h.register("1001", 1);
    h.trunk_invite("201", "hold");
    h.trunk_in_dialog("hold", "ACK", 1);
    h.phone_answers(1, 200, "OK");
    let caller = h
        .media
        .iter()
        .find_map(|c| match c {
            MediaCommand::SetMedia { leg, .. } => Some(*leg),
            _ => None,
        })
        .unwrap();
    let ack = h.last_request_to(phone(1).remote, Method::Ack).unwrap();
    let to = rsip::headers::UntypedHeader::value(ack.to_header().unwrap()).to_string();
    let from = rsip::headers::UntypedHeader::value(ack.from_header().unwrap()).to_string();
    let call_id = rsip::headers::UntypedHeader::value(ack.call_id_header().unwrap()).to_string();
    let reinvite = |cseq: u32, direction: &str| {
        let body = format!("{}a={direction}\r\n", SDP.replace("127.0.0.2", "127.0.0.1"));
        format!(
            "INVITE sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKre{cseq}\r\n\
             Max-Forwards: 70\r\nFrom: {to}\r\nTo: {from}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} INVITE\r\n\
             Contact: <sip:1001@{}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            phone(1).remote,
            phone(1).remote,
            body.len()
        )
    };
    h.media.clear();
    h.deliver(phone(1), &reinvite(10, "sendonly"));
    let ok = h
        .sent_to(phone(1).remote)
        .into_iter()
        .rev()
        .find_map(|m| match m {
            SipMessage::Response(r) if r.status_code.code() == 200 => Some(r),
            _ => None,
        })
        .unwrap();
    let answer = String::from_utf8(ok.body.clone()).unwrap();
    assert!(
        answer.contains("a=recvonly"),
        "RFC 3264 §8.4 answer to sendonly: {answer}"
    );
    assert!(
        h.media
            .iter()
            .any(|c| matches!(c, MediaCommand::MusicOnHold { leg, .. } if *leg == caller)),
        "the caller hears music: {:?}",
        h.media
    );
    h.media.clear();
    h.deliver(phone(1), &reinvite(11, "sendrecv"));
    assert!(
        h.media
            .iter()
            .any(|c| matches!(c, MediaCommand::Stop { leg } if *leg == caller))
    );
    assert!(matches!(h.agent_state("1001"), AgentState::OnCall { .. }));
}

#[test]
fn blind_transfer_by_refer_keeps_the_caller_and_call_id_and_queues_it_for_the_target() {
    let mut h = Harness::with(IVR_CONFIG, &[]);
    h.register("1001", 1);
    h.trunk_invite("201", "x");
    h.trunk_in_dialog("x", "ACK", 1);
    h.phone_answers(1, 200, "OK");
    let ack = h.last_request_to(phone(1).remote, Method::Ack).unwrap();
    let to = rsip::headers::UntypedHeader::value(ack.to_header().unwrap()).to_string();
    let from = rsip::headers::UntypedHeader::value(ack.from_header().unwrap()).to_string();
    let call_id = rsip::headers::UntypedHeader::value(ack.call_id_header().unwrap()).to_string();
    let refer = format!(
        "REFER sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKref1\r\n\
         Max-Forwards: 70\r\nFrom: {to}\r\nTo: {from}\r\nCall-ID: {call_id}\r\nCSeq: 3 REFER\r\n\
         Contact: <sip:1001@{}>\r\nRefer-To: <sip:202@127.0.0.1>\r\nContent-Length: 0\r\n\r\n",
        phone(1).remote,
        phone(1).remote
    );
    h.deliver(phone(1), &refer);
    assert!(
        h.responses_to(phone(1).remote).contains(&202),
        "{:?}",
        h.responses_to(phone(1).remote)
    );
    let notify = h
        .last_request_to(phone(1).remote, Method::Notify)
        .expect("NOTIFY");
    assert!(String::from_utf8_lossy(&notify.body).starts_with("SIP/2.0 200"));
    assert!(
        h.last_request_to(phone(1).remote, Method::Bye).is_some(),
        "agent leg released"
    );
    assert!(
        h.last_request_to(trunk().remote, Method::Bye).is_none(),
        "customer stays"
    );
    assert!(matches!(h.agent_state("1001"), AgentState::WrapUp { .. }));
    assert_eq!(
        h.queue_log(),
        vec!["ENTERQUEUE", "CONNECT", "TRANSFER", "ENTERQUEUE"]
    );
    // Wrap-up over: 1001 (sales 5) takes the transferred call from the sales queue.
    h.advance(Duration::from_secs(6));
    // Distinct INVITEs (UDP retransmissions share a Call-ID).
    let invites: std::collections::BTreeSet<String> = h
        .sent_to(phone(1).remote)
        .into_iter()
        .filter_map(|m| match m {
            SipMessage::Request(r) if r.method == Method::Invite => {
                Some(rsip::headers::UntypedHeader::value(r.call_id_header().unwrap()).to_string())
            }
            _ => None,
        })
        .collect();
    assert_eq!(invites.len(), 2);
    // The second screen-pop carries the call's transfer history (the first had none).
    let alerting: Vec<switchboard_proto::pb::AgentAlerting> = h
        .writes
        .iter()
        .filter_map(|w| match w {
            WriteOp::Append(e) | WriteOp::Record { events: e, .. } => Some(e.clone()),
            _ => None,
        })
        .flatten()
        .filter(|e| e.kind == "AgentAlerting")
        .filter_map(
            |e| match prost::Message::decode(e.payload.as_slice()).ok()? {
                switchboard_proto::pb::Event {
                    payload: Some(switchboard_proto::pb::event::Payload::AgentAlerting(a)),
                    ..
                } => Some(a),
                _ => None,
            },
        )
        .collect();
    assert_eq!(alerting.len(), 2);
    assert!(alerting[0].transfers.is_empty());
    let history = &alerting[1].transfers;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(
        history[0].kind(),
        switchboard_proto::pb::TransferKind::Blind
    );
    assert_eq!(
        history[0].target.as_ref().and_then(|t| t.target.clone()),
        Some(switchboard_proto::pb::transfer_target::Target::Queue(
            "sales".into()
        ))
    );
    assert!(!history[0].from_leg_id.is_empty() && history[0].at.is_some());
    h.phone_answers(1, 200, "OK");
    h.trunk_in_dialog("x", "BYE", 2);
    assert_eq!(
        h.queue_log(),
        vec![
            "ENTERQUEUE",
            "CONNECT",
            "TRANSFER",
            "ENTERQUEUE",
            "CONNECT",
            "COMPLETECALLER"
        ]
    );
    let cdrs = h
        .writes
        .iter()
        .filter(|w| matches!(w, WriteOp::FinishCall { .. }))
        .count();
    assert_eq!(cdrs, 1, "one call, one CDR");
    assert_eq!(h.cdr().unwrap().queue.as_deref(), Some("sales"));
}

#[test]
fn api_commands_set_agent_state_and_hang_up_a_waiting_call() {
    use crate::{CommandError, EngineCommand};
    let mut h = Harness::new("linear");
    h.register("1001", 1);
    h.engine
        .handle_command(
            h.now,
            EngineCommand::SetAgentState {
                agent: "1001".into(),
                state: switchboard_acd::RequestedState::NotReady("lunch".into()),
            },
        )
        .unwrap();
    h.pump();
    assert!(matches!(h.agent_state("1001"), AgentState::NotReady(_)));
    h.trunk_invite("201", "api");
    assert!(
        h.last_request_to(phone(1).remote, Method::Invite).is_none(),
        "not ready: no offer"
    );
    let call_id = h.cdr().map(|c| c.call_id);
    assert!(call_id.is_none());
    let started = h
        .writes
        .iter()
        .find_map(|w| match w {
            WriteOp::Append(events) => events.iter().find(|e| e.kind == "CallCreated").cloned(),
            _ => None,
        })
        .unwrap();
    let call_id = started.call_id.unwrap();
    assert_eq!(
        h.engine.handle_command(
            h.now,
            EngineCommand::Hangup {
                call_id: "nope".into()
            }
        ),
        Err(CommandError::UnknownCall("nope".into()))
    );
    h.engine
        .handle_command(
            h.now,
            EngineCommand::Hangup {
                call_id: call_id.clone(),
            },
        )
        .unwrap();
    h.pump();
    assert!(h.last_request_to(trunk().remote, Method::Bye).is_some());
    let cdr = h.cdr().unwrap();
    assert_eq!(cdr.call_id, call_id);
    assert_eq!(cdr.end_reason, "api-hangup");
    assert_eq!(h.engine.call_count(), 0);
}

#[test]
fn an_agent_whose_registration_expires_is_logged_out_and_gets_no_offer() {
    let mut h = Harness::new("linear");
    h.register("1001", 1);
    assert_eq!(h.agent_state("1001"), AgentState::Ready);
    // The REGISTER asked for 600 s; nothing refreshes it.
    h.advance(Duration::from_secs(601));
    assert_eq!(h.agent_state("1001"), AgentState::LoggedOut);
    h.trunk_invite("201", "exp");
    assert!(h.last_request_to(phone(1).remote, Method::Invite).is_none());
    assert_eq!(h.engine.call_count(), 1, "the caller waits in the queue");
    // The phone registers again: the waiting call is offered at once.
    h.register("1001", 1);
    assert!(h.last_request_to(phone(1).remote, Method::Invite).is_some());
}

#[test]
fn a_caller_session_never_refreshed_is_ended_and_the_agent_released() {
    let mut h = Harness::new("linear");
    h.register("1001", 1);
    h.trunk_invite_with("201", "st", "Session-Expires: 120\r\nSupported: timer\r\n");
    let ok = h
        .sent_to(trunk().remote)
        .into_iter()
        .find_map(|m| match m {
            SipMessage::Response(r) if r.status_code.code() == 200 => Some(r),
            _ => None,
        })
        .unwrap();
    let text = ok.to_string();
    assert!(
        text.contains("Session-Expires: 120;refresher=uac"),
        "{text}"
    );
    assert!(text.contains("Require: timer"), "{text}");
    h.trunk_in_dialog("st", "ACK", 1);
    h.phone_answers(1, 200, "OK");
    // A refresh (UPDATE) at 60 s keeps the call up past the first expiry.
    h.advance(Duration::from_secs(60));
    h.trunk_in_dialog("st", "UPDATE", 2);
    h.advance(Duration::from_secs(60));
    assert_eq!(
        h.engine.call_count(),
        1,
        "refreshed at 60 s: alive at 120 s"
    );
    // Then silence: 120 s - 32 s after the refresh the call is ended (RFC 4028 §10).
    h.advance(Duration::from_secs(30));
    assert_eq!(h.engine.call_count(), 0);
    assert!(h.last_request_to(trunk().remote, Method::Bye).is_some());
    assert!(h.last_request_to(phone(1).remote, Method::Bye).is_some());
    assert!(!matches!(h.agent_state("1001"), AgentState::OnCall { .. }));
    assert_eq!(h.cdr().unwrap().end_reason, "session-expired");
}

#[test]
fn max_wait_overflow_into_an_ivr_flow_takes_the_caller_out_of_the_queue_into_the_menu() {
    let config = IVR_CONFIG.replace(
        "name = \"sales\"\nrequirement = \"sales >= 1\"",
        "name = \"sales\"\nrequirement = \"sales >= 1\"\nmax_wait_seconds = 10\noverflow = { ivr = \"main\" }",
    );
    assert!(config.contains("max_wait_seconds = 10"));
    let mut h = Harness::with(&config, &["main"]);
    h.trunk_invite("202", "ovf");
    h.media.clear();
    h.advance(Duration::from_secs(11));
    assert!(
        h.queue_log().contains(&"EXITWITHTIMEOUT".to_string()),
        "{:?}",
        h.queue_log()
    );
    assert_eq!(
        h.engine.call_count(),
        1,
        "the caller is still here, in the flow"
    );
    assert_eq!(
        h.prompts_played().first().map(String::as_str),
        Some("welcome")
    );
}

#[test]
fn a_waiting_caller_pressing_9_leaves_the_queue_with_exitwithkey() {
    let mut h = Harness::new("linear");
    h.trunk_invite("201", "key");
    h.trunk_in_dialog("key", "ACK", 1);
    let caller = h
        .media
        .iter()
        .find_map(|c| match c {
            MediaCommand::SetMedia { leg, .. } => Some(*leg),
            _ => None,
        })
        .unwrap();
    h.advance(Duration::from_secs(4));
    h.press(caller, '9');
    assert_eq!(h.queue_log(), vec!["ENTERQUEUE", "EXITWITHKEY"]);
    assert!(h.last_request_to(trunk().remote, Method::Bye).is_some());
    assert_eq!(h.cdr().unwrap().end_reason, "exit-key");
    assert_eq!(h.engine.call_count(), 0);
}

#[test]
fn a_trunk_call_to_an_agent_id_rings_that_agent_through_its_personal_queue() {
    let mut h = Harness::new("linear");
    h.register("1001", 1);
    h.register("1002", 2);
    h.trunk_invite("1002", "direct");
    assert_eq!(h.responses_to(trunk().remote), vec![100, 200]);
    assert!(h.last_request_to(phone(1).remote, Method::Invite).is_none());
    assert!(h.last_request_to(phone(2).remote, Method::Invite).is_some());
    h.phone_answers(2, 200, "OK");
    h.trunk_in_dialog("direct", "BYE", 2);
    let cdr = h.cdr().unwrap();
    assert_eq!(cdr.agent.as_deref(), Some("1002"));
    assert_eq!(cdr.queue.as_deref(), Some("agent:1002"));
}

#[test]
fn an_offerless_reinvite_gets_our_offer_in_the_200_and_the_answer_in_the_ack_sets_the_media() {
    let mut h = Harness::new("linear");
    h.trunk_invite("201", "refresh");
    h.trunk_in_dialog("refresh", "ACK", 1);
    let caller = h
        .media
        .iter()
        .find_map(|c| match c {
            MediaCommand::SetMedia { leg, .. } => Some(*leg),
            _ => None,
        })
        .unwrap();
    h.media.clear();
    // Found on the wire (media_wire.rs): this was answered 488 (RFC 3261 §14.2 wants an
    // offer in the 2xx).
    h.trunk_in_dialog("refresh", "INVITE", 2);
    let ok = h
        .sent_to(trunk().remote)
        .into_iter()
        .rev()
        .find_map(|m| match m {
            SipMessage::Response(r)
                if r.cseq_header()
                    .is_ok_and(|c| c.to_string().contains("2 INVITE")) =>
            {
                Some(r)
            }
            _ => None,
        })
        .expect("a response to the re-INVITE");
    assert_eq!(ok.status_code.code(), 200);
    let offer = String::from_utf8(ok.body.clone()).unwrap();
    assert!(
        offer.contains("m=audio") && offer.contains("a=sendrecv"),
        "{offer}"
    );
    assert!(h.media.is_empty(), "nothing changes before the answer");
    // The ACK carries the answer: the caller moved to port 4100.
    let to = rsip::headers::UntypedHeader::value(ok.to_header().unwrap()).to_string();
    let answer = SDP.replace("m=audio 4000", "m=audio 4100");
    let ack = format!(
        "ACK sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5080;branch=z9hG4bKackrefresh2\r\n\
         Max-Forwards: 70\r\nFrom: \"Alice\" <sip:5551234@127.0.0.2>;tag=trefresh\r\nTo: {to}\r\n\
         Call-ID: call-refresh\r\nCSeq: 2 ACK\r\nContent-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{answer}",
        answer.len()
    );
    h.deliver(trunk(), &ack);
    let moved = h.media.iter().find_map(|c| match c {
        MediaCommand::SetMedia { leg, media } if *leg == caller => media.remote_rtp,
        _ => None,
    });
    assert_eq!(moved, Some(SocketAddr::from(([127, 0, 0, 2], 4100))));
}
