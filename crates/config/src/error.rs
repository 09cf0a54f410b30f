//! The one error type a refused configuration produces, and the conversion of byte offsets into
//! the `line:column` an operator's editor understands.

use std::fmt;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::requirement::RequirementError;

/// Why a configuration file was refused, and where.
///
/// `Display` is `file:line:column: what is wrong` (the form compilers use, so editors and
/// terminals jump to it). `line` and `column` are 1-based; `column` counts characters, not
/// bytes. Both are 0 only for [`ConfigProblem::Io`], which has no position: then `Display` is
/// `file: what is wrong`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file that was read (as given to [`load`](crate::load) or [`parse`](crate::parse)).
    pub file: PathBuf,
    /// 1-based line of the offending key or value; 0 when the file could not be read.
    pub line: u32,
    /// 1-based column (in characters) on that line; 0 when the file could not be read.
    pub column: u32,
    /// What is wrong.
    pub problem: ConfigProblem,
}

impl fmt::Display for ConfigError {
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

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.problem)
    }
}

/// The kinds of named things a configuration declares; used to say what is duplicated or what a
/// reference failed to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ItemKind {
    /// A `[skills]` entry.
    Skill,
    /// An `[[agent]]`.
    Agent,
    /// A `[[queue]]`.
    Queue,
    /// A `[[route]]` (named by its DNIS).
    Route,
    /// A `[[trunk]]`.
    Trunk,
    /// One network in a trunk's `sources`.
    TrunkSource,
    /// An `[[ivr]]` flow.
    Ivr,
    /// An entry of `sip.registrar.digest_algorithms`.
    DigestAlgorithm,
    /// An `[[api.token]]`.
    ApiToken,
}

impl fmt::Display for ItemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ItemKind::Skill => "skill",
            ItemKind::Agent => "agent",
            ItemKind::Queue => "queue",
            ItemKind::Route => "route for DNIS",
            ItemKind::Trunk => "trunk",
            ItemKind::TrunkSource => "trunk source network",
            ItemKind::Ivr => "IVR flow",
            ItemKind::DigestAlgorithm => "digest algorithm",
            ItemKind::ApiToken => "API token",
        })
    }
}

impl ItemKind {
    /// The section that declares items of this kind, for error messages.
    fn declared_in(self) -> &'static str {
        match self {
            ItemKind::Skill => "[skills]",
            ItemKind::Agent => "[[agent]]",
            ItemKind::Queue => "[[queue]]",
            ItemKind::Route => "[[route]]",
            ItemKind::Trunk | ItemKind::TrunkSource => "[[trunk]]",
            ItemKind::Ivr => "[[ivr]]",
            ItemKind::DigestAlgorithm => "[sip.registrar] digest_algorithms",
            ItemKind::ApiToken => "[[api.token]]",
        }
    }
}

/// What is wrong with a configuration. Tests and tools match on the variant, never the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigProblem {
    /// An API token scope that does not exist.
    #[error("unknown scope {value:?}; expected one of {}", crate::ApiScope::NAMES.join(", "))]
    UnknownScope {
        /// The value as written.
        value: String,
    },
    /// An API token secret too short to resist guessing.
    #[error("API token secrets need at least {min} characters")]
    WeakSecret {
        /// The minimum length.
        min: usize,
    },
    /// Two API tokens share one secret, so the server could not tell them apart.
    #[error("API token `{name}` reuses the secret of another token")]
    DuplicateSecret {
        /// The later token's name.
        name: String,
    },
    /// The file could not be read (missing, unreadable, not UTF-8). Check the path and
    /// permissions.
    #[error("cannot read the configuration file: {message}")]
    Io {
        /// The I/O error's kind (`NotFound`, `PermissionDenied`, `InvalidData`…).
        kind: io::ErrorKind,
        /// The operating system's description.
        message: String,
    },
    /// The text is not valid TOML (an unclosed string, a key without a value, a key or table
    /// defined twice…).
    #[error("TOML syntax error: {message}")]
    Syntax {
        /// The TOML parser's description.
        message: String,
    },
    /// A key that this section does not have: usually a typo.
    #[error("unknown key `{key}`, expected {expected}")]
    UnknownKey {
        /// The key as written.
        key: String,
        /// The keys the section accepts, as a readable list.
        expected: String,
    },
    /// A key without a default is absent (the position is the table that lacks it).
    #[error("missing key `{key}`")]
    MissingKey {
        /// The key that must be given.
        key: String,
    },
    /// A value of the wrong TOML type (a string where a number belongs, a table where an array
    /// belongs…).
    #[error("{message}")]
    WrongType {
        /// What was found and what was expected.
        message: String,
    },
    /// A listen address that is not `IP:port` (IPv6 as `[::1]:5060`). Host names are refused:
    /// a daemon must not depend on DNS to bind.
    #[error(
        "`{key}` = {value:?} is not a socket address; write IP:port, e.g. 127.0.0.1:5060 or [::1]:5060"
    )]
    InvalidSocketAddr {
        /// The key.
        key: &'static str,
        /// The value as written.
        value: String,
    },
    /// A trunk source that is not an IP network (`10.0.0.0/8`, `2001:db8::/32`) or address.
    #[error("{value:?} is not an IP network: {reason}")]
    InvalidCidr {
        /// The value as written.
        value: String,
        /// Why: not an address, prefix too long, or host bits set (the suggestion is given).
        reason: String,
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
    /// A queue `strategy` that does not exist.
    #[error("unknown strategy {value:?}; expected one of {}", crate::Strategy::NAMES.join(", "))]
    UnknownStrategy {
        /// The value as written.
        value: String,
    },
    /// A digest algorithm Switchboard does not offer.
    #[error("unknown digest algorithm {value:?}; expected one of {}", crate::DigestAlgorithm::NAMES.join(", "))]
    UnknownDigestAlgorithm {
        /// The value as written.
        value: String,
    },
    /// A `log_level` that is not a level.
    #[error("unknown log level {value:?}; expected one of {}", crate::LogLevel::NAMES.join(", "))]
    UnknownLogLevel {
        /// The value as written.
        value: String,
    },
    /// A name, password, realm or list that must not be empty is empty.
    #[error("`{key}` must not be empty")]
    Empty {
        /// The key.
        key: &'static str,
    },
    /// A name with characters it may not contain (names appear in SIP URIs, metric labels and
    /// requirement expressions).
    #[error("`{key}` = {value:?} is not a valid name: {rule}")]
    InvalidName {
        /// The key.
        key: &'static str,
        /// The value as written.
        value: String,
        /// The rule the name must follow.
        rule: &'static str,
    },
    /// A value that must be a `sip:` or `sips:` URI is not one.
    #[error("`{key}` = {value:?} is not a sip: or sips: URI")]
    InvalidUri {
        /// The key.
        key: &'static str,
        /// The value as written.
        value: String,
    },
    /// A static agent contact that cannot be rung without DNS or a stream connection.
    #[error(
        "`{key}` = {value:?} must be a sip: URI with an IP address host over UDP \
         (Switchboard does no DNS lookups and rings unregistered phones over UDP)"
    )]
    UnreachableContact {
        /// The key.
        key: &'static str,
        /// The value as written.
        value: String,
    },
    /// The same name declared twice (the position is the second one).
    #[error("duplicate {kind} `{name}` (first declared on line {first_line})")]
    Duplicate {
        /// What is duplicated.
        kind: ItemKind,
        /// The name as written.
        name: String,
        /// The line of the first declaration.
        first_line: u32,
    },
    /// A reference to something not declared: a queue requiring an unknown skill, a route to an
    /// unknown queue, IVR flow or agent, an agent with an undeclared skill.
    #[error("unknown {kind} `{name}` (not declared in {})", kind.declared_in())]
    UnknownReference {
        /// What kind of thing was looked for.
        kind: ItemKind,
        /// The name that was not found.
        name: String,
    },
    /// A route or overflow must name exactly one of `queue`, `ivr`, `agent`, `uri`.
    #[error("a target needs exactly one of `queue`, `ivr`, `agent`, `uri`; found {found}")]
    TargetCount {
        /// How many of the four were given.
        found: usize,
    },
    /// A skill requirement expression that does not parse (the position is inside the string).
    #[error("invalid skill requirement: {0}")]
    Requirement(RequirementError),
    /// Requirement steps must widen over time: each step's `after_seconds` larger than the one
    /// before, the first one 0.
    #[error(
        "requirement step `after_seconds` = {this} must be greater than the previous step's {previous}"
    )]
    StepsOutOfOrder {
        /// The previous step's `after_seconds`.
        previous: u64,
        /// This step's `after_seconds`.
        this: u64,
    },
    /// The first requirement step applies from the moment the call joins.
    #[error("the first requirement step must start at after_seconds = 0, not {after_seconds}")]
    FirstStepDelayed {
        /// The value given.
        after_seconds: u64,
    },
    /// Two keys whose values must be ordered are not (`t1_ms` ≤ `t2_ms`,
    /// `min_expires_seconds` ≤ `default_expires_seconds` ≤ `max_expires_seconds`…).
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
    /// A key that only makes sense with another one (`username` without `password`, dialing
    /// settings on a trunk without `outbound`).
    #[error("`{key}` needs `{requires}` in the same table")]
    Requires {
        /// The key as written.
        key: &'static str,
        /// The key it depends on.
        requires: &'static str,
    },
    /// Two trunks both claim to be the default for outbound calls.
    #[error(
        "trunk `{name}` is the second with `outbound_default = true` (first on line {first_line})"
    )]
    SecondOutboundDefault {
        /// The later trunk's name.
        name: String,
        /// The line of the first.
        first_line: u32,
    },
    /// A dial prefix or caller id that is not a dialable number.
    #[error("`{key}` = {value:?} is not a number: digits, with '+' first or '*' and '#'")]
    InvalidNumber {
        /// The key.
        key: &'static str,
        /// The value as written.
        value: String,
    },
    /// Queues whose overflow targets lead back to themselves: a call would bounce forever.
    #[error("queue overflow loops: {}", queues.join(" -> "))]
    OverflowCycle {
        /// The queues on the loop, starting and ending with the same one.
        queues: Vec<String>,
    },
}

impl ConfigError {
    /// The error for a file that could not be read.
    pub(crate) fn io(file: &Path, error: &io::Error) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            problem: ConfigProblem::Io {
                kind: error.kind(),
                message: error.to_string(),
            },
        }
    }
}

/// Where errors in one text are reported: the file name plus the text, so byte spans become
/// line and column in one place.
pub(crate) struct Source<'a> {
    pub(crate) text: &'a str,
    pub(crate) file: &'a Path,
}

impl Source<'_> {
    /// An error at the start of `span` (a byte range into the text).
    pub(crate) fn error(&self, span: Range<usize>, problem: ConfigProblem) -> ConfigError {
        let (line, column) = crate::position::line_column(self.text, span.start);
        ConfigError {
            file: self.file.to_path_buf(),
            line,
            column,
            problem,
        }
    }

    /// Classify an error from the TOML parser or from serde's derived deserializers.
    pub(crate) fn toml_error(&self, error: &toml::de::Error, syntax: bool) -> ConfigError {
        let message = error.message().to_owned();
        let problem = if syntax {
            ConfigProblem::Syntax { message }
        } else {
            classify_serde_message(message)
        };
        self.error(error.span().unwrap_or(0..0), problem)
    }
}

/// Maps serde's message onto our problem type; see [`crate::position::classify_serde_message`].
fn classify_serde_message(message: String) -> ConfigProblem {
    use crate::position::SerdeMessage;
    match crate::position::classify_serde_message(message) {
        SerdeMessage::UnknownKey { key, expected } => ConfigProblem::UnknownKey { key, expected },
        SerdeMessage::MissingKey { key } => ConfigProblem::MissingKey { key },
        SerdeMessage::Other(message) => ConfigProblem::WrongType { message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_error_display_has_no_position() {
        let error = ConfigError::io(
            Path::new("/nope.toml"),
            &io::Error::from(io::ErrorKind::NotFound),
        );
        assert!(error.to_string().starts_with("/nope.toml: cannot read"));
    }
}
