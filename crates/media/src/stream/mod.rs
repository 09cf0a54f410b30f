//! The RTP stream of one leg: our outbound numbering, the inbound source latch, and the leg
//! session that ties them to RTCP, DTMF and inactivity detection.

mod latch;
mod leg;
#[cfg(test)]
mod leg_tests;
mod outbound;

pub use latch::{Latch, LatchConfig, LatchDecision};
pub use leg::{
    DropReason, LegConfig, LegStats, MediaEvent, MediaInput, MediaOutput, Received, RtpLeg, is_rtcp,
};
pub use outbound::{OutboundError, OutboundPacket, OutboundStream, SourceId};
