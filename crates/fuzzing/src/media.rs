//! Media targets: SDP offer/answer, one RTP leg fed RTP and RTCP datagrams, RFC 4733 events
//! and SIP INFO dtmf-relay bodies.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use switchboard_media::dtmf::{DtmfReceiver, InfoDtmf, ToneEvent};
use switchboard_media::rtcp::{Compound, NtpTime};
use switchboard_media::sdp::{
    Direction, LocalMedia, LocalSdp, NegotiatedMedia, SdpAnswer, SdpOffer, SessionDescription,
    accept_answer,
};
use switchboard_media::stream::{LatchConfig, LegConfig, MediaInput, RtpLeg};

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5));

/// An SDP body as a peer's offer and as a peer's answer to our offer. What parses prints as
/// text that parses to the same typed description and prints the same again; an accepted offer yields an answer that parses
/// and that our own offer side accepts.
pub fn sdp_offer_answer(data: &[u8]) {
    let Ok(sdp) = SessionDescription::parse(data) else {
        return;
    };
    let printed = sdp.to_string();
    // The printer writes lines in RFC 8866 §5 order, so lines the model keeps as `extra` (a
    // second t=, e=, …) may come back in another order; everything typed must survive, and
    // printing what was re-read must give the same text.
    match SessionDescription::parse(printed.as_bytes()) {
        Ok(again) => {
            assert_eq!(
                (
                    &again.origin,
                    &again.connection,
                    &again.timing,
                    &again.media
                ),
                (&sdp.origin, &sdp.connection, &sdp.timing, &sdp.media),
                "SDP print/parse loses a typed field:\n{printed}"
            );
            assert_eq!(again.to_string(), printed, "SDP printing is not stable");
        }
        Err(error) => panic!("printed SDP does not parse ({error}):\n{printed}"),
    }
    let local = LocalMedia::g711(LOCAL, 30_000);
    let offer = SdpOffer(sdp.clone());
    if let Ok((answer, _media)) = LocalSdp::new(7).answer(&offer, &local) {
        let text = answer.0.to_string();
        let reparsed = SessionDescription::parse(text.as_bytes())
            .unwrap_or_else(|e| panic!("our answer does not parse ({e}):\n{text}"));
        assert_eq!(
            reparsed.media.len(),
            sdp.media.len(),
            "one m= line per offered"
        );
        if let Err(error) = accept_answer(&offer, &SdpAnswer(reparsed)) {
            panic!("our own answer is refused by our offer side ({error}):\n{text}");
        }
    }
    // The same body as the answer to an offer of ours.
    let ours = LocalSdp::new(9).offer(&local, Direction::SendRecv);
    let _ = accept_answer(&ours, &SdpAnswer(sdp));
}

/// A leg negotiated G.711 with telephone-event, fed a script of datagrams. The input is records
/// `[flags, len, len bytes]`: bit 0 of `flags` picks the RTCP socket, bits 1..4 step the clock
/// by that many 20 ms ticks (firing due timers), bit 5 sends from a second address. Each
/// datagram also goes through the RTCP compound parser on its own.
pub fn rtp_rtcp(data: &[u8]) {
    let t0 = Instant::now();
    let mut leg = RtpLeg::new(t0, leg_config(t0), negotiated());
    let peer: SocketAddr = (IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 4000).into();
    let other: SocketAddr = (IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)), 5004).into();
    let mut now = t0;
    let mut rest = data;
    let mut rtcp_out = Vec::new();
    while let [flags, len, tail @ ..] = rest {
        let (packet, next) = tail.split_at(usize::from(*len).min(tail.len()));
        rest = next;
        now += Duration::from_millis(20) * u32::from((flags >> 1) & 0x0F);
        let from = if flags & 0x20 != 0 { other } else { peer };
        if let Ok(compound) = Compound::parse(packet) {
            for _ in compound.packets() {}
        }
        if flags & 1 == 0 {
            let _ = leg.handle_rtp(now, from, packet);
        } else {
            leg.handle_input(now, MediaInput::Rtcp { from, packet });
        }
        if leg.poll_timeout().is_some_and(|t| t <= now) {
            leg.handle_timeout(now);
        }
        let mut outputs = 0;
        while leg.poll_output(&mut rtcp_out).is_some() {
            outputs += 1;
            assert!(outputs < 1_000, "poll_output never runs dry");
        }
        if let Some(deadline) = leg.poll_timeout() {
            // A deadline in the past after handle_timeout(now) would spin the shell's loop.
            assert!(deadline > now || now < t0, "deadline left at or before now");
        }
    }
    leg.handle_input(now, MediaInput::Close);
    while leg.poll_output(&mut rtcp_out).is_some() {}
}

fn negotiated() -> NegotiatedMedia {
    let offer = b"v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n\
m=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";
    let offer =
        SdpOffer(SessionDescription::parse(offer).unwrap_or_else(|e| panic!("fixed offer: {e}")));
    let local = LocalMedia::g711(LOCAL, 30_000);
    LocalSdp::new(42)
        .answer(&offer, &local)
        .map(|(_, media)| media)
        .unwrap_or_else(|e| panic!("fixed offer: {e}"))
}

fn leg_config(t0: Instant) -> LegConfig {
    LegConfig {
        ssrc: 0x1234_5678,
        initial_sequence: 7,
        initial_timestamp: 99,
        cname: "fuzz@switchboard".into(),
        latch: LatchConfig::default(),
        inactivity_timeout: Duration::from_secs(30),
        hold_inactivity_timeout: None,
        rng_seed: 1,
        ntp_anchor: (t0, NtpTime::from_unix(Duration::from_secs(1_700_000_000))),
    }
}

/// RFC 4733 payloads in 6-byte records `[timestamp (2 bytes, scaled), event (4 bytes)]` through
/// one receiver (at most one report per event timestamp), each event's bytes round trip, and
/// the whole input as a SIP INFO `application/dtmf-relay` body.
pub fn rfc4733_events(data: &[u8]) {
    let mut receiver = DtmfReceiver::new();
    let mut reported: Vec<u32> = Vec::new();
    for record in data.chunks(6) {
        let (stamp, payload) = record.split_at(2.min(record.len()));
        let timestamp = u32::from(u16::from_be_bytes([
            stamp.first().copied().unwrap_or(0),
            stamp.get(1).copied().unwrap_or(0),
        ])) * 160;
        if let Ok(event) = ToneEvent::parse(payload) {
            assert_eq!(ToneEvent::parse(&event.to_bytes()), Ok(event));
        }
        if receiver.on_packet(timestamp, payload).is_some() {
            // Stragglers and repeats are absorbed: each report is newer (RFC 3550 serial
            // order) than the one before it, so no key press is reported twice.
            if let Some(&last) = reported.last() {
                assert!(
                    (timestamp.wrapping_sub(last) as i32) > 0,
                    "report at {timestamp} after one at {last}"
                );
            }
            reported.push(timestamp);
        }
    }
    let _ = InfoDtmf::parse(data);
}
