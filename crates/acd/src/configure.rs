//! Applying a [`ConfigUpdate`] at runtime: validate everything first (a refused update changes
//! nothing), then change queues and agents in place. Waiting calls keep their keys, hence their
//! places; calls of a removed queue leave; agents removed while working finish their call first.

use std::collections::HashSet;
use std::time::Instant;

use crate::agent::{Agent, AgentState, Membership};
use crate::call::{CallKey, Place};
use crate::decision::{CancelReason, LeaveReason};
use crate::error::{ConfigProblem, RouterError};
use crate::ids::{AgentIdx, CallId, QueueIdx};
use crate::input::RequestedState;
use crate::queue::Queue;
use crate::router::Router;
use crate::spec::{ConfigUpdate, OverflowTarget};

fn validate(update: &ConfigUpdate) -> Result<(), ConfigProblem> {
    let mut agents = HashSet::new();
    for a in &update.agents {
        if !agents.insert(a.name.as_str()) {
            return Err(ConfigProblem::DuplicateAgent(a.name.clone()));
        }
    }
    let mut queues = HashSet::new();
    for q in &update.queues {
        if !queues.insert(q.name.as_str()) {
            return Err(ConfigProblem::DuplicateQueue(q.name.clone()));
        }
    }
    for q in &update.queues {
        if q.ring_timeout.is_zero() {
            return Err(ConfigProblem::ZeroRingTimeout(q.name.clone()));
        }
        let mut members = HashSet::new();
        for m in &q.members {
            if !agents.contains(m.agent.as_str()) {
                return Err(ConfigProblem::UnknownMember {
                    queue: q.name.clone(),
                    agent: m.agent.clone(),
                });
            }
            if !members.insert(m.agent.as_str()) {
                return Err(ConfigProblem::DuplicateMember {
                    queue: q.name.clone(),
                    agent: m.agent.clone(),
                });
            }
        }
        if let Some(OverflowTarget::Queue(target)) = &q.overflow
            && !queues.contains(target.as_str())
        {
            return Err(ConfigProblem::UnknownOverflowQueue {
                queue: q.name.clone(),
                target: target.clone(),
            });
        }
    }
    Ok(())
}

impl Router {
    pub(crate) fn configure(
        &mut self,
        now: Instant,
        update: ConfigUpdate,
    ) -> Result<(), RouterError> {
        validate(&update).map_err(RouterError::InvalidConfig)?;

        // Agents: create or update; memberships are rebuilt from the queues below.
        let mut seen_agents = vec![false; self.agents.len()];
        for spec in &update.agents {
            let a = match self.agent_index.get(&spec.name) {
                Some(&a) => a,
                None => {
                    let a = AgentIdx(self.agents.len() as u32);
                    self.agents.push(Agent::new(spec.name.clone(), now));
                    self.agent_index.insert(spec.name.clone(), a);
                    seen_agents.push(false);
                    a
                }
            };
            seen_agents[a.at()] = true;
            let mut skills: Vec<_> = spec
                .skills
                .iter()
                .map(|(s, l)| (self.exprs.skill(s), *l))
                .collect();
            // One level per skill: the highest listed.
            skills.sort_unstable_by(|x, y| x.0.cmp(&y.0).then(y.1.cmp(&x.1)));
            skills.dedup_by_key(|s| s.0);
            let agent = &mut self.agents[a.at()];
            agent.skills = skills;
            agent.wrap_up = spec.wrap_up;
            if !agent.configured && agent.pending == Some(RequestedState::LoggedOut) {
                // Removed while working and back before the work ended: no forced logout.
                agent.pending = None;
            }
            agent.configured = true;
        }
        // Everybody leaves every Ready index; they are rebuilt once memberships are known.
        for a in 0..self.agents.len() {
            let a = AgentIdx(a as u32);
            self.remove_ready(a);
            self.agents[a.at()].memberships.clear();
        }

        // Queues: create or update in place.
        let mut seen_queues = vec![false; self.queues.len()];
        let mut requirement_changed = vec![false; self.queues.len()];
        for spec in &update.queues {
            let steps = self.exprs.intern_requirement(&spec.requirement);
            let qi = match self.queue_index.get(&spec.name) {
                Some(&q) => {
                    let queue = &mut self.queues[q.at()];
                    requirement_changed[q.at()] =
                        queue.spec.requirement != spec.requirement || !queue.configured;
                    if queue.spec.strategy != spec.strategy {
                        queue.rr_last = None;
                    }
                    queue.ewt.set_default_handle(spec.default_handle_time);
                    queue.spec = spec.clone();
                    queue.steps = steps;
                    queue.configured = true;
                    q
                }
                None => {
                    let q = QueueIdx(self.queues.len() as u32);
                    self.queues.push(Queue::new(spec.clone(), steps));
                    self.queue_index.insert(spec.name.clone(), q);
                    self.dirty_stats.push(false);
                    self.dirty_empty.push(false);
                    seen_queues.push(false);
                    requirement_changed.push(false);
                    q
                }
            };
            seen_queues[qi.at()] = true;
            let queue = &mut self.queues[qi.at()];
            queue.ready.clear();
            queue.members.clear();
            for (position, m) in spec.members.iter().enumerate() {
                let Some(&a) = self.agent_index.get(&m.agent) else {
                    continue;
                };
                queue.members.push(a);
                self.agents[a.at()].memberships.push(Membership {
                    queue: qi,
                    position: position as u32,
                    random_weight: m.random_weight,
                });
            }
        }
        for qi in 0..self.queues.len() {
            let target = match &self.queues[qi].spec.overflow {
                Some(OverflowTarget::Queue(name)) => self.queue_index.get(name).copied(),
                _ => None,
            };
            self.queues[qi].overflow_queue = target;
        }
        for a in 0..self.agents.len() {
            if self.agents[a].is_ready() {
                self.insert_ready(AgentIdx(a as u32));
            }
        }

        // Removed queues: their calls leave (ringing ones are withdrawn first).
        let mut freed = Vec::new();
        for (qi, &seen) in seen_queues.iter().enumerate() {
            if seen || !self.queues[qi].configured {
                continue;
            }
            // In line order: the router's decisions never depend on hash order.
            let mut ids: Vec<(CallKey, CallId)> = self
                .calls
                .values()
                .filter(|c| c.queue.at() == qi && !matches!(c.place, Place::Connected(_)))
                .map(|c| (c.key(self.base), c.id))
                .collect();
            ids.sort_unstable();
            for (_, id) in ids {
                if let Some(Place::Offered(offers)) = self.calls.get(&id).map(|c| c.place.clone()) {
                    for o in offers {
                        freed.extend(
                            self.cancel_offer(o, CancelReason::CallLeft)
                                .map(|r| r.agent),
                        );
                    }
                }
                self.remove_unanswered(now, id, LeaveReason::QueueRemoved);
            }
            let queue = &mut self.queues[qi];
            queue.configured = false;
            queue.members.clear();
            queue.ready.clear();
        }

        // Calls that follow their queue's requirement pick up the new one, keeping their place.
        // In line order, so the first in line is the first to find a newly eligible agent.
        let mut follow: Vec<(CallKey, CallId)> = self
            .calls
            .values()
            .filter(|c| {
                c.uses_queue_requirement
                    && requirement_changed
                        .get(c.queue.at())
                        .copied()
                        .unwrap_or(false)
            })
            .map(|c| (c.key(self.base), c.id))
            .collect();
        follow.sort_unstable();
        for (_, id) in follow {
            let Some(call) = self.calls.get_mut(&id) else {
                continue;
            };
            call.steps = self.queues[call.queue.at()].steps.clone();
            self.refresh_step(now, id);
        }

        // Removed agents: withdraw an offer, log out now or after the current call.
        for a in 0..self.agents.len() {
            if seen_agents.get(a).copied().unwrap_or(false) || !self.agents[a].configured {
                continue;
            }
            let ai = AgentIdx(a as u32);
            self.agents[a].configured = false;
            match self.agents[a].state {
                AgentState::OnCall { .. } | AgentState::WrapUp { .. } => {
                    self.agents[a].pending = Some(RequestedState::LoggedOut);
                }
                AgentState::Reserved { .. } => {
                    if let Some(offer) = self.agents[a].offer
                        && let Some(rec) = self.cancel_offer(offer, CancelReason::AgentUnavailable)
                    {
                        self.detach_offer(now, &rec);
                    }
                    self.set_state(ai, AgentState::LoggedOut);
                }
                _ => self.set_state(ai, AgentState::LoggedOut),
            }
        }
        for a in freed {
            self.become_ready(now, a, true);
        }

        // Memberships and skills changed: every Ready agent looks again, longest idle first, and
        // every queue re-checks leave-empty.
        let mut ready: Vec<AgentIdx> = (0..self.agents.len())
            .map(|a| AgentIdx(a as u32))
            .filter(|a| self.agents[a.at()].is_ready())
            .collect();
        ready.sort_by_key(|a| self.agents[a.at()].ready_since);
        for a in ready {
            self.route_agent(now, a);
        }
        for qi in 0..self.queues.len() {
            let q = QueueIdx(qi as u32);
            if self.queues[qi].configured {
                self.touch_stats(q);
                if self.queues[qi].spec.leave_empty.is_some() && !self.dirty_empty[qi] {
                    self.dirty_empty[qi] = true;
                    self.dirty_empty_list.push(q);
                }
            }
        }
        Ok(())
    }
}
