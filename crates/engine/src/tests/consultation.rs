//! API consultations: StartConsultation, CompleteTransfer, CancelConsultation.

use rsip::Method;

use super::*;
use crate::{CommandError, ConsultTarget, EngineCommand};

/// Customer `x` connected to 1001 (phone 1); 1002 (phone 2) Ready. Returns the call id.
fn connected() -> (Harness, String) {
    let mut h = Harness::new("linear");
    h.register("1001", 1);
    h.trunk_invite("201", "x");
    h.trunk_in_dialog("x", "ACK", 1);
    h.phone_answers(1, 200, "OK");
    h.register("1002", 2);
    let call_id = h
        .writes
        .iter()
        .find_map(|w| match w {
            WriteOp::SaveCall { call, .. } => Some(call.call_id.clone()),
            _ => None,
        })
        .unwrap();
    (h, call_id)
}

fn command(h: &mut Harness, command: EngineCommand) -> Result<(), CommandError> {
    let result = h.engine.handle_command(h.now, command);
    h.pump();
    result
}

fn consult(h: &mut Harness, call_id: &str) -> Result<(), CommandError> {
    command(
        h,
        EngineCommand::StartConsultation {
            call_id: call_id.to_string(),
            target: ConsultTarget::Agent("1002".into()),
        },
    )
}

fn kinds(h: &Harness) -> Vec<String> {
    h.log
        .iter()
        .filter_map(|l| l.strip_prefix("store:").map(str::to_string))
        .collect()
}

fn last_bridge(h: &Harness) -> Option<(LegId, LegId)> {
    h.media.iter().rev().find_map(|c| match c {
        MediaCommand::Bridge { caller, agent } => Some((*caller, *agent)),
        _ => None,
    })
}

#[test]
fn start_consultation_holds_the_customer_and_rings_the_target_under_the_same_call() {
    let (mut h, call_id) = connected();
    consult(&mut h, &call_id).unwrap();
    assert!(
        h.media
            .iter()
            .any(|c| matches!(c, MediaCommand::MusicOnHold { leg, .. } if *leg == LegId(1)))
    );
    let invite = h
        .last_request_to(phone(2).remote, Method::Invite)
        .expect("1002 rung");
    let header = invite
        .headers
        .iter()
        .find(|hd| hd.to_string().starts_with("X-Switchboard-Call-Id"))
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(header.contains(&call_id), "{header}");
    assert!(kinds(&h).contains(&"ConsultationStarted".to_string()));
    h.phone_answers(2, 200, "OK");
    // A (leg 2) talks to B (leg 3); the customer stays on music.
    assert_eq!(last_bridge(&h), Some((LegId(2), LegId(3))));
    assert!(matches!(h.agent_state("1002"), AgentState::OnCall { .. }));
    assert!(matches!(h.agent_state("1001"), AgentState::OnCall { .. }));
}

#[test]
fn complete_transfer_bridges_the_customer_to_the_consulted_agent_and_wraps_up_the_first() {
    let (mut h, call_id) = connected();
    consult(&mut h, &call_id).unwrap();
    h.phone_answers(2, 200, "OK");
    command(
        &mut h,
        EngineCommand::CompleteTransfer {
            call_id: call_id.clone(),
        },
    )
    .unwrap();
    assert_eq!(last_bridge(&h), Some((LegId(1), LegId(3))));
    assert!(h.last_request_to(phone(1).remote, Method::Bye).is_some());
    assert!(matches!(h.agent_state("1001"), AgentState::WrapUp { .. }));
    assert!(kinds(&h).contains(&"CallTransferred".to_string()));
    assert!(h.queue_log().contains(&"ATTENDEDTRANSFER".to_string()));
    h.trunk_in_dialog("x", "BYE", 3);
    let cdr = h.cdr().unwrap();
    assert_eq!(cdr.call_id, call_id, "one call id throughout");
    assert_eq!(cdr.agent.as_deref(), Some("1002"));
    assert!(h.last_request_to(phone(2).remote, Method::Bye).is_some());
    assert!(!matches!(h.agent_state("1002"), AgentState::OnCall { .. }));
}

#[test]
fn complete_transfer_before_the_target_answers_is_refused_and_changes_nothing() {
    let (mut h, call_id) = connected();
    consult(&mut h, &call_id).unwrap();
    let refused = command(&mut h, EngineCommand::CompleteTransfer { call_id });
    assert!(
        matches!(refused, Err(CommandError::Refused(_))),
        "{refused:?}"
    );
    assert!(h.last_request_to(phone(1).remote, Method::Bye).is_none());
}

#[test]
fn cancel_consultation_ends_the_consulted_leg_and_gives_the_customer_back_to_the_first_agent() {
    let (mut h, call_id) = connected();
    consult(&mut h, &call_id).unwrap();
    h.phone_answers(2, 200, "OK");
    command(
        &mut h,
        EngineCommand::CancelConsultation {
            call_id: call_id.clone(),
        },
    )
    .unwrap();
    assert!(h.last_request_to(phone(2).remote, Method::Bye).is_some());
    assert_eq!(last_bridge(&h), Some((LegId(1), LegId(2))));
    assert!(kinds(&h).contains(&"ConsultationEnded".to_string()));
    assert!(matches!(h.agent_state("1001"), AgentState::OnCall { .. }));
    // A second cancel has nothing to cancel.
    assert!(command(&mut h, EngineCommand::CancelConsultation { call_id }).is_err());
}

#[test]
fn a_consultation_target_that_rejects_leaves_the_customer_on_hold_until_cancelled() {
    let (mut h, call_id) = connected();
    consult(&mut h, &call_id).unwrap();
    h.phone_answers(2, 486, "Busy Here");
    assert!(h.queue_log().is_empty() || !h.queue_log().contains(&"ATTENDEDTRANSFER".to_string()));
    assert!(
        command(
            &mut h,
            EngineCommand::CompleteTransfer {
                call_id: call_id.clone()
            }
        )
        .is_err()
    );
    command(&mut h, EngineCommand::CancelConsultation { call_id }).unwrap();
    assert_eq!(last_bridge(&h), Some((LegId(1), LegId(2))));
}

#[test]
fn the_consulted_agent_hanging_up_returns_the_customer_to_the_first_agent() {
    let (mut h, call_id) = connected();
    consult(&mut h, &call_id).unwrap();
    h.phone_answers(2, 200, "OK");
    // 1002's phone hangs up: BYE on its dialog.
    let invite = h.last_request_to(phone(2).remote, Method::Invite).unwrap();
    let from = format!(
        "{};tag=ph2",
        rsip::headers::UntypedHeader::value(rsip::prelude::HeadersExt::to_header(&invite).unwrap())
    );
    let to = rsip::headers::UntypedHeader::value(
        rsip::prelude::HeadersExt::from_header(&invite).unwrap(),
    )
    .to_string();
    let cid = rsip::headers::UntypedHeader::value(
        rsip::prelude::HeadersExt::call_id_header(&invite).unwrap(),
    )
    .to_string();
    let bye = format!(
        "BYE sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {r};branch=z9hG4bKbbye\r\n\
         Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: 7 BYE\r\nContent-Length: 0\r\n\r\n",
        r = phone(2).remote
    );
    h.deliver(phone(2), &bye);
    assert_eq!(last_bridge(&h), Some((LegId(1), LegId(2))));
    assert!(kinds(&h).contains(&"ConsultationEnded".to_string()));
    assert!(h.cdr().is_none(), "the customer's call goes on");
    assert!(
        consult(&mut h, &call_id).is_ok(),
        "a new consultation may start"
    );
}

#[test]
fn the_customer_hanging_up_during_a_consultation_ends_the_consulted_leg_too() {
    let (mut h, call_id) = connected();
    consult(&mut h, &call_id).unwrap();
    h.phone_answers(2, 200, "OK");
    h.trunk_in_dialog("x", "BYE", 3);
    assert!(h.cdr().is_some());
    assert!(h.last_request_to(phone(2).remote, Method::Bye).is_some());
    assert!(h.last_request_to(phone(1).remote, Method::Bye).is_some());
    assert!(!matches!(h.agent_state("1002"), AgentState::OnCall { .. }));
    assert!(h.engine.consultations.is_empty());
}

#[test]
fn consultations_of_unknown_calls_unconnected_calls_or_to_oneself_are_refused() {
    let (mut h, call_id) = connected();
    assert!(matches!(
        consult(&mut h, "no-such-call"),
        Err(CommandError::UnknownCall(_))
    ));
    assert!(
        command(
            &mut h,
            EngineCommand::StartConsultation {
                call_id: call_id.clone(),
                target: ConsultTarget::Agent("1001".into()),
            },
        )
        .is_err()
    );
    assert!(matches!(
        command(
            &mut h,
            EngineCommand::StartConsultation {
                call_id: call_id.clone(),
                target: ConsultTarget::Queue("nope".into()),
            },
        ),
        Err(CommandError::UnknownQueue(_))
    ));
    consult(&mut h, &call_id).unwrap();
    assert!(
        consult(&mut h, &call_id).is_err(),
        "one consultation at a time"
    );
}

/// Phone `n` hangs up its leg of the customer's call (the first INVITE it got).
fn phone_hangs_up(h: &mut Harness, n: u16) {
    let invite = h
        .sent_to(phone(n).remote)
        .into_iter()
        .find_map(|m| match m {
            rsip::SipMessage::Request(r) if r.method == Method::Invite => Some(r),
            _ => None,
        })
        .unwrap();
    let value = |hd: &dyn Fn(&rsip::Request) -> String| hd(&invite);
    let from = value(&|r| {
        format!(
            "{};tag=ph{n}",
            rsip::headers::UntypedHeader::value(rsip::prelude::HeadersExt::to_header(r).unwrap())
        )
    });
    let to = value(&|r| {
        rsip::headers::UntypedHeader::value(rsip::prelude::HeadersExt::from_header(r).unwrap())
            .to_string()
    });
    let cid = value(&|r| {
        rsip::headers::UntypedHeader::value(rsip::prelude::HeadersExt::call_id_header(r).unwrap())
            .to_string()
    });
    let bye = format!(
        "BYE sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {r};branch=z9hG4bKhup{n}\r\n\
         Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: 8 BYE\r\nContent-Length: 0\r\n\r\n",
        r = phone(n).remote
    );
    h.deliver(phone(n), &bye);
}

#[test]
fn the_consulting_agent_hanging_up_after_the_target_answered_completes_the_transfer() {
    let (mut h, call_id) = connected();
    consult(&mut h, &call_id).unwrap();
    h.phone_answers(2, 200, "OK");
    phone_hangs_up(&mut h, 1);
    assert_eq!(last_bridge(&h), Some((LegId(1), LegId(3))));
    assert!(
        h.last_request_to(phone(1).remote, Method::Bye).is_none(),
        "no BYE back to a phone that hung up"
    );
    assert!(h.last_request_to(trunk().remote, Method::Bye).is_none());
    assert!(matches!(h.agent_state("1001"), AgentState::WrapUp { .. }));
    assert!(kinds(&h).contains(&"CallTransferred".to_string()));
}

#[test]
fn the_consulting_agent_hanging_up_before_the_target_answers_ends_the_call() {
    let (mut h, call_id) = connected();
    consult(&mut h, &call_id).unwrap();
    h.phone_answers(2, 180, "Ringing");
    phone_hangs_up(&mut h, 1);
    assert!(h.last_request_to(phone(2).remote, Method::Cancel).is_some());
    assert!(h.engine.consultations.is_empty());
    assert!(h.cdr().is_some(), "the call ended (the agent hung up)");
}

fn conference(h: &mut Harness, call_id: &str) -> Result<(), CommandError> {
    command(
        h,
        EngineCommand::CompleteConference {
            call_id: call_id.to_string(),
        },
    )
}

fn last_conference(h: &Harness) -> Option<Vec<LegId>> {
    h.media.iter().rev().find_map(|c| match c {
        MediaCommand::Conference { legs } => Some(legs.clone()),
        _ => None,
    })
}

#[test]
fn complete_conference_mixes_customer_and_both_agents_and_stops_the_music() {
    let (mut h, call_id) = connected();
    assert!(matches!(
        conference(&mut h, &call_id),
        Err(CommandError::Refused(_))
    ));
    consult(&mut h, &call_id).unwrap();
    h.phone_answers(2, 180, "Ringing");
    assert!(
        matches!(conference(&mut h, &call_id), Err(CommandError::Refused(_))),
        "not before the consulted agent answers"
    );
    h.phone_answers(2, 200, "OK");
    h.media.clear();
    conference(&mut h, &call_id).unwrap();
    assert!(matches!(
        h.media.first(),
        Some(MediaCommand::Stop { leg }) if *leg == LegId(1)
    ));
    assert_eq!(
        last_conference(&h),
        Some(vec![LegId(1), LegId(2), LegId(3)])
    );
    assert!(kinds(&h).contains(&"CallConferenced".to_string()));
    assert!(h.engine.consultations.is_empty());
    assert!(matches!(h.agent_state("1001"), AgentState::OnCall { .. }));
    assert!(matches!(h.agent_state("1002"), AgentState::OnCall { .. }));
    assert!(h.last_request_to(phone(1).remote, Method::Bye).is_none());
    assert!(h.last_request_to(phone(2).remote, Method::Bye).is_none());
    assert!(
        matches!(conference(&mut h, &call_id), Err(CommandError::Refused(_))),
        "once only"
    );
}

#[test]
fn the_consulted_agent_leaving_the_conference_leaves_customer_and_first_agent_bridged() {
    let (mut h, call_id) = connected();
    consult(&mut h, &call_id).unwrap();
    h.phone_answers(2, 200, "OK");
    conference(&mut h, &call_id).unwrap();
    phone_hangs_up(&mut h, 2);
    assert_eq!(last_bridge(&h), Some((LegId(1), LegId(2))));
    // Released (its personal queue has no wrap-up).
    assert!(matches!(h.agent_state("1002"), AgentState::Ready));
    assert!(matches!(h.agent_state("1001"), AgentState::OnCall { .. }));
    assert!(kinds(&h).contains(&"LegEnded".to_string()));
    assert!(h.cdr().is_none(), "the call goes on");
    h.trunk_in_dialog("x", "BYE", 3);
    let cdr = h.cdr().unwrap();
    assert_eq!(cdr.agent.as_deref(), Some("1001"));
    assert!(h.last_request_to(phone(1).remote, Method::Bye).is_some());
}

#[test]
fn the_first_agent_leaving_the_conference_hands_the_call_to_the_consulted_agent() {
    let (mut h, call_id) = connected();
    consult(&mut h, &call_id).unwrap();
    h.phone_answers(2, 200, "OK");
    conference(&mut h, &call_id).unwrap();
    phone_hangs_up(&mut h, 1);
    assert_eq!(last_bridge(&h), Some((LegId(1), LegId(3))));
    assert!(matches!(h.agent_state("1001"), AgentState::WrapUp { .. }));
    assert!(matches!(h.agent_state("1002"), AgentState::OnCall { .. }));
    assert!(h.last_request_to(trunk().remote, Method::Bye).is_none());
    // The consulted agent hangs up last: the call ends, one CDR naming it.
    phone_hangs_up(&mut h, 2);
    assert!(h.last_request_to(trunk().remote, Method::Bye).is_some());
    let cdr = h.cdr().unwrap();
    assert_eq!(cdr.call_id, call_id);
    assert_eq!(cdr.agent.as_deref(), Some("1002"));
    let cdrs = h
        .writes
        .iter()
        .filter(|w| matches!(w, WriteOp::FinishCall { .. }))
        .count();
    assert_eq!(cdrs, 1);
}

#[test]
fn the_customer_hanging_up_ends_the_conference_and_releases_both_agents() {
    let (mut h, call_id) = connected();
    consult(&mut h, &call_id).unwrap();
    h.phone_answers(2, 200, "OK");
    conference(&mut h, &call_id).unwrap();
    h.trunk_in_dialog("x", "BYE", 3);
    assert!(h.last_request_to(phone(1).remote, Method::Bye).is_some());
    assert!(h.last_request_to(phone(2).remote, Method::Bye).is_some());
    assert!(matches!(h.agent_state("1001"), AgentState::WrapUp { .. }));
    assert!(matches!(h.agent_state("1002"), AgentState::Ready));
    assert_eq!(h.cdr().unwrap().call_id, call_id);
    assert_eq!(h.engine.call_count(), 0);
    assert!(h.engine.agent_legs.is_empty(), "no leg left behind");
}

#[test]
fn hangup_leg_on_a_conference_agent_drops_only_that_agent() {
    let (mut h, call_id) = connected();
    consult(&mut h, &call_id).unwrap();
    h.phone_answers(2, 200, "OK");
    conference(&mut h, &call_id).unwrap();
    command(
        &mut h,
        EngineCommand::Control(crate::ControlCommand::HangupLeg {
            call_id: call_id.clone(),
            leg_id: LegId(3).to_string(),
        }),
    )
    .unwrap();
    assert!(h.last_request_to(phone(2).remote, Method::Bye).is_some());
    assert!(h.last_request_to(trunk().remote, Method::Bye).is_none());
    assert_eq!(last_bridge(&h), Some((LegId(1), LegId(2))));
    assert!(h.cdr().is_none());
}
