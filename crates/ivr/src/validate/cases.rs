//! Branch cases: exactly one condition kind (call data, schedule, queue state) and its tests.

use std::time::Duration;

use switchboard_config::QueueName;
use toml::Spanned;

use super::{Result, Validator};
use crate::error::FlowProblem;
use crate::flow::{Case, Condition, DataTest, QueueTest};
use crate::raw::RawCase;
use crate::references::ReferenceTarget;
use crate::schedule::{DaySet, TimeWindow};

impl Validator<'_> {
    pub(super) fn case(&mut self, case: &Spanned<RawCase>) -> Result<Case> {
        let span = case.span();
        let raw = case.get_ref();
        let is_data = raw.data.is_some()
            || raw.equals.is_some()
            || raw.one_of.is_some()
            || raw.starts_with.is_some()
            || raw.is_set.is_some();
        let is_schedule = raw.days.is_some() || raw.hours.is_some();
        let is_queue = raw.queue.is_some()
            || raw.ewt_above_seconds.is_some()
            || raw.agents_ready_below.is_some()
            || raw.calls_waiting_above.is_some();
        let kinds = [is_data, is_schedule, is_queue];
        let found = kinds.iter().filter(|&&k| k).count();
        let condition = match kinds {
            [true, false, false] => self.data_condition(raw, &span)?,
            [false, true, false] => self.schedule_condition(raw)?,
            [false, false, true] => self.queue_condition(raw, &span)?,
            _ => {
                return Err(self.error(
                    span,
                    FlowProblem::OneOf {
                        expected: "a `data` test, `days`/`hours`, a `queue` test",
                        found,
                    },
                ));
            }
        };
        Ok(Case {
            condition,
            next: self.node_ref("next", &raw.next)?,
        })
    }

    fn data_condition(&self, raw: &RawCase, span: &std::ops::Range<usize>) -> Result<Condition> {
        let key = raw.data.as_ref().ok_or_else(|| {
            self.error(
                span.clone(),
                FlowProblem::MissingKey {
                    key: "data".to_owned(),
                },
            )
        })?;
        let key = self.data_key("data", key)?;
        let test = match (&raw.equals, &raw.one_of, &raw.starts_with, &raw.is_set) {
            (Some(value), None, None, None) => DataTest::OneOf(vec![value.get_ref().clone()]),
            (None, Some(values), None, None) => {
                if values.get_ref().is_empty() {
                    return Err(self.error(values.span(), FlowProblem::Empty { key: "one_of" }));
                }
                DataTest::OneOf(
                    values
                        .get_ref()
                        .iter()
                        .map(|v| v.get_ref().clone())
                        .collect(),
                )
            }
            (None, None, Some(prefix), None) => DataTest::StartsWith(prefix.get_ref().clone()),
            (None, None, None, Some(set)) => DataTest::IsSet(*set.get_ref()),
            (a, b, c, d) => {
                return Err(self.error(
                    span.clone(),
                    FlowProblem::OneOf {
                        expected: "`equals`, `one_of`, `starts_with`, `is_set`",
                        found: [a.is_some(), b.is_some(), c.is_some(), d.is_some()]
                            .iter()
                            .filter(|&&x| x)
                            .count(),
                    },
                ));
            }
        };
        Ok(Condition::Data { key, test })
    }

    fn schedule_condition(&self, raw: &RawCase) -> Result<Condition> {
        let days = match &raw.days {
            None => DaySet::ALL,
            Some(list) => {
                if list.get_ref().is_empty() {
                    return Err(self.error(list.span(), FlowProblem::Empty { key: "days" }));
                }
                let mut set = DaySet::empty();
                for day in list.get_ref() {
                    set = set.with_days(day.get_ref()).ok_or_else(|| {
                        self.error(
                            day.span(),
                            FlowProblem::InvalidDay {
                                value: day.get_ref().clone(),
                            },
                        )
                    })?;
                }
                set
            }
        };
        let hours = raw
            .hours
            .as_ref()
            .map(|text| {
                TimeWindow::parse(text.get_ref()).ok_or_else(|| {
                    self.error(
                        text.span(),
                        FlowProblem::InvalidHours {
                            value: text.get_ref().clone(),
                        },
                    )
                })
            })
            .transpose()?;
        Ok(Condition::Schedule { days, hours })
    }

    fn queue_condition(
        &mut self,
        raw: &RawCase,
        span: &std::ops::Range<usize>,
    ) -> Result<Condition> {
        let queue = raw.queue.as_ref().ok_or_else(|| {
            self.error(
                span.clone(),
                FlowProblem::MissingKey {
                    key: "queue".to_owned(),
                },
            )
        })?;
        let queue_span = queue.span();
        let queue = QueueName::from(self.name("queue", queue)?);
        self.outside
            .push((ReferenceTarget::Queue(queue.clone()), queue_span));
        let count = |value: Option<&crate::raw::Number>, key, min| {
            value
                .map(|n| self.number(key, Some(n), min, 100_000, 0))
                .transpose()
                .map(|n| n.map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
        };
        let test = QueueTest {
            ewt_above: raw
                .ewt_above_seconds
                .as_ref()
                .map(|n| self.number("ewt_above_seconds", Some(n), 0, 86_400, 0))
                .transpose()?
                .map(|s| Duration::from_secs(s.unsigned_abs())),
            agents_ready_below: count(raw.agents_ready_below.as_ref(), "agents_ready_below", 1)?,
            calls_waiting_above: count(raw.calls_waiting_above.as_ref(), "calls_waiting_above", 0)?,
        };
        if test == QueueTest::default() {
            return Err(self.error(span.clone(), FlowProblem::NoQueueTest));
        }
        Ok(Condition::Queue { queue, test })
    }
}
