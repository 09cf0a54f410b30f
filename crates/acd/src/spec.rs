//! The router's own configuration vocabulary: what a queue and an agent are, as the routing core
//! needs them. The `config` crate's schema is mapped onto these by the engine; this crate does not
//! depend on it.

use std::time::Duration;

use crate::ids::{AgentName, QueueName, ReasonCode, SkillName};
use crate::requirement::Requirement;

/// How a queue picks among the Ready agents eligible for a call.
///
/// Only matters when a call finds several Ready eligible agents (a call arrives, or returns after
/// RONA). When one agent becomes Ready it takes the best-scored call it is eligible for; the
/// invariant guarantees no other Ready agent was eligible for that call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// The agent Ready the longest (Connect's "longest available", FreeSWITCH
    /// `longest-idle-agent`). The default.
    #[default]
    LongestIdle,
    /// Round robin with memory: the next member in configuration order after the last agent this
    /// queue offered a call to (Asterisk `rrmemory`).
    RoundRobin,
    /// Always the first eligible member in configuration order (Asterisk `linear`, FreeSWITCH
    /// `top-down`).
    Linear,
    /// The agent who answered the fewest calls, longest idle first on a tie (FreeSWITCH
    /// `agent-with-fewest-calls`, counted per agent across queues).
    FewestCalls,
    /// The agent with the least accumulated talk time, longest idle first on a tie (FreeSWITCH
    /// `agent-with-least-talk-time`).
    LeastTalkTime,
    /// Uniformly random among the eligible, from the router's seeded RNG.
    Random,
    /// Random, weighted by each member's [`QueueMember::random_weight`] (Asterisk `wrandom`).
    WeightedRandom,
    /// The highest proficiency on the skills the call's current requirement names, then longest
    /// idle (Genesys "best available skills").
    BestSkill,
    /// Offer to every eligible Ready agent at once; the first to accept wins and the other offers
    /// are cancelled (Asterisk `ringall`).
    RingAll,
}

/// After-call work an agent does before the next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WrapUp {
    /// No wrap-up: the agent is Ready (or takes its pending state) as soon as the call ends.
    #[default]
    Off,
    /// Wrap-up lasts this long, then ends by itself; `ExtendWrapUp` lengthens it.
    Timed(Duration),
    /// Wrap-up lasts until the agent sets a state.
    Manual,
}

/// Which member agents do *not* count as present when a queue decides whether it is "empty" for
/// a call (Asterisk `joinempty` / `leavewhenempty` lists). A queue is empty for a call when no
/// member remains after removing the agents in the listed conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmptyConditions {
    /// Logged-out members are absent (Asterisk `unavailable`).
    pub logged_out: bool,
    /// Not Ready members are absent (Asterisk `paused`).
    pub not_ready: bool,
    /// Members with an offer or on a call are absent (Asterisk `inuse`, `ringing`).
    pub busy: bool,
    /// Members in wrap-up are absent (Asterisk `wrapup`).
    pub wrap_up: bool,
    /// Members whose skills do not meet the call's current requirement are absent (Asterisk
    /// `penalty`).
    pub ineligible: bool,
}

impl EmptyConditions {
    /// Only logged-out members are absent: "empty" means nobody is logged in.
    pub const NOBODY_LOGGED_IN: Self = Self {
        logged_out: true,
        not_ready: false,
        busy: false,
        wrap_up: false,
        ineligible: false,
    };
    /// Everybody who could not take this call soon is absent: logged out, Not Ready or ineligible.
    pub const NOBODY_AVAILABLE: Self = Self {
        logged_out: true,
        not_ready: true,
        busy: false,
        wrap_up: false,
        ineligible: true,
    };
}

/// Where a call goes when it leaves a queue without being answered (max wait, full, empty).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OverflowTarget {
    /// Another queue of this router: the call moves there and keeps its original enqueue time.
    Queue(QueueName),
    /// A route the engine knows (an IVR flow, voicemail, an external number): the call leaves the
    /// router.
    Route(String),
}

/// Callbacks: a waiting caller asks to be called back and keeps its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallbackSpec {
    /// Attempts to reach the customer before giving up.
    pub max_attempts: u32,
    /// Wait between a failed attempt and the next offer to an agent.
    pub retry_delay: Duration,
}

impl Default for CallbackSpec {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            retry_delay: Duration::from_secs(300),
        }
    }
}

/// One agent's membership of a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMember {
    /// The agent.
    pub agent: AgentName,
    /// Weight for [`Strategy::WeightedRandom`]: a member with weight 2 is picked twice as often as
    /// one with weight 1; 0 is never picked while another eligible member has weight.
    pub random_weight: u32,
}

impl From<&str> for QueueMember {
    fn from(agent: &str) -> Self {
        Self {
            agent: agent.into(),
            random_weight: 1,
        }
    }
}

/// A queue as the router needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    /// Unique name.
    pub name: QueueName,
    /// Agent selection among the eligible Ready members.
    pub strategy: Strategy,
    /// Members in configuration order (that order is what `Linear` and `RoundRobin` follow).
    pub members: Vec<QueueMember>,
    /// The skill requirement for calls that arrive without one of their own.
    pub requirement: Requirement,
    /// How long an offer rings before it counts as not answered (RONA).
    pub ring_timeout: Duration,
    /// After-call work for calls from this queue (an agent's own setting overrides it).
    pub wrap_up: WrapUp,
    /// A waiting call leaves (or overflows) after this long.
    pub max_wait: Option<Duration>,
    /// Calls (waiting or ringing) beyond which a new call is refused.
    pub max_length: Option<usize>,
    /// Refuse a call at arrival when the queue is empty for it under these conditions.
    pub join_empty: Option<EmptyConditions>,
    /// Send waiting calls away when the queue becomes empty for them under these conditions.
    pub leave_empty: Option<EmptyConditions>,
    /// Where calls go when they leave unanswered; `None`: the engine's route decides.
    pub overflow: Option<OverflowTarget>,
    /// Service-level threshold: answered (or abandoned, for SL2) within it counts as in SL.
    pub service_level: Duration,
    /// Abandons quicker than this are also counted as short abandons.
    pub short_abandon: Duration,
    /// Tie-break between equally scored calls of several queues an agent serves: higher first.
    pub weight: u32,
    /// Record calls from this queue (passed to the engine with each offer).
    pub record: bool,
    /// Run the post-call survey for calls from this queue (passed with each offer).
    pub survey: bool,
    /// The Not Ready reason given to an agent whose offer timed out or was rejected; `None`
    /// keeps the agent Ready (Asterisk `autopause=no`).
    pub rona_reason: Option<ReasonCode>,
    /// The Not Ready reason given to an agent whose phone could not be reached.
    pub unreachable_reason: ReasonCode,
    /// Periodic position and EWT announcements to waiting callers, every this long.
    pub announce_every: Option<Duration>,
    /// Callback attempts and retry delay.
    pub callback: CallbackSpec,
    /// Handle time assumed for EWT until the queue has answered calls of its own.
    pub default_handle_time: Duration,
}

impl QueueSpec {
    /// A queue with the defaults: longest idle, any member, 15 s ring timeout (Asterisk's
    /// `timeout=15`), no wrap-up, no limits, 20 s service level, 5 s short abandon, RONA to Not
    /// Ready `rona`, 180 s assumed handle time.
    pub fn new(name: impl Into<QueueName>) -> Self {
        Self {
            name: name.into(),
            strategy: Strategy::default(),
            members: Vec::new(),
            requirement: Requirement::any(),
            ring_timeout: Duration::from_secs(15),
            wrap_up: WrapUp::Off,
            max_wait: None,
            max_length: None,
            join_empty: None,
            leave_empty: None,
            overflow: None,
            service_level: Duration::from_secs(20),
            short_abandon: Duration::from_secs(5),
            weight: 0,
            record: false,
            survey: false,
            rona_reason: Some("rona".into()),
            unreachable_reason: "unreachable".into(),
            announce_every: None,
            callback: CallbackSpec::default(),
            default_handle_time: Duration::from_secs(180),
        }
    }

    /// Adds members (with weight 1) in this order.
    pub fn with_members<'a>(mut self, agents: impl IntoIterator<Item = &'a str>) -> Self {
        self.members
            .extend(agents.into_iter().map(QueueMember::from));
        self
    }
}

/// An agent as the router needs it. Queue membership lives in [`QueueSpec::members`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSpec {
    /// Unique name.
    pub name: AgentName,
    /// Skills with proficiency (higher is better; the scale is the operator's, e.g. 1–5).
    pub skills: Vec<(SkillName, u8)>,
    /// Overrides the queue's wrap-up for this agent.
    pub wrap_up: Option<WrapUp>,
}

impl AgentSpec {
    /// An agent with no skills and the queues' wrap-up.
    pub fn new(name: impl Into<AgentName>) -> Self {
        Self {
            name: name.into(),
            skills: Vec::new(),
            wrap_up: None,
        }
    }

    /// Adds a skill at a level.
    pub fn with_skill(mut self, skill: &str, level: u8) -> Self {
        self.skills.push((skill.into(), level));
        self
    }
}

/// The complete routing configuration. Applying one replaces the previous: new queues and agents
/// appear, changed ones change in place, missing ones go away. Waiting calls keep their place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigUpdate {
    /// Every queue.
    pub queues: Vec<QueueSpec>,
    /// Every agent.
    pub agents: Vec<AgentSpec>,
}

/// Router-wide settings fixed at construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouterOptions {
    /// Seed of the RNG used by the random strategies: same seed, same inputs, same decisions.
    pub seed: u64,
    /// Statistics interval length; boundaries are multiples of it since the Unix epoch.
    pub interval: Duration,
}

impl Default for RouterOptions {
    fn default() -> Self {
        Self {
            seed: 0,
            interval: Duration::from_secs(15 * 60),
        }
    }
}
