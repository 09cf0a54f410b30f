//! `[agents]`, `[[agent]]` and `[[queue]]`: who takes calls and how calls wait for them.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::names::{AgentId, DigestPassword, QueueName, SipUri, SkillName};
use crate::requirement::{Requirement, SkillLevel};
use crate::routing::Target;

/// An `[[agent]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// The id; also the SIP user the phone registers and authenticates as.
    pub id: AgentId,
    /// A display name for wallboards and the API. Defaults to the id.
    pub name: String,
    /// The digest password the phone authenticates with.
    pub password: DigestPassword,
    /// Skills and levels (0..=10, higher is better); every skill is declared in `[skills]`.
    pub skills: BTreeMap<SkillName, SkillLevel>,
    /// Whether a successful REGISTER logs the agent in (state Ready). When false, the agent
    /// logs in through the API. Defaults to `[agents] login_on_register`.
    pub login_on_register: bool,
    /// A fixed contact to ring instead of a registered one (an agent behind a PBX). Such an
    /// agent does not register; it is logged in through the API.
    pub contact: Option<SipUri>,
}

/// How a queue picks among the Ready agents that meet a call's requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Strategy {
    /// The agent idle the longest since their last call (FreeSWITCH's default,
    /// Asterisk `leastrecent`). The default.
    #[default]
    LongestIdle,
    /// Rotate through agents, resuming after the last one offered (Asterisk `rrmemory`).
    RoundRobin,
    /// Agents in the order they are declared in the file, first free one wins (Asterisk
    /// `linear`, FreeSWITCH `top-down`).
    Linear,
    /// The agent who has taken the fewest calls from this queue (Asterisk `fewestcalls`).
    FewestCalls,
    /// The agent with the least talk time (FreeSWITCH `least-talk-time`).
    LeastTalkTime,
    /// Uniformly at random (from the seeded RNG handed to the router).
    Random,
    /// At random, weighted by the agent's level in the requirement's skills (Asterisk
    /// `wrandom`).
    WeightedRandom,
    /// The highest summed level in the requirement's skills, ties to the longest idle.
    BestSkill,
    /// Ring every eligible agent at once; the first to answer takes the call, the others are
    /// cancelled.
    RingAll,
}

impl Strategy {
    /// The names accepted in the file.
    pub const NAMES: &'static [&'static str] = &[
        "longest-idle",
        "round-robin",
        "linear",
        "fewest-calls",
        "least-talk-time",
        "random",
        "weighted-random",
        "best-skill",
        "ring-all",
    ];

    const ALL: [Strategy; 9] = [
        Strategy::LongestIdle,
        Strategy::RoundRobin,
        Strategy::Linear,
        Strategy::FewestCalls,
        Strategy::LeastTalkTime,
        Strategy::Random,
        Strategy::WeightedRandom,
        Strategy::BestSkill,
        Strategy::RingAll,
    ];

    /// The name as written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::LongestIdle => "longest-idle",
            Strategy::RoundRobin => "round-robin",
            Strategy::Linear => "linear",
            Strategy::FewestCalls => "fewest-calls",
            Strategy::LeastTalkTime => "least-talk-time",
            Strategy::Random => "random",
            Strategy::WeightedRandom => "weighted-random",
            Strategy::BestSkill => "best-skill",
            Strategy::RingAll => "ring-all",
        }
    }

    /// The strategy with this name (exact, lower case).
    pub fn from_name(name: &str) -> Option<Self> {
        Strategy::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step of a queue's requirement: from `after` (time since the call joined the queue) on,
/// agents meeting `requirement` may take the call. Steps widen the pool over time while the
/// call keeps its place (like Amazon Connect routing steps or Asterisk `penaltychange`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequirementStep {
    /// When the step starts, measured from the moment the call joined; 0 for the first.
    pub after: Duration,
    /// Who may take the call during this step.
    pub requirement: Requirement,
}

/// A `[[queue]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    /// The name.
    pub name: QueueName,
    /// How an agent is chosen. Default longest-idle.
    pub strategy: Strategy,
    /// Requirement steps, non-empty, `after` strictly increasing from zero. The step in force
    /// is the last one whose `after` has passed. A queue without `requirement` has one step
    /// with [`Requirement::Unrestricted`].
    pub steps: Vec<RequirementStep>,
    /// How long an offer rings an agent before it counts as not answered (RONA) and the call is
    /// offered again. Default 15 s.
    pub ring_timeout: Duration,
    /// After-call work: how long an agent stays in WrapUp after a call from this queue. Default
    /// 0 (straight back to Ready).
    pub wrap_up: Duration,
    /// Longest a call waits before it overflows (or is released if there is no overflow);
    /// `None` waits forever. Default `None`.
    pub max_wait: Option<Duration>,
    /// Most calls waiting at once; a call arriving at a full queue overflows at once. `None` is
    /// unbounded. Default `None`.
    pub max_length: Option<u32>,
    /// Whether a call may join while no logged-in agent could ever take it; if not, it
    /// overflows at once. Default true.
    pub join_when_empty: bool,
    /// Whether waiting calls leave (overflow) when the last logged-in agent who could take them
    /// logs out. Default false.
    pub leave_when_empty: bool,
    /// Where calls go when they overflow: wait too long, find the queue full or empty.
    /// `None` releases the call. Default `None`.
    pub overflow: Option<Target>,
    /// The service-level threshold: calls answered within it count as "in service level" in
    /// statistics. Default 20 s.
    pub service_level: Duration,
    /// Tie-break between queues: an agent who serves several queues takes the best-scored call
    /// across them, and equal scores go to the queue with the higher weight. Default 0.
    pub weight: u32,
    /// Priority class of calls entering this queue (0..=9, higher is served first); the IVR or
    /// API may set another per call. Default 0.
    pub priority: u8,
    /// Whether calls answered from this queue are recorded. Default false.
    pub record: bool,
    /// Whether the caller is offered the post-call survey when the agent hangs up. Default
    /// false.
    pub survey: bool,
    /// Whether waiting callers hear their position. Default false.
    pub announce_position: bool,
    /// How often the position is announced; `None` (0 in the file) only on joining. Default
    /// 60 s.
    pub announce_frequency: Option<Duration>,
    /// The music-on-hold class played while waiting (a folder under `data_dir/moh/`). Default
    /// `default`.
    pub music_on_hold: String,
}

impl Queue {
    /// The requirement in force `waited` after the call joined the queue.
    pub fn requirement_after(&self, waited: Duration) -> &Requirement {
        self.steps
            .iter()
            .rev()
            .find(|step| step.after <= waited)
            .map_or(&Requirement::Unrestricted, |step| &step.requirement)
    }

    /// A queue with this name and every default: no requirement, longest-idle.
    pub fn with_defaults(name: QueueName) -> Self {
        Queue {
            name,
            strategy: Strategy::LongestIdle,
            steps: vec![RequirementStep {
                after: Duration::ZERO,
                requirement: Requirement::Unrestricted,
            }],
            ring_timeout: Duration::from_secs(15),
            wrap_up: Duration::ZERO,
            max_wait: None,
            max_length: None,
            join_when_empty: true,
            leave_when_empty: false,
            overflow: None,
            service_level: Duration::from_secs(20),
            weight: 0,
            priority: 0,
            record: false,
            survey: false,
            announce_position: false,
            announce_frequency: Some(Duration::from_secs(60)),
            music_on_hold: "default".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategy_names_round_trip() {
        for name in Strategy::NAMES {
            let strategy = Strategy::from_name(name).unwrap();
            assert_eq!(strategy.as_str(), *name);
        }
        assert_eq!(Strategy::from_name("ringall"), None);
    }

    #[test]
    fn requirement_in_force_is_the_last_step_started() {
        let mut queue = Queue::with_defaults(QueueName::from("q"));
        let narrow = Requirement::parse("support >= 3").unwrap();
        let wide = Requirement::parse("support >= 1").unwrap();
        queue.steps = vec![
            RequirementStep {
                after: Duration::ZERO,
                requirement: narrow.clone(),
            },
            RequirementStep {
                after: Duration::from_secs(30),
                requirement: wide.clone(),
            },
        ];
        assert_eq!(queue.requirement_after(Duration::from_secs(29)), &narrow);
        assert_eq!(queue.requirement_after(Duration::from_secs(30)), &wide);
    }
}
