//! IVR flows on the caller's leg (issue 6 §2) and the post-call survey (§6): each call may
//! hold one [`IvrSession`]; its actions become media commands, call data and a route.

use std::time::{Duration, Instant};

use switchboard_acd::CallId;
use switchboard_ivr::{IvrAction, IvrInput, IvrSession, PlaybackId, QueueState, RouteTarget};
use switchboard_store::HangupSide;

use crate::call::{CallState, Ending};
use crate::engine::Engine;
use crate::output::{LegId, MediaCommand, PlaybackRef};

/// The key a waiting caller presses to leave the queue.
pub(crate) const EXIT_KEY: char = '9';

/// Queue announcements use playback refs with this bit set, so they never collide with the
/// ids an IVR session hands out.
pub(crate) const ANNOUNCEMENT_BIT: u32 = 1 << 31;

impl Engine {
    /// Starts the call's route flow (its `context`).
    pub(crate) fn start_ivr(&mut self, now: Instant, call_id: u128) {
        let Some(call) = self.calls.get(&call_id) else {
            return;
        };
        let Some(flow) = self.flows.get(&call.context).cloned() else {
            self.end_call(now, call_id, system("no-flow"));
            return;
        };
        self.run_flow(now, call_id, IvrSession::new(flow, []));
    }

    fn run_flow(&mut self, now: Instant, call_id: u128, mut session: IvrSession) {
        let wall = self.wall(now);
        if session
            .handle_input(now, IvrInput::Started { wall_clock: wall })
            .is_err()
        {
            self.end_call(now, call_id, system("ivr-error"));
            return;
        }
        if let Some(call) = self.calls.get_mut(&call_id) {
            call.ivr = Some(session);
        }
        self.ivr_actions(now, call_id);
    }

    /// Feeds one input to the call's session, then carries out what it asks.
    fn ivr_input(&mut self, now: Instant, call_id: u128, input: IvrInput) {
        let Some(session) = self.calls.get_mut(&call_id).and_then(|c| c.ivr.as_mut()) else {
            return;
        };
        if let Err(err) = session.handle_input(now, input) {
            tracing::debug!(error = %err, "IVR input refused");
        }
        self.ivr_actions(now, call_id);
    }

    fn ivr_actions(&mut self, now: Instant, call_id: u128) {
        let wall = self.wall(now);
        loop {
            let Some(call) = self.calls.get_mut(&call_id) else {
                return;
            };
            let leg = call.caller.leg;
            let survey = call.state == CallState::Survey;
            let Some(action) = call.ivr.as_mut().and_then(IvrSession::poll_output) else {
                return;
            };
            match action {
                IvrAction::Play {
                    playback, prompts, ..
                } => self.media(MediaCommand::Play {
                    leg,
                    playback: PlaybackRef(playback.0),
                    prompts: prompts.iter().map(ToString::to_string).collect(),
                }),
                IvrAction::StopPlayback { .. } => self.media(MediaCommand::Stop { leg }),
                IvrAction::CollectStarted { .. } => {}
                IvrAction::SetData { key, value } => {
                    let key = key.to_string();
                    if key == "survey_score" {
                        call.survey_score = value.parse().ok().filter(|d| (1..=5).contains(d));
                    }
                    call.inputs.push(crate::call::IvrInputRecord {
                        key: key.clone(),
                        value: value.clone(),
                        at: wall,
                    });
                    call.data.insert(key, value);
                    call.data_version += 1;
                }
                IvrAction::AskQueueState { queue } => {
                    let state = self.queue_state(now, queue.as_ref());
                    if let Some(session) = self.calls.get_mut(&call_id).and_then(|c| c.ivr.as_mut())
                    {
                        let _ =
                            session.handle_input(now, IvrInput::QueueStateAnswer { queue, state });
                    }
                }
                IvrAction::Route { target, .. } => {
                    call.ivr = None;
                    match target {
                        RouteTarget::Queue(queue) => {
                            let queue = queue.to_string();
                            self.enqueue(now, call_id, &queue);
                        }
                        RouteTarget::Agent(agent) => {
                            let queue = crate::acd_map::personal_queue(agent.as_ref());
                            self.enqueue(now, call_id, &queue);
                        }
                        // Out through the trunk (media stays anchored here).
                        RouteTarget::Uri(uri) => {
                            let uri = uri.to_string();
                            self.forward(now, call_id, &uri);
                        }
                    }
                    return;
                }
                IvrAction::Hangup { .. } | IvrAction::Finished => {
                    call.ivr = None;
                    let ending = if survey {
                        Ending {
                            side: HangupSide::Agent,
                            reason: "normal",
                        }
                    } else {
                        system("ivr-hangup")
                    };
                    self.end_call(now, call_id, ending);
                    return;
                }
            }
        }
    }

    fn queue_state(&self, now: Instant, queue: &str) -> QueueState {
        let stats = self.router.queue_stats(queue, now);
        QueueState {
            ewt: stats
                .as_ref()
                .map(|s| s.longest_wait)
                .unwrap_or(Duration::ZERO),
            agents_ready: stats
                .as_ref()
                .map_or(0, |s| u32::try_from(s.agents.ready).unwrap_or(u32::MAX)),
            calls_waiting: stats
                .as_ref()
                .map_or(0, |s| u32::try_from(s.waiting).unwrap_or(u32::MAX)),
        }
    }

    pub(crate) fn ivr_deadline(&self) -> Option<Instant> {
        self.calls
            .values()
            .filter_map(|c| c.ivr.as_ref().and_then(IvrSession::poll_timeout))
            .min()
    }

    pub(crate) fn ivr_timeouts(&mut self, now: Instant) {
        let due: Vec<u128> = self
            .calls
            .values()
            .filter(|c| {
                c.ivr
                    .as_ref()
                    .and_then(IvrSession::poll_timeout)
                    .is_some_and(|t| t <= now)
            })
            .map(|c| c.id)
            .collect();
        for call_id in due {
            if let Some(session) = self.calls.get_mut(&call_id).and_then(|c| c.ivr.as_mut()) {
                session.handle_timeout(now);
            }
            self.ivr_actions(now, call_id);
        }
    }

    pub(crate) fn on_digit(&mut self, now: Instant, leg: LegId, digit: char) {
        let Some((call_id, true)) = self.call_of_leg(leg) else {
            return;
        };
        let waiting = self
            .calls
            .get(&call_id)
            .is_some_and(|c| c.state == CallState::Queued && c.connected.is_none());
        if waiting && digit == EXIT_KEY {
            self.exit_with_key(now, call_id, digit);
            return;
        }
        self.ivr_input(now, call_id, IvrInput::Digit(digit));
    }

    /// Issue 6 §3: a waiting caller presses the exit key: a callback keeping the caller's
    /// place when a trunk dials out (see `callback.rs`); otherwise EXITWITHKEY in queue_log
    /// and the call ends.
    fn exit_with_key(&mut self, now: Instant, call_id: u128, key: char) {
        // With a trunk to dial out, the key asks for a callback: the caller's place is kept.
        match self.request_callback(now, call_id, None, Some(key)) {
            Ok(()) => return,
            Err(err) => tracing::debug!(error = %err, "no callback: the caller leaves"),
        }
        let wall = self.wall(now);
        let Some(call) = self.calls.get_mut(&call_id) else {
            return;
        };
        let Some(stay) = call.queue.clone() else {
            return;
        };
        let line = switchboard_store::QueueLogLine::exit_with_key(
            wall,
            &call.text_id,
            &stay.queue,
            key,
            stay.position,
            stay.orig_position,
            now.saturating_duration_since(stay.entered),
        );
        // Out of the queue first, so the ending is not counted as an abandon.
        call.state = CallState::Ivr;
        self.abandon_in_router(now, call_id);
        self.store(
            switchboard_store::WriteOp::Record {
                queue_log: vec![line],
                events: Vec::new(),
            },
            crate::engine::AfterCommit::Nothing,
        );
        self.end_call(now, call_id, system("exit-key"));
    }

    pub(crate) fn on_playback_finished(&mut self, now: Instant, leg: LegId, playback: PlaybackRef) {
        let Some((call_id, true)) = self.call_of_leg(leg) else {
            return;
        };
        if playback.0 & ANNOUNCEMENT_BIT != 0 {
            // A position announcement ended: back to the queue's music.
            if let Some(call) = self.calls.get(&call_id)
                && call.state == CallState::Queued
                && call.connected.is_none()
            {
                let class = call
                    .queue
                    .as_ref()
                    .and_then(|q| self.config.queue(&q.queue))
                    .map(|q| q.music_on_hold.clone())
                    .unwrap_or_default();
                self.media(MediaCommand::MusicOnHold { leg, class });
            }
            return;
        }
        self.ivr_input(
            now,
            call_id,
            IvrInput::PlaybackFinished {
                playback: PlaybackId(playback.0),
            },
        );
    }

    /// No RTP for the inactivity timeout: the far end is gone without a BYE.
    pub(crate) fn on_media_inactive(&mut self, now: Instant, leg: LegId) {
        let Some((call_id, caller)) = self.call_of_leg(leg) else {
            return;
        };
        // A customer leg not (yet) on the line (click-to-dial ringing the agent, a callback
        // waiting) has no RTP to miss.
        if caller
            && self
                .calls
                .get(&call_id)
                .is_some_and(|c| c.caller.dialog.is_none())
        {
            return;
        }
        self.end_call(now, call_id, system("media-timeout"));
    }

    /// The agent hung up on a queue with `survey = true`: the caller stays and is asked for a
    /// score. Returns false when there is no survey flow to run.
    pub(crate) fn start_survey(&mut self, now: Instant, call_id: u128) -> bool {
        let Some(flow) = self.flows.get("survey").cloned() else {
            return false;
        };
        let Some(call) = self.calls.get_mut(&call_id) else {
            return false;
        };
        call.state = CallState::Survey;
        let _ = CallId(call_id);
        self.run_flow(now, call_id, IvrSession::new(flow, []));
        true
    }
}

fn system(reason: &'static str) -> Ending {
    Ending {
        side: HangupSide::System,
        reason,
    }
}
