//! One continuous outbound RTP stream per leg, whatever feeds it.
//!
//! A caller hears a greeting, then music on hold, then the agent, then maybe music again. Each
//! source numbers its own packets; if those numbers reached the phone unchanged, it would see
//! the SSRC, sequence and timestamp jump at every switch, and many phones and gateways mute or
//! drop audio until their jitter buffer resynchronises (RFC 3550 §8.2 lets them treat a new
//! SSRC as a new participant). [`OutboundStream`] therefore writes *our* SSRC, and maps each
//! source's sequence and timestamp onto ours with an offset fixed when the source starts:
//!
//! - within one source, deltas are preserved (a gap upstream stays a gap, so the far end's loss
//!   and jitter statistics stay true, and relayed RFC 4733 events keep their shared timestamp);
//! - at a switch, the sequence continues at the next number and the timestamp advances by the
//!   real time elapsed since our last packet (at least one frame), so the far end sees a
//!   talkspurt boundary, not a clock jump; the first packet after the switch carries the marker
//!   (RFC 3550 §5.1, RFC 3551 §4.1: marker on the first packet after silence).
//!
//! Building writes into a caller buffer through `rtp-rs`; nothing here allocates.

use std::time::Instant;

use rtp_rs::{RtpPacketBuilder, Seq};
use thiserror::Error;

/// Identifies what feeds a stream (a player, the other leg of a bridge…). Only equality
/// matters: a different id is a source switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SourceId(pub u64);

/// A packet to send, as numbered by its source.
#[derive(Debug, Clone, Copy)]
pub struct OutboundPacket<'a> {
    /// Who produced it.
    pub source: SourceId,
    /// The payload type on *this* leg (the bridge maps codec and telephone-event numbers).
    pub payload_type: u8,
    /// The source's marker bit.
    pub marker: bool,
    /// The source's sequence number.
    pub sequence: u16,
    /// The source's timestamp.
    pub timestamp: u32,
    /// Samples this packet covers (160 for 20 ms of G.711; 0 for telephone-event packets,
    /// which share their event's timestamp).
    pub samples: u32,
    /// The payload.
    pub payload: &'a [u8],
}

/// Why a packet could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OutboundError {
    /// The output buffer is smaller than the packet.
    #[error("output buffer too small for an RTP packet of {0} bytes")]
    BufferTooSmall(usize),
    /// A payload type above 127.
    #[error("invalid payload type {0}")]
    PayloadType(u8),
}

/// A source whose sequence delta exceeds this is treated as restarted (RFC 3550 A.1 dropout).
const MAX_SEQ_JUMP: u16 = 3000;

#[derive(Debug, Clone, Copy)]
struct Mapping {
    source: SourceId,
    seq_offset: u16,
    ts_offset: u32,
    last_source_seq: u16,
}

#[derive(Debug, Clone, Copy)]
struct LastSent {
    at: Instant,
    sequence: u16,
    timestamp: u32,
    samples: u32,
}

/// Our sending side of one leg: SSRC, sequence and timestamp continuity, sender statistics.
#[derive(Debug, Clone)]
pub struct OutboundStream {
    ssrc: u32,
    clock_rate: u32,
    next_sequence: u16,
    next_timestamp: u32,
    mapping: Option<Mapping>,
    last: Option<LastSent>,
    packets_sent: u32,
    octets_sent: u32,
}

/// Samples in one 20 ms G.711 frame, the advance assumed when nothing better is known.
const DEFAULT_FRAME_SAMPLES: u32 = 160;

impl OutboundStream {
    /// A stream with our SSRC and random initial sequence and timestamp (RFC 3550 §5.1: random
    /// starts; the shell draws them from its seeded RNG).
    pub fn new(ssrc: u32, initial_sequence: u16, initial_timestamp: u32, clock_rate: u32) -> Self {
        OutboundStream {
            ssrc,
            clock_rate,
            next_sequence: initial_sequence,
            next_timestamp: initial_timestamp,
            mapping: None,
            last: None,
            packets_sent: 0,
            octets_sent: 0,
        }
    }

    /// Our SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// RTP packets sent (the SR packet count).
    pub fn packets_sent(&self) -> u32 {
        self.packets_sent
    }

    /// Payload octets sent (the SR octet count).
    pub fn octets_sent(&self) -> u32 {
        self.octets_sent
    }

    /// When the last packet was sent, if any.
    pub fn last_sent_at(&self) -> Option<Instant> {
        self.last.map(|l| l.at)
    }

    /// Our RTP timestamp clock at `now`, extrapolated from the last packet (for the SR,
    /// RFC 3550 §6.4.1: the same instant as the NTP timestamp).
    pub fn rtp_time_at(&self, now: Instant) -> u32 {
        match self.last {
            Some(l) => l
                .timestamp
                .wrapping_add(self.units(now.saturating_duration_since(l.at))),
            None => self.next_timestamp,
        }
    }

    fn units(&self, d: std::time::Duration) -> u32 {
        (d.as_nanos() * u128::from(self.clock_rate) / 1_000_000_000) as u32
    }

    /// Treats the next packet as coming from a new source even if its id is unchanged: its
    /// sequence continues ours at +1, its timestamp advances by the real time elapsed, and it
    /// carries the marker. Used after a pause in sending (hold): a source that kept counting
    /// while we did not send must not show up at the far end as a burst of lost packets.
    pub fn restart_source(&mut self) {
        self.mapping = None;
    }

    /// Writes `packet` into `out` with our SSRC and continuous numbering; returns its length.
    pub fn write(
        &mut self,
        now: Instant,
        packet: &OutboundPacket<'_>,
        out: &mut [u8],
    ) -> Result<usize, OutboundError> {
        if packet.payload_type > 127 {
            return Err(OutboundError::PayloadType(packet.payload_type));
        }
        let continuing = self.mapping.filter(|m| {
            let delta = packet.sequence.wrapping_sub(m.last_source_seq);
            // A forward jump past the dropout limit (and not a small reorder) is a restart.
            m.source == packet.source && !(delta > MAX_SEQ_JUMP && delta < u16::MAX - 100)
        });
        let switched = continuing.is_none();
        let mut m = match continuing {
            Some(m) => m,
            None => {
                let (sequence, timestamp) = match self.last {
                    Some(l) => {
                        let elapsed = self.units(now.saturating_duration_since(l.at));
                        (
                            l.sequence.wrapping_add(1),
                            l.timestamp.wrapping_add(elapsed.max(l.samples)),
                        )
                    }
                    None => (self.next_sequence, self.next_timestamp),
                };
                Mapping {
                    source: packet.source,
                    seq_offset: sequence.wrapping_sub(packet.sequence),
                    ts_offset: timestamp.wrapping_sub(packet.timestamp),
                    last_source_seq: packet.sequence,
                }
            }
        };
        // Track the newest source sequence (serial-number order) for restart detection.
        if (packet.sequence.wrapping_sub(m.last_source_seq) as i16) > 0 {
            m.last_source_seq = packet.sequence;
        }
        self.mapping = Some(m);
        let sequence = packet.sequence.wrapping_add(m.seq_offset);
        let timestamp = packet.timestamp.wrapping_add(m.ts_offset);
        let builder = RtpPacketBuilder::new()
            .payload_type(packet.payload_type)
            .marked(packet.marker || switched)
            .sequence(Seq::from(sequence))
            .timestamp(timestamp)
            .ssrc(self.ssrc)
            .payload(packet.payload);
        let len = builder.target_length();
        let target = out
            .get_mut(..len)
            .ok_or(OutboundError::BufferTooSmall(len))?;
        let written = builder.build_into_unchecked(target);
        let newest = match self.last {
            Some(l) => (sequence.wrapping_sub(l.sequence) as i16) > 0,
            None => true,
        };
        if newest {
            let samples = if packet.samples == 0 {
                self.last.map_or(DEFAULT_FRAME_SAMPLES, |l| l.samples)
            } else {
                packet.samples
            };
            self.last = Some(LastSent {
                at: now,
                sequence,
                timestamp,
                samples,
            });
        }
        self.packets_sent = self.packets_sent.wrapping_add(1);
        self.octets_sent = self.octets_sent.wrapping_add(packet.payload.len() as u32);
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtp_rs::RtpReader;
    use std::time::Duration;

    const PROMPT: SourceId = SourceId(1);
    const AGENT: SourceId = SourceId(2);
    const MOH: SourceId = SourceId(3);

    struct Sent {
        seq: u16,
        ts: u32,
        ssrc: u32,
        marker: bool,
    }

    fn send(
        s: &mut OutboundStream,
        at: Instant,
        source: SourceId,
        seq: u16,
        ts: u32,
        marker: bool,
    ) -> Sent {
        let mut buf = [0u8; 256];
        let payload = [0xFFu8; 160];
        let n = s
            .write(
                at,
                &OutboundPacket {
                    source,
                    payload_type: 0,
                    marker,
                    sequence: seq,
                    timestamp: ts,
                    samples: 160,
                    payload: &payload,
                },
                &mut buf,
            )
            .unwrap();
        assert_eq!(n, 172);
        let r = RtpReader::new(&buf[..n]).unwrap();
        assert_eq!(r.payload().len(), 160);
        Sent {
            seq: r.sequence_number().into(),
            ts: r.timestamp(),
            ssrc: r.ssrc(),
            marker: r.mark(),
        }
    }

    #[test]
    fn prompt_then_agent_then_moh_is_one_continuous_stream() {
        let t0 = Instant::now();
        let mut s = OutboundStream::new(0xABCD, 1000, 50_000, 8000);
        let frame = Duration::from_millis(20);
        let mut out = Vec::new();
        // Prompt: 3 frames, its own numbering.
        for i in 0..3u16 {
            out.push(send(
                &mut s,
                t0 + frame * u32::from(i),
                PROMPT,
                7 + i,
                160 * u32::from(i),
                i == 0,
            ));
        }
        // Agent: wildly different numbering, starts in the next tick.
        for i in 0..3u16 {
            out.push(send(
                &mut s,
                t0 + frame * (3 + u32::from(i)),
                AGENT,
                40_000 + i,
                9_999_999 + 160 * u32::from(i),
                false,
            ));
        }
        // MOH after 1 s of nothing (agent hung up, engine paused).
        let later = t0 + frame * 5 + Duration::from_secs(1);
        for i in 0..2u16 {
            out.push(send(
                &mut s,
                later + frame * u32::from(i),
                MOH,
                3 + i,
                480 * u32::from(i),
                false,
            ));
        }
        assert!(out.iter().all(|p| p.ssrc == 0xABCD));
        let seqs: Vec<u16> = out.iter().map(|p| p.seq).collect();
        assert_eq!(seqs, (1000..1008).collect::<Vec<_>>());
        let ts: Vec<u32> = out.iter().map(|p| p.ts).collect();
        assert_eq!(&ts[..6], &[50_000, 50_160, 50_320, 50_480, 50_640, 50_800]);
        // 1 s of real time = 8000 units after the agent's last packet; MOH's own
        // 480-per-packet numbering is kept from there.
        assert_eq!(ts[6], 50_800 + 8000);
        assert_eq!(ts[7], 50_800 + 8000 + 480);
        let markers: Vec<bool> = out.iter().map(|p| p.marker).collect();
        assert_eq!(
            markers,
            [true, false, false, true, false, false, true, false]
        );
    }

    #[test]
    fn upstream_gaps_are_preserved_within_a_source() {
        let t0 = Instant::now();
        let mut s = OutboundStream::new(1, 0, 0, 8000);
        let a = send(&mut s, t0, AGENT, 10, 1600, false);
        // Packets 11 and 12 lost upstream.
        let b = send(
            &mut s,
            t0 + Duration::from_millis(60),
            AGENT,
            13,
            1600 + 480,
            false,
        );
        assert_eq!(b.seq.wrapping_sub(a.seq), 3);
        assert_eq!(b.ts.wrapping_sub(a.ts), 480);
        assert!(!b.marker);
    }

    #[test]
    fn a_source_restart_is_treated_as_a_switch() {
        let t0 = Instant::now();
        let mut s = OutboundStream::new(1, 100, 0, 8000);
        send(&mut s, t0, AGENT, 10, 0, false);
        let b = send(
            &mut s,
            t0 + Duration::from_millis(20),
            AGENT,
            30_000,
            77,
            false,
        );
        assert_eq!(b.seq, 101);
        assert_eq!(b.ts, 160);
        assert!(b.marker);
    }

    #[test]
    fn switching_within_the_same_tick_still_advances_one_frame() {
        let t0 = Instant::now();
        let mut s = OutboundStream::new(1, 0, 1000, 8000);
        send(&mut s, t0, PROMPT, 0, 0, false);
        let b = send(&mut s, t0, MOH, 0, 0, false);
        assert_eq!(b.ts, 1160);
    }

    #[test]
    fn sequence_and_timestamp_wrap() {
        let t0 = Instant::now();
        let mut s = OutboundStream::new(1, u16::MAX, u32::MAX - 100, 8000);
        let a = send(&mut s, t0, PROMPT, 0, 0, false);
        let b = send(
            &mut s,
            t0 + Duration::from_millis(20),
            PROMPT,
            1,
            160,
            false,
        );
        assert_eq!((a.seq, b.seq), (u16::MAX, 0));
        assert_eq!(b.ts, 59);
    }

    #[test]
    fn sender_report_clock_extrapolates_from_the_last_packet() {
        let t0 = Instant::now();
        let mut s = OutboundStream::new(1, 0, 8000, 8000);
        send(&mut s, t0, PROMPT, 0, 0, false);
        assert_eq!(s.rtp_time_at(t0 + Duration::from_millis(500)), 8000 + 4000);
        assert_eq!((s.packets_sent(), s.octets_sent()), (1, 160));
    }

    #[test]
    fn small_buffer_is_an_error_not_a_panic() {
        let mut s = OutboundStream::new(1, 0, 0, 8000);
        let mut buf = [0u8; 20];
        let e = s.write(
            Instant::now(),
            &OutboundPacket {
                source: PROMPT,
                payload_type: 0,
                marker: false,
                sequence: 0,
                timestamp: 0,
                samples: 160,
                payload: &[0; 160],
            },
            &mut buf,
        );
        assert_eq!(e, Err(OutboundError::BufferTooSmall(172)));
    }
}
