//! The configuration's queues and agents in the router's own vocabulary.
//!
//! The `config` crate's requirement language is richer than the router's (`<=`, `<`, `==`,
//! nesting); the router's [`SkillExpr`] is an OR of AND-groups of `skill >= level`. A
//! requirement that converts exactly is handed over; one that does not (it compares downwards)
//! becomes "any member" for the router, and queue membership, computed here with the config
//! crate's own evaluator for every step, keeps ineligible agents out.

use std::time::Duration;

use switchboard_acd::{
    AgentSpec, ConfigUpdate, OverflowTarget, QueueMember, QueueSpec, Requirement, SkillExpr,
    Strategy, WrapUp,
};
use switchboard_config::{Comparison, Config, Requirement as ConfigRequirement};

/// The router's configuration for `config`.
pub(crate) fn config_update(config: &Config) -> ConfigUpdate {
    let queues: Vec<QueueSpec> = config
        .queues()
        .iter()
        .map(|queue| {
            let mut spec = QueueSpec::new(queue.name.as_str());
            spec.strategy = strategy(queue.strategy);
            spec.members = config
                .agents_for_queue(queue)
                .map(|agent| QueueMember {
                    agent: agent.id.as_str().into(),
                    random_weight: 1,
                })
                .collect();
            spec.requirement = requirement(&queue.steps);
            spec.ring_timeout = queue.ring_timeout;
            spec.wrap_up = if queue.wrap_up.is_zero() {
                WrapUp::Off
            } else {
                WrapUp::Timed(queue.wrap_up)
            };
            spec.max_wait = queue.max_wait;
            spec.max_length = queue.max_length.map(|n| n as usize);
            spec.overflow = queue.overflow.as_ref().map(overflow);
            spec.service_level = queue.service_level;
            spec.weight = queue.weight;
            spec.record = queue.record;
            spec.survey = queue.survey;
            spec.announce_every = if queue.announce_position {
                queue.announce_frequency
            } else {
                None
            };
            spec
        })
        .collect();
    // One personal queue per agent (`agent:<id>`) for calls routed or transferred to that
    // agent: the router offers them like any call (ring timeout, RONA, never two offers at
    // once), and a caller whose agent is busy waits for that agent for at most a minute.
    let queues: Vec<QueueSpec> = queues
        .into_iter()
        .chain(config.agents().iter().map(|agent| {
            let id = agent.id.as_str();
            let mut spec = QueueSpec::new(personal_queue(id).as_str()).with_members([id]);
            spec.strategy = Strategy::Linear;
            spec.ring_timeout = PERSONAL_RING_TIMEOUT;
            spec.max_wait = Some(PERSONAL_MAX_WAIT);
            spec
        }))
        .collect();
    let agents = config
        .agents()
        .iter()
        .map(|agent| {
            let mut spec = AgentSpec::new(agent.id.as_str());
            for (skill, level) in &agent.skills {
                spec = spec.with_skill(skill.as_str(), level.get());
            }
            spec
        })
        .collect();
    ConfigUpdate { queues, agents }
}

/// A queue's overflow target: another queue stays inside the router; anything else leaves it as
/// a route the engine follows (`ivr:<flow>`, `agent:<id>`, `uri:<uri>`).
fn overflow(target: &switchboard_config::Target) -> OverflowTarget {
    use switchboard_config::Target;
    match target {
        Target::Queue(q) => OverflowTarget::Queue(q.as_str().into()),
        Target::Ivr(flow) => OverflowTarget::Route(format!("ivr:{}", flow.as_str())),
        Target::Agent(agent) => OverflowTarget::Route(format!("agent:{}", agent.as_str())),
        Target::Uri(uri) => OverflowTarget::Route(format!("uri:{}", uri.as_str())),
    }
}

/// How long a direct call rings an agent before RONA.
const PERSONAL_RING_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a caller waits for a busy agent.
const PERSONAL_MAX_WAIT: Duration = Duration::from_secs(60);

/// The personal queue of agent `id`.
pub(crate) fn personal_queue(id: &str) -> String {
    format!("agent:{id}")
}

fn strategy(s: switchboard_config::Strategy) -> Strategy {
    use switchboard_config::Strategy as C;
    match s {
        C::LongestIdle => Strategy::LongestIdle,
        C::RoundRobin => Strategy::RoundRobin,
        C::Linear => Strategy::Linear,
        C::FewestCalls => Strategy::FewestCalls,
        C::LeastTalkTime => Strategy::LeastTalkTime,
        C::Random => Strategy::Random,
        C::WeightedRandom => Strategy::WeightedRandom,
        C::BestSkill => Strategy::BestSkill,
        C::RingAll => Strategy::RingAll,
    }
}

/// Steps with `after` offsets become steps with expiries (the gap to the next step's start).
fn requirement(steps: &[switchboard_config::RequirementStep]) -> Requirement {
    let mut out = Requirement::any();
    for (i, step) in steps.iter().enumerate() {
        let expiry = steps.get(i + 1).map(|next| {
            next.after
                .saturating_sub(step.after)
                .max(Duration::from_millis(1))
        });
        let expr = expression(&step.requirement).unwrap_or_else(SkillExpr::any);
        out = out.then(expr, expiry);
    }
    out
}

/// Disjunctive normal form of `>=`/`>` comparisons; `None` when something does not convert.
fn expression(req: &ConfigRequirement) -> Option<SkillExpr> {
    Some(SkillExpr { any_of: dnf(req)? })
}

type Groups = Vec<Vec<switchboard_acd::SkillCondition>>;

fn dnf(req: &ConfigRequirement) -> Option<Groups> {
    match req {
        ConfigRequirement::Unrestricted => Some(Vec::new()),
        ConfigRequirement::Skill {
            skill,
            comparison,
            level,
        } => {
            let min_level = match comparison {
                Comparison::AtLeast => level.get(),
                Comparison::Above => level.get().checked_add(1)?,
                _ => return None,
            };
            Some(vec![vec![switchboard_acd::SkillCondition {
                skill: skill.as_str().into(),
                min_level,
            }]])
        }
        ConfigRequirement::Any(parts) => {
            let mut groups = Vec::new();
            for part in parts {
                let g = dnf(part)?;
                if g.is_empty() {
                    return Some(Vec::new()); // one unrestricted alternative: anyone
                }
                groups.extend(g);
            }
            Some(groups)
        }
        ConfigRequirement::All(parts) => {
            let mut acc: Groups = vec![Vec::new()];
            for part in parts {
                let g = dnf(part)?;
                if g.is_empty() {
                    continue; // AND with "anyone" changes nothing
                }
                let mut next = Vec::with_capacity(acc.len() * g.len());
                for left in &acc {
                    for right in &g {
                        let mut both = left.clone();
                        both.extend(right.iter().cloned());
                        next.push(both);
                    }
                }
                if next.len() > 64 {
                    return None; // too wide to expand; membership filters instead
                }
                acc = next;
            }
            if acc.len() == 1 && acc[0].is_empty() {
                Some(Vec::new())
            } else {
                Some(acc)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_queues_map_with_members_meeting_the_requirement() {
        let config = switchboard_config::parse(
            r#"
            [skills]
            support = "s"
            sales = "x"
            [[agent]]
            id = "1001"
            password = "p"
            skills = { support = 5 }
            [[agent]]
            id = "1006"
            password = "p"
            skills = { sales = 5 }
            [[queue]]
            name = "support"
            strategy = "ring-all"
            requirement = "support >= 1 AND (sales > 2 OR support >= 3)"
            wrap_up_seconds = 5
            "#,
            std::path::Path::new("t.toml"),
        )
        .unwrap();
        let update = config_update(&config);
        let q = &update.queues[0];
        assert_eq!(q.strategy, Strategy::RingAll);
        assert_eq!(q.members.len(), 1);
        assert_eq!(q.members[0].agent.as_str(), "1001");
        assert_eq!(q.wrap_up, WrapUp::Timed(Duration::from_secs(5)));
        let groups = &q.requirement.steps[0].expr.any_of;
        assert_eq!(groups.len(), 2);
        assert!(groups.iter().any(|g| {
            g.iter()
                .any(|c| c.skill.as_str() == "sales" && c.min_level == 3)
        }));
    }
}
