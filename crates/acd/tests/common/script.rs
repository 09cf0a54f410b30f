//! The scripts the invariant property test runs: two configurations to switch between, and the
//! inputs a script is made of.

use proptest::prelude::*;
use proptest::strategy::Strategy;
use switchboard_acd::Strategy as Pick;
use switchboard_acd::*;

use super::secs;

pub const QUEUES: [&str; 4] = ["q0", "q1", "q2", "q3"];
pub const AGENTS: [&str; 5] = ["a0", "a1", "a2", "a3", "a4"];

fn agents_spec(with_a4: bool) -> Vec<AgentSpec> {
    let mut agents = vec![
        AgentSpec::new("a0")
            .with_skill("fr", 5)
            .with_skill("billing", 2),
        AgentSpec::new("a1").with_skill("fr", 2),
        AgentSpec::new("a2").with_skill("de", 4),
        AgentSpec::new("a3").with_skill("fr", 3).with_skill("de", 1),
    ];
    if with_a4 {
        agents.push(AgentSpec::new("a4"));
    }
    agents
}

/// Two configurations the scripts switch between: B changes strategies, requirements and
/// membership, removes queue q3 and agent a4.
pub fn config(variant: bool) -> ConfigUpdate {
    let mut q0 = QueueSpec::new("q0").with_members(if variant {
        vec!["a0", "a1", "a3"]
    } else {
        vec!["a0", "a1", "a3", "a4"]
    });
    q0.wrap_up = WrapUp::Timed(secs(10));
    q0.announce_every = Some(secs(20));
    let mut q1 = QueueSpec::new("q1").with_members(["a0", "a2", "a3"]);
    q1.strategy = if variant { Pick::Random } else { Pick::RingAll };
    q1.ring_timeout = secs(10);
    q1.rona_reason = None;
    q1.requirement = if variant {
        Requirement::any()
    } else {
        // a0, a2 and a3 qualify: ring-all often rings several at once.
        Requirement::default().then(
            SkillExpr::skill("fr", 3).or(SkillExpr::skill("de", 1)),
            Some(secs(20)),
        )
    };
    let mut q2 = QueueSpec::new("q2").with_members(["a1", "a2", "a3"]);
    q2.strategy = Pick::RoundRobin;
    q2.wrap_up = WrapUp::Manual;
    q2.max_wait = Some(secs(60));
    q2.overflow = Some(OverflowTarget::Queue("q0".into()));
    q2.requirement = Requirement::default()
        .then(SkillExpr::skill("de", 3), Some(secs(15)))
        .then(
            SkillExpr::skill("de", 1).or(SkillExpr::skill("fr", 1)),
            None,
        );
    q2.callback = CallbackSpec {
        max_attempts: 2,
        retry_delay: secs(30),
    };
    let mut queues = vec![q0, q1, q2];
    if !variant {
        let mut q3 = QueueSpec::new("q3").with_members(["a2", "a4"]);
        q3.strategy = Pick::BestSkill;
        q3.leave_empty = Some(EmptyConditions::NOBODY_LOGGED_IN);
        q3.weight = 3;
        queues.push(q3);
    }
    ConfigUpdate {
        queues,
        agents: agents_spec(!variant),
    }
}

pub fn requirement(preset: u8) -> Option<Requirement> {
    match preset {
        1 => Some(Requirement::only(SkillExpr::skill("fr", 4))),
        2 => Some(Requirement::default().then(SkillExpr::skill("de", 1), Some(secs(10)))),
        _ => None,
    }
}

#[derive(Debug, Clone)]
pub enum Op {
    Arrive {
        queue: usize,
        priority: i32,
        preset: u8,
    },
    Abandon(usize),
    Accept(usize),
    Reject(usize),
    Fail(usize),
    End(usize),
    State {
        agent: usize,
        state: u8,
    },
    NextState {
        agent: usize,
        state: u8,
    },
    ExtendWrapUp {
        agent: usize,
    },
    Priority {
        pick: usize,
        priority: i32,
    },
    Callback(usize),
    CallbackUnreached(usize),
    Reconfigure,
    Advance(u64),
}

pub fn op() -> impl Strategy<Value = Op> {
    let pick = any::<usize>();
    prop_oneof![
        5 => (0..4usize, 0..3i32, 0..3u8).prop_map(|(queue, priority, preset)| Op::Arrive { queue, priority, preset }),
        1 => pick.prop_map(Op::Abandon),
        4 => pick.prop_map(Op::Accept),
        1 => pick.prop_map(Op::Reject),
        1 => pick.prop_map(Op::Fail),
        2 => pick.prop_map(Op::End),
        // Two in three state changes are to Ready, so several agents are often Ready at once.
        7 => (0..5usize, 0..6u8).prop_map(|(agent, state)| Op::State { agent, state }),
        1 => (0..5usize, 0..4u8).prop_map(|(agent, state)| Op::NextState { agent, state }),
        1 => (0..5usize).prop_map(|agent| Op::ExtendWrapUp { agent }),
        1 => (pick, 0..3i32).prop_map(|(pick, priority)| Op::Priority { pick, priority }),
        2 => pick.prop_map(Op::Callback),
        2 => pick.prop_map(Op::CallbackUnreached),
        1 => Just(Op::Reconfigure),
        3 => (0..40u64).prop_map(Op::Advance),
    ]
}

pub fn requested(state: u8) -> RequestedState {
    match state {
        1 => RequestedState::NotReady("break".into()),
        2 => RequestedState::LoggedOut,
        _ => RequestedState::Ready,
    }
}
