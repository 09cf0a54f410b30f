//! A gRPC client for the e2e tests: the demo token, one runtime, the call and agent services,
//! and the waits most tests need (the call connected to an agent).

use std::time::{Duration, Instant};

use switchboard_api::pb;
use switchboard_api::pb::agent_service_client::AgentServiceClient;
use switchboard_api::pb::call_service_client::CallServiceClient;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

use super::Daemon;
use super::events::DEMO_TOKEN;

/// `message` with the demo token and a 10 s deadline.
pub(crate) fn authorized<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value = MetadataValue::try_from(format!("Bearer {DEMO_TOKEN}")).expect("ascii token");
    request.metadata_mut().insert("authorization", value);
    request.set_timeout(Duration::from_secs(10));
    request
}

/// The test's gRPC clients, on one runtime.
pub(crate) struct Api {
    pub(crate) runtime: tokio::runtime::Runtime,
    pub(crate) calls: CallServiceClient<Channel>,
    pub(crate) agents: AgentServiceClient<Channel>,
}

impl Api {
    pub(crate) fn connect(daemon: &Daemon) -> Api {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let channel = runtime.block_on(async {
            Channel::from_shared(format!("http://{}", daemon.grpc))
                .expect("url")
                .connect()
                .await
                .expect("connect")
        });
        Api {
            runtime,
            calls: CallServiceClient::new(channel.clone()),
            agents: AgentServiceClient::new(channel),
        }
    }

    /// The call connected to `agent`, once it is (20 s at most).
    pub(crate) fn connected_call(&mut self, daemon: &Daemon, agent: &str) -> pb::Call {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let listed = self
                .runtime
                .block_on(
                    self.calls
                        .list_calls(authorized(pb::ListCallsRequest::default())),
                )
                .expect("ListCalls")
                .into_inner()
                .calls;
            if let Some(call) = listed
                .into_iter()
                .find(|c| c.state() == pb::CallState::Connected && c.agent == agent)
            {
                return call;
            }
            assert!(
                Instant::now() < deadline,
                "no call connected to {agent}\n{}",
                super::tail(&daemon.log(), 4000)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn blind_transfer(
        &mut self,
        call: &pb::Call,
        request_id: &str,
        target: pb::transfer_target::Target,
    ) -> Result<pb::CommandAccepted, tonic::Status> {
        // The leg that leaves is the agent's (the customer's is the first).
        let leg = call
            .legs
            .iter()
            .find(|l| l.role() == pb::LegRole::Agent)
            .or(call.legs.last())
            .map(|l| l.leg_id.clone())
            .unwrap_or_default();
        self.runtime
            .block_on(
                self.calls
                    .blind_transfer(authorized(pb::BlindTransferRequest {
                        request_id: request_id.into(),
                        leg: format!("calls/{}/legs/{leg}", call.call_id),
                        target: Some(pb::TransferTarget {
                            target: Some(target),
                        }),
                        ..Default::default()
                    })),
            )
            .map(tonic::Response::into_inner)
    }

    /// Logs `agent` out so that it takes none of the next case's calls.
    pub(crate) fn logout(&mut self, agent: &str) {
        self.runtime
            .block_on(self.agents.logout_agent(authorized(pb::LogoutAgentRequest {
                agent: agent.into(),
                force: true,
                ..Default::default()
            })))
            .unwrap_or_else(|s| panic!("LogoutAgent {agent}: {s:?}"));
    }
}
