//! The tokio shell around [`Engine`]: one task owns the core and feeds it SIP messages from the
//! transport, media events from the media plane, store commits from the writer thread and its
//! own deadline; it carries out the core's outputs without ever awaiting a slow peer.
//!
//! - SIP: `switchboard_sip::transport` (UDP/TCP), bounded inbound channel.
//! - Store: [`StoreWriter`] on its own thread, group commit; replies come back on a channel and
//!   the committed events are published (with their seq) on the bus before the core hears of
//!   the commit.
//! - Media: a [`MediaPlane`] (the media threads), commands fire-and-forget, events back on a
//!   bounded channel.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use switchboard_config::Config;
use switchboard_ivr::Flow;
use switchboard_sip::Transport;
use switchboard_sip::transport::{self, Inbound, TransportConfig, TransportHandle};
use switchboard_store::writer::{Reply, StoreWriter, SubmitError, WriterHandle};
use switchboard_store::{NewEvent, Store, WriteOp, WriteOutcome};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::engine::{Engine, EngineError, EngineOptions};
use crate::output::{MediaCommand, MediaEvent, Output, Ticket};

/// Capacity of the published event bus; a lagging subscriber is told how many it lost and
/// re-reads them from the journal by seq.
const EVENT_BUS: usize = 4096;
/// Bound of the media event channel (DTMF, playback ends, inactivity).
const MEDIA_EVENTS: usize = 4096;
/// Bound of the store writer's queue and of one commit batch.
const STORE_QUEUE: usize = 8192;
const STORE_BATCH: usize = 256;

/// The media plane as the engine sees it: commands in, [`MediaEvent`]s out through the sender
/// it was built with.
pub trait MediaPlane: Send + 'static {
    /// Carries out `command` without blocking.
    fn command(&mut self, command: MediaCommand);
}

/// A media plane that moves no audio: legs are accepted and nothing is streamed, playbacks end
/// at once (so IVR flows advance on their digit timeouts). It stands in until the media threads
/// (`media-io`) are wired in; signalling, queueing, routing and records are unaffected.
pub struct SilentMedia {
    events: mpsc::Sender<MediaEvent>,
}

impl SilentMedia {
    /// A silent plane reporting on `events`.
    pub fn new(events: mpsc::Sender<MediaEvent>) -> Self {
        Self { events }
    }
}

impl MediaPlane for SilentMedia {
    fn command(&mut self, command: MediaCommand) {
        if let MediaCommand::Play { leg, playback, .. } = command {
            let _ = self
                .events
                .try_send(MediaEvent::PlaybackFinished { leg, playback });
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
}

impl EngineHandle {
    /// The bound SIP address (UDP and TCP).
    pub fn local_addr(&self) -> SocketAddr {
        self.transport.local_addr()
    }

    /// Committed events, live.
    pub fn subscribe(&self) -> broadcast::Receiver<PublishedEvent> {
        self.events.subscribe()
    }
}

/// Why the engine did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Binding the SIP listeners failed.
    #[error("binding SIP: {0}")]
    Bind(#[from] std::io::Error),
    /// The engine refused the configuration.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The store's writer thread did not start.
    #[error("store writer: {0}")]
    Store(#[from] switchboard_store::StoreError),
}

/// Binds SIP, starts the store writer and the engine task. `media` builds the media plane
/// from the channel it reports on.
pub async fn start<M: MediaPlane>(
    config: Arc<Config>,
    flows: HashMap<String, Arc<Flow>>,
    options: EngineOptions,
    store: Store,
    media: impl FnOnce(mpsc::Sender<MediaEvent>) -> M,
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
    let (transport, inbound) =
        transport::start(transport_config, tracker, shutdown.clone()).await?;
    let engine = Engine::new(config, flows, options, Instant::now(), SystemTime::now())?;
    let writer = StoreWriter::spawn(store, STORE_QUEUE, STORE_BATCH)?;
    let (media_tx, media_rx) = mpsc::channel(MEDIA_EVENTS);
    let plane = media(media_tx);
    let (events, _) = broadcast::channel(EVENT_BUS);
    let shell = Shell {
        engine,
        transport: transport.clone(),
        store: writer.handle(),
        media: plane,
        events: events.clone(),
    };
    tracker.spawn(async move {
        shell.run(inbound, media_rx, shutdown).await;
        // Every queued write is committed before the store closes.
        let _ = tokio::task::spawn_blocking(move || {
            if let Ok(store) = writer.shutdown() {
                let _ = store.close();
            }
        })
        .await;
    });
    Ok(EngineHandle { transport, events })
}

type Done = (Ticket, bool, Vec<(u64, NewEvent)>);

struct Shell<M> {
    engine: Engine,
    transport: TransportHandle,
    store: WriterHandle,
    media: M,
    events: broadcast::Sender<PublishedEvent>,
}

impl<M: MediaPlane> Shell<M> {
    async fn run(
        mut self,
        mut inbound: mpsc::Receiver<Inbound>,
        mut media: mpsc::Receiver<MediaEvent>,
        shutdown: CancellationToken,
    ) {
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
        loop {
            self.dispatch(&done_tx);
            let deadline = self.engine.poll_timeout();
            tokio::select! {
                _ = shutdown.cancelled() => break,
                message = inbound.recv() => {
                    let Some(Inbound { peer, message, .. }) = message else { break };
                    self.engine.handle_sip(Instant::now(), peer, message);
                }
                Some(event) = media.recv() => self.engine.handle_media(Instant::now(), event),
                Some((ticket, ok, committed)) = done_rx.recv() => {
                    for (seq, event) in committed {
                        let _ = self.events.send(PublishedEvent { seq, event: Arc::new(event) });
                    }
                    self.engine.handle_store(Instant::now(), ticket, ok);
                }
                _ = sleep_until(deadline) => self.engine.handle_timeout(Instant::now()),
            }
        }
    }

    fn dispatch(&mut self, done: &mpsc::UnboundedSender<Done>) {
        while let Some(output) = self.engine.poll_output() {
            match output {
                Output::Transmit { peer, bytes } => {
                    if let Err(err) = self.transport.send(&peer, bytes) {
                        metrics::counter!("switchboard_sip_send_errors_total").increment(1);
                        tracing::debug!(%peer, error = %err, "send failed");
                        if peer.transport == Transport::Tcp {
                            self.engine.handle_transport_error(Instant::now(), peer);
                        }
                    }
                }
                Output::Media(command) => self.media.command(command),
                Output::Store { ticket, op } => self.submit(ticket, op, done.clone()),
            }
        }
    }

    fn submit(&self, ticket: Ticket, op: WriteOp, done: mpsc::UnboundedSender<Done>) {
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
        match self.store.try_submit(op, reply) {
            Ok(()) => {}
            Err(SubmitError::Full(op, reply)) => {
                // The disk is behind: wait for room off the engine task, never on it.
                metrics::counter!("switchboard_store_queue_full_total").increment(1);
                let store = self.store.clone();
                tokio::task::spawn_blocking(move || {
                    if let Err(err) = store.submit(op, reply) {
                        tracing::error!(error = %err, "store writer stopped");
                    }
                });
            }
            Err(SubmitError::Stopped(_, reply)) => {
                reply(Err(switchboard_store::StoreError::WriterStopped))
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await,
        None => std::future::pending().await,
    }
}
