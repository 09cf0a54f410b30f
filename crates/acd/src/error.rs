//! Why an input was refused. A refused input changes nothing.

use crate::ids::{AgentName, CallId, OfferId, QueueName};

/// An input the router refused; the router is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouterError {
    /// No such queue in the configuration.
    #[error("unknown queue {0}")]
    UnknownQueue(QueueName),
    /// No such agent in the configuration.
    #[error("unknown agent {0}")]
    UnknownAgent(AgentName),
    /// The call is not in the router (never arrived, or already gone).
    #[error("unknown call {0}")]
    UnknownCall(CallId),
    /// A call with this id is already in the router.
    #[error("call {0} is already queued")]
    DuplicateCall(CallId),
    /// The offer is not outstanding: it timed out, was cancelled, or another agent won the
    /// ring-all. The engine must release the agent's leg (ACK and BYE a late 200 OK).
    #[error("{0} is not outstanding")]
    OfferNotOutstanding(OfferId),
    /// The input needs a waiting call (callback request, requirement change).
    #[error("call {0} is not waiting")]
    CallNotWaiting(CallId),
    /// The input needs a connected call (call ended, callback unreached).
    #[error("call {0} is not connected to an agent")]
    CallNotConnected(CallId),
    /// The input needs a callback entry.
    #[error("call {0} is not a callback")]
    NotACallback(CallId),
    /// The agent is not in a timed wrap-up.
    #[error("agent {0} is not in a timed wrap-up")]
    NotInTimedWrapUp(AgentName),
    /// The configuration is inconsistent; nothing was applied.
    #[error("invalid configuration: {0}")]
    InvalidConfig(ConfigProblem),
}

/// What is wrong with a [`ConfigUpdate`](crate::ConfigUpdate).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigProblem {
    /// Two queues share a name.
    #[error("queue {0} is defined twice")]
    DuplicateQueue(QueueName),
    /// Two agents share a name.
    #[error("agent {0} is defined twice")]
    DuplicateAgent(AgentName),
    /// A queue lists a member that is not an agent.
    #[error("queue {queue} lists unknown member {agent}")]
    UnknownMember {
        /// The queue.
        queue: QueueName,
        /// The member.
        agent: AgentName,
    },
    /// A queue lists the same member twice.
    #[error("queue {queue} lists member {agent} twice")]
    DuplicateMember {
        /// The queue.
        queue: QueueName,
        /// The member.
        agent: AgentName,
    },
    /// A queue overflows to a queue that does not exist.
    #[error("queue {queue} overflows to unknown queue {target}")]
    UnknownOverflowQueue {
        /// The queue.
        queue: QueueName,
        /// The target.
        target: QueueName,
    },
    /// A ring timeout of zero would time every offer out at once.
    #[error("queue {0} has a zero ring timeout")]
    ZeroRingTimeout(QueueName),
}
