//! Every agent state transition, named for the behaviour.
mod common;

use common::*;
use switchboard_acd::*;

fn with_wrap_up(wrap_up: WrapUp) -> Harness {
    Harness::new(one_queue(1, |q| q.wrap_up = wrap_up))
}

/// a0 answers call 1 and the call ends; returns with a0 in whatever comes after the call.
fn talk_and_hang_up(h: &mut Harness, call: u128, talk: u64) {
    h.arrive(call, "q");
    h.answer(call);
    h.advance(secs(talk));
    h.end(call);
}

#[test]
fn agents_start_logged_out_and_get_no_offers() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    assert_eq!(h.state("a0"), AgentState::LoggedOut);
    h.arrive(1, "q");
    assert!(h.offers().is_empty());
    assert_eq!(h.place(1), Some(CallPlace::Waiting));
}

#[test]
fn logging_in_ready_takes_the_waiting_call_at_once() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    h.arrive(1, "q");
    h.ready("a0");
    assert_eq!(h.only_offer().call, CallId(1));
    assert_eq!(h.state("a0"), AgentState::Reserved { call: CallId(1) });
}

#[test]
fn logging_in_not_ready_keeps_the_reason_and_takes_no_call() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    h.arrive(1, "q");
    h.not_ready("a0", "training");
    assert_eq!(h.state("a0"), AgentState::NotReady("training".into()));
    assert!(h.offers().is_empty());
}

#[test]
fn going_not_ready_removes_an_agent_from_routing() {
    let mut h = Harness::new(one_queue(2, |_| {}));
    h.ready("a0");
    h.ready("a1");
    h.not_ready("a0", "break");
    h.arrive(1, "q");
    assert_eq!(h.only_offer().agent.as_str(), "a1");
}

#[test]
fn logging_out_from_not_ready() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    h.not_ready("a0", "break");
    h.input(RouterInput::AgentState {
        agent: "a0".into(),
        state: RequestedState::LoggedOut,
    })
    .unwrap();
    assert_eq!(h.state("a0"), AgentState::LoggedOut);
}

#[test]
fn accepting_an_offer_puts_the_agent_on_the_call() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    h.ready("a0");
    h.arrive(1, "q");
    h.answer(1);
    assert_eq!(h.state("a0"), AgentState::OnCall { call: CallId(1) });
    assert_eq!(
        h.place(1),
        Some(CallPlace::Connected { agent: "a0".into() })
    );
    assert_eq!(h.router.agent("a0").unwrap().calls, 1);
}

#[test]
fn ring_timeout_is_rona_agent_not_ready_rona_call_back_at_its_place() {
    let mut h = Harness::new(one_queue(2, |q| q.ring_timeout = secs(15)));
    h.arrive(1, "q");
    h.arrive(2, "q");
    h.arrive(3, "q");
    h.ready("a0");
    assert_eq!(h.only_offer().call, CallId(1));
    h.take();
    h.advance(secs(15));
    let out = h.take();
    assert!(out.iter().any(|d| matches!(
        d,
        Decision::CancelOffer {
            reason: CancelReason::RingTimeout,
            ..
        }
    )));
    assert_eq!(h.state("a0"), AgentState::NotReady("rona".into()));
    assert_eq!(h.router.agent("a0").unwrap().ronas, 1);
    assert_eq!(
        h.router.waiting_calls("q"),
        [CallId(1), CallId(2), CallId(3)]
    );
    assert_eq!(h.router.position(CallId(1)), Some(1));
    h.ready("a1");
    assert_eq!(
        h.only_offer().call,
        CallId(1),
        "the returned call is still first in line"
    );
}

#[test]
fn rejected_offer_is_rona_too() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    h.ready("a0");
    h.arrive(1, "q");
    let o = h.only_offer();
    h.input(RouterInput::OfferRejected { offer: o.offer })
        .unwrap();
    assert_eq!(h.state("a0"), AgentState::NotReady("rona".into()));
    assert_eq!(h.place(1), Some(CallPlace::Waiting));
    assert_eq!(h.stats("q").totals.ronas, 1);
}

#[test]
fn rona_without_a_reason_keeps_the_agent_ready() {
    let mut h = Harness::new(one_queue(2, |q| q.rona_reason = None));
    h.ready("a0");
    h.advance(secs(1));
    h.ready("a1");
    h.arrive(1, "q");
    let first = h.only_offer();
    assert_eq!(first.agent.as_str(), "a0");
    h.take();
    h.input(RouterInput::OfferRejected { offer: first.offer })
        .unwrap();
    // The call goes to the other Ready agent first; a0 stays Ready.
    assert_eq!(h.only_offer().agent.as_str(), "a1");
    assert_eq!(h.state("a0"), AgentState::Ready);
}

#[test]
fn unreachable_phone_returns_the_call_at_once_and_agent_goes_not_ready_unreachable() {
    let mut h = Harness::new(one_queue(2, |_| {}));
    h.ready("a0");
    h.arrive(1, "q");
    let o = h.only_offer();
    h.take();
    h.input(RouterInput::OfferFailed { offer: o.offer })
        .unwrap();
    assert_eq!(h.state("a0"), AgentState::NotReady("unreachable".into()));
    assert_eq!(h.place(1), Some(CallPlace::Waiting));
    assert_eq!(h.stats("q").totals.ronas, 0, "a failure is not a RONA");
    h.ready("a1");
    assert_eq!(h.only_offer().call, CallId(1));
}

#[test]
fn going_not_ready_while_ringing_withdraws_the_offer_and_requeues_the_call() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    h.ready("a0");
    h.arrive(1, "q");
    h.take();
    h.not_ready("a0", "break");
    assert!(h.take().iter().any(|d| matches!(
        d,
        Decision::CancelOffer {
            reason: CancelReason::AgentUnavailable,
            ..
        }
    )));
    assert_eq!(h.state("a0"), AgentState::NotReady("break".into()));
    assert_eq!(h.place(1), Some(CallPlace::Waiting));
}

#[test]
fn not_ready_during_a_call_waits_until_the_call_and_wrap_up_end() {
    let mut h = with_wrap_up(WrapUp::Timed(secs(10)));
    h.ready("a0");
    h.arrive(1, "q");
    h.answer(1);
    h.not_ready("a0", "lunch");
    assert_eq!(h.state("a0"), AgentState::OnCall { call: CallId(1) });
    assert_eq!(
        h.router.agent("a0").unwrap().pending,
        Some(RequestedState::NotReady("lunch".into()))
    );
    h.end(1);
    assert!(matches!(
        h.state("a0"),
        AgentState::WrapUp { until: Some(_) }
    ));
    h.advance(secs(10));
    assert_eq!(h.state("a0"), AgentState::NotReady("lunch".into()));
}

#[test]
fn next_state_set_before_the_call_ends_applies_after_it() {
    let mut h = with_wrap_up(WrapUp::Off);
    h.ready("a0");
    h.arrive(1, "q");
    h.answer(1);
    h.input(RouterInput::AgentNextState {
        agent: "a0".into(),
        state: Some(RequestedState::NotReady("lunch".into())),
    })
    .unwrap();
    h.arrive(2, "q");
    h.end(1);
    assert_eq!(h.state("a0"), AgentState::NotReady("lunch".into()));
    assert_eq!(
        h.place(2),
        Some(CallPlace::Waiting),
        "no offer after the call: lunch first"
    );
}

#[test]
fn clearing_the_next_state_returns_the_agent_to_ready_after_the_call() {
    let mut h = with_wrap_up(WrapUp::Off);
    h.ready("a0");
    h.arrive(1, "q");
    h.answer(1);
    let lunch = Some(RequestedState::NotReady("lunch".into()));
    h.input(RouterInput::AgentNextState {
        agent: "a0".into(),
        state: lunch,
    })
    .unwrap();
    h.input(RouterInput::AgentNextState {
        agent: "a0".into(),
        state: None,
    })
    .unwrap();
    h.end(1);
    assert_eq!(h.state("a0"), AgentState::Ready);
}

#[test]
fn next_state_of_an_idle_agent_applies_at_once() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    h.ready("a0");
    let lunch = Some(RequestedState::NotReady("lunch".into()));
    h.input(RouterInput::AgentNextState {
        agent: "a0".into(),
        state: lunch,
    })
    .unwrap();
    assert_eq!(h.state("a0"), AgentState::NotReady("lunch".into()));
}

#[test]
fn without_wrap_up_the_agent_is_ready_when_the_call_ends_and_takes_the_next() {
    let mut h = with_wrap_up(WrapUp::Off);
    h.ready("a0");
    h.arrive(1, "q");
    h.answer(1);
    h.arrive(2, "q");
    h.take();
    h.end(1);
    assert_eq!(h.only_offer().call, CallId(2));
}

#[test]
fn timed_wrap_up_ends_by_itself_and_the_agent_takes_the_next_call() {
    let mut h = with_wrap_up(WrapUp::Timed(secs(30)));
    h.ready("a0");
    talk_and_hang_up(&mut h, 1, 60);
    h.arrive(2, "q");
    h.take();
    h.advance(secs(29));
    assert!(h.offers().is_empty(), "still wrapping up");
    h.advance(secs(1));
    assert_eq!(h.only_offer().call, CallId(2));
}

#[test]
fn timed_wrap_up_can_be_extended() {
    let mut h = with_wrap_up(WrapUp::Timed(secs(30)));
    h.ready("a0");
    talk_and_hang_up(&mut h, 1, 60);
    h.advance(secs(20));
    h.input(RouterInput::ExtendWrapUp {
        agent: "a0".into(),
        by: secs(30),
    })
    .unwrap();
    h.advance(secs(30));
    assert!(matches!(h.state("a0"), AgentState::WrapUp { .. }));
    h.advance(secs(10));
    assert_eq!(h.state("a0"), AgentState::Ready);
}

#[test]
fn extending_without_a_timed_wrap_up_is_refused() {
    let mut h = with_wrap_up(WrapUp::Manual);
    h.ready("a0");
    assert_eq!(
        h.input(RouterInput::ExtendWrapUp {
            agent: "a0".into(),
            by: secs(5)
        }),
        Err(RouterError::NotInTimedWrapUp("a0".into()))
    );
}

#[test]
fn manual_wrap_up_lasts_until_the_agent_sets_a_state() {
    let mut h = with_wrap_up(WrapUp::Manual);
    h.ready("a0");
    talk_and_hang_up(&mut h, 1, 60);
    h.advance(secs(3600));
    assert_eq!(h.state("a0"), AgentState::WrapUp { until: None });
    h.ready("a0");
    assert_eq!(h.state("a0"), AgentState::Ready);
}

#[test]
fn not_ready_during_wrap_up_ends_the_wrap_up_now() {
    let mut h = with_wrap_up(WrapUp::Timed(secs(60)));
    h.ready("a0");
    talk_and_hang_up(&mut h, 1, 10);
    h.not_ready("a0", "meeting");
    assert_eq!(h.state("a0"), AgentState::NotReady("meeting".into()));
    assert_eq!(h.stats("q").totals.handled, 1);
}

#[test]
fn an_agents_own_wrap_up_overrides_the_queues() {
    let mut config = one_queue(1, |q| q.wrap_up = WrapUp::Timed(secs(60)));
    config.agents[0].wrap_up = Some(WrapUp::Off);
    let mut h = Harness::new(config);
    h.ready("a0");
    talk_and_hang_up(&mut h, 1, 10);
    assert_eq!(h.state("a0"), AgentState::Ready);
}

#[test]
fn an_agent_holds_one_offer_across_all_its_queues() {
    let config = ConfigUpdate {
        queues: vec![
            QueueSpec::new("a").with_members(["x"]),
            QueueSpec::new("b").with_members(["x"]),
        ],
        agents: vec![AgentSpec::new("x")],
    };
    let mut h = Harness::new(config);
    h.ready("x");
    h.arrive(1, "a");
    h.arrive(2, "b");
    assert_eq!(h.offers().len(), 1);
    assert_eq!(h.place(2), Some(CallPlace::Waiting));
}

#[test]
fn unknown_agents_are_refused() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    assert_eq!(
        h.input(RouterInput::AgentState {
            agent: "nobody".into(),
            state: RequestedState::Ready
        }),
        Err(RouterError::UnknownAgent("nobody".into()))
    );
}
