//! Switchboard's call engine (issue 6; DESIGN.md "A call's path").
//!
//! A trunk's INVITE is routed by its dialled number, answered with Switchboard's own SDP
//! (media anchored), run through an IVR flow or straight into a queue, offered by the ACD
//! router to an agent's registered phone, bridged, recorded, and finished with a CDR and
//! Asterisk-style queue_log lines; every step is journaled with a gap-free `seq`.
//!
//! # Shape
//!
//! One [`Engine`] owns everything that decides: the SIP transaction layer and registrar (the
//! TU), every call's dialogs (a B2BUA: caller leg and agent legs), the ACD
//! [`Router`](switchboard_acd::Router) and the [`IvrSession`](switchboard_ivr::IvrSession)s.
//! One owner means no cross-task races: an agent's 200 and the caller's BYE are handled one
//! after the other, each to its end. The core is sans-IO (STYLE.md §1):
//!
//! - inputs: [`Engine::handle_sip`], [`Engine::handle_transport_error`],
//!   [`Engine::handle_media`] ([`MediaEvent`]), [`Engine::handle_store`] (a write committed),
//!   [`Engine::handle_command`] / [`Engine::handle_request`] ([`EngineCommand`] from the API,
//!   with its `request_id`), [`Engine::handle_timeout`];
//! - reads: [`Engine::query`] ([`EngineQuery`]) renders calls, agents and queues as the API's
//!   resources (`query.rs`); the shell cuts snapshots at a journal seq (`snapshot_cut.rs`);
//! - outputs: [`Engine::poll_output`] → [`Output`]: SIP bytes to send, [`MediaCommand`]s for
//!   the media threads, store writes ([`switchboard_store::WriteOp`]) with a [`Ticket`];
//! - [`Engine::poll_timeout`]: the earliest SIP, registrar, router or IVR deadline.
//!
//! Ordering guarantees carried by tickets: the `AgentAlerting` screen-pop is committed before
//! the agent's INVITE leaves (and, with a [`shell::DeliveryGate`], handed to every live API
//! subscriber first); a finished call's CDR is committed before its media legs are
//! closed and its ports reused. [`shell`] runs the core on tokio with the SIP transport, the
//! store's writer thread and a media plane behind the [`shell::MediaPlane`] trait.
//!
//! # Deviation from DESIGN.md
//!
//! DESIGN.md has `sip` answer 100 Trying and hand requests to `engine`. Here the engine owns the
//! transaction layer itself (the layer still sends 100 Trying): handing transactions between
//! tasks would put a channel, and a race, between a CANCEL and the INVITE it cancels.
//!
//! # Outbound legs
//!
//! Calls leave through the trunk with `outbound` in the configuration (`outbound.rs`): routes,
//! IVR routes and queue overflows to a URI and blind transfers to a number (REFER or the API)
//! forward the caller to a far leg; click-to-dial ([`MakeCall`]) and callbacks ring the agent
//! first and dial the customer once the agent answered. A forwarded caller is answered here
//! before the far end answers (as Asterisk's `Answer()` then `Dial()`): the caller hears music,
//! not the far end's ringing or early media.
//!
//! # Not in this build (issue 6)
//!
//! Early media before the answer (a forwarded caller hears music until the far end answers);
//! session timers on legs we originate (we offer none; the far end may); three-way conferences
//! (no mixer). Calls placed from agent phones reach agents, queues and DNIS routes
//! (`placed.rs`); attended transfer from the phone is in `attended.rs`, offerless INVITEs in
//! `offerless.rs`, outbound legs in `outbound.rs`/`far_leg.rs`.
#![forbid(unsafe_code)]

mod acd_map;
mod agent;
mod agent_control;
mod agent_device;
mod attended;
mod call;
mod callback;
mod click_to_dial;
mod command;
mod conference;
mod consultation;
mod control;
mod engine;
mod events;
mod far_leg;
mod finish;
mod ids;
mod inbound;
mod ivr;
mod late_answer;
mod offerless;
mod outbound;
mod outbound_auth;
mod output;
mod placed;
mod policy;
mod query;
mod queue_stats;
mod reconfigure;
mod replaces;
mod scheduled_callback;
mod session_timer;
#[allow(clippy::disallowed_methods)] // the shell is where the clock is read
pub mod shell;
mod snapshot_cut;
mod transfer;
mod tu;

pub use click_to_dial::MakeCall;
pub use command::{CommandError, ControlCommand, EngineCommand};
pub use consultation::ConsultTarget;
pub use control::CALL_DATA_LIMIT;
pub use engine::{Engine, EngineError, EngineOptions};
pub use output::{LegAllocator, LegId, MediaCommand, MediaEvent, Output, PlaybackRef, Ticket};
pub use query::{EngineQuery, EngineSnapshot, QueryAnswer, QueryError};
pub use scheduled_callback::ScheduleCallback;

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // one base Instant per test; time then moves by offsets
mod tests;
