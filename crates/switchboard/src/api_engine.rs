//! The API's seam ([`switchboard_api::Engine`]) over the call engine's [`EngineHandle`].
//!
//! Commands the engine carries out are mapped onto [`EngineCommand`]s and run on the engine
//! task with the command's `request_id` (MakeCall, BlindTransfer to an agent, queue or number,
//! RequestCallback with or without a waiting call, consultations among them); the rest are refused with [`ApiError::NotSupported`]
//! naming what is missing. Reads (snapshot, calls, agents, queues) are [`EngineQuery`]s
//! answered on the engine task, so they see every command accepted before them; `status`
//! reports the start time, the configuration digest and counters kept from the committed
//! events this process published.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use switchboard_acd::{ReasonCode, RequestedState};
use switchboard_api::pb::event::Payload;
use switchboard_api::{
    Accepted, Action, ApiError, Command, Engine, EngineSnapshot, EngineStatus, ReloadOutcome,
    Target, pb,
};
use switchboard_engine::shell::{DeliveryGate, EngineHandle, PublishedEvent};
use switchboard_engine::{
    CommandError, ConsultTarget, ControlCommand, EngineCommand, EngineQuery, MakeCall, QueryAnswer,
    QueryError, ScheduleCallback,
};

use crate::reload::Reloader;
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

/// The API's screen-pop gate as the engine's [`DeliveryGate`]: the agent's INVITE leaves once
/// `AgentAlerting` has left for the live subscribers.
pub(crate) struct Gate(pub(crate) switchboard_api::ScreenPopGate);

impl DeliveryGate for Gate {
    fn delivered(
        &self,
        seq: u64,
        event: &switchboard_store::NewEvent,
        lead: std::time::Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(self.0.delivered(seq, event.clone(), lead))
    }
}

/// [`switchboard_api::Engine`] for the daemon.
pub(crate) struct ApiEngine {
    handle: Arc<EngineHandle>,
    started_at: SystemTime,
    config_digest: Mutex<String>,
    counters: Arc<Mutex<Counters>>,
    reloader: Option<Reloader>,
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
                config_digest: Mutex::new(config_digest),
                counters,
                reloader: None,
            },
            feed,
        )
    }

    /// Lets `ReloadConfig` re-read the configuration file.
    pub(crate) fn with_reloader(mut self, reloader: Reloader) -> Self {
        self.reloader = Some(reloader);
        self
    }

    /// The call data of `call_id` now (UpdateCallData's answer).
    async fn call_data(&self, call_id: &str) -> Result<Option<pb::CallData>, ApiError> {
        Ok(self.call(call_id).await?.call_data)
    }

    /// Runs `command` for the API request `request_id` (it goes on the events).
    async fn run_for(&self, request_id: &str, command: EngineCommand) -> Result<(), ApiError> {
        let request_id = Some(request_id.to_owned()).filter(|r| !r.is_empty());
        self.handle
            .command_for(request_id, command)
            .await
            .map_err(command_error)
    }

    /// Runs a command on one leg (hold, retrieve, hang up) and answers with the leg it named.
    async fn run_on_leg(
        &self,
        request_id: &str,
        leg: switchboard_api::LegRef,
        command: fn(String, String) -> ControlCommand,
    ) -> Result<Accepted, ApiError> {
        let (call_id, leg_id) = (leg.call_id, leg.leg_id);
        self.run_for(
            request_id,
            EngineCommand::Control(command(call_id.clone(), leg_id.clone())),
        )
        .await?;
        Ok(Accepted {
            call_id: Some(call_id),
            leg_id: Some(leg_id),
            ..Accepted::default()
        })
    }

    /// Runs a command on a call's consultation (complete as transfer or conference, cancel):
    /// a refusal is FAILED_PRECONDITION `reason` on the consultation leg.
    async fn run_on_consultation(
        &self,
        request_id: &str,
        consult_leg: switchboard_api::LegRef,
        command: fn(String) -> EngineCommand,
        reason: &'static str,
    ) -> Result<Accepted, ApiError> {
        let call_id = consult_leg.call_id;
        self.handle
            .command_for(request_id_of(request_id), command(call_id.clone()))
            .await
            .map_err(|e| consult_error(e, &consult_leg.leg_id, reason))?;
        Ok(Accepted {
            call_id: Some(call_id),
            ..Accepted::default()
        })
    }

    async fn read(&self, query: EngineQuery) -> Result<QueryAnswer, ApiError> {
        self.handle.query(query).await.map_err(query_error)
    }
}

fn query_error(error: QueryError) -> ApiError {
    match error {
        QueryError::UnknownCall(id) => ApiError::CallNotFound(id),
        QueryError::UnknownAgent(id) => ApiError::AgentNotFound(id),
        QueryError::UnknownQueue(q) => ApiError::QueueNotFound(q),
        QueryError::Stopped => ApiError::Unavailable("the call engine has stopped".into()),
        other => ApiError::Internal(other.to_string()),
    }
}

/// An answer of another shape than asked: a bug in the engine, not the client's mistake.
fn mismatch(answer: &QueryAnswer) -> ApiError {
    ApiError::Internal(format!("the engine answered a read with {answer:?}"))
}

fn command_error(error: CommandError) -> ApiError {
    match error {
        CommandError::UnknownCall(id) => ApiError::CallNotFound(id),
        CommandError::UnknownQueue(q) => ApiError::QueueNotFound(q),
        CommandError::UnknownAgent(a) => ApiError::AgentNotFound(a),
        CommandError::CallEnded(id) => ApiError::CallEnded(id),
        CommandError::NotInWrapUp(a) => ApiError::AgentNotInWrapUp(a),
        CommandError::NotQueued(c) => ApiError::CallNotQueued(c),
        CommandError::UnknownLeg { call_id, leg_id } => ApiError::LegNotFound { call_id, leg_id },
        CommandError::LegState { leg_id, reason } => ApiError::LegState { leg_id, reason },
        CommandError::InvalidDigit(c) => ApiError::InvalidArgument {
            field: "digits",
            description: format!("{c:?} is not a DTMF digit"),
        },
        CommandError::EtagMismatch { current } => ApiError::EtagMismatch { current },
        CommandError::CallDataTooLarge { size, limit } => {
            ApiError::CallDataTooLarge { size, limit }
        }
        CommandError::AgentOnCall(a) => ApiError::AgentOnCall(a),
        CommandError::NotLoggedIn(a) => ApiError::AgentNotLoggedIn(a),
        CommandError::ConfigRefused(why) => ApiError::ConfigInvalid(why),
        CommandError::Refused(why) => ApiError::InvalidArgument {
            field: "command",
            description: why,
        },
        CommandError::Stopped => ApiError::Unavailable("the call engine has stopped".into()),
        CommandError::AgentBusy(agent) => ApiError::AgentOnCall(agent),
        CommandError::BadDestination(to) => ApiError::InvalidArgument {
            field: "to",
            description: format!("{to:?} is neither a number nor a sip: URI the trunk can dial"),
        },
        CommandError::BadDevice(why) => ApiError::InvalidArgument {
            field: "device",
            description: why,
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

/// The engine's form of an API `request_id` (empty: none).
fn request_id_of(request_id: &str) -> Option<String> {
    Some(request_id.to_owned()).filter(|r| !r.is_empty())
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

#[tonic::async_trait]
impl Engine for ApiEngine {
    async fn snapshot(&self) -> Result<EngineSnapshot, ApiError> {
        match self.read(EngineQuery::Snapshot).await? {
            QueryAnswer::Snapshot(s) => Ok(EngineSnapshot {
                as_of_seq: s.as_of_seq,
                calls: s.calls,
                agents: s.agents,
                queues: s.queues,
            }),
            other => Err(mismatch(&other)),
        }
    }
    async fn call(&self, call_id: &str) -> Result<pb::Call, ApiError> {
        match self.read(EngineQuery::Call(call_id.to_owned())).await? {
            QueryAnswer::Call(call) => Ok(*call),
            other => Err(mismatch(&other)),
        }
    }
    async fn calls(&self) -> Result<Vec<pb::Call>, ApiError> {
        match self.read(EngineQuery::Calls).await? {
            QueryAnswer::Calls(calls) => Ok(calls),
            other => Err(mismatch(&other)),
        }
    }
    async fn agent(&self, agent: &str) -> Result<pb::Agent, ApiError> {
        match self.read(EngineQuery::Agent(agent.to_owned())).await? {
            QueryAnswer::Agent(agent) => Ok(*agent),
            other => Err(mismatch(&other)),
        }
    }
    async fn agents(&self) -> Result<Vec<pb::Agent>, ApiError> {
        match self.read(EngineQuery::Agents).await? {
            QueryAnswer::Agents(agents) => Ok(agents),
            other => Err(mismatch(&other)),
        }
    }
    async fn queue(&self, queue: &str) -> Result<pb::Queue, ApiError> {
        match self.read(EngineQuery::Queue(queue.to_owned())).await? {
            QueryAnswer::Queue(queue) => Ok(*queue),
            other => Err(mismatch(&other)),
        }
    }
    async fn queues(&self) -> Result<Vec<pb::Queue>, ApiError> {
        match self.read(EngineQuery::Queues).await? {
            QueryAnswer::Queues(queues) => Ok(queues),
            other => Err(mismatch(&other)),
        }
    }

    async fn execute(&self, command: Command) -> Result<Accepted, ApiError> {
        let request_id = command.request_id.as_str();
        match command.action {
            Action::SetAgentState {
                agent,
                state,
                reason_code,
                after_current_work,
                etag,
            } => {
                let state = requested(state, reason_code)?;
                let agent_name = agent.clone();
                let command = if after_current_work {
                    EngineCommand::SetNextState {
                        agent,
                        state: Some(state),
                    }
                } else {
                    EngineCommand::SetAgentState { agent, state }
                };
                let command = match etag.filter(|e| !e.is_empty()) {
                    Some(etag) => EngineCommand::Control(ControlCommand::IfAgentEtag {
                        agent: agent_name.clone(),
                        etag,
                        then: Box::new(command),
                    }),
                    None => command,
                };
                self.run_for(request_id, command).await?;
                Ok(Accepted {
                    agent: Some(self.agent(&agent_name).await?),
                    ..Accepted::default()
                })
            }
            Action::ExtendWrapUp { agent, extend_by } => {
                self.run_for(
                    request_id,
                    EngineCommand::ExtendWrapUp {
                        agent,
                        by: extend_by,
                    },
                )
                .await?;
                Ok(Accepted::default())
            }
            Action::EndCall { call_id, .. } => {
                self.run_for(
                    request_id,
                    EngineCommand::Hangup {
                        call_id: call_id.clone(),
                    },
                )
                .await?;
                Ok(Accepted {
                    call_id: Some(call_id),
                    ..Accepted::default()
                })
            }
            Action::UpdateCallData {
                call_id,
                set,
                remove,
                etag,
            } => {
                self.run_for(
                    request_id,
                    EngineCommand::Control(ControlCommand::UpdateCallData {
                        call_id: call_id.clone(),
                        set: set.into_iter().collect(),
                        remove,
                        etag: etag.filter(|e| !e.is_empty()),
                    }),
                )
                .await?;
                Ok(Accepted {
                    call_data: self.call_data(&call_id).await?,
                    call_id: Some(call_id),
                    ..Accepted::default()
                })
            }
            Action::SetCallPriority {
                call_id,
                priority,
                wait_adjustment,
            } => {
                self.run_for(
                    request_id,
                    EngineCommand::Control(ControlCommand::SetCallPriority {
                        call_id: call_id.clone(),
                        priority,
                        wait_adjustment,
                    }),
                )
                .await?;
                Ok(Accepted {
                    call_id: Some(call_id),
                    ..Accepted::default()
                })
            }
            Action::SendDtmf { leg, digits } => {
                self.run_for(
                    request_id,
                    EngineCommand::Control(ControlCommand::SendDtmf {
                        call_id: leg.call_id.clone(),
                        leg_id: leg.leg_id.clone(),
                        digits,
                    }),
                )
                .await?;
                Ok(Accepted {
                    call_id: Some(leg.call_id),
                    leg_id: Some(leg.leg_id),
                    ..Accepted::default()
                })
            }
            Action::HangupLeg { leg, .. } => {
                self.run_on_leg(request_id, leg, |call_id, leg_id| {
                    ControlCommand::HangupLeg { call_id, leg_id }
                })
                .await
            }
            Action::HoldLeg { leg } => {
                self.run_on_leg(request_id, leg, |call_id, leg_id| ControlCommand::HoldLeg {
                    call_id,
                    leg_id,
                })
                .await
            }
            Action::RetrieveLeg { leg } => {
                self.run_on_leg(request_id, leg, |call_id, leg_id| {
                    ControlCommand::RetrieveLeg { call_id, leg_id }
                })
                .await
            }
            // The device rings when the agent has no registered phone (agent_device.rs).
            Action::LoginAgent {
                agent,
                ready,
                device,
            } => {
                self.run_for(
                    request_id,
                    EngineCommand::Control(ControlCommand::LoginAgent {
                        agent: agent.clone(),
                        ready,
                        device: device.filter(|d| !d.is_empty()),
                    }),
                )
                .await?;
                Ok(Accepted {
                    agent: Some(self.agent(&agent).await?),
                    ..Accepted::default()
                })
            }
            Action::LogoutAgent {
                agent,
                reason_code,
                force,
            } => {
                self.run_for(
                    request_id,
                    EngineCommand::Control(ControlCommand::LogoutAgent {
                        agent: agent.clone(),
                        reason_code,
                        force,
                    }),
                )
                .await?;
                Ok(Accepted {
                    agent: Some(self.agent(&agent).await?),
                    ..Accepted::default()
                })
            }
            Action::CompleteWrapUp {
                agent,
                call_id,
                disposition_code,
                notes,
            } => {
                self.run_for(
                    request_id,
                    EngineCommand::Control(ControlCommand::CompleteWrapUp {
                        agent: agent.clone(),
                        call_id: call_id.clone(),
                        disposition_code,
                        notes,
                    }),
                )
                .await?;
                Ok(Accepted {
                    call_id,
                    agent: Some(self.agent(&agent).await?),
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
                self.run_for(request_id, command).await?;
                Ok(Accepted {
                    call_id: Some(call_id),
                    ..Accepted::default()
                })
            }
            Action::RequestCallback {
                call_id: Some(call_id),
                number,
                not_before,
                ..
            } => {
                if not_before.is_some_and(|t| t > SystemTime::now()) {
                    return Err(ApiError::InvalidArgument {
                        field: "not_before",
                        description: "a callback that keeps a waiting caller's place is placed \
                                      as soon as an agent is free; to schedule one for later, \
                                      request it without a call"
                            .into(),
                    });
                }
                // The waiting call keeps its place in its queue; its id is the callback's.
                self.run_for(
                    request_id,
                    EngineCommand::RequestCallback {
                        call_id: call_id.clone(),
                        number: Some(number).filter(|n| !n.is_empty()),
                    },
                )
                .await?;
                Ok(Accepted {
                    call_id: Some(call_id.clone()),
                    created_id: Some(call_id),
                    ..Accepted::default()
                })
            }
            // A web or CRM callback: a new call id, queued now or when `not_before` comes.
            Action::RequestCallback {
                call_id: None,
                callback_id,
                queue,
                number,
                not_before,
            } => {
                self.run_for(
                    request_id,
                    EngineCommand::ScheduleCallback(ScheduleCallback {
                        call_id: callback_id.clone(),
                        queue,
                        number,
                        not_before,
                    }),
                )
                .await?;
                Ok(Accepted {
                    call_id: Some(callback_id.clone()),
                    created_id: Some(callback_id),
                    ..Accepted::default()
                })
            }
            Action::MakeCall {
                agent,
                to,
                caller_id,
                call_data,
                call_id,
            } => {
                // The API made the call id (a UUIDv7), so the answer needs no round trip to
                // the far ends: it returns once the engine has accepted the call.
                self.run_for(
                    request_id,
                    EngineCommand::MakeCall(MakeCall {
                        call_id: call_id.clone(),
                        agent,
                        destination: to,
                        caller_id,
                        data: call_data.into_iter().collect(),
                        request_id: request_id.to_owned(),
                    }),
                )
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
                    .command_for(
                        request_id_of(request_id),
                        EngineCommand::StartConsultation {
                            call_id: call_id.clone(),
                            target,
                        },
                    )
                    .await
                    .map_err(|e| consult_error(e, &leg.leg_id, "NOT_CONSULTABLE"))?;
                Ok(Accepted {
                    call_id: Some(call_id),
                    ..Accepted::default()
                })
            }
            Action::CompleteTransfer { consult_leg } => {
                self.run_on_consultation(
                    request_id,
                    consult_leg,
                    |call_id| EngineCommand::CompleteTransfer { call_id },
                    "CONSULTATION_NOT_ANSWERED",
                )
                .await
            }
            Action::CancelConsultation { consult_leg } => {
                self.run_on_consultation(
                    request_id,
                    consult_leg,
                    |call_id| EngineCommand::CancelConsultation { call_id },
                    "NOT_A_CONSULTATION",
                )
                .await
            }
            Action::CompleteConference { consult_leg } => {
                self.run_on_consultation(
                    request_id,
                    consult_leg,
                    |call_id| EngineCommand::CompleteConference { call_id },
                    "CONSULTATION_NOT_ANSWERED",
                )
                .await
            }
            other => Err(ApiError::NotSupported(format!(
                "{} is not carried out by the call engine in this build",
                action_name(&other)
            ))),
        }
    }

    async fn reload_config(&self, request_id: &str) -> Result<ReloadOutcome, ApiError> {
        let Some(reloader) = self.reloader.clone() else {
            return Err(ApiError::NotSupported(
                "this engine was started without a configuration file to reload".into(),
            ));
        };
        // Reading and checking the files is blocking work: off the async workers.
        let loaded = tokio::task::spawn_blocking(move || reloader.load())
            .await
            .map_err(|e| ApiError::Internal(format!("reload task: {e}")))?
            .map_err(ApiError::ConfigInvalid)?;
        let digest = loaded.digest.clone();
        let changed = self
            .config_digest
            .lock()
            .map(|d| *d != digest)
            .unwrap_or(true);
        self.run_for(
            request_id,
            EngineCommand::Control(ControlCommand::Reconfigure {
                config: loaded.config,
                flows: loaded.flows,
                digest: digest.clone(),
            }),
        )
        .await?;
        if let Ok(mut current) = self.config_digest.lock() {
            current.clone_from(&digest);
        }
        Ok(ReloadOutcome {
            changed,
            config_digest: digest,
        })
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
            config_digest: self
                .config_digest
                .lock()
                .map(|d| d.clone())
                .unwrap_or_default(),
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
