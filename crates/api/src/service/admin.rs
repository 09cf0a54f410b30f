//! AdminService: status, reload, open streams.

use std::time::SystemTime;

use tonic::{Request, Response, Status};

use crate::names;
use crate::pb;
use crate::pb::admin_service_server::AdminService;
use crate::service::Shared;
use crate::service::events::journal_info;

pub(crate) struct Admin(pub(crate) Shared);

#[tonic::async_trait]
impl AdminService for Admin {
    async fn get_status(
        &self,
        _request: Request<pb::GetStatusRequest>,
    ) -> Result<Response<pb::ServerStatus>, Status> {
        let status = self.0.engine.status().await?;
        let info = self.0.pool.info().await?;
        let uptime = SystemTime::now()
            .duration_since(self.0.started_at)
            .unwrap_or_default();
        Ok(Response::new(pb::ServerStatus {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            started_at: Some(status.started_at.into()),
            uptime: prost_types::Duration::try_from(uptime).ok(),
            active_calls: status.active_calls,
            queued_calls: status.queued_calls,
            agents_logged_in: status.agents_logged_in,
            agents_ready: status.agents_ready,
            subscriptions: u32::try_from(self.0.registry.len()).unwrap_or(u32::MAX),
            journal: Some(journal_info(&self.0, &info)),
            config_digest: status.config_digest,
        }))
    }

    async fn reload_config(
        &self,
        request: Request<pb::ReloadConfigRequest>,
    ) -> Result<Response<pb::ReloadConfigResponse>, Status> {
        let request_id = names::request_id(&request.get_ref().request_id)?;
        let outcome = self.0.engine.reload_config(&request_id).await?;
        Ok(Response::new(pb::ReloadConfigResponse {
            request_id,
            changed: outcome.changed,
            config_digest: outcome.config_digest,
        }))
    }

    async fn list_subscriptions(
        &self,
        _request: Request<pb::ListSubscriptionsRequest>,
    ) -> Result<Response<pb::ListSubscriptionsResponse>, Status> {
        let head = self.0.pool.info().await?.head_seq;
        Ok(Response::new(pb::ListSubscriptionsResponse {
            subscriptions: self.0.registry.list(head),
        }))
    }
}
