//! Switchboard's public gRPC CTI API (`proto/switchboard/v1`): the services a CRM, a
//! wallboard and `sbctl` use, served by tonic over the call engine.
//!
//! ## Shape
//! * [`Engine`] is the seam to the call engine: reads of calls, agents and queues, a
//!   [`Command`] per control RPC (accepted at once, outcome as events), reload and status.
//! * Events are read from the store journal through a [`JournalPool`] and live from a
//!   [`LiveEvents`] broadcast the engine feeds *after* journaling. A stream replays from the
//!   journal, sends `CaughtUp`, then goes live; a gap or a lag is filled from the journal, so
//!   every matching event is delivered exactly once, in seq order (see `stream.rs`).
//! * [`ApiError`] is the one error type; `From<ApiError> for tonic::Status` is the one place it
//!   becomes a `google.rpc.Status` with an `ErrorInfo`.
//! * [`AuthLayer`] checks bearer tokens and scopes before any service runs.
//!
//! ## Starting it (the daemon)
//! ```no_run
//! # use std::sync::Arc;
//! # use switchboard_api::*;
//! # async fn run(store: &switchboard_store::Store, engine: Arc<dyn Engine>, live: LiveEvents)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! let pool = JournalPool::open(store, 8)?;
//! let settings = ApiSettings::new(vec![ApiToken {
//!     name: "demo".into(),
//!     secret: "demo-token".into(),
//!     scopes: Scope::ALL.to_vec(),
//! }]);
//! let server = ApiServer::new(&settings, engine, pool, live);
//! server
//!     .serve("127.0.0.1:50051".parse()?, async { let _ = tokio::signal::ctrl_c().await; })
//!     .await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod auth;
mod error;
mod journal;
mod names;
mod recent;
mod seam;
mod server;
mod service;
mod stream;
mod subscriptions;

pub use auth::{ApiToken, AuthLayer, AuthService, Principal, Scope, TokenTable, required_scope};
pub use error::{ApiError, ERROR_DOMAIN, error_reason};
pub use journal::JournalPool;
pub use names::CALL_DATA_LIMIT;
pub use seam::{
    Accepted, Action, Command, Engine, EngineSnapshot, EngineStatus, LegRef, LiveEvents,
    ReloadOutcome, Target,
};
pub use server::{
    ApiServer, ApiSettings, DEFAULT_MAX_STREAMS, MAX_REQUEST_BYTES, ScreenPopGate, ServeError,
    TlsFiles,
};

/// How events are kept in the store journal (shared with the call engine).
pub use switchboard_proto::codec;
/// Generated code for `switchboard.v1`: messages, `*_server` and `*_client` modules.
pub use switchboard_proto::pb;
