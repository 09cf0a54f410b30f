//! Switchboard's IVR: a flow is data (TOML), the interpreter a pure state machine that asks the
//! call to play prompts, collect digits, set call data, consult a queue, and finally route or
//! hang up.
//!
//! - [`load`] / [`parse`] turn a flow file into a validated [`Flow`], or a [`FlowError`] whose
//!   `Display` is `file:line:column: what is wrong`. Validation refuses unknown node
//!   references, nodes unreachable from the entry, loops that never wait for the caller, and
//!   digit sets that cannot be keyed.
//! - [`IvrSession`] runs one call through a flow with the sans-IO four methods:
//!   [`handle_input`](IvrSession::handle_input) ([`IvrInput`]: `Started`, `Digit`,
//!   `PlaybackFinished`, `QueueStateAnswer`, `WallClock`),
//!   [`handle_timeout`](IvrSession::handle_timeout), [`poll_output`](IvrSession::poll_output)
//!   ([`IvrAction`]: `Play`, `StopPlayback`, `CollectStarted`, `SetData`, `AskQueueState`,
//!   `Route`, `Hangup`, `Finished`) and [`poll_timeout`](IvrSession::poll_timeout).
//!
//! No clock, no sockets, no I/O but the one read in [`load`]: monotonic time is the `now`
//! argument, the wall clock (for office-hours branches) an input. Digit collection follows
//! Asterisk `Read()` / FreeSWITCH `play_and_get_digits`; see the `collect` node in
//! `config/ivr/main.toml` for the format.
//!
//! # Flow format
//!
//! ```toml
//! name = "main"            # the file is main.toml
//! entry = "welcome"
//! utc_offset = "+01:00"    # for `days`/`hours` cases; default UTC
//! max_steps = 100          # nodes one call may enter; default 100
//!
//! [nodes.welcome]
//! type = "play"            # play | collect | set | branch | route | hangup | goto
//! prompts = ["welcome"]
//! barge_in = true
//! next = "menu"
//! ```
//!
//! # Drive loop
//!
//! ```
//! use std::sync::Arc;
//! use std::time::{Duration, Instant, SystemTime};
//! use switchboard_ivr::{IvrAction, IvrInput, IvrSession, RouteTarget};
//!
//! let flow = switchboard_ivr::parse(
//!     r#"
//!     name = "demo"
//!     entry = "menu"
//!     [nodes.menu]
//!     type = "collect"
//!     prompts = ["press-1-sales-2-support"]
//!     on_no_input = "support"
//!     on_failure = "support"
//!     choices = { 1 = "sales", 2 = "support" }
//!     [nodes.sales]
//!     type = "route"
//!     queue = "sales"
//!     [nodes.support]
//!     type = "route"
//!     queue = "support"
//!     "#,
//!     "demo.toml".as_ref(),
//! )?;
//! let mut session = IvrSession::new(Arc::new(flow), []);
//! let t0 = Instant::now(); // the host's clock; the session never reads one
//! session.handle_input(t0, IvrInput::Started { wall_clock: SystemTime::UNIX_EPOCH })?;
//! while let Some(action) = session.poll_output() {
//!     if let IvrAction::Play { playback, .. } = action {
//!         session.handle_input(t0, IvrInput::PlaybackFinished { playback })?;
//!     }
//! }
//! // Silence: the first-digit timeout sends the caller to support.
//! let deadline = session.poll_timeout().unwrap();
//! assert_eq!(deadline, t0 + Duration::from_secs(5));
//! session.handle_timeout(deadline);
//! let actions: Vec<_> = std::iter::from_fn(|| session.poll_output()).collect();
//! assert!(matches!(&actions[0], IvrAction::Route { target: RouteTarget::Queue(q), .. } if q == "support"));
//! assert_eq!(actions[1], IvrAction::Finished);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

mod action;
mod collect;
mod error;
mod flow;
mod raw;
mod references;
mod schedule;
mod session;
mod validate;

use std::path::Path;

use serde::Deserialize;

pub use action::{HangupReason, InputError, IvrAction, IvrInput, PlaybackId};
pub use error::{FlowError, FlowProblem};
pub use flow::{
    Branch, Case, Collect, Condition, DataKey, DataTest, DigitSet, Flow, HangupNode, Node, NodeId,
    OnValid, Play, PromptName, QueueState, QueueTest, RouteNode, RouteTarget, SetData, Template,
};
pub use references::{Reference, ReferenceTarget};
pub use schedule::{DaySet, LocalTime, TimeWindow, UtcOffset, Weekday};
pub use session::{IvrSession, QUEUE_STATE_TIMEOUT};

/// Reads and validates the flow file at `path`. The flow's `name` must be the file's name
/// without `.toml` (the daemon finds flow `main` in `main.toml`).
pub fn load(path: &Path) -> Result<Flow, FlowError> {
    let text = std::fs::read_to_string(path).map_err(|error| FlowError::io(path, &error))?;
    let stem = path.file_stem().and_then(|stem| stem.to_str());
    parse_checked(&text, path, stem)
}

/// Validates flow text; `file` only names the file in errors.
pub fn parse(text: &str, file: &Path) -> Result<Flow, FlowError> {
    parse_checked(text, file, None)
}

fn parse_checked(text: &str, file: &Path, expected_name: Option<&str>) -> Result<Flow, FlowError> {
    let source = error::Source { text, file };
    let deserializer =
        toml::de::Deserializer::parse(text).map_err(|e| source.toml_error(&e, true))?;
    let raw = raw::RawFlow::deserialize(deserializer).map_err(|e| source.toml_error(&e, false))?;
    validate::validate(raw, &source, expected_name)
}
