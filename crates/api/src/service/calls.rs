//! CallService: reads and CSTA call control, validated here and handed to the engine.

use std::time::Instant;

use tonic::{Request, Response, Status};

use crate::auth::principal_of;
use crate::error::ApiError;
use crate::names;
use crate::pb;
use crate::pb::call_service_server::CallService;
use crate::seam::{Accepted, Action, Command};
use crate::service::Shared;

const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1000;

pub(crate) struct Calls(pub(crate) Shared);

fn end_reason(value: i32) -> pb::EndReason {
    match pb::EndReason::try_from(value) {
        Ok(pb::EndReason::Unspecified) | Err(_) => pb::EndReason::Api,
        Ok(reason) => reason,
    }
}

impl Calls {
    /// Sends a command and renders the acceptance.
    async fn command<T>(
        &self,
        request: &Request<T>,
        request_id: &str,
        action: Action,
    ) -> Result<(String, Accepted), Status> {
        let request_id = names::request_id(request_id)?;
        let accepted = self
            .0
            .engine
            .execute(Command {
                request_id: request_id.clone(),
                actor: principal_of(request).name,
                action,
            })
            .await?;
        Ok((request_id, accepted))
    }

    /// Sends a command whose response is [`pb::CommandAccepted`]; a retry with the same
    /// `request_id` gets the first response back without reaching the engine (AIP-155).
    async fn ack<T>(
        &self,
        method: &'static str,
        request: &Request<T>,
        request_id: &str,
        call_id: String,
        action: Action,
    ) -> Result<Response<pb::CommandAccepted>, Status> {
        let principal = principal_of(request).name;
        if !request_id.is_empty()
            && let Some(first) = self
                .0
                .recent
                .get(&principal, method, request_id, Instant::now())
        {
            return Ok(Response::new(first));
        }
        let (request_id, accepted) = self.command(request, request_id, action).await?;
        let response = pb::CommandAccepted {
            request_id,
            call_id: accepted.call_id.unwrap_or(call_id),
            leg_id: accepted.leg_id.unwrap_or_default(),
            created_id: accepted.created_id.unwrap_or_default(),
        };
        self.0.recent.put(
            &principal,
            method,
            &response.request_id,
            &response,
            Instant::now(),
        );
        Ok(Response::new(response))
    }
}

#[tonic::async_trait]
impl CallService for Calls {
    async fn get_call(
        &self,
        request: Request<pb::GetCallRequest>,
    ) -> Result<Response<pb::Call>, Status> {
        let id = names::call("name", &request.get_ref().name)?;
        Ok(Response::new(self.0.engine.call(&id).await?))
    }

    async fn list_calls(
        &self,
        request: Request<pb::ListCallsRequest>,
    ) -> Result<Response<pb::ListCallsResponse>, Status> {
        let r = request.into_inner();
        let state = pb::CallState::try_from(r.state).unwrap_or(pb::CallState::Unspecified);
        let offset = if r.page_token.is_empty() {
            0
        } else {
            r.page_token
                .parse::<usize>()
                .map_err(|_| ApiError::invalid("page_token", "not a token from ListCalls"))?
        };
        let size = match r.page_size as usize {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        };
        let matching: Vec<pb::Call> = self
            .0
            .engine
            .calls()
            .await?
            .into_iter()
            .filter(|c| state == pb::CallState::Unspecified || c.state == state as i32)
            .filter(|c| r.queue.is_empty() || c.queue.as_ref().is_some_and(|q| q.queue == r.queue))
            .filter(|c| r.agent.is_empty() || c.legs.iter().any(|l| l.agent == r.agent))
            .collect();
        let end = offset.saturating_add(size).min(matching.len());
        let calls = matching
            .get(offset..end)
            .map(<[_]>::to_vec)
            .unwrap_or_default();
        Ok(Response::new(pb::ListCallsResponse {
            calls,
            next_page_token: if end < matching.len() {
                end.to_string()
            } else {
                String::new()
            },
        }))
    }

    async fn make_call(
        &self,
        request: Request<pb::MakeCallRequest>,
    ) -> Result<Response<pb::CommandAccepted>, Status> {
        let r = request.get_ref();
        let call_id = names::new_call_id(&r.call_id)?;
        let action = Action::MakeCall {
            agent: names::agent("agent", &r.agent)?,
            to: names::number("to", &r.to)?,
            caller_id: names::optional(&r.caller_id),
            call_data: names::call_data("call_data", &r.call_data)?,
            call_id: call_id.clone(),
        };
        self.ack("MakeCall", &request, &r.request_id, call_id, action)
            .await
    }

    async fn hangup_leg(
        &self,
        request: Request<pb::HangupLegRequest>,
    ) -> Result<Response<pb::CommandAccepted>, Status> {
        let r = request.get_ref();
        let leg = names::leg("leg", &r.leg)?;
        let call_id = leg.call_id.clone();
        let action = Action::HangupLeg {
            leg,
            reason: end_reason(r.reason),
        };
        self.ack("HangupLeg", &request, &r.request_id, call_id, action)
            .await
    }

    async fn end_call(
        &self,
        request: Request<pb::EndCallRequest>,
    ) -> Result<Response<pb::CommandAccepted>, Status> {
        let r = request.get_ref();
        let call_id = names::call("call", &r.call)?;
        let action = Action::EndCall {
            call_id: call_id.clone(),
            reason: end_reason(r.reason),
        };
        self.ack("EndCall", &request, &r.request_id, call_id, action)
            .await
    }

    async fn hold_leg(
        &self,
        request: Request<pb::HoldLegRequest>,
    ) -> Result<Response<pb::CommandAccepted>, Status> {
        let r = request.get_ref();
        let leg = names::leg("leg", &r.leg)?;
        let call_id = leg.call_id.clone();
        self.ack(
            "HoldLeg",
            &request,
            &r.request_id,
            call_id,
            Action::HoldLeg { leg },
        )
        .await
    }

    async fn retrieve_leg(
        &self,
        request: Request<pb::RetrieveLegRequest>,
    ) -> Result<Response<pb::CommandAccepted>, Status> {
        let r = request.get_ref();
        let leg = names::leg("leg", &r.leg)?;
        let call_id = leg.call_id.clone();
        self.ack(
            "RetrieveLeg",
            &request,
            &r.request_id,
            call_id,
            Action::RetrieveLeg { leg },
        )
        .await
    }

    async fn blind_transfer(
        &self,
        request: Request<pb::BlindTransferRequest>,
    ) -> Result<Response<pb::CommandAccepted>, Status> {
        let r = request.get_ref();
        let leg = names::leg("leg", &r.leg)?;
        let call_id = leg.call_id.clone();
        let action = Action::BlindTransfer {
            leg,
            target: names::target(r.target.as_ref())?,
            call_data: names::call_data("call_data", &r.call_data)?,
        };
        self.ack("BlindTransfer", &request, &r.request_id, call_id, action)
            .await
    }

    async fn start_consultation(
        &self,
        request: Request<pb::StartConsultationRequest>,
    ) -> Result<Response<pb::CommandAccepted>, Status> {
        let r = request.get_ref();
        let leg = names::leg("leg", &r.leg)?;
        let call_id = leg.call_id.clone();
        let purpose = match pb::ConsultPurpose::try_from(r.purpose) {
            Ok(pb::ConsultPurpose::Unspecified) | Err(_) => pb::ConsultPurpose::Transfer,
            Ok(p) => p,
        };
        let action = Action::StartConsultation {
            leg,
            target: names::target(r.target.as_ref())?,
            purpose,
        };
        self.ack(
            "StartConsultation",
            &request,
            &r.request_id,
            call_id,
            action,
        )
        .await
    }

    async fn complete_transfer(
        &self,
        request: Request<pb::CompleteTransferRequest>,
    ) -> Result<Response<pb::CommandAccepted>, Status> {
        let r = request.get_ref();
        let consult_leg = names::leg("consult_leg", &r.consult_leg)?;
        let call_id = consult_leg.call_id.clone();
        let action = Action::CompleteTransfer { consult_leg };
        self.ack("CompleteTransfer", &request, &r.request_id, call_id, action)
            .await
    }

    async fn complete_conference(
        &self,
        request: Request<pb::CompleteConferenceRequest>,
    ) -> Result<Response<pb::CommandAccepted>, Status> {
        let r = request.get_ref();
        let consult_leg = names::leg("consult_leg", &r.consult_leg)?;
        let call_id = consult_leg.call_id.clone();
        let action = Action::CompleteConference { consult_leg };
        self.ack(
            "CompleteConference",
            &request,
            &r.request_id,
            call_id,
            action,
        )
        .await
    }

    async fn cancel_consultation(
        &self,
        request: Request<pb::CancelConsultationRequest>,
    ) -> Result<Response<pb::CommandAccepted>, Status> {
        let r = request.get_ref();
        let consult_leg = names::leg("consult_leg", &r.consult_leg)?;
        let call_id = consult_leg.call_id.clone();
        let action = Action::CancelConsultation { consult_leg };
        self.ack(
            "CancelConsultation",
            &request,
            &r.request_id,
            call_id,
            action,
        )
        .await
    }

    async fn send_dtmf(
        &self,
        request: Request<pb::SendDtmfRequest>,
    ) -> Result<Response<pb::CommandAccepted>, Status> {
        let r = request.get_ref();
        let leg = names::leg("leg", &r.leg)?;
        let call_id = leg.call_id.clone();
        let action = Action::SendDtmf {
            leg,
            digits: names::digits(&r.digits)?,
        };
        self.ack("SendDtmf", &request, &r.request_id, call_id, action)
            .await
    }

    async fn update_call_data(
        &self,
        request: Request<pb::UpdateCallDataRequest>,
    ) -> Result<Response<pb::CallData>, Status> {
        let r = request.get_ref();
        let call_id = names::call("call", &r.call)?;
        for key in &r.remove {
            if key.is_empty() {
                return Err(ApiError::invalid("remove", "empty key").into());
            }
        }
        let action = Action::UpdateCallData {
            call_id: call_id.clone(),
            set: names::call_data("set", &r.set)?,
            remove: r.remove.clone(),
            etag: names::optional(&r.etag),
        };
        let (_, accepted) = self.command(&request, &r.request_id, action).await?;
        let data = match accepted.call_data {
            Some(data) => data,
            None => self
                .0
                .engine
                .call(&call_id)
                .await?
                .call_data
                .unwrap_or_default(),
        };
        Ok(Response::new(data))
    }

    async fn set_call_priority(
        &self,
        request: Request<pb::SetCallPriorityRequest>,
    ) -> Result<Response<pb::CommandAccepted>, Status> {
        let r = request.get_ref();
        let call_id = names::call("call", &r.call)?;
        let wait_adjustment = match r.wait_adjustment {
            None => std::time::Duration::ZERO,
            Some(d) => std::time::Duration::try_from(d)
                .map_err(|_| ApiError::invalid("wait_adjustment", "must not be negative"))?,
        };
        let action = Action::SetCallPriority {
            call_id: call_id.clone(),
            priority: r.priority,
            wait_adjustment,
        };
        self.ack("SetCallPriority", &request, &r.request_id, call_id, action)
            .await
    }

    async fn request_callback(
        &self,
        request: Request<pb::RequestCallbackRequest>,
    ) -> Result<Response<pb::CommandAccepted>, Status> {
        let r = request.get_ref();
        let call_id = if r.call.is_empty() {
            None
        } else {
            Some(names::call("call", &r.call)?)
        };
        let not_before = match r.not_before {
            None => None,
            Some(t) => Some(
                std::time::SystemTime::try_from(t)
                    .map_err(|_| ApiError::invalid("not_before", "not a valid time"))?,
            ),
        };
        let callback_id = match &call_id {
            Some(id) => id.clone(),
            None => names::new_call_id("")?,
        };
        let action = Action::RequestCallback {
            call_id: call_id.clone(),
            callback_id: callback_id.clone(),
            queue: names::queue("queue", &r.queue)?,
            number: names::number("number", &r.number)?,
            not_before,
        };
        self.ack(
            "RequestCallback",
            &request,
            &r.request_id,
            callback_id,
            action,
        )
        .await
    }
}
