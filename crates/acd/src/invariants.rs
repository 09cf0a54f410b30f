//! A brute-force audit of the router's invariants, independent of its indexes. Meant for tests
//! and debugging (it is O(calls × members)); the property tests run it after every input.

use std::collections::HashMap;
use std::fmt;

use crate::agent::AgentState;
use crate::call::Place;
use crate::ids::{AgentIdx, CallId};
use crate::router::Router;

/// A broken invariant, described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvariantViolation(pub String);

impl fmt::Display for InvariantViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvariantViolation {}

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(InvariantViolation(format!($($msg)+)));
        }
    };
}

impl Router {
    /// Checks, by brute force:
    /// 1. no waiting call has a Ready eligible agent (the ACD invariant);
    /// 2. an agent holds at most one offer, and a call more than one only when ring-all made them;
    /// 3. every call is in exactly one place, and the indexes (lines, Ready sets, offers, queue
    ///    lengths) agree with the records.
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        // Lines: every entry is a waiting call of this queue and class, once.
        let mut in_lines: HashMap<CallId, usize> = HashMap::new();
        for (qi, q) in self.queues.iter().enumerate() {
            for (expr, line) in &q.waiting {
                ensure!(
                    !line.is_empty(),
                    "queue {} keeps an empty class",
                    q.spec.name
                );
                for &(key, id) in line {
                    *in_lines.entry(id).or_default() += 1;
                    let c = self.calls.get(&id);
                    ensure!(
                        c.is_some_and(|c| c.is_waiting()
                            && c.queue.at() == qi
                            && c.expr == *expr
                            && c.key(self.base) == key),
                        "line of {} holds {id} which is not waiting there under that key",
                        q.spec.name
                    );
                }
            }
        }
        let mut per_queue = vec![0usize; self.queues.len()];
        let mut offers_seen = 0;
        for (&id, c) in &self.calls {
            let q = self.queues.get(c.queue.at());
            ensure!(q.is_some(), "call {id} in a queue that does not exist");
            let Some(q) = q else { continue };
            match &c.place {
                Place::Waiting => {
                    ensure!(
                        in_lines.get(&id) == Some(&1),
                        "waiting call {id} is not in exactly one line"
                    );
                    per_queue[c.queue.at()] += 1;
                    for &a in &q.members {
                        let agent = &self.agents[a.at()];
                        ensure!(
                            !(agent.configured
                                && agent.is_ready()
                                && self.exprs.matches(c.expr, &agent.skills)),
                            "call {id} waits in {} while eligible agent {} is Ready",
                            q.spec.name,
                            agent.name
                        );
                    }
                }
                Place::Offered(list) => {
                    ensure!(!list.is_empty(), "call {id} is offered to nobody");
                    ensure!(
                        list.len() == 1 || c.rung_all,
                        "call {id} is offered to {} agents outside ring-all",
                        list.len()
                    );
                    per_queue[c.queue.at()] += 1;
                    for o in list {
                        offers_seen += 1;
                        let rec = self.offers.get(o);
                        ensure!(
                            rec.is_some_and(|r| r.call == id),
                            "call {id} lists {o} which is not its offer"
                        );
                        let Some(rec) = rec else { continue };
                        let agent = &self.agents[rec.agent.at()];
                        ensure!(
                            agent.offer == Some(*o)
                                && agent.state == AgentState::Reserved { call: id },
                            "{o} of call {id}: agent {} is {:?} with offer {:?}",
                            agent.name,
                            agent.state,
                            agent.offer
                        );
                    }
                }
                Place::Connected(a) => {
                    let agent = &self.agents[a.at()];
                    ensure!(
                        agent.state == AgentState::OnCall { call: id },
                        "connected call {id}: agent {} is {:?}",
                        agent.name,
                        agent.state
                    );
                }
                Place::Scheduled(_) => {
                    ensure!(
                        c.callback.is_some(),
                        "call {id} is scheduled but not a callback"
                    );
                    per_queue[c.queue.at()] += 1;
                }
            }
            if !c.is_waiting() {
                ensure!(
                    !in_lines.contains_key(&id),
                    "call {id} is in a line but not waiting"
                );
            }
        }
        ensure!(
            offers_seen == self.offers.len(),
            "{} offers outstanding, {offers_seen} held by calls",
            self.offers.len()
        );
        for (qi, q) in self.queues.iter().enumerate() {
            ensure!(
                q.in_queue.len() == per_queue[qi],
                "queue {} counts {} calls, holds {}",
                q.spec.name,
                q.in_queue.len(),
                per_queue[qi]
            );
            for &(entered, id) in &q.in_queue {
                ensure!(
                    self.calls.get(&id).is_some_and(|c| c.queue.at() == qi
                        && c.queue_entered_at == entered
                        && !matches!(c.place, Place::Connected(_))),
                    "queue {} lists {id} which is not in it",
                    q.spec.name
                );
            }
            for &(key, a) in &q.ready {
                let agent = &self.agents[a.at()];
                ensure!(
                    agent.is_ready()
                        && agent
                            .ready_keys
                            .contains(&(crate::ids::QueueIdx(qi as u32), key)),
                    "Ready index of {} holds {} which is {:?}",
                    q.spec.name,
                    agent.name,
                    agent.state
                );
            }
        }
        for (ai, agent) in self.agents.iter().enumerate() {
            let a = AgentIdx(ai as u32);
            match agent.state {
                AgentState::Reserved { call } => {
                    let rec = agent.offer.and_then(|o| self.offers.get(&o));
                    ensure!(
                        rec.is_some_and(|r| r.agent == a && r.call == call),
                        "Reserved agent {} holds no offer",
                        agent.name
                    );
                }
                _ => ensure!(
                    agent.offer.is_none(),
                    "agent {} is {:?} with an offer",
                    agent.name,
                    agent.state
                ),
            }
            if agent.is_ready() {
                for m in &agent.memberships {
                    if self.queues[m.queue.at()].configured {
                        ensure!(
                            agent.ready_keys.iter().any(|&(q, key)| q == m.queue
                                && self.queues[q.at()].ready.contains(&(key, a))),
                            "Ready agent {} missing from the Ready index of {}",
                            agent.name,
                            self.queues[m.queue.at()].spec.name
                        );
                    }
                }
            } else {
                ensure!(
                    agent.ready_keys.is_empty(),
                    "agent {} is {:?} but indexed as Ready",
                    agent.name,
                    agent.state
                );
            }
            if let AgentState::OnCall { call } = agent.state {
                ensure!(
                    self.calls
                        .get(&call)
                        .is_some_and(|c| c.place == Place::Connected(a)),
                    "agent {} on call {call} which is not connected to it",
                    agent.name
                );
            }
        }
        Ok(())
    }
}
