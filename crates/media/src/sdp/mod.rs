//! SDP (RFC 8866 / RFC 4566) and the offer/answer model (RFC 3264) for G.711 telephony.

mod description;
mod offer_answer;
mod parse;
#[cfg(test)]
mod proptests;

pub use description::{
    Attribute, Bandwidth, Connection, Direction, MediaDescription, Origin, OtherLine, RtpMap,
    SessionDescription, Timing,
};
pub use offer_answer::{
    LocalMedia, LocalSdp, NegotiatedMedia, NegotiationError, SdpAnswer, SdpOffer, accept_answer,
};
pub use parse::{SdpErrorKind, SdpParseError};
