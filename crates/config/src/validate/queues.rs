//! Queues, routes and overflows: the sections whose values refer to other sections.

use std::collections::HashMap;
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::{DNIS_RULE, Names, Result, Validator};
use crate::acd::{Queue, RequirementStep, Strategy};
use crate::error::{ConfigProblem, ItemKind};
use crate::names::{AgentId, IvrName, QueueName};
use crate::raw::{RawQueue, RawRequirement, RawRoute, RawTarget};
use crate::requirement::Requirement;
use crate::routing::{Route, Target};

const DAY: u32 = 86_400;

impl Validator<'_> {
    pub(super) fn queue(&self, raw: RawQueue, names: &Names<'_>) -> Result<Queue> {
        let d = Queue::with_defaults(QueueName::from(raw.name.get_ref().as_str()));
        let strategy = match &raw.strategy {
            None => d.strategy,
            Some(value) => Strategy::from_name(value.get_ref()).ok_or_else(|| {
                self.error(
                    value.span(),
                    ConfigProblem::UnknownStrategy {
                        value: value.get_ref().clone(),
                    },
                )
            })?,
        };
        let steps = match &raw.requirement {
            None => d.steps,
            Some(requirement) => self.steps(requirement, names)?,
        };
        let overflow = match &raw.overflow {
            None => None,
            Some(target) => {
                let RawTarget {
                    queue,
                    ivr,
                    agent,
                    uri,
                } = target.get_ref();
                Some(self.target(target.span(), [queue, ivr, agent, uri], names)?)
            }
        };
        let music_on_hold = match &raw.music_on_hold {
            None => d.music_on_hold,
            Some(value) => self.name("music_on_hold", value)?,
        };
        let max_length = self.count("max_length", raw.max_length.as_ref(), 0, 0, 1_000_000)?;
        Ok(Queue {
            name: d.name,
            strategy,
            steps,
            ring_timeout: self.seconds(
                "ring_timeout_seconds",
                raw.ring_timeout_seconds.as_ref(),
                d.ring_timeout,
                1,
                3_600,
            )?,
            wrap_up: self.seconds(
                "wrap_up_seconds",
                raw.wrap_up_seconds.as_ref(),
                d.wrap_up,
                0,
                DAY,
            )?,
            max_wait: self.optional_seconds(
                "max_wait_seconds",
                raw.max_wait_seconds.as_ref(),
                d.max_wait,
                7 * DAY,
            )?,
            max_length: u32::try_from(max_length).ok().filter(|&n| n > 0),
            join_when_empty: raw
                .join_when_empty
                .map_or(d.join_when_empty, Spanned::into_inner),
            leave_when_empty: raw
                .leave_when_empty
                .map_or(d.leave_when_empty, Spanned::into_inner),
            overflow,
            service_level: self.seconds(
                "service_level_seconds",
                raw.service_level_seconds.as_ref(),
                d.service_level,
                1,
                DAY,
            )?,
            weight: u32::try_from(self.count("weight", raw.weight.as_ref(), 0, 0, 1_000_000)?)
                .unwrap_or(u32::MAX),
            priority: u8::try_from(self.count("priority", raw.priority.as_ref(), 0, 0, 9)?)
                .unwrap_or(u8::MAX),
            record: raw.record.unwrap_or(d.record),
            survey: raw.survey.unwrap_or(d.survey),
            announce_position: raw.announce_position.unwrap_or(d.announce_position),
            announce_frequency: self.optional_seconds(
                "announce_frequency_seconds",
                raw.announce_frequency_seconds.as_ref(),
                d.announce_frequency,
                DAY,
            )?,
            music_on_hold,
        })
    }

    fn steps(
        &self,
        raw: &Spanned<RawRequirement>,
        names: &Names<'_>,
    ) -> Result<Vec<RequirementStep>> {
        match raw.get_ref() {
            RawRequirement::Expression(text) => Ok(vec![RequirementStep {
                after: Duration::ZERO,
                requirement: self.requirement(text, raw.span(), names)?,
            }]),
            RawRequirement::Steps(steps) => {
                if steps.is_empty() {
                    return Err(self.error(raw.span(), ConfigProblem::Empty { key: "requirement" }));
                }
                let mut out: Vec<RequirementStep> = Vec::with_capacity(steps.len());
                for step in steps {
                    let after =
                        self.count("after_seconds", step.after_seconds.as_ref(), 0, 0, 7 * DAY)?;
                    let at = step
                        .after_seconds
                        .as_ref()
                        .map_or(step.skills.span(), Spanned::span);
                    match out.last() {
                        None if after > 0 => {
                            return Err(self.error(
                                at,
                                ConfigProblem::FirstStepDelayed {
                                    after_seconds: after,
                                },
                            ));
                        }
                        Some(previous) if previous.after.as_secs() >= after => {
                            return Err(self.error(
                                at,
                                ConfigProblem::StepsOutOfOrder {
                                    previous: previous.after.as_secs(),
                                    this: after,
                                },
                            ));
                        }
                        _ => {}
                    }
                    out.push(RequirementStep {
                        after: Duration::from_secs(after),
                        requirement: self.requirement(
                            step.skills.get_ref(),
                            step.skills.span(),
                            names,
                        )?,
                    });
                }
                Ok(out)
            }
        }
    }

    /// Parses an expression found at `span` (the TOML string, quotes included) and checks its
    /// skills are declared. Errors point inside the string when it is written without escapes,
    /// so the column lands on the offending character; otherwise at the string's start.
    fn requirement(
        &self,
        text: &str,
        span: Range<usize>,
        names: &Names<'_>,
    ) -> Result<Requirement> {
        let inner_start = self.string_contents_start(text, &span);
        let at = |offset: usize| match inner_start {
            Some(start) => start + offset..start + offset,
            None => span.clone(),
        };
        let requirement = Requirement::parse(text)
            .map_err(|error| self.error(at(error.offset), ConfigProblem::Requirement(error)))?;
        for skill in requirement.skills() {
            if !names.skills.contains_key(skill.as_str()) {
                // The first occurrence of the name as a whole word in the expression.
                let offset = find_word(text, skill.as_str()).unwrap_or(0);
                return Err(self.error(
                    at(offset),
                    ConfigProblem::UnknownReference {
                        kind: ItemKind::Skill,
                        name: skill.to_string(),
                    },
                ));
            }
        }
        Ok(requirement)
    }

    /// Byte offset of a string value's first character in the file, when the file spells the
    /// value verbatim between its quotes (no escapes, single-line), so offsets map one to one.
    fn string_contents_start(&self, value: &str, span: &Range<usize>) -> Option<usize> {
        let written = self.source.text.get(span.clone())?;
        let quote = written.chars().next().filter(|q| *q == '"' || *q == '\'')?;
        let inner = written.strip_prefix(quote)?.strip_suffix(quote)?;
        (inner == value).then_some(span.start + 1)
    }

    /// A target from its four optional keys (`queue`, `ivr`, `agent`, `uri`): exactly one must
    /// be set, and it must resolve.
    fn target(
        &self,
        span: Range<usize>,
        [queue, ivr, agent, uri]: [&Option<Spanned<String>>; 4],
        names: &Names<'_>,
    ) -> Result<Target> {
        let given: Vec<&Spanned<String>> = [queue, ivr, agent, uri].into_iter().flatten().collect();
        if given.len() != 1 {
            let at = given.get(1).map_or(span, |second| second.span());
            return Err(self.error(at, ConfigProblem::TargetCount { found: given.len() }));
        }
        let unknown = |value: &Spanned<String>, kind| {
            self.error(
                value.span(),
                ConfigProblem::UnknownReference {
                    kind,
                    name: value.get_ref().clone(),
                },
            )
        };
        if let Some(value) = queue {
            return match names.queues.contains_key(value.get_ref()) {
                true => Ok(Target::Queue(QueueName::from(value.get_ref().as_str()))),
                false => Err(unknown(value, ItemKind::Queue)),
            };
        }
        if let Some(value) = ivr {
            return match names.ivr_flows.contains(value.get_ref()) {
                true => Ok(Target::Ivr(IvrName::from(value.get_ref().as_str()))),
                false => Err(unknown(value, ItemKind::Ivr)),
            };
        }
        if let Some(value) = agent {
            return match names.agents.get_key_value(value.get_ref().as_str()) {
                Some((id, _)) => Ok(Target::Agent(AgentId::clone(id))),
                None => Err(unknown(value, ItemKind::Agent)),
            };
        }
        match uri {
            Some(value) => Ok(Target::Uri(self.uri("uri", value)?)),
            // `given` has exactly one element, one of the four above.
            None => Err(self.error(span, ConfigProblem::TargetCount { found: 0 })),
        }
    }

    pub(super) fn routes(
        &self,
        raw: Vec<RawRoute>,
        names: &Names<'_>,
    ) -> Result<(Vec<Route>, HashMap<String, usize>)> {
        let allowed =
            |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '*' | '#' | '_' | '-' | '.');
        let mut seen = HashMap::new();
        let mut routes = Vec::with_capacity(raw.len());
        let mut index = HashMap::with_capacity(raw.len());
        for route in raw {
            let dnis = self.name_with("dnis", &route.dnis, DNIS_RULE, allowed, allowed)?;
            self.unique(&mut seen, &dnis, route.dnis.span(), ItemKind::Route)?;
            let target = self.target(
                route.dnis.span(),
                [&route.queue, &route.ivr, &route.agent, &route.uri],
                names,
            )?;
            index.insert(dnis.clone(), routes.len());
            routes.push(Route { dnis, target });
        }
        Ok((routes, index))
    }

    /// Refuses overflow chains that come back to a queue already on them (A → B → A): a call
    /// there would bounce between queues for ever.
    pub(super) fn overflow_cycles(
        &self,
        queues: &[Queue],
        index: &HashMap<QueueName, usize>,
        spans: &[Option<Range<usize>>],
    ) -> Result<()> {
        let next = |i: usize| match queues.get(i).and_then(|q| q.overflow.as_ref()) {
            Some(Target::Queue(name)) => index.get(name).copied(),
            _ => None,
        };
        for start in 0..queues.len() {
            let mut path = vec![start];
            let mut current = start;
            // A chain longer than the number of queues must repeat one.
            while let Some(following) = next(current) {
                if following == start {
                    let names = path
                        .iter()
                        .chain(std::iter::once(&start))
                        .filter_map(|&i| queues.get(i))
                        .map(|q| q.name.to_string())
                        .collect();
                    let span = spans.get(start).cloned().flatten().unwrap_or(0..0);
                    return Err(self.error(span, ConfigProblem::OverflowCycle { queues: names }));
                }
                if path.contains(&following) || path.len() > queues.len() {
                    break; // a loop not through `start`: reported when its own members start
                }
                path.push(following);
                current = following;
            }
        }
        Ok(())
    }
}

/// Byte offset of `word` in `text` where it stands as a whole skill name.
fn find_word(text: &str, word: &str) -> Option<usize> {
    let is_name = crate::requirement::is_name_char;
    text.match_indices(word).map(|(i, _)| i).find(|&i| {
        let before = text.get(..i).and_then(|s| s.chars().next_back());
        let after = text.get(i + word.len()..).and_then(|s| s.chars().next());
        !before.is_some_and(is_name) && !after.is_some_and(is_name)
    })
}
