//! Agent state changes: requested states, the pending next state, wrap-up, and the Ready index
//! kept in step with every transition.

use std::time::{Duration, Instant};

use crate::agent::AgentState;
use crate::decision::{CancelReason, Decision};
use crate::error::RouterError;
use crate::ids::AgentIdx;
use crate::input::RequestedState;
use crate::router::Router;
use crate::spec::WrapUp;
use crate::strategy::ready_key;
use crate::timers::{Timer, after};

impl Router {
    /// Moves an agent to `state`, keeping the queues' Ready indexes in step, and reports it.
    pub(crate) fn set_state(&mut self, a: AgentIdx, state: AgentState) {
        let Some(agent) = self.agents.get_mut(a.at()) else {
            return;
        };
        if agent.state == state {
            return;
        }
        let was_ready = agent.is_ready();
        agent.state = state.clone();
        let is_ready = agent.is_ready();
        if was_ready && !is_ready {
            self.remove_ready(a);
        } else if !was_ready && is_ready {
            self.insert_ready(a);
        }
        let agent = self.agents[a.at()].name.clone();
        self.output
            .push_back(Decision::AgentStateChanged { agent, state });
        self.touch_agent_queues(a);
    }

    pub(crate) fn insert_ready(&mut self, a: AgentIdx) {
        let agent = &self.agents[a.at()];
        let mut keys = Vec::with_capacity(agent.memberships.len());
        for m in &agent.memberships {
            let Some(q) = self.queues.get_mut(m.queue.at()) else {
                continue;
            };
            if !q.configured {
                continue;
            }
            let key = ready_key(q.spec.strategy, agent, m, self.base);
            q.ready.insert((key, a));
            keys.push((m.queue, key));
        }
        self.agents[a.at()].ready_keys = keys;
    }

    pub(crate) fn remove_ready(&mut self, a: AgentIdx) {
        let keys = std::mem::take(&mut self.agents[a.at()].ready_keys);
        for (q, key) in keys {
            if let Some(queue) = self.queues.get_mut(q.at()) {
                queue.ready.remove(&(key, a));
            }
        }
    }

    /// The agent becomes Ready and takes the best call it may. `keep_idle` keeps its idle-since
    /// time (a lost ring-all, a withdrawn offer): it was not at fault and keeps its turn.
    pub(crate) fn become_ready(&mut self, now: Instant, a: AgentIdx, keep_idle: bool) {
        let Some(agent) = self.agents.get_mut(a.at()) else {
            return;
        };
        if !agent.configured {
            self.set_state(a, AgentState::LoggedOut);
            return;
        }
        if agent.is_ready() {
            return;
        }
        if !keep_idle {
            agent.ready_since = now;
        }
        self.set_state(a, AgentState::Ready);
        self.route_agent(now, a);
    }

    fn apply_requested(&mut self, now: Instant, a: AgentIdx, state: RequestedState) {
        self.agents[a.at()].pending = None;
        match state {
            RequestedState::Ready => self.become_ready(now, a, false),
            other => self.set_state(a, AgentState::from_requested(&other)),
        }
    }

    pub(crate) fn agent_state(
        &mut self,
        now: Instant,
        name: &str,
        state: RequestedState,
    ) -> Result<(), RouterError> {
        let a = self.agent_idx(name)?;
        match self.agents[a.at()].state.clone() {
            AgentState::OnCall { .. } => {
                // A call is never interrupted: the request becomes the state after this work.
                self.agents[a.at()].pending = (state != RequestedState::Ready).then_some(state);
            }
            AgentState::Reserved { .. } => {
                if state == RequestedState::Ready {
                    return Ok(());
                }
                if let Some(offer) = self.agents[a.at()].offer
                    && let Some(rec) = self.cancel_offer(offer, CancelReason::AgentUnavailable)
                {
                    self.detach_offer(now, &rec);
                }
                self.apply_requested(now, a, state);
            }
            AgentState::WrapUp { .. } => {
                self.close_work(now, a);
                self.apply_requested(now, a, state);
            }
            AgentState::Ready if state == RequestedState::Ready => {}
            _ => self.apply_requested(now, a, state),
        }
        Ok(())
    }

    pub(crate) fn agent_next_state(
        &mut self,
        now: Instant,
        name: &str,
        state: Option<RequestedState>,
    ) -> Result<(), RouterError> {
        let a = self.agent_idx(name)?;
        let working = matches!(
            self.agents[a.at()].state,
            AgentState::Reserved { .. } | AgentState::OnCall { .. } | AgentState::WrapUp { .. }
        );
        if working {
            self.agents[a.at()].pending = state;
        } else if let Some(state) = state
            && !(state == RequestedState::Ready && self.agents[a.at()].is_ready())
        {
            self.apply_requested(now, a, state);
        }
        Ok(())
    }

    pub(crate) fn extend_wrap_up(&mut self, name: &str, by: Duration) -> Result<(), RouterError> {
        let a = self.agent_idx(name)?;
        let AgentState::WrapUp { until: Some(until) } = self.agents[a.at()].state else {
            return Err(RouterError::NotInTimedWrapUp(name.into()));
        };
        let later = after(until, by);
        self.timers.disarm(until, Timer::WrapUp(a));
        self.timers.arm(later, Timer::WrapUp(a));
        self.set_state(a, AgentState::WrapUp { until: Some(later) });
        Ok(())
    }

    /// The agent's connected call ended: count the talk, then wrap up by policy.
    pub(crate) fn end_talk(&mut self, now: Instant, a: AgentIdx) {
        let agent = &mut self.agents[a.at()];
        let Some(work) = agent.work.as_mut() else {
            self.finish_work(now, a);
            return;
        };
        let talk = now.saturating_duration_since(work.answered_at);
        work.talk = Some(talk);
        let qi = work.queue;
        agent.talk_time += talk;
        let own = agent.wrap_up;
        let q = &mut self.queues[qi.at()];
        q.counters.count(|c| {
            c.talked += 1;
            c.total_talk_time += talk;
        });
        let policy = own.unwrap_or(q.spec.wrap_up);
        self.touch_stats(qi);
        match policy {
            WrapUp::Off => self.finish_work(now, a),
            WrapUp::Timed(len) => {
                let until = after(now, len);
                self.timers.arm(until, Timer::WrapUp(a));
                self.set_state(a, AgentState::WrapUp { until: Some(until) });
            }
            WrapUp::Manual => self.set_state(a, AgentState::WrapUp { until: None }),
        }
    }

    pub(crate) fn wrap_up_ended(&mut self, now: Instant, a: AgentIdx) {
        let due = matches!(
            self.agents.get(a.at()).map(|ag| &ag.state),
            Some(AgentState::WrapUp { until: Some(t) }) if *t <= now
        );
        if due {
            self.finish_work(now, a);
        }
    }

    /// Records the finished work's handle time and clears it (disarming a timed wrap-up).
    pub(crate) fn close_work(&mut self, now: Instant, a: AgentIdx) {
        let agent = &mut self.agents[a.at()];
        if let AgentState::WrapUp { until: Some(t) } = agent.state {
            self.timers.disarm(t, Timer::WrapUp(a));
        }
        let Some(work) = agent.work.take() else {
            return;
        };
        if work.talk.is_none() || work.unreached {
            return;
        }
        let handle = now.saturating_duration_since(work.answered_at);
        let q = &mut self.queues[work.queue.at()];
        q.counters.count(|c| {
            c.handled += 1;
            c.total_handle_time += handle;
        });
        q.ewt.record_handle(handle);
        self.touch_stats(work.queue);
    }

    /// Work (call and wrap-up) is over: the pending state, else Ready.
    pub(crate) fn finish_work(&mut self, now: Instant, a: AgentIdx) {
        self.close_work(now, a);
        let agent = &mut self.agents[a.at()];
        let next = agent.pending.take();
        if !agent.configured {
            self.set_state(a, AgentState::LoggedOut);
            return;
        }
        match next {
            Some(state) => self.apply_requested(now, a, state),
            None => self.become_ready(now, a, false),
        }
    }
}
