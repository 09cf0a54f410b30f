//! The RTP stream of one leg: our outbound numbering, the inbound source latch, and the leg
//! session that ties them to RTCP, DTMF and inactivity detection.

mod outbound;

pub use outbound::{OutboundError, OutboundPacket, OutboundStream, SourceId};
