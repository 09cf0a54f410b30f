//! Event stream throughput and lag: one API server (real SQLite journal) and 10 concurrent
//! `Subscribe` streams over loopback TCP while events are appended and published.
//!
//! Two phases:
//! * **throughput**: the producer appends `BURST` events as fast as the journal takes them
//!   (batches of 100, as the engine's writer batches); reported: events delivered per second
//!   summed over the 10 subscribers, from the first append to the last delivery.
//! * **lag**: the producer appends at a steady `PACED_RATE` events/s; reported: p50/p99/max of
//!   (delivery time − the event's journal time) over every delivery to every subscriber.
//!
//! Targets (issue 7): ≥ 50,000 events/s delivered, lag p99 ≤ 50 ms.
//! Run: `cargo bench -p switchboard-benches --bench api_events`
#![allow(missing_docs)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use switchboard_api::pb::event::Payload;
use switchboard_api::pb::subscribe_response::Kind;
use switchboard_api::{
    Accepted, ApiError, ApiServer, ApiSettings, ApiToken, Command, Engine, EngineSnapshot,
    EngineStatus, JournalPool, ReloadOutcome, Scope, codec, pb,
};
use switchboard_store::{Store, StoreConfig, StoredEvent};
use tokio::sync::broadcast;

const SUBSCRIBERS: usize = 10;
const BURST: u64 = 100_000;
const BATCH: u64 = 100;
const PACED_RATE: u64 = 10_000;
const PACED_SECONDS: u64 = 5;
const TOKEN: &str = "bench-token-0123456789";

/// The EventService needs no engine; everything else answers UNAVAILABLE.
struct NoEngine;

#[tonic::async_trait]
impl Engine for NoEngine {
    async fn snapshot(&self) -> Result<EngineSnapshot, ApiError> {
        Err(ApiError::Unavailable("bench".into()))
    }
    async fn call(&self, _: &str) -> Result<pb::Call, ApiError> {
        Err(ApiError::Unavailable("bench".into()))
    }
    async fn calls(&self) -> Result<Vec<pb::Call>, ApiError> {
        Err(ApiError::Unavailable("bench".into()))
    }
    async fn agent(&self, _: &str) -> Result<pb::Agent, ApiError> {
        Err(ApiError::Unavailable("bench".into()))
    }
    async fn agents(&self) -> Result<Vec<pb::Agent>, ApiError> {
        Err(ApiError::Unavailable("bench".into()))
    }
    async fn queue(&self, _: &str) -> Result<pb::Queue, ApiError> {
        Err(ApiError::Unavailable("bench".into()))
    }
    async fn queues(&self) -> Result<Vec<pb::Queue>, ApiError> {
        Err(ApiError::Unavailable("bench".into()))
    }
    async fn execute(&self, _: Command) -> Result<Accepted, ApiError> {
        Err(ApiError::Unavailable("bench".into()))
    }
    async fn reload_config(&self, _: &str) -> Result<ReloadOutcome, ApiError> {
        Err(ApiError::Unavailable("bench".into()))
    }
    async fn status(&self) -> Result<EngineStatus, ApiError> {
        Err(ApiError::Unavailable("bench".into()))
    }
}

/// A realistic event: an AgentAlerting screen-pop with caller, IVR input and call data.
fn event(i: u64) -> pb::Event {
    let call_id = format!("0190c0de-0000-7000-8000-{i:012}");
    pb::Event {
        call_id: call_id.clone(),
        agent: format!("{}", 1000 + i % 50),
        queue: if i.is_multiple_of(2) {
            "support"
        } else {
            "sales"
        }
        .into(),
        payload: Some(Payload::AgentAlerting(pb::AgentAlerting {
            agent: format!("{}", 1000 + i % 50),
            leg_id: format!("{call_id}-a"),
            caller: Some(pb::Party {
                number: format!("+1555{:07}", i % 10_000_000),
                name: "Alice Example".into(),
                restricted: false,
            }),
            dialed_number: "201".into(),
            queue: "support".into(),
            ivr_inputs: vec![pb::IvrInput {
                step: "menu".into(),
                key: "choice".into(),
                value: "2".into(),
                at: None,
            }],
            call_data: Some(pb::CallData {
                values: [("account".to_owned(), "12345678".to_owned())].into(),
                version: 1,
                etag: "1".into(),
            }),
            attempt: 1,
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// Appends `n` events from `from` in batches and publishes them; paced if `rate` is set.
fn produce(
    store: &mut Store,
    live: &broadcast::Sender<Arc<StoredEvent>>,
    from: u64,
    n: u64,
    rate: Option<u64>,
) {
    let start = Instant::now();
    let mut done = 0;
    while done < n {
        let count = BATCH.min(n - done);
        let now = SystemTime::now();
        let rows: Vec<_> = (from + done..from + done + count)
            .map(|i| codec::journal_event(now, &event(i)))
            .collect();
        let seqs = store.append(&rows).expect("append");
        for (seq, row) in seqs.into_iter().zip(rows) {
            let _ = live.send(Arc::new(StoredEvent {
                seq,
                epoch: store.epoch(),
                event: row,
            }));
        }
        done += count;
        if let Some(rate) = rate {
            let due = start + Duration::from_secs_f64(done as f64 / rate as f64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
    }
}

#[derive(Default)]
struct Samples {
    delivered: u64,
    lag_us: Vec<u64>,
    last_delivery: Option<Instant>,
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(
        &StoreConfig::new(dir.path().join("bench.db")),
        SystemTime::now(),
    )
    .unwrap();
    let pool = JournalPool::open(&store, 4).unwrap();
    let (live, _) = broadcast::channel(4096);
    let settings = ApiSettings::new(vec![ApiToken {
        name: "bench".into(),
        secret: TOKEN.into(),
        scopes: Scope::ALL.to_vec(),
    }]);
    let server = ApiServer::new(&settings, Arc::new(NoEngine), pool, live.clone());
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(server.serve_with_listener(listener, std::future::pending()));

    for (phase, n, rate) in [
        ("throughput", BURST, None),
        ("lag", PACED_RATE * PACED_SECONDS, Some(PACED_RATE)),
    ] {
        let from = store.head_seq().unwrap();
        let samples: Vec<Arc<Mutex<Samples>>> = (0..SUBSCRIBERS).map(|_| Arc::default()).collect();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let mut handles = Vec::new();
        for s in &samples {
            let (s, ready_tx) = (s.clone(), ready_tx.clone());
            handles.push(runtime.spawn(async move {
                let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
                    .unwrap()
                    .connect()
                    .await
                    .unwrap();
                let token: tonic::metadata::MetadataValue<_> =
                    format!("Bearer {TOKEN}").parse().unwrap();
                let mut client = pb::event_service_client::EventServiceClient::with_interceptor(
                    channel,
                    move |mut r: tonic::Request<()>| {
                        r.metadata_mut().insert("authorization", token.clone());
                        Ok(r)
                    },
                );
                let mut stream = client
                    .subscribe(pb::SubscribeRequest {
                        start: Some(pb::subscribe_request::Start::AfterSeq(from)),
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_inner();
                let mut local = Samples::default();
                while let Some(m) = stream.message().await.unwrap() {
                    match m.kind {
                        Some(Kind::CaughtUp(_)) => ready_tx.send(()).unwrap(),
                        Some(Kind::Event(e)) => {
                            let at = e.time.and_then(|t| SystemTime::try_from(t).ok()).unwrap();
                            let lag = SystemTime::now().duration_since(at).unwrap_or_default();
                            local.lag_us.push(lag.as_micros() as u64);
                            local.delivered += 1;
                            local.last_delivery = Some(Instant::now());
                            if e.seq == from + n {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                *s.lock().unwrap() = local;
            }));
        }
        for _ in 0..SUBSCRIBERS {
            ready_rx.recv().unwrap();
        }
        let start = Instant::now();
        produce(&mut store, &live, from, n, rate);
        let appended = start.elapsed();
        for h in handles {
            runtime.block_on(h).unwrap();
        }
        let mut lags = Vec::new();
        let mut delivered = 0;
        let mut last = start;
        for s in &samples {
            let s = s.lock().unwrap();
            delivered += s.delivered;
            lags.extend_from_slice(&s.lag_us);
            last = last.max(s.last_delivery.unwrap_or(start));
        }
        assert_eq!(
            delivered,
            n * SUBSCRIBERS as u64,
            "every subscriber got every event"
        );
        lags.sort_unstable();
        let pct =
            |p: f64| lags[((lags.len() as f64 * p) as usize).min(lags.len() - 1)] as f64 / 1000.0;
        let elapsed = last.duration_since(start).as_secs_f64();
        println!(
            "api_events/{phase}: {n} events x {SUBSCRIBERS} subscribers, appended in {:.2}s ({:.0}/s); \
             delivered {:.0} events/s total; lag p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            appended.as_secs_f64(),
            n as f64 / appended.as_secs_f64(),
            delivered as f64 / elapsed,
            pct(0.50),
            pct(0.99),
            pct(1.0),
        );
    }
}
