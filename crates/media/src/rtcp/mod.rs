//! RTCP (RFC 3550 §6): packet formats, reception statistics and the report interval.

mod interval;
mod packet;
mod stats;

pub use interval::{MIN_INTERVAL, next_report_delay};
pub use packet::{
    ByeSources, Compound, NtpTime, Packets, ReportBlock, ReportBlocks, RtcpBuildError, RtcpError,
    RtcpPacket, SdesItem, SdesItems, SenderInfo, duration_to_dlsr, write_bye,
    write_receiver_report, write_sdes_cname, write_sender_report,
};
pub use stats::{ReceptionStats, SeqVerdict};
