//! [`RtpLeg`]: the media session of one leg, sans-IO.
//!
//! It owns everything per leg that is not a socket: the negotiated media, our outbound
//! numbering ([`OutboundStream`]), the source latch ([`Latch`]), reception statistics
//! ([`ReceptionStats`]), the RFC 4733 receiver, the RTCP report timer and media inactivity
//! detection.
//!
//! The packet path is two direct calls, so the relay thread pays no queueing per packet:
//! [`RtpLeg::handle_rtp`] classifies a received datagram in place and returns a view of its
//! payload ([`Received`]); [`RtpLeg::send`] writes an outbound packet into the caller's buffer
//! and says where to send it. Everything else follows the crate's four-method shape:
//! [`RtpLeg::handle_input`] (RTP, RTCP, a new negotiation, close), [`RtpLeg::handle_timeout`],
//! [`RtpLeg::poll_output`] (events and RTCP datagrams) and [`RtpLeg::poll_timeout`].

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::SmallRng;
use rtp_rs::RtpReader;

use super::latch::{Latch, LatchConfig, LatchDecision};
use super::outbound::{OutboundError, OutboundPacket, OutboundStream};
use crate::dtmf::{DigitReceived, DtmfReceiver};
use crate::g711::Codec;
use crate::rtcp::{
    Compound, NtpTime, ReceptionStats, ReportBlock, RtcpPacket, SenderInfo, SeqVerdict,
    next_report_delay, write_bye, write_receiver_report, write_sdes_cname, write_sender_report,
};
use crate::sdp::NegotiatedMedia;

/// The G.711 and telephone-event clock.
const CLOCK_RATE: u32 = 8000;
/// Events kept for the owner between polls; older ones are dropped past this (bounded memory).
const MAX_PENDING_EVENTS: usize = 32;

/// Per-leg settings, chosen by the shell when it opens the leg.
#[derive(Debug, Clone)]
pub struct LegConfig {
    /// Our SSRC (random, RFC 3550 §8.1).
    pub ssrc: u32,
    /// Our first sequence number (random, §5.1).
    pub initial_sequence: u16,
    /// Our first timestamp (random, §5.1).
    pub initial_timestamp: u32,
    /// The RTCP CNAME (§6.5.1), e.g. `leg-<id>@<host>`.
    pub cname: String,
    /// Latching policy.
    pub latch: LatchConfig,
    /// No RTP for this long while we expect it: [`MediaEvent::MediaTimeout`].
    pub inactivity_timeout: Duration,
    /// While we do not expect RTP (held, inactive): no RTP *nor RTCP* for this long is a
    /// timeout; `None` never times out a held call.
    pub hold_inactivity_timeout: Option<Duration>,
    /// Seed of the RTCP interval randomisation.
    pub rng_seed: u64,
    /// The same instant on the monotonic clock and the wall clock, for SR timestamps.
    pub ntp_anchor: (Instant, NtpTime),
}

/// Input to [`RtpLeg::handle_input`].
#[derive(Debug, Clone)]
pub enum MediaInput<'a> {
    /// A datagram on the RTP socket.
    Rtp {
        /// Its source.
        from: SocketAddr,
        /// Its bytes.
        packet: &'a [u8],
    },
    /// A datagram on the RTCP socket (or an RTCP datagram on a multiplexed RTP socket, see
    /// [`is_rtcp`]).
    Rtcp {
        /// Its source.
        from: SocketAddr,
        /// Its bytes.
        packet: &'a [u8],
    },
    /// A new offer/answer completed (re-INVITE, hold, resume, UPDATE).
    Negotiated(NegotiatedMedia),
    /// The leg ends: send a final report with BYE (RFC 3550 §6.3.7).
    Close,
}

/// What a received RTP datagram turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received<'a> {
    /// Voice in the negotiated codec.
    Audio {
        /// The codec.
        codec: Codec,
        /// The peer's marker bit.
        marker: bool,
        /// The peer's sequence number.
        sequence: u16,
        /// The peer's timestamp.
        timestamp: u32,
        /// The payload, borrowed from the datagram.
        payload: &'a [u8],
    },
    /// An RFC 4733 telephone-event packet (already fed to DTMF detection; relay it as is).
    TelephoneEvent {
        /// The peer's marker bit.
        marker: bool,
        /// The peer's sequence number.
        sequence: u16,
        /// The event's timestamp.
        timestamp: u32,
        /// The 4-byte event payload.
        payload: &'a [u8],
    },
    /// Not for use; counted.
    Dropped(DropReason),
}

/// Why a datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Not an RTP v2 packet.
    Malformed,
    /// A payload type not negotiated on this leg (comfort noise included).
    UnexpectedPayloadType(u8),
    /// Not from the latched source.
    NotLatchedSource,
    /// A sequence jump not yet confirmed (RFC 3550 A.1).
    SequenceJump,
    /// We are not receiving on this leg (we answered sendonly or inactive).
    NotReceiving,
}

/// Whether a datagram on a multiplexed RTP/RTCP port is RTCP (RFC 5761 §4: the second octet,
/// RTCP's packet type, lies in 192–223, where no RTP payload type with or without the marker
/// bit falls for the payload types we negotiate).
pub fn is_rtcp(packet: &[u8]) -> bool {
    packet.get(1).is_some_and(|pt| (192..=223).contains(pt))
}

/// Facts the engine hears about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaEvent {
    /// The first valid packet latched the leg to this address.
    Latched(SocketAddr),
    /// Another source took over after silence.
    Relatched {
        /// The previous address.
        from: SocketAddr,
        /// The new one.
        to: SocketAddr,
    },
    /// A key press (RFC 4733).
    Dtmf(DigitReceived),
    /// No media for the configured time: the engine may hang up.
    MediaTimeout {
        /// How long it has been silent.
        silent_for: Duration,
    },
    /// Media came back after a timeout.
    MediaResumed,
    /// The peer sent an RTCP BYE for its stream.
    RemoteBye,
}

/// Output of [`RtpLeg::poll_output`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaOutput {
    /// An event for the engine.
    Event(MediaEvent),
    /// Send the buffer passed to `poll_output` (an RTCP compound) from the RTCP socket (from
    /// the RTP socket when the media is [`NegotiatedMedia::rtcp_mux`]).
    TransmitRtcp {
        /// Destination.
        to: SocketAddr,
    },
}

/// Counters and quality figures of a leg, for metrics and the CDR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LegStats {
    /// RTP packets accepted.
    pub packets_received: u32,
    /// RTP datagrams dropped (any [`DropReason`]).
    pub packets_dropped: u32,
    /// Packets lost from the current remote source (RFC 3550 A.3).
    pub packets_lost: i32,
    /// Interarrival jitter of the current remote source.
    pub jitter: Duration,
    /// RTP packets we sent.
    pub packets_sent: u32,
    /// The peer's last report about our stream (its fraction lost and jitter), if any.
    pub remote_report: Option<ReportBlock>,
    /// RTCP datagrams that failed to parse.
    pub rtcp_invalid: u32,
}

/// The media session of one leg.
#[derive(Debug)]
pub struct RtpLeg {
    config: LegConfig,
    media: NegotiatedMedia,
    outbound: OutboundStream,
    latch: Latch,
    reception: Option<ReceptionStats>,
    dtmf: DtmfReceiver,
    rtcp_source: Option<SocketAddr>,
    events: VecDeque<MediaEvent>,
    last_activity: Instant,
    timed_out: bool,
    next_report: Instant,
    rtcp_buf: Vec<u8>,
    rtcp_ready: Option<SocketAddr>,
    closed: bool,
    rng: SmallRng,
    stats: LegStats,
}

impl RtpLeg {
    /// Opens a leg once its first offer/answer completed.
    pub fn new(now: Instant, config: LegConfig, media: NegotiatedMedia) -> RtpLeg {
        let mut rng = SmallRng::seed_from_u64(config.rng_seed);
        let next_report = now + next_report_delay(&mut rng, true);
        RtpLeg {
            outbound: OutboundStream::new(
                config.ssrc,
                config.initial_sequence,
                config.initial_timestamp,
                CLOCK_RATE,
            ),
            latch: Latch::new(media.remote_rtp, config.latch),
            reception: None,
            dtmf: DtmfReceiver::new(),
            rtcp_source: None,
            events: VecDeque::with_capacity(8),
            last_activity: now,
            timed_out: false,
            next_report,
            rtcp_buf: Vec::with_capacity(256),
            rtcp_ready: None,
            closed: false,
            rng,
            stats: LegStats::default(),
            config,
            media,
        }
    }

    /// The negotiated media in force.
    pub fn media(&self) -> &NegotiatedMedia {
        &self.media
    }

    /// Where our RTP goes: the latched source, else the SDP address.
    pub fn rtp_destination(&self) -> Option<SocketAddr> {
        self.latch.destination()
    }

    /// Quality figures for metrics and the CDR.
    pub fn stats(&self) -> LegStats {
        let mut s = self.stats;
        if let Some(r) = &self.reception {
            s.packets_lost = r.cumulative_lost();
            s.jitter = r.jitter_duration();
        }
        s.packets_sent = self.outbound.packets_sent();
        s
    }

    /// Classifies one received RTP datagram (the per-packet path: no allocation).
    pub fn handle_rtp<'p>(
        &mut self,
        now: Instant,
        from: SocketAddr,
        packet: &'p [u8],
    ) -> Received<'p> {
        let received = self.classify(now, from, packet);
        match received {
            Received::Dropped(_) => {
                self.stats.packets_dropped = self.stats.packets_dropped.wrapping_add(1)
            }
            _ => self.stats.packets_received = self.stats.packets_received.wrapping_add(1),
        }
        received
    }

    fn classify<'p>(&mut self, now: Instant, from: SocketAddr, packet: &'p [u8]) -> Received<'p> {
        let Ok(rtp) = RtpReader::new(packet) else {
            return Received::Dropped(DropReason::Malformed);
        };
        let pt = rtp.payload_type();
        let is_event = Some(pt) == self.media.telephone_event;
        if pt != self.media.payload_type && !is_event {
            return Received::Dropped(DropReason::UnexpectedPayloadType(pt));
        }
        let ssrc = rtp.ssrc();
        match self.latch.check(now, from, ssrc) {
            LatchDecision::Accept => {}
            LatchDecision::Latched(a) => self.push_event(MediaEvent::Latched(a)),
            LatchDecision::Relatched { from, to } => {
                self.push_event(MediaEvent::Relatched { from, to });
            }
            LatchDecision::Reject => return Received::Dropped(DropReason::NotLatchedSource),
        }
        self.last_activity = now;
        if self.timed_out {
            self.timed_out = false;
            self.push_event(MediaEvent::MediaResumed);
        }
        if !self.media.local_direction.receives() {
            return Received::Dropped(DropReason::NotReceiving);
        }
        let sequence: u16 = rtp.sequence_number().into();
        let timestamp = rtp.timestamp();
        let payload = rtp.payload();
        let stats = match &mut self.reception {
            Some(s) if s.ssrc() == ssrc => s,
            slot => slot.insert(ReceptionStats::new(now, ssrc, sequence, CLOCK_RATE)),
        };
        if stats.on_rtp(now, sequence, timestamp, payload.len()) == SeqVerdict::Bad {
            return Received::Dropped(DropReason::SequenceJump);
        }
        if is_event {
            if let Some(digit) = self.dtmf.on_packet(timestamp, payload) {
                self.push_event(MediaEvent::Dtmf(digit));
            }
            return Received::TelephoneEvent {
                marker: rtp.mark(),
                sequence,
                timestamp,
                payload,
            };
        }
        Received::Audio {
            codec: self.media.codec,
            marker: rtp.mark(),
            sequence,
            timestamp,
            payload,
        }
    }

    /// Writes an outbound packet into `out`; returns the destination and length, or `None`
    /// when nothing is to be sent (we are not sending on this leg, no address known yet, or
    /// the leg is closed).
    pub fn send(
        &mut self,
        now: Instant,
        packet: &OutboundPacket<'_>,
        out: &mut [u8],
    ) -> Result<Option<(SocketAddr, usize)>, OutboundError> {
        if self.closed || !self.media.local_direction.sends() {
            return Ok(None);
        }
        let Some(to) = self.latch.destination() else {
            return Ok(None);
        };
        let len = self.outbound.write(now, packet, out)?;
        Ok(Some((to, len)))
    }

    /// Feeds an input.
    pub fn handle_input(&mut self, now: Instant, input: MediaInput<'_>) {
        match input {
            MediaInput::Rtp { from, packet } => {
                self.handle_rtp(now, from, packet);
            }
            MediaInput::Rtcp { from, packet } => self.handle_rtcp(now, from, packet),
            MediaInput::Negotiated(media) => {
                if media.local_direction.sends() && !self.media.local_direction.sends() {
                    // Resumed: whatever we play or relay went unsent meanwhile; continue our
                    // numbering where it stopped, as a new talkspurt (RFC 3550 §5.1 marker).
                    self.outbound.restart_source();
                }
                if media.remote_rtp != self.media.remote_rtp {
                    self.latch.reset(media.remote_rtp);
                    self.rtcp_source = None;
                }
                self.media = media;
                // Expectations changed (hold, resume): restart the inactivity clock.
                self.last_activity = now;
                self.timed_out = false;
            }
            MediaInput::Close => {
                if !self.closed {
                    self.build_report(now, true);
                    self.closed = true;
                }
            }
        }
    }

    fn handle_rtcp(&mut self, now: Instant, from: SocketAddr, packet: &[u8]) {
        let Ok(compound) = Compound::parse(packet) else {
            self.stats.rtcp_invalid = self.stats.rtcp_invalid.wrapping_add(1);
            return;
        };
        // RTCP latches like RTP, but only to the IP the RTP source uses.
        let rtp_ip = self.latch.destination().map(|a| a.ip());
        if self.latch.is_latched() && rtp_ip != Some(from.ip()) {
            return;
        }
        self.rtcp_source = Some(from);
        if !self.media.local_direction.receives() {
            // While held, RTCP is the sign of life (RFC 3264 §8.4 keeps RTCP flowing).
            self.last_activity = now;
        }
        let remote = self.reception.as_ref().map(ReceptionStats::ssrc);
        let ours = self.outbound.ssrc();
        for p in compound.packets() {
            match p {
                RtcpPacket::SenderReport {
                    ssrc,
                    info,
                    reports,
                } => {
                    if Some(ssrc) == remote
                        && let Some(r) = self.reception.as_mut()
                    {
                        r.on_sender_report(now, info.ntp_time);
                    }
                    self.note_reports(ours, reports);
                }
                RtcpPacket::ReceiverReport { reports, .. } => self.note_reports(ours, reports),
                RtcpPacket::Bye { sources, .. }
                    if remote.is_some_and(|r| sources.clone().any(|s| s == r)) =>
                {
                    self.push_event(MediaEvent::RemoteBye);
                }
                _ => {}
            }
        }
    }

    fn note_reports(&mut self, ours: u32, mut reports: crate::rtcp::ReportBlocks<'_>) {
        if let Some(b) = reports.find(|b| b.ssrc == ours) {
            self.stats.remote_report = Some(b);
        }
    }

    /// Fires the RTCP timer and the inactivity check.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        if now >= self.next_report {
            self.build_report(now, false);
            self.next_report = now + next_report_delay(&mut self.rng, false);
        }
        if let Some(deadline) = self.inactivity_deadline()
            && now >= deadline
        {
            self.timed_out = true;
            self.push_event(MediaEvent::MediaTimeout {
                silent_for: now.saturating_duration_since(self.last_activity),
            });
        }
    }

    fn inactivity_deadline(&self) -> Option<Instant> {
        if self.timed_out || self.closed {
            return None;
        }
        let timeout = if self.media.local_direction.receives() {
            Some(self.config.inactivity_timeout)
        } else {
            self.config.hold_inactivity_timeout
        };
        timeout.map(|t| self.last_activity + t)
    }

    /// The next instant [`RtpLeg::handle_timeout`] has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        Some(match self.inactivity_deadline() {
            Some(d) => d.min(self.next_report),
            None => self.next_report,
        })
    }

    /// The next event or RTCP datagram. For [`MediaOutput::TransmitRtcp`] the datagram is left
    /// in `buf` (its previous content is replaced; both buffers keep their capacity).
    pub fn poll_output(&mut self, buf: &mut Vec<u8>) -> Option<MediaOutput> {
        if let Some(e) = self.events.pop_front() {
            return Some(MediaOutput::Event(e));
        }
        let to = self.rtcp_ready.take()?;
        std::mem::swap(buf, &mut self.rtcp_buf);
        self.rtcp_buf.clear();
        Some(MediaOutput::TransmitRtcp { to })
    }

    fn push_event(&mut self, e: MediaEvent) {
        if self.events.len() >= MAX_PENDING_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(e);
    }

    fn rtcp_destination(&self) -> Option<SocketAddr> {
        if let Some(a) = self.rtcp_source {
            return Some(a);
        }
        if self.media.rtcp_mux {
            return self.latch.destination();
        }
        match self.latch.destination() {
            // Latched somewhere the SDP did not say (NAT): RTCP on the next port, RFC 3550 §11.
            Some(rtp) if self.latch.is_latched() && Some(rtp) != self.media.remote_rtp => {
                Some(SocketAddr::new(rtp.ip(), rtp.port().wrapping_add(1)))
            }
            _ => self.media.remote_rtcp,
        }
    }

    /// Builds SR-or-RR + SDES (+ BYE) into the pending buffer (RFC 3550 §6.1 compound rules).
    fn build_report(&mut self, now: Instant, bye: bool) {
        let Some(to) = self.rtcp_destination() else {
            return;
        };
        self.rtcp_buf.clear();
        let block = self.reception.as_mut().map(|r| r.report_block(now));
        let blocks = block.as_slice();
        let ssrc = self.outbound.ssrc();
        // An SR when we sent RTP since the last report interval (§6.4: "active senders").
        let sent_recently = self
            .outbound
            .last_sent_at()
            .is_some_and(|at| now.saturating_duration_since(at) < crate::rtcp::MIN_INTERVAL * 2);
        let written = if sent_recently {
            let (anchor, ntp) = self.config.ntp_anchor;
            let info = SenderInfo {
                ntp_time: ntp.plus(now.saturating_duration_since(anchor)),
                rtp_time: self.outbound.rtp_time_at(now),
                packet_count: self.outbound.packets_sent(),
                octet_count: self.outbound.octets_sent(),
            };
            write_sender_report(&mut self.rtcp_buf, ssrc, &info, blocks)
        } else {
            write_receiver_report(&mut self.rtcp_buf, ssrc, blocks)
        };
        let written = written
            .and_then(|()| write_sdes_cname(&mut self.rtcp_buf, ssrc, self.config.cname.as_bytes()))
            .and_then(|()| {
                if bye {
                    write_bye(&mut self.rtcp_buf, &[ssrc], None)
                } else {
                    Ok(())
                }
            });
        if written.is_ok() {
            self.rtcp_ready = Some(to);
        } else {
            self.rtcp_buf.clear();
        }
    }
}
