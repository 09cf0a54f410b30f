//! Issue 8, faults: kill -9 with calls in every state, then restart on the same data directory.
//!
//! Before the kill: three calls answered by an agent and hung up, one caller who abandoned
//! the queue (its BYE answered just before the kill), and in flight one bridged call, one
//! ringing an agent who never answers, one waiting in the queue, one in the IVR menu. A gRPC
//! subscriber follows the journal live. After the restart: every finished call has its CDR
//! row with its own end reason and its queue_log lines; every call in flight is closed
//! `restart`; the journal's seq is gap-free from 1; a subscriber resuming after the last seq it
//! saw gets the next one, with no gap and no duplicate.

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::phone::{AgentPhone, Caller};
use common::{Daemon, ScratchDir, config_with};
use switchboard_api::pb;
use switchboard_api::pb::event_service_client::EventServiceClient;
use tonic::metadata::MetadataValue;

const WAIT: Duration = Duration::from_secs(10);
/// The demo configuration's token (config/switchboard.toml `[[api.token]]`).
const DEMO_TOKEN: &str = "demo-token-change-me";

fn authorized<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value = MetadataValue::try_from(format!("Bearer {DEMO_TOKEN}")).expect("ascii");
    request.metadata_mut().insert("authorization", value);
    request
}

/// Subscribes after `after_seq` and pushes each event's seq into `seqs` until the stream ends.
async fn follow(grpc: std::net::SocketAddr, after_seq: u64, seqs: Arc<Mutex<Vec<u64>>>) {
    let Ok(mut client) = EventServiceClient::connect(format!("http://{grpc}")).await else {
        return;
    };
    let request = pb::SubscribeRequest {
        start: Some(pb::subscribe_request::Start::AfterSeq(after_seq)),
        client_name: "crash".into(),
        ..Default::default()
    };
    let Ok(response) = client.subscribe(authorized(request)).await else {
        return;
    };
    let mut stream = response.into_inner();
    while let Ok(Some(message)) = stream.message().await {
        if let Some(pb::subscribe_response::Kind::Event(e)) = message.kind {
            seqs.lock().unwrap_or_else(|p| p.into_inner()).push(e.seq);
        }
    }
}

fn contiguous(seqs: &[u64]) -> bool {
    seqs.windows(2).all(|w| w[1] == w[0] + 1)
}

/// Waits until `seqs` ends at `head`.
fn wait_seq(seqs: &Arc<Mutex<Vec<u64>>>, head: u64) -> Vec<u64> {
    let deadline = Instant::now() + WAIT;
    loop {
        let got = seqs.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if got.last().is_some_and(|s| *s >= head) {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "subscriber stuck at {:?}, head {head}",
            got.last()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn head_seq(grpc: std::net::SocketAddr) -> u64 {
    EventServiceClient::connect(format!("http://{grpc}"))
        .await
        .expect("connect")
        .get_journal_info(authorized(pb::GetJournalInfoRequest::default()))
        .await
        .expect("GetJournalInfo")
        .into_inner()
        .head_seq
}

/// The CDR rows by caller number (the `src` column).
fn cdr_by_src(cdr: &str) -> BTreeMap<String, Vec<String>> {
    let mut rows: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in cdr.lines() {
        let src = line.split(',').nth(1).unwrap_or_default().trim_matches('"');
        rows.entry(src.to_owned())
            .or_default()
            .push(line.to_owned());
    }
    rows
}

/// A call_id's queue_log events, in order.
fn queue_events(queue_log: &str, call_id: &str) -> Vec<String> {
    queue_log
        .lines()
        .filter(|l| l.split('|').nth(1) == Some(call_id))
        .filter_map(|l| l.split('|').nth(4).map(str::to_owned))
        .collect()
}

/// The CDR's uniqueid (our call_id): the field that is a UUID.
fn call_id_of(row: &str) -> String {
    row.split(',')
        .map(|f| f.trim_matches('"'))
        .find(|f| f.len() == 36 && f.matches('-').count() == 4)
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn kill_9_with_calls_in_every_state_loses_no_finished_call_and_no_event_seq() {
    let dir = ScratchDir::new("crash-config");
    let config = config_with(
        dir.path(),
        &[
            (
                "keepalive_interval_seconds = 30",
                "keepalive_interval_seconds = 0",
            ),
            (
                "name = \"sales\"\nrequirement = \"sales >= 1\"\nwrap_up_seconds = 5",
                "name = \"sales\"\nrequirement = \"sales >= 1\"\nwrap_up_seconds = 0\nring_timeout_seconds = 60",
            ),
        ],
    );
    let mut daemon = Daemon::start_with(&config, IpAddr::V4(Ipv4Addr::LOCALHOST));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let live = Arc::new(Mutex::new(Vec::new()));
    rt.spawn(follow(daemon.grpc, 0, live.clone()));

    // Finished: three calls answered by 1006 and hung up by the caller.
    let mut answering = AgentPhone::register(daemon.sip, "1006", "secret");
    for n in 1..=3 {
        let number = format!("555100{n}");
        let mut caller =
            Caller::dial_from(daemon.sip, "202", &number).unwrap_or_else(|c| panic!("refused {c}"));
        caller.ack();
        let offered = answering.expect_invite_from(&number, WAIT);
        answering.answer(&offered, &format!("done{n}"));
        answering.sip.expect_request("ACK", WAIT);
        assert_eq!(caller.hang_up(), 200);
        let bye = answering.sip.expect_request("BYE", WAIT);
        answering.sip.reply(&bye, 200, "OK", None, None);
    }

    // In flight: bridged to 1006...
    let bridged =
        Caller::dial_from(daemon.sip, "202", "5552001").unwrap_or_else(|c| panic!("refused {c}"));
    bridged.ack();
    let offered = answering.expect_invite_from("5552001", WAIT);
    answering.answer(&offered, "bridged");
    answering.sip.expect_request("ACK", WAIT);
    // ...ringing 1007, who never answers...
    let mut ringing_agent = AgentPhone::register(daemon.sip, "1007", "secret");
    let ringing =
        Caller::dial_from(daemon.sip, "202", "5552002").unwrap_or_else(|c| panic!("refused {c}"));
    ringing.ack();
    let offered = ringing_agent.expect_invite_from("5552002", WAIT);
    ringing_agent
        .sip
        .reply(&offered.invite, 180, "Ringing", Some("ring"), None);
    // ...waiting in the queue (no Ready agent left)...
    let queued =
        Caller::dial_from(daemon.sip, "202", "5552003").unwrap_or_else(|c| panic!("refused {c}"));
    queued.ack();
    // ...and in the IVR menu.
    let in_ivr =
        Caller::dial_from(daemon.sip, "200", "5552004").unwrap_or_else(|c| panic!("refused {c}"));
    in_ivr.ack();

    // Finished last: a caller who gives up waiting; the kill follows its BYE's 200 at once.
    let mut abandoning =
        Caller::dial_from(daemon.sip, "202", "5553001").unwrap_or_else(|c| panic!("refused {c}"));
    abandoning.ack();
    let deadline = Instant::now() + WAIT;
    while !std::fs::read_to_string(daemon.dir().join("data/queue_log"))
        .unwrap_or_default()
        .matches("|ENTERQUEUE|")
        .count()
        .eq(&7)
    {
        assert!(
            Instant::now() < deadline,
            "not all calls queued\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(abandoning.hang_up(), 200);
    assert!(
        daemon.signal("KILL", Duration::from_secs(5)).is_some(),
        "kill -9 did not stop the daemon"
    );
    let seen_before = live.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(
        seen_before.first() == Some(&1) && contiguous(&seen_before),
        "the live subscriber saw a gap before the kill: {seen_before:?}"
    );
    let last_seen = seen_before.last().copied().unwrap_or(0);

    daemon.restart();
    let head = rt.block_on(head_seq(daemon.grpc));

    // The records.
    let (cdr, queue_log) = daemon.records(8, WAIT);
    let rows = cdr_by_src(&cdr);
    eprintln!(
        "after kill -9 and restart: {} CDR rows, journal head {head}, the live subscriber had seen up to {last_seen}",
        cdr.lines().count()
    );
    assert_eq!(cdr.lines().count(), 8, "{cdr}");
    for number in ["5551001", "5551002", "5551003"] {
        let row = rows
            .get(number)
            .and_then(|r| r.first())
            .cloned()
            .unwrap_or_default();
        assert!(
            row.contains("\"ANSWERED\"")
                && row.contains("\"1006\"")
                && !row.contains("\"restart\""),
            "finished call {number}: {row}"
        );
        assert_eq!(
            queue_events(&queue_log, &call_id_of(&row)),
            ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"],
            "{number}\n{queue_log}"
        );
    }
    let abandoned = rows
        .get("5553001")
        .and_then(|r| r.first())
        .cloned()
        .unwrap_or_default();
    assert!(
        abandoned.contains("\"abandon\"") && !abandoned.contains("\"restart\""),
        "the call whose BYE was answered just before the kill keeps its own end: {abandoned}"
    );
    assert_eq!(
        queue_events(&queue_log, &call_id_of(&abandoned)),
        ["ENTERQUEUE", "ABANDON"],
        "{queue_log}"
    );
    for number in ["5552001", "5552002", "5552003", "5552004"] {
        let found = rows.get(number).cloned().unwrap_or_default();
        assert_eq!(found.len(), 1, "{number}: {found:?}\n{cdr}");
        assert!(
            found[0].contains("\"restart\""),
            "in flight {number}: {}",
            found[0]
        );
    }
    // Every call that entered a queue has a closing queue_log line.
    for row in cdr.lines() {
        let events = queue_events(&queue_log, &call_id_of(row));
        if events.first().map(String::as_str) == Some("ENTERQUEUE") {
            assert!(
                events.iter().any(|e| [
                    "COMPLETECALLER",
                    "COMPLETEAGENT",
                    "ABANDON",
                    "EXITWITHTIMEOUT",
                    "TRANSFER"
                ]
                .contains(&e.as_str())),
                "no closing queue_log line: {events:?} for {row}\n{queue_log}"
            );
        }
    }

    // The journal: gap-free from 1 to the head, and a subscriber resuming after the last seq
    // it saw gets exactly the rest.
    let all = Arc::new(Mutex::new(Vec::new()));
    rt.spawn(follow(daemon.grpc, 0, all.clone()));
    let all = wait_seq(&all, head);
    assert!(
        all.first() == Some(&1) && contiguous(&all) && all.len() as u64 == head,
        "journal after restart: {} events, head {head}",
        all.len()
    );
    let resumed = Arc::new(Mutex::new(Vec::new()));
    rt.spawn(follow(daemon.grpc, last_seen, resumed.clone()));
    let resumed = wait_seq(&resumed, head);
    assert_eq!(resumed.first(), Some(&(last_seen + 1)), "{resumed:?}");
    assert!(contiguous(&resumed), "{resumed:?}");
    drop((bridged, ringing, queued, in_ivr));
}
