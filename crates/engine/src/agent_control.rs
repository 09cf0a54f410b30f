//! The agent commands of [`crate::ControlCommand`]: login, logout, wrap-up completion.

use std::time::Instant;

use switchboard_acd::{AgentState, ReasonCode, RequestedState, RouterInput};
use switchboard_proto::codec::journal_event;
use switchboard_proto::pb;
use switchboard_proto::pb::event::Payload;

use crate::command::CommandError;
use crate::engine::Engine;

impl Engine {
    pub(crate) fn login(
        &mut self,
        now: Instant,
        agent: &str,
        ready: bool,
        device: Option<String>,
    ) -> Result<(), CommandError> {
        let view = self
            .router
            .agent(agent)
            .ok_or_else(|| CommandError::UnknownAgent(agent.to_owned()))?;
        if let Some(device) = device {
            crate::agent_device::device_target(&device)
                .map_err(|e| CommandError::BadDevice(e.to_string()))?;
            self.login_devices.insert(agent.to_owned(), device);
        }
        if view.state.is_logged_in() {
            // Already in: a login that would change a Not Ready agent to Ready does so.
            if ready && matches!(view.state, AgentState::NotReady(_)) {
                return self.router_command(
                    now,
                    RouterInput::AgentState {
                        agent: agent.into(),
                        state: RequestedState::Ready,
                    },
                );
            }
            return Ok(());
        }
        let state = if ready {
            RequestedState::Ready
        } else {
            RequestedState::NotReady(ReasonCode::from("login"))
        };
        self.router_command(
            now,
            RouterInput::AgentState {
                agent: agent.into(),
                state,
            },
        )?;
        self.drain(now);
        let wall = self.wall(now);
        let rendered = self.agent_view(now, agent);
        let event = pb::Event {
            agent: agent.to_owned(),
            payload: Some(Payload::AgentLoggedIn(pb::AgentLoggedIn {
                agent: rendered,
            })),
            ..Default::default()
        };
        self.journal(vec![journal_event(wall, &event)]);
        Ok(())
    }

    pub(crate) fn logout(
        &mut self,
        now: Instant,
        agent: &str,
        reason_code: Option<String>,
        force: bool,
    ) -> Result<(), CommandError> {
        let view = self
            .router
            .agent(agent)
            .ok_or_else(|| CommandError::UnknownAgent(agent.to_owned()))?;
        if !view.state.is_logged_in() {
            return Err(CommandError::NotLoggedIn(agent.to_owned()));
        }
        let working = matches!(
            view.state,
            AgentState::Reserved { .. } | AgentState::OnCall { .. }
        );
        if working && !force {
            return Err(CommandError::AgentOnCall(agent.to_owned()));
        }
        // On a call (forced) the router keeps LoggedOut as the state after the call.
        self.router_command(
            now,
            RouterInput::AgentState {
                agent: agent.into(),
                state: RequestedState::LoggedOut,
            },
        )?;
        self.login_devices.remove(agent);
        let wall = self.wall(now);
        let event = pb::Event {
            agent: agent.to_owned(),
            payload: Some(Payload::AgentLoggedOut(pb::AgentLoggedOut {
                agent: agent.to_owned(),
                reason_code: reason_code.unwrap_or_default(),
            })),
            ..Default::default()
        };
        self.journal(vec![journal_event(wall, &event)]);
        Ok(())
    }

    pub(crate) fn complete_wrap_up(
        &mut self,
        now: Instant,
        agent: &str,
        call_id: Option<String>,
        disposition_code: String,
        notes: String,
    ) -> Result<(), CommandError> {
        let view = self
            .router
            .agent(agent)
            .ok_or_else(|| CommandError::UnknownAgent(agent.to_owned()))?;
        if !matches!(view.state, AgentState::WrapUp { .. }) {
            return Err(CommandError::NotInWrapUp(agent.to_owned()));
        }
        let wrapped = self.last_call_of.get(agent).cloned();
        if let Some(named) = &call_id
            && wrapped.as_ref() != Some(named)
        {
            return Err(CommandError::UnknownCall(named.clone()));
        }
        let next = view.pending.clone().unwrap_or(RequestedState::Ready);
        self.router_command(
            now,
            RouterInput::AgentState {
                agent: agent.into(),
                state: next,
            },
        )?;
        let wall = self.wall(now);
        let call_id = wrapped.unwrap_or_default();
        if !call_id.is_empty() {
            // The disposition goes into the call's CDR (written when the call ended).
            self.store(
                switchboard_store::WriteOp::Disposition {
                    call_id: call_id.clone(),
                    disposition_code: disposition_code.clone(),
                    notes: notes.clone(),
                },
                crate::engine::AfterCommit::Nothing,
            );
        }
        let event = pb::Event {
            agent: agent.to_owned(),
            call_id: call_id.clone(),
            payload: Some(Payload::WrapUpCompleted(pb::WrapUpCompleted {
                agent: agent.to_owned(),
                call_id,
                disposition_code,
                notes,
            })),
            ..Default::default()
        };
        self.journal(vec![journal_event(wall, &event)]);
        Ok(())
    }
}
