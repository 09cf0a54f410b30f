//! [`IvrSession`]: one call's walk through a [`Flow`], sans-IO.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use switchboard_config::QueueName;

use crate::action::{HangupReason, InputError, IvrAction, IvrInput, PlaybackId};
use crate::collect::Collecting;
use crate::flow::{Branch, Condition, DataKey, DigitSet, Flow, Node, NodeId, QueueState};

/// How long a branch waits for [`IvrInput::QueueStateAnswer`] before taking the queue's
/// conditions as not holding. The host answers from memory (the router's statistics); two
/// seconds of silence is a host in trouble, and a caller should not wait on it.
pub const QUEUE_STATE_TIMEOUT: Duration = Duration::from_secs(2);

/// Digits a caller may type ahead of a `collect` node (while a barge-in prompt plays or a queue
/// is consulted); more are dropped. Equal to the longest answer a node may ask for.
const MAX_TYPE_AHEAD: usize = 64;

/// One call's IVR: walks a [`Flow`] from its entry node, asking the host to play, collect,
/// store data, consult a queue, and finally route or hang up.
///
/// The usual four methods, never a clock or a socket:
/// - [`handle_input`](Self::handle_input): `Started`, then digits, playback ends, queue
///   answers;
/// - [`handle_timeout`](Self::handle_timeout): at or after [`poll_timeout`](Self::poll_timeout);
/// - [`poll_output`](Self::poll_output): drain after every call to the two above;
/// - [`poll_timeout`](Self::poll_timeout): the one deadline armed (digit timeouts, a queue
///   question), if any.
///
/// The session ends with [`IvrAction::Route`] or [`IvrAction::Hangup`], then
/// [`IvrAction::Finished`]. `now` must not go backwards. When the caller hangs up first, the
/// engine simply drops the session: it holds nothing that needs releasing.
#[derive(Debug)]
pub struct IvrSession {
    pub(crate) flow: Arc<Flow>,
    pub(crate) state: State,
    pub(crate) data: BTreeMap<DataKey, String>,
    pub(crate) type_ahead: String,
    pub(crate) outputs: VecDeque<IvrAction>,
    steps: u32,
    next_playback: u32,
    /// The wall clock at a monotonic instant, from `Started` or `WallClock`.
    wall_anchor: Option<(Instant, SystemTime)>,
}

#[derive(Debug)]
pub(crate) enum State {
    NotStarted,
    /// A `play` node's prompts are playing.
    Playing {
        playback: PlaybackId,
        barge_in: bool,
        next: NodeId,
    },
    /// A `collect` node is prompting or waiting for digits.
    Collecting(Collecting),
    /// A branch waits for a queue's state.
    Asking {
        node: NodeId,
        case: usize,
        queue: QueueName,
        answers: BTreeMap<QueueName, Option<QueueState>>,
        deadline: Instant,
    },
    /// A `hangup` node's prompts are playing.
    HangingUp {
        playback: PlaybackId,
    },
    Finished,
}

impl IvrSession {
    /// A session for one call, not yet started. `data` is the call data known before the IVR
    /// (the engine's `caller`, `dnis`…), readable by `set` templates and `branch` cases.
    pub fn new(flow: Arc<Flow>, data: impl IntoIterator<Item = (DataKey, String)>) -> Self {
        IvrSession {
            flow,
            state: State::NotStarted,
            data: data.into_iter().collect(),
            type_ahead: String::new(),
            outputs: VecDeque::new(),
            steps: 0,
            next_playback: 0,
            wall_anchor: None,
        }
    }

    /// Feeds one input. Refused inputs leave the session as it was; anything after the session
    /// finished is ignored.
    pub fn handle_input(&mut self, now: Instant, input: IvrInput) -> Result<(), InputError> {
        match input {
            IvrInput::Started { wall_clock } => {
                if !matches!(self.state, State::NotStarted) {
                    return Err(InputError::AlreadyStarted);
                }
                self.wall_anchor = Some((now, wall_clock));
                let entry = self.flow.entry.clone();
                self.run(now, entry);
                return Ok(());
            }
            IvrInput::WallClock(wall_clock) => {
                self.wall_anchor = Some((now, wall_clock));
                return Ok(());
            }
            _ if matches!(self.state, State::NotStarted) => return Err(InputError::NotStarted),
            _ if matches!(self.state, State::Finished) => return Ok(()),
            IvrInput::Digit(key) => {
                let key = key.to_ascii_uppercase();
                if !DigitSet::is_dtmf(key) {
                    return Err(InputError::NotDtmf(key));
                }
                self.on_digit(now, key);
            }
            IvrInput::PlaybackFinished { playback } => self.on_playback_finished(now, playback),
            IvrInput::QueueStateAnswer { queue, state } => {
                if let State::Asking {
                    queue: asked,
                    answers,
                    ..
                } = &mut self.state
                    && *asked == queue
                {
                    answers.insert(queue, Some(state));
                    self.resume_branch(now);
                }
            }
        }
        Ok(())
    }

    /// Fires the armed deadline if `now` has reached it; a call before it is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        match &mut self.state {
            State::Collecting(collecting)
                if collecting
                    .deadline()
                    .is_some_and(|deadline| now >= deadline) =>
            {
                self.on_collect_timeout(now);
            }
            State::Asking {
                queue,
                answers,
                deadline,
                ..
            } if now >= *deadline => {
                answers.insert(queue.clone(), None);
                self.resume_branch(now);
            }
            _ => {}
        }
    }

    /// The next action for the host, in order.
    pub fn poll_output(&mut self) -> Option<IvrAction> {
        self.outputs.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due, if at all.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            State::Collecting(collecting) => collecting.deadline(),
            State::Asking { deadline, .. } => Some(*deadline),
            _ => None,
        }
    }

    /// The call data so far (initial data plus what the flow set or collected).
    pub fn data(&self) -> &BTreeMap<DataKey, String> {
        &self.data
    }

    /// Whether the session has ended (routed or hung up).
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Finished)
    }

    /// The flow this session runs.
    pub fn flow(&self) -> &Flow {
        &self.flow
    }

    /// Walks from `id` through nodes that do not wait until one that does (or the end).
    pub(crate) fn run(&mut self, now: Instant, id: NodeId) {
        let flow = Arc::clone(&self.flow);
        let mut id = id;
        loop {
            self.steps = self.steps.saturating_add(1);
            if self.steps > flow.max_steps {
                self.hang_up(HangupReason::StepLimit);
                return;
            }
            let Some(node) = flow.nodes.get(&id) else {
                // A flow comes only from validation, which resolves every reference.
                debug_assert!(false, "node {id} missing from a validated flow");
                self.hang_up(HangupReason::StepLimit);
                return;
            };
            let next = match node {
                Node::Goto(next) => Some(next.clone()),
                Node::Set(set) => {
                    let value = set
                        .value
                        .render(|key| self.data.get(key).map(String::as_str));
                    self.set_data(set.key.clone(), value);
                    Some(set.next.clone())
                }
                Node::Branch(branch) => self.evaluate(now, &id, branch, 0, BTreeMap::new()),
                Node::Play(play) => {
                    if play.barge_in && !self.type_ahead.is_empty() {
                        // The caller already barged in on an earlier prompt and is keying an
                        // answer: do not make them sit through another.
                        Some(play.next.clone())
                    } else {
                        let playback = self.play(play.prompts.clone(), play.barge_in);
                        self.state = State::Playing {
                            playback,
                            barge_in: play.barge_in,
                            next: play.next.clone(),
                        };
                        None
                    }
                }
                Node::Collect(_) => self.start_collect(now, id.clone(), 0, Vec::new()),
                Node::Route(route) => {
                    self.outputs.push_back(IvrAction::Route {
                        target: route.target.clone(),
                        priority: route.priority,
                        requirement: route.requirement.clone(),
                    });
                    self.finish();
                    None
                }
                Node::Hangup(hangup) => {
                    if hangup.prompts.is_empty() {
                        self.hang_up(HangupReason::HangupNode);
                    } else {
                        let playback = self.play(hangup.prompts.clone(), false);
                        self.state = State::HangingUp { playback };
                    }
                    None
                }
            };
            match next {
                Some(next) => id = next,
                None => return,
            }
        }
    }

    /// Tries `branch`'s cases from `from`; `None` when it had to ask about a queue (the state
    /// is then [`State::Asking`]).
    fn evaluate(
        &mut self,
        now: Instant,
        id: &NodeId,
        branch: &Branch,
        from: usize,
        answers: BTreeMap<QueueName, Option<QueueState>>,
    ) -> Option<NodeId> {
        for (index, case) in branch.cases.iter().enumerate().skip(from) {
            let holds = match &case.condition {
                Condition::Data { key, test } => test.holds(self.data.get(key).map(String::as_str)),
                Condition::Schedule { days, hours } => {
                    let local = self.flow.utc_offset.local(self.wall_clock(now));
                    days.contains(local.weekday)
                        && hours.is_none_or(|window| window.contains(local.minute_of_day))
                }
                Condition::Queue { queue, test } => match answers.get(queue) {
                    Some(answer) => answer.as_ref().is_some_and(|state| test.holds(state)),
                    None => {
                        self.outputs.push_back(IvrAction::AskQueueState {
                            queue: queue.clone(),
                        });
                        self.state = State::Asking {
                            node: id.clone(),
                            case: index,
                            queue: queue.clone(),
                            answers,
                            deadline: now + QUEUE_STATE_TIMEOUT,
                        };
                        return None;
                    }
                },
            };
            if holds {
                return Some(case.next.clone());
            }
        }
        Some(branch.default.clone())
    }

    /// Continues a branch after its queue question was answered or timed out.
    fn resume_branch(&mut self, now: Instant) {
        let State::Asking {
            node,
            case,
            answers,
            ..
        } = std::mem::replace(&mut self.state, State::NotStarted)
        else {
            return;
        };
        let flow = Arc::clone(&self.flow);
        let Some(Node::Branch(branch)) = flow.nodes.get(&node) else {
            debug_assert!(false, "asking state outside a branch node");
            self.hang_up(HangupReason::StepLimit);
            return;
        };
        if let Some(next) = self.evaluate(now, &node, branch, case, answers) {
            self.run(now, next);
        }
    }

    fn on_digit(&mut self, now: Instant, key: char) {
        match &self.state {
            State::Playing {
                playback,
                barge_in: true,
                next,
            } => {
                let (playback, next) = (*playback, next.clone());
                self.outputs.push_back(IvrAction::StopPlayback { playback });
                self.push_type_ahead(key);
                self.run(now, next);
            }
            State::Collecting(_) => self.collect_digit(now, key),
            State::Asking { .. } => self.push_type_ahead(key),
            // A prompt without barge-in is heard to its end; digits over it are dropped, as
            // Asterisk's Playback() does.
            State::Playing { .. } | State::HangingUp { .. } => {}
            State::NotStarted | State::Finished => {}
        }
    }

    fn on_playback_finished(&mut self, now: Instant, finished: PlaybackId) {
        match &self.state {
            State::Playing { playback, next, .. } if *playback == finished => {
                let next = next.clone();
                self.run(now, next);
            }
            State::HangingUp { playback } if *playback == finished => {
                self.hang_up(HangupReason::HangupNode);
            }
            State::Collecting(_) => self.collect_playback_finished(now, finished),
            _ => {}
        }
    }

    fn push_type_ahead(&mut self, key: char) {
        if self.type_ahead.len() < MAX_TYPE_AHEAD {
            self.type_ahead.push(key);
        }
    }

    pub(crate) fn play(
        &mut self,
        prompts: Vec<crate::flow::PromptName>,
        barge_in: bool,
    ) -> PlaybackId {
        let playback = PlaybackId(self.next_playback);
        self.next_playback = self.next_playback.wrapping_add(1);
        self.outputs.push_back(IvrAction::Play {
            playback,
            prompts,
            barge_in,
        });
        playback
    }

    pub(crate) fn set_data(&mut self, key: DataKey, value: String) {
        self.data.insert(key.clone(), value.clone());
        self.outputs.push_back(IvrAction::SetData { key, value });
    }

    fn hang_up(&mut self, reason: HangupReason) {
        self.outputs.push_back(IvrAction::Hangup { reason });
        self.finish();
    }

    fn finish(&mut self) {
        self.state = State::Finished;
        self.outputs.push_back(IvrAction::Finished);
    }

    fn wall_clock(&self, now: Instant) -> SystemTime {
        match self.wall_anchor {
            Some((at, wall)) => wall
                .checked_add(now.saturating_duration_since(at))
                .unwrap_or(wall),
            None => UNIX_EPOCH,
        }
    }
}
