//! One test per strategy, plus cross-queue selection.
mod common;

use common::*;
use switchboard_acd::*;

fn all_ready(h: &mut Harness, n: usize) {
    for i in 0..n {
        h.ready(&format!("a{i}"));
        h.advance(secs(1));
    }
    h.take();
}

/// Answers and ends the call at once, returning the agent who took it.
fn serve(h: &mut Harness, call: u128) -> String {
    h.arrive(call, "q");
    let agent = h.answer(call);
    h.end(call);
    h.take();
    agent
}

#[test]
fn longest_idle_offers_to_the_agent_ready_longest() {
    let mut h = Harness::new(one_queue(3, |_| {}));
    for a in ["a2", "a0", "a1"] {
        h.ready(a);
        h.advance(secs(1));
    }
    h.take();
    h.arrive(1, "q");
    assert_eq!(h.only_offer().agent.as_str(), "a2");
    h.take();
    h.arrive(2, "q");
    assert_eq!(h.only_offer().agent.as_str(), "a0");
}

#[test]
fn longest_idle_sends_an_agent_back_to_the_end_after_a_call() {
    let mut h = Harness::new(one_queue(2, |_| {}));
    all_ready(&mut h, 2);
    assert_eq!(serve(&mut h, 1), "a0");
    assert_eq!(serve(&mut h, 2), "a1");
    assert_eq!(serve(&mut h, 3), "a0");
}

#[test]
fn round_robin_resumes_after_the_member_offered_last() {
    let mut h = Harness::new(one_queue(3, |q| q.strategy = Strategy::RoundRobin));
    all_ready(&mut h, 3);
    let order: Vec<String> = (1..=5).map(|c| serve(&mut h, c)).collect();
    assert_eq!(order, ["a0", "a1", "a2", "a0", "a1"]);
}

#[test]
fn round_robin_skips_members_not_ready() {
    let mut h = Harness::new(one_queue(3, |q| q.strategy = Strategy::RoundRobin));
    all_ready(&mut h, 3);
    assert_eq!(serve(&mut h, 1), "a0");
    h.not_ready("a1", "break");
    assert_eq!(serve(&mut h, 2), "a2");
    assert_eq!(serve(&mut h, 3), "a0");
}

#[test]
fn linear_always_starts_from_the_first_member_in_config_order() {
    let mut h = Harness::new(one_queue(3, |q| q.strategy = Strategy::Linear));
    for a in ["a2", "a1", "a0"] {
        h.ready(a);
    }
    h.take();
    assert_eq!(serve(&mut h, 1), "a0");
    assert_eq!(serve(&mut h, 2), "a0");
    h.not_ready("a0", "break");
    assert_eq!(serve(&mut h, 3), "a1");
}

#[test]
fn fewest_calls_prefers_the_agent_who_answered_least() {
    let mut h = Harness::new(one_queue(3, |q| q.strategy = Strategy::FewestCalls));
    h.ready("a0");
    assert_eq!(serve(&mut h, 1), "a0");
    assert_eq!(serve(&mut h, 2), "a0");
    h.ready("a1");
    h.not_ready("a0", "x");
    assert_eq!(serve(&mut h, 3), "a1");
    h.ready("a0");
    h.ready("a2");
    h.take();
    // a0: 2 calls, a1: 1 call, a2: none.
    assert_eq!(serve(&mut h, 4), "a2");
    assert_eq!(
        serve(&mut h, 5),
        "a1",
        "a1 and a2 both have 1 call; a1 is idle longer"
    );
}

#[test]
fn least_talk_time_prefers_the_agent_who_talked_least() {
    let mut h = Harness::new(one_queue(2, |q| q.strategy = Strategy::LeastTalkTime));
    h.ready("a0");
    h.arrive(1, "q");
    h.answer(1);
    h.advance(secs(100));
    h.end(1);
    h.ready("a1");
    h.arrive(2, "q");
    h.answer(2);
    h.advance(secs(10));
    h.end(2);
    h.take();
    // a0 has been Ready longer but talked 100 s against a1's 10 s.
    assert_eq!(serve(&mut h, 3), "a1");
}

fn random_sequence(seed: u64, strategy: Strategy, weights: &[u32]) -> Vec<String> {
    let mut config = one_queue(weights.len(), |q| q.strategy = strategy);
    for (m, w) in config.queues[0].members.iter_mut().zip(weights) {
        m.random_weight = *w;
    }
    let mut h = Harness::with_seed(config, seed);
    all_ready(&mut h, weights.len());
    (0..400).map(|c| serve(&mut h, c)).collect()
}

#[test]
fn random_spreads_calls_and_repeats_with_the_same_seed() {
    let seq = random_sequence(42, Strategy::Random, &[1, 1, 1]);
    for a in ["a0", "a1", "a2"] {
        let n = seq.iter().filter(|x| *x == a).count();
        assert!((90..=180).contains(&n), "{a} got {n} of 400");
    }
    assert_eq!(seq, random_sequence(42, Strategy::Random, &[1, 1, 1]));
    assert_ne!(seq, random_sequence(43, Strategy::Random, &[1, 1, 1]));
}

#[test]
fn weighted_random_follows_member_weights_and_never_picks_weight_zero() {
    let seq = random_sequence(9, Strategy::WeightedRandom, &[1, 3, 0]);
    let a1 = seq.iter().filter(|x| *x == "a1").count();
    assert!(
        (260..=340).contains(&a1),
        "a1 (weight 3 of 4) got {a1} of 400"
    );
    assert!(!seq.iter().any(|x| x == "a2"));
}

#[test]
fn best_skill_takes_the_highest_proficiency_then_the_longest_idle() {
    let mut config = one_queue(3, |q| {
        q.strategy = Strategy::BestSkill;
        q.requirement = Requirement::only(SkillExpr::skill("fr", 1));
    });
    config.agents = vec![
        AgentSpec::new("a0").with_skill("fr", 2),
        AgentSpec::new("a1").with_skill("fr", 5),
        AgentSpec::new("a2").with_skill("fr", 5),
    ];
    let mut h = Harness::new(config);
    all_ready(&mut h, 3);
    h.arrive(1, "q");
    assert_eq!(h.only_offer().agent.as_str(), "a1");
    h.take();
    h.arrive(2, "q");
    assert_eq!(h.only_offer().agent.as_str(), "a2");
    h.take();
    h.arrive(3, "q");
    assert_eq!(h.only_offer().agent.as_str(), "a0");
}

#[test]
fn ring_all_rings_every_eligible_agent_and_the_first_accept_wins() {
    let mut config = one_queue(4, |q| {
        q.strategy = Strategy::RingAll;
        q.requirement = Requirement::only(SkillExpr::skill("fr", 1));
    });
    config.agents = vec![
        AgentSpec::new("a0").with_skill("fr", 1),
        AgentSpec::new("a1").with_skill("fr", 1),
        AgentSpec::new("a2").with_skill("fr", 1),
        AgentSpec::new("a3"),
    ];
    let mut h = Harness::new(config);
    all_ready(&mut h, 4);
    h.arrive(1, "q");
    let offers = h.offers();
    let rung: Vec<&str> = offers.iter().map(|o| o.agent.as_str()).collect();
    assert_eq!(rung, ["a0", "a1", "a2"], "a3 lacks the skill");
    h.take();
    h.accept(&offers[1]);
    let cancelled: Vec<(String, CancelReason)> = h
        .take()
        .into_iter()
        .filter_map(|d| match d {
            Decision::CancelOffer { agent, reason, .. } => Some((agent.to_string(), reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        cancelled,
        [
            ("a0".into(), CancelReason::AnsweredElsewhere),
            ("a2".into(), CancelReason::AnsweredElsewhere)
        ]
    );
    assert_eq!(h.state("a0"), AgentState::Ready);
    assert_eq!(h.state("a2"), AgentState::Ready);
    assert_eq!(h.state("a1"), AgentState::OnCall { call: CallId(1) });
    // A second 200 OK for a cancelled offer is refused: the engine must ACK and BYE it.
    assert_eq!(
        h.input(RouterInput::OfferAccepted {
            offer: offers[0].offer
        }),
        Err(RouterError::OfferNotOutstanding(offers[0].offer))
    );
    assert_eq!(h.stats("q").totals.answered, 1);
}

#[test]
fn ring_all_call_returns_to_line_only_when_every_agent_declined() {
    let mut h = Harness::new(one_queue(2, |q| {
        q.strategy = Strategy::RingAll;
        q.rona_reason = Some("rona".into());
    }));
    all_ready(&mut h, 2);
    h.arrive(1, "q");
    let offers = h.offers();
    h.input(RouterInput::OfferRejected {
        offer: offers[0].offer,
    })
    .unwrap();
    assert!(matches!(h.place(1), Some(CallPlace::Offered { agents }) if agents.len() == 1));
    h.input(RouterInput::OfferRejected {
        offer: offers[1].offer,
    })
    .unwrap();
    assert_eq!(h.place(1), Some(CallPlace::Waiting));
}

#[test]
fn agent_in_two_queues_takes_the_globally_oldest_call() {
    let mut a = QueueSpec::new("a").with_members(["x", "y"]);
    a.weight = 0;
    let b = QueueSpec::new("b").with_members(["x"]);
    let mut h = Harness::new(ConfigUpdate {
        queues: vec![a, b],
        agents: vec![AgentSpec::new("x"), AgentSpec::new("y")],
    });
    h.arrive(1, "b");
    h.advance(secs(5));
    h.arrive(2, "a");
    h.ready("x");
    assert_eq!(
        h.only_offer().call,
        CallId(1),
        "call 1 in b waited longer than call 2 in a"
    );
}

#[test]
fn queue_weight_breaks_a_tie_between_equally_old_calls() {
    let mut a = QueueSpec::new("a").with_members(["x"]);
    a.weight = 1;
    let mut b = QueueSpec::new("b").with_members(["x"]);
    b.weight = 5;
    let mut h = Harness::new(ConfigUpdate {
        queues: vec![a, b],
        agents: vec![AgentSpec::new("x")],
    });
    h.arrive(1, "a");
    h.arrive(2, "b");
    h.ready("x");
    assert_eq!(
        h.only_offer().call,
        CallId(2),
        "same enqueue instant: heavier queue first"
    );
}

#[test]
fn higher_priority_is_served_before_longer_wait() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    h.arrive_with(1, "q", 0, None);
    h.advance(secs(60));
    h.arrive_with(2, "q", 5, None);
    h.ready("a0");
    assert_eq!(h.only_offer().call, CallId(2));
}

#[test]
fn wait_adjustment_ages_a_call_ahead_of_older_ones() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    h.arrive(1, "q");
    h.advance(secs(30));
    h.arrive(2, "q");
    h.input(RouterInput::SetWaitAdjustment {
        call: CallId(2),
        adjustment: secs(45),
    })
    .unwrap();
    assert_eq!(h.router.waiting_calls("q"), [CallId(2), CallId(1)]);
    h.ready("a0");
    assert_eq!(h.only_offer().call, CallId(2));
}
