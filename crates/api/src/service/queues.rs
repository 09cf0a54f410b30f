//! QueueService: queues with live statistics.

use tonic::{Request, Response, Status};

use crate::names;
use crate::pb;
use crate::pb::queue_service_server::QueueService;
use crate::service::Shared;

pub(crate) struct Queues(pub(crate) Shared);

#[tonic::async_trait]
impl QueueService for Queues {
    async fn get_queue(
        &self,
        request: Request<pb::GetQueueRequest>,
    ) -> Result<Response<pb::Queue>, Status> {
        let queue = names::queue("name", &request.get_ref().name)?;
        Ok(Response::new(self.0.engine.queue(&queue).await?))
    }

    async fn list_queues(
        &self,
        _request: Request<pb::ListQueuesRequest>,
    ) -> Result<Response<pb::ListQueuesResponse>, Status> {
        Ok(Response::new(pb::ListQueuesResponse {
            queues: self.0.engine.queues().await?,
        }))
    }
}
