//! Commands from the API side (the CTI/gRPC issue exposes them): agent state changes, hang-up
//! and transfer of a call by its `call_id`.

use std::time::{Duration, Instant};

use switchboard_acd::{RequestedState, RouterError, RouterInput};
use switchboard_store::HangupSide;

use crate::call::Ending;
pub use crate::control::ControlCommand;
use crate::engine::Engine;

/// A command for the engine.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum EngineCommand {
    /// Set an agent's state now (during a call it becomes the state after the call).
    SetAgentState {
        /// The agent.
        agent: String,
        /// The state.
        state: RequestedState,
    },
    /// Set (or clear) the state an agent takes when its current work ends.
    SetNextState {
        /// The agent.
        agent: String,
        /// The state, or `None` to clear it.
        state: Option<RequestedState>,
    },
    /// Lengthen an agent's timed wrap-up.
    ExtendWrapUp {
        /// The agent.
        agent: String,
        /// By how much.
        by: Duration,
    },
    /// Hang up a call (both legs get BYE).
    Hangup {
        /// The call (UUID text).
        call_id: String,
    },
    /// Click-to-dial: ring the agent, then the customer through the outbound trunk. Accepted
    /// (and the call id in use) before anything rings.
    MakeCall(crate::click_to_dial::MakeCall),
    /// Blind transfer of a connected or waiting call to one agent (its personal queue).
    TransferToAgent {
        /// The call (UUID text).
        call_id: String,
        /// The agent.
        agent: String,
    },
    /// Blind transfer of a connected or waiting call to an outside number or `sip:` URI,
    /// dialled through the outbound trunk; the call keeps its id.
    TransferToNumber {
        /// The call (UUID text).
        call_id: String,
        /// The number or URI.
        destination: String,
    },
    /// Turn a waiting call into a callback to `number` (the caller's own when `None`): it
    /// keeps its place; the customer is dialled when an agent takes it.
    RequestCallback {
        /// The call (UUID text).
        call_id: String,
        /// The number to call back.
        number: Option<String>,
    },
    /// A callback without a waiting call, placed through a queue now or not before a time.
    ScheduleCallback(crate::ScheduleCallback),
    /// Move a connected or waiting call to a queue (blind transfer by the CRM): the agent leg,
    /// if any, is released to wrap-up.
    TransferToQueue {
        /// The call (UUID text).
        call_id: String,
        /// The queue.
        queue: String,
    },
    /// Hold the customer of a connected call on music and offer a consultation to `target`
    /// (CSTA ConsultationCall); the consulted leg belongs to the same call.
    StartConsultation {
        /// The call (UUID text).
        call_id: String,
        /// Whom to consult.
        target: crate::ConsultTarget,
    },
    /// Bridge the customer to the consulted agent, who must have answered; the first agent
    /// goes to wrap-up (CSTA TransferCall).
    CompleteTransfer {
        /// The call (UUID text).
        call_id: String,
    },
    /// Join the customer, the first agent and the consulted agent, who must have answered, in
    /// one three-party conference (CSTA ConferenceCall).
    CompleteConference {
        /// The call (UUID text).
        call_id: String,
    },
    /// End the consultation; the customer is back with the first agent (CSTA ReconnectCall).
    CancelConsultation {
        /// The call (UUID text).
        call_id: String,
    },
    /// The commands that need no new leg (call data, priority, DTMF, hold, login, wrap-up,
    /// reload, etag preconditions): see [`ControlCommand`].
    Control(ControlCommand),
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// No call in progress has this id.
    #[error("no call {0}")]
    UnknownCall(String),
    /// The call has ended (it is among the recently ended calls).
    #[error("call {0} has ended")]
    CallEnded(String),
    /// No agent has this id.
    #[error("no agent {0}")]
    UnknownAgent(String),
    /// No queue has this name.
    #[error("no queue {0}")]
    UnknownQueue(String),
    /// The agent is not Ready (on a call, ringing, in wrap-up, paused or logged out).
    #[error("agent {0} is not ready")]
    AgentBusy(String),
    /// Neither a number nor a `sip:` URI the outbound trunk can dial.
    #[error("{0:?} cannot be dialled")]
    BadDestination(String),
    /// A device named at login that cannot be rung (see `agent_device.rs`).
    #[error("{0}")]
    BadDevice(String),
    /// The agent is not in wrap-up (or its wrap-up is not timed).
    #[error("agent {0} is not in wrap-up")]
    NotInWrapUp(String),
    /// The call is not waiting in a queue.
    #[error("call {0} is not queued")]
    NotQueued(String),
    /// The router refused it (state not allowed now).
    #[error("refused: {0}")]
    Refused(String),
    /// The call has no such leg (or the leg is not answered).
    #[error("no leg {leg_id} in call {call_id}")]
    UnknownLeg {
        /// The call.
        call_id: String,
        /// The leg.
        leg_id: String,
    },
    /// The leg's state does not allow it; `reason` is the API's stable reason
    /// (`LEG_NOT_HELD`, `LEG_ALREADY_HELD`, `LEG_NOT_CONNECTED`).
    #[error("leg {leg_id}: {reason}")]
    LegState {
        /// The leg.
        leg_id: String,
        /// Upper-case reason.
        reason: &'static str,
    },
    /// Not a DTMF digit.
    #[error("{0:?} is not a DTMF digit")]
    InvalidDigit(char),
    /// The resource changed since the client read its etag.
    #[error("etag mismatch (current {current})")]
    EtagMismatch {
        /// The etag now.
        current: String,
    },
    /// The call data would exceed the limit.
    #[error("call data of {size} bytes exceeds {limit}")]
    CallDataTooLarge {
        /// Size after the update.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The agent is on a call (logout without force).
    #[error("agent {0} is on a call")]
    AgentOnCall(String),
    /// The agent is not logged in.
    #[error("agent {0} is not logged in")]
    NotLoggedIn(String),
    /// The router refused the reloaded configuration; the running one stays.
    #[error("configuration refused: {0}")]
    ConfigRefused(String),
    /// The engine task has stopped.
    #[error("the call engine has stopped")]
    Stopped,
}

impl Engine {
    /// Carries out an API command on behalf of `request_id`: every event it causes here
    /// carries that id (issue 7).
    pub fn handle_request(
        &mut self,
        now: Instant,
        command: EngineCommand,
        request_id: Option<String>,
    ) -> Result<(), CommandError> {
        self.request_id = request_id;
        let result = self.handle_command(now, command);
        self.request_id = None;
        result
    }

    /// Carries out an API command.
    pub fn handle_command(
        &mut self,
        now: Instant,
        command: EngineCommand,
    ) -> Result<(), CommandError> {
        let result = match command {
            EngineCommand::SetAgentState { agent, state } => self.router_command(
                now,
                RouterInput::AgentState {
                    agent: agent.as_str().into(),
                    state,
                },
            ),
            EngineCommand::SetNextState { agent, state } => self.router_command(
                now,
                RouterInput::AgentNextState {
                    agent: agent.as_str().into(),
                    state,
                },
            ),
            EngineCommand::ExtendWrapUp { agent, by } => self.router_command(
                now,
                RouterInput::ExtendWrapUp {
                    agent: agent.as_str().into(),
                    by,
                },
            ),
            EngineCommand::Hangup { call_id } => {
                if self.cancel_scheduled_callback(&call_id) {
                    return Ok(());
                }
                let id = self.call_by_text(&call_id)?;
                self.end_call(
                    now,
                    id,
                    Ending {
                        side: HangupSide::System,
                        reason: "api-hangup",
                    },
                );
                Ok(())
            }
            EngineCommand::MakeCall(request) => self.make_call(now, request),
            EngineCommand::RequestCallback { call_id, number } => {
                let id = self.call_by_text(&call_id)?;
                self.request_callback(now, id, number, None)
            }
            EngineCommand::ScheduleCallback(request) => self.schedule_callback(now, request),
            EngineCommand::TransferToAgent { call_id, agent } => {
                let id = self.call_by_text(&call_id)?;
                if self.config.agent(&agent).is_none() {
                    return Err(CommandError::UnknownAgent(agent));
                }
                let queue = crate::acd_map::personal_queue(&agent);
                match self.calls.get(&id).and_then(|c| c.connected) {
                    Some(offer) => self.transfer_to_queue(now, id, offer, &agent, &queue),
                    None => {
                        self.abandon_in_router(now, id);
                        self.enqueue(now, id, &queue);
                    }
                }
                Ok(())
            }
            EngineCommand::TransferToNumber {
                call_id,
                destination,
            } => {
                let id = self.call_by_text(&call_id)?;
                let dialable = self
                    .config
                    .default_outbound_trunk()
                    .and_then(|t| t.outbound.as_ref())
                    .is_some_and(|o| o.request_uri(&destination).is_some());
                if !dialable {
                    return Err(CommandError::BadDestination(destination));
                }
                let call = self.calls.get(&id);
                if call.is_some_and(|c| c.caller.dialog.is_none() || c.far.is_some()) {
                    return Err(CommandError::Refused(
                        "the customer is not on the line, or already forwarded".into(),
                    ));
                }
                match call.and_then(|c| c.connected) {
                    Some(offer) => self.transfer_out(now, id, offer, &destination),
                    None => {
                        self.abandon_in_router(now, id);
                        self.forward(now, id, &destination);
                    }
                }
                Ok(())
            }
            EngineCommand::TransferToQueue { call_id, queue } => {
                let id = self.call_by_text(&call_id)?;
                if self.config.queue(&queue).is_none() {
                    return Err(CommandError::UnknownQueue(queue));
                }
                match self.calls.get(&id).and_then(|c| c.connected) {
                    Some(offer) => self.transfer_to_queue(now, id, offer, &queue, &queue),
                    None => {
                        // Waiting or ringing: leave the current queue, join the new one.
                        self.abandon_in_router(now, id);
                        self.enqueue(now, id, &queue);
                    }
                }
                Ok(())
            }
            EngineCommand::StartConsultation { call_id, target } => {
                let id = self.call_by_text(&call_id)?;
                self.start_consultation(now, id, target)
            }
            EngineCommand::CompleteTransfer { call_id } => {
                let id = self.call_by_text(&call_id)?;
                self.complete_consultation(now, id)
            }
            EngineCommand::CompleteConference { call_id } => {
                let id = self.call_by_text(&call_id)?;
                self.complete_conference(now, id)
            }
            EngineCommand::CancelConsultation { call_id } => {
                let id = self.call_by_text(&call_id)?;
                self.cancel_consultation(now, id)
            }
            EngineCommand::Control(command) => self.control(now, command),
        };
        self.drain(now);
        result
    }

    pub(crate) fn router_command(
        &mut self,
        now: Instant,
        input: RouterInput,
    ) -> Result<(), CommandError> {
        self.router.handle_input(now, input).map_err(|e| match e {
            RouterError::UnknownAgent(agent) => CommandError::UnknownAgent(agent.to_string()),
            RouterError::UnknownQueue(queue) => CommandError::UnknownQueue(queue.to_string()),
            RouterError::NotInTimedWrapUp(agent) => CommandError::NotInWrapUp(agent.to_string()),
            RouterError::CallNotWaiting(call) => {
                CommandError::NotQueued(crate::ids::uuid_text(call.0))
            }
            other => CommandError::Refused(other.to_string()),
        })
    }

    pub(crate) fn call_by_text(&self, call_id: &str) -> Result<u128, CommandError> {
        match self.calls.values().find(|c| c.text_id == call_id) {
            Some(c) => Ok(c.id),
            None if self.recently_ended(call_id) => Err(CommandError::CallEnded(call_id.into())),
            None => Err(CommandError::UnknownCall(call_id.to_string())),
        }
    }
}
