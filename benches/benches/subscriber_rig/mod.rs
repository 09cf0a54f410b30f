//! Live event subscribers for the daemon-driving benches: `n` `Subscribe` streams (start NOW,
//! no filter) on one thread of their own, each delivery stamped on arrival, so a bench can
//! report events delivered per second and each event's lag (arrival wall clock − the event's
//! `time`, which the engine sets when the event happens, before its journal commit) while it
//! drives calls. The streams also put the screen-pop gate in the path: with a live subscriber
//! an agent's INVITE waits for its `AgentAlerting` to be taken.
#![allow(dead_code, missing_docs, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use switchboard_api::pb;
use switchboard_api::pb::subscribe_response::Kind;
use tonic::metadata::MetadataValue;

/// One delivery: when it arrived, and its lag.
#[derive(Debug, Clone, Copy)]
pub struct Delivery {
    pub at: Instant,
    pub lag: Duration,
}

/// The subscribers; they stop when dropped.
pub struct Subscribers {
    deliveries: Arc<Mutex<Vec<Delivery>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Subscribers {
    /// Opens `n` streams to the daemon's API at `addr` and waits until each is live.
    pub fn start(addr: SocketAddr, token: &str, n: usize) -> Result<Self, String> {
        let deliveries = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let bearer: MetadataValue<_> = format!("Bearer {token}")
            .parse()
            .map_err(|e| format!("token: {e}"))?;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let thread = {
            let (deliveries, stop) = (deliveries.clone(), stop.clone());
            std::thread::Builder::new()
                .name("bench-subscribers".into())
                .spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        let _ = ready_tx.send(Err("runtime".into()));
                        return;
                    };
                    rt.block_on(async move {
                        let mut tasks = Vec::new();
                        for k in 0..n {
                            let (deliveries, stop, bearer, ready) = (
                                deliveries.clone(),
                                stop.clone(),
                                bearer.clone(),
                                ready_tx.clone(),
                            );
                            tasks.push(tokio::spawn(async move {
                                let stream = async {
                                    let mut client =
                                        pb::event_service_client::EventServiceClient::connect(
                                            format!("http://{addr}"),
                                        )
                                        .await
                                        .map_err(|e| e.to_string())?;
                                    let mut request = tonic::Request::new(pb::SubscribeRequest {
                                        start: Some(pb::subscribe_request::Start::Position(
                                            pb::StartPosition::Now as i32,
                                        )),
                                        client_name: format!("bench-{k}"),
                                        ..Default::default()
                                    });
                                    request.metadata_mut().insert("authorization", bearer);
                                    client
                                        .subscribe(request)
                                        .await
                                        .map(tonic::Response::into_inner)
                                        .map_err(|s| s.to_string())
                                };
                                let mut stream = match stream.await {
                                    Ok(s) => {
                                        let _ = ready.send(Ok(()));
                                        s
                                    }
                                    Err(e) => {
                                        let _ = ready.send(Err(e));
                                        return;
                                    }
                                };
                                while !stop.load(Ordering::Relaxed) {
                                    let next = tokio::time::timeout(
                                        Duration::from_millis(200),
                                        stream.message(),
                                    )
                                    .await;
                                    let Ok(next) = next else { continue };
                                    let Ok(Some(message)) = next else { return };
                                    if let Some(Kind::Event(event)) = message.kind {
                                        let at = Instant::now();
                                        let lag = event
                                            .time
                                            .and_then(|t| SystemTime::try_from(t).ok())
                                            .and_then(|t| SystemTime::now().duration_since(t).ok())
                                            .unwrap_or_default();
                                        deliveries
                                            .lock()
                                            .unwrap_or_else(PoisonError::into_inner)
                                            .push(Delivery { at, lag });
                                    }
                                }
                            }));
                        }
                        for t in tasks {
                            let _ = t.await;
                        }
                    });
                })
                .map_err(|e| format!("spawning the subscriber thread: {e}"))?
        };
        for _ in 0..n {
            ready_rx
                .recv_timeout(Duration::from_secs(20))
                .map_err(|_| "a subscriber never connected".to_owned())??;
        }
        Ok(Self {
            deliveries,
            stop,
            thread: Some(thread),
        })
    }

    /// The deliveries that arrived in `from..to`.
    pub fn between(&self, from: Instant, to: Instant) -> Vec<Delivery> {
        self.deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|d| d.at >= from && d.at < to)
            .copied()
            .collect()
    }
}

impl Drop for Subscribers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
