//! The flow file as written: serde mirrors with spans on everything validation checks.
//! `deny_unknown_fields` everywhere, so a typo is an error rather than an ignored key.
//!
//! A node is one flat table whose `type` says which keys apply, rather than a serde-tagged enum:
//! internally tagged enums buffer their content and lose `toml::Spanned` positions, and the
//! flat form lets validation say "`max_digits` does not apply to a `play` node" at the key.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

pub(crate) type Text = Spanned<String>;
pub(crate) type Number = Spanned<i64>;
pub(crate) type Flag = Spanned<bool>;
pub(crate) type Texts = Spanned<Vec<Text>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFlow {
    pub(crate) name: Text,
    pub(crate) entry: Text,
    pub(crate) utc_offset: Option<Text>,
    pub(crate) max_steps: Option<Number>,
    pub(crate) nodes: Spanned<BTreeMap<Text, Spanned<RawNode>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNode {
    #[serde(rename = "type")]
    pub(crate) kind: Text,
    pub(crate) next: Option<Text>,
    // play, collect, hangup
    pub(crate) prompts: Option<Texts>,
    pub(crate) barge_in: Option<Flag>,
    // collect
    pub(crate) min_digits: Option<Number>,
    pub(crate) max_digits: Option<Number>,
    pub(crate) terminator: Option<Text>,
    pub(crate) digits: Option<Text>,
    pub(crate) first_digit_timeout_ms: Option<Number>,
    pub(crate) inter_digit_timeout_ms: Option<Number>,
    pub(crate) retries: Option<Number>,
    pub(crate) invalid_prompts: Option<Texts>,
    pub(crate) no_input_prompts: Option<Texts>,
    pub(crate) store: Option<Text>,
    pub(crate) choices: Option<Spanned<BTreeMap<Text, Text>>>,
    pub(crate) on_no_input: Option<Text>,
    pub(crate) on_failure: Option<Text>,
    // set
    pub(crate) data: Option<Text>,
    pub(crate) value: Option<Text>,
    // branch
    pub(crate) cases: Option<Spanned<Vec<Spanned<RawCase>>>>,
    pub(crate) default: Option<Text>,
    // route
    pub(crate) queue: Option<Text>,
    pub(crate) agent: Option<Text>,
    pub(crate) uri: Option<Text>,
    pub(crate) priority: Option<Number>,
    pub(crate) skills: Option<Text>,
}

impl RawNode {
    /// The keys given, besides `type`, with the span of their values.
    pub(crate) fn present_keys(&self) -> Vec<(&'static str, Range<usize>)> {
        fn span<T>(value: Option<&Spanned<T>>) -> Option<Range<usize>> {
            value.map(Spanned::span)
        }
        let keys = [
            ("next", span(self.next.as_ref())),
            ("prompts", span(self.prompts.as_ref())),
            ("barge_in", span(self.barge_in.as_ref())),
            ("min_digits", span(self.min_digits.as_ref())),
            ("max_digits", span(self.max_digits.as_ref())),
            ("terminator", span(self.terminator.as_ref())),
            ("digits", span(self.digits.as_ref())),
            (
                "first_digit_timeout_ms",
                span(self.first_digit_timeout_ms.as_ref()),
            ),
            (
                "inter_digit_timeout_ms",
                span(self.inter_digit_timeout_ms.as_ref()),
            ),
            ("retries", span(self.retries.as_ref())),
            ("invalid_prompts", span(self.invalid_prompts.as_ref())),
            ("no_input_prompts", span(self.no_input_prompts.as_ref())),
            ("store", span(self.store.as_ref())),
            ("choices", span(self.choices.as_ref())),
            ("on_no_input", span(self.on_no_input.as_ref())),
            ("on_failure", span(self.on_failure.as_ref())),
            ("data", span(self.data.as_ref())),
            ("value", span(self.value.as_ref())),
            ("cases", span(self.cases.as_ref())),
            ("default", span(self.default.as_ref())),
            ("queue", span(self.queue.as_ref())),
            ("agent", span(self.agent.as_ref())),
            ("uri", span(self.uri.as_ref())),
            ("priority", span(self.priority.as_ref())),
            ("skills", span(self.skills.as_ref())),
        ];
        keys.into_iter()
            .filter_map(|(key, span)| span.map(|span| (key, span)))
            .collect()
    }
}

/// One branch case: `next` plus exactly one condition kind (data, schedule, queue).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCase {
    pub(crate) next: Text,
    // data
    pub(crate) data: Option<Text>,
    pub(crate) equals: Option<Text>,
    pub(crate) one_of: Option<Texts>,
    pub(crate) starts_with: Option<Text>,
    pub(crate) is_set: Option<Flag>,
    // schedule
    pub(crate) days: Option<Texts>,
    pub(crate) hours: Option<Text>,
    // queue
    pub(crate) queue: Option<Text>,
    pub(crate) ewt_above_seconds: Option<Number>,
    pub(crate) agents_ready_below: Option<Number>,
    pub(crate) calls_waiting_above: Option<Number>,
}
