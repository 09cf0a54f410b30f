//! A simulated call for IVR tests: a clock field, the session, and a log of what it asked.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use switchboard_ivr::{
    DataKey, Flow, IvrAction, IvrInput, IvrSession, PlaybackId, PromptName, QueueState,
};

pub fn demo_flow(name: &str) -> Flow {
    let path = repo_root().join("config/ivr").join(format!("{name}.toml"));
    switchboard_ivr::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn flow(text: &str) -> Flow {
    switchboard_ivr::parse(text, Path::new("test.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// 2026-11-23 (a Monday) 10:00:00 UTC.
pub const MONDAY_10_00_UTC: u64 = 1_795_428_000;

pub struct Call {
    pub session: IvrSession,
    pub t0: Instant,
    pub now: Instant,
    /// Every action polled so far.
    pub log: Vec<IvrAction>,
    /// The playback the host is playing, if any.
    pub playing: Option<PlaybackId>,
}

impl Call {
    pub fn new(flow: Flow) -> Self {
        Self::with_data(flow, &[])
    }

    pub fn with_data(flow: Flow, data: &[(&str, &str)]) -> Self {
        // The simulated clock needs an origin and `Instant` has no other constructor; the
        // session itself never reads the clock.
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let data = data
            .iter()
            .map(|(k, v)| (DataKey::from(*k), (*v).to_owned()));
        Call {
            session: IvrSession::new(Arc::new(flow), data),
            t0,
            now: t0,
            log: Vec::new(),
            playing: None,
        }
    }

    /// Starts the call at `unix` seconds of wall-clock time; returns the actions.
    pub fn start_at(&mut self, unix: u64) -> Vec<IvrAction> {
        let wall_clock = UNIX_EPOCH + Duration::from_secs(unix);
        self.input(IvrInput::Started { wall_clock })
    }

    pub fn start(&mut self) -> Vec<IvrAction> {
        self.start_at(MONDAY_10_00_UTC)
    }

    pub fn input(&mut self, input: IvrInput) -> Vec<IvrAction> {
        self.session
            .handle_input(self.now, input)
            .unwrap_or_else(|e| panic!("{e}"));
        self.drain()
    }

    pub fn digit(&mut self, key: char) -> Vec<IvrAction> {
        self.input(IvrInput::Digit(key))
    }

    pub fn digits(&mut self, keys: &str) -> Vec<IvrAction> {
        keys.chars().flat_map(|key| self.digit(key)).collect()
    }

    /// The host reaches the end of the current playback.
    pub fn finish_playback(&mut self) -> Vec<IvrAction> {
        let playback = self.playing.take().expect("nothing is playing");
        self.input(IvrInput::PlaybackFinished { playback })
    }

    pub fn answer_queue(&mut self, queue: &str, state: QueueState) -> Vec<IvrAction> {
        self.input(IvrInput::QueueStateAnswer {
            queue: queue.into(),
            state,
        })
    }

    /// Moves the clock on by `by`, firing the timeout if it is due.
    pub fn advance(&mut self, by: Duration) -> Vec<IvrAction> {
        self.now += by;
        if self.session.poll_timeout().is_some_and(|t| t <= self.now) {
            self.session.handle_timeout(self.now);
        }
        self.drain()
    }

    /// Jumps to the armed deadline and fires it.
    pub fn fire_timeout(&mut self) -> Vec<IvrAction> {
        let deadline = self.session.poll_timeout().expect("no timeout armed");
        assert!(deadline >= self.now, "deadline in the past");
        self.now = deadline;
        self.session.handle_timeout(deadline);
        self.drain()
    }

    pub fn drain(&mut self) -> Vec<IvrAction> {
        let actions: Vec<IvrAction> = std::iter::from_fn(|| self.session.poll_output()).collect();
        for action in &actions {
            match action {
                IvrAction::Play { playback, .. } => self.playing = Some(*playback),
                IvrAction::StopPlayback { playback } if self.playing == Some(*playback) => {
                    self.playing = None;
                }
                _ => {}
            }
        }
        self.log.extend(actions.iter().cloned());
        actions
    }

    pub fn data(&self, key: &str) -> Option<&str> {
        self.session.data().get(key).map(String::as_str)
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.t0
    }
}

/// The prompts of the `Play` actions among `actions`, as text.
pub fn played(actions: &[IvrAction]) -> Vec<Vec<String>> {
    actions
        .iter()
        .filter_map(|action| match action {
            IvrAction::Play { prompts, .. } => {
                Some(prompts.iter().map(PromptName::to_string).collect())
            }
            _ => None,
        })
        .collect()
}

/// The queue of the `Route` among `actions`, if it routes to a queue.
pub fn routed_queue(actions: &[IvrAction]) -> Option<String> {
    actions.iter().find_map(|action| match action {
        IvrAction::Route {
            target: switchboard_ivr::RouteTarget::Queue(queue),
            ..
        } => Some(queue.to_string()),
        _ => None,
    })
}

pub fn ends_with_finished(actions: &[IvrAction]) -> bool {
    actions.last() == Some(&IvrAction::Finished)
}

pub fn wall(unix: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(unix)
}
