//! The worker's hot side: the packet path (RTP and RTCP readiness), the shared playback tick,
//! RFC 4733 packets going out, and the housekeeping sweep. Nothing here allocates per packet
//! or logs above `trace`.

use std::io::ErrorKind;
use std::time::Instant;

use mio::net::UdpSocket;

use super::{
    Channel, EngineEvent, EventSink, Frame, HOUSEKEEPING, LegId, MAX_FRAME, MAX_RECV_ERRORS, Worker,
};
use crate::bridge::{Relayed, relay};
use crate::player::PlaybackEvent;
use crate::stream::{
    MediaEvent, MediaInput, MediaOutput, OutboundPacket, Received, RtpLeg, is_rtcp,
};

impl Worker {
    /// The packet path: every datagram queued on a leg's RTP socket.
    pub(super) fn on_rtp(&mut self, s: usize, now: Instant) {
        let Worker {
            slots,
            rx_buf,
            tx_buf,
            scratch,
            rtcp_buf,
            sink,
            recorder,
            conferences,
            ..
        } = self;
        let mut errors = 0;
        loop {
            let Some(slot) = slots.get_mut(s).and_then(Option::as_mut) else {
                return;
            };
            let (n, from) = match slot.rtp.recv_from(&mut rx_buf[..]) {
                Ok(r) => r,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(_) => {
                    errors += 1;
                    if errors > MAX_RECV_ERRORS {
                        return;
                    }
                    continue;
                }
            };
            let Some(leg) = slot.leg.as_mut() else {
                continue; // No media negotiated yet: nothing to do with it.
            };
            let packet = rx_buf.get(..n).unwrap_or(&[]);
            if leg.media().rtcp_mux && is_rtcp(packet) {
                leg.handle_input(now, MediaInput::Rtcp { from, packet });
                drain_outputs(leg, &slot.rtp, &slot.rtcp, slot.id, rtcp_buf, sink);
                continue;
            }
            let received = leg.handle_rtp(now, from, packet);
            drain_outputs(leg, &slot.rtp, &slot.rtcp, slot.id, rtcp_buf, sink);
            // In a conference the right channel is what the customer hears (the mix), not
            // this agent's own audio (`conference.rs`).
            let recorded = slot
                .recording
                .as_mut()
                .filter(|r| slot.conference.is_none() || !matches!(r.channel, Channel::Right));
            if let (Some(rec), Received::Audio { codec, payload, .. }) = (recorded, received) {
                for chunk in payload.chunks(MAX_FRAME) {
                    let mut frame = Frame {
                        id: rec.id,
                        channel: rec.channel,
                        codec,
                        at: now,
                        len: chunk.len() as u16,
                        payload: [0; MAX_FRAME],
                    };
                    if let Some(dst) = frame.payload.get_mut(..chunk.len()) {
                        dst.copy_from_slice(chunk);
                    }
                    if !recorder.frame(frame) {
                        rec.dropped += 1;
                    }
                }
            }
            if let Some(id) = slot.conference {
                if let Received::Audio { codec, payload, .. } = received
                    && let Some(c) = conferences.iter_mut().find(|c| c.id == id)
                {
                    c.mixer.push(s, codec, payload);
                }
                continue;
            }
            let Some(p) = slot.peer else { continue };
            let Some(peer) = slots.get_mut(p).and_then(Option::as_mut) else {
                continue;
            };
            if peer.playing.is_some() || peer.muted(now) {
                continue;
            }
            let Some(peer_leg) = peer.leg.as_mut() else {
                continue;
            };
            if let Relayed::Forward(packet) = relay(
                received,
                peer_leg.media(),
                peer.bridge_source,
                &mut scratch[..],
            ) && let Ok(Some((to, len))) = peer_leg.send(now, &packet, &mut tx_buf[..])
            {
                let _ = peer.rtp.send_to(tx_buf.get(..len).unwrap_or(&[]), to);
            }
        }
    }

    pub(super) fn on_rtcp(&mut self, s: usize, now: Instant) {
        let Worker {
            slots,
            rx_buf,
            rtcp_buf,
            sink,
            ..
        } = self;
        let mut errors = 0;
        loop {
            let Some(slot) = slots.get_mut(s).and_then(Option::as_mut) else {
                return;
            };
            let (n, from) = match slot.rtcp.recv_from(&mut rx_buf[..]) {
                Ok(r) => r,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(_) => {
                    errors += 1;
                    if errors > MAX_RECV_ERRORS {
                        return;
                    }
                    continue;
                }
            };
            let Some(leg) = slot.leg.as_mut() else {
                continue;
            };
            let packet = rx_buf.get(..n).unwrap_or(&[]);
            leg.handle_input(now, MediaInput::Rtcp { from, packet });
            drain_outputs(leg, &slot.rtp, &slot.rtcp, slot.id, rtcp_buf, sink);
        }
    }

    pub(super) fn on_timer(&mut self, now: Instant) {
        self.tick_playback(now);
        if !self.conferences.is_empty() {
            self.tick_conferences(now);
        }
        if !self.tones.is_empty() {
            self.send_tones(now);
        }
        if now >= self.next_housekeeping {
            self.next_housekeeping = now + HOUSEKEEPING;
            self.housekeeping(now);
        }
    }

    pub(super) fn tick_playback(&mut self, now: Instant) {
        let Worker {
            playback,
            slots,
            tx_buf,
            scratch,
            sink,
            ..
        } = self;
        playback.tick(now, |s, frame| {
            let Some(slot) = slots.get_mut(s).and_then(Option::as_mut) else {
                return;
            };
            if slot.muted(now) {
                return;
            }
            send_audio(
                slot,
                now,
                &Audio {
                    source: frame.source,
                    codec: frame.codec,
                    marker: frame.marker,
                    sequence: frame.sequence,
                    timestamp: frame.timestamp,
                    payload: frame.payload,
                },
                &mut tx_buf[..],
                &mut scratch[..],
            );
        });
        while let Some(PlaybackEvent::Finished(s)) = playback.poll_output() {
            if let Some(slot) = slots.get_mut(s).and_then(Option::as_mut)
                && let Some(tag) = slot.playing.take()
            {
                sink.emit(EngineEvent::PlaybackFinished { leg: slot.id, tag });
            }
        }
    }

    pub(super) fn send_tones(&mut self, now: Instant) {
        let Worker {
            tones,
            slots,
            tx_buf,
            ..
        } = self;
        tones.retain(|t| {
            if t.at > now {
                return true;
            }
            let Some(slot) = slots.get_mut(t.slot).and_then(Option::as_mut) else {
                return false;
            };
            if slot.id != t.leg {
                return false;
            }
            let Some(leg) = slot.leg.as_mut() else {
                return false;
            };
            let Some(pt) = leg.media().telephone_event else {
                return false;
            };
            let payload = t.event.to_bytes();
            let packet = OutboundPacket {
                source: t.source,
                payload_type: pt,
                marker: t.marker,
                sequence: t.sequence,
                timestamp: 0,
                samples: 0,
                payload: &payload,
            };
            if let Ok(Some((to, len))) = leg.send(now, &packet, &mut tx_buf[..]) {
                let _ = slot.rtp.send_to(tx_buf.get(..len).unwrap_or(&[]), to);
            }
            false
        });
    }

    pub(super) fn housekeeping(&mut self, now: Instant) {
        let Worker {
            slots,
            rtcp_buf,
            sink,
            recorder,
            ..
        } = self;
        for slot in slots.iter_mut().flatten() {
            if slot.dtmf_until.is_some_and(|t| now >= t) {
                slot.dtmf_until = None;
            }
            let Some(leg) = slot.leg.as_mut() else {
                continue;
            };
            if leg.poll_timeout().is_some_and(|t| t <= now) {
                leg.handle_timeout(now);
                drain_outputs(leg, &slot.rtp, &slot.rtcp, slot.id, rtcp_buf, sink);
            }
        }
        recorder.flush();
        sink.flush();
    }
}

/// A frame of G.711 audio some source (a player, a conference) produced, as it numbers it.
pub(super) struct Audio<'a> {
    pub(super) source: crate::stream::SourceId,
    pub(super) codec: crate::g711::Codec,
    pub(super) marker: bool,
    pub(super) sequence: u16,
    pub(super) timestamp: u32,
    pub(super) payload: &'a [u8],
}

/// Sends `audio` on `slot`'s leg, in the leg's law (transcoded through `scratch` when the
/// source's differs: the leg may have switched law by re-INVITE under it).
pub(super) fn send_audio(
    slot: &mut super::Slot,
    now: Instant,
    audio: &Audio<'_>,
    tx_buf: &mut [u8],
    scratch: &mut [u8],
) {
    let Some(leg) = slot.leg.as_mut() else { return };
    let media = leg.media();
    let payload: &[u8] = if audio.codec == media.codec {
        audio.payload
    } else {
        let Some(buf) = scratch.get_mut(..audio.payload.len()) else {
            return;
        };
        buf.copy_from_slice(audio.payload);
        audio.codec.transcode_in_place(media.codec, buf);
        buf
    };
    let packet = OutboundPacket {
        source: audio.source,
        payload_type: media.payload_type,
        marker: audio.marker,
        sequence: audio.sequence,
        timestamp: audio.timestamp,
        samples: payload.len() as u32,
        payload,
    };
    if let Ok(Some((to, len))) = leg.send(now, &packet, tx_buf) {
        let _ = slot.rtp.send_to(tx_buf.get(..len).unwrap_or(&[]), to);
    }
}

/// Sends a leg's pending RTCP (from the RTP socket when multiplexed, RFC 5761) and forwards
/// its events.
pub(super) fn drain_outputs(
    leg: &mut RtpLeg,
    rtp: &UdpSocket,
    rtcp: &UdpSocket,
    id: LegId,
    buf: &mut Vec<u8>,
    sink: &mut EventSink,
) {
    while let Some(output) = leg.poll_output(buf) {
        match output {
            MediaOutput::TransmitRtcp { to } => {
                let socket = if leg.media().rtcp_mux { rtp } else { rtcp };
                let _ = socket.send_to(buf, to);
            }
            MediaOutput::Event(e) => sink.emit(match e {
                MediaEvent::Latched(remote) | MediaEvent::Relatched { to: remote, .. } => {
                    EngineEvent::Latched { leg: id, remote }
                }
                MediaEvent::Dtmf(digit) => EngineEvent::Dtmf { leg: id, digit },
                MediaEvent::MediaTimeout { silent_for } => EngineEvent::MediaTimeout {
                    leg: id,
                    silent_for,
                },
                MediaEvent::MediaResumed => EngineEvent::MediaResumed { leg: id },
                MediaEvent::RemoteBye => EngineEvent::RemoteBye { leg: id },
            }),
        }
    }
}
