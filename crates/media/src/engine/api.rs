//! The engine's public face: configuration, the command handle, events.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use thiserror::Error;
use tokio::sync::mpsc;

use super::recording::RecorderThread;
use super::worker::{Command, Worker, WorkerHandle};
use super::{LegId, RecordingId, load_prompts};
use crate::announce::{MissingPrompt, PromptLibrary};
use crate::dtmf::{Digit, DigitReceived};
use crate::player::PlayItem;
use crate::ports::PortPool;
use crate::sdp::NegotiatedMedia;
use crate::stream::LegStats;

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The address RTP sockets bind to (and the one [`LegInfo`] reports).
    pub bind_ip: IpAddr,
    /// The RTP port range (even ports for RTP, the odd one above for RTCP).
    pub rtp_ports: RangeInclusive<u16>,
    /// Media threads (each one core at full load). 1–2 is plenty for a few thousand calls.
    pub workers: usize,
    /// No RTP for this long on a receiving leg: [`EngineEvent::MediaTimeout`].
    pub inactivity_timeout: Duration,
    /// While a leg is held (we do not expect RTP): no RTP nor RTCP for this long is a
    /// timeout; `None` never times out a held leg.
    pub hold_inactivity_timeout: Option<Duration>,
    /// A released port is not reused before this (late packets of the old call).
    pub port_quarantine: Duration,
    /// Where recordings are written.
    pub recordings_dir: PathBuf,
    /// Where prompts are loaded from (`<name>.wav`, names may contain `/`); `None` for none.
    pub prompts_dir: Option<PathBuf>,
    /// Commands queued per worker before [`EngineError::Busy`].
    pub command_capacity: usize,
    /// Events queued for the owner (workers keep a bounded overflow beyond it).
    pub event_capacity: usize,
    /// 20 ms frames queued for the recorder thread before frames are dropped.
    pub recorder_capacity: usize,
    /// Host part of the RTCP CNAMEs (`leg-<id>@<host>`).
    pub cname_host: String,
    /// Seed for SSRCs, initial sequence numbers and RTCP jitter; `None` draws one.
    pub seed: Option<u64>,
}

impl EngineConfig {
    /// Defaults around a bind address and port range: one worker, 30 s inactivity, held legs
    /// never time out, 10 s port quarantine, recordings in `./recordings`, no prompts.
    pub fn new(bind_ip: IpAddr, rtp_ports: RangeInclusive<u16>) -> EngineConfig {
        EngineConfig {
            bind_ip,
            rtp_ports,
            workers: 1,
            inactivity_timeout: Duration::from_secs(30),
            hold_inactivity_timeout: None,
            port_quarantine: Duration::from_secs(10),
            recordings_dir: PathBuf::from("recordings"),
            prompts_dir: None,
            command_capacity: 4096,
            event_capacity: 8192,
            recorder_capacity: 4096,
            cname_host: "switchboard".to_owned(),
            seed: None,
        }
    }
}

/// A created leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegInfo {
    /// Its id for further commands.
    pub id: LegId,
    /// Our RTP address: the `m=`/`c=` of our SDP.
    pub rtp: SocketAddr,
    /// Our RTCP address (RTP port + 1).
    pub rtcp: SocketAddr,
}

/// Why a command was refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EngineError {
    /// Every port of the range is in use or quarantined (answer 503).
    #[error("no RTP port available")]
    NoPortAvailable,
    /// Binding a socket failed for a reason other than the port being taken.
    #[error("binding RTP sockets: {0}")]
    Bind(#[source] std::io::Error),
    /// The worker's command queue is full (it is overloaded).
    #[error("media worker busy")]
    Busy,
    /// The engine was shut down.
    #[error("media engine stopped")]
    Stopped,
    /// A prompt is not loaded.
    #[error(transparent)]
    MissingPrompt(#[from] MissingPrompt),
    /// A recording name with characters other than `[A-Za-z0-9._-]`, or empty.
    #[error("invalid recording name {0:?}")]
    InvalidRecordingName(String),
    /// Two legs that must share a worker (bridge, recording) do not: create the second leg
    /// with `near` set to the first.
    #[error("legs {0:?} and {1:?} are on different media workers")]
    DifferentWorkers(LegId, LegId),
    /// A digit that RFC 4733 events 0–15 cannot carry.
    #[error("invalid DTMF digit {0:?}")]
    InvalidDigit(char),
    /// The prompt directory could not be read.
    #[error("reading the prompt directory: {0}")]
    Prompts(#[source] std::io::Error),
    /// Starting a thread failed.
    #[error("starting media threads: {0}")]
    Spawn(#[source] std::io::Error),
}

/// What the engine reports.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EngineEvent {
    /// The leg latched to the source it receives from (symmetric RTP).
    Latched {
        /// The leg.
        leg: LegId,
        /// The peer's actual RTP address.
        remote: SocketAddr,
    },
    /// A key press (RFC 4733) on a leg.
    Dtmf {
        /// The leg.
        leg: LegId,
        /// The digit and its event timestamp.
        digit: DigitReceived,
    },
    /// A non-looping playback played its last frame (not sent when it was stopped or replaced).
    PlaybackFinished {
        /// The leg.
        leg: LegId,
        /// The tag given with the play command.
        tag: u64,
    },
    /// No RTP for the configured time: the engine may hang up.
    MediaTimeout {
        /// The leg.
        leg: LegId,
        /// How long it has been silent.
        silent_for: Duration,
    },
    /// RTP came back after a timeout.
    MediaResumed {
        /// The leg.
        leg: LegId,
    },
    /// The peer sent RTCP BYE.
    RemoteBye {
        /// The leg.
        leg: LegId,
    },
    /// The leg is closed, its final RTCP BYE sent and its port released.
    LegClosed {
        /// The leg.
        leg: LegId,
        /// Loss, jitter and packet counts for the CDR (`None` if media was never set).
        stats: Option<LegStats>,
    },
    /// A recording was closed (either leg closed, or stopped).
    RecordingFinished {
        /// The recording.
        recording: RecordingId,
        /// The WAV file.
        path: PathBuf,
        /// Audio written.
        duration: Duration,
        /// 20 ms frames dropped because the recorder lagged (the relay never waits).
        dropped_frames: u64,
        /// Set when the file could not be written completely.
        error: Option<String>,
    },
}

/// The receiving end of the engine's events.
#[derive(Debug)]
pub struct EngineEvents(pub(crate) mpsc::Receiver<EngineEvent>);

impl EngineEvents {
    /// The next event; `None` once the engine stopped and every event was read.
    pub async fn recv(&mut self) -> Option<EngineEvent> {
        self.0.recv().await
    }

    /// The next event if one is queued.
    pub fn try_recv(&mut self) -> Option<EngineEvent> {
        self.0.try_recv().ok()
    }

    /// Blocks for the next event (not from inside an async runtime).
    pub fn blocking_recv(&mut self) -> Option<EngineEvent> {
        self.0.blocking_recv()
    }
}

pub(crate) struct Shared {
    pub(crate) config: EngineConfig,
    pub(crate) ports: Mutex<PortPool>,
    pub(crate) prompts: RwLock<Arc<PromptLibrary>>,
    pub(crate) next_id: AtomicU64,
}

/// The command side of the engine; cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct MediaHandle {
    shared: Arc<Shared>,
    workers: Arc<[WorkerHandle]>,
}

impl std::fmt::Debug for MediaHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaHandle")
            .field("workers", &self.workers.len())
            .finish()
    }
}

/// The running engine: its threads and the handle to command them.
#[derive(Debug)]
pub struct MediaEngine {
    handle: MediaHandle,
    threads: Vec<JoinHandle<()>>,
}

impl MediaEngine {
    /// Loads the prompts and starts the worker and recorder threads.
    pub fn start(config: EngineConfig) -> Result<(MediaEngine, EngineEvents), EngineError> {
        let library = match &config.prompts_dir {
            Some(dir) => {
                let (library, failures) = load_prompts(dir).map_err(EngineError::Prompts)?;
                for f in failures {
                    tracing::warn!(error = %f, "prompt not loaded");
                }
                library
            }
            None => PromptLibrary::new(),
        };
        let (event_tx, event_rx) = mpsc::channel(config.event_capacity.max(1));
        let seed = config.seed.unwrap_or_else(rand::random);
        let shared = Arc::new(Shared {
            ports: Mutex::new(PortPool::new(
                config.rtp_ports.clone(),
                config.port_quarantine,
            )),
            prompts: RwLock::new(Arc::new(library)),
            next_id: AtomicU64::new(1),
            config,
        });
        let mut threads = Vec::new();
        let (recorder, recorder_thread) =
            RecorderThread::spawn(shared.config.recorder_capacity.max(1), event_tx.clone())
                .map_err(EngineError::Spawn)?;
        threads.push(recorder_thread);
        let mut workers = Vec::new();
        for index in 0..shared.config.workers.max(1) {
            let (handle, thread) = Worker::spawn(
                index,
                Arc::clone(&shared),
                event_tx.clone(),
                recorder.clone(),
                seed.wrapping_add(index as u64)
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15),
            )
            .map_err(EngineError::Spawn)?;
            workers.push(handle);
            threads.push(thread);
        }
        let handle = MediaHandle {
            shared,
            workers: workers.into(),
        };
        Ok((MediaEngine { handle, threads }, EngineEvents(event_rx)))
    }

    /// A handle for commands.
    pub fn handle(&self) -> MediaHandle {
        self.handle.clone()
    }

    /// Stops the workers (closing every leg, finishing recordings) and waits for the threads.
    pub fn shutdown(mut self) {
        self.signal_shutdown();
        for t in std::mem::take(&mut self.threads) {
            let _ = t.join();
        }
    }

    fn signal_shutdown(&self) {
        for w in self.handle.workers.iter() {
            // A flag, so a full command queue does not delay it.
            w.shutdown();
        }
    }
}

/// Dropping the engine without [`MediaEngine::shutdown`] still stops its threads (without
/// waiting for them).
impl Drop for MediaEngine {
    fn drop(&mut self) {
        self.signal_shutdown();
    }
}

impl MediaHandle {
    fn worker_of(&self, leg: LegId) -> &WorkerHandle {
        let n = self.workers.len() as u64;
        &self.workers[(leg.0 % n) as usize]
    }

    fn send(&self, leg: LegId, command: Command) -> Result<(), EngineError> {
        self.worker_of(leg).send(command)
    }

    fn same_worker(&self, a: LegId, b: LegId) -> Result<(), EngineError> {
        let n = self.workers.len() as u64;
        if a.0 % n == b.0 % n {
            Ok(())
        } else {
            Err(EngineError::DifferentWorkers(a, b))
        }
    }

    /// Creates a leg: binds its RTP and RTCP sockets on a port pair from the range. With
    /// `near`, the leg goes to the same worker as that leg (needed to bridge or record them).
    pub fn create_leg(&self, near: Option<LegId>) -> Result<LegInfo, EngineError> {
        let n = self.workers.len() as u64;
        let counter = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let worker = match near {
            Some(l) => l.0 % n,
            None => counter % n,
        };
        let id = LegId(counter * n + worker);
        let (port, rtp, rtcp) = self.bind_pair()?;
        let info = LegInfo {
            id,
            rtp: rtp.local_addr().map_err(EngineError::Bind)?,
            rtcp: rtcp.local_addr().map_err(EngineError::Bind)?,
        };
        let command = Command::AddLeg {
            id,
            port,
            rtp: mio::net::UdpSocket::from_std(rtp),
            rtcp: mio::net::UdpSocket::from_std(rtcp),
        };
        if let Err(e) = self.send(id, command) {
            self.release_port(port);
            return Err(e);
        }
        Ok(info)
    }

    fn release_port(&self, port: u16) {
        if let Ok(mut pool) = self.shared.ports.lock() {
            pool.release(Instant::now(), port);
        }
    }

    fn bind_pair(&self) -> Result<(u16, UdpSocket, UdpSocket), EngineError> {
        let ip = self.shared.config.bind_ip;
        // Ports taken by another process are skipped (released to the back of the pool).
        for _ in 0..64 {
            let port = {
                let mut pool = self.shared.ports.lock().map_err(|_| EngineError::Stopped)?;
                pool.allocate(Instant::now())
                    .ok_or(EngineError::NoPortAvailable)?
            };
            let bound = UdpSocket::bind((ip, port)).and_then(|rtp| {
                let rtcp = UdpSocket::bind((ip, port + 1))?;
                rtp.set_nonblocking(true)?;
                rtcp.set_nonblocking(true)?;
                Ok((rtp, rtcp))
            });
            match bound {
                Ok((rtp, rtcp)) => return Ok((port, rtp, rtcp)),
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => self.release_port(port),
                Err(e) => {
                    self.release_port(port);
                    return Err(EngineError::Bind(e));
                }
            }
        }
        Err(EngineError::NoPortAvailable)
    }

    /// Sets (or updates, on re-INVITE) the leg's negotiated media.
    pub fn set_media(&self, leg: LegId, media: NegotiatedMedia) -> Result<(), EngineError> {
        self.send(leg, Command::SetMedia { leg, media })
    }

    /// Plays `items` on the leg (replacing what it played), once or looping; `tag` comes back
    /// in [`EngineEvent::PlaybackFinished`]. While a bridged leg plays, the other side's audio
    /// to it is muted (an announcement over the conversation would be unintelligible).
    pub fn play(
        &self,
        leg: LegId,
        items: Vec<PlayItem>,
        looping: bool,
        tag: u64,
    ) -> Result<(), EngineError> {
        self.send(
            leg,
            Command::Play {
                leg,
                items,
                looping,
                tag,
            },
        )
    }

    /// Plays prompts by name, in order (e.g. `["welcome"]`, or
    /// [`crate::announce::position_announcement`]); fails at once if one is not loaded.
    pub fn play_prompts<S: AsRef<str>>(
        &self,
        leg: LegId,
        names: &[S],
        tag: u64,
    ) -> Result<(), EngineError> {
        let items = self.prompts().resolve(names)?;
        self.play(leg, items, false, tag)
    }

    /// Loops the music-on-hold class `class` (prompt `moh/<class>`) until stopped.
    pub fn play_moh(&self, leg: LegId, class: &str, tag: u64) -> Result<(), EngineError> {
        let items = self.prompts().resolve(&[format!("moh/{class}")])?;
        self.play(leg, items, true, tag)
    }

    /// Stops the leg's playback (no event).
    pub fn stop_playback(&self, leg: LegId) -> Result<(), EngineError> {
        self.send(leg, Command::StopPlayback { leg })
    }

    /// Bridges two legs: each one's audio and RFC 4733 events go to the other, transcoded
    /// only when their laws differ. Playback on either is stopped.
    pub fn bridge(&self, a: LegId, b: LegId) -> Result<(), EngineError> {
        self.same_worker(a, b)?;
        self.send(a, Command::Bridge { a, b })
    }

    /// Withholds (or gives back) the bridge's audio from `leg`: the other party is on hold
    /// while the bridge, and any recording of the pair, goes on. A new bridge gives it back.
    pub fn deafen(&self, leg: LegId, deaf: bool) -> Result<(), EngineError> {
        self.send(leg, Command::Deafen { leg, deaf })
    }

    /// Mixes `legs` in one conference (each hears the sum of the others; at most
    /// [`crate::mixer::MAX_MEMBERS`]), all on one worker like a bridge's legs. A leg in a
    /// bridge leaves it without ending its recording, which goes on with the right channel
    /// taken from what the first leg (the customer) hears; legs of the conference not named
    /// leave it. A later [`MediaHandle::bridge`] of two members ends it for them.
    pub fn conference(&self, legs: &[LegId]) -> Result<(), EngineError> {
        let Some(first) = legs.first().copied() else {
            return Ok(());
        };
        for leg in legs.iter().skip(1) {
            self.same_worker(first, *leg)?;
        }
        self.send(
            first,
            Command::Conference {
                legs: legs.to_vec(),
            },
        )
    }

    /// Ends the leg's bridge (both sides); a recording of the pair finishes.
    pub fn unbridge(&self, leg: LegId) -> Result<(), EngineError> {
        self.send(leg, Command::Unbridge { leg })
    }

    /// Records the call of `caller` (left channel) and `agent` (right channel) into
    /// `<recordings_dir>/<name>.wav`, until [`MediaHandle::stop_recording`], unbridge or close.
    pub fn start_recording(
        &self,
        caller: LegId,
        agent: LegId,
        name: &str,
    ) -> Result<RecordingId, EngineError> {
        self.same_worker(caller, agent)?;
        let valid = !name.is_empty()
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !valid {
            return Err(EngineError::InvalidRecordingName(name.to_owned()));
        }
        let id = RecordingId(self.shared.next_id.fetch_add(1, Ordering::Relaxed));
        let path = self
            .shared
            .config
            .recordings_dir
            .join(format!("{name}.wav"));
        self.send(
            caller,
            Command::StartRecording {
                id,
                caller,
                agent,
                path,
            },
        )?;
        Ok(id)
    }

    /// Stops the recording that involves `leg`.
    pub fn stop_recording(&self, leg: LegId) -> Result<(), EngineError> {
        self.send(leg, Command::StopRecording { leg })
    }

    /// Sends digits as RFC 4733 events, each held `duration` (other audio to the leg pauses
    /// while they go out).
    pub fn send_dtmf(
        &self,
        leg: LegId,
        digits: &str,
        duration: Duration,
    ) -> Result<(), EngineError> {
        let digits = digits
            .chars()
            .map(|c| Digit::from_char(c).ok_or(EngineError::InvalidDigit(c)))
            .collect::<Result<Vec<_>, _>>()?;
        self.send(
            leg,
            Command::SendDtmf {
                leg,
                digits,
                duration,
            },
        )
    }

    /// Closes the leg: final RTCP report with BYE, sockets closed, port back to the pool;
    /// [`EngineEvent::LegClosed`] follows with its statistics.
    pub fn close_leg(&self, leg: LegId) -> Result<(), EngineError> {
        self.send(leg, Command::Close { leg })
    }

    /// The loaded prompts.
    pub fn prompts(&self) -> Arc<PromptLibrary> {
        match self.shared.prompts.read() {
            Ok(p) => Arc::clone(&p),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Reloads the prompts from `dir` (plays in progress keep their audio); returns how many
    /// loaded and the files that failed.
    pub fn reload_prompts(
        &self,
        dir: &Path,
    ) -> Result<(usize, Vec<super::PromptLoadError>), std::io::Error> {
        let (library, failures) = load_prompts(dir)?;
        let n = library.len();
        match self.shared.prompts.write() {
            Ok(mut p) => *p = Arc::new(library),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(library),
        }
        Ok((n, failures))
    }

    /// Ports free in the range now (quarantined ones included).
    pub fn ports_available(&self) -> usize {
        self.shared.ports.lock().map(|p| p.available()).unwrap_or(0)
    }
}

pub(crate) fn try_send<T>(tx: &SyncSender<T>, value: T) -> Result<(), EngineError> {
    tx.try_send(value).map_err(|e| match e {
        TrySendError::Full(_) => EngineError::Busy,
        TrySendError::Disconnected(_) => EngineError::Stopped,
    })
}

/// At thread exit: hands `events` to the owner, waiting up to a second for room (an owner that
/// stopped reading must not hang the shutdown), then drops the rest with a warning.
pub(crate) fn hand_over(
    tx: &mpsc::Sender<EngineEvent>,
    events: impl IntoIterator<Item = EngineEvent>,
) {
    let deadline = Instant::now() + Duration::from_secs(1);
    for mut event in events {
        loop {
            match tx.try_send(event) {
                Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => break,
                Err(mpsc::error::TrySendError::Full(e)) if Instant::now() < deadline => {
                    event = e;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(mpsc::error::TrySendError::Full(e)) => {
                    tracing::warn!(event = ?e, "media event dropped at shutdown: the owner is not reading");
                    break;
                }
            }
        }
    }
}
