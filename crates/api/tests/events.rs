//! EventService against a real SQLite journal: replay, CaughtUp, live, resume across forced
//! disconnects, filters, heartbeats, slow subscribers, gaps, expired cursors.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use common::*;
use switchboard_api::pb::event_service_client::EventServiceClient;
use switchboard_api::pb::subscribe_response::Kind;
use switchboard_api::{error_reason, pb};
use switchboard_store::Retention;
use tokio::time::timeout;
use tonic::codegen::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Streaming};

type Client = EventServiceClient<InterceptedService<Channel, Bearer>>;

async fn client(server: &TestServer) -> Client {
    EventServiceClient::with_interceptor(server.channel().await, bearer(READ_TOKEN))
}

fn after(seq: u64) -> pb::SubscribeRequest {
    pb::SubscribeRequest {
        start: Some(pb::subscribe_request::Start::AfterSeq(seq)),
        ..Default::default()
    }
}

async fn next(stream: &mut Streaming<pb::SubscribeResponse>) -> Kind {
    timeout(WAIT, stream.message())
        .await
        .expect("stream stalled")
        .expect("stream error")
        .expect("stream ended")
        .kind
        .expect("empty message")
}

async fn next_event(stream: &mut Streaming<pb::SubscribeResponse>) -> pb::Event {
    loop {
        match next(stream).await {
            Kind::Event(e) => return e,
            Kind::Heartbeat(_) | Kind::CaughtUp(_) => continue,
            Kind::Snapshot(_) => panic!("unexpected snapshot"),
        }
    }
}

fn emit_calls(server: &TestServer, from: u64, n: u64) -> Vec<u64> {
    server.engine.emit(
        (from..from + n)
            .map(|i| {
                call_event(
                    &format!("call-{i}"),
                    if i % 2 == 0 { "sales" } else { "support" },
                    "1001",
                    i,
                )
            })
            .collect(),
    )
}

#[tokio::test]
async fn replay_from_journal_then_caught_up_then_live_in_seq_order() {
    let server = start().await;
    emit_calls(&server, 0, 10);
    let mut stream = client(&server)
        .await
        .subscribe(after(0))
        .await
        .unwrap()
        .into_inner();
    for seq in 1..=10 {
        let event = next_event(&mut stream).await;
        assert_eq!(event.seq, seq);
        assert_eq!(event.kind, "DtmfReceived");
        assert_eq!(event.call_id, format!("call-{}", seq - 1));
    }
    match next(&mut stream).await {
        Kind::CaughtUp(c) => {
            assert_eq!(c.watermark_seq, 10);
            assert_eq!(
                c.journal_epoch,
                server.engine.store.lock().unwrap().epoch().to_string()
            );
        }
        other => panic!("expected CaughtUp, got {other:?}"),
    }
    emit_calls(&server, 10, 5);
    for seq in 11..=15 {
        assert_eq!(next_event(&mut stream).await.seq, seq);
    }
}

#[tokio::test]
async fn hundred_forced_disconnects_lose_and_duplicate_nothing() {
    let server = Arc::new(start().await);
    let stop = Arc::new(AtomicBool::new(false));
    let producer = {
        let (server, stop) = (server.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                emit_calls(&server, i, 7);
                i += 7;
                tokio::task::yield_now().await;
            }
        })
    };
    let mut client = client(&server).await;
    let mut received: Vec<pb::Event> = Vec::new();
    let mut cursor = 0;
    for round in 0..100u64 {
        let mut stream = client.subscribe(after(cursor)).await.unwrap().into_inner();
        // Read a varying number of events, then drop the stream mid-flow.
        for _ in 0..(round % 13 + 1) {
            let event = next_event(&mut stream).await;
            assert!(
                event.seq > cursor,
                "seq {} after cursor {cursor}",
                event.seq
            );
            cursor = event.seq;
            received.push(event);
        }
        drop(stream);
    }
    stop.store(true, Ordering::Relaxed);
    producer.await.unwrap();
    let head = server.engine.store.lock().unwrap().head_seq().unwrap();
    assert!(
        head > cursor,
        "the producer kept appending during the disconnects"
    );
    // Final reconnect: read to the head.
    let mut stream = client.subscribe(after(cursor)).await.unwrap().into_inner();
    while cursor < head {
        let event = next_event(&mut stream).await;
        assert_eq!(event.seq, cursor + 1);
        cursor = event.seq;
        received.push(event);
    }
    let seqs: Vec<u64> = received.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=head).collect::<Vec<_>>(),
        "union of streams == journal, in order, once"
    );
    let journal = server
        .engine
        .store
        .lock()
        .unwrap()
        .read_after(0, usize::MAX, &Default::default())
        .unwrap();
    for (got, row) in received.iter().zip(&journal.events) {
        assert_eq!(got.call_id, row.event.call_id.clone().unwrap_or_default());
    }
}

#[tokio::test]
async fn filter_by_queue_and_kind_delivers_only_matches_with_watermark_at_head() {
    let server = start().await;
    emit_calls(&server, 0, 20);
    let mut request = after(0);
    request.filter = Some(pb::EventFilter {
        queues: vec!["sales".into()],
        kinds: vec!["DtmfReceived".into()],
        ..Default::default()
    });
    let mut stream = client(&server)
        .await
        .subscribe(request)
        .await
        .unwrap()
        .into_inner();
    let mut got = Vec::new();
    loop {
        match next(&mut stream).await {
            Kind::Event(e) => {
                assert_eq!(e.queue, "sales");
                got.push(e.seq);
            }
            Kind::CaughtUp(c) => {
                assert_eq!(c.watermark_seq, 20);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(got, vec![1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    // Live events are filtered the same way.
    emit_calls(&server, 20, 4);
    assert_eq!(next_event(&mut stream).await.seq, 21);
    assert_eq!(next_event(&mut stream).await.seq, 23);
}

#[tokio::test]
async fn idle_stream_gets_heartbeats_with_head_and_watermark() {
    let server = start().await;
    let mut request = after(0);
    request.heartbeat_interval = Some(prost_types::Duration {
        seconds: 1,
        nanos: 0,
    });
    request.filter = Some(pb::EventFilter {
        agents: vec!["nobody".into()],
        ..Default::default()
    });
    let mut stream = client(&server)
        .await
        .subscribe(request)
        .await
        .unwrap()
        .into_inner();
    assert!(matches!(next(&mut stream).await, Kind::CaughtUp(_)));
    emit_calls(&server, 0, 6);
    loop {
        match next(&mut stream).await {
            Kind::Heartbeat(h) if h.watermark_seq == 6 => {
                assert_eq!(h.head_seq, 6);
                assert!(h.server_time.is_some());
                break;
            }
            Kind::Heartbeat(_) => continue,
            other => panic!("filtered stream delivered {other:?}"),
        }
    }
}

#[tokio::test]
async fn slow_subscriber_is_served_from_the_journal_not_dropped() {
    // A live buffer of 8 events: reading nothing while 3000 are published overruns it.
    let server = start_with(Options {
        live_capacity: 8,
        ..Default::default()
    })
    .await;
    let mut stream = client(&server)
        .await
        .subscribe(pb::SubscribeRequest {
            start: Some(pb::subscribe_request::Start::Position(
                pb::StartPosition::Now as i32,
            )),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(matches!(next(&mut stream).await, Kind::CaughtUp(_)));
    for batch in 0..30 {
        emit_calls(&server, batch * 100, 100);
    }
    for seq in 1..=3000 {
        assert_eq!(next_event(&mut stream).await.seq, seq);
    }
}

#[tokio::test]
async fn event_missing_from_broadcast_is_read_from_the_journal() {
    let server = start().await;
    let mut stream = client(&server)
        .await
        .subscribe(after(0))
        .await
        .unwrap()
        .into_inner();
    assert!(matches!(next(&mut stream).await, Kind::CaughtUp(_)));
    server
        .engine
        .journal_only(vec![call_event("gap-1", "support", "1001", 1)]);
    server
        .engine
        .journal_only(vec![call_event("gap-2", "support", "1001", 2)]);
    emit_calls(&server, 3, 1);
    let ids: Vec<String> = [
        next_event(&mut stream).await,
        next_event(&mut stream).await,
        next_event(&mut stream).await,
    ]
    .into_iter()
    .map(|e| e.call_id)
    .collect();
    assert_eq!(ids, ["gap-1", "gap-2", "call-3"]);
}

#[tokio::test]
async fn cursor_older_than_retention_is_out_of_range_cursor_expired() {
    let server = start().await;
    emit_calls(&server, 0, 100);
    server
        .engine
        .store
        .lock()
        .unwrap()
        .prune(
            SystemTime::now(),
            Retention {
                max_events: Some(10),
                ..Default::default()
            },
        )
        .unwrap();
    let mut client = client(&server).await;
    let status = client.subscribe(after(5)).await.unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange);
    assert_eq!(error_reason(&status).as_deref(), Some("CURSOR_EXPIRED"));
    let info = tonic_types::StatusExt::get_details_error_info(&status).unwrap();
    assert_eq!(
        info.metadata.get("oldestSeq").map(String::as_str),
        Some("91")
    );
    assert_eq!(
        info.metadata.get("headSeq").map(String::as_str),
        Some("100")
    );
    // The oldest resumable cursor still works, and one past the head does not.
    let mut ok = client.subscribe(after(90)).await.unwrap().into_inner();
    assert_eq!(next_event(&mut ok).await.seq, 91);
    let ahead = client.subscribe(after(101)).await.unwrap_err();
    assert_eq!(error_reason(&ahead).as_deref(), Some("CURSOR_AHEAD"));
    // ListEvents refuses the same way.
    let status = client
        .list_events(pb::ListEventsRequest {
            after_seq: 3,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error_reason(&status).as_deref(), Some("CURSOR_EXPIRED"));
}

#[tokio::test]
async fn cursor_from_another_journal_is_refused() {
    let server = start().await;
    let mut request = after(0);
    request.journal_epoch = "00000000deadbeef".into();
    let status = client(&server).await.subscribe(request).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(
        error_reason(&status).as_deref(),
        Some("JOURNAL_EPOCH_MISMATCH")
    );
}

#[tokio::test]
async fn snapshot_start_sends_state_cut_at_a_seq_then_events_after_it() {
    let server = start().await;
    emit_calls(&server, 0, 3);
    server
        .engine
        .state
        .lock()
        .unwrap()
        .calls
        .insert("c1".into(), call("c1", "+15551234", None));
    let mut stream = client(&server)
        .await
        .subscribe(pb::SubscribeRequest {
            start: Some(pb::subscribe_request::Start::Position(
                pb::StartPosition::Snapshot as i32,
            )),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let (mut calls, mut agents, mut queues) = (0, 0, 0);
    loop {
        match next(&mut stream).await {
            Kind::Snapshot(part) => {
                assert_eq!(part.as_of_seq, 3);
                calls += part.calls.len();
                agents += part.agents.len();
                queues += part.queues.len();
                if part.last {
                    break;
                }
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((calls, agents, queues), (1, 2, 1));
    assert!(matches!(next(&mut stream).await, Kind::CaughtUp(c) if c.watermark_seq == 3));
    emit_calls(&server, 3, 1);
    assert_eq!(next_event(&mut stream).await.seq, 4);
}

#[tokio::test]
async fn list_events_pages_through_the_journal_and_journal_info_reports_it() {
    let server = start_with(Options {
        retention_events: Some(1000),
        ..Default::default()
    })
    .await;
    emit_calls(&server, 0, 25);
    let mut client = client(&server).await;
    let mut token = String::new();
    let mut seqs = Vec::new();
    loop {
        let page = client
            .list_events(pb::ListEventsRequest {
                page_size: 10,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        seqs.extend(page.events.iter().map(|e| e.seq));
        assert_eq!(page.head_seq, 25);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seqs, (1..=25).collect::<Vec<_>>());
    let info = client
        .get_journal_info(pb::GetJournalInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (info.oldest_seq, info.head_seq, info.retention_max_events),
        (1, 25, 1000)
    );
    assert_eq!(info.journal_epoch.len(), 16);
}

#[tokio::test]
async fn list_events_long_poll_answers_when_an_event_is_journaled_and_times_out_empty() {
    let server = start_with(Options::default()).await;
    emit_calls(&server, 0, 2);
    let mut client = client(&server).await;
    let poll = |client: &mut Client, wait_ms: u64| {
        let mut client = client.clone();
        async move {
            client
                .list_events(pb::ListEventsRequest {
                    after_seq: 2,
                    wait_for_new: Some(prost_types::Duration {
                        seconds: 0,
                        nanos: i32::try_from(wait_ms * 1_000_000).unwrap(),
                    }),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
        }
    };
    // Nothing after seq 2: the poll is held, then answers empty at its deadline.
    let started = std::time::Instant::now();
    let empty = poll(&mut client, 200).await;
    assert!(empty.events.is_empty(), "{empty:?}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(190));
    // An event journaled while the poll waits is answered at once, well before the deadline.
    let waiting = tokio::spawn(poll(&mut client, 900));
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    emit_calls(&server, 2, 1);
    let page = timeout(std::time::Duration::from_millis(800), waiting)
        .await
        .expect("answered before the poll's deadline")
        .unwrap();
    assert_eq!(
        page.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![3]
    );
}
