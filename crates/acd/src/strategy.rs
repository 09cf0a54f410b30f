//! Agent selection: which of a queue's Ready members, eligible for a call, gets the offer.
//!
//! Each queue keeps its Ready members in a `BTreeSet` ordered by a [`ReadyKey`] that depends on
//! its strategy, so the ordered strategies walk the set from the front and stop at the first
//! eligible agent: the cost is the number of ineligible Ready agents ahead, not the queue size.
//! Random, weighted random, best skill and ring-all must look at every eligible Ready member.

use std::time::Instant;

use rand::Rng;
use rand::rngs::StdRng;

use crate::agent::{Agent, Membership};
use crate::ids::AgentIdx;
use crate::queue::Queue;
use crate::requirement::{ExprIdx, ExprTable};
use crate::spec::Strategy;

/// Order of a Ready agent within one queue's Ready index (smaller first).
pub(crate) type ReadyKey = (u64, u64);

fn nanos_since(base: Instant, t: Instant) -> u64 {
    u64::try_from(t.saturating_duration_since(base).as_nanos()).unwrap_or(u64::MAX)
}

/// The key under which a Ready agent sits in a queue with this strategy.
pub(crate) fn ready_key(
    strategy: Strategy,
    agent: &Agent,
    membership: &Membership,
    base: Instant,
) -> ReadyKey {
    let idle = nanos_since(base, agent.ready_since);
    match strategy {
        Strategy::LongestIdle | Strategy::BestSkill => (idle, 0),
        Strategy::FewestCalls => (agent.calls, idle),
        Strategy::LeastTalkTime => (
            u64::try_from(agent.talk_time.as_nanos()).unwrap_or(u64::MAX),
            idle,
        ),
        Strategy::Linear | Strategy::RoundRobin | Strategy::RingAll | Strategy::Random => {
            (u64::from(membership.position), 0)
        }
        Strategy::WeightedRandom => (
            u64::from(membership.position),
            u64::from(membership.random_weight),
        ),
    }
}

/// Picks the agents to offer a call with requirement `expr` to, by the queue's strategy, into
/// `out` (one agent, all eligible for ring-all, none when nobody eligible is Ready).
pub(crate) fn select(
    queue: &Queue,
    agents: &[Agent],
    exprs: &ExprTable,
    expr: ExprIdx,
    rng: &mut StdRng,
    out: &mut Vec<AgentIdx>,
) {
    out.clear();
    let eligible = |a: AgentIdx| {
        agents
            .get(a.at())
            .is_some_and(|ag| exprs.matches(expr, &ag.skills))
    };
    match queue.spec.strategy {
        Strategy::LongestIdle
        | Strategy::FewestCalls
        | Strategy::LeastTalkTime
        | Strategy::Linear => {
            if let Some(&(_, a)) = queue.ready.iter().find(|&&(_, a)| eligible(a)) {
                out.push(a);
            }
        }
        Strategy::RoundRobin => {
            // Asterisk rrmemory: resume after the member rung last, wrap around.
            let after = queue.rr_last.map_or(0, |p| u64::from(p) + 1);
            let start = ((after, 0), AgentIdx(0));
            let found = queue
                .ready
                .range(start..)
                .chain(queue.ready.range(..start))
                .find(|&&(_, a)| eligible(a));
            if let Some(&(_, a)) = found {
                out.push(a);
            }
        }
        Strategy::Random => {
            let mut seen = 0u32;
            for &(_, a) in &queue.ready {
                if eligible(a) {
                    seen += 1;
                    // Reservoir sampling: each of the `seen` candidates kept with chance 1/seen.
                    if rng.random_range(0..seen) == 0 {
                        out.clear();
                        out.push(a);
                    }
                }
            }
        }
        Strategy::WeightedRandom => {
            let mut total = 0u64;
            let mut fallback = None;
            for &((_, weight), a) in &queue.ready {
                if !eligible(a) {
                    continue;
                }
                fallback.get_or_insert(a);
                if weight == 0 {
                    continue;
                }
                total += weight;
                // Weighted reservoir: keep this candidate with chance weight/total so far.
                if rng.random_range(0..total) < weight {
                    out.clear();
                    out.push(a);
                }
            }
            if out.is_empty() {
                // Only zero-weight members are eligible: better one of them than a waiting call.
                out.extend(fallback);
            }
        }
        Strategy::BestSkill => {
            let mut best: Option<(u32, AgentIdx)> = None;
            for &(_, a) in &queue.ready {
                let Some(agent) = agents.get(a.at()) else {
                    continue;
                };
                if let Some(score) = exprs.score(expr, &agent.skills) {
                    // Walked in longest-idle order: a strictly higher score replaces, a tie keeps
                    // the longer idle.
                    if best.is_none_or(|(s, _)| score > s) {
                        best = Some((score, a));
                    }
                }
            }
            out.extend(best.map(|(_, a)| a));
        }
        Strategy::RingAll => {
            out.extend(
                queue
                    .ready
                    .iter()
                    .filter(|&&(_, a)| eligible(a))
                    .map(|&(_, a)| a),
            );
        }
    }
}
