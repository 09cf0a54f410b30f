//! From the file as written ([`crate::raw`]) to a [`Flow`]: defaults applied, each node checked
//! against its type, then the graph (references, reachability, loops). The first problem found
//! is returned, positioned at the offending value, or at the referring key for a dangling
//! reference.

use std::collections::BTreeMap;
use std::ops::Range;

use switchboard_config::{IvrName, Requirement};
use toml::Spanned;

use crate::error::{FlowError, FlowProblem, Source};
use crate::flow::{Flow, NodeId, PromptName};
use crate::raw::{Number, RawFlow, Text, Texts};
use crate::references::{Reference, ReferenceTarget};
use crate::schedule::UtcOffset;

mod cases;
mod graph;
mod nodes;

type Result<T> = std::result::Result<T, FlowError>;

const NAME_RULE: &str = "1 to 64 of letters, digits, '_', '-', '.'";
const PROMPT_RULE: &str = "1 to 64 of letters, digits, '_', '-', '.', not starting with '.' (a file under config/prompts/)";
const MAX_NAME_CHARS: usize = 64;
/// Node entries per call unless the flow says otherwise: far above any sane menu tree, far
/// below a caller held in a loop for an hour.
const DEFAULT_MAX_STEPS: i64 = 100;

pub(crate) fn validate(
    raw: RawFlow,
    source: &Source<'_>,
    expected_name: Option<&str>,
) -> Result<Flow> {
    let mut v = Validator {
        source,
        references: Vec::new(),
        outside: Vec::new(),
    };
    let name = IvrName::from(v.name("name", &raw.name)?);
    if let Some(file_stem) = expected_name.filter(|stem| *stem != name.as_str()) {
        return Err(v.error(
            raw.name.span(),
            FlowProblem::NameMismatch {
                name: name.to_string(),
                file_stem: file_stem.to_owned(),
            },
        ));
    }
    let utc_offset = match &raw.utc_offset {
        Some(text) => UtcOffset::parse(text.get_ref()).ok_or_else(|| {
            v.error(
                text.span(),
                FlowProblem::InvalidUtcOffset {
                    value: text.get_ref().clone(),
                },
            )
        })?,
        None => UtcOffset::UTC,
    };
    let max_steps = v.number(
        "max_steps",
        raw.max_steps.as_ref(),
        1,
        10_000,
        DEFAULT_MAX_STEPS,
    )?;
    let entry = v.node_ref("entry", &raw.entry)?;

    let nodes_span = raw.nodes.span();
    // In file order, so the first problem reported is the first one written.
    let mut raw_nodes: Vec<_> = raw.nodes.into_inner().into_iter().collect();
    raw_nodes.sort_by_key(|(key, _)| key.span().start);
    if raw_nodes.is_empty() {
        return Err(v.error(nodes_span, FlowProblem::Empty { key: "nodes" }));
    }
    let mut nodes = BTreeMap::new();
    let mut node_spans = BTreeMap::new();
    let mut references = Vec::new();
    for (key, node) in raw_nodes {
        let id = NodeId::from(v.name("nodes", &key)?.as_str());
        let typed = v.node(node)?;
        for (target, span) in v.outside.drain(..) {
            let (line, column) = switchboard_config::position::line_column(source.text, span.start);
            references.push(Reference {
                node: id.clone(),
                target,
                line,
                column,
            });
        }
        node_spans.insert(id.clone(), key.span());
        nodes.insert(id, typed);
    }
    references.sort_by_key(|r| (r.line, r.column));

    let flow = Flow {
        name,
        entry,
        utc_offset,
        max_steps: u32::try_from(max_steps).unwrap_or(u32::MAX),
        nodes,
        references,
        file: source.file.to_path_buf(),
    };
    graph::check(&v, &flow, &node_spans)?;
    Ok(flow)
}

pub(crate) struct Validator<'a> {
    source: &'a Source<'a>,
    /// Every node reference seen, with where it was written, for the graph check.
    references: Vec<(NodeId, Range<usize>)>,
    /// Outside names (queues, agents, skills, URIs) used by the node being validated.
    outside: Vec<(ReferenceTarget, Range<usize>)>,
}

impl Validator<'_> {
    fn error(&self, span: Range<usize>, problem: FlowProblem) -> FlowError {
        self.source.error(span, problem)
    }

    fn name(&self, key: &'static str, value: &Text) -> Result<String> {
        self.name_with(key, value, NAME_RULE, |_| true)
    }

    fn name_with(
        &self,
        key: &'static str,
        value: &Text,
        rule: &'static str,
        first_ok: impl Fn(char) -> bool,
    ) -> Result<String> {
        let text = value.get_ref();
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        let ok = !text.is_empty()
            && text.chars().count() <= MAX_NAME_CHARS
            && text.chars().all(allowed)
            && text.chars().next().is_some_and(first_ok);
        if ok {
            Ok(text.clone())
        } else {
            Err(self.error(
                value.span(),
                FlowProblem::InvalidName {
                    key,
                    value: text.clone(),
                    rule,
                },
            ))
        }
    }

    /// A reference to a node, remembered for the graph check.
    fn node_ref(&mut self, key: &'static str, value: &Text) -> Result<NodeId> {
        let id = NodeId::from(self.name(key, value)?.as_str());
        self.references.push((id.clone(), value.span()));
        Ok(id)
    }

    fn prompts(
        &self,
        key: &'static str,
        value: Option<&Texts>,
        required: bool,
    ) -> Result<Vec<PromptName>> {
        let Some(list) = value else {
            return Ok(Vec::new());
        };
        if required && list.get_ref().is_empty() {
            return Err(self.error(list.span(), FlowProblem::Empty { key }));
        }
        list.get_ref()
            .iter()
            .map(|prompt| {
                self.name_with(key, prompt, PROMPT_RULE, |first| first != '.')
                    .map(|name| PromptName::from(name.as_str()))
            })
            .collect()
    }

    fn number(
        &self,
        key: &'static str,
        value: Option<&Number>,
        min: i64,
        max: i64,
        default: i64,
    ) -> Result<i64> {
        let Some(value) = value else {
            return Ok(default);
        };
        let n = *value.get_ref();
        if (min..=max).contains(&n) {
            Ok(n)
        } else {
            Err(self.error(
                value.span(),
                FlowProblem::OutOfRange {
                    key,
                    value: n,
                    min,
                    max,
                },
            ))
        }
    }

    /// A skill requirement, its errors pointing inside the string when it is written plainly.
    fn requirement(&mut self, value: &Text) -> Result<Requirement> {
        let span = value.span();
        let text = value.get_ref();
        let raw = self.source.text.get(span.clone()).unwrap_or_default();
        let plain = (raw.starts_with('"') || raw.starts_with('\''))
            && raw.get(1..raw.len().saturating_sub(1)) == Some(text.as_str());
        let at = |offset: usize| {
            let at = if plain {
                span.start + 1 + offset
            } else {
                span.start
            };
            at..at
        };
        let requirement = Requirement::parse(text)
            .map_err(|error| self.error(at(error.offset), FlowProblem::Requirement(error)))?;
        for skill in requirement.skills() {
            let offset = text.find(skill.as_str()).unwrap_or(0);
            self.outside
                .push((ReferenceTarget::Skill(skill.clone()), at(offset)));
        }
        Ok(requirement)
    }
}

fn required<'a, T>(
    v: &Validator<'_>,
    value: Option<&'a Spanned<T>>,
    key: &'static str,
    node_type: &'static str,
    node_span: &Range<usize>,
) -> Result<&'a Spanned<T>> {
    value.ok_or_else(|| {
        v.error(
            node_span.clone(),
            FlowProblem::NodeKeyMissing { key, node_type },
        )
    })
}
