//! End to end over the daemon's gRPC API: the `[api]` tokens from the demo configuration guard
//! it, GetStatus answers from the running engine, and Subscribe serves the journal the engine
//! (and the restart recovery) wrote, decoded as `switchboard.v1.Event`s.

mod common;

use std::time::Duration;

use common::Daemon;
use switchboard_api::pb;
use switchboard_api::pb::admin_service_client::AdminServiceClient;
use switchboard_api::pb::event_service_client::EventServiceClient;
use tonic::metadata::MetadataValue;

/// The demo configuration's token (config/switchboard.toml `[[api.token]]`).
const DEMO_TOKEN: &str = "demo-token-change-me";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn authorized<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value = MetadataValue::try_from(format!("Bearer {token}")).expect("ascii token");
    request.metadata_mut().insert("authorization", value);
    request.set_timeout(Duration::from_secs(10));
    request
}

#[test]
fn get_status_answers_with_the_demo_token_and_refuses_a_wrong_one_unauthenticated() {
    let daemon = Daemon::start();
    let endpoint = format!("http://{}", daemon.grpc);
    runtime().block_on(async {
        let mut admin = AdminServiceClient::connect(endpoint)
            .await
            .expect("connect to the daemon's gRPC");
        let status = admin
            .get_status(authorized(pb::GetStatusRequest {}, DEMO_TOKEN))
            .await
            .expect("GetStatus with the demo token")
            .into_inner();
        assert!(!status.config_digest.is_empty(), "{status:?}");
        let refused = admin
            .get_status(authorized(pb::GetStatusRequest {}, "not-the-demo-token"))
            .await
            .expect_err("a wrong token is refused");
        assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");
    });
}

#[test]
fn subscribe_from_the_start_gets_caught_up_on_a_fresh_journal_with_its_epoch() {
    let daemon = Daemon::start();
    let endpoint = format!("http://{}", daemon.grpc);
    runtime().block_on(async {
        let mut events = EventServiceClient::connect(endpoint)
            .await
            .expect("connect to the daemon's gRPC");
        let request = pb::SubscribeRequest {
            start: Some(pb::subscribe_request::Start::AfterSeq(0)),
            client_name: "e2e".into(),
            ..Default::default()
        };
        let mut stream = events
            .subscribe(authorized(request, DEMO_TOKEN))
            .await
            .expect("Subscribe")
            .into_inner();
        // The journal is replayed, then CaughtUp marks the switch to live.
        let caught_up = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let message = stream.message().await.expect("stream").expect("open");
                if let Some(pb::subscribe_response::Kind::CaughtUp(c)) = message.kind {
                    return c;
                }
            }
        })
        .await
        .expect("CaughtUp within 10 s");
        assert!(!caught_up.journal_epoch.is_empty(), "{caught_up:?}");
    });
}
