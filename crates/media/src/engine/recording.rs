//! The recorder thread: stereo WAV files written off the packet path.
//!
//! Workers `try_send` each received 20 ms payload of a recorded leg as a fixed-size
//! [`Frame`] (no allocation: the bounded channel's slots are allocated once); the thread
//! aligns the two sides with a [`StereoMixer`] and appends to a [`WavWriter`] on a buffered
//! file every [`DRAIN_EVERY`]. Memory per recording is the mixer's few seconds plus the file
//! buffer, whatever the call's length. Start and stop messages are never dropped: a worker
//! that finds the channel full keeps them in order in its own backlog and retries.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::RecordingId;
use super::api::{EngineEvent, hand_over};
use crate::g711::Codec;
use crate::recorder::{Channel, StereoMixer};
use crate::wav::{SAMPLE_RATE, WavWriter, stereo_data_len};

/// Largest payload carried in one frame message (40 ms of G.711); longer payloads are split.
pub(crate) const MAX_FRAME: usize = 320;
/// How often buffered audio is moved from the mixers to the files.
const DRAIN_EVERY: Duration = Duration::from_millis(100);
/// Jitter the mixer waits for before padding a silent side.
const MIXER_LAG: Duration = Duration::from_millis(200);
/// File buffer per recording: ~0.5 s of stereo audio per write syscall.
const FILE_BUFFER: usize = 16 * 1024;

/// One side's payload, stamped with its arrival.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub(crate) id: RecordingId,
    pub(crate) channel: Channel,
    pub(crate) codec: Codec,
    pub(crate) at: Instant,
    pub(crate) len: u16,
    pub(crate) payload: [u8; MAX_FRAME],
}

/// Messages to the recorder thread.
// Frames are carried inline on purpose: the bounded channel's slots are allocated once and a
// boxed frame would allocate per packet on the relay path.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum RecorderMsg {
    Start {
        id: RecordingId,
        path: PathBuf,
        at: Instant,
    },
    Frame(Frame),
    Stop {
        id: RecordingId,
        /// Frames the worker dropped because this channel was full.
        dropped_frames: u64,
    },
}

/// The recorder's channel, with ordered retry of start/stop messages.
pub(crate) struct RecorderLink {
    pub(crate) tx: SyncSender<RecorderMsg>,
    pub(crate) backlog: VecDeque<RecorderMsg>,
}

impl RecorderLink {
    pub(crate) fn new(tx: SyncSender<RecorderMsg>) -> RecorderLink {
        RecorderLink {
            tx,
            backlog: VecDeque::new(),
        }
    }

    /// Start/stop: never dropped.
    pub(crate) fn control(&mut self, msg: RecorderMsg) {
        self.backlog.push_back(msg);
        self.flush();
    }

    pub(crate) fn flush(&mut self) {
        while let Some(m) = self.backlog.pop_front() {
            if let Err(e) = self.tx.try_send(m) {
                if let std::sync::mpsc::TrySendError::Full(m) = e {
                    self.backlog.push_front(m);
                }
                return;
            }
        }
    }

    /// A frame: dropped (false) when the channel is full or control messages wait.
    pub(crate) fn frame(&mut self, frame: Frame) -> bool {
        self.backlog.is_empty() && self.tx.try_send(RecorderMsg::Frame(frame)).is_ok()
    }
}

pub(crate) struct RecorderThread;

struct Recording {
    path: PathBuf,
    mixer: StereoMixer,
    writer: Option<WavWriter<BufWriter<File>>>,
    error: Option<String>,
}

impl RecorderThread {
    pub(crate) fn spawn(
        capacity: usize,
        events: mpsc::Sender<EngineEvent>,
    ) -> std::io::Result<(SyncSender<RecorderMsg>, JoinHandle<()>)> {
        let (tx, rx) = sync_channel(capacity);
        let thread = std::thread::Builder::new()
            .name("media-recorder".into())
            .spawn(move || run(rx, events))?;
        Ok((tx, thread))
    }
}

fn run(rx: Receiver<RecorderMsg>, events: mpsc::Sender<EngineEvent>) {
    let mut recordings: HashMap<RecordingId, Recording> = HashMap::new();
    // Finished recordings the owner has not taken yet (its channel was full).
    let mut pending: VecDeque<EngineEvent> = VecDeque::new();
    let (mut left, mut right) = (Vec::new(), Vec::new());
    let mut last_drain = Instant::now();
    loop {
        match rx.recv_timeout(DRAIN_EVERY) {
            Ok(RecorderMsg::Start { id, path, at }) => {
                let (writer, error) = match open(&path) {
                    Ok(w) => (Some(w), None),
                    Err(e) => (None, Some(e.to_string())),
                };
                recordings.insert(
                    id,
                    Recording {
                        path,
                        mixer: StereoMixer::new(at, MIXER_LAG),
                        writer,
                        error,
                    },
                );
            }
            Ok(RecorderMsg::Frame(f)) => {
                if let Some(r) = recordings.get_mut(&f.id) {
                    let payload = f.payload.get(..usize::from(f.len)).unwrap_or(&[]);
                    r.mixer.push(f.at, f.channel, f.codec, payload);
                }
            }
            Ok(RecorderMsg::Stop { id, dropped_frames }) => {
                if let Some(r) = recordings.remove(&id) {
                    pending.push_back(finish(id, r, dropped_frames, &mut left, &mut right));
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        while let Some(e) = pending.pop_front() {
            if let Err(mpsc::error::TrySendError::Full(e)) = events.try_send(e) {
                pending.push_front(e);
                break;
            }
        }
        let now = Instant::now();
        if now.saturating_duration_since(last_drain) >= DRAIN_EVERY {
            last_drain = now;
            for r in recordings.values_mut() {
                left.clear();
                right.clear();
                r.mixer.drain(now, &mut left, &mut right);
                write(r, &left, &right);
            }
        }
    }
    // The workers are gone: close whatever is still open.
    for (id, r) in recordings.drain() {
        pending.push_back(finish(id, r, 0, &mut left, &mut right));
    }
    hand_over(&events, pending);
}

/// Opens the recording's file. A file already there is an earlier part of the same call (the
/// engine names recordings after the call: after a blind transfer the caller is recorded again
/// with the next agent), so it is continued, like Asterisk's MixMonitor on the customer's
/// channel; truncating it would lose the conversation before the transfer.
fn open(path: &PathBuf) -> std::io::Result<WavWriter<BufWriter<File>>> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
    {
        Ok(mut file) => {
            let len = stereo_data_len(&mut file)?;
            WavWriter::resume(BufWriter::with_capacity(FILE_BUFFER, file), len)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            WavWriter::new(BufWriter::with_capacity(FILE_BUFFER, File::create(path)?))
        }
        Err(e) => Err(e),
    }
}

fn write(r: &mut Recording, left: &[i16], right: &[i16]) {
    if left.is_empty() {
        return;
    }
    if let Some(w) = r.writer.as_mut()
        && let Err(e) = w.write_stereo(left, right)
    {
        r.error = Some(e.to_string());
        r.writer = None;
    }
}

fn finish(
    id: RecordingId,
    mut r: Recording,
    dropped_frames: u64,
    left: &mut Vec<i16>,
    right: &mut Vec<i16>,
) -> EngineEvent {
    left.clear();
    right.clear();
    let Recording {
        path,
        mixer,
        writer,
        error,
    } = &mut r;
    let mixer = std::mem::replace(mixer, StereoMixer::new(Instant::now(), MIXER_LAG));
    mixer.finish(left, right);
    let mut duration = Duration::ZERO;
    if let Some(mut w) = writer.take() {
        let result = w.write_stereo(left, right).and_then(|()| {
            duration = Duration::from_micros(w.data_len() / 4 * 1_000_000 / u64::from(SAMPLE_RATE));
            w.finish().map(drop)
        });
        if let Err(e) = result {
            *error = Some(e.to_string());
        }
    }
    EngineEvent::RecordingFinished {
        recording: id,
        path: path.clone(),
        duration,
        dropped_frames,
        error: error.take(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(id: u64) -> Frame {
        Frame {
            id: RecordingId(id),
            channel: Channel::Left,
            codec: Codec::Pcmu,
            at: Instant::now(),
            len: 160,
            payload: [0xFF; MAX_FRAME],
        }
    }

    #[test]
    fn a_full_recorder_channel_drops_frames_instead_of_blocking() {
        let (tx, rx) = sync_channel(2);
        let mut link = RecorderLink::new(tx);
        assert!(link.frame(frame(1)));
        assert!(link.frame(frame(1)));
        assert!(!link.frame(frame(1)), "full: dropped, not waited for");
        assert_eq!(rx.try_iter().count(), 2);
        assert!(link.frame(frame(1)));
    }

    #[test]
    fn stop_messages_wait_in_order_and_frames_behind_them_are_dropped() {
        let (tx, rx) = sync_channel(1);
        let mut link = RecorderLink::new(tx);
        assert!(link.frame(frame(1)));
        link.control(RecorderMsg::Stop {
            id: RecordingId(1),
            dropped_frames: 0,
        });
        link.control(RecorderMsg::Start {
            id: RecordingId(2),
            path: PathBuf::from("x.wav"),
            at: Instant::now(),
        });
        // Frames must not overtake the queued stop/start.
        assert!(!link.frame(frame(2)));
        let mut order = Vec::new();
        for _ in 0..3 {
            let m = rx.try_recv().unwrap();
            order.push(match m {
                RecorderMsg::Frame(_) => "frame",
                RecorderMsg::Stop { .. } => "stop",
                RecorderMsg::Start { .. } => "start",
            });
            link.flush();
        }
        assert_eq!(order, ["frame", "stop", "start"]);
        assert!(link.backlog.is_empty());
        assert!(link.frame(frame(2)));
    }
}
