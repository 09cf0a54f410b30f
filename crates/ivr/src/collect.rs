//! Digit collection, as Asterisk's `Read()` and FreeSWITCH's `play_and_get_digits` do it:
//!
//! 1. The prompt plays. With barge-in, the first digit stops it; without, digits typed over it
//!    are kept and judged when it ends.
//! 2. After the prompt, the first digit must come within `first_digit_timeout`, each further
//!    one within `inter_digit_timeout`.
//! 3. The answer is complete at `max_digits` digits, at the terminator (never part of the
//!    answer), or when the inter-digit timeout passes.
//! 4. A complete answer is valid if it has `min_digits`..=`max_digits` keys from `digits` and,
//!    when the node has `choices`, is one of them. Valid: stored, and the flow moves on.
//! 5. Invalid: the invalid prompts and the question again, up to `retries` more times, then
//!    `on_failure`. No answer at all: `on_no_input` at once if the node has one; otherwise the
//!    same as invalid, with the no-input prompts.
//!
//! Digits typed before the node starts (barge-in on an earlier prompt) are its first digits and
//! the question is not played: the caller has already answered it.

use std::sync::Arc;
use std::time::Instant;

use crate::action::{IvrAction, PlaybackId};
use crate::flow::{Collect, Flow, Node, NodeId, OnValid, PromptName};
use crate::session::{IvrSession, State};

#[derive(Debug)]
pub(crate) struct Collecting {
    node: NodeId,
    attempt: u8,
    digits: String,
    /// The terminator was pressed over a prompt without barge-in: the answer is complete when
    /// the prompt ends.
    terminated: bool,
    phase: Phase,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Prompting {
        playback: PlaybackId,
        barge_in: bool,
    },
    /// Waiting for a digit until `deadline`: the first-digit timeout while `digits` is empty,
    /// the inter-digit timeout after.
    Waiting { deadline: Instant },
}

impl Collecting {
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Waiting { deadline } => Some(deadline),
            Phase::Prompting { .. } => None,
        }
    }
}

/// What a complete answer means.
enum Outcome {
    Valid(String, NodeId),
    Invalid,
}

impl IvrSession {
    /// Starts attempt `attempt` of the collect node `id`, `preface` played before the question
    /// (the invalid or no-input prompts on a retry). Returns where to continue if type-ahead
    /// already completed the answer.
    pub(crate) fn start_collect(
        &mut self,
        now: Instant,
        id: NodeId,
        attempt: u8,
        preface: Vec<PromptName>,
    ) -> Option<NodeId> {
        let flow = Arc::clone(&self.flow);
        let collect = collect_node(&flow, &id)?;
        self.outputs.push_back(IvrAction::CollectStarted {
            node: id.clone(),
            attempt,
        });
        let type_ahead = std::mem::take(&mut self.type_ahead);
        if attempt == 0 && !type_ahead.is_empty() {
            self.state = State::Collecting(Collecting {
                node: id,
                attempt,
                digits: String::new(),
                terminated: false,
                phase: Phase::Waiting {
                    deadline: now + collect.first_digit_timeout,
                },
            });
            for key in type_ahead.chars() {
                // Once an answer is judged (a retry has begun, or the node was left), the rest
                // of the type-ahead is not for this attempt: drop it.
                let same_attempt = matches!(&self.state, State::Collecting(c)
                    if c.attempt == attempt && matches!(c.phase, Phase::Waiting { .. }));
                if !same_attempt {
                    break;
                }
                if let Some(next) = self.accept_digit(now, collect, key) {
                    return Some(next);
                }
            }
            return None;
        }
        let mut prompts = preface;
        prompts.extend(collect.prompts.iter().cloned());
        let playback = self.play(prompts, collect.barge_in);
        self.state = State::Collecting(Collecting {
            node: id,
            attempt,
            digits: String::new(),
            terminated: false,
            phase: Phase::Prompting {
                playback,
                barge_in: collect.barge_in,
            },
        });
        None
    }

    pub(crate) fn collect_digit(&mut self, now: Instant, key: char) {
        let flow = Arc::clone(&self.flow);
        let Some((collect, phase)) = self.current_collect(&flow) else {
            return;
        };
        match phase {
            Phase::Prompting {
                playback,
                barge_in: true,
            } => {
                self.outputs.push_back(IvrAction::StopPlayback { playback });
                if let Some(next) = self.accept_digit(now, collect, key) {
                    self.run(now, next);
                }
            }
            Phase::Prompting {
                barge_in: false, ..
            } => {
                // Buffered over the prompt, judged when it ends.
                if let State::Collecting(c) = &mut self.state {
                    if c.terminated || c.digits.len() >= usize::from(collect.max_digits) {
                        return;
                    }
                    if Some(key) == collect.terminator {
                        c.terminated = true;
                    } else {
                        c.digits.push(key);
                    }
                }
            }
            Phase::Waiting { .. } => {
                if let Some(next) = self.accept_digit(now, collect, key) {
                    self.run(now, next);
                }
            }
        }
    }

    pub(crate) fn collect_playback_finished(&mut self, now: Instant, finished: PlaybackId) {
        let flow = Arc::clone(&self.flow);
        let Some((collect, Phase::Prompting { playback, .. })) = self.current_collect(&flow) else {
            return;
        };
        if playback != finished {
            return;
        }
        let State::Collecting(c) = &mut self.state else {
            return;
        };
        let complete = c.terminated || c.digits.len() >= usize::from(collect.max_digits);
        let timeout = if c.digits.is_empty() {
            collect.first_digit_timeout
        } else {
            collect.inter_digit_timeout
        };
        c.phase = Phase::Waiting {
            deadline: now + timeout,
        };
        if complete && let Some(next) = self.complete(now, collect) {
            self.run(now, next);
        }
    }

    pub(crate) fn on_collect_timeout(&mut self, now: Instant) {
        let flow = Arc::clone(&self.flow);
        let Some((collect, Phase::Waiting { .. })) = self.current_collect(&flow) else {
            return;
        };
        let no_input = matches!(&self.state, State::Collecting(c) if c.digits.is_empty());
        let next = match (&collect.on_no_input, no_input) {
            (Some(next), true) => Some(next.clone()),
            // With min_digits = 0, silence is an empty and valid answer: `complete` takes it.
            (None, true) if collect.min_digits > 0 => {
                let prompts = if collect.no_input_prompts.is_empty() {
                    collect.invalid_prompts.clone()
                } else {
                    collect.no_input_prompts.clone()
                };
                self.retry_or_fail(now, collect, prompts)
            }
            _ => self.complete(now, collect),
        };
        if let Some(next) = next {
            self.run(now, next);
        }
    }

    /// One digit while waiting (or barging in). Returns where to continue when it completed
    /// the answer and that led out of the node.
    fn accept_digit(&mut self, now: Instant, collect: &Collect, key: char) -> Option<NodeId> {
        let State::Collecting(c) = &mut self.state else {
            return None;
        };
        let complete = if Some(key) == collect.terminator {
            true
        } else {
            c.digits.push(key);
            c.digits.len() >= usize::from(collect.max_digits)
        };
        c.phase = Phase::Waiting {
            deadline: now + collect.inter_digit_timeout,
        };
        if complete {
            self.complete(now, collect)
        } else {
            None
        }
    }

    /// Judges the answer in the buffer.
    fn complete(&mut self, now: Instant, collect: &Collect) -> Option<NodeId> {
        let State::Collecting(c) = &mut self.state else {
            return None;
        };
        let answer = std::mem::take(&mut c.digits);
        match judge(collect, answer) {
            Outcome::Valid(answer, next) => {
                if let Some(key) = &collect.store {
                    self.set_data(key.clone(), answer);
                }
                Some(next)
            }
            Outcome::Invalid => self.retry_or_fail(now, collect, collect.invalid_prompts.clone()),
        }
    }

    fn retry_or_fail(
        &mut self,
        now: Instant,
        collect: &Collect,
        preface: Vec<PromptName>,
    ) -> Option<NodeId> {
        let State::Collecting(c) = &self.state else {
            return None;
        };
        if c.attempt >= collect.retries {
            return Some(collect.on_failure.clone());
        }
        let (node, attempt) = (c.node.clone(), c.attempt + 1);
        self.start_collect(now, node, attempt, preface)
    }

    fn current_collect<'f>(&self, flow: &'f Flow) -> Option<(&'f Collect, Phase)> {
        let State::Collecting(c) = &self.state else {
            return None;
        };
        Some((collect_node(flow, &c.node)?, c.phase))
    }
}

fn collect_node<'f>(flow: &'f Flow, id: &NodeId) -> Option<&'f Collect> {
    match flow.node(id.as_str()) {
        Some(Node::Collect(collect)) => Some(collect),
        _ => None,
    }
}

fn judge(collect: &Collect, answer: String) -> Outcome {
    let length = answer.chars().count();
    let shape_ok = (usize::from(collect.min_digits)..=usize::from(collect.max_digits))
        .contains(&length)
        && answer.chars().all(|key| collect.digits.contains(key));
    if !shape_ok {
        return Outcome::Invalid;
    }
    match &collect.on_valid {
        OnValid::Next(next) => Outcome::Valid(answer, next.clone()),
        OnValid::Choices(choices) => match choices.get(&answer) {
            Some(next) => Outcome::Valid(answer, next.clone()),
            None => Outcome::Invalid,
        },
    }
}
