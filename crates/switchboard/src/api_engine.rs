//! The API's seam ([`switchboard_api::Engine`]) over the call engine's [`EngineHandle`].
//!
//! Commands the engine carries out are mapped onto [`EngineCommand`]s and run on the engine
//! task (MakeCall, BlindTransfer to an agent, queue or number, RequestCallback for a waiting
//! call among them); the rest are refused with [`ApiError::NotSupported`] naming what is
//! missing. The
//! engine has no query commands yet, so the reads (snapshot, calls, agents, queues) are refused
//! the same way; `status` reports the start time, the configuration digest and counters kept
//! from the committed events this process published.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use switchboard_acd::{ReasonCode, RequestedState};
use switchboard_api::pb::event::Payload;
use switchboard_api::{
    Accepted, Action, ApiError, Command, Engine, EngineSnapshot, EngineStatus, ReloadOutcome,
    Target, pb,
};
use switchboard_engine::shell::{EngineHandle, PublishedEvent};
use switchboard_engine::{CommandError, ConsultTarget, EngineCommand, MakeCall};
use switchboard_store::StoredEvent;

/// Counters derived from the committed events published since this process started.
#[derive(Debug, Default)]
struct Counters {
    calls: HashSet<String>,
    queued: HashSet<String>,
    agents: HashMap<String, pb::AgentState>,
}

impl Counters {
    fn apply(&mut self, event: &pb::Event) {
        match &event.payload {
            Some(Payload::CallCreated(_)) => {
                self.calls.insert(event.call_id.clone());
            }
            Some(Payload::CallQueued(_)) => {
                self.queued.insert(event.call_id.clone());
            }
            Some(Payload::CallConnected(_)) => {
                self.queued.remove(&event.call_id);
            }
            Some(Payload::CallEnded(_)) => {
                self.calls.remove(&event.call_id);
                self.queued.remove(&event.call_id);
            }
            Some(Payload::AgentStateChanged(change)) => {
                let state = pb::AgentState::try_from(change.current).unwrap_or_default();
                self.agents.insert(change.agent.clone(), state);
            }
            _ => {}
        }
    }
}

/// [`switchboard_api::Engine`] for the daemon.
pub(crate) struct ApiEngine {
    handle: Arc<EngineHandle>,
    started_at: SystemTime,
    config_digest: String,
    counters: Arc<Mutex<Counters>>,
}

impl ApiEngine {
    /// The adapter, and the task feeding the API's live broadcast (and the counters) from the
    /// engine's committed events. The task ends when the engine's bus closes.
    pub(crate) fn new(
        handle: Arc<EngineHandle>,
        config_digest: String,
        epoch: switchboard_store::JournalEpoch,
        live: switchboard_api::LiveEvents,
    ) -> (Self, impl std::future::Future<Output = ()> + Send + 'static) {
        let counters = Arc::new(Mutex::new(Counters::default()));
        let mut events = handle.subscribe();
        let feed = {
            let counters = counters.clone();
            async move {
                loop {
                    let published: PublishedEvent = match events.recv().await {
                        Ok(p) => p,
                        // The API's streams fill a lag from the journal by seq.
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!(lost = n, "API live feed lagged the engine bus");
                            continue;
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    };
                    let stored = Arc::new(StoredEvent {
                        seq: published.seq,
                        epoch,
                        event: (*published.event).clone(),
                    });
                    let wire = switchboard_api::codec::to_wire(&stored);
                    if let Ok(mut c) = counters.lock() {
                        c.apply(&wire);
                    }
                    // No receiver (no stream open) is not an error.
                    let _ = live.send(stored);
                }
            }
        };
        (
            Self {
                handle,
                started_at: SystemTime::now(),
                config_digest,
                counters,
            },
            feed,
        )
    }

    async fn run(&self, command: EngineCommand) -> Result<(), ApiError> {
        self.handle.command(command).await.map_err(command_error)
    }
}

fn command_error(error: CommandError) -> ApiError {
    match error {
        CommandError::UnknownCall(id) => ApiError::CallNotFound(id),
        CommandError::UnknownQueue(q) => ApiError::QueueNotFound(q),
        CommandError::Refused(why) => ApiError::InvalidArgument {
            field: "command",
            description: why,
        },
        CommandError::Stopped => ApiError::Unavailable("the call engine has stopped".into()),
        CommandError::UnknownAgent(agent) => ApiError::AgentNotFound(agent),
        CommandError::AgentBusy(agent) => ApiError::AgentOnCall(agent),
        CommandError::BadDestination(to) => ApiError::InvalidArgument {
            field: "to",
            description: format!("{to:?} is neither a number nor a sip: URI the trunk can dial"),
        },
        other => ApiError::Internal(other.to_string()),
    }
}

/// A consultation command's refusal: the leg's state (FAILED_PRECONDITION with `reason`)
/// rather than a bare invalid argument.
fn consult_error(error: CommandError, leg_id: &str, reason: &'static str) -> ApiError {
    match error {
        CommandError::Refused(why) => {
            tracing::debug!(leg = leg_id, %why, "consultation command refused");
            ApiError::LegState {
                leg_id: leg_id.to_string(),
                reason,
            }
        }
        other => command_error(other),
    }
}

fn requested(state: pb::AgentState, reason: Option<String>) -> Result<RequestedState, ApiError> {
    match state {
        pb::AgentState::Ready => Ok(RequestedState::Ready),
        pb::AgentState::NotReady => Ok(RequestedState::NotReady(ReasonCode::from(
            reason.unwrap_or_else(|| "not-ready".into()),
        ))),
        pb::AgentState::LoggedOut => Ok(RequestedState::LoggedOut),
        other => Err(ApiError::InvalidArgument {
            field: "state",
            description: format!("{} cannot be requested", other.as_str_name()),
        }),
    }
}

const NO_QUERIES: &str =
    "reading calls, agents and queues from the call engine is not in this build; use Subscribe";

#[tonic::async_trait]
impl Engine for ApiEngine {
    async fn snapshot(&self) -> Result<EngineSnapshot, ApiError> {
        Err(ApiError::NotSupported(NO_QUERIES.into()))
    }
    async fn call(&self, _call_id: &str) -> Result<pb::Call, ApiError> {
        Err(ApiError::NotSupported(NO_QUERIES.into()))
    }
    async fn calls(&self) -> Result<Vec<pb::Call>, ApiError> {
        Err(ApiError::NotSupported(NO_QUERIES.into()))
    }
    async fn agent(&self, _agent: &str) -> Result<pb::Agent, ApiError> {
        Err(ApiError::NotSupported(NO_QUERIES.into()))
    }
    async fn agents(&self) -> Result<Vec<pb::Agent>, ApiError> {
        Err(ApiError::NotSupported(NO_QUERIES.into()))
    }
    async fn queue(&self, _queue: &str) -> Result<pb::Queue, ApiError> {
        Err(ApiError::NotSupported(NO_QUERIES.into()))
    }
    async fn queues(&self) -> Result<Vec<pb::Queue>, ApiError> {
        Err(ApiError::NotSupported(NO_QUERIES.into()))
    }

    async fn execute(&self, command: Command) -> Result<Accepted, ApiError> {
        match command.action {
            Action::SetAgentState {
                agent,
                state,
                reason_code,
                after_current_work,
                ..
            } => {
                let state = requested(state, reason_code)?;
                let command = if after_current_work {
                    EngineCommand::SetNextState {
                        agent,
                        state: Some(state),
                    }
                } else {
                    EngineCommand::SetAgentState { agent, state }
                };
                self.run(command).await?;
                Ok(Accepted::default())
            }
            Action::ExtendWrapUp { agent, extend_by } => {
                self.run(EngineCommand::ExtendWrapUp {
                    agent,
                    by: extend_by,
                })
                .await?;
                Ok(Accepted::default())
            }
            Action::EndCall { call_id, .. } => {
                self.run(EngineCommand::Hangup {
                    call_id: call_id.clone(),
                })
                .await?;
                Ok(Accepted {
                    call_id: Some(call_id),
                    ..Accepted::default()
                })
            }
            Action::BlindTransfer {
                leg,
                target: Target::Queue(queue),
                ..
            } => {
                let call_id = leg.call_id;
                self.run(EngineCommand::TransferToQueue {
                    call_id: call_id.clone(),
                    queue,
                })
                .await?;
                Ok(Accepted {
                    call_id: Some(call_id),
                    ..Accepted::default()
                })
            }
            Action::BlindTransfer { leg, target, .. } => {
                let call_id = leg.call_id;
                let command = match target {
                    Target::Agent(agent) => EngineCommand::TransferToAgent {
                        call_id: call_id.clone(),
                        agent,
                    },
                    Target::Number(destination) => EngineCommand::TransferToNumber {
                        call_id: call_id.clone(),
                        destination,
                    },
                    Target::Queue(queue) => EngineCommand::TransferToQueue {
                        call_id: call_id.clone(),
                        queue,
                    },
                };
                self.run(command).await?;
                Ok(Accepted {
                    call_id: Some(call_id),
                    ..Accepted::default()
                })
            }
            Action::RequestCallback {
                call_id: Some(call_id),
                number,
                ..
            } => {
                // The waiting call keeps its place in its queue; its id is the callback's.
                self.run(EngineCommand::RequestCallback {
                    call_id: call_id.clone(),
                    number: Some(number).filter(|n| !n.is_empty()),
                })
                .await?;
                Ok(Accepted {
                    call_id: Some(call_id.clone()),
                    created_id: Some(call_id),
                    ..Accepted::default()
                })
            }
            Action::RequestCallback { call_id: None, .. } => Err(ApiError::InvalidArgument {
                field: "call_id",
                description: "a callback is requested for a waiting call (it keeps the call's \
                              place); scheduling one without a call is not in this build"
                    .into(),
            }),
            Action::MakeCall {
                agent,
                to,
                caller_id,
                call_data,
                call_id,
            } => {
                // The API made the call id (a UUIDv7), so the answer needs no round trip to
                // the far ends: it returns once the engine has accepted the call.
                self.run(EngineCommand::MakeCall(MakeCall {
                    call_id: call_id.clone(),
                    agent,
                    destination: to,
                    caller_id,
                    data: call_data.into_iter().collect(),
                    request_id: command.request_id.clone(),
                }))
                .await?;
                Ok(Accepted {
                    call_id: Some(call_id),
                    ..Accepted::default()
                })
            }
            Action::StartConsultation { leg, target, .. } => {
                let target = match target {
                    Target::Agent(agent) => ConsultTarget::Agent(agent),
                    Target::Queue(queue) => ConsultTarget::Queue(queue),
                    Target::Number(_) => {
                        return Err(ApiError::NotSupported(
                            "consulting an outside number needs an outbound leg; consult an \
                             agent or a queue"
                                .into(),
                        ));
                    }
                };
                let call_id = leg.call_id;
                self.handle
                    .command(EngineCommand::StartConsultation {
                        call_id: call_id.clone(),
                        target,
                    })
                    .await
                    .map_err(|e| consult_error(e, &leg.leg_id, "NOT_CONSULTABLE"))?;
                Ok(Accepted {
                    call_id: Some(call_id),
                    ..Accepted::default()
                })
            }
            Action::CompleteTransfer { consult_leg } => {
                let call_id = consult_leg.call_id;
                self.handle
                    .command(EngineCommand::CompleteTransfer {
                        call_id: call_id.clone(),
                    })
                    .await
                    .map_err(|e| {
                        consult_error(e, &consult_leg.leg_id, "CONSULTATION_NOT_ANSWERED")
                    })?;
                Ok(Accepted {
                    call_id: Some(call_id),
                    ..Accepted::default()
                })
            }
            Action::CancelConsultation { consult_leg } => {
                let call_id = consult_leg.call_id;
                self.handle
                    .command(EngineCommand::CancelConsultation {
                        call_id: call_id.clone(),
                    })
                    .await
                    .map_err(|e| consult_error(e, &consult_leg.leg_id, "NOT_A_CONSULTATION"))?;
                Ok(Accepted {
                    call_id: Some(call_id),
                    ..Accepted::default()
                })
            }
            // A conference needs a three-way mixer (each party hears the sum of the other two);
            // the media plane relays pairs only.
            Action::CompleteConference { .. } => Err(ApiError::NotSupported(
                "three-party conference needs audio mixing, which the media plane does not have \
                 in this build; use CompleteTransfer or CancelConsultation"
                    .into(),
            )),
            other => Err(ApiError::NotSupported(format!(
                "{} is not carried out by the call engine in this build",
                action_name(&other)
            ))),
        }
    }

    async fn reload_config(&self, _request_id: &str) -> Result<ReloadOutcome, ApiError> {
        Err(ApiError::NotSupported(
            "configuration reload is not in this build; restart the daemon".into(),
        ))
    }

    async fn status(&self) -> Result<EngineStatus, ApiError> {
        let c = self
            .counters
            .lock()
            .map_err(|_| ApiError::Internal("status counters poisoned".into()))?;
        let count = |f: fn(&pb::AgentState) -> bool| {
            u32::try_from(c.agents.values().filter(|s| f(s)).count()).unwrap_or(u32::MAX)
        };
        Ok(EngineStatus {
            started_at: self.started_at,
            active_calls: u32::try_from(c.calls.len()).unwrap_or(u32::MAX),
            queued_calls: u32::try_from(c.queued.len()).unwrap_or(u32::MAX),
            agents_logged_in: count(|s| {
                !matches!(s, pb::AgentState::LoggedOut | pb::AgentState::Unspecified)
            }),
            agents_ready: count(|s| *s == pb::AgentState::Ready),
            config_digest: self.config_digest.clone(),
        })
    }
}

/// The variant's name, for the refusal text.
fn action_name(action: &Action) -> String {
    let debug = format!("{action:?}");
    debug
        .split([' ', '{', '('])
        .next()
        .unwrap_or("this command")
        .to_owned()
}
