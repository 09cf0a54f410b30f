//! Symmetric RTP latching (the "comedia" rule, RFC 4961 symmetric RTP): send to where the
//! peer's packets actually come from, not to the address its SDP names.
//!
//! A phone behind NAT writes its private address into SDP; its packets arrive from the NAT's
//! public address and port, and only packets sent back there reach it. So the first valid
//! packet latches the leg to its source. After that, packets from anywhere else are dropped,
//! because a latch that follows any packet lets a third party who guesses the port hijack the
//! call's audio. The one exception is a genuine source change: a *different SSRC* from a new
//! address after the latched source has been silent for [`LatchConfig::relatch_after`]
//! (a phone that re-registered from a new NAT binding, a gateway that failed over). A new
//! offer/answer ([`Latch::reset`]) always allows a fresh latch.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Latching policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatchConfig {
    /// Silence of the latched source after which another SSRC may take over.
    pub relatch_after: Duration,
    /// Accept only packets from the IP address the SDP named (trunks with known media
    /// addresses); off for phones, whose SDP address is often private.
    pub strict_source_ip: bool,
}

impl Default for LatchConfig {
    fn default() -> Self {
        LatchConfig {
            relatch_after: Duration::from_secs(2),
            strict_source_ip: false,
        }
    }
}

/// What to do with a packet, as far as its source is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatchDecision {
    /// From the latched source: use it.
    Accept,
    /// First valid packet: the leg is now latched to this address.
    Latched(SocketAddr),
    /// A new source took over after silence.
    Relatched {
        /// The previous address.
        from: SocketAddr,
        /// The new one.
        to: SocketAddr,
    },
    /// Not from the latched source (or, strict, not from the SDP's IP): drop it.
    Reject,
}

#[derive(Debug, Clone, Copy)]
struct Latched {
    address: SocketAddr,
    ssrc: u32,
    last_seen: Instant,
}

/// The source latch of one leg.
#[derive(Debug, Clone)]
pub struct Latch {
    config: LatchConfig,
    expected: Option<SocketAddr>,
    current: Option<Latched>,
}

impl Latch {
    /// A latch expecting the SDP's address (`None` if it gave none or 0.0.0.0).
    pub fn new(expected: Option<SocketAddr>, config: LatchConfig) -> Latch {
        Latch {
            config,
            expected,
            current: None,
        }
    }

    /// A new offer/answer: forget the latch, expect the new address.
    pub fn reset(&mut self, expected: Option<SocketAddr>) {
        self.expected = expected;
        self.current = None;
    }

    /// Where to send: the latched address, else the SDP's.
    pub fn destination(&self) -> Option<SocketAddr> {
        self.current.map(|c| c.address).or(self.expected)
    }

    /// Whether a packet has latched the leg.
    pub fn is_latched(&self) -> bool {
        self.current.is_some()
    }

    /// The SSRC of the latched source.
    pub fn ssrc(&self) -> Option<u32> {
        self.current.map(|c| c.ssrc)
    }

    /// Decides on a valid RTP packet from `from` with `ssrc`.
    pub fn check(&mut self, now: Instant, from: SocketAddr, ssrc: u32) -> LatchDecision {
        if self.config.strict_source_ip
            && let Some(expected) = self.expected
            && expected.ip() != from.ip()
        {
            return LatchDecision::Reject;
        }
        let Some(cur) = self.current.as_mut() else {
            self.current = Some(Latched {
                address: from,
                ssrc,
                last_seen: now,
            });
            return LatchDecision::Latched(from);
        };
        if cur.address == from {
            cur.last_seen = now;
            cur.ssrc = ssrc;
            return LatchDecision::Accept;
        }
        if ssrc != cur.ssrc
            && now.saturating_duration_since(cur.last_seen) >= self.config.relatch_after
        {
            let previous = cur.address;
            *cur = Latched {
                address: from,
                ssrc,
                last_seen: now,
            };
            return LatchDecision::Relatched {
                from: previous,
                to: from,
            };
        }
        LatchDecision::Reject
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn first_packet_latches_even_when_sdp_named_a_private_address() {
        let t0 = Instant::now();
        let mut l = Latch::new(Some(addr("10.0.0.5:4000")), LatchConfig::default());
        assert_eq!(l.destination(), Some(addr("10.0.0.5:4000")));
        assert_eq!(
            l.check(t0, addr("198.51.100.7:61000"), 1),
            LatchDecision::Latched(addr("198.51.100.7:61000"))
        );
        assert_eq!(l.destination(), Some(addr("198.51.100.7:61000")));
        assert_eq!(
            l.check(t0, addr("198.51.100.7:61000"), 1),
            LatchDecision::Accept
        );
    }

    #[test]
    fn a_stranger_cannot_take_over_a_talking_source() {
        let t0 = Instant::now();
        let mut l = Latch::new(None, LatchConfig::default());
        l.check(t0, addr("198.51.100.7:61000"), 1);
        // Different SSRC from elsewhere while the source talks: rejected.
        for i in 0..200 {
            let now = t0 + Duration::from_millis(20 * i);
            assert_eq!(
                l.check(now, addr("198.51.100.7:61000"), 1),
                LatchDecision::Accept
            );
            assert_eq!(
                l.check(now, addr("203.0.113.66:5000"), 99),
                LatchDecision::Reject
            );
        }
        assert_eq!(l.destination(), Some(addr("198.51.100.7:61000")));
    }

    #[test]
    fn same_ssrc_from_a_new_address_never_relatches() {
        let t0 = Instant::now();
        let mut l = Latch::new(None, LatchConfig::default());
        l.check(t0, addr("198.51.100.7:61000"), 1);
        let later = t0 + Duration::from_secs(60);
        assert_eq!(
            l.check(later, addr("203.0.113.66:5000"), 1),
            LatchDecision::Reject
        );
    }

    #[test]
    fn a_new_ssrc_after_silence_relatches() {
        let t0 = Instant::now();
        let mut l = Latch::new(None, LatchConfig::default());
        l.check(t0, addr("198.51.100.7:61000"), 1);
        let early = t0 + Duration::from_millis(1999);
        assert_eq!(
            l.check(early, addr("198.51.100.7:62000"), 2),
            LatchDecision::Reject
        );
        let later = t0 + Duration::from_secs(2);
        assert_eq!(
            l.check(later, addr("198.51.100.7:62000"), 2),
            LatchDecision::Relatched {
                from: addr("198.51.100.7:61000"),
                to: addr("198.51.100.7:62000")
            }
        );
        assert_eq!(l.destination(), Some(addr("198.51.100.7:62000")));
    }

    #[test]
    fn strict_mode_only_accepts_the_sdp_ip() {
        let t0 = Instant::now();
        let config = LatchConfig {
            strict_source_ip: true,
            ..LatchConfig::default()
        };
        let mut l = Latch::new(Some(addr("192.0.2.40:16384")), config);
        assert_eq!(
            l.check(t0, addr("203.0.113.66:16384"), 1),
            LatchDecision::Reject
        );
        // Port may differ (a gateway sending from another port of the same box).
        assert_eq!(
            l.check(t0, addr("192.0.2.40:16390"), 1),
            LatchDecision::Latched(addr("192.0.2.40:16390"))
        );
    }

    #[test]
    fn reset_by_a_new_answer_allows_a_fresh_latch() {
        let t0 = Instant::now();
        let mut l = Latch::new(None, LatchConfig::default());
        l.check(t0, addr("198.51.100.7:61000"), 1);
        l.reset(Some(addr("198.51.100.8:7000")));
        assert!(!l.is_latched());
        assert_eq!(
            l.check(t0, addr("198.51.100.8:7000"), 1),
            LatchDecision::Latched(addr("198.51.100.8:7000"))
        );
    }
}
