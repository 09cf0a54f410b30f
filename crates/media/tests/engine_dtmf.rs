//! RFC 4733 through the media engine on real UDP sockets: key presses from a test phone with
//! loss and duplicates, and digits the engine sends. (SIPp as an independent sender:
//! `dtmf_sipp.rs`.)

mod wire;

use std::thread;
use std::time::Duration;

use switchboard_media::dtmf::{DtmfReceiver, ToneEvent};
use switchboard_media::engine::EngineEvent;
use switchboard_media::g711::Codec;
use wire::*;

#[test]
fn rfc4733_digits_with_loss_and_duplicates_are_reported_once_each() {
    let dir = temp_dir("dtmf-in");
    let mut t = TestEngine::start(config(41100..=41199, &dir));
    let h = t.handle();
    let phone = Phone::new();
    let leg = h.create_leg(None).unwrap();
    h.set_media(leg.id, media(Codec::Pcmu, Some(101), phone.addr()))
        .unwrap();

    let ev = |event: u8, end: bool, duration: u16| {
        ToneEvent {
            event,
            end,
            volume: 10,
            duration,
        }
        .to_bytes()
    };
    let mut seq = 500u16;
    let send = |seq: &mut u16, marker: bool, ts: u32, payload: &[u8], repeat: usize| {
        for _ in 0..repeat {
            let p = rtp_packet(
                if payload.len() == 4 { 101 } else { 0 },
                marker,
                *seq,
                ts,
                0xABCD,
                payload,
            );
            phone.rtp.send_to(&p, leg.rtp).unwrap();
        }
        *seq = seq.wrapping_add(1);
    };
    // Latch with a little audio first.
    for i in 0..3u32 {
        send(&mut seq, false, i * 160, &[0xFF; 160], 1);
    }
    // "4": the marker packet is lost, updates arrive twice, three end packets.
    seq = seq.wrapping_add(1);
    send(&mut seq, false, 8000, &ev(4, false, 400), 2);
    send(&mut seq, false, 8000, &ev(4, false, 800), 2);
    for _ in 0..3 {
        send(&mut seq, false, 8000, &ev(4, true, 1040), 1);
    }
    // "#": every progress packet lost, only the (redundant) end packets arrive.
    seq = seq.wrapping_add(3);
    for _ in 0..3 {
        send(&mut seq, false, 16000, &ev(11, true, 960), 1);
    }
    // "9": complete, with the end packets duplicated by the network.
    send(&mut seq, true, 24000, &ev(9, false, 160), 1);
    send(&mut seq, false, 24000, &ev(9, false, 320), 1);
    for _ in 0..3 {
        send(&mut seq, false, 24000, &ev(9, true, 480), 2);
    }

    let mut digits = String::new();
    while digits.len() < 3 {
        if let EngineEvent::Dtmf { leg: l, digit } = t.wait_for(Duration::from_secs(3), |e| {
            matches!(e, EngineEvent::Dtmf { .. })
        }) {
            assert_eq!(l, leg.id);
            digits.push(digit.digit.as_char());
        }
    }
    assert_eq!(digits, "4#9");
    // No fourth report arrives for the duplicates.
    h.close_leg(leg.id).unwrap();
    t.wait_for(Duration::from_secs(3), |e| {
        matches!(e, EngineEvent::LegClosed { .. })
    });
    assert_eq!(
        t.seen
            .iter()
            .filter(|e| matches!(e, EngineEvent::Dtmf { .. }))
            .count(),
        3
    );
}

#[test]
fn sent_digits_go_out_as_rfc4733_events_on_the_legs_stream() {
    let dir = temp_dir("dtmf-out");
    let mut t = TestEngine::start(config(41200..=41299, &dir));
    let h = t.handle();
    let phone = Phone::new();
    let leg = h.create_leg(None).unwrap();
    h.set_media(leg.id, media(Codec::Pcma, Some(96), phone.addr()))
        .unwrap();
    let ear = thread::spawn({
        let sock = phone.rtp.try_clone().unwrap();
        move || listen(&sock)
    });
    h.send_dtmf(leg.id, "27", Duration::from_millis(120))
        .unwrap();
    let heard = ear.join().unwrap();
    h.close_leg(leg.id).unwrap();
    t.wait_for(Duration::from_secs(3), |e| {
        matches!(e, EngineEvent::LegClosed { .. })
    });

    assert!(heard.iter().all(|p| p.pt == 96 && p.ssrc == heard[0].ssrc));
    assert_continuous(&heard, "phone");
    let mut rx = DtmfReceiver::new();
    let digits: String = heard
        .iter()
        .filter_map(|p| rx.on_packet(p.ts, &p.payload))
        .map(|d| d.digit.as_char())
        .collect();
    assert_eq!(digits, "27");
    // Each event: marker on its first packet only, one timestamp, three end packets.
    let first_ts = heard[0].ts;
    let first: Vec<_> = heard.iter().filter(|p| p.ts == first_ts).collect();
    assert!(first[0].marker && first[1..].iter().all(|p| !p.marker));
    let ends = first
        .iter()
        .filter(|p| ToneEvent::parse(&p.payload).unwrap().end)
        .count();
    assert_eq!(ends, 3);
    assert_eq!(ToneEvent::parse(&first[0].payload).unwrap().event, 2);
    assert!(heard.iter().any(|p| p.ts != first_ts && p.marker));
}
