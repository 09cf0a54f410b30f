//! What the router is told: [`RouterInput`], one variant per thing that happened.

use std::time::{Duration, SystemTime};

use crate::ids::{AgentName, CallId, OfferId, QueueName, ReasonCode};
use crate::requirement::Requirement;
use crate::spec::ConfigUpdate;

/// A state an agent (or a supervisor, or the CRM) asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RequestedState {
    /// Ready for calls.
    Ready,
    /// Logged in but not taking calls, for this reason.
    NotReady(ReasonCode),
    /// Logged out.
    LoggedOut,
}

/// One input to the [`Router`](crate::Router). Each is handled completely, decisions included,
/// before `handle_input` returns.
#[derive(Debug, Clone, PartialEq)]
pub enum RouterInput {
    /// Replace the configuration (queues, agents). Waiting calls keep their place.
    Configure(ConfigUpdate),
    /// A call enters a queue.
    CallArrived {
        /// The engine's id for the call.
        call: CallId,
        /// The queue.
        queue: QueueName,
        /// Higher is served first, before any waiting time counts.
        priority: i32,
        /// The call's own requirement (from the IVR); `None`: the queue's.
        requirement: Option<Requirement>,
    },
    /// The caller hung up while waiting or ringing an agent (or a callback entry is withdrawn).
    CallAbandoned {
        /// The call.
        call: CallId,
    },
    /// The agent answered the offer (200 OK). In ring-all the first accept wins; a later one for
    /// the same call is refused with [`RouterError::OfferNotOutstanding`](crate::RouterError).
    OfferAccepted {
        /// The offer.
        offer: OfferId,
    },
    /// The agent declined the offer (busy, 486/603, a reject button): handled as RONA.
    OfferRejected {
        /// The offer.
        offer: OfferId,
    },
    /// The agent's phone could not be reached (no registration, 404/408/480/503, transport
    /// error): the call returns at once and the agent goes Not Ready `unreachable`.
    OfferFailed {
        /// The offer.
        offer: OfferId,
    },
    /// A connected call ended: the agent goes to wrap-up.
    CallEnded {
        /// The call.
        call: CallId,
    },
    /// An agent, a supervisor or the CRM sets the agent's state now. During a call the state is
    /// kept as the pending next state; during an offer the offer is withdrawn; during wrap-up the
    /// wrap-up ends.
    AgentState {
        /// The agent.
        agent: AgentName,
        /// The state.
        state: RequestedState,
    },
    /// Sets (or clears) the state the agent takes when its current work (call and wrap-up) ends,
    /// e.g. Not Ready `lunch` after this call. Applied at once to an agent without work.
    AgentNextState {
        /// The agent.
        agent: AgentName,
        /// The state, or `None` to clear it.
        state: Option<RequestedState>,
    },
    /// Lengthens a timed wrap-up in progress.
    ExtendWrapUp {
        /// The agent.
        agent: AgentName,
        /// By how much.
        by: Duration,
    },
    /// Changes a waiting call's priority (it keeps its enqueue time).
    SetPriority {
        /// The call.
        call: CallId,
        /// The new priority.
        priority: i32,
    },
    /// Sets the age bonus of a call: its effective wait is its real wait plus this (Amazon Connect
    /// `QueueTimeAdjustmentSeconds`).
    SetWaitAdjustment {
        /// The call.
        call: CallId,
        /// The bonus.
        adjustment: Duration,
    },
    /// Replaces a call's requirement; its steps start again from now. The call keeps its place.
    SetRequirement {
        /// The call.
        call: CallId,
        /// The requirement.
        requirement: Requirement,
    },
    /// A waiting caller asks to be called back: the entry stays in place (keeping its enqueue
    /// time) and is offered to an agent like a call; the engine dials the customer once the
    /// agent accepts.
    CallbackRequested {
        /// The call.
        call: CallId,
    },
    /// The customer of an accepted callback could not be reached: the agent is released and the
    /// entry is retried after the queue's retry delay, at its original place, up to the maximum
    /// attempts.
    CallbackUnreached {
        /// The call.
        call: CallId,
    },
    /// Re-anchors wall-clock time (after an NTP step) for statistics intervals.
    WallClock(SystemTime),
}
