//! Test support: a real SQLite store journal, an in-memory fake of the engine seam that keeps
//! the engine's contract (journal first, then publish, events carry the command's request_id),
//! and a server on 127.0.0.1:0.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use switchboard_api::pb::event::Payload;
use switchboard_api::{
    Accepted, Action, ApiError, ApiServer, ApiSettings, ApiToken, Command, Engine, EngineSnapshot,
    EngineStatus, JournalPool, LiveEvents, ReloadOutcome, Scope, codec, pb,
};
use switchboard_store::{Store, StoreConfig, StoredEvent};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, oneshot};
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

pub const ADMIN_TOKEN: &str = "test-admin-secret";
pub const READ_TOKEN: &str = "test-read-secret";

pub fn tokens() -> Vec<ApiToken> {
    vec![
        ApiToken {
            name: "admin".into(),
            secret: ADMIN_TOKEN.into(),
            scopes: Scope::ALL.to_vec(),
        },
        ApiToken {
            name: "reader".into(),
            secret: READ_TOKEN.into(),
            scopes: vec![Scope::EventsRead],
        },
    ]
}

/// The engine's side in tests: owns the store (as the engine's writer would) and the state.
pub struct FakeEngine {
    pub store: Mutex<Store>,
    pub live: LiveEvents,
    pub state: Mutex<FakeState>,
}

#[derive(Default)]
pub struct FakeState {
    pub calls: HashMap<String, pb::Call>,
    pub agents: Vec<pb::Agent>,
    pub queues: Vec<pb::Queue>,
    pub ended: Vec<String>,
}

impl FakeEngine {
    /// Journals then publishes, as the engine must.
    pub fn emit(&self, events: Vec<pb::Event>) -> Vec<u64> {
        let now = SystemTime::now();
        let rows: Vec<_> = events
            .iter()
            .map(|e| codec::journal_event(now, e))
            .collect();
        let mut store = self.store.lock().unwrap();
        let seqs = store.append(&rows).expect("append");
        let epoch = store.epoch();
        drop(store);
        for (seq, row) in seqs.iter().zip(rows) {
            let _ = self.live.send(Arc::new(StoredEvent {
                seq: *seq,
                epoch,
                event: row,
            }));
        }
        seqs
    }

    /// Appends to the journal without publishing (an event the broadcast missed).
    pub fn journal_only(&self, events: Vec<pb::Event>) -> Vec<u64> {
        let now = SystemTime::now();
        let rows: Vec<_> = events
            .iter()
            .map(|e| codec::journal_event(now, e))
            .collect();
        self.store.lock().unwrap().append(&rows).expect("append")
    }

    pub fn agent_mut<R>(
        &self,
        id: &str,
        f: impl FnOnce(&mut pb::Agent) -> R,
    ) -> Result<R, ApiError> {
        let mut state = self.state.lock().unwrap();
        let agent = state
            .agents
            .iter_mut()
            .find(|a| a.agent == id)
            .ok_or_else(|| ApiError::AgentNotFound(id.into()))?;
        Ok(f(agent))
    }

    fn live_call(&self, id: &str) -> Result<pb::Call, ApiError> {
        let state = self.state.lock().unwrap();
        if state.ended.iter().any(|e| e == id) {
            return Err(ApiError::CallEnded(id.into()));
        }
        state
            .calls
            .get(id)
            .cloned()
            .ok_or_else(|| ApiError::CallNotFound(id.into()))
    }
}

pub fn agent(id: &str, state: pb::AgentState) -> pb::Agent {
    pb::Agent {
        name: format!("agents/{id}"),
        agent: id.into(),
        display_name: format!("Agent {id}"),
        state: state as i32,
        queues: vec!["support".into()],
        etag: "1".into(),
        ..Default::default()
    }
}

pub fn call(id: &str, caller: &str, agent_leg: Option<(&str, &str)>) -> pb::Call {
    let mut legs = vec![pb::Leg {
        name: format!("calls/{id}/legs/{id}-c"),
        leg_id: format!("{id}-c"),
        role: pb::LegRole::Customer as i32,
        state: pb::LegState::Connected as i32,
        ..Default::default()
    }];
    if let Some((leg, agent)) = agent_leg {
        legs.push(pb::Leg {
            name: format!("calls/{id}/legs/{leg}"),
            leg_id: leg.into(),
            role: pb::LegRole::Agent as i32,
            agent: agent.into(),
            state: pb::LegState::Connected as i32,
            ..Default::default()
        });
    }
    pb::Call {
        name: format!("calls/{id}"),
        call_id: id.into(),
        state: pb::CallState::Connected as i32,
        caller: Some(pb::Party {
            number: caller.into(),
            name: "Alice".into(),
            restricted: false,
        }),
        dialed_number: "201".into(),
        queue: Some(pb::QueueStay {
            queue: "support".into(),
            ..Default::default()
        }),
        legs,
        call_data: Some(pb::CallData {
            values: HashMap::from([("menu".into(), "2".into())]),
            version: 1,
            etag: "1".into(),
        }),
        ..Default::default()
    }
}

/// A generic call event for stream tests.
pub fn call_event(call_id: &str, queue: &str, agent: &str, n: u64) -> pb::Event {
    pb::Event {
        call_id: call_id.into(),
        queue: queue.into(),
        agent: agent.into(),
        payload: Some(Payload::DtmfReceived(pb::DtmfReceived {
            leg_id: format!("leg-{n}"),
            digit: (n % 10).to_string(),
        })),
        ..Default::default()
    }
}

#[tonic::async_trait]
impl Engine for FakeEngine {
    async fn snapshot(&self) -> Result<EngineSnapshot, ApiError> {
        let head = self
            .store
            .lock()
            .unwrap()
            .head_seq()
            .map_err(ApiError::from)?;
        let state = self.state.lock().unwrap();
        Ok(EngineSnapshot {
            as_of_seq: head,
            calls: state.calls.values().cloned().collect(),
            agents: state.agents.clone(),
            queues: state.queues.clone(),
        })
    }
    async fn call(&self, call_id: &str) -> Result<pb::Call, ApiError> {
        let state = self.state.lock().unwrap();
        state
            .calls
            .get(call_id)
            .cloned()
            .ok_or_else(|| ApiError::CallNotFound(call_id.into()))
    }
    async fn calls(&self) -> Result<Vec<pb::Call>, ApiError> {
        let state = self.state.lock().unwrap();
        let mut calls: Vec<_> = state.calls.values().cloned().collect();
        calls.sort_by(|a, b| a.call_id.cmp(&b.call_id));
        Ok(calls)
    }
    async fn agent(&self, agent: &str) -> Result<pb::Agent, ApiError> {
        self.agent_mut(agent, |a| a.clone())
    }
    async fn agents(&self) -> Result<Vec<pb::Agent>, ApiError> {
        Ok(self.state.lock().unwrap().agents.clone())
    }
    async fn queue(&self, queue: &str) -> Result<pb::Queue, ApiError> {
        let state = self.state.lock().unwrap();
        state
            .queues
            .iter()
            .find(|q| q.queue == queue)
            .cloned()
            .ok_or_else(|| ApiError::QueueNotFound(queue.into()))
    }
    async fn queues(&self) -> Result<Vec<pb::Queue>, ApiError> {
        Ok(self.state.lock().unwrap().queues.clone())
    }
    async fn execute(&self, command: Command) -> Result<Accepted, ApiError> {
        let rid = command.request_id.clone();
        let envelope = |call_id: &str, leg_id: &str, payload: Payload| pb::Event {
            request_id: rid.clone(),
            call_id: call_id.into(),
            leg_id: leg_id.into(),
            payload: Some(payload),
            ..Default::default()
        };
        match command.action {
            Action::HangupLeg { leg, .. } => {
                let call = self.live_call(&leg.call_id)?;
                if !call.legs.iter().any(|l| l.leg_id == leg.leg_id) {
                    return Err(ApiError::LegNotFound {
                        call_id: leg.call_id,
                        leg_id: leg.leg_id,
                    });
                }
                self.emit(vec![envelope(
                    &leg.call_id,
                    &leg.leg_id,
                    Payload::LegEnded(pb::LegEnded {
                        leg_id: leg.leg_id.clone(),
                        cause: None,
                    }),
                )]);
                Ok(Accepted {
                    call_id: Some(leg.call_id),
                    ..Default::default()
                })
            }
            Action::EndCall { call_id, .. } => {
                self.live_call(&call_id)?;
                self.state.lock().unwrap().ended.push(call_id.clone());
                self.emit(vec![envelope(
                    &call_id,
                    "",
                    Payload::CallEnded(pb::CallEnded::default()),
                )]);
                Ok(Accepted::default())
            }
            Action::BlindTransfer { leg, target, .. } => {
                let call = self.live_call(&leg.call_id)?;
                let new_leg = format!("{}-t{}", leg.call_id, call.transfers.len() + 1);
                let number = match target {
                    switchboard_api::Target::Number(n) => n,
                    switchboard_api::Target::Agent(a) | switchboard_api::Target::Queue(a) => a,
                };
                self.emit(vec![envelope(
                    &leg.call_id,
                    &leg.leg_id,
                    Payload::CallTransferred(pb::CallTransferred {
                        old_leg_id: leg.leg_id.clone(),
                        new_leg_id: new_leg.clone(),
                        transfer: Some(pb::TransferRecord {
                            from_leg_id: leg.leg_id.clone(),
                            to_leg_id: new_leg.clone(),
                            kind: pb::TransferKind::Blind as i32,
                            target: Some(pb::TransferTarget {
                                target: Some(pb::transfer_target::Target::Number(number)),
                            }),
                            ..Default::default()
                        }),
                    }),
                )]);
                Ok(Accepted {
                    call_id: Some(leg.call_id),
                    leg_id: Some(new_leg),
                    ..Default::default()
                })
            }
            Action::MakeCall { agent, call_id, .. } => {
                self.agent_mut(&agent, |_| ())?;
                self.emit(vec![envelope(
                    &call_id,
                    "",
                    Payload::CallCreated(pb::CallCreated {
                        call: Some(call(&call_id, "", None)),
                    }),
                )]);
                Ok(Accepted {
                    call_id: Some(call_id.clone()),
                    leg_id: Some(format!("{call_id}-a")),
                    ..Default::default()
                })
            }
            Action::UpdateCallData {
                call_id,
                set,
                remove,
                etag,
            } => {
                let mut state = self.state.lock().unwrap();
                let call = state
                    .calls
                    .get_mut(&call_id)
                    .ok_or_else(|| ApiError::CallNotFound(call_id.clone()))?;
                let data = call.call_data.get_or_insert_with(Default::default);
                if let Some(etag) = etag
                    && etag != data.etag
                {
                    return Err(ApiError::EtagMismatch {
                        current: data.etag.clone(),
                    });
                }
                data.values.extend(set);
                for k in remove {
                    data.values.remove(&k);
                }
                data.version += 1;
                data.etag = data.version.to_string();
                let data = data.clone();
                drop(state);
                Ok(Accepted {
                    call_data: Some(data),
                    ..Default::default()
                })
            }
            Action::SetAgentState {
                agent,
                state,
                reason_code,
                etag,
                after_current_work,
            } => {
                let (previous, snapshot) = self.agent_mut(&agent, |a| {
                    if let Some(etag) = &etag
                        && *etag != a.etag
                    {
                        return Err(ApiError::EtagMismatch {
                            current: a.etag.clone(),
                        });
                    }
                    if a.state == pb::AgentState::LoggedOut as i32 {
                        return Err(ApiError::AgentNotLoggedIn(a.agent.clone()));
                    }
                    let busy = a.state == pb::AgentState::Busy as i32;
                    if busy && !after_current_work {
                        return Err(ApiError::AgentOnCall(a.agent.clone()));
                    }
                    let previous = a.state;
                    if busy {
                        a.pending_state = state as i32;
                        a.pending_reason_code = reason_code.clone().unwrap_or_default();
                    } else {
                        a.state = state as i32;
                        a.reason_code = reason_code.clone().unwrap_or_default();
                    }
                    let next: u64 = a.etag.parse().unwrap_or(0) + 1;
                    a.etag = next.to_string();
                    Ok((previous, a.clone()))
                })??;
                self.emit(vec![pb::Event {
                    request_id: rid.clone(),
                    agent: agent.clone(),
                    payload: Some(Payload::AgentStateChanged(pb::AgentStateChanged {
                        agent: agent.clone(),
                        previous,
                        current: snapshot.state,
                        reason_code: snapshot.reason_code.clone(),
                        cause: pb::AgentStateCause::Supervisor as i32,
                        snapshot: Some(snapshot.clone()),
                    })),
                    ..Default::default()
                }]);
                Ok(Accepted {
                    agent: Some(snapshot),
                    ..Default::default()
                })
            }
            Action::LogoutAgent { agent, force, .. } => {
                let snapshot = self.agent_mut(&agent, |a| {
                    if a.state == pb::AgentState::Busy as i32 && !force {
                        return Err(ApiError::AgentOnCall(a.agent.clone()));
                    }
                    a.state = pb::AgentState::LoggedOut as i32;
                    Ok(a.clone())
                })??;
                Ok(Accepted {
                    agent: Some(snapshot),
                    ..Default::default()
                })
            }
            other => Err(ApiError::NotSupported(format!("fake engine: {other:?}"))),
        }
    }
    async fn reload_config(&self, _request_id: &str) -> Result<ReloadOutcome, ApiError> {
        Ok(ReloadOutcome {
            changed: false,
            config_digest: "fake".into(),
        })
    }
    async fn status(&self) -> Result<EngineStatus, ApiError> {
        let state = self.state.lock().unwrap();
        Ok(EngineStatus {
            started_at: SystemTime::UNIX_EPOCH,
            active_calls: state.calls.len() as u32,
            queued_calls: 0,
            agents_logged_in: state.agents.len() as u32,
            agents_ready: 0,
            config_digest: "fake".into(),
        })
    }
}

/// A running test server.
pub struct TestServer {
    pub addr: std::net::SocketAddr,
    pub engine: Arc<FakeEngine>,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl TestServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.url())
            .unwrap()
            .connect()
            .await
            .expect("connect")
    }
}

pub struct Options {
    pub live_capacity: usize,
    pub retention_events: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            live_capacity: 1024,
            retention_events: None,
        }
    }
}

pub async fn start() -> TestServer {
    start_with(Options::default()).await
}

pub async fn start_with(options: Options) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        &StoreConfig::new(dir.path().join("sb.db")),
        SystemTime::now(),
    )
    .unwrap();
    let pool = JournalPool::open(&store, 4).unwrap();
    let (live, _) = broadcast::channel(options.live_capacity);
    let engine = Arc::new(FakeEngine {
        store: Mutex::new(store),
        live: live.clone(),
        state: Mutex::new(FakeState {
            agents: vec![
                agent("1001", pb::AgentState::Ready),
                agent("1002", pb::AgentState::Busy),
            ],
            queues: vec![pb::Queue {
                name: "queues/support".into(),
                queue: "support".into(),
                strategy: "longest_idle".into(),
                stats: Some(pb::QueueStats {
                    queue: "support".into(),
                    waiting: 2,
                    longest_wait: Some(prost_types::Duration {
                        seconds: 42,
                        nanos: 0,
                    }),
                    ..Default::default()
                }),
            }],
            ..Default::default()
        }),
    });
    let mut settings = ApiSettings::new(tokens());
    settings.retention.max_events = options.retention_events;
    let server = ApiServer::new(&settings, engine.clone(), pool, live);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        server
            .serve_with_listener(listener, async {
                let _ = stopped.await;
            })
            .await
            .expect("serve");
    });
    TestServer {
        addr,
        engine,
        dir,
        stop: Some(stop),
    }
}

/// Adds the bearer token to every request.
#[derive(Clone)]
pub struct Bearer(pub MetadataValue<tonic::metadata::Ascii>);

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

pub fn bearer(token: &str) -> Bearer {
    Bearer(format!("Bearer {token}").parse().unwrap())
}

pub const WAIT: Duration = Duration::from_secs(10);
