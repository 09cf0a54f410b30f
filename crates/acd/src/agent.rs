//! Agents: their state machine and the per-agent record the router keeps.
//!
//! ```text
//!             AgentState(Ready)                 offer               accept
//!  LoggedOut ───────────────────► Ready ───────────────► Reserved ─────────► OnCall
//!      ▲  ▲                        ▲ │ ▲                   │ │ reject/timeout   │ CallEnded
//!      │  └── AgentState(LoggedOut)│ │ └─ lost ring-all ───┘ │ (RONA)           ▼
//!      │                           │ ▼                       ▼               WrapUp (timed,
//!      └────────────────────── NotReady(reason) ◄──── NotReady(rona)          manual or off)
//!                                                                               │
//!                       pending next state, else Ready  ◄────────────────────────┘
//! ```
//! One offer at most per agent, across all queues: `Reserved` holds exactly one.

use std::time::{Duration, Instant};

use crate::ids::{AgentName, CallId, OfferId, QueueIdx, ReasonCode, SkillIdx};
use crate::input::RequestedState;
use crate::spec::WrapUp;
use crate::strategy::ReadyKey;

/// An agent's state.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AgentState {
    /// Not logged in.
    LoggedOut,
    /// Logged in, not taking calls, for this reason.
    NotReady(ReasonCode),
    /// Waiting for a call.
    Ready,
    /// An offer is out: the agent's phone rings for this call.
    Reserved {
        /// The call offered.
        call: CallId,
    },
    /// On a call.
    OnCall {
        /// The call.
        call: CallId,
    },
    /// After-call work; `until` is when a timed wrap-up ends (`None`: manual).
    WrapUp {
        /// End of a timed wrap-up.
        until: Option<Instant>,
    },
}

impl AgentState {
    pub(crate) fn from_requested(state: &RequestedState) -> Self {
        match state {
            RequestedState::Ready => AgentState::Ready,
            RequestedState::NotReady(reason) => AgentState::NotReady(reason.clone()),
            RequestedState::LoggedOut => AgentState::LoggedOut,
        }
    }

    /// Logged in (any state but `LoggedOut`).
    pub fn is_logged_in(&self) -> bool {
        !matches!(self, AgentState::LoggedOut)
    }
}

/// What the router reports about an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentView {
    /// Name.
    pub name: AgentName,
    /// Current state.
    pub state: AgentState,
    /// State to take when the current work ends.
    pub pending: Option<RequestedState>,
    /// Since when the agent is Ready (`None` when not Ready).
    pub idle_since: Option<Instant>,
    /// Calls answered.
    pub calls: u64,
    /// Talk time of finished calls.
    pub talk_time: Duration,
    /// Offers made to the agent.
    pub offers: u64,
    /// Offers the agent let time out or rejected.
    pub ronas: u64,
}

/// One queue an agent belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Membership {
    pub(crate) queue: QueueIdx,
    /// Position in the queue's member list (configuration order).
    pub(crate) position: u32,
    pub(crate) random_weight: u32,
}

/// The call an agent is working on (talking, then wrapping up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Work {
    pub(crate) queue: QueueIdx,
    pub(crate) call: CallId,
    pub(crate) answered_at: Instant,
    /// Set when the call ends; the handle time is this plus the wrap-up.
    pub(crate) talk: Option<Duration>,
    /// A callback whose customer was not reached: no handle time is counted.
    pub(crate) unreached: bool,
}

/// The router's record of one agent.
#[derive(Debug, Clone)]
pub(crate) struct Agent {
    pub(crate) name: AgentName,
    /// Skills sorted by skill index, for binary search.
    pub(crate) skills: Vec<(SkillIdx, u8)>,
    pub(crate) wrap_up: Option<WrapUp>,
    pub(crate) memberships: Vec<Membership>,
    pub(crate) state: AgentState,
    pub(crate) pending: Option<RequestedState>,
    pub(crate) offer: Option<OfferId>,
    pub(crate) ready_since: Instant,
    /// The keys under which the agent sits in its queues' Ready indexes (empty unless Ready).
    pub(crate) ready_keys: Vec<(QueueIdx, ReadyKey)>,
    pub(crate) work: Option<Work>,
    /// In the configuration; a removed agent lingers, logged out, until its work ends.
    pub(crate) configured: bool,
    pub(crate) calls: u64,
    pub(crate) talk_time: Duration,
    pub(crate) offers: u64,
    pub(crate) ronas: u64,
}

impl Agent {
    pub(crate) fn new(name: AgentName, now: Instant) -> Self {
        Self {
            name,
            skills: Vec::new(),
            wrap_up: None,
            memberships: Vec::new(),
            state: AgentState::LoggedOut,
            pending: None,
            offer: None,
            ready_since: now,
            ready_keys: Vec::new(),
            work: None,
            configured: true,
            calls: 0,
            talk_time: Duration::ZERO,
            offers: 0,
            ronas: 0,
        }
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.state == AgentState::Ready
    }

    /// Staffed for EWT purposes: will take calls (Ready, ringing, talking or wrapping up).
    pub(crate) fn is_staffed(&self) -> bool {
        matches!(
            self.state,
            AgentState::Ready
                | AgentState::Reserved { .. }
                | AgentState::OnCall { .. }
                | AgentState::WrapUp { .. }
        )
    }

    pub(crate) fn view(&self) -> AgentView {
        AgentView {
            name: self.name.clone(),
            state: self.state.clone(),
            pending: self.pending.clone(),
            idle_since: self.is_ready().then_some(self.ready_since),
            calls: self.calls,
            talk_time: self.talk_time,
            offers: self.offers,
            ronas: self.ronas,
        }
    }
}
