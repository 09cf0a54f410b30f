//! SDP (RFC 8866 / RFC 4566) and the offer/answer model (RFC 3264) for G.711 telephony.

mod description;
mod parse;

pub use description::{
    Attribute, Bandwidth, Connection, Direction, MediaDescription, Origin, OtherLine, RtpMap,
    SessionDescription, Timing,
};
pub use parse::{SdpErrorKind, SdpParseError};
