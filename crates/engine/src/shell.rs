//! The tokio shell around [`Engine`]: one task owns the core and feeds it SIP messages from the
//! transport, media events from the media plane, store commits from the writer thread and its
//! own deadline; it carries out the core's outputs without ever awaiting a slow peer.
//!
//! - SIP: `switchboard_sip::transport` (UDP/TCP), two bounded inbound channels: calls in
//!   progress, read before the others, and new requests, read last (503 when full).
//! - Store: [`StoreWriter`] on its own thread, group commit; replies come back on a channel and
//!   the committed events are published (with their seq) on the bus before the core hears of
//!   the commit.
//! - Media: a [`MediaPlane`] (the media threads), commands fire-and-forget, events back on a
//!   bounded channel.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use switchboard_config::Config;
use switchboard_ivr::Flow;
use switchboard_sip::transport::{
    self, Inbound, InboundQueues, TlsListenerConfig, TransportConfig, TransportHandle,
};
use switchboard_store::writer::{OrderedSubmitter, Reply, StoreWriter};
use switchboard_store::{NewEvent, Store, WriteOp, WriteOutcome};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::command::{CommandError, EngineCommand};
use crate::engine::{Engine, EngineError, EngineOptions};
use crate::query::{EngineQuery, QueryAnswer, QueryError};
use crate::snapshot_cut::JournalCut;
use switchboard_media::engine::{EngineEvent, EngineEvents, LegId as MediaLegId, MediaHandle};
use switchboard_media::ports::PortPool;

use crate::output::{LegAllocator, LegId, MediaCommand, MediaEvent, Output, PlaybackRef, Ticket};

/// Capacity of the published event bus; a lagging subscriber is told how many it lost and
/// re-reads them from the journal by seq.
const EVENT_BUS: usize = 4096;
/// Bound of the API command channel.
const COMMANDS: usize = 256;
/// Bound of the media event channel (DTMF, playback ends, inactivity).
const MEDIA_EVENTS: usize = 4096;
/// Bound of the store writer's queue and of one commit batch.
const STORE_QUEUE: usize = 8192;
const STORE_BATCH: usize = 256;

/// Where the event fan-out tells the engine that a published event has left for its live
/// subscribers (issue 7: the `AgentAlerting` screen-pop reaches subscribers before the agent's
/// phone gets its INVITE). The API implements it over its open streams.
pub trait DeliveryGate: Send + Sync + 'static {
    /// Resolves once `event`, published on the bus as `seq`, has been handed to the transport
    /// of every live subscriber whose filter takes it, plus `lead` (the client's time to read
    /// it); at once if there is none. The engine bounds the wait itself (`[api]
    /// screen_pop_max_hold_ms`).
    fn delivered(
        &self,
        seq: u64,
        event: &NewEvent,
        lead: Duration,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// The media plane as the engine sees it: commands in (never blocking), [`MediaEvent`]s out
/// through [`MediaBackend::events`].
pub trait MediaPlane: Send + 'static {
    /// Carries out `command` without blocking.
    fn command(&mut self, command: MediaCommand);
}

/// Everything media the engine task needs: leg creation (for SDP), the command side and the
/// event channel.
pub struct MediaBackend {
    /// Creates legs (handed to the core).
    pub legs: Box<dyn LegAllocator>,
    /// Carries out commands.
    pub plane: Box<dyn MediaPlane>,
    /// Reports back.
    pub events: mpsc::Receiver<MediaEvent>,
}

impl MediaBackend {
    /// The media engine (`switchboard_media::engine`): its worker threads own the RTP
    /// sockets; its events are forwarded by a small task (stopped with `shutdown`).
    pub fn engine(
        handle: MediaHandle,
        mut events: EngineEvents,
        tracker: &TaskTracker,
        shutdown: CancellationToken,
    ) -> MediaBackend {
        let (tx, rx) = mpsc::channel(MEDIA_EVENTS);
        tracker.spawn(async move {
            loop {
                let event = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    event = events.recv() => event,
                };
                let Some(event) = event else { return };
                let event = match event {
                    EngineEvent::Dtmf { leg, digit } => MediaEvent::Dtmf {
                        leg: LegId(leg.0),
                        digit: digit.digit.as_char(),
                    },
                    EngineEvent::PlaybackFinished { leg, tag } => MediaEvent::PlaybackFinished {
                        leg: LegId(leg.0),
                        playback: PlaybackRef(u32::try_from(tag).unwrap_or(u32::MAX)),
                    },
                    EngineEvent::MediaTimeout { leg, .. } => {
                        MediaEvent::Inactive { leg: LegId(leg.0) }
                    }
                    EngineEvent::RecordingFinished {
                        path,
                        error: Some(error),
                        ..
                    } => {
                        tracing::warn!(path = %path.display(), %error, "recording incomplete");
                        continue;
                    }
                    _ => continue,
                };
                if tx.send(event).await.is_err() {
                    return;
                }
            }
        });
        MediaBackend {
            legs: Box::new(EngineLegs(handle.clone())),
            plane: Box::new(EnginePlane(handle)),
            events: rx,
        }
    }

    /// A media plane that moves no audio: legs get ports from a pool but no sockets,
    /// playbacks end at once (IVR flows advance on their digit timeouts). For tests and hosts
    /// without a media engine; signalling, queueing, routing and records are unaffected.
    pub fn silent(ip: IpAddr, ports: RangeInclusive<u16>) -> MediaBackend {
        let (tx, rx) = mpsc::channel(MEDIA_EVENTS);
        let pool = Arc::new(std::sync::Mutex::new((
            PortPool::new(ports, Duration::from_secs(2)),
            HashMap::new(),
        )));
        MediaBackend {
            legs: Box::new(SilentLegs {
                ip,
                next: 1,
                pool: Arc::clone(&pool),
            }),
            plane: Box::new(SilentPlane { events: tx, pool }),
            events: rx,
        }
    }
}

struct EngineLegs(MediaHandle);

impl LegAllocator for EngineLegs {
    fn create_leg(&mut self, near: Option<LegId>) -> Option<(LegId, SocketAddr)> {
        match self.0.create_leg(near.map(|l| MediaLegId(l.0))) {
            Ok(info) => Some((LegId(info.id.0), info.rtp)),
            Err(err) => {
                tracing::warn!(error = %err, "no media leg");
                None
            }
        }
    }
}

struct EnginePlane(MediaHandle);

impl MediaPlane for EnginePlane {
    fn command(&mut self, command: MediaCommand) {
        let m = &self.0;
        let result = match command {
            MediaCommand::SetMedia { leg, media } => m.set_media(MediaLegId(leg.0), media),
            MediaCommand::Play {
                leg,
                playback,
                prompts,
            } => m.play_prompts(MediaLegId(leg.0), &prompts, u64::from(playback.0)),
            MediaCommand::MusicOnHold { leg, class } => {
                m.play_moh(MediaLegId(leg.0), &class, u64::from(u32::MAX))
            }
            MediaCommand::Stop { leg } => m.stop_playback(MediaLegId(leg.0)),
            MediaCommand::Bridge { caller, agent } => {
                m.bridge(MediaLegId(caller.0), MediaLegId(agent.0))
            }
            MediaCommand::Deafen { leg, deaf } => m.deafen(MediaLegId(leg.0), deaf),
            MediaCommand::Conference { legs } => {
                let legs: Vec<MediaLegId> = legs.iter().map(|l| MediaLegId(l.0)).collect();
                m.conference(&legs)
            }
            MediaCommand::Record {
                caller,
                agent,
                name,
            } => m
                .start_recording(MediaLegId(caller.0), MediaLegId(agent.0), &name)
                .map(|_| ()),
            MediaCommand::SendDtmf {
                leg,
                digits,
                duration,
            } => m.send_dtmf(MediaLegId(leg.0), &digits, duration),
            MediaCommand::CloseLeg { leg } => m.close_leg(MediaLegId(leg.0)),
        };
        if let Err(err) = result {
            metrics::counter!("switchboard_media_command_errors_total").increment(1);
            tracing::debug!(error = %err, "media command refused");
        }
    }
}

type SilentPool = Arc<std::sync::Mutex<(PortPool, HashMap<LegId, u16>)>>;

struct SilentLegs {
    ip: IpAddr,
    next: u64,
    pool: SilentPool,
}

impl LegAllocator for SilentLegs {
    fn create_leg(&mut self, _near: Option<LegId>) -> Option<(LegId, SocketAddr)> {
        let mut pool = self.pool.lock().ok()?;
        let port = pool.0.allocate(Instant::now())?;
        let leg = LegId(self.next);
        self.next += 1;
        pool.1.insert(leg, port);
        Some((leg, SocketAddr::new(self.ip, port)))
    }
}

struct SilentPlane {
    events: mpsc::Sender<MediaEvent>,
    pool: SilentPool,
}

impl MediaPlane for SilentPlane {
    fn command(&mut self, command: MediaCommand) {
        match command {
            MediaCommand::Play { leg, playback, .. } => {
                let _ = self
                    .events
                    .try_send(MediaEvent::PlaybackFinished { leg, playback });
            }
            MediaCommand::CloseLeg { leg } => {
                if let Ok(mut pool) = self.pool.lock()
                    && let Some(port) = pool.1.remove(&leg)
                {
                    pool.0.release(Instant::now(), port);
                }
            }
            _ => {}
        }
    }
}

/// One committed event, as published on the bus.
#[derive(Debug, Clone)]
pub struct PublishedEvent {
    /// Its gap-free sequence number.
    pub seq: u64,
    /// The event.
    pub event: Arc<NewEvent>,
}

/// What the daemon keeps of the engine.
pub struct EngineHandle {
    transport: TransportHandle,
    events: broadcast::Sender<PublishedEvent>,
    commands: mpsc::Sender<Inbox>,
    gate: Arc<OnceLock<Arc<dyn DeliveryGate>>>,
    calls_active: Arc<std::sync::atomic::AtomicUsize>,
}

/// What the engine task takes from the API, in one channel so a read issued after a command
/// sees the command's effect.
enum Inbox {
    Command {
        command: EngineCommand,
        request_id: Option<String>,
        reply: oneshot::Sender<Result<(), CommandError>>,
    },
    Query {
        query: EngineQuery,
        reply: oneshot::Sender<Result<QueryAnswer, QueryError>>,
    },
}

impl EngineHandle {
    /// Calls in progress, as of the engine task's last turn (also the
    /// `switchboard_calls_active` gauge).
    pub fn calls_active(&self) -> usize {
        self.calls_active.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The bound SIP address (UDP and TCP).
    pub fn local_addr(&self) -> SocketAddr {
        self.transport.local_addr()
    }

    /// The bound SIP-over-TLS address, when `[sip.tls]` is configured.
    pub fn tls_local_addr(&self) -> Option<SocketAddr> {
        self.transport.tls_local_addr()
    }

    /// Committed events, live.
    pub fn subscribe(&self) -> broadcast::Receiver<PublishedEvent> {
        self.events.subscribe()
    }

    /// Runs an API command on the engine task and returns its outcome.
    pub async fn command(&self, command: EngineCommand) -> Result<(), CommandError> {
        self.command_for(None, command).await
    }

    /// Runs an API command; every event it causes on the engine task carries `request_id`.
    pub async fn command_for(
        &self,
        request_id: Option<String>,
        command: EngineCommand,
    ) -> Result<(), CommandError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Inbox::Command {
                command,
                request_id,
                reply,
            })
            .await
            .map_err(|_| CommandError::Stopped)?;
        rx.await.map_err(|_| CommandError::Stopped)?
    }

    /// Reads calls, agents or queues on the engine task. A snapshot's `as_of_seq` is the seq
    /// of the last event its state reflects: the answer waits until every event the engine had
    /// produced is committed (and published), so a stream that continues after `as_of_seq`
    /// misses nothing and repeats nothing.
    pub async fn query(&self, query: EngineQuery) -> Result<QueryAnswer, QueryError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Inbox::Query { query, reply })
            .await
            .map_err(|_| QueryError::Stopped)?;
        rx.await.map_err(|_| QueryError::Stopped)?
    }

    /// Holds every agent INVITE until its `AgentAlerting` has left through `gate` (at most
    /// 50 ms). Set once; later calls are ignored.
    pub fn set_delivery_gate(&self, gate: Arc<dyn DeliveryGate>) {
        let _ = self.gate.set(gate);
    }
}

/// Why the engine did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Binding the SIP listeners failed.
    #[error("binding SIP: {0}")]
    Bind(#[from] std::io::Error),
    /// The `[sip.tls]` certificate or key could not be loaded.
    #[error("SIP TLS certificate: {0}")]
    Tls(std::io::Error),
    /// The engine refused the configuration.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The store's writer thread did not start.
    #[error("store writer: {0}")]
    Store(#[from] switchboard_store::StoreError),
}

/// Binds SIP, starts the store writer and the engine task. `media` builds the media plane
/// from the channel it reports on.
pub async fn start(
    config: Arc<Config>,
    flows: HashMap<String, Arc<Flow>>,
    options: EngineOptions,
    store: Store,
    media: MediaBackend,
    tracker: &TaskTracker,
    shutdown: CancellationToken,
) -> Result<EngineHandle, StartError> {
    let sip = &config.sip;
    let mut transport_config = TransportConfig::new(config.server.sip_listen);
    transport_config.limits.max_datagram = sip.max_message_bytes;
    transport_config.limits.max_message = sip.max_message_bytes;
    transport_config.limits.max_headers = sip.max_headers;
    transport_config.inbound_capacity = sip.max_pending_invites;
    transport_config.retry_after_seconds = sip.retry_after.as_secs().try_into().unwrap_or(u32::MAX);
    if let Some(tls) = &sip.tls {
        transport_config.tls = Some(TlsListenerConfig {
            listen: tls.listen,
            server_config: transport::load_server_config(&tls.cert, &tls.key)
                .map_err(StartError::Tls)?,
        });
    }
    let (transport, inbound) =
        transport::start(transport_config, tracker, shutdown.clone()).await?;
    let MediaBackend {
        legs,
        plane,
        events: media_rx,
    } = media;
    let mut engine = Engine::new(
        config,
        flows,
        options,
        legs,
        Instant::now(),
        SystemTime::now(),
    )?;
    // Pending callbacks survive a restart (the writer thread owns the store from here on).
    match store.callbacks() {
        Ok(pending) if !pending.is_empty() => {
            tracing::info!(count = pending.len(), "restoring pending callbacks");
            engine.restore_callbacks(Instant::now(), pending);
        }
        Ok(_) => {}
        Err(err) => tracing::error!(error = %err, "pending callbacks could not be read"),
    }
    let head_seq = store.head_seq()?;
    let writer = StoreWriter::spawn(store, STORE_QUEUE, STORE_BATCH)?;
    let (events, _) = broadcast::channel(EVENT_BUS);
    let (commands, commands_rx) = mpsc::channel(COMMANDS);
    let gate = Arc::new(OnceLock::new());
    let calls_active = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let shell = Shell {
        calls_active: calls_active.clone(),
        engine,
        transport: transport.clone(),
        store: OrderedSubmitter::new(writer.handle()),
        media: plane,
        events: events.clone(),
        gate: gate.clone(),
        journal: JournalCut::starting_at(head_seq),
    };
    tracker.spawn(async move {
        shell.run(inbound, media_rx, commands_rx, shutdown).await;
        // Every queued write is committed before the store closes.
        let _ = tokio::task::spawn_blocking(move || {
            if let Ok(store) = writer.shutdown() {
                let _ = store.close();
            }
        })
        .await;
    });
    Ok(EngineHandle {
        transport,
        events,
        commands,
        gate,
        calls_active,
    })
}

type Done = (Ticket, bool, Vec<(u64, NewEvent)>);

struct Shell {
    engine: Engine,
    transport: TransportHandle,
    /// Journal writes, committed in the engine's order even behind a full store queue.
    store: OrderedSubmitter,
    media: Box<dyn MediaPlane>,
    events: broadcast::Sender<PublishedEvent>,
    gate: Arc<OnceLock<Arc<dyn DeliveryGate>>>,
    journal: JournalCut,
    /// `Engine::call_count` after each turn, for the daemon (`EngineHandle::calls_active`).
    calls_active: Arc<std::sync::atomic::AtomicUsize>,
}

impl Shell {
    async fn run(
        mut self,
        inbound: InboundQueues,
        mut media: mpsc::Receiver<MediaEvent>,
        mut commands: mpsc::Receiver<Inbox>,
        shutdown: CancellationToken,
    ) {
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
        let InboundQueues {
            mut in_progress,
            mut new_requests,
        } = inbound;
        // Commits whose screen-pop has reached the subscribers (or the limit passed).
        let (released_tx, mut released_rx) = mpsc::unbounded_channel::<(Ticket, bool)>();
        loop {
            self.dispatch(&done_tx);
            let calls = self.engine.call_count();
            if self
                .calls_active
                .swap(calls, std::sync::atomic::Ordering::Relaxed)
                != calls
            {
                metrics::gauge!("switchboard_calls_active").set(calls as f64);
            }
            let deadline = self.engine.poll_timeout();
            // Biased, in this order: commits first (a held BYE answer or agent INVITE waits on
            // one), then what calls in progress sent, timers, media and API commands, and new
            // requests last, so a flood of new INVITEs delays none of the others.
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                Some((ticket, ok, committed)) = done_rx.recv() => {
                    let seqs: Vec<u64> = committed.iter().map(|(seq, _)| *seq).collect();
                    let mut screen_pop = None;
                    for (seq, event) in committed {
                        let event = Arc::new(event);
                        if event.kind == "AgentAlerting" {
                            screen_pop = Some((seq, event.clone()));
                        }
                        let _ = self.events.send(PublishedEvent { seq, event });
                    }
                    // Published first: a snapshot answered now is never ahead of the bus.
                    self.journal.committed(ticket, seqs.into_iter());
                    match (screen_pop, self.gate.get()) {
                        // The INVITE this commit releases waits for the fan-out.
                        // Held at most `screen_pop_max_hold_ms` (a subscriber that does not
                        // read must not hold calls: past it the phone rings anyway); 0: never.
                        (Some((seq, event)), Some(gate))
                            if ok && !self.engine.config.api.screen_pop_max_hold.is_zero() =>
                        {
                            let api = &self.engine.config.api;
                            let (lead, limit) = (api.screen_pop_lead, api.screen_pop_max_hold);
                            let delivered = gate.delivered(seq, &event, lead);
                            let released = released_tx.clone();
                            tokio::spawn(async move {
                                let held = Instant::now();
                                let r = tokio::time::timeout(limit, delivered).await;
                                metrics::histogram!("switchboard_screen_pop_hold_seconds")
                                    .record(held.elapsed().as_secs_f64());
                                if r.is_err() {
                                    metrics::counter!("switchboard_screen_pop_delivery_timeouts_total")
                                        .increment(1);
                                }
                                let _ = released.send((ticket, ok));
                            });
                        }
                        _ => self.engine.handle_store(Instant::now(), ticket, ok),
                    }
                }
                Some((ticket, ok)) = released_rx.recv() => {
                    self.engine.handle_store(Instant::now(), ticket, ok);
                }
                message = in_progress.recv() => {
                    let Some(Inbound { peer, message, .. }) = message else { break };
                    self.engine.handle_sip(Instant::now(), peer, message);
                }
                _ = sleep_until(deadline) => self.engine.handle_timeout(Instant::now()),
                Some(event) = media.recv() => self.engine.handle_media(Instant::now(), event),
                Some(inbox) = commands.recv() => self.on_inbox(inbox),
                message = new_requests.recv() => {
                    let Some(Inbound { peer, message, .. }) = message else { break };
                    self.engine.handle_sip(Instant::now(), peer, message);
                }
            }
        }
    }

    fn on_inbox(&mut self, inbox: Inbox) {
        let now = Instant::now();
        match inbox {
            Inbox::Command {
                command,
                request_id,
                reply,
            } => {
                let _ = reply.send(self.engine.handle_request(now, command, request_id));
            }
            Inbox::Query { query, reply } => match self.engine.query(now, &query) {
                Ok(QueryAnswer::Snapshot(snapshot)) => self.journal.snapshot(snapshot, reply),
                other => {
                    let _ = reply.send(other);
                }
            },
        }
    }

    fn dispatch(&mut self, done: &mpsc::UnboundedSender<Done>) {
        while let Some(output) = self.engine.poll_output() {
            match output {
                Output::Transmit { peer, bytes } => {
                    if let Err(err) = self.transport.send(&peer, bytes) {
                        metrics::counter!("switchboard_sip_send_errors_total").increment(1);
                        tracing::debug!(%peer, error = %err, "send failed");
                        if peer.transport.is_reliable() {
                            self.engine.handle_transport_error(Instant::now(), peer);
                        }
                    }
                }
                Output::Media(command) => self.media.command(command),
                Output::Store { ticket, op } => {
                    self.journal.submitted(ticket);
                    self.submit(ticket, op, done.clone());
                }
            }
        }
    }

    fn submit(&mut self, ticket: Ticket, op: WriteOp, done: mpsc::UnboundedSender<Done>) {
        let events: Vec<NewEvent> = match &op {
            WriteOp::Append(events)
            | WriteOp::Record { events, .. }
            | WriteOp::FinishCall { events, .. } => events.clone(),
            _ => Vec::new(),
        };
        let reply: Reply = Box::new(move |result| {
            let (ok, committed) = match result {
                Ok(WriteOutcome::Seqs(seqs)) => (true, seqs.into_iter().zip(events).collect()),
                Ok(_) => (true, Vec::new()),
                Err(err) => {
                    tracing::error!(error = %err, "store write failed");
                    (false, Vec::new())
                }
            };
            let _ = done.send((ticket, ok, committed));
        });
        if self.store.submit(op, reply) {
            // The disk is behind: the op waits for room off the engine task, never on it, and
            // every later op waits behind it so the journal keeps the engine's order.
            metrics::counter!("switchboard_store_queue_full_total").increment(1);
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await,
        None => std::future::pending().await,
    }
}
