//! Every queue option, skill requirements and widening, callbacks, and configuration updates.
mod common;

use std::time::Duration;

use common::*;
use switchboard_acd::*;

fn leaves(out: &[Decision]) -> Vec<(CallId, LeaveReason, Option<OverflowTarget>)> {
    out.iter()
        .filter_map(|d| match d {
            Decision::Leave {
                call,
                reason,
                overflow,
                ..
            } => Some((*call, *reason, overflow.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn ring_timeout_sets_the_offer_deadline() {
    let mut h = Harness::new(one_queue(1, |q| q.ring_timeout = secs(22)));
    h.ready("a0");
    h.arrive(1, "q");
    assert_eq!(h.only_offer().deadline, h.now + secs(22));
}

#[test]
fn record_and_survey_flags_travel_with_the_offer() {
    let mut h = Harness::new(one_queue(1, |q| {
        q.record = true;
        q.survey = true;
    }));
    h.ready("a0");
    h.arrive(1, "q");
    let o = h.only_offer();
    assert!(o.record && o.survey && !o.callback);
}

#[test]
fn max_wait_sends_the_call_to_the_overflow_route() {
    let mut h = Harness::new(one_queue(1, |q| {
        q.max_wait = Some(secs(120));
        q.overflow = Some(OverflowTarget::Route("voicemail".into()));
    }));
    h.arrive(1, "q");
    h.advance(secs(119));
    assert_eq!(h.place(1), Some(CallPlace::Waiting));
    h.advance(secs(1));
    assert_eq!(
        leaves(&h.take()),
        [(
            CallId(1),
            LeaveReason::MaxWait,
            Some(OverflowTarget::Route("voicemail".into()))
        )]
    );
    assert_eq!(h.place(1), None);
    assert_eq!(h.stats("q").totals.exited, 1);
}

#[test]
fn max_wait_while_ringing_waits_for_the_offers_outcome() {
    let mut h = Harness::new(one_queue(1, |q| {
        q.max_wait = Some(secs(10));
        q.ring_timeout = secs(15);
    }));
    h.advance(secs(5));
    h.ready("a0");
    h.arrive(1, "q");
    h.advance(secs(12));
    assert!(
        matches!(h.place(1), Some(CallPlace::Offered { .. })),
        "not torn from a ringing agent"
    );
    h.advance(secs(3));
    assert_eq!(leaves(&h.take()), [(CallId(1), LeaveReason::MaxWait, None)]);
}

#[test]
fn max_length_refuses_calls_beyond_it() {
    let mut h = Harness::new(one_queue(1, |q| q.max_length = Some(2)));
    h.arrive(1, "q");
    h.arrive(2, "q");
    h.arrive(3, "q");
    assert_eq!(
        leaves(&h.take()),
        [(CallId(3), LeaveReason::QueueFull, None)]
    );
    let t = h.stats("q").totals;
    assert_eq!((t.offered, t.refused), (2, 1));
}

#[test]
fn join_empty_refuses_calls_when_nobody_is_logged_in() {
    let mut h = Harness::new(one_queue(1, |q| {
        q.join_empty = Some(EmptyConditions::NOBODY_LOGGED_IN)
    }));
    h.arrive(1, "q");
    assert_eq!(
        leaves(&h.take()),
        [(CallId(1), LeaveReason::JoinEmpty, None)]
    );
    h.not_ready("a0", "break");
    h.arrive(2, "q");
    assert_eq!(
        h.place(2),
        Some(CallPlace::Waiting),
        "a Not Ready member counts as present"
    );
}

#[test]
fn join_empty_can_count_ineligible_members_as_absent() {
    let mut config = one_queue(1, |q| {
        q.join_empty = Some(EmptyConditions::NOBODY_AVAILABLE)
    });
    config.agents[0] = AgentSpec::new("a0").with_skill("fr", 2);
    let mut h = Harness::new(config);
    h.ready("a0");
    h.advance(secs(1));
    let needs_de = Some(Requirement::only(SkillExpr::skill("de", 1)));
    h.arrive_with(1, "q", 0, needs_de);
    assert_eq!(
        leaves(&h.take()),
        [(CallId(1), LeaveReason::JoinEmpty, None)]
    );
}

#[test]
fn leave_empty_sends_waiting_calls_away_when_the_last_agent_logs_out() {
    let mut h = Harness::new(one_queue(1, |q| {
        q.leave_empty = Some(EmptyConditions::NOBODY_LOGGED_IN);
        q.overflow = Some(OverflowTarget::Route("closed".into()));
    }));
    h.ready("a0");
    h.arrive(1, "q");
    h.answer(1);
    h.arrive(2, "q");
    h.take();
    h.input(RouterInput::AgentState {
        agent: "a0".into(),
        state: RequestedState::LoggedOut,
    })
    .unwrap();
    assert!(
        leaves(&h.take()).is_empty(),
        "a0 is on a call: logout is pending, a0 still present"
    );
    h.end(1);
    // The pending logout wins over call 2; then nobody is logged in and call 2 must go.
    assert_eq!(
        leaves(&h.take()),
        [(
            CallId(2),
            LeaveReason::LeaveEmpty,
            Some(OverflowTarget::Route("closed".into()))
        )]
    );
    assert_eq!(h.state("a0"), AgentState::LoggedOut);
    assert_eq!(h.place(2), None);
}

#[test]
fn overflow_to_another_queue_keeps_the_original_enqueue_time() {
    let mut first = QueueSpec::new("first").with_members(["x"]);
    first.max_wait = Some(secs(60));
    first.overflow = Some(OverflowTarget::Queue("second".into()));
    let second = QueueSpec::new("second").with_members(["y"]);
    let mut h = Harness::new(ConfigUpdate {
        queues: vec![first, second],
        agents: vec![AgentSpec::new("x"), AgentSpec::new("y")],
    });
    h.arrive(1, "first");
    h.advance(secs(30));
    h.arrive(2, "second");
    h.advance(secs(30));
    assert!(h.take().iter().any(|d| matches!(
        d,
        Decision::Overflowed { call: CallId(1), from, to } if from.as_str() == "first" && to.as_str() == "second"
    )));
    assert_eq!(
        h.router.waiting_calls("second"),
        [CallId(1), CallId(2)],
        "call 1 waited longer"
    );
    assert_eq!(h.stats("first").totals.overflowed, 1);
    assert_eq!(h.stats("second").totals.offered, 2);
}

#[test]
fn an_overflow_loop_ends_with_the_call_leaving() {
    let mut a = QueueSpec::new("a");
    a.max_length = Some(0);
    a.overflow = Some(OverflowTarget::Queue("b".into()));
    let mut b = QueueSpec::new("b");
    b.max_length = Some(0);
    b.overflow = Some(OverflowTarget::Queue("a".into()));
    let mut h = Harness::new(ConfigUpdate {
        queues: vec![a, b],
        agents: vec![],
    });
    h.arrive(1, "a");
    assert_eq!(
        leaves(&h.take()).last().map(|l| l.1),
        Some(LeaveReason::OverflowLoop)
    );
    assert_eq!(h.place(1), None);
}

#[test]
fn service_level_threshold_splits_answered_calls() {
    let mut h = Harness::new(one_queue(1, |q| q.service_level = secs(20)));
    h.arrive(1, "q");
    h.advance(secs(10));
    h.ready("a0");
    h.answer(1);
    h.end(1);
    h.not_ready("a0", "break");
    h.arrive(2, "q");
    h.advance(secs(30));
    h.ready("a0");
    h.answer(2);
    let t = h.stats("q").totals;
    assert_eq!((t.answered, t.answered_within_sl), (2, 1));
    assert_eq!(t.service_level(), Some(50.0));
    assert_eq!(t.asa(), Some(secs(20)));
}

#[test]
fn periodic_announcements_give_position_and_ewt_but_never_during_an_offer() {
    let mut h = Harness::new(one_queue(1, |q| {
        q.announce_every = Some(secs(30));
        q.ring_timeout = secs(60);
    }));
    h.ready("a0");
    h.arrive(1, "q");
    h.answer(1);
    h.arrive(2, "q");
    h.arrive(3, "q");
    h.take();
    h.advance(secs(30));
    let announced: Vec<(CallId, usize, bool)> = h
        .take()
        .into_iter()
        .filter_map(|d| match d {
            Decision::Announce {
                call,
                position,
                ewt,
                ..
            } => Some((call, position, ewt.is_some())),
            _ => None,
        })
        .collect();
    assert_eq!(announced, [(CallId(2), 1, true), (CallId(3), 2, true)]);
    h.end(1); // a0 takes call 2: it rings through the next announcement time
    h.advance(secs(30));
    let calls: Vec<CallId> = h
        .take()
        .into_iter()
        .filter_map(|d| match d {
            Decision::Announce { call, .. } => Some(call),
            _ => None,
        })
        .collect();
    assert_eq!(calls, [CallId(3)]);
}

#[test]
fn a_requirement_step_widens_after_its_expiry_without_losing_the_place() {
    let mut config = one_queue(2, |_| {});
    config.agents = vec![
        AgentSpec::new("a0").with_skill("fr", 2),
        AgentSpec::new("a1").with_skill("fr", 5),
    ];
    let mut h = Harness::new(config);
    let req = Requirement::default()
        .then(SkillExpr::skill("fr", 4), Some(secs(10)))
        .then(SkillExpr::skill("fr", 1), None);
    h.arrive_with(1, "q", 0, Some(req.clone()));
    h.advance(secs(5));
    h.arrive_with(2, "q", 0, Some(req));
    h.ready("a0");
    assert!(h.offers().is_empty(), "fr 2 is below step 1's fr >= 4");
    h.advance(secs(5));
    assert_eq!(
        h.only_offer().call,
        CallId(1),
        "call 1 widened first and is first in line"
    );
    assert_eq!(h.router.call(CallId(2)).unwrap().step, 0);
    h.advance(secs(5));
    assert_eq!(h.router.call(CallId(2)).unwrap().step, 1);
    assert_eq!(h.router.position(CallId(2)), Some(1));
}

#[test]
fn after_the_last_step_expires_any_member_may_answer() {
    let mut config = one_queue(1, |q| {
        q.requirement = Requirement::default().then(SkillExpr::skill("fr", 5), Some(secs(30)));
    });
    config.agents[0] = AgentSpec::new("a0");
    let mut h = Harness::new(config);
    h.ready("a0");
    h.arrive(1, "q");
    assert!(h.offers().is_empty());
    h.advance(secs(30));
    assert_eq!(h.only_offer().agent.as_str(), "a0");
}

#[test]
fn or_of_and_groups_selects_agents_meeting_one_whole_group() {
    let mut config = one_queue(3, |_| {});
    config.agents = vec![
        AgentSpec::new("a0").with_skill("fr", 5),
        AgentSpec::new("a1")
            .with_skill("fr", 3)
            .with_skill("billing", 2),
        AgentSpec::new("a2").with_skill("de", 4),
    ];
    let mut h = Harness::new(config);
    for a in ["a0", "a1", "a2"] {
        h.ready(a);
    }
    let expr = SkillExpr::all(&[("fr", 3), ("billing", 1)]).or(SkillExpr::skill("de", 4));
    h.arrive_with(1, "q", 0, Some(Requirement::only(expr.clone())));
    assert_eq!(h.only_offer().agent.as_str(), "a1");
    h.take();
    h.arrive_with(2, "q", 0, Some(Requirement::only(expr.clone())));
    assert_eq!(h.only_offer().agent.as_str(), "a2");
    h.take();
    h.arrive_with(3, "q", 0, Some(Requirement::only(expr)));
    assert!(
        h.offers().is_empty(),
        "a0 has French but no billing or German"
    );
}

#[test]
fn changing_a_calls_requirement_restarts_its_steps_and_routes_it() {
    let mut config = one_queue(1, |_| {});
    config.agents[0] = AgentSpec::new("a0").with_skill("de", 3);
    let mut h = Harness::new(config);
    h.ready("a0");
    h.arrive_with(
        1,
        "q",
        0,
        Some(Requirement::only(SkillExpr::skill("fr", 1))),
    );
    assert!(h.offers().is_empty());
    let de = Requirement::only(SkillExpr::skill("de", 1));
    h.input(RouterInput::SetRequirement {
        call: CallId(1),
        requirement: de,
    })
    .unwrap();
    assert_eq!(h.only_offer().call, CallId(1));
}

#[test]
fn raising_a_calls_priority_moves_it_ahead() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    h.arrive(1, "q");
    h.arrive(2, "q");
    h.input(RouterInput::SetPriority {
        call: CallId(2),
        priority: 3,
    })
    .unwrap();
    assert_eq!(h.router.waiting_calls("q"), [CallId(2), CallId(1)]);
}

#[test]
fn a_callback_keeps_its_place_and_is_offered_like_a_call() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    h.arrive(1, "q");
    h.advance(secs(10));
    h.arrive(2, "q");
    h.input(RouterInput::CallbackRequested { call: CallId(1) })
        .unwrap();
    assert_eq!(h.router.waiting_calls("q"), [CallId(1), CallId(2)]);
    h.ready("a0");
    let o = h.only_offer();
    assert!(o.callback && o.call == CallId(1));
    h.accept(&o);
    h.advance(secs(60));
    h.end(1);
    let t = h.stats("q").totals;
    assert_eq!(
        (
            t.callbacks_requested,
            t.callbacks_completed,
            t.answered,
            t.abandoned
        ),
        (1, 1, 0, 0)
    );
}

#[test]
fn an_unreached_callback_retries_after_the_delay_at_its_original_place() {
    let mut h = Harness::new(one_queue(1, |q| {
        q.callback = CallbackSpec {
            max_attempts: 2,
            retry_delay: secs(300),
        };
    }));
    h.arrive(1, "q");
    h.input(RouterInput::CallbackRequested { call: CallId(1) })
        .unwrap();
    h.advance(secs(10));
    h.arrive(2, "q");
    h.ready("a0");
    h.answer(1);
    h.input(RouterInput::CallbackUnreached { call: CallId(1) })
        .unwrap();
    assert!(matches!(
        h.place(1),
        Some(CallPlace::CallbackScheduled { .. })
    ));
    // a0 is free at once and takes call 2 meanwhile.
    assert_eq!(
        h.place(2),
        Some(CallPlace::Offered {
            agents: vec!["a0".into()]
        })
    );
    h.answer(2);
    h.arrive(3, "q");
    h.advance(secs(300));
    assert_eq!(
        h.router.waiting_calls("q"),
        [CallId(1), CallId(3)],
        "back ahead of call 3"
    );
    h.end(2);
    h.answer(1);
    h.input(RouterInput::CallbackUnreached { call: CallId(1) })
        .unwrap();
    assert_eq!(
        leaves(&h.take()).last().map(|l| l.1),
        Some(LeaveReason::CallbackAttemptsExhausted)
    );
    assert_eq!(h.stats("q").totals.callbacks_failed, 1);
}

#[test]
fn a_callback_cannot_be_requested_for_a_ringing_call() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    h.ready("a0");
    h.arrive(1, "q");
    assert_eq!(
        h.input(RouterInput::CallbackRequested { call: CallId(1) }),
        Err(RouterError::CallNotWaiting(CallId(1)))
    );
}

#[test]
fn adding_an_agent_to_a_queue_at_runtime_routes_its_waiting_call() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    h.ready("a0");
    h.arrive(1, "q");
    h.arrive(2, "q");
    h.take();
    let mut config = one_queue(2, |_| {});
    config.agents[1] = AgentSpec::new("a1");
    h.input(RouterInput::Configure(config)).unwrap();
    assert!(h.offers().is_empty(), "a1 is logged out");
    h.ready("a1");
    assert_eq!(h.only_offer().call, CallId(2));
}

#[test]
fn reconfiguring_keeps_waiting_calls_in_place() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    for c in 1..=3 {
        h.arrive(c, "q");
        h.advance(secs(1));
    }
    h.input(RouterInput::Configure(one_queue(1, |q| {
        q.strategy = Strategy::Linear
    })))
    .unwrap();
    assert_eq!(
        h.router.waiting_calls("q"),
        [CallId(1), CallId(2), CallId(3)]
    );
}

#[test]
fn widening_the_queue_requirement_at_runtime_applies_to_waiting_calls() {
    let mut config = one_queue(1, |q| {
        q.requirement = Requirement::only(SkillExpr::skill("fr", 5))
    });
    config.agents[0] = AgentSpec::new("a0").with_skill("fr", 2);
    let mut h = Harness::new(config.clone());
    h.ready("a0");
    h.arrive(1, "q");
    assert!(h.offers().is_empty());
    config.queues[0].requirement = Requirement::only(SkillExpr::skill("fr", 1));
    h.input(RouterInput::Configure(config)).unwrap();
    assert_eq!(h.only_offer().call, CallId(1));
}

#[test]
fn removing_a_queue_sends_its_calls_away() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    h.arrive(1, "q");
    h.input(RouterInput::Configure(ConfigUpdate {
        queues: vec![],
        agents: agents(1),
    }))
    .unwrap();
    assert_eq!(
        leaves(&h.take()),
        [(CallId(1), LeaveReason::QueueRemoved, None)]
    );
    assert_eq!(
        h.input(RouterInput::CallArrived {
            call: CallId(2),
            queue: "q".into(),
            priority: 0,
            requirement: None
        }),
        Err(RouterError::UnknownQueue("q".into()))
    );
}

#[test]
fn removing_an_agent_on_a_call_logs_it_out_after_the_call() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    h.ready("a0");
    h.arrive(1, "q");
    h.answer(1);
    h.input(RouterInput::Configure(ConfigUpdate {
        queues: vec![QueueSpec::new("q")],
        agents: vec![],
    }))
    .unwrap();
    assert!(h.router.agent("a0").is_none());
    h.end(1);
    assert!(h.take().iter().any(|d| matches!(
        d,
        Decision::AgentStateChanged { agent, state: AgentState::LoggedOut } if agent.as_str() == "a0"
    )));
}

#[test]
fn an_invalid_configuration_is_refused_whole() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    let bad = one_queue(1, |q| q.members.push(QueueMember::from("ghost")));
    assert_eq!(
        h.input(RouterInput::Configure(bad)),
        Err(RouterError::InvalidConfig(ConfigProblem::UnknownMember {
            queue: "q".into(),
            agent: "ghost".into()
        }))
    );
    h.ready("a0");
    h.arrive(1, "q");
    assert_eq!(h.only_offer().agent.as_str(), "a0");
}

#[test]
fn a_call_widening_at_the_instant_an_agent_frees_up_keeps_its_turn() {
    let mut h = Harness::new(one_queue(1, |q| q.wrap_up = WrapUp::Timed(secs(10))));
    h.ready("a0");
    h.arrive(9, "q");
    h.answer(9);
    h.end(9);
    let german_first = Requirement::default().then(SkillExpr::skill("de", 1), Some(secs(10)));
    h.arrive_with(1, "q", 0, Some(german_first));
    h.advance(secs(1));
    h.arrive(2, "q");
    h.take();
    // At t = 10 s call 1 widens to "any member" and a0's wrap-up ends: call 1 is older.
    h.advance(secs(9));
    assert_eq!(h.only_offer().call, CallId(1));
}

#[test]
fn removing_a_member_at_runtime_stops_offers_to_it() {
    let mut h = Harness::new(one_queue(2, |_| {}));
    h.ready("a0");
    h.ready("a1");
    let mut config = one_queue(2, |_| {});
    config.queues[0]
        .members
        .retain(|m| m.agent.as_str() != "a0");
    h.input(RouterInput::Configure(config)).unwrap();
    h.arrive(1, "q");
    assert_eq!(h.only_offer().agent.as_str(), "a1");
    h.take();
    h.arrive(2, "q");
    assert!(h.offers().is_empty(), "a0 is Ready but no longer a member");
}

#[test]
fn an_agent_removed_and_re_added_during_a_call_is_not_logged_out_after_it() {
    let config = one_queue(1, |_| {});
    let mut h = Harness::new(config.clone());
    h.ready("a0");
    h.arrive(1, "q");
    h.answer(1);
    h.input(RouterInput::Configure(ConfigUpdate {
        queues: vec![QueueSpec::new("q")],
        agents: vec![],
    }))
    .unwrap();
    h.input(RouterInput::Configure(config)).unwrap();
    h.end(1);
    assert_eq!(h.state("a0"), AgentState::Ready);
}

#[test]
fn a_calls_own_requirement_replaces_the_queues() {
    let mut config = one_queue(2, |q| {
        q.requirement = Requirement::only(SkillExpr::skill("fr", 1))
    });
    config.agents = vec![
        AgentSpec::new("a0").with_skill("fr", 3),
        AgentSpec::new("a1").with_skill("de", 3),
    ];
    let mut h = Harness::new(config);
    h.ready("a0");
    h.ready("a1");
    h.arrive_with(
        1,
        "q",
        0,
        Some(Requirement::only(SkillExpr::skill("de", 2))),
    );
    assert_eq!(h.only_offer().agent.as_str(), "a1");
}

#[test]
fn max_length_counts_ringing_calls_too() {
    let mut h = Harness::new(one_queue(1, |q| q.max_length = Some(1)));
    h.ready("a0");
    h.arrive(1, "q");
    let ringing = h.only_offer();
    h.arrive(2, "q");
    assert_eq!(
        leaves(&h.take()),
        [(CallId(2), LeaveReason::QueueFull, None)]
    );
    h.accept(&ringing);
    h.arrive(3, "q");
    assert_eq!(
        h.place(3),
        Some(CallPlace::Waiting),
        "an answered call no longer counts"
    );
}

#[test]
fn changing_a_connected_calls_priority_is_refused() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    h.ready("a0");
    h.arrive(1, "q");
    h.answer(1);
    assert_eq!(
        h.input(RouterInput::SetPriority {
            call: CallId(1),
            priority: 9
        }),
        Err(RouterError::CallNotWaiting(CallId(1)))
    );
}

#[test]
fn absurd_configured_durations_are_clamped_not_panics() {
    let mut config = one_queue(2, |q| {
        q.ring_timeout = Duration::MAX;
        q.max_wait = Some(Duration::MAX);
        q.wrap_up = WrapUp::Timed(Duration::MAX);
        q.announce_every = Some(Duration::MAX);
        q.default_handle_time = Duration::MAX;
        q.requirement = Requirement::default().then(SkillExpr::skill("x", 1), Some(Duration::MAX));
    });
    config.agents[1] = AgentSpec::new("a1").with_skill("x", 1);
    let mut h = Harness::new(config);
    h.ready("a0");
    h.arrive(1, "q");
    h.ready("a1");
    h.answer(1);
    h.arrive(2, "q");
    assert!(h.router.ewt(CallId(2), h.now).is_some());
    h.end(1);
    h.input(RouterInput::ExtendWrapUp {
        agent: "a1".into(),
        by: Duration::MAX,
    })
    .unwrap();
    h.advance(secs(3600));
    assert!(matches!(h.state("a1"), AgentState::WrapUp { .. }));
}

#[test]
fn a_retried_callback_has_widened_with_the_time_it_waited() {
    let mut config = one_queue(2, |q| {
        q.callback = CallbackSpec {
            max_attempts: 3,
            retry_delay: secs(60),
        };
        q.requirement = Requirement::default().then(SkillExpr::skill("fr", 5), Some(secs(30)));
    });
    config.agents = vec![
        AgentSpec::new("a0").with_skill("fr", 5),
        AgentSpec::new("a1"),
    ];
    let mut h = Harness::new(config);
    h.arrive(1, "q");
    h.input(RouterInput::CallbackRequested { call: CallId(1) })
        .unwrap();
    h.ready("a0");
    h.answer(1);
    h.input(RouterInput::CallbackUnreached { call: CallId(1) })
        .unwrap();
    h.not_ready("a0", "break");
    h.ready("a1");
    h.take();
    // Back after 60 s, 30 s past its only step: any member, a1 included, may take it.
    h.advance(secs(60));
    assert_eq!(h.only_offer().agent.as_str(), "a1");
}
