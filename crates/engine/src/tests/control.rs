//! The API commands that need no new leg (issue 7): call data, priority, DTMF, hold, login,
//! wrap-up, reload and etag preconditions, on the simulated clock.

use super::*;
use crate::{CommandError, ControlCommand, EngineCommand, EngineQuery, QueryAnswer};
use switchboard_proto::pb;

fn control(h: &mut Harness, command: ControlCommand) -> Result<(), CommandError> {
    let r = h
        .engine
        .handle_command(h.now, EngineCommand::Control(command));
    h.pump();
    r
}

fn call(h: &Harness, n: usize) -> pb::Call {
    match h.engine.query(h.now, &EngineQuery::Calls) {
        Ok(QueryAnswer::Calls(mut calls)) => calls.remove(n),
        other => panic!("{other:?}"),
    }
}

fn events(h: &Harness, kind: &str) -> Vec<pb::Event> {
    use prost::Message;
    h.writes
        .iter()
        .filter_map(|w| match w {
            WriteOp::Append(e) | WriteOp::Record { events: e, .. } => Some(e.clone()),
            _ => None,
        })
        .flatten()
        .filter(|e| e.kind == kind)
        .map(|e| pb::Event::decode(e.payload.as_slice()).unwrap())
        .collect()
}

fn connected(h: &mut Harness) -> pb::Call {
    h.register("1001", 1);
    h.trunk_invite("201", "a");
    h.trunk_in_dialog("a", "ACK", 1);
    h.phone_answers(1, 200, "OK");
    call(h, 0)
}

#[test]
fn call_data_merges_with_etag_and_size_checks_and_journals_the_change() {
    let mut h = Harness::new("longest-idle");
    h.trunk_invite("201", "a");
    let before = call(&h, 0);
    let id = before.call_id.clone();
    let etag = before.call_data.unwrap().etag;
    let set = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    };
    control(
        &mut h,
        ControlCommand::UpdateCallData {
            call_id: id.clone(),
            set: set(&[("account", "42"), ("tier", "gold")]),
            remove: vec!["missing".into()],
            etag: Some(etag.clone()),
        },
    )
    .unwrap();
    let data = call(&h, 0).call_data.unwrap();
    assert_eq!(data.values.get("account").map(String::as_str), Some("42"));
    assert_eq!(data.version, 1);
    // The etag read before the write is stale now.
    let stale = control(
        &mut h,
        ControlCommand::UpdateCallData {
            call_id: id.clone(),
            set: set(&[("tier", "silver")]),
            remove: vec![],
            etag: Some(etag),
        },
    );
    assert_eq!(
        stale,
        Err(CommandError::EtagMismatch {
            current: data.etag.clone()
        })
    );
    let huge = "x".repeat(crate::CALL_DATA_LIMIT);
    assert!(matches!(
        control(
            &mut h,
            ControlCommand::UpdateCallData {
                call_id: id.clone(),
                set: set(&[("blob", &huge)]),
                remove: vec!["tier".into()],
                etag: None,
            },
        ),
        Err(CommandError::CallDataTooLarge { .. })
    ));
    control(
        &mut h,
        ControlCommand::UpdateCallData {
            call_id: id,
            set: set(&[]),
            remove: vec!["tier".into()],
            etag: Some(data.etag),
        },
    )
    .unwrap();
    let updates = events(&h, "CallDataUpdated");
    assert_eq!(updates.len(), 2, "refused writes journal nothing");
    let Some(pb::event::Payload::CallDataUpdated(first)) = &updates[0].payload else {
        panic!()
    };
    assert_eq!(first.changed_keys, vec!["account", "tier"]);
    assert!(
        first.removed_keys.is_empty(),
        "an absent key is not removed"
    );
    let Some(pb::event::Payload::CallDataUpdated(second)) = &updates[1].payload else {
        panic!()
    };
    assert_eq!(second.removed_keys, vec!["tier"]);
}

#[test]
fn priority_moves_a_waiting_call_ahead_and_refuses_a_connected_one() {
    let mut h = Harness::new("longest-idle");
    h.trunk_invite("201", "a");
    h.advance(Duration::from_secs(5));
    h.trunk_invite("201", "b");
    let second = call(&h, 1);
    assert_eq!(second.queue.as_ref().unwrap().position, 2);
    control(
        &mut h,
        ControlCommand::SetCallPriority {
            call_id: second.call_id.clone(),
            priority: 5,
            wait_adjustment: Duration::ZERO,
        },
    )
    .unwrap();
    let second = call(&h, 1);
    assert_eq!(second.queue.as_ref().unwrap().position, 1);
    assert_eq!(second.priority, 5);
    let changed = events(&h, "CallPriorityChanged");
    let Some(pb::event::Payload::CallPriorityChanged(p)) = &changed[0].payload else {
        panic!()
    };
    assert_eq!((p.priority, p.position), (5, 1));
    // Wait credit alone: the first call, credited a minute, is ahead of equal priority again.
    let first = call(&h, 0).call_id;
    control(
        &mut h,
        ControlCommand::SetCallPriority {
            call_id: first,
            priority: 5,
            wait_adjustment: Duration::from_secs(60),
        },
    )
    .unwrap();
    assert_eq!(call(&h, 0).queue.unwrap().position, 1);

    let mut h = Harness::new("longest-idle");
    let talking = connected(&mut h);
    assert_eq!(
        control(
            &mut h,
            ControlCommand::SetCallPriority {
                call_id: talking.call_id.clone(),
                priority: 1,
                wait_adjustment: Duration::ZERO,
            },
        ),
        Err(CommandError::NotQueued(talking.call_id))
    );
}

#[test]
fn hold_plays_music_to_the_customer_deafens_the_agent_and_retrieve_gives_each_the_other_back() {
    let mut h = Harness::new("longest-idle");
    let c = connected(&mut h);
    let customer = c.legs[0].leg_id.clone();
    let agent_leg = c.legs[1].leg_id.clone();
    let hold = |leg: &str| ControlCommand::HoldLeg {
        call_id: c.call_id.clone(),
        leg_id: leg.to_owned(),
    };
    let retrieve = |leg: &str| ControlCommand::RetrieveLeg {
        call_id: c.call_id.clone(),
        leg_id: leg.to_owned(),
    };
    assert_eq!(
        control(&mut h, retrieve(&agent_leg)),
        Err(CommandError::LegState {
            leg_id: agent_leg.clone(),
            reason: "LEG_NOT_HELD"
        })
    );
    h.media.clear();
    control(&mut h, hold(&agent_leg)).unwrap();
    assert!(
        matches!(
            h.media.as_slice(),
            [
                MediaCommand::MusicOnHold { leg, .. },
                MediaCommand::Deafen { leg: deaf, deaf: true },
            ] if leg.to_string() == customer && deaf.to_string() == agent_leg
        ),
        "{:?}",
        h.media
    );
    assert_eq!(call(&h, 0).state(), pb::CallState::Held);
    assert_eq!(
        control(&mut h, hold(&customer)),
        Err(CommandError::LegState {
            leg_id: customer.clone(),
            reason: "LEG_ALREADY_HELD"
        })
    );
    h.media.clear();
    control(&mut h, retrieve(&agent_leg)).unwrap();
    // The bridge was never broken (its recording goes on): no new Bridge.
    assert!(
        matches!(
            h.media.as_slice(),
            [
                MediaCommand::Stop { leg },
                MediaCommand::Deafen { leg: deaf, deaf: false },
            ] if leg.to_string() == customer && deaf.to_string() == agent_leg
        ),
        "{:?}",
        h.media
    );
    assert_eq!(call(&h, 0).state(), pb::CallState::Connected);
    assert_eq!(events(&h, "LegHeld").len(), 1);
    assert_eq!(events(&h, "LegRetrieved")[0].leg_id, agent_leg);
    assert_eq!(
        control(&mut h, hold("leg99")),
        Err(CommandError::UnknownLeg {
            call_id: c.call_id.clone(),
            leg_id: "leg99".into()
        })
    );
}

#[test]
fn dtmf_goes_to_the_named_leg_as_rfc4733_and_bad_digits_are_refused() {
    let mut h = Harness::new("longest-idle");
    let c = connected(&mut h);
    h.media.clear();
    control(
        &mut h,
        ControlCommand::SendDtmf {
            call_id: c.call_id.clone(),
            leg_id: c.legs[0].leg_id.clone(),
            digits: "12#".into(),
        },
    )
    .unwrap();
    assert!(matches!(
        h.media.as_slice(),
        [MediaCommand::SendDtmf { digits, .. }] if digits == "12#"
    ));
    assert_eq!(
        control(
            &mut h,
            ControlCommand::SendDtmf {
                call_id: c.call_id,
                leg_id: c.legs[0].leg_id.clone(),
                digits: "1x".into(),
            },
        ),
        Err(CommandError::InvalidDigit('x'))
    );
}

#[test]
fn logout_on_a_call_needs_force_and_login_makes_the_agent_ready() {
    let mut h = Harness::new("longest-idle");
    connected(&mut h);
    let logout = |force| ControlCommand::LogoutAgent {
        agent: "1001".into(),
        reason_code: Some("shift-end".into()),
        force,
    };
    assert_eq!(
        control(&mut h, logout(false)),
        Err(CommandError::AgentOnCall("1001".into()))
    );
    assert_eq!(
        control(
            &mut h,
            ControlCommand::LogoutAgent {
                agent: "1002".into(),
                reason_code: None,
                force: false
            }
        ),
        Err(CommandError::NotLoggedIn("1002".into()))
    );
    control(
        &mut h,
        ControlCommand::LoginAgent {
            agent: "1002".into(),
            ready: true,
            device: None,
        },
    )
    .unwrap();
    assert_eq!(h.agent_state("1002"), AgentState::Ready);
    assert_eq!(events(&h, "AgentLoggedIn").len(), 1);
    control(&mut h, logout(true)).unwrap();
    assert!(
        matches!(h.agent_state("1001"), AgentState::OnCall { .. }),
        "after the call"
    );
    assert_eq!(
        control(
            &mut h,
            ControlCommand::LoginAgent {
                agent: "9999".into(),
                ready: true,
                device: None,
            }
        ),
        Err(CommandError::UnknownAgent("9999".into()))
    );
}

#[test]
fn completing_wrap_up_frees_the_agent_and_puts_the_disposition_on_the_cdr() {
    let mut h = Harness::new("longest-idle");
    let c = connected(&mut h);
    let complete = |call: Option<String>| ControlCommand::CompleteWrapUp {
        agent: "1001".into(),
        call_id: call,
        disposition_code: "sale".into(),
        notes: "upgraded to gold".into(),
    };
    assert_eq!(
        control(&mut h, complete(None)),
        Err(CommandError::NotInWrapUp("1001".into()))
    );
    h.trunk_in_dialog("a", "BYE", 2);
    assert!(matches!(h.agent_state("1001"), AgentState::WrapUp { .. }));
    assert_eq!(
        control(&mut h, complete(Some("other".into()))),
        Err(CommandError::UnknownCall("other".into()))
    );
    control(&mut h, complete(Some(c.call_id.clone()))).unwrap();
    assert_eq!(h.agent_state("1001"), AgentState::Ready);
    assert!(h.writes.iter().any(|w| matches!(
        w,
        WriteOp::Disposition { call_id, disposition_code, notes }
            if *call_id == c.call_id && disposition_code == "sale" && notes == "upgraded to gold"
    )));
    assert_eq!(events(&h, "WrapUpCompleted")[0].call_id, c.call_id);
}

#[test]
fn a_stale_agent_etag_refuses_the_state_change() {
    let mut h = Harness::new("longest-idle");
    h.register("1001", 1);
    let etag = match h.engine.query(h.now, &EngineQuery::Agent("1001".into())) {
        Ok(QueryAnswer::Agent(a)) => a.etag,
        other => panic!("{other:?}"),
    };
    let pause = |etag: String| ControlCommand::IfAgentEtag {
        agent: "1001".into(),
        etag,
        then: Box::new(EngineCommand::SetAgentState {
            agent: "1001".into(),
            state: switchboard_acd::RequestedState::NotReady("break".into()),
        }),
    };
    control(&mut h, pause(etag.clone())).unwrap();
    assert!(matches!(h.agent_state("1001"), AgentState::NotReady(_)));
    assert!(matches!(
        control(&mut h, pause(etag)),
        Err(CommandError::EtagMismatch { .. })
    ));
}

#[test]
fn a_reloaded_configuration_adds_an_agent_to_the_queue_live() {
    let mut h = Harness::new("longest-idle");
    h.trunk_invite("201", "a");
    let text = CONFIG.replace("STRATEGY", "longest-idle").replace(
        "[[queue]]",
        "[[agent]]\nid = \"1003\"\npassword = \"secret\"\nskills = { support = 5 }\n[[queue]]",
    );
    let config = switchboard_config::parse(&text, Path::new("t.toml")).unwrap();
    control(
        &mut h,
        ControlCommand::Reconfigure {
            config: Arc::new(config),
            flows: HashMap::new(),
            digest: "d2".into(),
        },
    )
    .unwrap();
    // The new agent registers with its password and takes the waiting call.
    h.register("1003", 3);
    assert!(matches!(h.agent_state("1003"), AgentState::Reserved { .. }));
    assert!(call(&h, 0).legs.iter().any(|l| l.agent == "1003"));
    let reloaded = events(&h, "ConfigReloaded");
    let Some(pb::event::Payload::ConfigReloaded(r)) = &reloaded[0].payload else {
        panic!()
    };
    assert_eq!(r.config_digest, "d2");
}

#[test]
fn hanging_up_a_leg_of_a_two_party_call_clears_the_call() {
    let mut h = Harness::new("longest-idle");
    let c = connected(&mut h);
    assert_eq!(
        control(
            &mut h,
            ControlCommand::HangupLeg {
                call_id: c.call_id.clone(),
                leg_id: "leg99".into(),
            },
        ),
        Err(CommandError::UnknownLeg {
            call_id: c.call_id.clone(),
            leg_id: "leg99".into()
        })
    );
    control(
        &mut h,
        ControlCommand::HangupLeg {
            call_id: c.call_id.clone(),
            leg_id: c.legs[1].leg_id.clone(),
        },
    )
    .unwrap();
    assert!(
        h.last_request_to(phone(1).remote, Method::Bye).is_some(),
        "agent released"
    );
    assert!(
        h.last_request_to(trunk().remote, Method::Bye).is_some(),
        "customer released"
    );
    assert_eq!(h.engine.call_count(), 0);
    assert_eq!(h.cdr().unwrap().end_reason, "api-hangup");
}

#[test]
fn agent_logged_in_on_a_device_is_rung_at_it_and_shows_it() {
    let mut h = Harness::new("longest-idle");
    assert!(matches!(
        control(
            &mut h,
            ControlCommand::LoginAgent {
                agent: "1002".into(),
                ready: true,
                device: Some("sip:1002@pbx.example.com".into()),
            },
        ),
        Err(CommandError::BadDevice(_))
    ));
    assert_eq!(
        h.agent_state("1002"),
        AgentState::LoggedOut,
        "refused whole"
    );
    control(
        &mut h,
        ControlCommand::LoginAgent {
            agent: "1002".into(),
            ready: true,
            device: Some(format!("sip:1002@{}", phone(2).remote)),
        },
    )
    .unwrap();
    h.trunk_invite("201", "a");
    let invite = h
        .last_request_to(phone(2).remote, Method::Invite)
        .expect("the unregistered device is rung at its URI's address");
    assert_eq!(
        invite.uri.to_string(),
        format!("sip:1002@{}", phone(2).remote)
    );
    h.phone_answers(2, 200, "OK");
    assert!(matches!(h.agent_state("1002"), AgentState::OnCall { .. }));
    let agent = match h.engine.query(h.now, &EngineQuery::Agent("1002".into())) {
        Ok(QueryAnswer::Agent(a)) => a,
        other => panic!("{other:?}"),
    };
    assert_eq!(agent.device, format!("sip:1002@{}", phone(2).remote));
}

#[test]
fn agent_with_a_static_contact_is_rung_without_registering() {
    let config = CONFIG.replace("STRATEGY", "longest-idle").replace(
        "id = \"1002\"\npassword = \"secret\"\n",
        "id = \"1002\"\npassword = \"secret\"\ncontact = \"sip:1002@127.0.0.1:5072\"\n",
    );
    let mut h = Harness::with(&config, &[]);
    control(
        &mut h,
        ControlCommand::LoginAgent {
            agent: "1002".into(),
            ready: true,
            device: None,
        },
    )
    .unwrap();
    h.trunk_invite("201", "a");
    assert!(
        h.last_request_to(phone(2).remote, Method::Invite).is_some(),
        "the configured contact is rung"
    );
}
