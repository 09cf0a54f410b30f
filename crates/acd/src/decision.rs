//! What the router decided: [`Decision`], drained with `poll_output` after every input.

use std::time::{Duration, Instant};

use crate::agent::AgentState;
use crate::ids::{AgentName, CallId, OfferId, QueueName};
use crate::spec::OverflowTarget;
use crate::stats::IntervalReport;

/// Ring this agent for this call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// The offer's id, quoted back in `OfferAccepted` / `OfferRejected` / `OfferFailed`.
    pub offer: OfferId,
    /// The call.
    pub call: CallId,
    /// The agent to ring.
    pub agent: AgentName,
    /// The queue the call is in.
    pub queue: QueueName,
    /// When the router gives up on this offer (RONA) unless answered.
    pub deadline: Instant,
    /// This is a callback: once the agent accepts, the engine dials the customer.
    pub callback: bool,
    /// The queue records its calls.
    pub record: bool,
    /// The queue surveys its callers.
    pub survey: bool,
}

/// Why an offer was withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// Ring-all: another agent accepted first.
    AnsweredElsewhere,
    /// The caller hung up.
    CallerAbandoned,
    /// The ring timeout passed (RONA).
    RingTimeout,
    /// The agent changed state (or was removed from the configuration).
    AgentUnavailable,
    /// The call left the queue (its queue was removed from the configuration).
    CallLeft,
}

/// Why a call left the router without being answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveReason {
    /// Refused at arrival: the queue was empty for it (`join_empty`).
    JoinEmpty,
    /// Refused at arrival: the queue was at `max_length`.
    QueueFull,
    /// Waited `max_wait`.
    MaxWait,
    /// The queue became empty for it (`leave_empty`).
    LeaveEmpty,
    /// A callback reached `max_attempts` without reaching the customer.
    CallbackAttemptsExhausted,
    /// Its queue was removed from the configuration.
    QueueRemoved,
    /// It overflowed through too many queues (a loop in the overflow configuration).
    OverflowLoop,
}

/// One decision. The engine acts on each in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Ring an agent.
    Offer(Offer),
    /// Stop ringing an agent (CANCEL the INVITE).
    CancelOffer {
        /// The offer.
        offer: OfferId,
        /// Its call.
        call: CallId,
        /// Its agent.
        agent: AgentName,
        /// Why.
        reason: CancelReason,
    },
    /// A call was queued and waits for an agent (it had none eligible and Ready).
    Queued {
        /// The call.
        call: CallId,
        /// The queue.
        queue: QueueName,
        /// 1-based position among the queue's calls.
        position: usize,
        /// Estimated wait; `None` when no eligible agent is staffed.
        ewt: Option<Duration>,
    },
    /// Tell a waiting caller its position and estimated wait (never during an offer).
    Announce {
        /// The call.
        call: CallId,
        /// The queue.
        queue: QueueName,
        /// 1-based position.
        position: usize,
        /// Estimated wait; `None` when no eligible agent is staffed.
        ewt: Option<Duration>,
    },
    /// The call left its queue for another queue of this router (overflow), keeping its
    /// original enqueue time.
    Overflowed {
        /// The call.
        call: CallId,
        /// The queue it left.
        from: QueueName,
        /// The queue it is in now.
        to: QueueName,
    },
    /// The call left the router unanswered; the engine routes it to `overflow` or, with none,
    /// continues the call's route.
    Leave {
        /// The call.
        call: CallId,
        /// The queue it left.
        queue: QueueName,
        /// Why.
        reason: LeaveReason,
        /// Where to send it.
        overflow: Option<OverflowTarget>,
    },
    /// An agent's state changed.
    AgentStateChanged {
        /// The agent.
        agent: AgentName,
        /// Its new state.
        state: AgentState,
    },
    /// A queue's statistics changed (read them with `Router::queue_stats`).
    StatsChanged {
        /// The queue.
        queue: QueueName,
    },
    /// A statistics interval ended for a queue (boxed: the counters are large).
    IntervalClosed(Box<IntervalReport>),
}
