//! SIP for Switchboard (RFC 3261 and friends).
//!
//! The message model is Switchboard's fork of `rsip` (`crates/rsip`), made tolerant of real
//! traffic. Everything here except `transport` is sans-IO: inputs carry a `now`, outputs are
//! polled, nothing reads a clock or touches a socket.
#![forbid(unsafe_code)]

pub mod dialog;
pub mod message;
mod peer;
pub mod transaction;

pub use peer::{Peer, Transport};
