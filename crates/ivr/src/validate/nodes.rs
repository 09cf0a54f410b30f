//! One node table → one [`Node`]: its `type`, the keys that type allows, their values.

use std::collections::BTreeMap;
use std::time::Duration;

use switchboard_config::{AgentId, QueueName, SipUri};
use toml::Spanned;

use super::{Result, Validator, required};
use crate::error::FlowProblem;
use crate::flow::{
    Branch, Collect, DataKey, DigitSet, HangupNode, Node, NodeKind, OnValid, Play, RouteNode,
    RouteTarget, SetData, Template, TemplatePart,
};
use crate::raw::{RawNode, Text};
use crate::references::ReferenceTarget;

/// The keys each node type takes (besides `type`).
fn allowed_keys(kind: NodeKind) -> &'static [&'static str] {
    match kind {
        NodeKind::Play => &["next", "prompts", "barge_in"],
        NodeKind::Collect => &[
            "next",
            "prompts",
            "barge_in",
            "min_digits",
            "max_digits",
            "terminator",
            "digits",
            "first_digit_timeout_ms",
            "inter_digit_timeout_ms",
            "retries",
            "invalid_prompts",
            "no_input_prompts",
            "store",
            "choices",
            "on_no_input",
            "on_failure",
        ],
        NodeKind::Set => &["data", "value", "next"],
        NodeKind::Branch => &["cases", "default"],
        NodeKind::Route => &["queue", "agent", "uri", "priority", "skills"],
        NodeKind::Hangup => &["prompts"],
        NodeKind::Goto => &["next"],
    }
}

impl Validator<'_> {
    pub(super) fn node(&mut self, node: Spanned<RawNode>) -> Result<Node> {
        let span = node.span();
        let node = node.into_inner();
        let kind = NodeKind::parse(node.kind.get_ref()).ok_or_else(|| {
            self.error(
                node.kind.span(),
                FlowProblem::UnknownNodeType {
                    value: node.kind.get_ref().clone(),
                },
            )
        })?;
        let allowed = allowed_keys(kind);
        if let Some((key, key_span)) = node
            .present_keys()
            .into_iter()
            .find(|(key, _)| !allowed.contains(key))
        {
            return Err(self.error(
                key_span,
                FlowProblem::KeyNotForNodeType {
                    key,
                    node_type: kind.name(),
                },
            ));
        }
        let ty = kind.name();
        Ok(match kind {
            NodeKind::Play => Node::Play(Play {
                prompts: self.prompts(
                    "prompts",
                    Some(required(self, node.prompts.as_ref(), "prompts", ty, &span)?),
                    true,
                )?,
                barge_in: node.barge_in.as_ref().is_some_and(|b| *b.get_ref()),
                next: self.node_ref(
                    "next",
                    required(self, node.next.as_ref(), "next", ty, &span)?,
                )?,
            }),
            NodeKind::Collect => Node::Collect(self.collect(&node, &span)?),
            NodeKind::Set => {
                let key = required(self, node.data.as_ref(), "data", ty, &span)?;
                let value = required(self, node.value.as_ref(), "value", ty, &span)?;
                Node::Set(SetData {
                    key: self.data_key("data", key)?,
                    value: self.template(value)?,
                    next: self.node_ref(
                        "next",
                        required(self, node.next.as_ref(), "next", ty, &span)?,
                    )?,
                })
            }
            NodeKind::Branch => {
                let cases = required(self, node.cases.as_ref(), "cases", ty, &span)?;
                if cases.get_ref().is_empty() {
                    return Err(self.error(cases.span(), FlowProblem::Empty { key: "cases" }));
                }
                let cases = cases
                    .get_ref()
                    .iter()
                    .map(|case| self.case(case))
                    .collect::<Result<Vec<_>>>()?;
                let default = required(self, node.default.as_ref(), "default", ty, &span)?;
                Node::Branch(Branch {
                    cases,
                    default: self.node_ref("default", default)?,
                })
            }
            NodeKind::Route => Node::Route(self.route(&node, &span)?),
            NodeKind::Hangup => Node::Hangup(HangupNode {
                prompts: self.prompts("prompts", node.prompts.as_ref(), false)?,
            }),
            NodeKind::Goto => Node::Goto(self.node_ref(
                "next",
                required(self, node.next.as_ref(), "next", ty, &span)?,
            )?),
        })
    }

    fn collect(&mut self, node: &RawNode, span: &std::ops::Range<usize>) -> Result<Collect> {
        let ty = "collect";
        let prompts = self.prompts(
            "prompts",
            Some(required(self, node.prompts.as_ref(), "prompts", ty, span)?),
            true,
        )?;
        let min_digits = self.number("min_digits", node.min_digits.as_ref(), 0, 64, 1)?;
        let max_digits = self.number("max_digits", node.max_digits.as_ref(), 1, 64, 1)?;
        if min_digits > max_digits {
            let at = node.min_digits.as_ref().map_or(span.clone(), Spanned::span);
            return Err(self.error(
                at,
                FlowProblem::Misordered {
                    lower: "min_digits",
                    lower_value: min_digits.unsigned_abs(),
                    upper: "max_digits",
                    upper_value: max_digits.unsigned_abs(),
                },
            ));
        }
        let terminator = match &node.terminator {
            None => Some('#'),
            Some(text) => {
                let mut chars = text.get_ref().chars();
                match (chars.next(), chars.next()) {
                    (None, _) => None,
                    (Some(key), None) if DigitSet::is_dtmf(key) => Some(key),
                    _ => {
                        return Err(self.bad_digits(
                            "terminator",
                            text,
                            "must be one DTMF key (0-9, *, #, A-D), or \"\" for none",
                        ));
                    }
                }
            }
        };
        let digits = match &node.digits {
            None => {
                let default = DigitSet::default_keys();
                terminator.map_or(default, |t| default.without(t))
            }
            Some(text) => self.digit_set(text, terminator)?,
        };
        let on_valid = match (&node.choices, &node.next) {
            (Some(choices), None) => {
                if choices.get_ref().is_empty() {
                    return Err(self.error(choices.span(), FlowProblem::Empty { key: "choices" }));
                }
                let mut out = BTreeMap::new();
                for (answer, next) in choices.get_ref() {
                    let text = answer.get_ref();
                    if text.is_empty() || !text.chars().all(|c| digits.contains(c)) {
                        return Err(self.bad_digits(
                            "choices",
                            answer,
                            "an answer may hold only keys of the collect node's `digits` (never its terminator)",
                        ));
                    }
                    let length = i64::try_from(text.chars().count()).unwrap_or(i64::MAX);
                    if !(min_digits..=max_digits).contains(&length) {
                        return Err(self.bad_digits(
                            "choices",
                            answer,
                            "the answer's length is outside min_digits..=max_digits, so it can never be collected",
                        ));
                    }
                    out.insert(text.clone(), self.node_ref("choices", next)?);
                }
                OnValid::Choices(out)
            }
            (None, Some(next)) => OnValid::Next(self.node_ref("next", next)?),
            (choices, next) => {
                return Err(self.error(
                    span.clone(),
                    FlowProblem::OneOf {
                        expected: "`choices`, `next`",
                        found: usize::from(choices.is_some()) + usize::from(next.is_some()),
                    },
                ));
            }
        };
        let on_failure = required(self, node.on_failure.as_ref(), "on_failure", ty, span)?;
        Ok(Collect {
            prompts,
            barge_in: node.barge_in.as_ref().is_none_or(|b| *b.get_ref()),
            min_digits: u8::try_from(min_digits).unwrap_or(u8::MAX),
            max_digits: u8::try_from(max_digits).unwrap_or(u8::MAX),
            terminator,
            digits,
            first_digit_timeout: self.millis(
                "first_digit_timeout_ms",
                node.first_digit_timeout_ms.as_ref(),
                100,
                600_000,
                5_000,
            )?,
            inter_digit_timeout: self.millis(
                "inter_digit_timeout_ms",
                node.inter_digit_timeout_ms.as_ref(),
                100,
                60_000,
                3_000,
            )?,
            retries: u8::try_from(self.number("retries", node.retries.as_ref(), 0, 10, 2)?)
                .unwrap_or(u8::MAX),
            invalid_prompts: self.prompts(
                "invalid_prompts",
                node.invalid_prompts.as_ref(),
                true,
            )?,
            no_input_prompts: self.prompts(
                "no_input_prompts",
                node.no_input_prompts.as_ref(),
                true,
            )?,
            store: node
                .store
                .as_ref()
                .map(|key| self.data_key("store", key))
                .transpose()?,
            on_valid,
            on_no_input: node
                .on_no_input
                .as_ref()
                .map(|next| self.node_ref("on_no_input", next))
                .transpose()?,
            on_failure: self.node_ref("on_failure", on_failure)?,
        })
    }

    fn digit_set(&self, text: &Text, terminator: Option<char>) -> Result<DigitSet> {
        let value = text.get_ref();
        if value.is_empty() {
            return Err(self.bad_digits("digits", text, "no key would be accepted"));
        }
        let mut seen = DigitSet::EMPTY;
        for key in value.chars() {
            if !DigitSet::is_dtmf(key) {
                return Err(self.bad_digits(
                    "digits",
                    text,
                    "holds a character that is not a DTMF key (0-9, *, #, A-D)",
                ));
            }
            if seen.contains(key) {
                return Err(self.bad_digits("digits", text, "lists a key twice"));
            }
            if Some(key) == terminator {
                return Err(self.bad_digits(
                    "digits",
                    text,
                    "holds the terminator, which ends an answer and can never be part of one",
                ));
            }
            seen = seen.with(key);
        }
        Ok(seen)
    }

    fn bad_digits(&self, key: &'static str, text: &Text, reason: &'static str) -> crate::FlowError {
        self.error(
            text.span(),
            FlowProblem::BadDigits {
                key,
                value: text.get_ref().clone(),
                reason,
            },
        )
    }

    fn millis(
        &self,
        key: &'static str,
        value: Option<&crate::raw::Number>,
        min: i64,
        max: i64,
        default: i64,
    ) -> Result<Duration> {
        let n = self.number(key, value, min, max, default)?;
        Ok(Duration::from_millis(n.unsigned_abs()))
    }

    pub(super) fn data_key(&self, key: &'static str, value: &Text) -> Result<DataKey> {
        self.name(key, value)
            .map(|name| DataKey::from(name.as_str()))
    }

    /// `${key}` placeholders, `$$` for a literal `$`; any other `$` is refused so a typo does
    /// not silently become text.
    fn template(&self, value: &Text) -> Result<Template> {
        let invalid = |reason| {
            self.error(
                value.span(),
                FlowProblem::InvalidTemplate {
                    value: value.get_ref().clone(),
                    reason,
                },
            )
        };
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = value.get_ref().as_str();
        while let Some(dollar) = rest.find('$') {
            text.push_str(rest.get(..dollar).unwrap_or_default());
            let after = rest.get(dollar + 1..).unwrap_or_default();
            if let Some(after) = after.strip_prefix('$') {
                text.push('$');
                rest = after;
            } else if let Some(inner) = after.strip_prefix('{') {
                let (key, after) = inner
                    .split_once('}')
                    .ok_or_else(|| invalid("a `${` without its `}`"))?;
                let valid = !key.is_empty()
                    && key.len() <= super::MAX_NAME_CHARS
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
                if !valid {
                    return Err(invalid(
                        "`${…}` must hold a data key (letters, digits, '_', '-', '.')",
                    ));
                }
                if !text.is_empty() {
                    parts.push(TemplatePart::Text(std::mem::take(&mut text)));
                }
                parts.push(TemplatePart::Data(DataKey::from(key)));
                rest = after;
            } else {
                return Err(invalid("a `$` must start `${key}` or be doubled as `$$`"));
            }
        }
        text.push_str(rest);
        if !text.is_empty() {
            parts.push(TemplatePart::Text(text));
        }
        Ok(Template(parts))
    }

    fn route(&mut self, node: &RawNode, span: &std::ops::Range<usize>) -> Result<RouteNode> {
        let found = [&node.queue, &node.agent, &node.uri]
            .iter()
            .filter(|key| key.is_some())
            .count();
        let (target, outside, name_span) = match (&node.queue, &node.agent, &node.uri) {
            (Some(queue), None, None) => {
                let queue = QueueName::from(self.name("queue", queue)?);
                (
                    RouteTarget::Queue(queue.clone()),
                    ReferenceTarget::Queue(queue),
                    node.queue.as_ref().map(Spanned::span),
                )
            }
            (None, Some(agent), None) => {
                let agent = AgentId::from(self.name("agent", agent)?);
                (
                    RouteTarget::Agent(agent.clone()),
                    ReferenceTarget::Agent(agent),
                    node.agent.as_ref().map(Spanned::span),
                )
            }
            (None, None, Some(text)) => {
                let uri = SipUri::parse(text.get_ref()).ok_or_else(|| {
                    self.error(
                        text.span(),
                        FlowProblem::InvalidUri {
                            value: text.get_ref().clone(),
                        },
                    )
                })?;
                (
                    RouteTarget::Uri(uri.clone()),
                    ReferenceTarget::Uri(uri),
                    Some(text.span()),
                )
            }
            _ => {
                return Err(self.error(
                    span.clone(),
                    FlowProblem::OneOf {
                        expected: "`queue`, `agent`, `uri`",
                        found,
                    },
                ));
            }
        };
        self.outside
            .push((outside, name_span.unwrap_or_else(|| span.clone())));
        if !matches!(target, RouteTarget::Queue(_)) {
            if let Some(priority) = &node.priority {
                return Err(self.error(
                    priority.span(),
                    FlowProblem::OnlyForQueue { key: "priority" },
                ));
            }
            if let Some(skills) = &node.skills {
                return Err(self.error(skills.span(), FlowProblem::OnlyForQueue { key: "skills" }));
            }
        }
        let priority = node
            .priority
            .as_ref()
            .map(|p| self.number("priority", Some(p), 0, 9, 0))
            .transpose()?
            .map(|p| u8::try_from(p).unwrap_or(u8::MAX));
        let requirement = node
            .skills
            .as_ref()
            .map(|skills| self.requirement(skills))
            .transpose()?;
        Ok(RouteNode {
            target,
            priority,
            requirement,
        })
    }
}
