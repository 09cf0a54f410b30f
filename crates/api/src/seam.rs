//! The seam between the API and the call engine: what the engine must implement
//! ([`Engine`]) and publish ([`LiveEvents`]) for the services to work.
//!
//! Reads return the proto resources directly (`pb::Call`, `pb::Agent`, `pb::Queue`): the
//! engine owns the live state and renders it. Commands arrive as one [`Command`] (validated
//! and with a `request_id`), are accepted or refused at once, and never wait for a far end:
//! the outcome is journaled as events that carry the `request_id`.
//!
//! ## The engine's side of the contract
//! 1. **Journal, then publish.** Each event is appended to the store journal first (built with
//!    [`crate::codec::journal_event`], so the payload is the `pb::Event` encoding and the
//!    routing columns are filled), then the [`switchboard_store::StoredEvent`] is sent on the
//!    [`LiveEvents`] broadcast (capacity about 4096), in seq order. The broadcast need not be
//!    lossless: a receiver that lags or sees a jump reads the gap from the journal.
//! 2. **Envelope.** Fill `call_id`, `leg_id`, `agent`, `queue` (the filter keys) and
//!    `request_id` (from [`Command::request_id`] for every event a command causes) and `actor`.
//! 3. **Screen-pop first.** `AgentAlerting` is journaled and published before the INVITE to the
//!    agent's device is sent, and each is followed by exactly one `AgentAlertingEnded` for the
//!    same `leg_id`.
//! 4. **Identity.** `call_id` never changes for a call; transfers name old and new legs.
//! 5. **Accept fast.** [`Engine::execute`] returns once the command is accepted by the engine's
//!    owner task (never after a far-end answer) or refused with a precise [`ApiError`]
//!    (`CallEnded` for a call in its grace window, `EtagMismatch`, `AgentOnCall` …).
//! 6. **Snapshots are cuts.** [`Engine::snapshot`] returns state and the seq of the last event
//!    applied to it, taken on the owner task so no event is half-applied.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use switchboard_store::StoredEvent;
use tokio::sync::broadcast;

use crate::error::ApiError;
use crate::pb;

/// The live event feed: the engine sends each event after it is journaled, in seq order.
pub type LiveEvents = broadcast::Sender<Arc<StoredEvent>>;

/// Everything the API asks of the call engine. Implemented by the engine (or an adapter in the
/// daemon); the API's tests use an in-memory fake.
#[tonic::async_trait]
pub trait Engine: Send + Sync + 'static {
    /// Calls, agents and queues as of one journal seq (a consistent cut taken by the engine's
    /// owner task: `as_of_seq` is the last event applied to this state).
    async fn snapshot(&self) -> Result<EngineSnapshot, ApiError>;
    /// One call, in progress or ended within the grace window.
    async fn call(&self, call_id: &str) -> Result<pb::Call, ApiError>;
    /// Calls in progress, oldest first.
    async fn calls(&self) -> Result<Vec<pb::Call>, ApiError>;
    /// One agent.
    async fn agent(&self, agent: &str) -> Result<pb::Agent, ApiError>;
    /// All agents in configuration order.
    async fn agents(&self) -> Result<Vec<pb::Agent>, ApiError>;
    /// One queue with live statistics.
    async fn queue(&self, queue: &str) -> Result<pb::Queue, ApiError>;
    /// All queues in configuration order.
    async fn queues(&self) -> Result<Vec<pb::Queue>, ApiError>;
    /// Accepts or refuses a command. Returns as soon as it is accepted.
    async fn execute(&self, command: Command) -> Result<Accepted, ApiError>;
    /// Re-reads the configuration; refuses a bad file with [`ApiError::ConfigInvalid`].
    async fn reload_config(&self, request_id: &str) -> Result<ReloadOutcome, ApiError>;
    /// Counters for `AdminService.GetStatus`.
    async fn status(&self) -> Result<EngineStatus, ApiError>;
}

/// The engine's state cut at one seq.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EngineSnapshot {
    /// The last journaled event reflected in this state.
    pub as_of_seq: u64,
    /// Calls in progress.
    pub calls: Vec<pb::Call>,
    /// All agents.
    pub agents: Vec<pb::Agent>,
    /// All queues.
    pub queues: Vec<pb::Queue>,
}

/// A command for the engine, validated by the API.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// Correlation and idempotency key (the client's or generated); every event the command
    /// causes must carry it.
    pub request_id: String,
    /// The API token's name that sent it (the events' `actor.id`).
    pub actor: String,
    /// What to do.
    pub action: Action,
}

/// A leg named by the API: `calls/{call_id}/legs/{leg_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LegRef {
    /// The call.
    pub call_id: String,
    /// The leg.
    pub leg_id: String,
}

/// Where to send a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An agent (configuration id).
    Agent(String),
    /// A queue (configuration name).
    Queue(String),
    /// An external number or SIP URI.
    Number(String),
}

/// What a command asks for. CSTA names in the docs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// CSTA MakeCall: ring `agent`, then `to` when the agent answers.
    MakeCall {
        /// The agent placing the call.
        agent: String,
        /// The customer's number or URI.
        to: String,
        /// Caller id to present; `None`: the route's default.
        caller_id: Option<String>,
        /// Initial call data.
        call_data: HashMap<String, String>,
        /// The call's id (client-chosen or generated by the API, a UUIDv7).
        call_id: String,
    },
    /// CSTA ClearConnection.
    HangupLeg {
        /// The leg.
        leg: LegRef,
        /// Why.
        reason: pb::EndReason,
    },
    /// CSTA ClearCall.
    EndCall {
        /// The call.
        call_id: String,
        /// Why.
        reason: pb::EndReason,
    },
    /// CSTA HoldCall.
    HoldLeg {
        /// The leg.
        leg: LegRef,
    },
    /// CSTA RetrieveCall.
    RetrieveLeg {
        /// The leg.
        leg: LegRef,
    },
    /// CSTA SingleStepTransferCall.
    BlindTransfer {
        /// The leg that leaves.
        leg: LegRef,
        /// Where the call goes.
        target: Target,
        /// Merged into call data first.
        call_data: HashMap<String, String>,
    },
    /// CSTA ConsultationCall.
    StartConsultation {
        /// The consulting agent's leg.
        leg: LegRef,
        /// Whom to consult.
        target: Target,
        /// What for.
        purpose: pb::ConsultPurpose,
    },
    /// CSTA TransferCall.
    CompleteTransfer {
        /// The consultation leg.
        consult_leg: LegRef,
    },
    /// CSTA ConferenceCall.
    CompleteConference {
        /// The consultation leg.
        consult_leg: LegRef,
    },
    /// CSTA ReconnectCall.
    CancelConsultation {
        /// The consultation leg.
        consult_leg: LegRef,
    },
    /// CSTA GenerateDigits.
    SendDtmf {
        /// The leg.
        leg: LegRef,
        /// Validated digits (0-9 * # A-D).
        digits: String,
    },
    /// Merge into call data (the API checked key and value sizes; the engine checks the total
    /// against [`crate::CALL_DATA_LIMIT`] and the etag).
    UpdateCallData {
        /// The call.
        call_id: String,
        /// Keys to set.
        set: HashMap<String, String>,
        /// Keys to remove.
        remove: Vec<String>,
        /// Required current etag, if any.
        etag: Option<String>,
    },
    /// Priority and wait credit of a queued call.
    SetCallPriority {
        /// The call.
        call_id: String,
        /// The new priority.
        priority: i32,
        /// Extra wait credited.
        wait_adjustment: Duration,
    },
    /// Schedule a callback.
    RequestCallback {
        /// The call it replaces, if any.
        call_id: Option<String>,
        /// The id a callback without a call takes (a UUIDv7 made by the API); its call keeps
        /// it once placed. Equal to `call_id` when there is one.
        callback_id: String,
        /// The queue that places it.
        queue: String,
        /// The number to call.
        number: String,
        /// Not before.
        not_before: Option<SystemTime>,
    },
    /// Log an agent in.
    LoginAgent {
        /// The agent.
        agent: String,
        /// The device, if given.
        device: Option<String>,
        /// READY at once.
        ready: bool,
    },
    /// Log an agent out.
    LogoutAgent {
        /// The agent.
        agent: String,
        /// Reason code.
        reason_code: Option<String>,
        /// Even while on a call.
        force: bool,
    },
    /// READY / NOT_READY, now or after current work.
    SetAgentState {
        /// The agent.
        agent: String,
        /// READY or NOT_READY.
        state: pb::AgentState,
        /// Reason code for NOT_READY.
        reason_code: Option<String>,
        /// After the current call and wrap-up instead of now.
        after_current_work: bool,
        /// Required current etag, if any.
        etag: Option<String>,
    },
    /// End wrap-up with a disposition.
    CompleteWrapUp {
        /// The agent.
        agent: String,
        /// The call, if named.
        call_id: Option<String>,
        /// Disposition code.
        disposition_code: String,
        /// Notes.
        notes: String,
    },
    /// Extend wrap-up.
    ExtendWrapUp {
        /// The agent.
        agent: String,
        /// By how much.
        extend_by: Duration,
    },
}

/// What the engine returns when it accepts a command.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Accepted {
    /// The call concerned or created.
    pub call_id: Option<String>,
    /// The leg created (MakeCall's agent leg, StartConsultation's consult leg).
    pub leg_id: Option<String>,
    /// Another id created (a callback's).
    pub created_id: Option<String>,
    /// The agent after the command (agent commands).
    pub agent: Option<pb::Agent>,
    /// The call data after the command (UpdateCallData).
    pub call_data: Option<pb::CallData>,
}

/// Result of a configuration reload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadOutcome {
    /// Whether anything changed.
    pub changed: bool,
    /// Digest of the configuration in force.
    pub config_digest: String,
}

/// Counters for GetStatus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineStatus {
    /// When the engine started.
    pub started_at: SystemTime,
    /// Calls in progress.
    pub active_calls: u32,
    /// Calls waiting in queues.
    pub queued_calls: u32,
    /// Agents logged in.
    pub agents_logged_in: u32,
    /// Agents READY.
    pub agents_ready: u32,
    /// Digest of the configuration in force.
    pub config_digest: String,
}
