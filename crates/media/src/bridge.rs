//! Relaying a packet received on one leg to the other leg of a bridge.
//!
//! The relay thread calls [`relay`] between [`crate::stream::RtpLeg::handle_rtp`] on one leg
//! and [`crate::stream::RtpLeg::send`] on the other. Voice passes by reference when both legs
//! use the same law, and is transcoded µ↔A through a 256-byte table into the caller's scratch
//! buffer only when they differ. RFC 4733 events pass through with the payload type mapped to
//! the one the other leg negotiated; they are never decoded to audio. Nothing allocates.

use crate::sdp::NegotiatedMedia;
use crate::stream::{OutboundPacket, Received, SourceId};

/// What happened to a received packet.
#[derive(Debug, Clone, Copy)]
pub enum Relayed<'a> {
    /// Send this on the other leg.
    Forward(OutboundPacket<'a>),
    /// A telephone-event the other leg did not negotiate: not forwarded as RTP (the engine may
    /// send the digit as SIP INFO instead; the receiving leg already reported it).
    DtmfNotNegotiated,
    /// A dropped packet, or a payload larger than the scratch buffer.
    Nothing,
}

/// Maps `received` (as classified by the receiving leg) to a packet for the leg whose media
/// is `to`, tagged with `source` so that leg's outbound stream sees one continuous source
/// while the bridge lasts.
pub fn relay<'a>(
    received: Received<'a>,
    to: &NegotiatedMedia,
    source: SourceId,
    scratch: &'a mut [u8],
) -> Relayed<'a> {
    match received {
        Received::Audio {
            codec,
            marker,
            sequence,
            timestamp,
            payload,
        } => {
            let payload: &'a [u8] = if codec == to.codec {
                payload
            } else {
                let Some(buf) = scratch.get_mut(..payload.len()) else {
                    return Relayed::Nothing;
                };
                buf.copy_from_slice(payload);
                codec.transcode_in_place(to.codec, buf);
                buf
            };
            Relayed::Forward(OutboundPacket {
                source,
                payload_type: to.payload_type,
                marker,
                sequence,
                timestamp,
                // G.711: one byte per sample.
                samples: payload.len() as u32,
                payload,
            })
        }
        Received::TelephoneEvent {
            marker,
            sequence,
            timestamp,
            payload,
        } => match to.telephone_event {
            Some(pt) => Relayed::Forward(OutboundPacket {
                source,
                payload_type: pt,
                marker,
                sequence,
                timestamp,
                samples: 0,
                payload,
            }),
            None => Relayed::DtmfNotNegotiated,
        },
        Received::Dropped(_) => Relayed::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::g711::{Codec, alaw_to_linear, linear_to_ulaw};
    use crate::sdp::Direction;

    fn media(codec: Codec, pt: u8, te: Option<u8>) -> NegotiatedMedia {
        NegotiatedMedia {
            media_index: 0,
            codec,
            payload_type: pt,
            telephone_event: te,
            remote_rtp: None,
            remote_rtcp: None,
            local_direction: Direction::SendRecv,
            held_by_remote: false,
            remote_ptime: None,
            rtcp_mux: false,
        }
    }

    #[test]
    fn same_law_passes_the_payload_by_reference() {
        let payload = [0x12u8; 160];
        let mut scratch = [0u8; 0];
        let r = relay(
            Received::Audio {
                codec: Codec::Pcmu,
                marker: true,
                sequence: 5,
                timestamp: 800,
                payload: &payload,
            },
            &media(Codec::Pcmu, 0, None),
            SourceId(7),
            &mut scratch,
        );
        let Relayed::Forward(p) = r else {
            panic!("expected a packet")
        };
        assert!(std::ptr::eq(p.payload, &payload[..]));
        assert_eq!(
            (p.sequence, p.timestamp, p.marker, p.samples),
            (5, 800, true, 160)
        );
    }

    #[test]
    fn different_laws_are_transcoded_into_scratch() {
        let payload = [0xAAu8; 160]; // A-law full scale positive
        let mut scratch = [0u8; 512];
        let r = relay(
            Received::Audio {
                codec: Codec::Pcma,
                marker: false,
                sequence: 1,
                timestamp: 0,
                payload: &payload,
            },
            &media(Codec::Pcmu, 0, None),
            SourceId(7),
            &mut scratch,
        );
        let Relayed::Forward(p) = r else {
            panic!("expected a packet")
        };
        assert_eq!(p.payload_type, 0);
        assert!(
            p.payload
                .iter()
                .all(|b| *b == linear_to_ulaw(alaw_to_linear(0xAA)))
        );
    }

    #[test]
    fn dtmf_passes_through_with_the_other_legs_payload_type() {
        let event = [5u8, 0x0A, 0x01, 0x40];
        let mut scratch = [0u8; 0];
        let r = relay(
            Received::TelephoneEvent {
                marker: true,
                sequence: 9,
                timestamp: 4000,
                payload: &event,
            },
            &media(Codec::Pcma, 8, Some(101)),
            SourceId(7),
            &mut scratch,
        );
        let Relayed::Forward(p) = r else {
            panic!("expected a packet")
        };
        assert_eq!((p.payload_type, p.timestamp, p.samples), (101, 4000, 0));
        assert_eq!(p.payload, event);
        let mut scratch = [0u8; 0];
        let r = relay(
            Received::TelephoneEvent {
                marker: true,
                sequence: 9,
                timestamp: 4000,
                payload: &event,
            },
            &media(Codec::Pcma, 8, None),
            SourceId(7),
            &mut scratch,
        );
        assert!(matches!(r, Relayed::DtmfNotNegotiated));
    }

    #[test]
    fn an_oversized_payload_for_scratch_is_not_relayed() {
        let payload = [0u8; 400];
        let mut scratch = [0u8; 160];
        let r = relay(
            Received::Audio {
                codec: Codec::Pcma,
                marker: false,
                sequence: 1,
                timestamp: 0,
                payload: &payload,
            },
            &media(Codec::Pcmu, 0, None),
            SourceId(7),
            &mut scratch,
        );
        assert!(matches!(r, Relayed::Nothing));
    }
}
