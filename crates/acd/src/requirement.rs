//! Skill requirements: what an agent must hold to take a call, and how that widens over time.
//!
//! A requirement is a list of steps (Amazon Connect routing steps, Genesys bullseye rings,
//! Asterisk `penaltychange`). Each step is a [`SkillExpr`], an OR of AND-groups of
//! `skill >= level` conditions, with an optional expiry after which the next, usually wider, step
//! applies. When the last step expires, any member of the queue may take the call (Connect's
//! behaviour). Widening changes who is eligible, never the call's place: the order of waiting
//! calls does not depend on the step.

use std::collections::HashMap;
use std::time::Duration;

use crate::ids::{SkillIdx, SkillName};

/// `skill >= min_level`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SkillCondition {
    /// The skill.
    pub skill: SkillName,
    /// The lowest acceptable proficiency.
    pub min_level: u8,
}

/// An OR of AND-groups of skill conditions. No groups at all means "any member of the queue".
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SkillExpr {
    /// The agent qualifies when it meets every condition of at least one group.
    pub any_of: Vec<Vec<SkillCondition>>,
}

impl SkillExpr {
    /// Any member of the queue qualifies.
    pub fn any() -> Self {
        Self::default()
    }

    /// One condition: `skill >= min_level`.
    pub fn skill(skill: &str, min_level: u8) -> Self {
        Self {
            any_of: vec![vec![SkillCondition {
                skill: skill.into(),
                min_level,
            }]],
        }
    }

    /// Every condition must hold (`a >= 3 AND b >= 1`).
    pub fn all(conditions: &[(&str, u8)]) -> Self {
        Self {
            any_of: vec![
                conditions
                    .iter()
                    .map(|&(skill, min_level)| SkillCondition {
                        skill: skill.into(),
                        min_level,
                    })
                    .collect(),
            ],
        }
    }

    /// Either this or `other` qualifies.
    pub fn or(mut self, other: SkillExpr) -> Self {
        if self.any_of.is_empty() || other.any_of.is_empty() {
            return Self::any();
        }
        self.any_of.extend(other.any_of);
        self
    }
}

/// One routing step: an expression, and how long it applies before the next step does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequirementStep {
    /// Who may take the call during this step.
    pub expr: SkillExpr,
    /// How long this step applies; `None`: for ever (later steps never apply).
    pub expiry: Option<Duration>,
}

/// A call's skill requirement: steps applied in turn as the call waits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Requirement {
    /// The steps, narrowest first. Empty: any member of the queue.
    pub steps: Vec<RequirementStep>,
}

impl Requirement {
    /// Any member of the queue.
    pub fn any() -> Self {
        Self::default()
    }

    /// One step that never expires.
    pub fn only(expr: SkillExpr) -> Self {
        Self {
            steps: vec![RequirementStep { expr, expiry: None }],
        }
    }

    /// Appends a step that applies for `expiry` (`None`: for ever).
    pub fn then(mut self, expr: SkillExpr, expiry: Option<Duration>) -> Self {
        self.steps.push(RequirementStep { expr, expiry });
        self
    }
}

/// Index of an interned expression. `ExprIdx::ANY` is the empty expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ExprIdx(pub(crate) u32);

impl ExprIdx {
    pub(crate) const ANY: ExprIdx = ExprIdx(0);
}

/// An expression over interned skills, groups sorted so equal expressions intern to one index.
type Groups = Vec<Vec<(SkillIdx, u8)>>;

/// A requirement with its expressions interned: `(expression, expiry)` per step.
pub(crate) type Steps = std::sync::Arc<[(ExprIdx, Option<Duration>)]>;

/// Interns skills and expressions. Waiting calls are indexed per queue by their current
/// expression, so an agent checks one expression per class of calls, not one per call.
#[derive(Debug, Default)]
pub(crate) struct ExprTable {
    skills: HashMap<SkillName, SkillIdx>,
    exprs: Vec<Groups>,
    index: HashMap<Groups, ExprIdx>,
}

impl ExprTable {
    pub(crate) fn new() -> Self {
        let mut table = Self::default();
        table.exprs.push(Vec::new());
        table.index.insert(Vec::new(), ExprIdx::ANY);
        table
    }

    pub(crate) fn skill(&mut self, name: &SkillName) -> SkillIdx {
        if let Some(&idx) = self.skills.get(name) {
            return idx;
        }
        let idx = SkillIdx(self.skills.len() as u32);
        self.skills.insert(name.clone(), idx);
        idx
    }

    pub(crate) fn intern(&mut self, expr: &SkillExpr) -> ExprIdx {
        let mut groups: Groups = Vec::with_capacity(expr.any_of.len());
        for group in &expr.any_of {
            let mut g: Vec<(SkillIdx, u8)> = group
                .iter()
                .map(|c| (self.skill(&c.skill), c.min_level))
                .collect();
            g.sort_unstable();
            g.dedup();
            if g.is_empty() {
                // An empty AND-group is always true: the whole OR is "any".
                return ExprIdx::ANY;
            }
            groups.push(g);
        }
        groups.sort_unstable();
        groups.dedup();
        if let Some(&idx) = self.index.get(&groups) {
            return idx;
        }
        let idx = ExprIdx(self.exprs.len() as u32);
        self.exprs.push(groups.clone());
        self.index.insert(groups, idx);
        idx
    }

    pub(crate) fn intern_requirement(&mut self, req: &Requirement) -> Steps {
        req.steps
            .iter()
            .map(|s| (self.intern(&s.expr), s.expiry))
            .collect()
    }

    /// Whether an agent holding `skills` (sorted by skill) meets `expr`.
    pub(crate) fn matches(&self, expr: ExprIdx, skills: &[(SkillIdx, u8)]) -> bool {
        self.score(expr, skills).is_some()
    }

    /// `None` when the agent does not meet `expr`; otherwise the best sum of the agent's levels
    /// over the skills of a group it meets (the `BestSkill` score; 0 for "any").
    pub(crate) fn score(&self, expr: ExprIdx, skills: &[(SkillIdx, u8)]) -> Option<u32> {
        let groups = self.exprs.get(expr.0 as usize)?;
        if groups.is_empty() {
            return Some(0);
        }
        let mut best = None;
        'group: for group in groups {
            let mut sum = 0u32;
            for &(skill, min) in group {
                match skills.binary_search_by_key(&skill, |&(s, _)| s) {
                    Ok(i) if skills[i].1 >= min => sum += u32::from(skills[i].1),
                    _ => continue 'group,
                }
            }
            best = best.max(Some(sum));
        }
        best
    }
}

/// The step active after `elapsed` since the requirement started, and when it ends (measured
/// from the same start). Past the last expiring step, "any member" applies for ever.
pub(crate) fn active_step(steps: &Steps, elapsed: Duration) -> (usize, ExprIdx, Option<Duration>) {
    let mut end = Duration::ZERO;
    for (i, &(expr, expiry)) in steps.iter().enumerate() {
        match expiry {
            None => return (i, expr, None),
            Some(len) => {
                end = end.saturating_add(len);
                if elapsed < end {
                    return (i, expr, Some(end));
                }
            }
        }
    }
    (steps.len(), ExprIdx::ANY, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_expressions_intern_to_one_index_whatever_the_order() {
        let mut t = ExprTable::new();
        let a = t.intern(&SkillExpr::all(&[("fr", 3), ("billing", 1)]));
        let b = t.intern(&SkillExpr::all(&[("billing", 1), ("fr", 3)]));
        assert_eq!(a, b);
        assert_ne!(a, ExprIdx::ANY);
        assert_eq!(t.intern(&SkillExpr::any()), ExprIdx::ANY);
    }

    #[test]
    fn or_of_and_groups_needs_one_whole_group_at_level() {
        let mut t = ExprTable::new();
        let e =
            t.intern(&SkillExpr::all(&[("fr", 3), ("billing", 2)]).or(SkillExpr::skill("de", 4)));
        let fr = t.skill(&"fr".into());
        let billing = t.skill(&"billing".into());
        let de = t.skill(&"de".into());
        let mut agent = vec![(fr, 5), (billing, 1)];
        agent.sort_unstable();
        assert!(!t.matches(e, &agent), "billing below level");
        let mut agent = vec![(fr, 5), (billing, 2)];
        agent.sort_unstable();
        assert_eq!(t.score(e, &agent), Some(7));
        assert!(t.matches(e, &[(de, 4)]));
        assert!(!t.matches(e, &[(de, 3)]));
    }

    #[test]
    fn steps_widen_after_their_expiry_and_end_with_any_member() {
        let mut t = ExprTable::new();
        let req = Requirement::only(SkillExpr::skill("fr", 5))
            .then(SkillExpr::skill("fr", 3), Some(Duration::from_secs(20)));
        let mut req = req;
        req.steps[0].expiry = Some(Duration::from_secs(10));
        let steps = t.intern_requirement(&req);
        let (i, _, end) = active_step(&steps, Duration::from_secs(0));
        assert_eq!((i, end), (0, Some(Duration::from_secs(10))));
        let (i, _, end) = active_step(&steps, Duration::from_secs(10));
        assert_eq!((i, end), (1, Some(Duration::from_secs(30))));
        let (i, expr, end) = active_step(&steps, Duration::from_secs(30));
        assert_eq!((i, expr, end), (2, ExprIdx::ANY, None));
    }
}
