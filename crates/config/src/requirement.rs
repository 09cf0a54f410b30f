//! Skill requirements: which agents may take a call, as a small boolean expression over skill
//! levels, e.g. `support >= 3 and (english or german >= 2)`.
//!
//! Grammar (whitespace is free; `and`/`&&`, `or`/`||`; `and` binds tighter than `or`):
//!
//! ```text
//! expression := term ( ("or" | "||") term )*
//! term       := factor ( ("and" | "&&") factor )*
//! factor     := "(" expression ")" | skill [ comparison level ]
//! comparison := ">=" | ">" | "<=" | "<" | "=="
//! skill      := letter or "_", then letters, digits, "_" or "-"
//! level      := 0 ..= 10
//! ```
//!
//! A bare skill name means "has the skill at any level" (`skill >= 0`). Every comparison needs
//! the agent to have the skill: `support < 3` does not match an agent without `support`.

use std::collections::BTreeMap;
use std::fmt;

use crate::names::SkillName;

/// The highest skill level (proficiency) an agent can have; the lowest is 0.
pub const MAX_SKILL_LEVEL: u8 = 10;

/// Deepest parenthesis nesting accepted, so a hostile string cannot exhaust the stack.
const MAX_DEPTH: usize = 32;

/// An agent's proficiency in a skill, `0..=`[`MAX_SKILL_LEVEL`]; higher is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SkillLevel(u8);

impl SkillLevel {
    /// A level, or `None` above [`MAX_SKILL_LEVEL`].
    pub fn new(level: u8) -> Option<Self> {
        (level <= MAX_SKILL_LEVEL).then_some(SkillLevel(level))
    }

    /// The level as a number.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// How an agent's level is compared with the level a requirement names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparison {
    /// `>=`
    AtLeast,
    /// `>`
    Above,
    /// `<=`
    AtMost,
    /// `<`
    Below,
    /// `==`
    Exactly,
}

impl Comparison {
    fn holds(self, agent: SkillLevel, wanted: SkillLevel) -> bool {
        match self {
            Comparison::AtLeast => agent >= wanted,
            Comparison::Above => agent > wanted,
            Comparison::AtMost => agent <= wanted,
            Comparison::Below => agent < wanted,
            Comparison::Exactly => agent == wanted,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Comparison::AtLeast => ">=",
            Comparison::Above => ">",
            Comparison::AtMost => "<=",
            Comparison::Below => "<",
            Comparison::Exactly => "==",
        }
    }
}

/// Which agents may take a call.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Requirement {
    /// Every agent qualifies (a queue with no `requirement`).
    Unrestricted,
    /// The agent has `skill` and its level compares as asked.
    Skill {
        /// The skill.
        skill: SkillName,
        /// How the agent's level is compared with `level`.
        comparison: Comparison,
        /// The level compared with.
        level: SkillLevel,
    },
    /// Every part holds.
    All(Vec<Requirement>),
    /// At least one part holds.
    Any(Vec<Requirement>),
}

impl Requirement {
    /// Parses an expression (grammar in the module docs). Skill names are not checked against
    /// the declared skills here; the configuration loader does that.
    pub fn parse(text: &str) -> Result<Requirement, RequirementError> {
        let mut parser = Parser {
            text,
            position: 0,
            depth: 0,
        };
        parser.skip_whitespace();
        if parser.position == text.len() {
            return Err(RequirementError {
                offset: 0,
                problem: RequirementProblem::Empty,
            });
        }
        let requirement = parser.expression()?;
        parser.skip_whitespace();
        match parser.peek() {
            None => Ok(requirement),
            Some(c) => Err(parser.error(RequirementProblem::Unexpected(c))),
        }
    }

    /// Does an agent with these skills qualify?
    pub fn is_met_by(&self, skills: &BTreeMap<SkillName, SkillLevel>) -> bool {
        self.is_met_by_levels(&|skill| skills.get(skill).copied())
    }

    /// Does an agent qualify, its level in a skill given by `level_of` (`None`: lacks it)?
    pub fn is_met_by_levels(&self, level_of: &dyn Fn(&SkillName) -> Option<SkillLevel>) -> bool {
        match self {
            Requirement::Unrestricted => true,
            Requirement::Skill {
                skill,
                comparison,
                level,
            } => level_of(skill).is_some_and(|agent| comparison.holds(agent, *level)),
            Requirement::All(parts) => parts.iter().all(|p| p.is_met_by_levels(level_of)),
            Requirement::Any(parts) => parts.iter().any(|p| p.is_met_by_levels(level_of)),
        }
    }

    /// Every skill the expression names, in order of appearance (with repeats); the
    /// `best-skill` strategy scores agents on these.
    pub fn skills(&self) -> Vec<&SkillName> {
        let mut out = Vec::new();
        self.collect_skills(&mut out);
        out
    }

    fn collect_skills<'a>(&'a self, out: &mut Vec<&'a SkillName>) {
        match self {
            Requirement::Unrestricted => {}
            Requirement::Skill { skill, .. } => out.push(skill),
            Requirement::All(parts) | Requirement::Any(parts) => {
                for part in parts {
                    part.collect_skills(out);
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    /// The canonical form: it parses back to the same requirement.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn join(f: &mut fmt::Formatter<'_>, parts: &[Requirement], word: &str) -> fmt::Result {
            f.write_str("(")?;
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    write!(f, " {word} ")?;
                }
                write!(f, "{part}")?;
            }
            f.write_str(")")
        }
        match self {
            Requirement::Unrestricted => f.write_str("(any agent)"),
            Requirement::Skill {
                skill,
                comparison,
                level,
            } => write!(f, "{skill} {} {}", comparison.as_str(), level.get()),
            Requirement::All(parts) => join(f, parts, "and"),
            Requirement::Any(parts) => join(f, parts, "or"),
        }
    }
}

/// A requirement expression that does not parse: where (a byte offset into the expression)
/// and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem} (at character {})", self.offset + 1)]
pub struct RequirementError {
    /// Byte offset into the expression text.
    pub offset: usize,
    /// What is wrong there.
    pub problem: RequirementProblem,
}

/// What is wrong in a requirement expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequirementProblem {
    /// The expression is empty.
    #[error("the expression is empty")]
    Empty,
    /// A character that cannot start or continue the expression here.
    #[error("unexpected {0:?}")]
    Unexpected(char),
    /// The expression ends where more was needed.
    #[error("the expression ends too early")]
    UnexpectedEnd,
    /// A skill name was expected (after `and`, `or`, `(`, or at the start).
    #[error("expected a skill name")]
    ExpectedSkill,
    /// A level (a number) was expected after a comparison.
    #[error("expected a level 0..={MAX_SKILL_LEVEL}")]
    ExpectedLevel,
    /// A level above [`MAX_SKILL_LEVEL`].
    #[error("level {0} is above the maximum {MAX_SKILL_LEVEL}")]
    LevelOutOfRange(u64),
    /// `(` without its `)`.
    #[error("unclosed parenthesis")]
    UnclosedParenthesis,
    /// Parentheses nested deeper than 32.
    #[error("parentheses nested too deeply")]
    TooDeep,
}

struct Parser<'a> {
    text: &'a str,
    position: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, problem: RequirementProblem) -> RequirementError {
        RequirementError {
            offset: self.position,
            problem,
        }
    }

    fn rest(&self) -> &str {
        self.text.get(self.position..).unwrap_or_default()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_whitespace(&mut self) {
        let rest = self.rest();
        self.position += rest.len() - rest.trim_start().len();
    }

    /// Consumes `token` if the text continues with it (after whitespace).
    fn eat(&mut self, token: &str) -> bool {
        self.skip_whitespace();
        if self.rest().starts_with(token) {
            self.position += token.len();
            true
        } else {
            false
        }
    }

    /// Consumes the keyword `word` only as a whole word (`and`, not the start of `android`).
    fn eat_word(&mut self, word: &str) -> bool {
        self.skip_whitespace();
        let rest = self.rest();
        let matches = rest
            .get(..word.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(word))
            && !rest
                .get(word.len()..)
                .and_then(|tail| tail.chars().next())
                .is_some_and(is_name_char);
        if matches {
            self.position += word.len();
        }
        matches
    }

    fn expression(&mut self) -> Result<Requirement, RequirementError> {
        let mut parts = vec![self.term()?];
        while self.eat("||") || self.eat_word("or") {
            parts.push(self.term()?);
        }
        Ok(flatten(parts, Requirement::Any))
    }

    fn term(&mut self) -> Result<Requirement, RequirementError> {
        let mut parts = vec![self.factor()?];
        while self.eat("&&") || self.eat_word("and") {
            parts.push(self.factor()?);
        }
        Ok(flatten(parts, Requirement::All))
    }

    fn factor(&mut self) -> Result<Requirement, RequirementError> {
        self.skip_whitespace();
        let open = self.position;
        if self.eat("(") {
            if self.depth == MAX_DEPTH {
                return Err(self.error(RequirementProblem::TooDeep));
            }
            self.depth += 1;
            let inner = self.expression()?;
            self.depth -= 1;
            if self.eat(")") {
                return Ok(inner);
            }
            self.skip_whitespace();
            return Err(match self.peek() {
                None => RequirementError {
                    offset: open,
                    problem: RequirementProblem::UnclosedParenthesis,
                },
                Some(c) => self.error(RequirementProblem::Unexpected(c)),
            });
        }
        let skill = self.skill()?;
        let comparison = if self.eat(">=") {
            Comparison::AtLeast
        } else if self.eat("<=") {
            Comparison::AtMost
        } else if self.eat("==") {
            Comparison::Exactly
        } else if self.eat(">") {
            Comparison::Above
        } else if self.eat("<") {
            Comparison::Below
        } else {
            return Ok(Requirement::Skill {
                skill,
                comparison: Comparison::AtLeast,
                level: SkillLevel(0),
            });
        };
        let level = self.level()?;
        Ok(Requirement::Skill {
            skill,
            comparison,
            level,
        })
    }

    fn skill(&mut self) -> Result<SkillName, RequirementError> {
        self.skip_whitespace();
        let rest = self.rest();
        match rest.chars().next() {
            None => return Err(self.error(RequirementProblem::UnexpectedEnd)),
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
            Some(_) => return Err(self.error(RequirementProblem::ExpectedSkill)),
        }
        let length = rest.find(|c| !is_name_char(c)).unwrap_or(rest.len());
        let name = SkillName::from(rest.get(..length).unwrap_or_default());
        if is_keyword(name.as_str()) {
            return Err(self.error(RequirementProblem::ExpectedSkill));
        }
        self.position += length;
        Ok(name)
    }

    fn level(&mut self) -> Result<SkillLevel, RequirementError> {
        self.skip_whitespace();
        let rest = self.rest();
        let length = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if length == 0 {
            return Err(self.error(match rest.chars().next() {
                None => RequirementProblem::UnexpectedEnd,
                Some(_) => RequirementProblem::ExpectedLevel,
            }));
        }
        let digits = rest.get(..length).unwrap_or_default();
        // Saturate: a 30-digit level is as out of range as 11, and must not overflow.
        let value = digits.parse::<u64>().unwrap_or(u64::MAX);
        let level = u8::try_from(value)
            .ok()
            .and_then(SkillLevel::new)
            .ok_or_else(|| self.error(RequirementProblem::LevelOutOfRange(value)))?;
        self.position += length;
        Ok(level)
    }
}

/// Characters allowed after the first in a skill name (see [`crate::Config`] docs).
pub(crate) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// `and` and `or` (any case) cannot be skill names: they would make expressions ambiguous.
pub(crate) fn is_keyword(name: &str) -> bool {
    name.eq_ignore_ascii_case("and") || name.eq_ignore_ascii_case("or")
}

fn flatten(
    mut parts: Vec<Requirement>,
    combine: fn(Vec<Requirement>) -> Requirement,
) -> Requirement {
    match parts.len() {
        1 => parts.pop().unwrap_or_else(|| combine(Vec::new())),
        _ => combine(parts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skills(pairs: &[(&str, u8)]) -> BTreeMap<SkillName, SkillLevel> {
        pairs
            .iter()
            .map(|&(name, level)| (SkillName::from(name), SkillLevel(level)))
            .collect()
    }

    fn problem(text: &str) -> (usize, RequirementProblem) {
        let error = Requirement::parse(text).expect_err(text);
        (error.offset, error.problem)
    }

    #[test]
    fn single_comparison_matches_agents_at_or_above_the_level() {
        let requirement = Requirement::parse("support >= 3").unwrap();
        assert!(requirement.is_met_by(&skills(&[("support", 3)])));
        assert!(!requirement.is_met_by(&skills(&[("support", 2)])));
        assert!(!requirement.is_met_by(&skills(&[("sales", 9)])));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let requirement = Requirement::parse("a >= 1 or b >= 1 and c >= 1").unwrap();
        assert!(requirement.is_met_by(&skills(&[("a", 1)])));
        assert!(!requirement.is_met_by(&skills(&[("b", 1)])));
        assert!(requirement.is_met_by(&skills(&[("b", 1), ("c", 1)])));
    }

    #[test]
    fn parentheses_and_symbol_operators_group() {
        let requirement = Requirement::parse("(a || b) && c==2").unwrap();
        assert!(requirement.is_met_by(&skills(&[("b", 0), ("c", 2)])));
        assert!(!requirement.is_met_by(&skills(&[("b", 0), ("c", 3)])));
        assert_eq!(requirement.skills().len(), 3);
    }

    #[test]
    fn bare_skill_means_has_it_at_any_level() {
        let requirement = Requirement::parse("english").unwrap();
        assert!(requirement.is_met_by(&skills(&[("english", 0)])));
        assert!(!requirement.is_met_by(&skills(&[])));
    }

    #[test]
    fn comparisons_need_the_skill() {
        let requirement = Requirement::parse("support < 3").unwrap();
        assert!(requirement.is_met_by(&skills(&[("support", 2)])));
        assert!(!requirement.is_met_by(&skills(&[])));
    }

    #[test]
    fn keywords_are_whole_words() {
        let requirement = Requirement::parse("android and order").unwrap();
        assert_eq!(requirement.skills(), vec!["android", "order"]);
    }

    #[test]
    fn display_parses_back_to_the_same_requirement() {
        for text in ["a", "a > 1 and (b < 2 or c == 3)", "x-y_z <= 10 || q"] {
            let requirement = Requirement::parse(text).unwrap();
            assert_eq!(
                Requirement::parse(&requirement.to_string()),
                Ok(requirement)
            );
        }
    }

    #[test]
    fn errors_point_at_the_offending_character() {
        assert_eq!(problem(""), (0, RequirementProblem::Empty));
        assert_eq!(problem("   "), (0, RequirementProblem::Empty));
        assert_eq!(
            problem("support >= "),
            (11, RequirementProblem::UnexpectedEnd)
        );
        assert_eq!(
            problem("support >= x"),
            (11, RequirementProblem::ExpectedLevel)
        );
        assert_eq!(
            problem("support >= 11"),
            (11, RequirementProblem::LevelOutOfRange(11))
        );
        assert_eq!(
            problem("support = 1"),
            (8, RequirementProblem::Unexpected('='))
        );
        assert_eq!(problem("a and 5"), (6, RequirementProblem::ExpectedSkill));
        assert_eq!(problem("a and or"), (6, RequirementProblem::ExpectedSkill));
        assert_eq!(
            problem("(a or b"),
            (0, RequirementProblem::UnclosedParenthesis)
        );
        assert_eq!(problem("(a b)"), (3, RequirementProblem::Unexpected('b')));
        assert_eq!(
            problem("a >= 1 b"),
            (7, RequirementProblem::Unexpected('b'))
        );
        assert_eq!(
            problem("a >= 99999999999999999999999"),
            (5, RequirementProblem::LevelOutOfRange(u64::MAX))
        );
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let text = "(".repeat(10_000) + "a" + &")".repeat(10_000);
        assert_eq!(
            Requirement::parse(&text).unwrap_err().problem,
            RequirementProblem::TooDeep
        );
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn skill_name() -> impl Strategy<Value = SkillName> {
            "[a-z_][a-z0-9_-]{0,8}"
                .prop_filter("keywords are not skills", |name| !is_keyword(name))
                .prop_map(SkillName::from)
        }

        fn requirement() -> impl Strategy<Value = Requirement> {
            let comparison = prop_oneof![
                Just(Comparison::AtLeast),
                Just(Comparison::Above),
                Just(Comparison::AtMost),
                Just(Comparison::Below),
                Just(Comparison::Exactly),
            ];
            let leaf = (skill_name(), comparison, 0..=MAX_SKILL_LEVEL).prop_map(
                |(skill, comparison, level)| Requirement::Skill {
                    skill,
                    comparison,
                    level: SkillLevel(level),
                },
            );
            leaf.prop_recursive(4, 32, 4, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 2..4).prop_map(Requirement::All),
                    proptest::collection::vec(inner, 2..4).prop_map(Requirement::Any),
                ]
            })
        }

        proptest! {
            #[test]
            fn printed_requirement_parses_back_to_itself(requirement in requirement()) {
                prop_assert_eq!(Requirement::parse(&requirement.to_string()), Ok(requirement));
            }

            #[test]
            fn parse_never_panics_and_errors_point_inside_the_text(text in "[a-z0-9 ()<>=&|!_-]{0,40}") {
                if let Err(error) = Requirement::parse(&text) {
                    prop_assert!(error.offset <= text.len());
                }
            }
        }
    }
}
