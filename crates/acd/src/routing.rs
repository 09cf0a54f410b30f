//! Matching: calls into line, agents onto calls, offers out, calls away.
//!
//! The ACD invariant (no waiting call while a Ready agent is eligible for it) is kept by
//! induction over inputs: it holds before an input, and every way a pair can appear is checked
//! where it appears.
//! - A call becomes waiting (arrival, offer returned, callback retry, wider step, requirement
//!   changed): [`Router::route_call`] looks for a Ready eligible agent of its queue.
//! - An agent becomes Ready: [`Router::route_agent`] looks for the best call it may take, across
//!   all its queues.
//! - A configuration change re-runs `route_agent` for every Ready agent.

use std::time::{Duration, Instant};

use crate::agent::AgentState;
use crate::call::{Call, Place};
use crate::decision::{Decision, LeaveReason, Offer};
use crate::ewt::AgentLoad;
use crate::ids::{AgentIdx, CallId, OfferId, QueueIdx};
use crate::requirement::{ExprIdx, Requirement, active_step};
use crate::router::{OfferRecord, Router};
use crate::spec::{EmptyConditions, OverflowTarget, Strategy};
use crate::strategy::select;
use crate::timers::{Timer, after};

/// Overflow hops after which a call is considered to loop and leaves the router.
const MAX_OVERFLOW_HOPS: u8 = 8;

impl Router {
    pub(crate) fn call_arrived(
        &mut self,
        now: Instant,
        id: CallId,
        queue: &str,
        priority: i32,
        requirement: Option<Requirement>,
    ) -> Result<(), crate::RouterError> {
        if self.calls.contains_key(&id) {
            return Err(crate::RouterError::DuplicateCall(id));
        }
        let qi = match self.queue_index.get(queue) {
            Some(&q) if self.queues.get(q.at()).is_some_and(|q| q.configured) => q,
            _ => return Err(crate::RouterError::UnknownQueue(queue.into())),
        };
        let (steps, uses_queue_requirement) = match requirement {
            Some(req) => (self.exprs.intern_requirement(&req), false),
            None => (self.queues[qi.at()].steps.clone(), true),
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        let call = Call {
            id,
            queue: qi,
            priority,
            adjustment: Duration::ZERO,
            enqueued_at: now,
            queue_entered_at: now,
            seq,
            steps,
            uses_queue_requirement,
            requirement_started: now,
            step: 0,
            expr: ExprIdx::ANY,
            step_timer: None,
            max_wait_timer: None,
            max_wait_passed: false,
            announce_timer: None,
            place: Place::Waiting,
            callback: None,
            predicted: None,
            hops: 0,
            answered_at: None,
            offered_at: None,
            rung_all: false,
        };
        self.admit(now, call, qi);
        Ok(())
    }

    /// Puts a call (not yet in the router's tables) into queue `qi`, or refuses it.
    fn admit(&mut self, now: Instant, mut call: Call, qi: QueueIdx) {
        let id = call.id;
        call.queue = qi;
        call.queue_entered_at = now;
        call.requirement_started = now;
        call.max_wait_passed = false;
        if call.uses_queue_requirement {
            call.steps = self.queues[qi.at()].steps.clone();
        }
        let (step, expr, _) = active_step(&call.steps, Duration::ZERO);
        call.step = step;
        call.expr = expr;
        let q = &self.queues[qi.at()];
        let full = q.spec.max_length.is_some_and(|max| q.in_queue.len() >= max);
        let empty = q
            .spec
            .join_empty
            .is_some_and(|cond| self.queue_empty_for(qi, expr, cond));
        if full || empty {
            self.queues[qi.at()].counters.count(|c| c.refused += 1);
            self.touch_stats(qi);
            let reason = if full {
                LeaveReason::QueueFull
            } else {
                LeaveReason::JoinEmpty
            };
            self.send_away(now, call, reason, false);
            return;
        }
        let q = &mut self.queues[qi.at()];
        q.in_queue.insert((now, id));
        q.counters.count(|c| c.offered += 1);
        let (max_wait, announce) = (q.spec.max_wait, q.spec.announce_every);
        if call.callback.is_none() {
            if let Some(max) = max_wait {
                self.timers.set(
                    &mut call.max_wait_timer,
                    after(now, max),
                    Timer::MaxWait(id),
                );
            }
            if let Some(every) = announce {
                self.timers.set(
                    &mut call.announce_timer,
                    after(now, every),
                    Timer::Announce(id),
                );
            }
        }
        self.touch_stats(qi);
        self.calls.insert(id, call);
        self.refresh_step(now, id);
        self.enter_line(now, id);
        if let Some(c) = self.calls.get(&id) {
            if c.is_waiting() && c.callback.is_none() {
                let position = self.queues[qi.at()].position(c.key(self.base));
                let ewt = self.estimate_wait(now, id);
                if let Some(c) = self.calls.get_mut(&id) {
                    c.predicted = ewt;
                }
                let queue = self.queues[qi.at()].spec.name.clone();
                self.output.push_back(Decision::Queued {
                    call: id,
                    queue,
                    position,
                    ewt,
                });
            } else {
                // Offered at once: the predicted wait is the queue's usual answer delay.
                let delay = self.queues[qi.at()].ewt.answer_delay();
                if let Some(c) = self.calls.get_mut(&id) {
                    c.predicted = Some(delay);
                }
            }
        }
    }

    /// A call leaves its queue unanswered: overflow into another queue, or out of the router.
    /// `call` is already out of every table of its queue.
    fn send_away(&mut self, now: Instant, mut call: Call, reason: LeaveReason, was_in_queue: bool) {
        self.disarm_call_timers(&mut call);
        let from = call.queue;
        let spec = &self.queues[from.at()].spec;
        let from_name = spec.name.clone();
        let target = spec.overflow.clone();
        let target_queue = self.queues[from.at()]
            .overflow_queue
            .filter(|t| self.queues.get(t.at()).is_some_and(|q| q.configured));
        let overflow_to = match (&target, target_queue) {
            (Some(OverflowTarget::Queue(_)), Some(to)) if call.hops < MAX_OVERFLOW_HOPS => Some(to),
            _ => None,
        };
        // The call's one outcome in the queue it leaves (a refused call never entered it).
        if was_in_queue {
            let counters = &mut self.queues[from.at()].counters;
            match overflow_to {
                Some(_) => counters.count(|c| c.overflowed += 1),
                None => counters.count(|c| c.exited += 1),
            }
            self.touch_stats(from);
        }
        match (target, overflow_to) {
            (_, Some(to)) => {
                call.hops += 1;
                let to_name = self.queues[to.at()].spec.name.clone();
                self.output.push_back(Decision::Overflowed {
                    call: call.id,
                    from: from_name,
                    to: to_name,
                });
                self.admit(now, call, to);
            }
            (Some(OverflowTarget::Queue(_)), None) => {
                self.output.push_back(Decision::Leave {
                    call: call.id,
                    queue: from_name,
                    reason: LeaveReason::OverflowLoop,
                    overflow: None,
                });
            }
            (target, None) => {
                self.output.push_back(Decision::Leave {
                    call: call.id,
                    queue: from_name,
                    reason,
                    overflow: target,
                });
            }
        }
    }

    /// Takes a call that is in its queue (waiting, ringing or scheduled) out of it for `reason`
    /// (max wait, leave-empty, queue removed), counting its outcome once.
    pub(crate) fn remove_unanswered(&mut self, now: Instant, id: CallId, reason: LeaveReason) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        if call.is_waiting() {
            let (q, expr, key) = (call.queue, call.expr, call.key(self.base));
            self.queues[q.at()].remove_waiting(expr, key, id);
        }
        let Some(mut call) = self.calls.remove(&id) else {
            return;
        };
        let qi = call.queue;
        let q = &mut self.queues[qi.at()];
        q.in_queue.remove(&(call.queue_entered_at, id));
        if reason == LeaveReason::QueueRemoved {
            // No overflow from a queue that no longer exists: the engine's route decides.
            q.counters.count(|c| c.exited += 1);
            self.touch_stats(qi);
            self.disarm_call_timers(&mut call);
            let queue = self.queues[qi.at()].spec.name.clone();
            self.output.push_back(Decision::Leave {
                call: id,
                queue,
                reason,
                overflow: None,
            });
        } else {
            self.send_away(now, call, reason, true);
        }
    }

    pub(crate) fn disarm_call_timers(&mut self, call: &mut Call) {
        let id = call.id;
        self.timers.clear(&mut call.step_timer, Timer::Step(id));
        self.timers
            .clear(&mut call.max_wait_timer, Timer::MaxWait(id));
        self.timers
            .clear(&mut call.announce_timer, Timer::Announce(id));
        if let Place::Scheduled(at) = call.place {
            self.timers.disarm(at, Timer::CallbackRetry(id));
        }
    }

    /// A call in the router becomes waiting: into its line, then look for an agent.
    pub(crate) fn enter_line(&mut self, now: Instant, id: CallId) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.max_wait_passed && call.callback.is_none() {
            // Its max wait passed while it rang: it leaves now instead (it is in no line yet).
            self.remove_unanswered(now, id, LeaveReason::MaxWait);
            return;
        }
        call.place = Place::Waiting;
        let (q, expr, key) = (call.queue, call.expr, call.key(self.base));
        self.queues[q.at()].insert_waiting(expr, key, id);
        self.touch_stats(q);
        self.route_call(now, id);
    }

    /// A waiting call looks for Ready eligible agents of its queue.
    pub(crate) fn route_call(&mut self, now: Instant, id: CallId) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        if !call.is_waiting() {
            return;
        }
        let (qi, expr) = (call.queue, call.expr);
        let mut chosen = std::mem::take(&mut self.scratch);
        select(
            &self.queues[qi.at()],
            &self.agents,
            &self.exprs,
            expr,
            &mut self.rng,
            &mut chosen,
        );
        if !chosen.is_empty() {
            self.make_offers(now, id, &chosen);
        }
        self.scratch = chosen;
    }

    /// A Ready agent takes the best-scored waiting call it is eligible for, across its queues:
    /// priority, then effective wait, then queue weight, then arrival.
    pub(crate) fn route_agent(&mut self, now: Instant, a: AgentIdx) {
        let Some(agent) = self.agents.get(a.at()) else {
            return;
        };
        if !agent.is_ready() {
            return;
        }
        use std::cmp::Reverse;
        // Priority, effective wait, queue weight (higher first), arrival.
        type Score = (Reverse<i32>, i64, Reverse<u32>, u64);
        let mut best: Option<(Score, CallId)> = None;
        for m in &agent.memberships {
            let Some(q) = self.queues.get(m.queue.at()) else {
                continue;
            };
            if !q.configured {
                continue;
            }
            for (expr, line) in &q.waiting {
                let Some(&(key, call)) = line.first() else {
                    continue;
                };
                let score = (key.priority, key.effective, Reverse(q.spec.weight), key.seq);
                if best.as_ref().is_some_and(|(b, _)| *b <= score) {
                    continue;
                }
                if self.exprs.matches(*expr, &agent.skills) {
                    best = Some((score, call));
                }
            }
        }
        let Some((_, id)) = best else { return };
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let qi = call.queue;
        if self.queues[qi.at()].spec.strategy == Strategy::RingAll {
            // Ring every eligible Ready member, this agent among them.
            self.route_call(now, id);
        } else {
            self.make_offers(now, id, &[a]);
        }
    }

    /// Offers a waiting call to `agents` (all Ready and eligible).
    fn make_offers(&mut self, now: Instant, id: CallId, agents: &[AgentIdx]) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let (qi, expr, key) = (call.queue, call.expr, call.key(self.base));
        let callback = call.callback.is_some();
        call.offered_at = Some(now);
        let q = &mut self.queues[qi.at()];
        q.remove_waiting(expr, key, id);
        let deadline = after(now, q.spec.ring_timeout);
        let (queue_name, record, survey) = (q.spec.name.clone(), q.spec.record, q.spec.survey);
        let mut ids = Vec::with_capacity(agents.len());
        for &a in agents {
            let offer = OfferId(self.next_offer);
            self.next_offer += 1;
            ids.push(offer);
            self.offers.insert(
                offer,
                OfferRecord {
                    call: id,
                    agent: a,
                    queue: qi,
                    deadline,
                    made_at: now,
                },
            );
            self.timers.arm(deadline, Timer::Offer(offer));
            if let Some(pos) = self.agents[a.at()]
                .memberships
                .iter()
                .find(|m| m.queue == qi)
                .map(|m| m.position)
            {
                self.queues[qi.at()].rr_last = Some(pos);
            }
            let agent = &mut self.agents[a.at()];
            agent.offer = Some(offer);
            agent.offers += 1;
            let name = agent.name.clone();
            self.set_state(a, AgentState::Reserved { call: id });
            self.output.push_back(Decision::Offer(Offer {
                offer,
                call: id,
                agent: name,
                queue: queue_name.clone(),
                deadline,
                callback,
                record,
                survey,
            }));
        }
        let rung_all = self.queues[qi.at()].spec.strategy == Strategy::RingAll;
        if let Some(call) = self.calls.get_mut(&id) {
            call.place = Place::Offered(ids);
            call.rung_all = rung_all;
        }
        self.touch_stats(qi);
    }

    /// Re-evaluates a call's requirement step at `now`; a waiting call whose expression changed
    /// moves to its new class (same key: same place) and looks for an agent.
    pub(crate) fn refresh_step(&mut self, now: Instant, id: CallId) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let elapsed = now.saturating_duration_since(call.requirement_started);
        let (step, expr, end) = active_step(&call.steps, elapsed);
        let old = call.expr;
        call.step = step;
        call.expr = expr;
        let mut slot = call.step_timer;
        match end {
            Some(end) => self.timers.set(
                &mut slot,
                after(call.requirement_started, end),
                Timer::Step(id),
            ),
            None => self.timers.clear(&mut slot, Timer::Step(id)),
        }
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.step_timer = slot;
        if old != expr && call.is_waiting() {
            let (q, key) = (call.queue, call.key(self.base));
            let queue = &mut self.queues[q.at()];
            if queue.remove_waiting(old, key, id) {
                queue.insert_waiting(expr, key, id);
                self.route_call(now, id);
            }
        }
    }

    pub(crate) fn max_wait_reached(&mut self, now: Instant, id: CallId) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.max_wait_timer = None;
        match call.place {
            Place::Waiting => self.remove_unanswered(now, id, LeaveReason::MaxWait),
            // A ringing call leaves only if the offer comes back unanswered.
            Place::Offered(_) => call.max_wait_passed = true,
            Place::Scheduled(_) | Place::Connected(_) => {}
        }
    }

    pub(crate) fn announce(&mut self, now: Instant, id: CallId) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.announce_timer = None;
        let q = call.queue;
        let Some(every) = self.queues[q.at()].spec.announce_every else {
            return;
        };
        let waiting = call.is_waiting();
        let mut slot = None;
        self.timers
            .set(&mut slot, after(now, every), Timer::Announce(id));
        if let Some(call) = self.calls.get_mut(&id) {
            call.announce_timer = slot;
        }
        // Never talk over an offer (Asterisk plays to the head caller while it rings, [I28]).
        if waiting {
            let position = self.position(id).unwrap_or(1);
            let ewt = self.estimate_wait(now, id);
            let queue = self.queues[q.at()].spec.name.clone();
            self.output.push_back(Decision::Announce {
                call: id,
                queue,
                position,
                ewt,
            });
        }
    }

    /// EWT of a call now; see [`crate::ewt`].
    pub(crate) fn estimate_wait(&self, now: Instant, id: CallId) -> Option<Duration> {
        let call = self.calls.get(&id)?;
        let q = self.queues.get(call.queue.at())?;
        let position = if call.is_waiting() {
            q.position(call.key(self.base))
        } else {
            1
        };
        let mut loads = Vec::with_capacity(q.members.len());
        for agent in q.members.iter().filter_map(|a| self.agents.get(a.at())) {
            if !agent.is_staffed() || !self.exprs.matches(call.expr, &agent.skills) {
                continue;
            }
            let worked = agent.work.map_or(Duration::ZERO, |w| {
                now.saturating_duration_since(w.answered_at)
            });
            loads.push(match agent.state {
                AgentState::Ready => AgentLoad::Ready,
                AgentState::WrapUp { until: Some(until) } => {
                    AgentLoad::FreeIn(until.saturating_duration_since(now))
                }
                // Ringing for another call: about to start one.
                AgentState::Reserved { .. } => AgentLoad::Working(Duration::ZERO),
                _ => AgentLoad::Working(worked),
            });
        }
        q.ewt.estimate(&loads, position)
    }

    /// The estimated wait of a call joining `queue` now behind every call waiting there (a
    /// wallboard's "EWT"): the same model as [`Router::estimate_wait`] with every staffed member
    /// counted, whatever its skills. `None` for an unknown queue or with no member staffed.
    pub fn queue_ewt(&self, queue: &str, now: Instant) -> Option<Duration> {
        let q = self
            .queue_index
            .get(queue)
            .and_then(|&qi| self.queues.get(qi.at()))
            .filter(|q| q.configured)?;
        let waiting: usize = q.waiting.iter().map(|(_, line)| line.len()).sum();
        let mut loads = Vec::with_capacity(q.members.len());
        for agent in q.members.iter().filter_map(|a| self.agents.get(a.at())) {
            if !agent.is_staffed() {
                continue;
            }
            let worked = agent.work.map_or(Duration::ZERO, |w| {
                now.saturating_duration_since(w.answered_at)
            });
            loads.push(match agent.state {
                AgentState::Ready => AgentLoad::Ready,
                AgentState::WrapUp { until: Some(until) } => {
                    AgentLoad::FreeIn(until.saturating_duration_since(now))
                }
                AgentState::Reserved { .. } => AgentLoad::Working(Duration::ZERO),
                _ => AgentLoad::Working(worked),
            });
        }
        q.ewt.estimate(&loads, waiting + 1)
    }

    /// Whether no member of `qi` counts as present for a call with expression `expr`.
    pub(crate) fn queue_empty_for(
        &self,
        qi: QueueIdx,
        expr: ExprIdx,
        cond: EmptyConditions,
    ) -> bool {
        let q = &self.queues[qi.at()];
        !q.members
            .iter()
            .filter_map(|a| self.agents.get(a.at()))
            .any(|a| {
                let by_state = match a.state {
                    AgentState::LoggedOut => !cond.logged_out,
                    AgentState::NotReady(_) => !cond.not_ready,
                    AgentState::Ready => true,
                    AgentState::Reserved { .. } | AgentState::OnCall { .. } => !cond.busy,
                    AgentState::WrapUp { .. } => !cond.wrap_up,
                };
                by_state && (!cond.ineligible || self.exprs.matches(expr, &a.skills))
            })
    }

    /// Sends away the waiting calls (not callbacks) of every class the queue is empty for.
    pub(crate) fn check_leave_empty(&mut self, now: Instant, qi: QueueIdx) {
        let Some(q) = self.queues.get(qi.at()) else {
            return;
        };
        let Some(cond) = q.spec.leave_empty else {
            return;
        };
        let classes: Vec<ExprIdx> = q.waiting.iter().map(|(e, _)| *e).collect();
        for expr in classes {
            if !self.queue_empty_for(qi, expr, cond) {
                continue;
            }
            let leaving: Vec<CallId> = self.queues[qi.at()]
                .waiting
                .iter()
                .filter(|(e, _)| *e == expr)
                .flat_map(|(_, line)| line.iter().map(|&(_, c)| c))
                .filter(|c| self.calls.get(c).is_some_and(|c| c.callback.is_none()))
                .collect();
            for id in leaving {
                self.remove_unanswered(now, id, LeaveReason::LeaveEmpty);
            }
        }
    }
}
