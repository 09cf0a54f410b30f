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

/// Sets agent 1001's state over the API; the engine journals an `AgentStateChanged`.
async fn set_state(grpc: std::net::SocketAddr, state: pb::AgentState, reason: &str) {
    let mut agents =
        pb::agent_service_client::AgentServiceClient::connect(format!("http://{grpc}"))
            .await
            .expect("connect");
    let request = pb::SetAgentStateRequest {
        agent: "1001".into(),
        state: state as i32,
        reason_code: reason.into(),
        ..Default::default()
    };
    // The reply's Agent needs engine reads this build lacks; the change shows in the journal.
    let _ = agents
        .set_agent_state(authorized(request, DEMO_TOKEN))
        .await;
}

/// The first journaled event after `after_seq`, read with Subscribe pinned to `epoch`.
async fn first_after(grpc: std::net::SocketAddr, after_seq: u64, epoch: &str) -> pb::Event {
    let mut events = EventServiceClient::connect(format!("http://{grpc}"))
        .await
        .expect("connect");
    let request = pb::SubscribeRequest {
        start: Some(pb::subscribe_request::Start::AfterSeq(after_seq)),
        journal_epoch: epoch.into(),
        ..Default::default()
    };
    let mut stream = events
        .subscribe(authorized(request, DEMO_TOKEN))
        .await
        .expect("Subscribe")
        .into_inner();
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let message = stream.message().await.expect("stream").expect("open");
            if let Some(pb::subscribe_response::Kind::Event(e)) = message.kind {
                return e;
            }
        }
    })
    .await
    .expect("an event within 10 s")
}

#[test]
fn resume_after_seq_across_kill_9_and_restart_has_no_gap_no_duplicate_and_the_same_epoch() {
    use std::process::{Command, Stdio};
    let mut daemon = Daemon::start();
    let rt = runtime();
    let grpc = daemon.grpc;
    rt.block_on(set_state(grpc, pb::AgentState::NotReady, "lunch"));
    let before = rt.block_on(first_after(grpc, 0, ""));
    assert_eq!(before.kind, "AgentStateChanged", "{before:?}");
    let (last_seq, epoch) = (before.seq, before.journal_epoch.clone());
    assert!(
        daemon.signal("KILL", Duration::from_secs(5)).is_some(),
        "kill -9 did not stop the daemon"
    );

    let data = daemon.dir().join("data");
    let grpc = std::net::SocketAddr::from(([127, 0, 0, 1], common::free_port(false)));
    let http = std::net::SocketAddr::from(([127, 0, 0, 1], common::free_port(false)));
    let sip = format!("127.0.0.1:{}", common::free_port(true));
    let log_path = daemon.dir().join("restart.log");
    let log = std::fs::File::create(&log_path).expect("restart log");
    let mut restarted = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--config")
        .arg(common::demo_config())
        .args(["--sip-listen", &sip])
        .args(["--http-listen", &http.to_string()])
        .args(["--grpc-listen", &grpc.to_string()])
        .arg("--data-dir")
        .arg(&data)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("clone"))
        .stderr(log)
        .spawn()
        .expect("restarting the daemon");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !matches!(
        common::wire::http_get(http, "/healthz", Duration::from_millis(500)),
        Ok((200, _))
    ) {
        if std::time::Instant::now() >= deadline {
            let _ = restarted.kill();
            panic!(
                "restart not ready\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    rt.block_on(set_state(grpc, pb::AgentState::Ready, ""));
    let after = rt.block_on(first_after(grpc, last_seq, &epoch));
    let _ = restarted.kill();
    let _ = restarted.wait();
    assert_eq!(after.seq, last_seq + 1, "no gap, no duplicate: {after:?}");
    assert_eq!(after.journal_epoch, epoch);
}
