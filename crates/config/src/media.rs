//! `[media]`: where RTP flows and how dead calls are detected.

use std::ops::RangeInclusive;
use std::time::Duration;

/// `[media]`: the RTP port range, media threads and inactivity detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaConfig {
    /// UDP ports for RTP (even) and RTCP (odd), recycled after a quarantine. Two ports per
    /// leg, two legs per bridged call.
    pub rtp_ports: RangeInclusive<u16>,
    /// Media threads (each an epoll loop owning its legs' sockets).
    pub workers: usize,
    /// No RTP on a leg for this long reports the leg dead, so the engine hangs the call up.
    pub inactivity_timeout: Duration,
    /// The same on a leg the far end put on hold (`sendonly`/`inactive`); `None`: never.
    pub hold_inactivity_timeout: Option<Duration>,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            rtp_ports: 20_000..=29_999,
            workers: 1,
            inactivity_timeout: Duration::from_secs(30),
            hold_inactivity_timeout: None,
        }
    }
}
