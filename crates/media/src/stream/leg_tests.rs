//! Tests of [`RtpLeg`] on a simulated clock.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rtp_rs::{RtpPacketBuilder, Seq};

use super::*;
use crate::dtmf::{Digit, ToneEvent};
use crate::g711::Codec;
use crate::rtcp::{
    Compound, NtpTime, ReportBlock, RtcpPacket, SenderInfo, write_bye, write_receiver_report,
    write_sender_report,
};
use crate::sdp::{Direction, NegotiatedMedia};

const PHONE: &str = "198.51.100.7:61000";
const FRAME: Duration = Duration::from_millis(20);
const OUR_SSRC: u32 = 0x5EED_0001;
const PHONE_SSRC: u32 = 0x0000_BEEF;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn media(direction: Direction) -> NegotiatedMedia {
    NegotiatedMedia {
        media_index: 0,
        codec: Codec::Pcmu,
        payload_type: 0,
        telephone_event: Some(120),
        remote_rtp: Some(addr("10.0.0.5:4000")),
        remote_rtcp: Some(addr("10.0.0.5:4001")),
        local_direction: direction,
        held_by_remote: !direction.sends(),
        remote_ptime: None,
        rtcp_mux: false,
    }
}

fn config(t0: Instant) -> LegConfig {
    LegConfig {
        ssrc: OUR_SSRC,
        initial_sequence: 1000,
        initial_timestamp: 0,
        cname: "leg-1@switchboard".into(),
        latch: LatchConfig::default(),
        inactivity_timeout: Duration::from_secs(30),
        hold_inactivity_timeout: None,
        rng_seed: 42,
        ntp_anchor: (t0, NtpTime(0xE000_0000_0000_0000)),
    }
}

fn leg(t0: Instant, direction: Direction) -> RtpLeg {
    RtpLeg::new(t0, config(t0), media(direction))
}

fn rtp(pt: u8, seq: u16, ts: u32, ssrc: u32, marker: bool, payload: &[u8]) -> Vec<u8> {
    RtpPacketBuilder::new()
        .payload_type(pt)
        .sequence(Seq::from(seq))
        .timestamp(ts)
        .ssrc(ssrc)
        .marked(marker)
        .payload(payload)
        .build()
        .unwrap()
}

fn voice(seq: u16) -> Vec<u8> {
    rtp(
        0,
        seq,
        u32::from(seq) * 160,
        PHONE_SSRC,
        false,
        &[0xFF; 160],
    )
}

fn events(leg: &mut RtpLeg) -> Vec<MediaEvent> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    while let Some(o) = leg.poll_output(&mut buf) {
        if let MediaOutput::Event(e) = o {
            out.push(e);
        }
    }
    out
}

/// Runs the timer to `until`; returns every RTCP datagram produced (with its destination) and
/// every event.
fn run_until(leg: &mut RtpLeg, until: Instant) -> (Vec<(SocketAddr, Vec<u8>)>, Vec<MediaEvent>) {
    let mut sent = Vec::new();
    let mut events = Vec::new();
    while let Some(t) = leg.poll_timeout().filter(|t| *t <= until) {
        leg.handle_timeout(t);
        let mut buf = Vec::new();
        while let Some(o) = leg.poll_output(&mut buf) {
            match o {
                MediaOutput::TransmitRtcp { to } => sent.push((to, buf.clone())),
                MediaOutput::Event(e) => events.push(e),
            }
        }
    }
    (sent, events)
}

#[test]
fn first_voice_packet_latches_and_our_audio_follows_it() {
    let t0 = Instant::now();
    let mut l = leg(t0, Direction::SendRecv);
    assert_eq!(l.rtp_destination(), Some(addr("10.0.0.5:4000")));
    let p = voice(1);
    match l.handle_rtp(t0, addr(PHONE), &p) {
        Received::Audio {
            codec,
            payload,
            sequence,
            ..
        } => {
            assert_eq!(codec, Codec::Pcmu);
            assert_eq!(payload.len(), 160);
            assert_eq!(sequence, 1);
        }
        other => panic!("expected audio, got {other:?}"),
    }
    assert_eq!(events(&mut l), [MediaEvent::Latched(addr(PHONE))]);
    let mut out = [0u8; 200];
    let pkt = OutboundPacket {
        source: SourceId(9),
        payload_type: 0,
        marker: false,
        sequence: 5,
        timestamp: 800,
        samples: 160,
        payload: &[0xFF; 160],
    };
    assert_eq!(
        l.send(t0, &pkt, &mut out).unwrap(),
        Some((addr(PHONE), 172))
    );
}

#[test]
fn unnegotiated_payload_types_are_dropped_and_do_not_latch() {
    let t0 = Instant::now();
    let mut l = leg(t0, Direction::SendRecv);
    let cn = rtp(13, 1, 0, PHONE_SSRC, false, &[40]);
    assert_eq!(
        l.handle_rtp(t0, addr("203.0.113.66:5000"), &cn),
        Received::Dropped(DropReason::UnexpectedPayloadType(13))
    );
    assert_eq!(
        l.handle_rtp(t0, addr(PHONE), b"junk"),
        Received::Dropped(DropReason::Malformed)
    );
    assert!(events(&mut l).is_empty());
    assert_eq!(l.stats().packets_dropped, 2);
}

#[test]
fn a_hijacker_is_dropped_while_the_phone_talks() {
    let t0 = Instant::now();
    let mut l = leg(t0, Direction::SendRecv);
    l.handle_rtp(t0, addr(PHONE), &voice(1));
    let evil = rtp(0, 7, 0, 0xBAD, false, &[0; 160]);
    assert_eq!(
        l.handle_rtp(t0 + FRAME, addr("203.0.113.66:5000"), &evil),
        Received::Dropped(DropReason::NotLatchedSource)
    );
    assert_eq!(l.rtp_destination(), Some(addr(PHONE)));
}

#[test]
fn telephone_events_report_each_key_once_and_pass_through() {
    let t0 = Instant::now();
    let mut l = leg(t0, Direction::SendRecv);
    let mut seq = 1;
    let mut relayed = 0;
    for (i, digit) in ['4', '2'].into_iter().enumerate() {
        let ts = 8000 * (i as u32 + 1);
        let d = Digit::from_char(digit).unwrap();
        for p in crate::dtmf::tone_packets(d, Duration::from_millis(100), 8000) {
            let bytes = rtp(120, seq, ts, PHONE_SSRC, p.marker, &p.event.to_bytes());
            seq += 1;
            if let Received::TelephoneEvent {
                payload, timestamp, ..
            } = l.handle_rtp(t0 + p.at, addr(PHONE), &bytes)
            {
                assert_eq!(timestamp, ts);
                assert_eq!(ToneEvent::parse(payload).unwrap().event, d.event());
                relayed += 1;
            }
        }
    }
    assert_eq!(relayed, 2 * 5);
    let digits: String = events(&mut l)
        .into_iter()
        .filter_map(|e| match e {
            MediaEvent::Dtmf(d) => Some(d.digit.as_char()),
            _ => None,
        })
        .collect();
    assert_eq!(digits, "42");
}

#[test]
fn silence_past_the_timeout_is_reported_once_then_resume() {
    let t0 = Instant::now();
    let mut l = leg(t0, Direction::SendRecv);
    l.handle_rtp(t0, addr(PHONE), &voice(1));
    events(&mut l);
    assert!(run_until(&mut l, t0 + Duration::from_secs(29)).1.is_empty());
    assert_eq!(
        run_until(&mut l, t0 + Duration::from_secs(90)).1,
        [MediaEvent::MediaTimeout {
            silent_for: Duration::from_secs(30)
        }]
    );
    l.handle_rtp(t0 + Duration::from_secs(91), addr(PHONE), &voice(2));
    assert_eq!(events(&mut l), [MediaEvent::MediaResumed]);
}

#[test]
fn a_call_on_inactive_hold_does_not_time_out_by_default() {
    let t0 = Instant::now();
    let mut l = leg(t0, Direction::Inactive);
    let (_, events) = run_until(&mut l, t0 + Duration::from_secs(600));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, MediaEvent::MediaTimeout { .. }))
    );
}

#[test]
fn on_hold_rtcp_keeps_the_leg_alive_until_it_stops() {
    let t0 = Instant::now();
    let mut c = config(t0);
    c.hold_inactivity_timeout = Some(Duration::from_secs(60));
    let mut l = RtpLeg::new(t0, c, media(Direction::Inactive));
    let mut rr = Vec::new();
    write_receiver_report(&mut rr, PHONE_SSRC, &[]).unwrap();
    for s in (5..100).step_by(5) {
        l.handle_input(
            t0 + Duration::from_secs(s),
            MediaInput::Rtcp {
                from: addr("10.0.0.5:4001"),
                packet: &rr,
            },
        );
        assert!(run_until(&mut l, t0 + Duration::from_secs(s)).1.is_empty());
    }
    assert_eq!(
        run_until(&mut l, t0 + Duration::from_secs(200)).1,
        [MediaEvent::MediaTimeout {
            silent_for: Duration::from_secs(60)
        }]
    );
}

#[test]
fn no_audio_is_sent_to_a_peer_that_holds_us() {
    let t0 = Instant::now();
    let mut l = leg(t0, Direction::RecvOnly);
    let mut out = [0u8; 200];
    let pkt = OutboundPacket {
        source: SourceId(1),
        payload_type: 0,
        marker: false,
        sequence: 0,
        timestamp: 0,
        samples: 160,
        payload: &[0; 160],
    };
    assert_eq!(l.send(t0, &pkt, &mut out).unwrap(), None);
}

#[test]
fn receiver_reports_go_out_about_every_five_seconds_with_loss() {
    let t0 = Instant::now();
    let mut l = leg(t0, Direction::SendRecv);
    // 100 packets with every tenth lost.
    for seq in 1..=100u16 {
        if seq % 10 != 0 {
            l.handle_rtp(t0 + FRAME * u32::from(seq), addr(PHONE), &voice(seq));
        }
    }
    let (reports, _) = run_until(&mut l, t0 + Duration::from_secs(30));
    assert!(
        (4..=10).contains(&reports.len()),
        "{} reports",
        reports.len()
    );
    // Latched at PHONE (not the SDP address): RTCP goes to the latched IP, port + 1.
    assert!(
        reports
            .iter()
            .all(|(to, _)| *to == addr("198.51.100.7:61001"))
    );
    let first = Compound::parse(&reports[0].1).unwrap();
    let mut packets = first.packets();
    let Some(RtcpPacket::ReceiverReport { ssrc, mut reports }) = packets.next() else {
        panic!("expected an RR first: we sent no RTP");
    };
    assert_eq!(ssrc, OUR_SSRC);
    let block = reports.next().unwrap();
    assert_eq!(block.ssrc, PHONE_SSRC);
    // Valid from seq 2 (probation), highest 99: 98 expected, 9 of them lost (10..90 step 10).
    assert_eq!(block.cumulative_lost, 9);
    assert!(matches!(
        packets.next(),
        Some(RtcpPacket::SourceDescription(_))
    ));
    assert_eq!(l.stats().packets_lost, 9);
}

#[test]
fn an_active_sender_sends_sender_reports_and_reads_the_peers() {
    let t0 = Instant::now();
    let mut l = leg(t0, Direction::SendRecv);
    let mut out = [0u8; 200];
    l.handle_rtp(t0, addr(PHONE), &voice(1));
    for i in 0..50u16 {
        let pkt = OutboundPacket {
            source: SourceId(1),
            payload_type: 0,
            marker: false,
            sequence: i,
            timestamp: u32::from(i) * 160,
            samples: 160,
            payload: &[0xFF; 160],
        };
        l.send(t0 + FRAME * u32::from(i), &pkt, &mut out).unwrap();
    }
    // The phone's SR and its report about our stream.
    let mut sr = Vec::new();
    let theirs = ReportBlock {
        ssrc: OUR_SSRC,
        fraction_lost: 12,
        jitter: 33,
        ..ReportBlock::default()
    };
    let info = SenderInfo {
        ntp_time: NtpTime(0x1111_2222_3333_4444),
        ..SenderInfo::default()
    };
    write_sender_report(&mut sr, PHONE_SSRC, &info, &[theirs]).unwrap();
    l.handle_input(
        t0 + Duration::from_secs(1),
        MediaInput::Rtcp {
            from: addr("198.51.100.7:61001"),
            packet: &sr,
        },
    );
    assert_eq!(l.stats().remote_report, Some(theirs));
    // The first report is due 1.25–3.75 s after the start (RFC 3550 §6.2 halved minimum).
    let (reports, _) = run_until(&mut l, t0 + Duration::from_secs(4));
    let (_, bytes) = reports.first().unwrap();
    let c = Compound::parse(bytes).unwrap();
    let Some(RtcpPacket::SenderReport {
        info, mut reports, ..
    }) = c.packets().next()
    else {
        panic!("expected an SR: we are sending");
    };
    assert_eq!(info.packet_count, 50);
    assert_eq!(info.octet_count, 8000);
    assert_eq!(reports.next().unwrap().last_sr, 0x2222_3333);
}

#[test]
fn closing_sends_a_bye_and_stops_the_timers() {
    let t0 = Instant::now();
    let mut l = leg(t0, Direction::SendRecv);
    l.handle_input(t0, MediaInput::Close);
    let mut buf = Vec::new();
    let Some(MediaOutput::TransmitRtcp { to }) = l.poll_output(&mut buf) else {
        panic!("expected the final report");
    };
    assert_eq!(to, addr("10.0.0.5:4001"));
    let c = Compound::parse(&buf).unwrap();
    assert!(c.packets().any(|p| matches!(p, RtcpPacket::Bye { .. })));
    assert_eq!(l.poll_timeout(), None);
}

#[test]
fn a_remote_bye_is_reported() {
    let t0 = Instant::now();
    let mut l = leg(t0, Direction::SendRecv);
    l.handle_rtp(t0, addr(PHONE), &voice(1));
    events(&mut l);
    let mut bye = Vec::new();
    write_receiver_report(&mut bye, PHONE_SSRC, &[]).unwrap();
    write_bye(&mut bye, &[PHONE_SSRC], Some(b"bye")).unwrap();
    l.handle_input(
        t0,
        MediaInput::Rtcp {
            from: addr("198.51.100.7:61001"),
            packet: &bye,
        },
    );
    assert_eq!(events(&mut l), [MediaEvent::RemoteBye]);
}

#[test]
fn a_reinvite_to_a_new_address_allows_a_new_latch() {
    let t0 = Instant::now();
    let mut l = leg(t0, Direction::SendRecv);
    l.handle_rtp(t0, addr(PHONE), &voice(1));
    let mut moved = media(Direction::SendRecv);
    moved.remote_rtp = Some(addr("192.0.2.99:5000"));
    l.handle_input(t0 + FRAME, MediaInput::Negotiated(moved));
    assert_eq!(l.rtp_destination(), Some(addr("192.0.2.99:5000")));
    let p = voice(2);
    assert!(matches!(
        l.handle_rtp(t0 + FRAME * 2, addr("192.0.2.99:5002"), &p),
        Received::Audio { .. }
    ));
    assert_eq!(l.rtp_destination(), Some(addr("192.0.2.99:5002")));
}

#[test]
fn hold_and_resume_change_what_we_send() {
    let t0 = Instant::now();
    let mut l = leg(t0, Direction::SendRecv);
    let mut out = [0u8; 200];
    let pkt = OutboundPacket {
        source: SourceId(1),
        payload_type: 0,
        marker: false,
        sequence: 0,
        timestamp: 0,
        samples: 160,
        payload: &[0; 160],
    };
    assert!(l.send(t0, &pkt, &mut out).unwrap().is_some());
    l.handle_input(t0, MediaInput::Negotiated(media(Direction::RecvOnly)));
    assert!(l.send(t0, &pkt, &mut out).unwrap().is_none());
    l.handle_input(t0, MediaInput::Negotiated(media(Direction::SendRecv)));
    assert!(l.send(t0, &pkt, &mut out).unwrap().is_some());
}

#[test]
fn resuming_after_hold_continues_the_sequence_without_a_gap() {
    let t0 = Instant::now();
    let mut l = leg(t0, Direction::SendRecv);
    let mut out = [0u8; 200];
    let mut sent = Vec::new();
    // A player keeps numbering its frames whether or not they are sent.
    let mut play = |l: &mut RtpLeg, frame: u16, sent: &mut Vec<(u16, u32, bool)>| {
        let now = t0 + FRAME * u32::from(frame);
        let pkt = OutboundPacket {
            source: SourceId(1),
            payload_type: 0,
            marker: false,
            sequence: frame,
            timestamp: u32::from(frame) * 160,
            samples: 160,
            payload: &[0; 160],
        };
        if let Some((_, n)) = l.send(now, &pkt, &mut out).unwrap() {
            let r = rtp_rs::RtpReader::new(&out[..n]).unwrap();
            sent.push((r.sequence_number().into(), r.timestamp(), r.mark()));
        }
    };
    for f in 0..5 {
        play(&mut l, f, &mut sent);
    }
    l.handle_input(
        t0 + FRAME * 5,
        MediaInput::Negotiated(media(Direction::RecvOnly)),
    );
    for f in 5..55 {
        play(&mut l, f, &mut sent);
    }
    l.handle_input(
        t0 + FRAME * 55,
        MediaInput::Negotiated(media(Direction::SendRecv)),
    );
    for f in 55..60 {
        play(&mut l, f, &mut sent);
    }
    assert_eq!(sent.len(), 10);
    for w in sent.windows(2) {
        assert_eq!(w[1].0, w[0].0.wrapping_add(1), "no sequence gap");
    }
    let (before, after) = (sent[4], sent[5]);
    assert!(after.2, "the first packet after the hold is marked");
    // A second of hold: the timestamp follows the real time elapsed.
    assert_eq!(after.1.wrapping_sub(before.1), 51 * 160);
}

#[test]
fn rtcp_packet_types_are_told_apart_from_rtp_on_a_multiplexed_port() {
    let mut rr = Vec::new();
    write_receiver_report(&mut rr, 1, &[]).unwrap();
    assert!(is_rtcp(&rr));
    assert!(!is_rtcp(&voice(1)));
    // Marker set on PCMU and on a dynamic telephone-event type: still RTP.
    assert!(!is_rtcp(&rtp(0, 1, 0, PHONE_SSRC, true, &[0; 4])));
    assert!(!is_rtcp(&rtp(101, 1, 0, PHONE_SSRC, true, &[0; 4])));
    assert!(!is_rtcp(&[]) && !is_rtcp(&[0x80]));
}

#[test]
fn a_multiplexed_leg_sends_its_reports_to_the_rtp_address() {
    let t0 = Instant::now();
    let mut m = media(Direction::SendRecv);
    m.rtcp_mux = true;
    m.remote_rtcp = m.remote_rtp;
    let mut l = RtpLeg::new(t0, config(t0), m);
    l.handle_rtp(t0, addr(PHONE), &voice(1));
    l.handle_input(t0, MediaInput::Close);
    let mut buf = Vec::new();
    let mut sent_to = None;
    while let Some(o) = l.poll_output(&mut buf) {
        if let MediaOutput::TransmitRtcp { to } = o {
            sent_to = Some(to);
        }
    }
    // Latched to the phone's actual address, and RTCP shares it (not port + 1).
    assert_eq!(sent_to, Some(addr(PHONE)));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_datagrams_on_either_socket_never_panic(
            datagrams in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..64)), 0..40),
        ) {
            let t0 = Instant::now();
            let mut l = leg(t0, Direction::SendRecv);
            let mut buf = Vec::new();
            for (i, (is_rtp, bytes)) in datagrams.iter().enumerate() {
                let now = t0 + FRAME * i as u32;
                if *is_rtp {
                    l.handle_input(now, MediaInput::Rtp { from: addr(PHONE), packet: bytes });
                } else {
                    l.handle_input(now, MediaInput::Rtcp { from: addr("198.51.100.7:61001"), packet: bytes });
                }
                l.handle_timeout(now);
                while l.poll_output(&mut buf).is_some() {}
            }
        }

        #[test]
        fn relayed_sequence_numbers_stay_continuous_across_any_source_switches(
            switches in proptest::collection::vec((1usize..30, any::<u16>(), any::<u32>()), 1..12),
        ) {
            // Each run: a new source (prompt, bridge, MOH…) with its own random numbering,
            // sending a number of 20 ms frames.
            let t0 = Instant::now();
            let mut l = leg(t0, Direction::SendRecv);
            let mut out = [0u8; 200];
            let mut seqs = Vec::new();
            let mut stamps = Vec::new();
            let mut tick = 0u32;
            for (source, (frames, seq0, ts0)) in switches.into_iter().enumerate() {
                for k in 0..frames {
                    let pkt = OutboundPacket {
                        source: SourceId(source as u64),
                        payload_type: 0,
                        marker: false,
                        sequence: seq0.wrapping_add(k as u16),
                        timestamp: ts0.wrapping_add(160 * k as u32),
                        samples: 160,
                        payload: &[0xFF; 160],
                    };
                    let (_, n) = l.send(t0 + FRAME * tick, &pkt, &mut out).unwrap().unwrap();
                    let r = rtp_rs::RtpReader::new(&out[..n]).unwrap();
                    prop_assert_eq!(r.ssrc(), OUR_SSRC);
                    seqs.push(u16::from(r.sequence_number()));
                    stamps.push(r.timestamp());
                    tick += 1;
                }
            }
            for w in seqs.windows(2) {
                prop_assert_eq!(w[1], w[0].wrapping_add(1));
            }
            // One frame of real time between packets: the timestamp advances by exactly 160.
            for w in stamps.windows(2) {
                prop_assert_eq!(w[1].wrapping_sub(w[0]), 160);
            }
        }
    }
}

#[test]
fn leg_state_stays_small() {
    // Memory per anchored call is a budget (issue 5: ≤ 64 KiB per bridged pair, sockets
    // included); the leg's own state must stay a small fraction of it.
    let size = std::mem::size_of::<RtpLeg>();
    assert!(size <= 896, "RtpLeg is {size} bytes");
}
