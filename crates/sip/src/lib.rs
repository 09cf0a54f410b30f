//! SIP for Switchboard (RFC 3261 and friends).
//!
//! The message model is Switchboard's fork of `rsip` (`crates/rsip`), made tolerant of real
//! traffic. Everything here except `transport` is sans-IO: inputs carry a `now`, outputs are
//! polled, nothing reads a clock or touches a socket.
//!
//! - [`transaction`]: the transaction layer (RFC 3261 §17, RFC 6026, RFC 4320), driven by the
//!   transport shell through `handle_input` / `handle_timeout` / `poll_output` / `poll_timeout`.
//! - [`dialog`]: dialog state and in-dialog request builders (RFC 3261 §12), used by the TU.
#![forbid(unsafe_code)]

pub mod dialog;
pub mod message;
mod peer;
pub mod transaction;

pub use peer::{Peer, Transport};
