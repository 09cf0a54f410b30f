//! Property: whatever the caller keys and however long they wait, a session never panics, never
//! leaves a deadline behind, plays one prompt at a time, and ends in exactly one Route or
//! Hangup followed by Finished, within a bounded number of host steps.

mod common;

use std::time::Duration;

use common::{Call, demo_flow, flow};
use proptest::prelude::*;
use switchboard_ivr::{Flow, IvrAction, IvrInput, QueueState};

const STRESS: &str = r#"
name = "stress"
entry = "hello"
max_steps = 50
[nodes.hello]
type = "play"
prompts = ["welcome"]
barge_in = true
next = "check"
[nodes.check]
type = "branch"
cases = [
    { queue = "support", ewt_above_seconds = 60, next = "busy" },
    { hours = "09:00-17:00", next = "menu" },
]
default = "menu"
[nodes.busy]
type = "play"
prompts = ["long-wait"]
next = "menu"
[nodes.menu]
type = "collect"
prompts = ["menu"]
max_digits = 2
digits = "123*"
retries = 1
invalid_prompts = ["invalid"]
choices = { 1 = "hello", 2 = "account", 33 = "hello", "*" = "to-agent" }
on_failure = "bye"
[nodes.account]
type = "collect"
prompts = ["enter-account"]
barge_in = false
min_digits = 2
max_digits = 4
store = "account"
next = "tag"
on_failure = "menu"
[nodes.tag]
type = "set"
data = "label"
value = "account ${account}"
next = "to-support"
[nodes.to-support]
type = "route"
queue = "support"
priority = 5
[nodes.to-agent]
type = "route"
agent = "1001"
[nodes.bye]
type = "hangup"
prompts = ["bye"]
"#;

#[derive(Debug, Clone)]
enum Step {
    Digit(char),
    FinishPlayback,
    Timeout,
    Advance(u64),
    AnswerQueue { ewt_seconds: u64, agents_ready: u32 },
    StalePlaybackFinished(u32),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => proptest::sample::select(&switchboard_ivr::DigitSet::DTMF[..]).prop_map(Step::Digit),
        3 => Just(Step::FinishPlayback),
        2 => Just(Step::Timeout),
        1 => (0u64..20_000).prop_map(Step::Advance),
        1 => (0u64..200, 0u32..3).prop_map(|(ewt_seconds, agents_ready)| Step::AnswerQueue { ewt_seconds, agents_ready }),
        1 => (0u32..8).prop_map(Step::StalePlaybackFinished),
    ]
}

fn flows() -> Vec<Flow> {
    vec![demo_flow("main"), demo_flow("survey"), flow(STRESS)]
}

/// Checks what one batch of actions says, keeping the harness's view of the host in step.
struct Host {
    queue_asked: Option<String>,
    playing: Option<switchboard_ivr::PlaybackId>,
    endings: usize,
    finished: bool,
}

impl Host {
    fn observe(&mut self, call: &Call, actions: &[IvrAction]) -> Result<(), TestCaseError> {
        for action in actions {
            prop_assert!(!self.finished, "action after Finished: {action:?}");
            match action {
                IvrAction::AskQueueState { queue } => self.queue_asked = Some(queue.to_string()),
                IvrAction::Play { playback, .. } => {
                    prop_assert!(
                        self.playing.is_none(),
                        "a second prompt over {:?}",
                        self.playing
                    );
                    self.playing = Some(*playback);
                }
                IvrAction::StopPlayback { playback } => {
                    prop_assert_eq!(self.playing.take(), Some(*playback));
                }
                IvrAction::Route { .. } | IvrAction::Hangup { .. } => self.endings += 1,
                IvrAction::Finished => self.finished = true,
                _ => {}
            }
        }
        // No deadline is ever left at or behind the clock: the shell would spin on it.
        if let Some(deadline) = call.session.poll_timeout() {
            prop_assert!(deadline > call.now, "deadline not in the future");
        }
        prop_assert_eq!(call.session.is_finished(), self.finished);
        Ok(())
    }
}

/// Plays the host's part for one step; returns the actions.
fn apply(call: &mut Call, host: &mut Host, step: &Step) -> Vec<IvrAction> {
    match step {
        Step::Digit(key) => call.digit(*key),
        Step::FinishPlayback if call.playing.is_some() => {
            host.playing = None;
            call.finish_playback()
        }
        Step::Timeout if call.session.poll_timeout().is_some() => call.fire_timeout(),
        Step::Advance(ms) => call.advance(Duration::from_millis(*ms)),
        Step::AnswerQueue {
            ewt_seconds,
            agents_ready,
        } => match host.queue_asked.take() {
            Some(queue) => call.answer_queue(
                &queue,
                QueueState {
                    ewt: Duration::from_secs(*ewt_seconds),
                    agents_ready: *agents_ready,
                    calls_waiting: 0,
                },
            ),
            None => Vec::new(),
        },
        Step::StalePlaybackFinished(id) => {
            let playback = switchboard_ivr::PlaybackId(*id);
            if call.playing == Some(playback) {
                Vec::new()
            } else {
                call.input(IvrInput::PlaybackFinished { playback })
            }
        }
        _ => Vec::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_caller_behaviour_ends_in_one_route_or_hangup(
        flow_index in 0usize..3,
        start_hour in 0u64..24,
        script in proptest::collection::vec(step(), 0..80),
    ) {
        let flow = flows().swap_remove(flow_index);
        let mut call = Call::new(flow);
        let mut host = Host { queue_asked: None, playing: None, endings: 0, finished: false };
        let actions = call.start_at(common::MONDAY_10_00_UTC - 10 * 3600 + start_hour * 3600);
        host.observe(&call, &actions)?;
        for step in &script {
            let actions = apply(&mut call, &mut host, step);
            host.observe(&call, &actions)?;
        }
        // The caller goes silent: the host plays prompts to their end, lets timers fire and
        // never answers a queue question. The flow must still end, and soon.
        let mut host_steps = 0;
        while !call.session.is_finished() {
            host_steps += 1;
            prop_assert!(host_steps <= 1_000, "not finished after 1000 host steps");
            let actions = if call.playing.is_some() {
                host.playing = None;
                call.finish_playback()
            } else if call.session.poll_timeout().is_some() {
                call.fire_timeout()
            } else {
                prop_assert!(false, "stuck: nothing playing, no timeout armed");
                unreachable!()
            };
            host.observe(&call, &actions)?;
        }
        prop_assert_eq!(host.endings, 1);
        prop_assert_eq!(call.log.last(), Some(&IvrAction::Finished));
        prop_assert_eq!(call.session.poll_timeout(), None);
        // Once finished, input is ignored.
        prop_assert!(call.digit('1').is_empty());
    }
}
