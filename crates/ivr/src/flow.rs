//! A validated flow: named nodes, each one step of the dialogue with the caller. Built only by
//! [`parse`](crate::parse) / [`load`](crate::load), so every reference in it resolves, every
//! node is reachable from the entry and no loop can spin without waiting.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use switchboard_config::{AgentId, IvrName, QueueName, Requirement, SipUri};

use crate::references::Reference;
use crate::schedule::{DaySet, TimeWindow, UtcOffset};

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Arc<str>);

        impl $name {
            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(name: &str) -> Self {
                $name(Arc::from(name))
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&*self.0, f)
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                &*self.0 == *other
            }
        }
    };
}

name_type!(
    /// A node's name: its key under `[nodes]`.
    NodeId
);
name_type!(
    /// A call-data key (`menu`, `survey_score`): what the IVR collected, carried to the
    /// screen-pop and the CDR.
    DataKey
);
name_type!(
    /// A logical prompt name (`welcome`, `press-1-sales-2-support`); the media layer resolves it
    /// to a file under `config/prompts/`. Never contains `/` and never starts with `.`, so it
    /// cannot name a path outside that folder.
    PromptName
);

/// A validated IVR flow.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub(crate) name: IvrName,
    pub(crate) entry: NodeId,
    pub(crate) utc_offset: UtcOffset,
    pub(crate) max_steps: u32,
    pub(crate) nodes: BTreeMap<NodeId, Node>,
    pub(crate) references: Vec<Reference>,
    pub(crate) file: PathBuf,
}

impl Flow {
    /// The flow's name (routes and queue overflows refer to it).
    pub fn name(&self) -> &IvrName {
        &self.name
    }

    /// The node a call starts at.
    pub fn entry(&self) -> &NodeId {
        &self.entry
    }

    /// The fixed offset from UTC that `days` and `hours` in branch cases are read in.
    pub fn utc_offset(&self) -> UtcOffset {
        self.utc_offset
    }

    /// How many nodes one call may enter before the interpreter hangs up: the guard against a
    /// caller (or a silent line) going round a menu loop for ever.
    pub fn max_steps(&self) -> u32 {
        self.max_steps
    }

    /// A node by name.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.get(id)
    }

    /// All nodes, by name.
    pub fn nodes(&self) -> impl Iterator<Item = (&NodeId, &Node)> {
        self.nodes.iter()
    }

    /// Every queue, agent, URI and skill the flow names, where it names them, so the daemon
    /// can check them against its configuration ([`Flow::check_against`]).
    pub fn references(&self) -> &[Reference] {
        &self.references
    }

    /// The file the flow was read from (as given to [`parse`](crate::parse) or
    /// [`load`](crate::load)).
    pub fn file(&self) -> &Path {
        &self.file
    }
}

/// One step of a flow.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Play prompts, then continue.
    Play(Play),
    /// Play a prompt and collect DTMF digits.
    Collect(Collect),
    /// Set a call-data value.
    Set(SetData),
    /// Choose the next node by call data, time of day or queue state.
    Branch(Branch),
    /// Leave the IVR for a queue, an agent or a URI.
    Route(RouteNode),
    /// Optionally play prompts, then hang up.
    Hangup(HangupNode),
    /// Continue at another node.
    Goto(NodeId),
}

/// The node types as written in `type = "…"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeKind {
    Play,
    Collect,
    Set,
    Branch,
    Route,
    Hangup,
    Goto,
}

impl NodeKind {
    pub(crate) const NAMES: [&'static str; 7] = [
        "play", "collect", "set", "branch", "route", "hangup", "goto",
    ];

    pub(crate) fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "play" => NodeKind::Play,
            "collect" => NodeKind::Collect,
            "set" => NodeKind::Set,
            "branch" => NodeKind::Branch,
            "route" => NodeKind::Route,
            "hangup" => NodeKind::Hangup,
            "goto" => NodeKind::Goto,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            NodeKind::Play => "play",
            NodeKind::Collect => "collect",
            NodeKind::Set => "set",
            NodeKind::Branch => "branch",
            NodeKind::Route => "route",
            NodeKind::Hangup => "hangup",
            NodeKind::Goto => "goto",
        }
    }
}

impl Node {
    /// The nodes this one can continue at, in a fixed order.
    pub fn successors(&self) -> Vec<&NodeId> {
        match self {
            Node::Play(play) => vec![&play.next],
            Node::Collect(collect) => {
                let mut out: Vec<&NodeId> = match &collect.on_valid {
                    OnValid::Next(next) => vec![next],
                    OnValid::Choices(choices) => choices.values().collect(),
                };
                out.extend(&collect.on_no_input);
                out.push(&collect.on_failure);
                out
            }
            Node::Set(set) => vec![&set.next],
            Node::Branch(branch) => {
                let mut out: Vec<&NodeId> = branch.cases.iter().map(|case| &case.next).collect();
                out.push(&branch.default);
                out
            }
            Node::Route(_) | Node::Hangup(_) => Vec::new(),
            Node::Goto(next) => vec![next],
        }
    }

    /// Whether entering this node waits for something (a prompt to finish, a digit): a loop
    /// must pass through at least one such node.
    pub fn waits(&self) -> bool {
        matches!(self, Node::Play(_) | Node::Collect(_))
    }
}

/// `type = "play"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Play {
    /// Prompts, played in order as one playback.
    pub prompts: Vec<PromptName>,
    /// Whether a digit stops the playback. The digit is kept (type-ahead) for the next
    /// `collect` node, the way Asterisk's `Background()` hands it to the dialplan.
    pub barge_in: bool,
    /// Where to continue.
    pub next: NodeId,
}

/// `type = "collect"`: Asterisk `Read()` / FreeSWITCH `play_and_get_digits` semantics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collect {
    /// The question.
    pub prompts: Vec<PromptName>,
    /// Whether a digit stops the prompt (otherwise digits are buffered while it plays and
    /// judged when it ends).
    pub barge_in: bool,
    /// Fewest digits that make an answer.
    pub min_digits: u8,
    /// Most digits: the answer is complete when this many are in.
    pub max_digits: u8,
    /// The key that ends the answer early (`#`), if any; it is never part of the answer.
    pub terminator: Option<char>,
    /// Keys allowed in an answer.
    pub digits: DigitSet,
    /// How long to wait for the first digit after the prompt ends.
    pub first_digit_timeout: Duration,
    /// How long to wait for each further digit; when it passes, the answer is what is in.
    pub inter_digit_timeout: Duration,
    /// Further attempts after a wrong or missing answer (0: one attempt only).
    pub retries: u8,
    /// Played before the re-prompt after a wrong answer.
    pub invalid_prompts: Vec<PromptName>,
    /// Played before the re-prompt after no answer (the invalid prompts when empty).
    pub no_input_prompts: Vec<PromptName>,
    /// The call-data key the answer is stored in.
    pub store: Option<DataKey>,
    /// Where a valid answer leads.
    pub on_valid: OnValid,
    /// Where no answer at all leads, at once and without a retry; `None`: no answer counts as
    /// a failed attempt.
    pub on_no_input: Option<NodeId>,
    /// Where the caller goes when the attempts are used up.
    pub on_failure: NodeId,
}

/// Where a valid `collect` answer leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnValid {
    /// Any answer of allowed digits and length goes to one node.
    Next(NodeId),
    /// Only these answers are valid, each leading to its node.
    Choices(BTreeMap<String, NodeId>),
}

/// A set of DTMF keys (`0`-`9`, `*`, `#`, `A`-`D`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DigitSet(u16);

impl DigitSet {
    /// The sixteen DTMF keys, in RFC 4733 event order (§3.2: events 0-9, 10 = `*`, 11 = `#`,
    /// 12-15 = A-D).
    pub const DTMF: [char; 16] = [
        '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D',
    ];

    /// No key.
    pub const EMPTY: DigitSet = DigitSet(0);

    /// `0`-`9` and `*`: what a menu accepts when it does not say.
    pub fn default_keys() -> Self {
        DigitSet::from_keys("0123456789*").unwrap_or(DigitSet(0))
    }

    /// The set of `keys`, or `None` if one is not a DTMF key (letters must be upper case).
    pub fn from_keys(keys: &str) -> Option<Self> {
        keys.chars()
            .try_fold(0u16, |set, key| Some(set | 1 << Self::index(key)?))
            .map(DigitSet)
    }

    /// Whether `key` is in the set.
    pub fn contains(self, key: char) -> bool {
        Self::index(key).is_some_and(|i| self.0 & (1 << i) != 0)
    }

    /// Whether `key` is a DTMF key at all.
    pub fn is_dtmf(key: char) -> bool {
        Self::index(key).is_some()
    }

    /// The set with `key` (unchanged if `key` is not a DTMF key).
    pub fn with(self, key: char) -> Self {
        match Self::index(key) {
            Some(i) => DigitSet(self.0 | 1 << i),
            None => self,
        }
    }

    /// The set without `key`.
    pub fn without(self, key: char) -> Self {
        match Self::index(key) {
            Some(i) => DigitSet(self.0 & !(1 << i)),
            None => self,
        }
    }

    fn index(key: char) -> Option<u32> {
        Self::DTMF
            .iter()
            .position(|&k| k == key)
            .and_then(|i| u32::try_from(i).ok())
    }
}

/// `type = "set"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetData {
    /// The key.
    pub key: DataKey,
    /// The value, with `${key}` replaced by that call-data value (empty when unset).
    pub value: Template,
    /// Where to continue.
    pub next: NodeId,
}

/// A text with `${key}` placeholders; `$$` is a literal `$`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(pub(crate) Vec<TemplatePart>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TemplatePart {
    Text(String),
    Data(DataKey),
}

impl Template {
    /// The text with each placeholder replaced by `lookup`'s answer (empty when `None`).
    pub fn render<'a>(&self, lookup: impl Fn(&DataKey) -> Option<&'a str>) -> String {
        let mut out = String::new();
        for part in &self.0 {
            match part {
                TemplatePart::Text(text) => out.push_str(text),
                TemplatePart::Data(key) => out.push_str(lookup(key).unwrap_or_default()),
            }
        }
        out
    }
}

/// `type = "branch"`: the first case whose condition holds decides; none → `default`.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    /// Cases, tried in order.
    pub cases: Vec<Case>,
    /// Where to go when no case holds.
    pub default: NodeId,
}

/// One case of a branch.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// When it holds.
    pub condition: Condition,
    /// Where it leads.
    pub next: NodeId,
}

/// A branch condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// On a call-data value.
    Data {
        /// The key.
        key: DataKey,
        /// The test.
        test: DataTest,
    },
    /// On the local time of day and day of week (in the flow's `utc_offset`).
    Schedule {
        /// Days it holds on (all when `days` is not given).
        days: DaySet,
        /// Hours it holds in (all day when `hours` is not given).
        hours: Option<TimeWindow>,
    },
    /// On a queue's live state, asked of the host with
    /// [`IvrAction::AskQueueState`](crate::IvrAction::AskQueueState). Every given test must
    /// hold; an unanswered question holds nothing.
    Queue {
        /// The queue.
        queue: QueueName,
        /// The tests.
        test: QueueTest,
    },
}

/// A test on one call-data value. Plain string comparisons, no regular expressions: what an
/// operator writes is what is compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataTest {
    /// The value equals one of these.
    OneOf(Vec<String>),
    /// The value starts with this.
    StartsWith(String),
    /// The value is (true) or is not (false) set to something non-empty.
    IsSet(bool),
}

impl DataTest {
    pub(crate) fn holds(&self, value: Option<&str>) -> bool {
        match self {
            DataTest::OneOf(values) => value.is_some_and(|v| values.iter().any(|x| x == v)),
            DataTest::StartsWith(prefix) => value.is_some_and(|v| v.starts_with(prefix.as_str())),
            DataTest::IsSet(set) => value.is_some_and(|v| !v.is_empty()) == *set,
        }
    }
}

/// Tests on a queue's state; all given ones must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueTest {
    /// The estimated wait time is above this.
    pub ewt_above: Option<Duration>,
    /// Fewer than this many agents are Ready for the queue (`1`: none).
    pub agents_ready_below: Option<u32>,
    /// More than this many calls are waiting.
    pub calls_waiting_above: Option<u32>,
}

impl QueueTest {
    pub(crate) fn holds(&self, state: &QueueState) -> bool {
        self.ewt_above.is_none_or(|limit| state.ewt > limit)
            && self
                .agents_ready_below
                .is_none_or(|limit| state.agents_ready < limit)
            && self
                .calls_waiting_above
                .is_none_or(|limit| state.calls_waiting > limit)
    }
}

/// A queue's state as the host reports it, for [`Condition::Queue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueState {
    /// Estimated wait time for a call joining now.
    pub ewt: Duration,
    /// Agents Ready who could take a call of this queue.
    pub agents_ready: u32,
    /// Calls waiting in the queue.
    pub calls_waiting: u32,
}

/// `type = "route"`.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteNode {
    /// Where the call goes.
    pub target: RouteTarget,
    /// The priority class for a queue (0..=9, higher first), instead of the queue's own.
    pub priority: Option<u8>,
    /// The skill requirement for a queue, instead of the queue's own.
    pub requirement: Option<Requirement>,
}

/// Where a `route` node sends the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteTarget {
    /// Into a queue.
    Queue(QueueName),
    /// Straight to one agent.
    Agent(AgentId),
    /// Out to a SIP URI.
    Uri(SipUri),
}

/// `type = "hangup"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HangupNode {
    /// Played (without barge-in) before hanging up.
    pub prompts: Vec<PromptName>,
}
