//! What the host tells an [`IvrSession`](crate::IvrSession) and what the session asks of the
//! host.

use std::fmt;
use std::time::SystemTime;

use switchboard_config::{QueueName, Requirement};

use crate::flow::{DataKey, NodeId, PromptName, QueueState, RouteTarget};

/// Names one playback, so a late "finished" for a prompt that was stopped is not taken for the
/// end of the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlaybackId(pub u32);

impl fmt::Display for PlaybackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "playback-{}", self.0)
    }
}

/// Input to [`IvrSession::handle_input`](crate::IvrSession::handle_input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IvrInput {
    /// The call is answered and media flows: run the flow from its entry node. `wall_clock` is
    /// the date and time now, for office-hours branches; the session advances it with the
    /// monotonic `now` it is given afterwards.
    Started {
        /// The wall-clock time at this `now`.
        wall_clock: SystemTime,
    },
    /// The host finished playing a [`IvrAction::Play`] to its end (not after a
    /// [`IvrAction::StopPlayback`]; a finish for a stopped playback is ignored).
    PlaybackFinished {
        /// The playback that ended.
        playback: PlaybackId,
    },
    /// A DTMF key from the caller (RFC 4733 event or SIP INFO): `0`-`9`, `*`, `#`, `A`-`D`
    /// (lower case accepted).
    Digit(char),
    /// The answer to [`IvrAction::AskQueueState`].
    QueueStateAnswer {
        /// The queue asked about.
        queue: QueueName,
        /// Its state now.
        state: QueueState,
    },
    /// A new reading of the wall clock (after the host's clock was stepped, say).
    WallClock(SystemTime),
}

/// What the session asks of the host, from
/// [`IvrSession::poll_output`](crate::IvrSession::poll_output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IvrAction {
    /// Play these prompts, one after the other, then report
    /// [`IvrInput::PlaybackFinished`]. Keep passing DTMF digits while it plays.
    Play {
        /// Names this playback.
        playback: PlaybackId,
        /// Logical prompt names, resolved by the media layer to files.
        prompts: Vec<PromptName>,
        /// Whether the session may stop it on a digit (informational: the session sends
        /// [`IvrAction::StopPlayback`] itself).
        barge_in: bool,
    },
    /// Stop a playback now (the caller barged in); no `PlaybackFinished` is expected for it.
    StopPlayback {
        /// The playback to stop.
        playback: PlaybackId,
    },
    /// A `collect` node began an attempt (0 for the first): digits matter from here on.
    CollectStarted {
        /// The node.
        node: NodeId,
        /// 0 for the first attempt, then 1, 2… for retries.
        attempt: u8,
    },
    /// Store a call-data value (it travels with the call to the screen-pop and the CDR).
    SetData {
        /// The key.
        key: DataKey,
        /// The value.
        value: String,
    },
    /// Report the queue's state with [`IvrInput::QueueStateAnswer`]; without an answer within
    /// [`QUEUE_STATE_TIMEOUT`](crate::QUEUE_STATE_TIMEOUT) the conditions on it do not hold.
    AskQueueState {
        /// The queue.
        queue: QueueName,
    },
    /// The IVR is done: send the call here. [`IvrAction::Finished`] follows.
    Route {
        /// Where.
        target: RouteTarget,
        /// Priority class for a queue, instead of the queue's own.
        priority: Option<u8>,
        /// Skill requirement for a queue, instead of the queue's own.
        requirement: Option<Requirement>,
    },
    /// The IVR is done: hang up the call. [`IvrAction::Finished`] follows.
    Hangup {
        /// Why.
        reason: HangupReason,
    },
    /// The session has ended; it ignores further input and never has a timeout again.
    Finished,
}

/// Why the IVR hung up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HangupReason {
    /// The flow reached a `hangup` node.
    HangupNode,
    /// The call entered more nodes than the flow's `max_steps` (a caller or a silent line going
    /// round a menu loop).
    StepLimit,
}

/// An input the session refuses; the session's state is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// An input other than `Started` before `Started`.
    #[error("the IVR session has not been started")]
    NotStarted,
    /// `Started` twice.
    #[error("the IVR session was already started")]
    AlreadyStarted,
    /// A digit that is not a DTMF key.
    #[error("{0:?} is not a DTMF key (0-9, *, #, A-D)")]
    NotDtmf(char),
}
