//! Why a flow file was refused, and where: `file:line:column: problem`, the form the
//! configuration crate uses (`switchboard_config::ConfigError`), so an operator reads both the
//! same way.

use std::fmt;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use switchboard_config::RequirementError;

/// A flow file that was refused, and where.
///
/// `Display` is `file:line:column: what is wrong`. `line` and `column` are 1-based (`column`
/// counts characters); both are 0 for [`FlowProblem::Io`], which has no position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowError {
    /// The file that was read (as given to [`load`](crate::load) or [`parse`](crate::parse)).
    pub file: PathBuf,
    /// 1-based line of the offending key or value; 0 when the file could not be read.
    pub line: u32,
    /// 1-based column (in characters); 0 when the file could not be read.
    pub column: u32,
    /// What is wrong.
    pub problem: FlowProblem,
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.problem)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.problem
            )
        }
    }
}

impl std::error::Error for FlowError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.problem)
    }
}

/// What is wrong with a flow. Tests and tools match on the variant, never on the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FlowProblem {
    /// The file could not be read.
    #[error("cannot read the flow file: {message}")]
    Io {
        /// The I/O error's kind.
        kind: io::ErrorKind,
        /// The operating system's description.
        message: String,
    },
    /// The text is not valid TOML (also a node defined twice: TOML forbids duplicate keys).
    #[error("TOML syntax error: {message}")]
    Syntax {
        /// The TOML parser's description.
        message: String,
    },
    /// A key this table does not have: usually a typo.
    #[error("unknown key `{key}`, expected {expected}")]
    UnknownKey {
        /// The key as written.
        key: String,
        /// The keys the table accepts.
        expected: String,
    },
    /// A required key is absent (the position is the table that lacks it).
    #[error("missing key `{key}`")]
    MissingKey {
        /// The key that must be given.
        key: String,
    },
    /// A value of the wrong TOML type.
    #[error("{message}")]
    WrongType {
        /// What was found and what was expected.
        message: String,
    },
    /// A node `type` that does not exist.
    #[error("unknown node type {value:?}; expected one of {}", crate::flow::NodeKind::NAMES.join(", "))]
    UnknownNodeType {
        /// The value as written.
        value: String,
    },
    /// A key that exists, but not for this node type (`max_digits` on a `play` node).
    #[error("`{key}` does not apply to a `{node_type}` node")]
    KeyNotForNodeType {
        /// The key.
        key: &'static str,
        /// The node's type.
        node_type: &'static str,
    },
    /// A key this node type needs is absent (the position is the node).
    #[error("a `{node_type}` node needs `{key}`")]
    NodeKeyMissing {
        /// The key.
        key: &'static str,
        /// The node's type.
        node_type: &'static str,
    },
    /// A reference (`entry`, `next`, a choice, a case…) to a node the flow does not declare.
    #[error("unknown node `{name}` (not declared under [nodes])")]
    UnknownNode {
        /// The name referred to.
        name: String,
    },
    /// A queue, agent or skill the daemon's configuration does not declare (from
    /// [`Flow::check_against`](crate::Flow::check_against)).
    #[error("unknown {kind} `{name}` (not declared in the daemon's configuration)")]
    UnknownReference {
        /// `queue`, `agent` or `skill`.
        kind: &'static str,
        /// The name as written.
        name: String,
    },
    /// A node no path from `entry` reaches. Refused rather than warned about: a flow is
    /// reloaded by a daemon that has no one to show warnings to, and a dead node is almost
    /// always a `next` that points at the wrong sibling.
    #[error("node `{name}` is unreachable from the entry node")]
    UnreachableNode {
        /// The node.
        name: String,
    },
    /// A loop through `set`, `goto` and `branch` nodes only: nothing on it waits for the caller
    /// or for a prompt, so the interpreter would spin without end.
    #[error("loop without a `play` or `collect` node: {}", nodes.join(" -> "))]
    LoopWithoutWait {
        /// The nodes on the loop, starting and ending with the same one.
        nodes: Vec<String>,
    },
    /// A digit set, terminator or choice with characters that are not DTMF keys, or that
    /// contradict each other.
    #[error("`{key}` = {value:?}: {reason}")]
    BadDigits {
        /// The key.
        key: &'static str,
        /// The value as written.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A number outside the range the key allows.
    #[error("`{key}` = {value} is out of range; allowed: {min}..={max}")]
    OutOfRange {
        /// The key.
        key: &'static str,
        /// The value as written.
        value: i64,
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// Two values that must be ordered are not (`min_digits` ≤ `max_digits`).
    #[error("`{lower}` ({lower_value}) must not exceed `{upper}` ({upper_value})")]
    Misordered {
        /// The key that must be the smaller.
        lower: &'static str,
        /// Its value.
        lower_value: u64,
        /// The key that must be the larger.
        upper: &'static str,
        /// Its value.
        upper_value: u64,
    },
    /// A name (node, data key, prompt, queue…) with characters it may not contain.
    #[error("`{key}` = {value:?} is not a valid name: {rule}")]
    InvalidName {
        /// The key.
        key: &'static str,
        /// The value as written.
        value: String,
        /// The rule the name must follow.
        rule: &'static str,
    },
    /// A list or text that must not be empty is empty.
    #[error("`{key}` must not be empty")]
    Empty {
        /// The key.
        key: &'static str,
    },
    /// A route needs exactly one of `queue`, `agent`, `uri`; a branch case exactly one of
    /// `data`, `days`/`hours`, `queue`; a data test exactly one of its tests.
    #[error("expected exactly one of {expected}; found {found}")]
    OneOf {
        /// The keys of which one is needed.
        expected: &'static str,
        /// How many were given.
        found: usize,
    },
    /// `priority` or `skills` on a route to an agent or a URI: they only mean something to a
    /// queue.
    #[error("`{key}` applies only to a route to a queue")]
    OnlyForQueue {
        /// The key.
        key: &'static str,
    },
    /// A queue case without a test.
    #[error(
        "a queue case needs at least one of `ewt_above_seconds`, `agents_ready_below`, `calls_waiting_above`"
    )]
    NoQueueTest,
    /// A `uri` that is not a `sip:` or `sips:` URI.
    #[error("`uri` = {value:?} is not a sip: or sips: URI")]
    InvalidUri {
        /// The value as written.
        value: String,
    },
    /// A skill requirement override that does not parse.
    #[error("invalid skill requirement: {0}")]
    Requirement(RequirementError),
    /// An `hours` window that is not `HH:MM-HH:MM`.
    #[error("`hours` = {value:?} is not a window HH:MM-HH:MM (24-hour, start != end)")]
    InvalidHours {
        /// The value as written.
        value: String,
    },
    /// A day that is not `mon`..`sun` or a range of them (`mon-fri`).
    #[error(
        "{value:?} is not a day (mon, tue, wed, thu, fri, sat, sun) or a range such as mon-fri"
    )]
    InvalidDay {
        /// The value as written.
        value: String,
    },
    /// A `utc_offset` that is not `+HH:MM` or `-HH:MM` within ±14:00.
    #[error("`utc_offset` = {value:?} is not an offset such as +01:00 or -05:30 (at most ±14:00)")]
    InvalidUtcOffset {
        /// The value as written.
        value: String,
    },
    /// A `value` template with a `${` that is not closed, or an invalid data key inside.
    #[error("`value` = {value:?} is not a valid template: {reason}")]
    InvalidTemplate {
        /// The value as written.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// The flow's `name` differs from its file's name: the daemon finds flow `x` in `x.toml`.
    #[error("the flow is named `{name}` but its file is `{file_stem}.toml`")]
    NameMismatch {
        /// The `name` key.
        name: String,
        /// The file name without `.toml`.
        file_stem: String,
    },
}

impl FlowError {
    pub(crate) fn io(file: &Path, error: &io::Error) -> Self {
        FlowError {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            problem: FlowProblem::Io {
                kind: error.kind(),
                message: error.to_string(),
            },
        }
    }
}

/// The text errors are reported against, so byte spans become line and column in one place.
pub(crate) struct Source<'a> {
    pub(crate) text: &'a str,
    pub(crate) file: &'a Path,
}

impl Source<'_> {
    /// An error at the start of `span` (a byte range into the text).
    pub(crate) fn error(&self, span: Range<usize>, problem: FlowProblem) -> FlowError {
        let (line, column) = switchboard_config::position::line_column(self.text, span.start);
        FlowError {
            file: self.file.to_path_buf(),
            line,
            column,
            problem,
        }
    }

    /// Classify an error from the TOML parser (`syntax`) or from serde's derived deserializers.
    pub(crate) fn toml_error(&self, error: &toml::de::Error, syntax: bool) -> FlowError {
        let message = error.message().to_owned();
        let problem = if syntax {
            FlowProblem::Syntax { message }
        } else {
            classify_serde_message(message)
        };
        self.error(error.span().unwrap_or(0..0), problem)
    }
}

/// Maps serde's message onto our problem type; see [`switchboard_config::position::classify_serde_message`].
fn classify_serde_message(message: String) -> FlowProblem {
    use switchboard_config::position::SerdeMessage;
    match switchboard_config::position::classify_serde_message(message) {
        SerdeMessage::UnknownKey { key, expected } => FlowProblem::UnknownKey { key, expected },
        SerdeMessage::MissingKey { key } => FlowProblem::MissingKey { key },
        SerdeMessage::Other(message) => FlowProblem::WrongType { message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_error_display_has_no_position() {
        let error = FlowError::io(
            Path::new("/nope.toml"),
            &io::Error::from(io::ErrorKind::NotFound),
        );
        assert!(error.to_string().starts_with("/nope.toml: cannot read"));
    }
}
