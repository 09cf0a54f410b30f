//! Switchboard's ACD routing core: which caller goes to which agent, and when.
//!
//! This crate is *sans-IO*: no tokio, no sockets, no clock (a crate `clippy.toml` forbids
//! `Instant::now` and `SystemTime::now`), no unseeded randomness. It holds the routing state and
//! makes decisions; the engine owns it in one task, feeds it what happened and carries out what
//! it decides. Nothing here needs a lock.
//!
//! # Model
//!
//! - **Queues** ([`QueueSpec`]) have members (agents, in configuration order), a strategy, a
//!   skill [`Requirement`], a ring timeout, wrap-up, limits (max wait, max length, join-empty and
//!   leave-empty conditions), an overflow target, a service-level threshold, a weight and flags
//!   (record, survey). The router has its own spec types; the engine maps the `config` crate's
//!   schema onto them.
//! - **Agents** ([`AgentSpec`]) hold skills at proficiency levels. Their state is one of
//!   [`AgentState`]: `LoggedOut`, `NotReady(reason)`, `Ready`, `Reserved` (one offer out, never
//!   more, across all queues), `OnCall`, `WrapUp` (timed, extendable, or manual), plus a
//!   *pending* next state taken when the current work ends.
//! - **Calls** wait in line, ordered by priority, then effective wait (time waiting plus an
//!   adjustment the API may set), then arrival. Each call's requirement is a list of steps
//!   (`skill >= level`, AND/OR) that widen on expiry; widening changes who may answer, never the
//!   place in line. A waiting caller may become a **callback**: same place, offered to an agent
//!   like a call, with attempts and a retry delay.
//!
//! # Inputs and outputs
//!
//! The four methods of every Switchboard core (STYLE.md §1):
//!
//! - [`Router::handle_input`] takes a [`RouterInput`] with `now`: a call arrived, was abandoned,
//!   an offer was accepted, rejected or failed, a call ended, an agent changed state, a callback
//!   was requested or failed, a priority/adjustment/requirement changed, a new configuration.
//! - [`Router::handle_timeout`] fires what is due: ring timeouts (RONA), wrap-up ends, requirement
//!   steps, max waits, announcements, callback retries, statistics intervals.
//! - [`Router::poll_output`] yields [`Decision`]s: offer call X to agent Y with a deadline, cancel
//!   an offer, the call is queued (position, EWT), announce, overflow, leave, agent state changed,
//!   statistics changed, interval closed.
//! - [`Router::poll_timeout`] (alias `next_deadline`) says when to call `handle_timeout` next.
//!
//! Wall-clock time, needed only to align 15-minute statistics intervals, is given to
//! [`Router::new`] as a `SystemTime` and can be re-anchored with [`RouterInput::WallClock`].
//!
//! # Drive loop
//!
//! ```
//! use std::time::{Duration, Instant, SystemTime};
//! use switchboard_acd::*;
//!
//! let t0 = Instant::now(); // the shell reads the clock; the router never does
//! let mut router = Router::new(t0, SystemTime::UNIX_EPOCH, RouterOptions::default());
//! let config = ConfigUpdate {
//!     queues: vec![QueueSpec::new("sales").with_members(["alice"])],
//!     agents: vec![AgentSpec::new("alice")],
//! };
//! router.handle_input(t0, RouterInput::Configure(config))?;
//! router.handle_input(t0, RouterInput::AgentState { agent: "alice".into(), state: RequestedState::Ready })?;
//! router.handle_input(t0, RouterInput::CallArrived {
//!     call: CallId(1), queue: "sales".into(), priority: 0, requirement: None,
//! })?;
//! let mut offer = None;
//! while let Some(decision) = router.poll_output() {
//!     // the engine acts on each: INVITE the agent, CANCEL, play an announcement, publish…
//!     if let Decision::Offer(o) = decision { offer = Some(o); }
//! }
//! let offer = offer.expect("alice is Ready and eligible, so the call is offered at once");
//! assert_eq!(offer.agent.as_str(), "alice");
//! // Nobody answers: at the deadline the shell calls handle_timeout and the call goes back
//! // to its place while alice goes Not Ready (RONA).
//! assert_eq!(router.poll_timeout(), Some(offer.deadline));
//! router.handle_timeout(offer.deadline);
//! assert!(matches!(router.agent("alice").unwrap().state, AgentState::NotReady(_)));
//! # Ok::<(), RouterError>(())
//! ```
//!
//! # Invariants
//!
//! Property-tested over random interleavings of inputs (`tests/invariants.rs`), and checkable at
//! any time with [`Router::check_invariants`]:
//!
//! 1. After any input, no waiting call and Ready agent exist such that the agent is eligible for
//!    the call. Every decision is made on the event that makes it possible, never by polling.
//! 2. An agent never holds two offers; a call is offered to several agents only in ring-all,
//!    where exactly one accept wins and the other offers are cancelled.
//! 3. Every call is in exactly one place (waiting, scheduled callback, offered, connected, or
//!    gone), and the statistics counters equal what a replay of the inputs says.
//! 4. FIFO within equal priority and requirement; RONA and widening keep the original place.
//!
//! # Cost
//!
//! Agents are indexed per queue in strategy order (Ready members only), waiting calls per queue
//! and requirement class in line order. A newly Ready agent looks at the head of each class of
//! each of its queues; a new call walks its queue's Ready members in strategy order until one is
//! eligible. Nothing scans all agents or all calls on an event (`benches/acd_router.rs` measures
//! 5,000 agents, 2,000 queues and 2,000 waiting calls). The random, weighted-random, best-skill
//! and ring-all strategies look at every Ready member of the call's queue.
//!
//! # Statistics and EWT
//!
//! Per queue, live and per interval: [`Counters`] (offered, answered, abandoned, short abandons,
//! SL by both Asterisk formulas, ASA, AHT, EWT error) and, in [`QueueStats`], the longest current
//! wait and agents by state. Per agent: calls, talk time, idle since ([`AgentView`]). EWT per
//! waiting call is described in [`ewt`].
#![forbid(unsafe_code)]

mod agent;
mod agents;
mod call;
mod configure;
mod decision;
mod error;
pub mod ewt;
mod ids;
mod input;
mod invariants;
mod offers;
mod queue;
mod requirement;
mod router;
mod routing;
mod spec;
mod stats;
mod strategy;
mod timers;

pub use agent::{AgentState, AgentView};
pub use call::{CallPlace, CallView};
pub use decision::{CancelReason, Decision, LeaveReason, Offer};
pub use error::{ConfigProblem, RouterError};
pub use ids::{AgentName, CallId, OfferId, QueueName, ReasonCode, SkillName};
pub use input::{RequestedState, RouterInput};
pub use invariants::InvariantViolation;
pub use requirement::{Requirement, RequirementStep, SkillCondition, SkillExpr};
pub use router::Router;
pub use spec::{
    AgentSpec, CallbackSpec, ConfigUpdate, EmptyConditions, OverflowTarget, QueueMember, QueueSpec,
    RouterOptions, Strategy, WrapUp,
};
pub use stats::{AgentCounts, Counters, IntervalReport, QueueStats};
