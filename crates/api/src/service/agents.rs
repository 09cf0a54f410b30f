//! AgentService: agent reads and state changes (CSTA SetAgentState with a pending state).

use std::time::Duration;

use tonic::{Request, Response, Status};

use crate::auth::principal_of;
use crate::error::ApiError;
use crate::names;
use crate::pb;
use crate::pb::agent_service_server::AgentService;
use crate::seam::{Action, Command};
use crate::service::Shared;

/// Longest wrap-up notes stored in the CDR.
const MAX_NOTES: usize = 4096;
/// Longest wrap-up extension at once.
const MAX_EXTEND: Duration = Duration::from_secs(3600);

pub(crate) struct Agents(pub(crate) Shared);

impl Agents {
    async fn command<T>(
        &self,
        request: &Request<T>,
        request_id: &str,
        agent: &str,
        action: Action,
    ) -> Result<Response<pb::Agent>, Status> {
        let accepted = self
            .0
            .engine
            .execute(Command {
                request_id: names::request_id(request_id)?,
                actor: principal_of(request).name,
                action,
            })
            .await?;
        let agent = match accepted.agent {
            Some(agent) => agent,
            None => self.0.engine.agent(agent).await?,
        };
        Ok(Response::new(agent))
    }
}

#[tonic::async_trait]
impl AgentService for Agents {
    async fn get_agent(
        &self,
        request: Request<pb::GetAgentRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        let agent = names::agent("name", &request.get_ref().name)?;
        Ok(Response::new(self.0.engine.agent(&agent).await?))
    }

    async fn list_agents(
        &self,
        request: Request<pb::ListAgentsRequest>,
    ) -> Result<Response<pb::ListAgentsResponse>, Status> {
        let r = request.into_inner();
        let agents = self
            .0
            .engine
            .agents()
            .await?
            .into_iter()
            .filter(|a| r.state == 0 || a.state == r.state)
            .filter(|a| r.queue.is_empty() || a.queues.contains(&r.queue))
            .collect();
        Ok(Response::new(pb::ListAgentsResponse { agents }))
    }

    async fn login_agent(
        &self,
        request: Request<pb::LoginAgentRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        let r = request.get_ref();
        let agent = names::agent("agent", &r.agent)?;
        let device = match r.device.as_str() {
            "" => None,
            d => Some(names::number("device", d)?),
        };
        let action = Action::LoginAgent {
            agent: agent.clone(),
            device,
            ready: r.ready,
        };
        self.command(&request, &r.request_id, &agent, action).await
    }

    async fn logout_agent(
        &self,
        request: Request<pb::LogoutAgentRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        let r = request.get_ref();
        let agent = names::agent("agent", &r.agent)?;
        let action = Action::LogoutAgent {
            agent: agent.clone(),
            reason_code: names::optional(&r.reason_code),
            force: r.force,
        };
        self.command(&request, &r.request_id, &agent, action).await
    }

    async fn set_agent_state(
        &self,
        request: Request<pb::SetAgentStateRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        let r = request.get_ref();
        let agent = names::agent("agent", &r.agent)?;
        let state = match pb::AgentState::try_from(r.state) {
            Ok(s @ (pb::AgentState::Ready | pb::AgentState::NotReady)) => s,
            _ => {
                return Err(ApiError::invalid(
                    "state",
                    "only AGENT_STATE_READY or AGENT_STATE_NOT_READY can be requested",
                )
                .into());
            }
        };
        if state == pb::AgentState::Ready && !r.reason_code.is_empty() {
            return Err(
                ApiError::invalid("reason_code", "only NOT_READY takes a reason code").into(),
            );
        }
        let after_current_work = matches!(
            pb::StateChangeWhen::try_from(r.when),
            Ok(pb::StateChangeWhen::AfterCurrentWork)
        );
        let action = Action::SetAgentState {
            agent: agent.clone(),
            state,
            reason_code: names::optional(&r.reason_code),
            after_current_work,
            etag: names::optional(&r.etag),
        };
        self.command(&request, &r.request_id, &agent, action).await
    }

    async fn complete_wrap_up(
        &self,
        request: Request<pb::CompleteWrapUpRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        let r = request.get_ref();
        let agent = names::agent("agent", &r.agent)?;
        if r.notes.len() > MAX_NOTES {
            return Err(
                ApiError::invalid("notes", format!("longer than {MAX_NOTES} bytes")).into(),
            );
        }
        let call_id = match r.call_id.as_str() {
            "" => None,
            c => Some(names::call("call_id", c)?),
        };
        let action = Action::CompleteWrapUp {
            agent: agent.clone(),
            call_id,
            disposition_code: r.disposition_code.clone(),
            notes: r.notes.clone(),
        };
        self.command(&request, &r.request_id, &agent, action).await
    }

    async fn extend_wrap_up(
        &self,
        request: Request<pb::ExtendWrapUpRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        let r = request.get_ref();
        let agent = names::agent("agent", &r.agent)?;
        let extend_by = r
            .extend_by
            .and_then(|d| Duration::try_from(d).ok())
            .filter(|d| *d >= Duration::from_secs(1) && *d <= MAX_EXTEND)
            .ok_or_else(|| ApiError::invalid("extend_by", "1 s to 1 h"))?;
        let action = Action::ExtendWrapUp {
            agent: agent.clone(),
            extend_by,
        };
        self.command(&request, &r.request_id, &agent, action).await
    }
}
