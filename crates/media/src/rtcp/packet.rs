//! RTCP packet formats (RFC 3550 §6.4–§6.6): SR, RR, SDES, BYE, parsed from and written to
//! compound packets.
//!
//! Parsing borrows the datagram and never allocates: [`Compound::parse`] checks the whole
//! compound once (RFC 3550 Appendix A.2: version 2, first packet SR or RR, padding only on the
//! last packet, lengths adding up to the datagram), then [`Compound::packets`] walks it again
//! yielding [`RtcpPacket`] views whose report blocks, SDES items and BYE sources are iterators
//! over the same bytes. Writing appends to a caller-owned `Vec<u8>` that the shell clears and
//! reuses, so steady-state building does not allocate either.

use thiserror::Error;

/// RTCP packet types (RFC 3550 §12.1).
const PT_SR: u8 = 200;
const PT_RR: u8 = 201;
const PT_SDES: u8 = 202;
const PT_BYE: u8 = 203;
/// SDES item type CNAME (RFC 3550 §6.5.1).
const SDES_CNAME: u8 = 1;
const REPORT_BLOCK_LEN: usize = 24;
const SENDER_INFO_LEN: usize = 20;

/// Why a datagram is not a valid RTCP compound packet. The shell drops it and counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RtcpError {
    /// Fewer than the 4 bytes of a common header, or a packet's declared length runs past the
    /// end of the datagram.
    #[error("RTCP packet truncated: needs {needed} bytes, {available} available")]
    Truncated {
        /// Bytes the header or length field promised.
        needed: usize,
        /// Bytes left in the datagram.
        available: usize,
    },
    /// The version field is not 2.
    #[error("RTCP version {0}, expected 2")]
    BadVersion(u8),
    /// The first packet of a compound is neither SR nor RR (RFC 3550 §6.1).
    #[error("compound RTCP starts with packet type {0}, not SR or RR")]
    FirstNotReport(u8),
    /// Padding on a packet other than the last, or a padding count that does not fit.
    #[error("invalid RTCP padding")]
    BadPadding,
    /// The report count claims more blocks than the packet length holds.
    #[error("packet type {packet_type} claims {count} report blocks but is too short")]
    ReportCount {
        /// SR (200) or RR (201).
        packet_type: u8,
        /// The RC field.
        count: u8,
    },
    /// An SDES chunk or BYE reason runs past its packet.
    #[error("malformed {0} packet body")]
    Malformed(&'static str),
}

/// Why a packet could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RtcpBuildError {
    /// More than 31 report blocks, sources or a 5-bit count field overflow.
    #[error("at most 31 items fit an RTCP count field, got {0}")]
    TooManyItems(usize),
    /// An SDES item or BYE reason longer than 255 bytes.
    #[error("text of {0} bytes exceeds the 255-byte limit")]
    TextTooLong(usize),
}

/// A 64-bit NTP timestamp (RFC 3550 §4): seconds since 1900 in the high word, fraction in the low.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct NtpTime(pub u64);

impl NtpTime {
    /// Seconds from 1900-01-01 to 1970-01-01.
    const UNIX_OFFSET: u64 = 2_208_988_800;

    /// Converts a time since the Unix epoch (what the shell reads from `SystemTime`).
    pub fn from_unix(since_epoch: std::time::Duration) -> NtpTime {
        let secs = since_epoch.as_secs().wrapping_add(Self::UNIX_OFFSET);
        let frac = (u64::from(since_epoch.subsec_nanos()) << 32) / 1_000_000_000;
        NtpTime((secs << 32) | frac)
    }

    /// The middle 32 bits, as carried in LSR (RFC 3550 §6.4.1).
    pub fn middle32(self) -> u32 {
        (self.0 >> 16) as u32
    }

    /// This time advanced by `d`.
    pub fn plus(self, d: std::time::Duration) -> NtpTime {
        NtpTime(self.0.wrapping_add(duration_to_ntp(d)))
    }
}

/// A duration in 32.32 fixed point.
fn duration_to_ntp(d: std::time::Duration) -> u64 {
    (d.as_secs() << 32).wrapping_add((u64::from(d.subsec_nanos()) << 32) / 1_000_000_000)
}

/// A duration in units of 1/65536 s, the unit of DLSR (RFC 3550 §6.4.1).
pub fn duration_to_dlsr(d: std::time::Duration) -> u32 {
    (duration_to_ntp(d) >> 16).min(u64::from(u32::MAX)) as u32
}

/// The sender information of an SR (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderInfo {
    /// Wall-clock time when the report was sent.
    pub ntp_time: NtpTime,
    /// The same instant on the RTP timestamp clock of this sender.
    pub rtp_time: u32,
    /// RTP data packets sent since the stream started.
    pub packet_count: u32,
    /// RTP payload octets sent since the stream started.
    pub octet_count: u32,
}

/// One reception report block (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// The source this block is about.
    pub ssrc: u32,
    /// Fraction of packets lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost, a signed 24-bit value (duplicates can make it negative).
    pub cumulative_lost: i32,
    /// Cycles (high 16 bits) and highest sequence number received.
    pub extended_highest_seq: u32,
    /// Interarrival jitter in RTP timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP time of the last SR from this source, 0 if none.
    pub last_sr: u32,
    /// Delay since that SR in 1/65536 s, 0 if none.
    pub delay_since_last_sr: u32,
}

impl ReportBlock {
    fn read(b: &[u8]) -> Option<ReportBlock> {
        let lost = be32(b, 4)?;
        // Sign-extend the 24-bit cumulative count.
        let cumulative = ((lost & 0x00FF_FFFF) << 8) as i32 >> 8;
        Some(ReportBlock {
            ssrc: be32(b, 0)?,
            fraction_lost: (lost >> 24) as u8,
            cumulative_lost: cumulative,
            extended_highest_seq: be32(b, 8)?,
            jitter: be32(b, 12)?,
            last_sr: be32(b, 16)?,
            delay_since_last_sr: be32(b, 20)?,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        let clamped = self.cumulative_lost.clamp(-0x80_0000, 0x7F_FFFF) as u32 & 0x00FF_FFFF;
        out.extend_from_slice(&((u32::from(self.fraction_lost) << 24) | clamped).to_be_bytes());
        out.extend_from_slice(&self.extended_highest_seq.to_be_bytes());
        out.extend_from_slice(&self.jitter.to_be_bytes());
        out.extend_from_slice(&self.last_sr.to_be_bytes());
        out.extend_from_slice(&self.delay_since_last_sr.to_be_bytes());
    }
}

/// The report blocks of an SR or RR, read lazily from the packet bytes.
#[derive(Debug, Clone)]
pub struct ReportBlocks<'a> {
    bytes: &'a [u8],
}

impl Iterator for ReportBlocks<'_> {
    type Item = ReportBlock;
    fn next(&mut self) -> Option<ReportBlock> {
        let (block, rest) = self.bytes.split_at_checked(REPORT_BLOCK_LEN)?;
        self.bytes = rest;
        ReportBlock::read(block)
    }
}

/// An SDES item (RFC 3550 §6.5) of one chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesItem<'a> {
    /// The source the chunk describes.
    pub ssrc: u32,
    /// Item type: 1 CNAME, 2 NAME, … (RFC 3550 §12.2).
    pub item_type: u8,
    /// The item text, uninterpreted bytes (UTF-8 by the RFC, not trusted here).
    pub text: &'a [u8],
}

/// The items of an SDES packet, chunk by chunk.
#[derive(Debug, Clone)]
pub struct SdesItems<'a> {
    bytes: &'a [u8],
    chunks_left: u8,
    /// Inside a chunk: its SSRC and the offset of the next item.
    current: Option<(u32, usize)>,
}

impl<'a> SdesItems<'a> {
    /// The CNAME of the first chunk that carries one.
    pub fn cname(self) -> Option<SdesItem<'a>> {
        self.into_iter().find(|i| i.item_type == SDES_CNAME)
    }

    /// Checks the whole item list without yielding: used by [`Compound::parse`].
    fn validate(mut self) -> Result<(), RtcpError> {
        while self.step()?.is_some() {}
        Ok(())
    }

    fn step(&mut self) -> Result<Option<SdesItem<'a>>, RtcpError> {
        loop {
            let Some((ssrc, at)) = self.current else {
                if self.chunks_left == 0 {
                    return Ok(None);
                }
                let ssrc = be32(self.bytes, 0).ok_or(RtcpError::Malformed("SDES"))?;
                self.chunks_left -= 1;
                self.current = Some((ssrc, 4));
                continue;
            };
            let item_type = *self.bytes.get(at).ok_or(RtcpError::Malformed("SDES"))?;
            if item_type == 0 {
                // End of chunk: null octets pad it to the next 32-bit boundary (§6.5).
                let next = (at + 4) & !3;
                self.bytes = self.bytes.get(next..).ok_or(RtcpError::Malformed("SDES"))?;
                self.current = None;
                continue;
            }
            let len = usize::from(*self.bytes.get(at + 1).ok_or(RtcpError::Malformed("SDES"))?);
            let text = self
                .bytes
                .get(at + 2..at + 2 + len)
                .ok_or(RtcpError::Malformed("SDES"))?;
            self.current = Some((ssrc, at + 2 + len));
            return Ok(Some(SdesItem {
                ssrc,
                item_type,
                text,
            }));
        }
    }
}

impl<'a> Iterator for SdesItems<'a> {
    type Item = SdesItem<'a>;
    fn next(&mut self) -> Option<SdesItem<'a>> {
        self.step().ok().flatten()
    }
}

/// The sources leaving in a BYE.
#[derive(Debug, Clone)]
pub struct ByeSources<'a> {
    bytes: &'a [u8],
}

impl Iterator for ByeSources<'_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        let (s, rest) = self.bytes.split_at_checked(4)?;
        self.bytes = rest;
        be32(s, 0)
    }
}

/// One packet of a compound, borrowing the datagram.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RtcpPacket<'a> {
    /// Sender report (PT 200).
    SenderReport {
        /// The sender.
        ssrc: u32,
        /// Its sending statistics and clock pair.
        info: SenderInfo,
        /// What it received from others.
        reports: ReportBlocks<'a>,
    },
    /// Receiver report (PT 201).
    ReceiverReport {
        /// The reporter.
        ssrc: u32,
        /// What it received.
        reports: ReportBlocks<'a>,
    },
    /// Source description (PT 202).
    SourceDescription(SdesItems<'a>),
    /// Goodbye (PT 203).
    Bye {
        /// The sources leaving.
        sources: ByeSources<'a>,
        /// The optional reason text.
        reason: Option<&'a [u8]>,
    },
    /// Any other type (APP, feedback, XR…): passed over, not interpreted.
    Other {
        /// Its packet type.
        packet_type: u8,
        /// Its body after the 4-byte header, padding removed.
        body: &'a [u8],
    },
}

/// A validated compound RTCP datagram.
#[derive(Debug, Clone, Copy)]
pub struct Compound<'a> {
    bytes: &'a [u8],
}

impl<'a> Compound<'a> {
    /// Validates a datagram as a compound RTCP packet (RFC 3550 Appendix A.2).
    pub fn parse(bytes: &'a [u8]) -> Result<Compound<'a>, RtcpError> {
        let mut rest = bytes;
        let mut first = true;
        if rest.is_empty() {
            return Err(RtcpError::Truncated {
                needed: 4,
                available: 0,
            });
        }
        while !rest.is_empty() {
            let (packet, tail) = split_packet(rest, tail_is_empty(rest))?;
            if first && !matches!(packet.packet_type, PT_SR | PT_RR) {
                return Err(RtcpError::FirstNotReport(packet.packet_type));
            }
            first = false;
            match packet.decode()? {
                RtcpPacket::SourceDescription(items) => items.validate()?,
                RtcpPacket::Bye { .. }
                | RtcpPacket::SenderReport { .. }
                | RtcpPacket::ReceiverReport { .. }
                | RtcpPacket::Other { .. } => {}
            }
            rest = tail;
        }
        Ok(Compound { bytes })
    }

    /// The packets, in order.
    pub fn packets(&self) -> Packets<'a> {
        Packets { rest: self.bytes }
    }
}

/// Iterator over the packets of a validated [`Compound`].
#[derive(Debug, Clone)]
pub struct Packets<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Packets<'a> {
    type Item = RtcpPacket<'a>;
    fn next(&mut self) -> Option<RtcpPacket<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        // Validated by Compound::parse; on any surprise stop rather than panic.
        let (packet, tail) = split_packet(self.rest, tail_is_empty(self.rest)).ok()?;
        self.rest = tail;
        packet.decode().ok()
    }
}

/// Whether the packet at the start of `b` is the last of the datagram (padding allowed only then).
fn tail_is_empty(b: &[u8]) -> bool {
    match be16(b, 2) {
        Some(words) => b.len() == (usize::from(words) + 1) * 4,
        None => true,
    }
}

struct RawPacket<'a> {
    count: u8,
    packet_type: u8,
    body: &'a [u8],
}

fn split_packet(b: &[u8], is_last: bool) -> Result<(RawPacket<'_>, &[u8]), RtcpError> {
    let header = b.get(..4).ok_or(RtcpError::Truncated {
        needed: 4,
        available: b.len(),
    })?;
    let version = header[0] >> 6;
    if version != 2 {
        return Err(RtcpError::BadVersion(version));
    }
    let padded = header[0] & 0x20 != 0;
    let count = header[0] & 0x1F;
    let packet_type = header[1];
    let len = (usize::from(u16::from_be_bytes([header[2], header[3]])) + 1) * 4;
    let (packet, tail) = b.split_at_checked(len).ok_or(RtcpError::Truncated {
        needed: len,
        available: b.len(),
    })?;
    let mut body = packet.get(4..).unwrap_or_default();
    if padded {
        if !is_last {
            return Err(RtcpError::BadPadding);
        }
        let pad = usize::from(*body.last().ok_or(RtcpError::BadPadding)?);
        if pad == 0 || pad > body.len() {
            return Err(RtcpError::BadPadding);
        }
        body = &body[..body.len() - pad];
    }
    Ok((
        RawPacket {
            count,
            packet_type,
            body,
        },
        tail,
    ))
}

impl<'a> RawPacket<'a> {
    fn decode(&self) -> Result<RtcpPacket<'a>, RtcpError> {
        let body = self.body;
        match self.packet_type {
            PT_SR => {
                let blocks = body
                    .get(
                        4 + SENDER_INFO_LEN
                            ..4 + SENDER_INFO_LEN + REPORT_BLOCK_LEN * usize::from(self.count),
                    )
                    .ok_or(RtcpError::ReportCount {
                        packet_type: PT_SR,
                        count: self.count,
                    })?;
                let ntp_hi = u64::from(be32(body, 4).unwrap_or_default());
                let ntp_lo = u64::from(be32(body, 8).unwrap_or_default());
                Ok(RtcpPacket::SenderReport {
                    ssrc: be32(body, 0).unwrap_or_default(),
                    info: SenderInfo {
                        ntp_time: NtpTime((ntp_hi << 32) | ntp_lo),
                        rtp_time: be32(body, 12).unwrap_or_default(),
                        packet_count: be32(body, 16).unwrap_or_default(),
                        octet_count: be32(body, 20).unwrap_or_default(),
                    },
                    reports: ReportBlocks { bytes: blocks },
                })
            }
            PT_RR => {
                let blocks = body
                    .get(4..4 + REPORT_BLOCK_LEN * usize::from(self.count))
                    .ok_or(RtcpError::ReportCount {
                        packet_type: PT_RR,
                        count: self.count,
                    })?;
                Ok(RtcpPacket::ReceiverReport {
                    ssrc: be32(body, 0).unwrap_or_default(),
                    reports: ReportBlocks { bytes: blocks },
                })
            }
            PT_SDES => Ok(RtcpPacket::SourceDescription(SdesItems {
                bytes: body,
                chunks_left: self.count,
                current: None,
            })),
            PT_BYE => {
                let n = 4 * usize::from(self.count);
                let sources = body.get(..n).ok_or(RtcpError::Malformed("BYE"))?;
                let reason = match body.get(n) {
                    None => None,
                    Some(&len) => Some(
                        body.get(n + 1..n + 1 + usize::from(len))
                            .ok_or(RtcpError::Malformed("BYE"))?,
                    ),
                };
                Ok(RtcpPacket::Bye {
                    sources: ByeSources { bytes: sources },
                    reason,
                })
            }
            packet_type => Ok(RtcpPacket::Other { packet_type, body }),
        }
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at + 2)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Writes a packet header with a placeholder length; [`finish`] fills it.
fn start(out: &mut Vec<u8>, count: usize, packet_type: u8) -> Result<usize, RtcpBuildError> {
    if count > 31 {
        return Err(RtcpBuildError::TooManyItems(count));
    }
    let at = out.len();
    out.extend_from_slice(&[0x80 | count as u8, packet_type, 0, 0]);
    Ok(at)
}

/// Pads to 32 bits with zeros (SDES and BYE rules) and writes the length in words minus one.
fn finish(out: &mut Vec<u8>, at: usize) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    let words = ((out.len() - at) / 4 - 1) as u16;
    out[at + 2..at + 4].copy_from_slice(&words.to_be_bytes());
}

/// Appends a sender report (RFC 3550 §6.4.1).
pub fn write_sender_report(
    out: &mut Vec<u8>,
    ssrc: u32,
    info: &SenderInfo,
    reports: &[ReportBlock],
) -> Result<(), RtcpBuildError> {
    let at = start(out, reports.len(), PT_SR)?;
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.extend_from_slice(&info.ntp_time.0.to_be_bytes());
    out.extend_from_slice(&info.rtp_time.to_be_bytes());
    out.extend_from_slice(&info.packet_count.to_be_bytes());
    out.extend_from_slice(&info.octet_count.to_be_bytes());
    for r in reports {
        r.write(out);
    }
    finish(out, at);
    Ok(())
}

/// Appends a receiver report (RFC 3550 §6.4.2). An empty `reports` is legal: the RFC asks for
/// an empty RR at the head of a compound when there is nothing to report.
pub fn write_receiver_report(
    out: &mut Vec<u8>,
    ssrc: u32,
    reports: &[ReportBlock],
) -> Result<(), RtcpBuildError> {
    let at = start(out, reports.len(), PT_RR)?;
    out.extend_from_slice(&ssrc.to_be_bytes());
    for r in reports {
        r.write(out);
    }
    finish(out, at);
    Ok(())
}

/// Appends an SDES packet with one chunk carrying the CNAME (RFC 3550 §6.5.1: every compound
/// carries one).
pub fn write_sdes_cname(out: &mut Vec<u8>, ssrc: u32, cname: &[u8]) -> Result<(), RtcpBuildError> {
    if cname.len() > 255 {
        return Err(RtcpBuildError::TextTooLong(cname.len()));
    }
    let at = start(out, 1, PT_SDES)?;
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.push(SDES_CNAME);
    out.push(cname.len() as u8);
    out.extend_from_slice(cname);
    // The item list ends with at least one null octet, then pads to a word (§6.5).
    out.push(0);
    finish(out, at);
    Ok(())
}

/// Appends a BYE (RFC 3550 §6.6) for `sources`, with an optional reason.
pub fn write_bye(
    out: &mut Vec<u8>,
    sources: &[u32],
    reason: Option<&[u8]>,
) -> Result<(), RtcpBuildError> {
    let at = start(out, sources.len(), PT_BYE)?;
    for s in sources {
        out.extend_from_slice(&s.to_be_bytes());
    }
    if let Some(reason) = reason {
        if reason.len() > 255 {
            out.truncate(at);
            return Err(RtcpBuildError::TextTooLong(reason.len()));
        }
        out.push(reason.len() as u8);
        out.extend_from_slice(reason);
    }
    finish(out, at);
    Ok(())
}

#[cfg(test)]
#[path = "packet_tests.rs"]
mod tests;
