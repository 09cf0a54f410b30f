//! One media worker: a dedicated thread running a `mio` event loop over its legs' sockets.
//!
//! The worker owns everything it touches (sockets, [`RtpLeg`]s, the shared [`Playback`], the
//! pending RFC 4733 packets), so the packet path takes no lock. Commands arrive on a bounded
//! channel with a [`Waker`]; events leave on the engine's tokio channel with `try_send` and,
//! when the owner lags, a bounded overflow queue retried on the next wakeup.

use std::collections::{HashMap, VecDeque};
use std::io::ErrorKind;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

mod conference;
mod relay;

use relay::drain_outputs;

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token, Waker};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::sync::mpsc;

use super::api::{EngineError, EngineEvent, Shared, hand_over, try_send};
use super::recording::{Frame, MAX_FRAME, RecorderLink, RecorderMsg};
use super::{LegId, RecordingId};
use crate::dtmf::{Digit, ToneEvent, tone_packets};
use crate::player::{PlayItem, Playback, Player};
use crate::recorder::Channel;
use crate::rtcp::NtpTime;
use crate::sdp::NegotiatedMedia;
use crate::stream::{LatchConfig, LegConfig, MediaInput, RtpLeg, SourceId};

/// A command for a worker.
#[derive(Debug)]
pub(crate) enum Command {
    AddLeg {
        id: LegId,
        port: u16,
        rtp: UdpSocket,
        rtcp: UdpSocket,
    },
    SetMedia {
        leg: LegId,
        media: NegotiatedMedia,
    },
    Play {
        leg: LegId,
        items: Vec<PlayItem>,
        looping: bool,
        tag: u64,
    },
    StopPlayback {
        leg: LegId,
    },
    Bridge {
        a: LegId,
        b: LegId,
    },
    Unbridge {
        leg: LegId,
    },
    Deafen {
        leg: LegId,
        deaf: bool,
    },
    Conference {
        legs: Vec<LegId>,
    },
    StartRecording {
        id: RecordingId,
        caller: LegId,
        agent: LegId,
        path: PathBuf,
    },
    StopRecording {
        leg: LegId,
    },
    SendDtmf {
        leg: LegId,
        digits: Vec<Digit>,
        duration: Duration,
    },
    Close {
        leg: LegId,
    },
}

/// The command side of one worker.
pub(crate) struct WorkerHandle {
    tx: SyncSender<Command>,
    waker: Arc<Waker>,
    shutdown: Arc<AtomicBool>,
}

impl WorkerHandle {
    pub(crate) fn send(&self, command: Command) -> Result<(), EngineError> {
        try_send(&self.tx, command)?;
        self.waker.wake().map_err(|_| EngineError::Stopped)
    }

    pub(crate) fn shutdown(&self) {
        self.shutdown.store(true, Ordering::Release);
        let _ = self.waker.wake();
    }
}

const WAKER: Token = Token(usize::MAX);
/// Period of the sweep running the legs' RTCP and inactivity timers.
const HOUSEKEEPING: Duration = Duration::from_millis(50);
/// Gap between two digits sent in a row.
const INTER_DIGIT: Duration = Duration::from_millis(60);
/// Events kept while the owner does not read; beyond, events are dropped (and logged).
const MAX_OVERFLOW: usize = 65_536;
/// Largest datagram handled (G.711 at 20–60 ms is 172–492 bytes).
const BUF: usize = 2048;
/// Consecutive receive errors tolerated on one socket before leaving it for the next wakeup.
const MAX_RECV_ERRORS: u32 = 16;

struct SlotRecording {
    id: RecordingId,
    channel: Channel,
    partner: usize,
    dropped: u64,
}

/// A leg on this worker.
struct Slot {
    id: LegId,
    port: u16,
    rtp: UdpSocket,
    rtcp: UdpSocket,
    leg: Option<RtpLeg>,
    peer: Option<usize>,
    /// The source id of the bridge's packets on this leg.
    bridge_source: SourceId,
    recording: Option<SlotRecording>,
    /// Tag of the running playback.
    playing: Option<u64>,
    /// Other audio to this leg pauses until then (RFC 4733 events going out).
    dtmf_until: Option<Instant>,
    /// The bridge's audio is withheld from this leg (its peer is on hold by the API); the
    /// bridge and any recording of the pair go on.
    deaf: bool,
    /// The conference it is mixed in (`conference.rs`), instead of a bridge.
    conference: Option<u64>,
}

impl Slot {
    fn muted(&self, now: Instant) -> bool {
        self.deaf || self.dtmf_until.is_some_and(|t| now < t)
    }
}

struct PendingTone {
    slot: usize,
    leg: LegId,
    at: Instant,
    source: SourceId,
    sequence: u16,
    marker: bool,
    event: ToneEvent,
}

/// Where a worker's events go.
struct EventSink {
    tx: mpsc::Sender<EngineEvent>,
    overflow: VecDeque<EngineEvent>,
}

impl EventSink {
    fn emit(&mut self, event: EngineEvent) {
        if self.overflow.is_empty() {
            if let Err(mpsc::error::TrySendError::Full(e)) = self.tx.try_send(event) {
                self.overflow.push_back(e);
            }
        } else if self.overflow.len() < MAX_OVERFLOW {
            self.overflow.push_back(event);
        } else {
            tracing::warn!(
                ?event,
                "media event dropped: the owner is not reading events"
            );
        }
    }

    fn flush(&mut self) {
        while let Some(e) = self.overflow.pop_front() {
            match self.tx.try_send(e) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(e)) => {
                    self.overflow.push_front(e);
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.overflow.clear();
                    return;
                }
            }
        }
    }
}

pub(crate) struct Worker {
    shared: Arc<Shared>,
    poll: Poll,
    commands: Receiver<Command>,
    shutdown: Arc<AtomicBool>,
    sink: EventSink,
    recorder: RecorderLink,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    by_id: HashMap<LegId, usize>,
    playback: Playback<usize>,
    tones: Vec<PendingTone>,
    conferences: Vec<conference::Conference>,
    next_conference: u64,
    rng: SmallRng,
    next_source: u64,
    rx_buf: Box<[u8; BUF]>,
    tx_buf: Box<[u8; BUF]>,
    scratch: Box<[u8; BUF]>,
    rtcp_buf: Vec<u8>,
    next_housekeeping: Instant,
    ntp_anchor: (Instant, NtpTime),
}

impl Worker {
    pub(crate) fn spawn(
        index: usize,
        shared: Arc<Shared>,
        events: mpsc::Sender<EngineEvent>,
        recorder: SyncSender<RecorderMsg>,
        seed: u64,
    ) -> std::io::Result<(WorkerHandle, JoinHandle<()>)> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (tx, commands) = sync_channel(shared.config.command_capacity.max(1));
        let shutdown = Arc::new(AtomicBool::new(false));
        let now = Instant::now();
        let wall = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let worker = Worker {
            shared,
            poll,
            commands,
            shutdown: Arc::clone(&shutdown),
            sink: EventSink {
                tx: events,
                overflow: VecDeque::new(),
            },
            recorder: RecorderLink::new(recorder),
            slots: Vec::new(),
            free: Vec::new(),
            by_id: HashMap::new(),
            playback: Playback::new(),
            tones: Vec::new(),
            conferences: Vec::new(),
            next_conference: 0,
            rng: SmallRng::seed_from_u64(seed),
            next_source: 1,
            rx_buf: Box::new([0; BUF]),
            tx_buf: Box::new([0; BUF]),
            scratch: Box::new([0; BUF]),
            rtcp_buf: Vec::with_capacity(512),
            next_housekeeping: now + HOUSEKEEPING,
            ntp_anchor: (now, NtpTime::from_unix(wall)),
        };
        let thread = std::thread::Builder::new()
            .name(format!("media-{index}"))
            .spawn(move || worker.run())?;
        Ok((
            WorkerHandle {
                tx,
                waker,
                shutdown,
            },
            thread,
        ))
    }

    fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        loop {
            let timeout = self
                .next_deadline()
                .saturating_duration_since(Instant::now());
            if let Err(e) = self.poll.poll(&mut events, Some(timeout))
                && e.kind() != ErrorKind::Interrupted
            {
                tracing::error!(error = %e, "media worker poll failed");
                break;
            }
            let now = Instant::now();
            let mut stop = false;
            for event in events.iter() {
                match event.token() {
                    WAKER => stop |= self.drain_commands(now),
                    Token(t) if t % 2 == 0 => self.on_rtp(t / 2, now),
                    Token(t) => self.on_rtcp(t / 2, now),
                }
            }
            if stop || self.shutdown.load(Ordering::Acquire) {
                break;
            }
            self.on_timer(Instant::now());
        }
        let legs: Vec<LegId> = self.by_id.keys().copied().collect();
        let now = Instant::now();
        for leg in legs {
            self.close(now, leg);
        }
        // The relay is over: the recorder may be waited for (its start/stop messages must
        // arrive), and the owner gets a moment to take the last events.
        for m in self.recorder.backlog.drain(..) {
            let _ = self.recorder.tx.send(m);
        }
        hand_over(&self.sink.tx, self.sink.overflow.drain(..));
    }

    fn next_deadline(&self) -> Instant {
        let mut d = self.next_housekeeping;
        if let Some(t) = self.playback.poll_timeout() {
            d = d.min(t);
        }
        for t in &self.tones {
            d = d.min(t.at);
        }
        if let Some(t) = self.conference_deadline() {
            d = d.min(t);
        }
        d
    }

    /// Runs the queued commands; true when the handles are all gone.
    fn drain_commands(&mut self, now: Instant) -> bool {
        loop {
            match self.commands.try_recv() {
                Ok(c) => self.command(now, c),
                Err(TryRecvError::Empty) => return false,
                Err(TryRecvError::Disconnected) => return true,
            }
        }
    }

    fn slot_of(&self, leg: LegId) -> Option<usize> {
        self.by_id.get(&leg).copied()
    }

    fn slot_mut(&mut self, s: usize) -> Option<&mut Slot> {
        self.slots.get_mut(s).and_then(Option::as_mut)
    }

    fn new_source(&mut self) -> SourceId {
        self.next_source += 1;
        SourceId(self.next_source)
    }

    fn command(&mut self, now: Instant, command: Command) {
        match command {
            Command::AddLeg {
                id,
                port,
                rtp,
                rtcp,
            } => self.add_leg(id, port, rtp, rtcp),
            Command::SetMedia { leg, media } => self.set_media(now, leg, media),
            Command::Play {
                leg,
                items,
                looping,
                tag,
            } => {
                let Some(s) = self.slot_of(leg) else { return };
                let source = self.new_source();
                let Some(slot) = self.slot_mut(s) else { return };
                let codec = slot
                    .leg
                    .as_ref()
                    .map_or(crate::g711::Codec::Pcmu, |l| l.media().codec);
                slot.playing = Some(tag);
                self.playback
                    .start(now, s, Player::new(source, codec, items, looping));
            }
            Command::StopPlayback { leg } => {
                if let Some(s) = self.slot_of(leg) {
                    self.stop_playback(s);
                }
            }
            Command::Bridge { a, b } => self.bridge(a, b),
            Command::Unbridge { leg } => {
                if let Some(s) = self.slot_of(leg) {
                    self.unbridge(s);
                }
            }
            Command::Conference { legs } => {
                let slots: Vec<usize> = legs.iter().filter_map(|l| self.slot_of(*l)).collect();
                self.set_conference(now, &slots);
            }
            Command::Deafen { leg, deaf } => {
                if let Some(slot) = self.slot_of(leg).and_then(|s| self.slot_mut(s)) {
                    slot.deaf = deaf;
                }
            }
            Command::StartRecording {
                id,
                caller,
                agent,
                path,
            } => self.start_recording(now, id, caller, agent, path),
            Command::StopRecording { leg } => {
                if let Some(s) = self.slot_of(leg) {
                    self.stop_recording(s);
                }
            }
            Command::SendDtmf {
                leg,
                digits,
                duration,
            } => self.send_dtmf(now, leg, &digits, duration),
            Command::Close { leg } => self.close(now, leg),
        }
    }

    fn add_leg(&mut self, id: LegId, port: u16, mut rtp: UdpSocket, mut rtcp: UdpSocket) {
        let s = self.free.pop().unwrap_or(self.slots.len());
        let registry = self.poll.registry();
        let registered = registry
            .register(&mut rtp, Token(2 * s), Interest::READABLE)
            .and_then(|()| registry.register(&mut rtcp, Token(2 * s + 1), Interest::READABLE));
        if let Err(e) = registered {
            tracing::error!(error = %e, leg = id.0, "registering RTP sockets failed");
            let _ = registry.deregister(&mut rtp);
            self.free.push(s);
            self.release_port(port);
            self.sink.emit(EngineEvent::LegClosed {
                leg: id,
                stats: None,
            });
            return;
        }
        let slot = Slot {
            id,
            port,
            rtp,
            rtcp,
            leg: None,
            peer: None,
            bridge_source: SourceId(0),
            recording: None,
            playing: None,
            dtmf_until: None,
            deaf: false,
            conference: None,
        };
        if s == self.slots.len() {
            self.slots.push(Some(slot));
        } else if let Some(entry) = self.slots.get_mut(s) {
            *entry = Some(slot);
        }
        self.by_id.insert(id, s);
    }

    fn release_port(&self, port: u16) {
        if let Ok(mut pool) = self.shared.ports.lock() {
            pool.release(Instant::now(), port);
        }
    }

    fn set_media(&mut self, now: Instant, leg: LegId, media: NegotiatedMedia) {
        let Some(s) = self.slot_of(leg) else { return };
        let config = LegConfig {
            ssrc: self.rng.random(),
            initial_sequence: self.rng.random(),
            initial_timestamp: self.rng.random(),
            cname: format!("leg-{}@{}", leg.0, self.shared.config.cname_host),
            latch: LatchConfig::default(),
            inactivity_timeout: self.shared.config.inactivity_timeout,
            hold_inactivity_timeout: self.shared.config.hold_inactivity_timeout,
            rng_seed: self.rng.random(),
            ntp_anchor: self.ntp_anchor,
        };
        let Some(slot) = self.slot_mut(s) else { return };
        match slot.leg.as_mut() {
            Some(l) => l.handle_input(now, MediaInput::Negotiated(media)),
            None => slot.leg = Some(RtpLeg::new(now, config, media)),
        }
    }

    fn stop_playback(&mut self, s: usize) {
        self.playback.stop(s);
        if let Some(slot) = self.slot_mut(s) {
            slot.playing = None;
        }
    }

    fn bridge(&mut self, a: LegId, b: LegId) {
        let (Some(sa), Some(sb)) = (self.slot_of(a), self.slot_of(b)) else {
            return;
        };
        if sa == sb {
            return;
        }
        for s in [sa, sb] {
            self.leave_conference(s);
            self.unbridge(s);
            self.stop_playback(s);
        }
        for (s, peer) in [(sa, sb), (sb, sa)] {
            let source = self.new_source();
            if let Some(slot) = self.slot_mut(s) {
                slot.peer = Some(peer);
                slot.bridge_source = source;
                slot.deaf = false;
            }
        }
    }

    fn unbridge(&mut self, s: usize) {
        let Some(peer) = self.slot_mut(s).and_then(|slot| slot.peer.take()) else {
            return;
        };
        if let Some(p) = self.slot_mut(peer) {
            p.peer = None;
        }
        let recorded_pair = self
            .slot_mut(s)
            .and_then(|slot| slot.recording.as_ref())
            .is_some_and(|r| r.partner == peer);
        if recorded_pair {
            self.stop_recording(s);
        }
    }

    fn start_recording(
        &mut self,
        now: Instant,
        id: RecordingId,
        caller: LegId,
        agent: LegId,
        path: PathBuf,
    ) {
        let (Some(sc), Some(sa)) = (self.slot_of(caller), self.slot_of(agent)) else {
            // A leg closed meanwhile: say so rather than leave the owner waiting.
            self.sink.emit(EngineEvent::RecordingFinished {
                recording: id,
                path,
                duration: Duration::ZERO,
                dropped_frames: 0,
                error: Some("leg closed before the recording started".to_owned()),
            });
            return;
        };
        self.stop_recording(sc);
        self.stop_recording(sa);
        for (s, channel, partner) in [(sc, Channel::Left, sa), (sa, Channel::Right, sc)] {
            if let Some(slot) = self.slot_mut(s) {
                slot.recording = Some(SlotRecording {
                    id,
                    channel,
                    partner,
                    dropped: 0,
                });
            }
        }
        self.recorder
            .control(RecorderMsg::Start { id, path, at: now });
    }

    fn stop_recording(&mut self, s: usize) {
        let Some(rec) = self.slot_mut(s).and_then(|slot| slot.recording.take()) else {
            return;
        };
        let mut dropped = rec.dropped;
        if let Some(partner) = self.slot_mut(rec.partner)
            && partner.recording.as_ref().is_some_and(|r| r.id == rec.id)
            && let Some(r) = partner.recording.take()
        {
            dropped += r.dropped;
        }
        self.recorder.control(RecorderMsg::Stop {
            id: rec.id,
            dropped_frames: dropped,
        });
    }

    fn send_dtmf(&mut self, now: Instant, leg: LegId, digits: &[Digit], duration: Duration) {
        let Some(s) = self.slot_of(leg) else { return };
        let mut start = self
            .slot_mut(s)
            .and_then(|slot| slot.dtmf_until)
            .map_or(now, |t| t.max(now));
        for digit in digits {
            let source = self.new_source();
            let mut last = start;
            for (k, p) in tone_packets(*digit, duration, 8000).enumerate() {
                last = start + p.at;
                self.tones.push(PendingTone {
                    slot: s,
                    leg,
                    at: last,
                    source,
                    sequence: k as u16,
                    marker: p.marker,
                    event: p.event,
                });
            }
            start = last + INTER_DIGIT;
        }
        if let Some(slot) = self.slot_mut(s) {
            slot.dtmf_until = Some(start);
        }
    }

    fn close(&mut self, now: Instant, leg: LegId) {
        let Some(s) = self.slot_of(leg) else { return };
        self.stop_playback(s);
        self.stop_recording(s);
        self.leave_conference(s);
        self.unbridge(s);
        self.tones.retain(|t| t.slot != s);
        self.by_id.remove(&leg);
        let Some(mut slot) = self.slots.get_mut(s).and_then(Option::take) else {
            return;
        };
        self.free.push(s);
        let stats = slot.leg.as_mut().map(|l| {
            l.handle_input(now, MediaInput::Close);
            drain_outputs(
                l,
                &slot.rtp,
                &slot.rtcp,
                slot.id,
                &mut self.rtcp_buf,
                &mut self.sink,
            );
            l.stats()
        });
        let registry = self.poll.registry();
        let _ = registry.deregister(&mut slot.rtp);
        let _ = registry.deregister(&mut slot.rtcp);
        let port = slot.port;
        drop(slot);
        self.release_port(port);
        self.sink.emit(EngineEvent::LegClosed { leg, stats });
    }
}
