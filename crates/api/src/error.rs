//! The API's one error type and its single mapping to `google.rpc.Status` (research
//! cti-api.md §9.6): every error carries exactly one `ErrorInfo` with domain
//! [`ERROR_DOMAIN`] and a stable `reason`, plus `ResourceInfo`, `BadRequest` or `RetryInfo`
//! where they help. A user mistake is never a bare `INTERNAL`.

use std::collections::HashMap;
use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// `ErrorInfo.domain` of every error this API returns.
pub const ERROR_DOMAIN: &str = "switchboard.v1";

/// Everything an API call can fail with. The engine returns these from the seam as well.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// No such call (never existed, or ended before the grace window).
    #[error("call {0} not found")]
    CallNotFound(String),
    /// No such leg in the call.
    #[error("leg {leg_id} of call {call_id} not found")]
    LegNotFound {
        /// The call.
        call_id: String,
        /// The leg.
        leg_id: String,
    },
    /// No such agent in the configuration.
    #[error("agent {0} not found")]
    AgentNotFound(String),
    /// No such queue in the configuration.
    #[error("queue {0} not found")]
    QueueNotFound(String),
    /// The call has ended (it is still readable within the grace window).
    #[error("call {0} has ended")]
    CallEnded(String),
    /// The leg is not in a state that allows the command (`LEG_NOT_HELD`, `LEG_NOT_ALERTING`,
    /// `NOT_A_CONSULTATION` …); `reason` is the stable `ErrorInfo.reason`.
    #[error("leg {leg_id}: {reason}")]
    LegState {
        /// The leg.
        leg_id: String,
        /// Upper-case reason, for example `LEG_NOT_HELD`.
        reason: &'static str,
    },
    /// The call is not waiting in a queue.
    #[error("call {0} is not queued")]
    CallNotQueued(String),
    /// The agent is on a call, so the command is refused (logout without force, immediate state
    /// change while reserved or busy).
    #[error("agent {0} is on a call")]
    AgentOnCall(String),
    /// The agent is not logged in.
    #[error("agent {0} is not logged in")]
    AgentNotLoggedIn(String),
    /// The agent is not in wrap-up.
    #[error("agent {0} is not in wrap-up")]
    AgentNotInWrapUp(String),
    /// An etag did not match: the resource changed since the client read it (AIP-154).
    #[error("etag mismatch: the resource changed (current etag {current})")]
    EtagMismatch {
        /// The resource's etag now.
        current: String,
    },
    /// A field is malformed.
    #[error("invalid {field}: {description}")]
    InvalidArgument {
        /// The request field, as in the proto (`leg`, `digits` …).
        field: &'static str,
        /// What is wrong with it.
        description: String,
    },
    /// The reason code is not configured.
    #[error("unknown reason code {0}")]
    UnknownReasonCode(String),
    /// A transfer or dial target does not exist or cannot be reached by this route.
    #[error("invalid target: {0}")]
    InvalidTarget(String),
    /// Call data would exceed the size limit.
    #[error("call data of {size} bytes exceeds the limit of {limit}")]
    CallDataTooLarge {
        /// The size after the update.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The stream's cursor is older than the journal's retention.
    #[error("cursor after seq {after_seq} expired: oldest retained seq is {oldest_seq}")]
    CursorExpired {
        /// The client's cursor.
        after_seq: u64,
        /// The first retained seq.
        oldest_seq: u64,
        /// The head.
        head_seq: u64,
    },
    /// The cursor is past the journal's head.
    #[error("cursor after seq {after_seq} is past the head seq {head_seq}")]
    CursorAhead {
        /// The client's cursor.
        after_seq: u64,
        /// The head.
        head_seq: u64,
    },
    /// The cursor came from another journal.
    #[error("journal epoch {requested} does not match this journal's {current}")]
    JournalEpochMismatch {
        /// The epoch the client sent.
        requested: String,
        /// This journal's epoch.
        current: String,
    },
    /// The new configuration was refused; the old one stays.
    #[error("configuration refused: {0}")]
    ConfigInvalid(String),
    /// The engine is overloaded; retry after a pause.
    #[error("engine overloaded")]
    EngineOverloaded,
    /// Too many open streams.
    #[error("too many event streams (limit {0})")]
    TooManyStreams(usize),
    /// The engine is not running (starting, stopping, restarting).
    #[error("engine unavailable: {0}")]
    Unavailable(String),
    /// The operation is not offered by this build or configuration.
    #[error("not supported: {0}")]
    NotSupported(String),
    /// No valid bearer token.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The token lacks the scope the method needs.
    #[error("token {token} lacks scope {scope}")]
    PermissionDenied {
        /// The token's name.
        token: String,
        /// The scope needed.
        scope: &'static str,
    },
    /// A failure of the server itself (journal I/O …), not of the request.
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    /// A malformed field.
    pub fn invalid(field: &'static str, description: impl Into<String>) -> Self {
        ApiError::InvalidArgument {
            field,
            description: description.into(),
        }
    }

    /// The gRPC code (AIP-193 / cti-api.md §9.6 table).
    pub fn code(&self) -> Code {
        use ApiError::*;
        match self {
            CallNotFound(_) | LegNotFound { .. } | AgentNotFound(_) | QueueNotFound(_) => {
                Code::NotFound
            }
            CallEnded(_)
            | LegState { .. }
            | CallNotQueued(_)
            | AgentOnCall(_)
            | AgentNotLoggedIn(_)
            | AgentNotInWrapUp(_)
            | EtagMismatch { .. }
            | JournalEpochMismatch { .. }
            | ConfigInvalid(_) => Code::FailedPrecondition,
            InvalidArgument { .. } | UnknownReasonCode(_) | InvalidTarget(_) => {
                Code::InvalidArgument
            }
            CallDataTooLarge { .. } => Code::InvalidArgument,
            CursorExpired { .. } | CursorAhead { .. } => Code::OutOfRange,
            EngineOverloaded | TooManyStreams(_) => Code::ResourceExhausted,
            Unavailable(_) => Code::Unavailable,
            NotSupported(_) => Code::Unimplemented,
            Unauthenticated(_) => Code::Unauthenticated,
            PermissionDenied { .. } => Code::PermissionDenied,
            Internal(_) => Code::Internal,
        }
    }

    /// The stable `ErrorInfo.reason`.
    pub fn reason(&self) -> &'static str {
        use ApiError::*;
        match self {
            CallNotFound(_) => "CALL_NOT_FOUND",
            LegNotFound { .. } => "LEG_NOT_FOUND",
            AgentNotFound(_) => "AGENT_NOT_FOUND",
            QueueNotFound(_) => "QUEUE_NOT_FOUND",
            CallEnded(_) => "CALL_ENDED",
            LegState { reason, .. } => reason,
            CallNotQueued(_) => "CALL_NOT_QUEUED",
            AgentOnCall(_) => "AGENT_ON_CALL",
            AgentNotLoggedIn(_) => "AGENT_NOT_LOGGED_IN",
            AgentNotInWrapUp(_) => "AGENT_NOT_IN_WRAP_UP",
            EtagMismatch { .. } => "ETAG_MISMATCH",
            InvalidArgument { .. } => "INVALID_ARGUMENT",
            UnknownReasonCode(_) => "UNKNOWN_REASON_CODE",
            InvalidTarget(_) => "INVALID_TARGET",
            CallDataTooLarge { .. } => "CALL_DATA_TOO_LARGE",
            CursorExpired { .. } => "CURSOR_EXPIRED",
            CursorAhead { .. } => "CURSOR_AHEAD",
            JournalEpochMismatch { .. } => "JOURNAL_EPOCH_MISMATCH",
            ConfigInvalid(_) => "CONFIG_INVALID",
            EngineOverloaded => "ENGINE_OVERLOADED",
            TooManyStreams(_) => "TOO_MANY_STREAMS",
            Unavailable(_) => "ENGINE_UNAVAILABLE",
            NotSupported(_) => "NOT_SUPPORTED",
            Unauthenticated(_) => "UNAUTHENTICATED",
            PermissionDenied { .. } => "OPERATION_SCOPE",
            Internal(_) => "INTERNAL",
        }
    }

    fn metadata(&self) -> HashMap<String, String> {
        use ApiError::*;
        let mut m = HashMap::new();
        let mut put = |k: &str, v: String| {
            m.insert(k.to_owned(), v);
        };
        match self {
            CallNotFound(id) | CallEnded(id) | CallNotQueued(id) => put("callId", id.clone()),
            LegNotFound { call_id, leg_id } => {
                put("callId", call_id.clone());
                put("legId", leg_id.clone());
            }
            LegState { leg_id, .. } => put("legId", leg_id.clone()),
            AgentNotFound(a) | AgentOnCall(a) | AgentNotLoggedIn(a) | AgentNotInWrapUp(a) => {
                put("agent", a.clone())
            }
            QueueNotFound(q) => put("queue", q.clone()),
            EtagMismatch { current } => put("currentEtag", current.clone()),
            CallDataTooLarge { size, limit } => {
                put("size", size.to_string());
                put("limit", limit.to_string());
            }
            CursorExpired {
                after_seq,
                oldest_seq,
                head_seq,
            } => {
                put("afterSeq", after_seq.to_string());
                put("oldestSeq", oldest_seq.to_string());
                put("headSeq", head_seq.to_string());
            }
            CursorAhead {
                after_seq,
                head_seq,
            } => {
                put("afterSeq", after_seq.to_string());
                put("headSeq", head_seq.to_string());
            }
            JournalEpochMismatch { requested, current } => {
                put("requestedEpoch", requested.clone());
                put("journalEpoch", current.clone());
            }
            PermissionDenied { token, scope } => {
                put("token", token.clone());
                put("scope", (*scope).to_owned());
            }
            _ => {}
        }
        m
    }
}

/// The one place errors become `google.rpc.Status` on the wire.
impl From<ApiError> for Status {
    fn from(error: ApiError) -> Status {
        let mut details =
            ErrorDetails::with_error_info(error.reason(), ERROR_DOMAIN, error.metadata());
        match &error {
            ApiError::InvalidArgument { field, description } => {
                details.add_bad_request_violation(*field, description.clone());
            }
            ApiError::CallNotFound(id) | ApiError::CallEnded(id) => {
                details.set_resource_info("switchboard.v1.Call", format!("calls/{id}"), "", "");
            }
            ApiError::AgentNotFound(a) => {
                details.set_resource_info("switchboard.v1.Agent", format!("agents/{a}"), "", "");
            }
            ApiError::QueueNotFound(q) => {
                details.set_resource_info("switchboard.v1.Queue", format!("queues/{q}"), "", "");
            }
            ApiError::EngineOverloaded | ApiError::TooManyStreams(_) | ApiError::Unavailable(_) => {
                details.set_retry_info(Some(Duration::from_secs(1)));
            }
            _ => {}
        }
        Status::with_error_details(error.code(), error.to_string(), details)
    }
}

impl From<switchboard_store::StoreError> for ApiError {
    fn from(error: switchboard_store::StoreError) -> Self {
        use switchboard_store::StoreError;
        match error {
            StoreError::CursorExpired {
                after_seq,
                oldest_seq,
            } => ApiError::CursorExpired {
                after_seq,
                oldest_seq,
                // The store's error does not carry the head; callers that know it fill it in.
                head_seq: 0,
            },
            StoreError::CursorAhead {
                after_seq,
                head_seq,
            } => ApiError::CursorAhead {
                after_seq,
                head_seq,
            },
            other => ApiError::Internal(format!("journal: {other}")),
        }
    }
}

/// Reads the `ErrorInfo` reason from a status returned by this API (for clients and tests).
pub fn error_reason(status: &Status) -> Option<String> {
    status.get_details_error_info().map(|info| info.reason)
}
