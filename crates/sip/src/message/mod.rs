//! The SIP message model: Switchboard's `rsip` fork plus framing, limits and builders.

mod response;

pub use response::response_to;
