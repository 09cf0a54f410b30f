//! The media engine on real UDP sockets (127.0.0.1): test phones are plain sockets sending
//! G.711 tones and RFC 4733 events; what they hear is decoded and checked.

mod wire;

use std::thread;
use std::time::Duration;

use switchboard_media::dtmf::{DtmfReceiver, ToneEvent};
use switchboard_media::engine::{EngineError, EngineEvent};
use switchboard_media::g711::Codec;
use switchboard_media::wav::read_stereo_pcm16;
use wire::*;

const CALLER_TONE: f64 = 440.0;
const AGENT_TONE: f64 = 1000.0;
const PROMPT_TONE: f64 = 2000.0;
/// 1.5 s of audio each way.
const FRAMES: usize = 75;

#[test]
fn bridged_call_relays_each_tone_on_one_continuous_stream_and_records_each_side_on_its_channel() {
    let dir = temp_dir("bridge");
    write_prompt(&dir.join("prompts"), "beep", &tone(PROMPT_TONE, 0, 3200));
    let mut t = TestEngine::start(config(41000..=41099, &dir));
    let h = t.handle();
    let (caller, agent) = (Phone::new(), Phone::new());

    let a = h.create_leg(None).unwrap();
    let b = h.create_leg(Some(a.id)).unwrap();
    assert_eq!(a.rtp.port() % 2, 0);
    assert_eq!(a.rtcp.port(), a.rtp.port() + 1);
    // The caller speaks µ-law, the agent A-law: the bridge transcodes.
    h.set_media(a.id, media(Codec::Pcmu, Some(101), caller.addr()))
        .unwrap();
    h.set_media(b.id, media(Codec::Pcma, Some(101), agent.addr()))
        .unwrap();

    // The caller hears a greeting, then the agent: one stream.
    let caller_ear = thread::spawn({
        let sock = caller.rtp.try_clone().unwrap();
        move || listen(&sock)
    });
    let agent_ear = thread::spawn({
        let sock = agent.rtp.try_clone().unwrap();
        move || listen(&sock)
    });
    h.play_prompts(a.id, &["beep"], 7).unwrap();
    let finished = t.wait_for(Duration::from_secs(3), |e| {
        matches!(e, EngineEvent::PlaybackFinished { .. })
    });
    assert_eq!(
        finished,
        EngineEvent::PlaybackFinished { leg: a.id, tag: 7 }
    );

    h.bridge(a.id, b.id).unwrap();
    let rec = h.start_recording(a.id, b.id, "call-1").unwrap();
    let caller_mouth = thread::spawn({
        let sock = caller.rtp.try_clone().unwrap();
        let to = a.rtp;
        move || send_tone(&sock, to, Codec::Pcmu, CALLER_TONE, FRAMES, 0x1111)
    });
    let agent_mouth = thread::spawn({
        let sock = agent.rtp.try_clone().unwrap();
        let to = b.rtp;
        move || send_tone(&sock, to, Codec::Pcma, AGENT_TONE, FRAMES, 0x2222)
    });
    caller_mouth.join().unwrap();
    agent_mouth.join().unwrap();
    let heard_by_caller = caller_ear.join().unwrap();
    let heard_by_agent = agent_ear.join().unwrap();

    h.close_leg(a.id).unwrap();
    h.close_leg(b.id).unwrap();
    let done = t.wait_for(Duration::from_secs(5), |e| {
        matches!(e, EngineEvent::RecordingFinished { .. })
    });
    let mut stats = Vec::new();
    for _ in 0..2 {
        if let EngineEvent::LegClosed { leg, stats: s } = t.wait_for(Duration::from_secs(3), |e| {
            matches!(e, EngineEvent::LegClosed { .. })
        }) {
            stats.push((leg, s.unwrap()));
        }
    }

    // The caller: prompt frames then the agent's tone, one SSRC, no sequence gap.
    let prompt_frames = 3200 / 160;
    assert!(heard_by_caller.len() >= prompt_frames + FRAMES - 2);
    assert!(heard_by_caller.iter().all(|p| p.pt == 0));
    assert!(
        heard_by_caller
            .iter()
            .all(|p| p.ssrc == heard_by_caller[0].ssrc)
    );
    assert_continuous(&heard_by_caller, "caller");
    let prompt = decode(Codec::Pcmu, &heard_by_caller[..prompt_frames]);
    assert!(goertzel(&prompt, PROMPT_TONE) > 100.0 * goertzel(&prompt, AGENT_TONE));
    let switch = &heard_by_caller[prompt_frames];
    assert!(
        switch.marker,
        "the first bridged packet marks the source switch"
    );
    let bridged = decode(Codec::Pcmu, &heard_by_caller[prompt_frames..]);
    assert!(goertzel(&bridged, AGENT_TONE) > 100.0 * goertzel(&bridged, CALLER_TONE));

    // The agent: the caller's tone, transcoded to A-law, one SSRC, no gap.
    assert!(heard_by_agent.len() >= FRAMES - 1);
    assert!(heard_by_agent.iter().all(|p| p.pt == 8));
    assert!(
        heard_by_agent
            .iter()
            .all(|p| p.ssrc == heard_by_agent[0].ssrc)
    );
    assert_ne!(heard_by_agent[0].ssrc, heard_by_caller[0].ssrc);
    assert_continuous(&heard_by_agent, "agent");
    let to_agent = decode(Codec::Pcma, &heard_by_agent);
    assert!(goertzel(&to_agent, CALLER_TONE) > 100.0 * goertzel(&to_agent, AGENT_TONE));

    // The recording: caller left, agent right, about the call's length.
    let EngineEvent::RecordingFinished {
        recording,
        path,
        duration,
        dropped_frames,
        error,
    } = done
    else {
        unreachable!()
    };
    assert_eq!((recording, error, dropped_frames), (rec, None, 0));
    assert_eq!(path, dir.join("recordings/call-1.wav"));
    assert!(
        duration > Duration::from_millis(1200) && duration < Duration::from_millis(2500),
        "{duration:?}"
    );
    let (left, right) = read_stereo_pcm16(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(left.len(), right.len());
    assert!(goertzel(&left, CALLER_TONE) > 100.0 * goertzel(&left, AGENT_TONE));
    assert!(goertzel(&right, AGENT_TONE) > 100.0 * goertzel(&right, CALLER_TONE));

    // CDR figures: every packet counted, none lost.
    for (leg, s) in stats {
        assert!(s.packets_received >= FRAMES as u32 - 1, "{leg:?} {s:?}");
        assert_eq!(s.packets_lost, 0, "{leg:?}");
        assert!(s.packets_sent > 0);
    }
}

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

#[test]
fn a_silent_leg_is_reported_after_the_inactivity_timeout() {
    let dir = temp_dir("inactive");
    let mut c = config(41300..=41399, &dir);
    c.inactivity_timeout = Duration::from_millis(300);
    let mut t = TestEngine::start(c);
    let h = t.handle();
    let phone = Phone::new();
    let leg = h.create_leg(None).unwrap();
    h.set_media(leg.id, media(Codec::Pcmu, None, phone.addr()))
        .unwrap();
    // Some audio, then the phone goes quiet.
    send_tone(&phone.rtp, leg.rtp, Codec::Pcmu, 440.0, 10, 9);
    let stopped = std::time::Instant::now();
    let e = t.wait_for(Duration::from_secs(3), |e| {
        matches!(e, EngineEvent::MediaTimeout { .. })
    });
    let EngineEvent::MediaTimeout { leg: l, silent_for } = e else {
        unreachable!()
    };
    assert_eq!(l, leg.id);
    assert!(silent_for >= Duration::from_millis(300));
    assert!(stopped.elapsed() >= Duration::from_millis(300));
    // And media coming back is reported too.
    send_tone(&phone.rtp, leg.rtp, Codec::Pcmu, 440.0, 2, 9);
    t.wait_for(Duration::from_secs(3), |e| {
        *e == EngineEvent::MediaResumed { leg: leg.id }
    });
}

#[test]
fn ports_are_recycled_after_a_leg_closes() {
    let dir = temp_dir("ports");
    // Two port pairs only.
    let mut t = TestEngine::start(config(41400..=41403, &dir));
    let h = t.handle();
    let first = h.create_leg(None).unwrap();
    let second = h.create_leg(None).unwrap();
    assert!(matches!(
        h.create_leg(None),
        Err(EngineError::NoPortAvailable)
    ));
    h.close_leg(first.id).unwrap();
    t.wait_for(Duration::from_secs(3), |e| {
        *e == EngineEvent::LegClosed {
            leg: first.id,
            stats: None,
        }
    });
    let third = h.create_leg(None).unwrap();
    assert_eq!(third.rtp, first.rtp, "the released port is reused");
    assert_ne!(third.id, first.id);
    assert_ne!(third.rtp, second.rtp);
}

#[test]
fn music_on_hold_loops_until_stopped_and_needs_no_finish_event() {
    let dir = temp_dir("moh");
    write_prompt(&dir.join("prompts/moh"), "default", &tone(600.0, 0, 800));
    let mut t = TestEngine::start(config(41500..=41599, &dir));
    let h = t.handle();
    let phone = Phone::new();
    let leg = h.create_leg(None).unwrap();
    h.set_media(leg.id, media(Codec::Pcmu, None, phone.addr()))
        .unwrap();
    h.play_moh(leg.id, "default", 1).unwrap();
    assert!(matches!(
        h.play_moh(leg.id, "jazz", 2),
        Err(EngineError::MissingPrompt(_))
    ));
    // 800 samples = 5 frames; listen for ~0.5 s of loops.
    let mut heard = Vec::new();
    let mut buf = [0u8; 512];
    while heard.len() < 25 {
        let (n, _) = phone.rtp.recv_from(&mut buf).unwrap();
        heard.push(buf[..n].to_vec());
    }
    h.stop_playback(leg.id).unwrap();
    h.close_leg(leg.id).unwrap();
    t.wait_for(Duration::from_secs(3), |e| {
        matches!(e, EngineEvent::LegClosed { .. })
    });
    assert!(
        !t.seen
            .iter()
            .any(|e| matches!(e, EngineEvent::PlaybackFinished { .. }))
    );
}
