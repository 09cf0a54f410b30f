//! SIP for Switchboard (RFC 3261 and friends).
//!
//! The message model is Switchboard's fork of `rsip` (`crates/rsip`), made tolerant of real
//! traffic. Everything here except `transport` is sans-IO: inputs carry a `now`, outputs are
//! polled, nothing reads a clock or touches a socket.
//!
//! - [`transaction`]: the transaction layer (RFC 3261 §17, RFC 6026, RFC 4320), driven by the
//!   transport shell through `handle_input` / `handle_timeout` / `poll_output` / `poll_timeout`.
//! - [`dialog`]: dialog state and in-dialog request builders (RFC 3261 §12), used by the TU.
//! - [`registrar`] and [`digest`]: the registrar / location service (RFC 3261 §10) with digest
//!   authentication (RFC 7616, RFC 8760), keep-alive OPTIONS towards registered phones.
//! - [`transport`]: the tokio shell: UDP and TCP listeners (RFC 3261 §18, RFC 3581, RFC 5626
//!   keep-alive) and an optional TLS listener (RFC 3261 §26.2.1, RFC 5630), the only module that
//!   does I/O.
#![forbid(unsafe_code)]

pub mod dialog;
pub mod digest;
pub mod message;
mod peer;
pub mod registrar;
pub mod transaction;
pub mod transport;

pub use peer::{Peer, Transport};
