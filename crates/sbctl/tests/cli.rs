//! Runs the `sbctl` binary against a test API server (fake engine, real SQLite journal).

#[path = "../../api/tests/common/mod.rs"]
mod common;

use std::process::Output;

use common::*;

async fn sbctl(server: &TestServer, token: &str, args: &[&str]) -> Output {
    let url = server.url();
    let token = token.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_sbctl"))
            .args(["--server", &url, "--token", &token])
            .args(&args)
            .env_remove("SBCTL_SERVER")
            .env_remove("SBCTL_TOKEN")
            .output()
            .expect("run sbctl")
    })
    .await
    .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn queue_list_prints_an_aligned_table() {
    let server = start().await;
    let out = sbctl(&server, ADMIN_TOKEN, &["queue", "list"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("QUEUE    STRATEGY"), "{header}");
    let row = lines.next().unwrap();
    assert!(row.starts_with("support  longest_idle  2"), "{row}");
    // Columns line up: WAITING starts at the same offset in both lines.
    assert_eq!(header.find("WAITING"), row.find("2 "));
}

#[tokio::test(flavor = "multi_thread")]
async fn json_output_is_one_object_per_line() {
    let server = start().await;
    let out = sbctl(&server, ADMIN_TOKEN, &["--json", "agent", "list"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let agents: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON object per line"))
        .collect();
    assert_eq!(agents.len(), 2);
    assert_eq!(agents[0]["agent"], "1001");
    assert_eq!(agents[1]["state"], "AGENT_STATE_BUSY");
}

#[tokio::test(flavor = "multi_thread")]
async fn agent_pause_sets_not_ready_with_the_reason() {
    let server = start().await;
    let out = sbctl(
        &server,
        ADMIN_TOKEN,
        &["agent", "pause", "1001", "--reason", "lunch"],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("NOT_READY") && text.contains("lunch"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_print_code_and_reason_and_exit_non_zero() {
    let server = start().await;
    let out = sbctl(&server, ADMIN_TOKEN, &["call", "hangup", "no-such-call"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("NotFound CALL_NOT_FOUND"),
        "{}",
        stderr(&out)
    );
    let out = sbctl(&server, "wrong-token", &["status"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("Unauthenticated"), "{}", stderr(&out));
    let out = sbctl(&server, READ_TOKEN, &["reload"]).await;
    assert!(
        stderr(&out).contains("PermissionDenied OPERATION_SCOPE"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_replays_after_a_seq_with_filters() {
    let server = start().await;
    server.engine.emit(
        (0..6)
            .map(|i| {
                call_event(
                    &format!("c{i}"),
                    if i % 2 == 0 { "sales" } else { "support" },
                    "1001",
                    i,
                )
            })
            .collect(),
    );
    let out = sbctl(
        &server,
        READ_TOKEN,
        &[
            "--json", "watch", "--after", "1", "--queue", "sales", "--count", "2",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let seqs: Vec<String> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"].to_string())
        .collect();
    // proto3 JSON writes uint64 as a string.
    assert_eq!(seqs, ["\"3\"", "\"5\""]);
    let out = sbctl(
        &server,
        READ_TOKEN,
        &["watch", "--after", "0", "--count", "1"],
    )
    .await;
    assert!(
        stdout(&out).contains("DtmfReceived") && stdout(&out).contains("call=c0"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_journal_position() {
    let server = start().await;
    server
        .engine
        .emit(vec![call_event("c1", "support", "1001", 1)]);
    let out = sbctl(&server, ADMIN_TOKEN, &["status"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("journal seq:       1..=1"),
        "{}",
        stdout(&out)
    );
}
