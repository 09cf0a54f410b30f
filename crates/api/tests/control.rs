//! Auth classes, error mapping, command acceptance and request_id correlation.

mod common;

use common::*;
use std::collections::HashMap;
use switchboard_api::pb::agent_service_client::AgentServiceClient;
use switchboard_api::pb::call_service_client::CallServiceClient;
use switchboard_api::pb::event::Payload;
use switchboard_api::pb::event_service_client::EventServiceClient;
use switchboard_api::pb::subscribe_response::Kind;
use switchboard_api::{CALL_DATA_LIMIT, error_reason, pb};
use tonic::Code;

fn leg(call: &str, leg: &str) -> String {
    format!("calls/{call}/legs/{leg}")
}

#[tokio::test]
async fn missing_or_wrong_token_is_unauthenticated_and_missing_scope_is_permission_denied() {
    let server = start().await;
    let channel = server.channel().await;
    // No token at all.
    let status = EventServiceClient::new(channel.clone())
        .get_journal_info(pb::GetJournalInfoRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    // A token nobody configured.
    let status = EventServiceClient::with_interceptor(channel.clone(), bearer("guess"))
        .get_journal_info(pb::GetJournalInfoRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    // A read-only token may read calls but not control them.
    let mut calls = CallServiceClient::with_interceptor(channel.clone(), bearer(READ_TOKEN));
    let status = calls
        .get_call(pb::GetCallRequest {
            name: "calls/nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "read allowed, call unknown");
    let status = calls
        .end_call(pb::EndCallRequest {
            call: "calls/nope".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(error_reason(&status).as_deref(), Some("OPERATION_SCOPE"));
    // Health needs no token.
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let reply = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "switchboard.v1.EventService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        reply.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
}

#[tokio::test]
async fn user_mistakes_map_to_precise_codes_and_reasons() {
    let server = start().await;
    {
        let mut state = server.engine.state.lock().unwrap();
        state
            .calls
            .insert("c1".into(), call("c1", "+15550001", Some(("c1-a", "1001"))));
        state
            .calls
            .insert("c2".into(), call("c2", "+15550002", None));
        state.ended.push("c2".into());
    }
    let channel = server.channel().await;
    let mut calls = CallServiceClient::with_interceptor(channel.clone(), bearer(ADMIN_TOKEN));
    let mut agents = AgentServiceClient::with_interceptor(channel, bearer(ADMIN_TOKEN));

    let s = calls
        .hangup_leg(pb::HangupLegRequest {
            leg: leg("missing", "x"),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (s.code(), error_reason(&s).as_deref()),
        (Code::NotFound, Some("CALL_NOT_FOUND"))
    );

    let s = calls
        .end_call(pb::EndCallRequest {
            call: "c2".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (s.code(), error_reason(&s).as_deref()),
        (Code::FailedPrecondition, Some("CALL_ENDED"))
    );

    let s = calls
        .hangup_leg(pb::HangupLegRequest {
            leg: "c1-a".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (s.code(), error_reason(&s).as_deref()),
        (Code::InvalidArgument, Some("INVALID_ARGUMENT"))
    );
    let bad = tonic_types::StatusExt::get_details_bad_request(&s).unwrap();
    assert_eq!(bad.field_violations[0].field, "leg");

    let s = calls
        .update_call_data(pb::UpdateCallDataRequest {
            call: "c1".into(),
            set: HashMap::from([("k".into(), "v".into())]),
            etag: "stale".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (s.code(), error_reason(&s).as_deref()),
        (Code::FailedPrecondition, Some("ETAG_MISMATCH"))
    );

    let s = calls
        .update_call_data(pb::UpdateCallDataRequest {
            call: "c1".into(),
            set: HashMap::from([("blob".into(), "x".repeat(CALL_DATA_LIMIT))]),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (s.code(), error_reason(&s).as_deref()),
        (Code::InvalidArgument, Some("CALL_DATA_TOO_LARGE"))
    );

    let s = calls
        .send_dtmf(pb::SendDtmfRequest {
            leg: leg("c1", "c1-a"),
            digits: "12x".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument);

    let s = agents
        .logout_agent(pb::LogoutAgentRequest {
            agent: "1002".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (s.code(), error_reason(&s).as_deref()),
        (Code::FailedPrecondition, Some("AGENT_ON_CALL"))
    );

    let s = agents
        .set_agent_state(pb::SetAgentStateRequest {
            agent: "1001".into(),
            state: pb::AgentState::NotReady as i32,
            etag: "0".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error_reason(&s).as_deref(), Some("ETAG_MISMATCH"));

    let s = agents
        .get_agent(pb::GetAgentRequest {
            name: "agents/9999".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (s.code(), error_reason(&s).as_deref()),
        (Code::NotFound, Some("AGENT_NOT_FOUND"))
    );

    let s = agents
        .set_agent_state(pb::SetAgentStateRequest {
            agent: "1001".into(),
            state: pb::AgentState::Busy as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn commands_echo_request_id_and_the_events_they_cause_carry_it() {
    let server = start().await;
    server
        .engine
        .state
        .lock()
        .unwrap()
        .calls
        .insert("c1".into(), call("c1", "+15550001", Some(("c1-a", "1001"))));
    let channel = server.channel().await;
    let mut events = EventServiceClient::with_interceptor(channel.clone(), bearer(READ_TOKEN));
    let mut stream = events
        .subscribe(pb::SubscribeRequest {
            start: Some(pb::subscribe_request::Start::Position(
                pb::StartPosition::Now as i32,
            )),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut calls = CallServiceClient::with_interceptor(channel.clone(), bearer(ADMIN_TOKEN));
    let accepted = calls
        .blind_transfer(pb::BlindTransferRequest {
            request_id: "req-42".into(),
            leg: leg("c1", "c1-a"),
            target: Some(pb::TransferTarget {
                target: Some(pb::transfer_target::Target::Number("+15559999".into())),
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(accepted.request_id, "req-42");
    assert_eq!(accepted.call_id, "c1");
    // Without a request_id one is generated (UUIDv7) and echoed.
    let generated = calls
        .make_call(pb::MakeCallRequest {
            agent: "1001".into(),
            to: "+15550100".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        uuid::Uuid::parse_str(&generated.request_id)
            .unwrap()
            .get_version_num(),
        7
    );
    assert_eq!(
        uuid::Uuid::parse_str(&generated.call_id)
            .unwrap()
            .get_version_num(),
        7
    );
    let mut seen = Vec::new();
    while seen.len() < 2 {
        if let Some(Kind::Event(e)) = stream.message().await.unwrap().unwrap().kind {
            seen.push(e);
        }
    }
    assert_eq!(seen[0].request_id, "req-42");
    assert_eq!(
        seen[0].call_id, "c1",
        "the call keeps its id through the transfer"
    );
    match &seen[0].payload {
        Some(Payload::CallTransferred(t)) => {
            assert_eq!(t.old_leg_id, "c1-a");
            assert_eq!(t.new_leg_id, "c1-t1");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(seen[1].request_id, generated.request_id);
    assert_eq!(seen[1].call_id, generated.call_id);
}

#[tokio::test]
async fn set_agent_state_with_current_etag_applies_and_returns_the_new_etag() {
    let server = start().await;
    let mut agents =
        AgentServiceClient::with_interceptor(server.channel().await, bearer(ADMIN_TOKEN));
    let agent = agents
        .set_agent_state(pb::SetAgentStateRequest {
            agent: "agents/1001".into(),
            state: pb::AgentState::NotReady as i32,
            reason_code: "lunch".into(),
            etag: "1".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(agent.state, pb::AgentState::NotReady as i32);
    assert_eq!(
        (agent.reason_code.as_str(), agent.etag.as_str()),
        ("lunch", "2")
    );
    // Busy agent: AFTER_CURRENT_WORK becomes the pending state.
    let busy = agents
        .set_agent_state(pb::SetAgentStateRequest {
            agent: "1002".into(),
            state: pb::AgentState::NotReady as i32,
            reason_code: "break".into(),
            when: pb::StateChangeWhen::AfterCurrentWork as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(busy.state, pb::AgentState::Busy as i32);
    assert_eq!(busy.pending_state, pb::AgentState::NotReady as i32);
}

#[tokio::test]
async fn retried_command_with_same_request_id_returns_first_response_without_second_effect() {
    let server = start().await;
    server
        .engine
        .state
        .lock()
        .unwrap()
        .calls
        .insert("c1".into(), call("c1", "+15550001", Some(("c1-a", "1001"))));
    let mut calls =
        CallServiceClient::with_interceptor(server.channel().await, bearer(ADMIN_TOKEN));
    let request = pb::HangupLegRequest {
        request_id: "retry-1".into(),
        leg: leg("c1", "c1-a"),
        ..Default::default()
    };
    let first = calls
        .hangup_leg(request.clone())
        .await
        .unwrap()
        .into_inner();
    let again = calls.hangup_leg(request).await.unwrap().into_inner();
    assert_eq!(first, again);
    let head = server.engine.store.lock().unwrap().head_seq().unwrap();
    assert_eq!(head, 1, "the retry caused no second LegEnded");
}

#[tokio::test]
async fn list_subscriptions_shows_client_token_and_cursor() {
    let server = start().await;
    server
        .engine
        .emit(vec![call_event("c1", "support", "1001", 1)]);
    let channel = server.channel().await;
    let mut events = EventServiceClient::with_interceptor(channel.clone(), bearer(READ_TOKEN));
    let mut stream = events
        .subscribe(pb::SubscribeRequest {
            start: Some(pb::subscribe_request::Start::AfterSeq(0)),
            client_name: "wallboard".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    // Read through the CaughtUp marker so the cursor is at the head.
    while !matches!(
        stream.message().await.unwrap().unwrap().kind,
        Some(Kind::CaughtUp(_))
    ) {}
    let mut admin = switchboard_api::pb::admin_service_client::AdminServiceClient::with_interceptor(
        channel,
        bearer(ADMIN_TOKEN),
    );
    let list = admin
        .list_subscriptions(pb::ListSubscriptionsRequest {})
        .await
        .unwrap()
        .into_inner()
        .subscriptions;
    assert_eq!(list.len(), 1);
    let s = &list[0];
    assert_eq!(
        (s.client_name.as_str(), s.principal.as_str()),
        ("wallboard", "reader")
    );
    assert_eq!((s.cursor_seq, s.lag_events, s.replaying), (1, 0, false));
    assert!(s.peer.starts_with("127.0.0.1:"));
    drop(stream);
}

#[tokio::test]
async fn tls_with_unreadable_certificate_refuses_to_start_naming_the_file() {
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let store = switchboard_store::Store::open(
        &switchboard_store::StoreConfig::new(dir.path().join("sb.db")),
        std::time::SystemTime::now(),
    )
    .unwrap();
    let pool = switchboard_api::JournalPool::open(&store, 1).unwrap();
    let (live, _) = tokio::sync::broadcast::channel(16);
    let engine = Arc::new(FakeEngine {
        store: std::sync::Mutex::new(store),
        live: live.clone(),
        state: Default::default(),
    });
    let mut settings = switchboard_api::ApiSettings::new(tokens());
    settings.tls = Some(switchboard_api::TlsFiles {
        cert: dir.path().join("missing-cert.pem"),
        key: dir.path().join("missing-key.pem"),
    });
    let server = switchboard_api::ApiServer::new(&settings, engine, pool, live);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = server
        .serve_with_listener(listener, std::future::ready(()))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("missing-cert.pem"), "{error}");
}
