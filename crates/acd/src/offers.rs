//! Offer outcomes (accepted, rejected, timed out, failed), abandons, call ends, callbacks and the
//! API's changes to a waiting call.
//!
//! An offer that comes back unanswered returns its call to its *original* place: the call's key
//! never changed, so re-inserting it puts it exactly where it was (DESIGN.md, RONA).

use std::time::{Duration, Instant};

use crate::agent::{AgentState, Work};
use crate::call::Place;
use crate::decision::{CancelReason, Decision, LeaveReason};
use crate::error::RouterError;
use crate::ids::{AgentIdx, CallId, OfferId};
use crate::requirement::Requirement;
use crate::router::{OfferRecord, Router};
use crate::timers::{Timer, after};

impl Router {
    pub(crate) fn offer_accepted(
        &mut self,
        now: Instant,
        offer: OfferId,
    ) -> Result<(), RouterError> {
        let rec = *self
            .offers
            .get(&offer)
            .ok_or(RouterError::OfferNotOutstanding(offer))?;
        let Some(call) = self.calls.get_mut(&rec.call) else {
            return Err(RouterError::OfferNotOutstanding(offer));
        };
        self.offers.remove(&offer);
        self.timers.disarm(rec.deadline, Timer::Offer(offer));
        let losers: Vec<OfferId> = match &call.place {
            Place::Offered(list) => list.iter().copied().filter(|&o| o != offer).collect(),
            _ => Vec::new(),
        };
        call.place = Place::Connected(rec.agent);
        call.answered_at = Some(now);
        let (entered, predicted, callback) = (
            call.queue_entered_at,
            call.predicted,
            call.callback.is_some(),
        );
        if let Some(mut call) = self.calls.remove(&rec.call) {
            self.disarm_call_timers(&mut call);
            self.calls.insert(rec.call, call);
        }

        let q = &mut self.queues[rec.queue.at()];
        q.in_queue.remove(&(entered, rec.call));
        q.ewt
            .record_answer_delay(now.saturating_duration_since(rec.made_at));
        if !callback {
            let wait = now.saturating_duration_since(entered);
            let within = wait <= q.spec.service_level;
            q.counters.count(|c| {
                c.answered += 1;
                c.answered_within_sl += u64::from(within);
                c.total_answer_wait += wait;
                c.longest_answer_wait = c.longest_answer_wait.max(wait);
                if let Some(p) = predicted {
                    c.ewt_samples += 1;
                    c.ewt_total_abs_error += p.abs_diff(wait);
                    c.ewt_total_over += p.saturating_sub(wait);
                    c.ewt_total_under += wait.saturating_sub(p);
                }
            });
        }
        self.touch_stats(rec.queue);

        let agent = &mut self.agents[rec.agent.at()];
        agent.offer = None;
        agent.calls += 1;
        agent.work = Some(Work {
            queue: rec.queue,
            call: rec.call,
            answered_at: now,
            talk: None,
            unreached: false,
        });
        self.set_state(rec.agent, AgentState::OnCall { call: rec.call });

        // Ring-all: exactly one winner; the others are cancelled and Ready again at once.
        let mut freed = Vec::with_capacity(losers.len());
        for o in losers {
            if let Some(r) = self.cancel_offer(o, CancelReason::AnsweredElsewhere) {
                freed.push(r.agent);
            }
        }
        for a in freed {
            self.become_ready(now, a, true);
        }
        Ok(())
    }

    /// Rejected or timed out: RONA.
    pub(crate) fn offer_unanswered(
        &mut self,
        now: Instant,
        offer: OfferId,
        timed_out: bool,
    ) -> Result<(), RouterError> {
        // A timeout needs a CANCEL to the phone; a rejecting phone has answered already.
        let rec = self.take_offer(offer, timed_out.then_some(CancelReason::RingTimeout))?;
        let agent = &mut self.agents[rec.agent.at()];
        agent.ronas += 1;
        self.queues[rec.queue.at()].counters.count(|c| c.ronas += 1);
        self.touch_stats(rec.queue);
        self.detach_offer(now, &rec);
        match self.queues[rec.queue.at()].spec.rona_reason.clone() {
            Some(reason) => {
                self.agents[rec.agent.at()].pending = None;
                self.set_state(rec.agent, AgentState::NotReady(reason));
            }
            None => self.become_ready(now, rec.agent, true),
        }
        Ok(())
    }

    /// The agent's phone could not be reached: the call returns at once.
    pub(crate) fn offer_failed(&mut self, now: Instant, offer: OfferId) -> Result<(), RouterError> {
        let rec = self.take_offer(offer, None)?;
        self.detach_offer(now, &rec);
        let reason = self.queues[rec.queue.at()].spec.unreachable_reason.clone();
        self.agents[rec.agent.at()].pending = None;
        self.set_state(rec.agent, AgentState::NotReady(reason));
        Ok(())
    }

    /// Removes an outstanding offer and frees its agent's slot (the agent stays `Reserved` until
    /// the caller sets its state); `cancel` emits a `CancelOffer`.
    fn take_offer(
        &mut self,
        offer: OfferId,
        cancel: Option<CancelReason>,
    ) -> Result<OfferRecord, RouterError> {
        if !self.offers.contains_key(&offer) {
            return Err(RouterError::OfferNotOutstanding(offer));
        }
        match cancel {
            Some(reason) => self.cancel_offer(offer, reason),
            None => {
                let rec = self.offers.remove(&offer);
                if let Some(r) = rec {
                    self.timers.disarm(r.deadline, Timer::Offer(offer));
                    self.agents[r.agent.at()].offer = None;
                }
                rec
            }
        }
        .ok_or(RouterError::OfferNotOutstanding(offer))
    }

    /// Withdraws an offer: timer, record, `CancelOffer`, the agent's slot. The call's place is
    /// the caller's business.
    pub(crate) fn cancel_offer(
        &mut self,
        offer: OfferId,
        reason: CancelReason,
    ) -> Option<OfferRecord> {
        let rec = self.offers.remove(&offer)?;
        self.timers.disarm(rec.deadline, Timer::Offer(offer));
        let agent = &mut self.agents[rec.agent.at()];
        agent.offer = None;
        self.output.push_back(Decision::CancelOffer {
            offer,
            call: rec.call,
            agent: agent.name.clone(),
            reason,
        });
        Some(rec)
    }

    /// Takes a finished offer off its call; the call goes back in line when none is left.
    pub(crate) fn detach_offer(&mut self, now: Instant, rec: &OfferRecord) {
        let Some(call) = self.calls.get_mut(&rec.call) else {
            return;
        };
        let Place::Offered(list) = &mut call.place else {
            return;
        };
        list.retain(|&o| self.offers.contains_key(&o));
        if list.is_empty() {
            self.enter_line(now, rec.call);
        }
    }

    pub(crate) fn call_abandoned(&mut self, now: Instant, id: CallId) -> Result<(), RouterError> {
        let call = self.calls.get(&id).ok_or(RouterError::UnknownCall(id))?;
        let offers = match &call.place {
            Place::Connected(_) => return Err(RouterError::CallNotWaiting(id)),
            Place::Waiting => {
                let (q, expr, key) = (call.queue, call.expr, call.key(self.base));
                self.queues[q.at()].remove_waiting(expr, key, id);
                Vec::new()
            }
            Place::Offered(list) => list.clone(),
            Place::Scheduled(_) => Vec::new(),
        };
        let mut freed: Vec<AgentIdx> = Vec::with_capacity(offers.len());
        for o in offers {
            if let Some(r) = self.cancel_offer(o, CancelReason::CallerAbandoned) {
                freed.push(r.agent);
            }
        }
        let Some(mut call) = self.calls.remove(&id) else {
            return Ok(());
        };
        self.disarm_call_timers(&mut call);
        let q = &mut self.queues[call.queue.at()];
        q.in_queue.remove(&(call.queue_entered_at, id));
        if call.callback.is_some() {
            q.counters.count(|c| c.callbacks_cancelled += 1);
        } else {
            let wait = now.saturating_duration_since(call.queue_entered_at);
            let (sl, short) = (wait <= q.spec.service_level, wait < q.spec.short_abandon);
            q.counters.count(|c| {
                c.abandoned += 1;
                c.abandoned_within_sl += u64::from(sl);
                c.short_abandoned += u64::from(short);
            });
        }
        self.touch_stats(call.queue);
        for a in freed {
            self.become_ready(now, a, true);
        }
        Ok(())
    }

    pub(crate) fn call_ended(&mut self, now: Instant, id: CallId) -> Result<(), RouterError> {
        let call = self.calls.get(&id).ok_or(RouterError::UnknownCall(id))?;
        let Place::Connected(a) = call.place else {
            return Err(RouterError::CallNotConnected(id));
        };
        let Some(call) = self.calls.remove(&id) else {
            return Ok(());
        };
        if call.callback.is_some() {
            self.queues[call.queue.at()]
                .counters
                .count(|c| c.callbacks_completed += 1);
        }
        self.touch_stats(call.queue);
        self.end_talk(now, a);
        Ok(())
    }

    pub(crate) fn callback_requested(&mut self, id: CallId) -> Result<(), RouterError> {
        let call = self
            .calls
            .get_mut(&id)
            .ok_or(RouterError::UnknownCall(id))?;
        if !call.is_waiting() {
            return Err(RouterError::CallNotWaiting(id));
        }
        if call.callback.is_some() {
            return Ok(());
        }
        call.callback = Some(0);
        let q = call.queue;
        let (mut max_wait, mut announce) = (call.max_wait_timer.take(), call.announce_timer.take());
        // A callback does not time out and hears no announcements: the caller has hung up.
        self.timers.clear(&mut max_wait, Timer::MaxWait(id));
        self.timers.clear(&mut announce, Timer::Announce(id));
        self.queues[q.at()]
            .counters
            .count(|c| c.callbacks_requested += 1);
        self.touch_stats(q);
        Ok(())
    }

    pub(crate) fn callback_unreached(
        &mut self,
        now: Instant,
        id: CallId,
    ) -> Result<(), RouterError> {
        let call = self
            .calls
            .get_mut(&id)
            .ok_or(RouterError::UnknownCall(id))?;
        let Place::Connected(a) = call.place else {
            return Err(RouterError::CallNotConnected(id));
        };
        let Some(attempts) = call.callback else {
            return Err(RouterError::NotACallback(id));
        };
        let attempts = attempts + 1;
        call.callback = Some(attempts);
        call.answered_at = None;
        let (qi, entered) = (call.queue, call.queue_entered_at);
        let spec = self.queues[qi.at()].spec.callback;
        if let Some(work) = self.agents[a.at()].work.as_mut() {
            work.unreached = true;
        }
        if attempts >= spec.max_attempts {
            self.calls.remove(&id);
            self.queues[qi.at()]
                .counters
                .count(|c| c.callbacks_failed += 1);
            let queue = self.queues[qi.at()].spec.name.clone();
            self.output.push_back(Decision::Leave {
                call: id,
                queue,
                reason: LeaveReason::CallbackAttemptsExhausted,
                overflow: None,
            });
        } else {
            let at = after(now, spec.retry_delay);
            call.place = Place::Scheduled(at);
            self.timers.arm(at, Timer::CallbackRetry(id));
            self.queues[qi.at()].in_queue.insert((entered, id));
        }
        self.touch_stats(qi);
        // No talk and no wrap-up to speak of: the agent is free at once.
        self.finish_work(now, a);
        Ok(())
    }

    pub(crate) fn callback_retry(&mut self, now: Instant, id: CallId) {
        let removed = self
            .calls
            .get(&id)
            .is_some_and(|c| !self.queues[c.queue.at()].configured);
        if removed {
            // Its queue went away while it waited for the retry.
            self.remove_unanswered(now, id, LeaveReason::QueueRemoved);
            return;
        }
        if self
            .calls
            .get(&id)
            .is_some_and(|c| matches!(c.place, Place::Scheduled(_)))
        {
            // Its steps kept running while it was away (and their timer stopped at the answer):
            // catch up, then back to its place.
            self.refresh_step(now, id);
            self.enter_line(now, id);
        }
    }

    /// Applies `change` to a call not connected, re-keying it in its line if waiting.
    fn rekey(
        &mut self,
        id: CallId,
        change: impl FnOnce(&mut crate::call::Call),
    ) -> Result<(), RouterError> {
        let call = self
            .calls
            .get_mut(&id)
            .ok_or(RouterError::UnknownCall(id))?;
        if matches!(call.place, Place::Connected(_)) {
            return Err(RouterError::CallNotWaiting(id));
        }
        let waiting = call.is_waiting();
        let (q, expr, old) = (call.queue, call.expr, call.key(self.base));
        change(call);
        let new = call.key(self.base);
        if waiting && self.queues[q.at()].remove_waiting(expr, old, id) {
            self.queues[q.at()].insert_waiting(expr, new, id);
        }
        Ok(())
    }

    pub(crate) fn set_priority(&mut self, id: CallId, priority: i32) -> Result<(), RouterError> {
        self.rekey(id, |c| c.priority = priority)
    }

    pub(crate) fn set_wait_adjustment(
        &mut self,
        id: CallId,
        adjustment: Duration,
    ) -> Result<(), RouterError> {
        self.rekey(id, |c| c.adjustment = adjustment)
    }

    pub(crate) fn set_requirement(
        &mut self,
        now: Instant,
        id: CallId,
        req: &Requirement,
    ) -> Result<(), RouterError> {
        let call = self.calls.get(&id).ok_or(RouterError::UnknownCall(id))?;
        if matches!(call.place, Place::Connected(_)) {
            return Err(RouterError::CallNotWaiting(id));
        }
        let steps = self.exprs.intern_requirement(req);
        if let Some(call) = self.calls.get_mut(&id) {
            call.steps = steps;
            call.uses_queue_requirement = false;
            call.requirement_started = now;
        }
        self.refresh_step(now, id);
        Ok(())
    }
}
