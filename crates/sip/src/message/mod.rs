//! The SIP message model: Switchboard's `rsip` fork plus framing, limits, validation, typed
//! header access, serialisation and builders.
//!
//! Receive path: a transport cuts frames ([`datagram_frame`] for UDP, [`next_frame`] for
//! streams), [`parse`] turns a frame into a validated [`rsip::SipMessage`], and on failure
//! [`error_response`] gives the stateless answer (or `None`: drop and count).

mod error;
mod framing;
mod headers;
mod parse;
mod raw;
mod response;
mod serialize;
mod validate;

pub use error::{ParseError, error_response};
pub use framing::{Frame, Limits, datagram_frame, next_frame};
pub use headers::{Contacts, HeaderError, SipHeaders};
pub use parse::parse;
pub use response::{overloaded, response_to};
pub use serialize::serialize;
