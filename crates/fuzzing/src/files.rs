//! File targets: the daemon's configuration and IVR flow files.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use switchboard_ivr::{IvrAction, IvrInput, IvrSession, QueueState};

/// The input as `switchboard.toml`: accepted, or refused with a position inside the text.
pub fn config_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(error) = switchboard_config::parse(text, Path::new("fuzz.toml")) {
        assert!(error.line >= 1 && error.column >= 1, "{error}");
        assert!(error.line as usize <= text.lines().count() + 1, "{error}");
    }
}

/// Host steps a call may take through any accepted flow before it must have finished.
const MAX_HOST_STEPS: usize = 10_000;

/// The input as a flow file, then (after the first NUL byte) a caller's script: each byte is a
/// key press, the end of the current prompt, a queue-state answer or silence until the next
/// deadline. A flow that is accepted runs, for any script followed by silence, to exactly one
/// `Route` or `Hangup` and then `Finished`, within a bounded number of steps.
pub fn ivr_flow(data: &[u8]) {
    let (text, script) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], data.get(at + 1..).unwrap_or_default()),
        None => (data, &[][..]),
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let flow = match switchboard_ivr::parse(text, Path::new("fuzz.toml")) {
        Ok(flow) => flow,
        Err(error) => {
            let lines = text.split('\n').count();
            assert!(error.line >= 1 && error.line as usize <= lines, "{error}");
            return;
        }
    };
    let mut call = Call::new(IvrSession::new(Arc::new(flow), []));
    call.input(IvrInput::Started {
        wall_clock: SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_428_000),
    });
    for &byte in script {
        if call.finished {
            break;
        }
        match byte % 20 {
            k @ 0..=15 => {
                let key = b"0123456789*#ABCD"[usize::from(k)] as char;
                call.input(IvrInput::Digit(key));
            }
            16 => {
                if let Some(playback) = call.playing.take() {
                    call.input(IvrInput::PlaybackFinished { playback });
                }
            }
            17 => {
                if let Some(queue) = call.asked.pop() {
                    let state = QueueState {
                        ewt: Duration::from_secs(u64::from(byte)),
                        agents_ready: u32::from(byte & 3),
                        calls_waiting: u32::from(byte >> 4),
                    };
                    call.input(IvrInput::QueueStateAnswer { queue, state });
                }
            }
            18 => call.input(IvrInput::WallClock(
                SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(byte) * 3_600),
            )),
            _ => call.silence(),
        }
    }
    // Then the caller is silent and listens to every prompt to its end.
    while !call.finished {
        if let Some(playback) = call.playing.take() {
            call.input(IvrInput::PlaybackFinished { playback });
        } else if let Some(queue) = call.asked.pop() {
            let state = QueueState {
                ewt: Duration::from_secs(30),
                agents_ready: 1,
                calls_waiting: 2,
            };
            call.input(IvrInput::QueueStateAnswer { queue, state });
        } else {
            call.silence();
        }
    }
}

struct Call {
    session: IvrSession,
    now: Instant,
    playing: Option<switchboard_ivr::PlaybackId>,
    asked: Vec<switchboard_config::QueueName>,
    ends: usize,
    finished: bool,
    steps: usize,
}

impl Call {
    fn new(session: IvrSession) -> Call {
        Call {
            session,
            now: Instant::now(),
            playing: None,
            asked: Vec::new(),
            ends: 0,
            finished: false,
            steps: 0,
        }
    }

    fn input(&mut self, input: IvrInput) {
        self.step();
        // The inputs here are all well formed and the session has started (or is starting).
        if let Err(error) = self.session.handle_input(self.now, input) {
            panic!("{error}");
        }
        self.drain();
    }

    /// Nothing happens until the next deadline; with none armed and nothing playing or asked,
    /// the call could wait for ever.
    fn silence(&mut self) {
        self.step();
        match self.session.poll_timeout() {
            Some(deadline) => {
                assert!(deadline >= self.now, "deadline in the past");
                self.now = deadline;
                self.session.handle_timeout(deadline);
                self.drain();
            }
            None => assert!(
                self.finished || self.playing.is_some() || !self.asked.is_empty(),
                "the session waits on nothing"
            ),
        }
    }

    fn step(&mut self) {
        self.steps += 1;
        assert!(self.steps <= MAX_HOST_STEPS, "the call did not finish");
    }

    fn drain(&mut self) {
        while let Some(action) = self.session.poll_output() {
            assert!(!self.finished, "{action:?} after Finished");
            match action {
                IvrAction::Play { playback, .. } => self.playing = Some(playback),
                IvrAction::StopPlayback { playback } => {
                    if self.playing == Some(playback) {
                        self.playing = None;
                    }
                }
                IvrAction::AskQueueState { queue } => self.asked.push(queue),
                IvrAction::Route { .. } | IvrAction::Hangup { .. } => {
                    self.ends += 1;
                    assert_eq!(self.ends, 1, "a second Route or Hangup");
                }
                IvrAction::Finished => {
                    assert_eq!(self.ends, 1, "Finished without a Route or Hangup");
                    self.finished = true;
                }
                IvrAction::CollectStarted { .. } | IvrAction::SetData { .. } => {}
            }
        }
    }
}
