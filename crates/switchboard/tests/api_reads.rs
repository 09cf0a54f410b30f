//! End to end over the daemon's gRPC API (issue 7): reads of agents, queues and calls answer
//! from the running engine after a command changed them; a snapshot is cut at a seq the event
//! stream continues from without gap or repeat; each error class comes back with its
//! `ErrorInfo` reason; `ReloadConfig` applies a good file and refuses a bad one.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Daemon, ScratchDir, repo_root};
use switchboard_api::error_reason;
use switchboard_api::pb;
use switchboard_api::pb::admin_service_client::AdminServiceClient;
use switchboard_api::pb::agent_service_client::AgentServiceClient;
use switchboard_api::pb::call_service_client::CallServiceClient;
use switchboard_api::pb::event_service_client::EventServiceClient;
use switchboard_api::pb::queue_service_client::QueueServiceClient;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

/// The demo configuration's token (every scope).
const DEMO_TOKEN: &str = "demo-token-change-me";
/// A token added by [`scratch_config`] with `events:read` only.
const READ_TOKEN: &str = "read-only-token-0123";

/// The demo configuration in a scratch directory (with the repository's IVR flows and
/// prompts beside it), plus a read-only token: a file the test may rewrite for a reload.
pub(crate) fn scratch_config(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(common::demo_config()).expect("demo config");
    let text = format!(
        "{text}\n[[api.token]]\nname = \"wallboard\"\nsecret = \"{READ_TOKEN}\"\nscopes = [\"events:read\"]\n"
    );
    let path = dir.join("switchboard.toml");
    std::fs::write(&path, text).expect("writing the scratch config");
    for sibling in ["ivr", "prompts"] {
        let _ =
            std::os::unix::fs::symlink(repo_root().join("config").join(sibling), dir.join(sibling));
    }
    path
}

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

fn reason(status: &tonic::Status) -> String {
    error_reason(status).unwrap_or_else(|| format!("no ErrorInfo in {status:?}"))
}

async fn channel(daemon: &Daemon) -> Channel {
    Channel::from_shared(format!("http://{}", daemon.grpc))
        .expect("url")
        .connect()
        .await
        .expect("connect to the daemon's gRPC")
}

fn pause(agent: &str, reason: &str, etag: &str) -> pb::SetAgentStateRequest {
    pb::SetAgentStateRequest {
        agent: format!("agents/{agent}"),
        state: pb::AgentState::NotReady as i32,
        reason_code: reason.into(),
        etag: etag.into(),
        ..Default::default()
    }
}

#[test]
fn reads_follow_set_agent_state_and_each_error_class_has_its_reason() {
    let dir = ScratchDir::new("reads");
    let config = scratch_config(dir.path());
    let daemon = Daemon::start_with(&config, std::net::Ipv4Addr::LOCALHOST.into());
    runtime().block_on(async {
        let ch = channel(&daemon).await;
        let mut agents = AgentServiceClient::new(ch.clone());
        let mut queues = QueueServiceClient::new(ch.clone());
        let mut calls = CallServiceClient::new(ch.clone());

        let paused = agents
            .set_agent_state(authorized(pause("1001", "lunch", ""), DEMO_TOKEN))
            .await
            .expect("SetAgentState")
            .into_inner();
        assert_eq!(paused.state(), pb::AgentState::NotReady);
        assert_eq!(paused.reason_code, "lunch");
        let read = agents
            .get_agent(authorized(
                pb::GetAgentRequest {
                    name: "agents/1001".into(),
                },
                READ_TOKEN,
            ))
            .await
            .expect("GetAgent with a read-only token")
            .into_inner();
        assert_eq!(read.state(), pb::AgentState::NotReady);
        assert_eq!(
            read.etag, paused.etag,
            "nothing changed in between: {paused:?} {read:?}"
        );
        assert_eq!(read.display_name, "Agent 1001");
        assert!(read.queues.contains(&"support".to_string()), "{read:?}");
        let listed = agents
            .list_agents(authorized(pb::ListAgentsRequest::default(), DEMO_TOKEN))
            .await
            .expect("ListAgents")
            .into_inner()
            .agents;
        assert_eq!(listed.first().map(|a| a.agent.as_str()), Some("1001"));
        assert!(listed.len() >= 2);
        let all = queues
            .list_queues(authorized(pb::ListQueuesRequest {}, DEMO_TOKEN))
            .await
            .expect("ListQueues")
            .into_inner()
            .queues;
        let names: Vec<_> = all.iter().map(|q| q.queue.as_str()).collect();
        assert!(names.starts_with(&["support", "sales"]), "{names:?}");
        let support = &all[0];
        let stats = support.stats.as_ref().expect("stats");
        assert_eq!(stats.waiting, 0);
        assert_eq!(
            stats.agents.as_ref().map(|a| a.not_ready),
            Some(1),
            "1001 paused: {stats:?}"
        );
        let listed_calls = calls
            .list_calls(authorized(pb::ListCallsRequest::default(), DEMO_TOKEN))
            .await
            .expect("ListCalls")
            .into_inner();
        assert!(listed_calls.calls.is_empty());

        // The error classes.
        let stale = agents
            .set_agent_state(authorized(pause("1001", "break", "stale-etag"), DEMO_TOKEN))
            .await
            .expect_err("a stale etag is refused");
        assert_eq!(reason(&stale), "ETAG_MISMATCH", "{stale:?}");
        let denied = agents
            .set_agent_state(authorized(pause("1001", "break", ""), READ_TOKEN))
            .await
            .expect_err("events:read cannot change agents");
        assert_eq!(denied.code(), tonic::Code::PermissionDenied, "{denied:?}");
        let no_agent = agents
            .get_agent(authorized(
                pb::GetAgentRequest {
                    name: "agents/9999".into(),
                },
                DEMO_TOKEN,
            ))
            .await
            .expect_err("unknown agent");
        assert_eq!(
            (no_agent.code(), reason(&no_agent).as_str()),
            (tonic::Code::NotFound, "AGENT_NOT_FOUND")
        );
        let no_queue = queues
            .get_queue(authorized(
                pb::GetQueueRequest {
                    name: "queues/nope".into(),
                },
                DEMO_TOKEN,
            ))
            .await
            .expect_err("unknown queue");
        assert_eq!(reason(&no_queue), "QUEUE_NOT_FOUND");
        let call = "0190a0b0-0000-7000-8000-000000000001";
        let no_call = calls
            .get_call(authorized(
                pb::GetCallRequest {
                    name: format!("calls/{call}"),
                },
                DEMO_TOKEN,
            ))
            .await
            .expect_err("unknown call");
        assert_eq!(reason(&no_call), "CALL_NOT_FOUND");
        let no_call = calls
            .update_call_data(authorized(
                pb::UpdateCallDataRequest {
                    call: format!("calls/{call}"),
                    set: [("k".to_string(), "v".to_string())].into(),
                    ..Default::default()
                },
                DEMO_TOKEN,
            ))
            .await
            .expect_err("UpdateCallData on an unknown call");
        assert_eq!(reason(&no_call), "CALL_NOT_FOUND");
        let wrap = agents
            .complete_wrap_up(authorized(
                pb::CompleteWrapUpRequest {
                    agent: "agents/1002".into(),
                    disposition_code: "sale".into(),
                    ..Default::default()
                },
                DEMO_TOKEN,
            ))
            .await
            .expect_err("1002 is not in wrap-up");
        assert_eq!(reason(&wrap), "AGENT_NOT_IN_WRAP_UP");
    });
}

#[test]
fn a_snapshot_is_cut_at_a_seq_the_stream_continues_from_without_gap_or_repeat() {
    let daemon = Daemon::start();
    runtime().block_on(async {
        let ch = channel(&daemon).await;
        let mut agents = AgentServiceClient::new(ch.clone());
        let mut events = EventServiceClient::new(ch.clone());
        // Some history before the snapshot.
        for reason in ["lunch", "break"] {
            agents
                .set_agent_state(authorized(pause("1002", reason, ""), DEMO_TOKEN))
                .await
                .expect("SetAgentState");
        }
        let mut stream = events
            .subscribe(authorized(
                pb::SubscribeRequest {
                    start: Some(pb::subscribe_request::Start::Position(
                        pb::StartPosition::Snapshot as i32,
                    )),
                    client_name: "wallboard".into(),
                    ..Default::default()
                },
                DEMO_TOKEN,
            ))
            .await
            .expect("Subscribe SNAPSHOT")
            .into_inner();
        let mut as_of = None;
        let mut paused_in_snapshot = None;
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), stream.message())
                .await
                .expect("snapshot in time")
                .expect("stream")
                .expect("open");
            match message.kind {
                Some(pb::subscribe_response::Kind::Snapshot(part)) => {
                    as_of = Some(part.as_of_seq);
                    if let Some(a) = part.agents.iter().find(|a| a.agent == "1002") {
                        paused_in_snapshot = Some(a.reason_code.clone());
                    }
                }
                Some(pb::subscribe_response::Kind::CaughtUp(_)) => break,
                Some(pb::subscribe_response::Kind::Event(e)) => {
                    panic!(
                        "event {} before CaughtUp after a snapshot at {as_of:?}",
                        e.seq
                    )
                }
                _ => {}
            }
        }
        let as_of = as_of.expect("a snapshot part");
        assert!(as_of >= 2, "the two state changes are in the cut: {as_of}");
        assert_eq!(paused_in_snapshot.as_deref(), Some("break"));
        let request_id = "0190a0b0-0000-7000-8000-00000000abcd";
        agents
            .set_agent_state(authorized(
                pb::SetAgentStateRequest {
                    request_id: request_id.into(),
                    ..pause("1002", "training", "")
                },
                DEMO_TOKEN,
            ))
            .await
            .expect("SetAgentState after the snapshot");
        // Every event after the cut, in order, until the command's state change (a queue
        // statistics push from before the cut may come first: it is after the cut too).
        let mut expected = as_of + 1;
        let next = loop {
            let message = tokio::time::timeout(Duration::from_secs(10), stream.message())
                .await
                .expect("the change in time")
                .expect("stream")
                .expect("open");
            if let Some(pb::subscribe_response::Kind::Event(e)) = message.kind {
                assert_eq!(e.seq, expected, "no gap, no repeat after the cut: {e:?}");
                expected += 1;
                if e.kind == "AgentStateChanged" {
                    break e;
                }
            }
        };
        assert_eq!(
            next.request_id, request_id,
            "the command's events carry its id"
        );
    });
}

#[test]
fn reload_applies_a_good_file_and_refuses_a_bad_one_keeping_the_running_config() {
    let dir = ScratchDir::new("reload");
    let config = scratch_config(dir.path());
    let daemon = Daemon::start_with(&config, std::net::Ipv4Addr::LOCALHOST.into());
    // The file it reads (the harness may have given it a copy with RTP ports of its own).
    let config = daemon.config_path().to_path_buf();
    let good = std::fs::read_to_string(&config).expect("config");
    runtime().block_on(async {
        let ch = channel(&daemon).await;
        let mut admin = AdminServiceClient::new(ch.clone());
        let mut agents = AgentServiceClient::new(ch.clone());
        let before = admin
            .get_status(authorized(pb::GetStatusRequest {}, DEMO_TOKEN))
            .await
            .expect("status")
            .into_inner()
            .config_digest;
        // A broken file: refused with where it broke; nothing changes.
        std::fs::write(&config, format!("{good}\n[[agent]]\nid = \n")).expect("write");
        let refused = admin
            .reload_config(authorized(pb::ReloadConfigRequest::default(), DEMO_TOKEN))
            .await
            .expect_err("a broken file is refused");
        assert_eq!(reason(&refused), "CONFIG_INVALID", "{refused:?}");
        assert!(
            refused.message().contains("switchboard.toml:"),
            "file:line:column in {:?}",
            refused.message()
        );
        // A good file with one more agent: applied live.
        let added = good.replacen(
            "\n[[queue]]\nname = \"support\"",
            "\n[[agent]]\nid = \"1099\"\nname = \"Agent 1099\"\npassword = \"secret-1099\"\nskills = { support = 5 }\n\n[[queue]]\nname = \"support\"",
            1,
        );
        assert_ne!(added, good);
        std::fs::write(&config, added).expect("write");
        let done = admin
            .reload_config(authorized(pb::ReloadConfigRequest::default(), DEMO_TOKEN))
            .await
            .expect("a good file reloads")
            .into_inner();
        assert!(done.changed);
        assert_ne!(done.config_digest, before);
        let new_agent = agents
            .get_agent(authorized(
                pb::GetAgentRequest {
                    name: "agents/1099".into(),
                },
                DEMO_TOKEN,
            ))
            .await
            .expect("the new agent exists")
            .into_inner();
        assert!(new_agent.queues.contains(&"support".to_string()), "{new_agent:?}");
        let status = admin
            .get_status(authorized(pb::GetStatusRequest {}, DEMO_TOKEN))
            .await
            .expect("status")
            .into_inner();
        assert_eq!(status.config_digest, done.config_digest);
    });
}
