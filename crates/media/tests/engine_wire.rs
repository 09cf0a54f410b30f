//! The media engine on real UDP sockets (127.0.0.1): test phones are plain sockets sending
//! G.711 tones and RFC 4733 events; what they hear is decoded and checked.

mod wire;

use std::thread;
use std::time::Duration;

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

#[test]
fn a_held_leg_hears_nothing_and_resumes_on_the_same_stream() {
    let dir = temp_dir("hold");
    write_prompt(&dir.join("prompts/moh"), "default", &tone(600.0, 0, 1600));
    let mut t = TestEngine::start(config(41700..=41799, &dir));
    let h = t.handle();
    let phone = Phone::new();
    let leg = h.create_leg(None).unwrap();
    let mut m = media(Codec::Pcmu, None, phone.addr());
    h.set_media(leg.id, m.clone()).unwrap();
    h.play_moh(leg.id, "default", 1).unwrap();
    let recv_n = |n: usize| {
        let mut buf = [0u8; 512];
        (0..n)
            .map(|_| {
                let (len, _) = phone.rtp.recv_from(&mut buf).unwrap();
                let r = rtp_rs::RtpReader::new(&buf[..len]).unwrap();
                (u16::from(r.sequence_number()), r.ssrc(), r.mark())
            })
            .collect::<Vec<_>>()
    };
    let mut heard = recv_n(10);
    // The phone puts us on hold (its sendonly offer: we answer recvonly).
    m.local_direction = switchboard_media::sdp::Direction::RecvOnly;
    h.set_media(leg.id, m.clone()).unwrap();
    let tail = listen(&phone.rtp); // returns after 400 ms of silence
    assert!(
        tail.len() <= 3,
        "audio kept flowing on hold: {}",
        tail.len()
    );
    heard.extend(tail.iter().map(|p| (p.seq, p.ssrc, p.marker)));
    let held_until = heard.len();
    m.local_direction = switchboard_media::sdp::Direction::SendRecv;
    h.set_media(leg.id, m).unwrap();
    heard.extend(recv_n(10));
    h.close_leg(leg.id).unwrap();
    t.wait_for(Duration::from_secs(3), |e| {
        matches!(e, EngineEvent::LegClosed { .. })
    });

    assert!(heard.iter().all(|p| p.1 == heard[0].1), "one SSRC");
    for w in heard.windows(2) {
        assert_eq!(
            w[1].0,
            w[0].0.wrapping_add(1),
            "no sequence gap across the hold"
        );
    }
    assert!(heard[held_until].2, "resumed audio starts a talkspurt");
}

#[test]
fn legs_to_bridge_must_share_a_worker_and_near_places_them_together() {
    let dir = temp_dir("workers");
    let mut c = config(41800..=41899, &dir);
    c.workers = 2;
    let t = TestEngine::start(c);
    let h = t.handle();
    let a = h.create_leg(None).unwrap();
    let b = h.create_leg(None).unwrap();
    assert!(matches!(
        h.bridge(a.id, b.id),
        Err(EngineError::DifferentWorkers(..))
    ));
    assert!(matches!(
        h.start_recording(a.id, b.id, "x"),
        Err(EngineError::DifferentWorkers(..))
    ));
    let c = h.create_leg(Some(a.id)).unwrap();
    h.bridge(a.id, c.id).unwrap();
    assert!(matches!(
        h.start_recording(a.id, c.id, "../escape"),
        Err(EngineError::InvalidRecordingName(_))
    ));
    assert!(matches!(
        h.send_dtmf(a.id, "12x", Duration::from_millis(100)),
        Err(EngineError::InvalidDigit('x'))
    ));
}

#[test]
fn closing_a_leg_sends_rtcp_bye_and_keeps_the_phones_report_for_the_cdr() {
    use switchboard_media::rtcp::{
        Compound, ReportBlock, RtcpPacket, write_receiver_report, write_sdes_cname,
    };
    let dir = temp_dir("rtcp");
    write_prompt(&dir.join("prompts"), "beep", &tone(700.0, 0, 8000));
    let mut t = TestEngine::start(config(41900..=41999, &dir));
    let h = t.handle();
    let phone = Phone::new();
    phone
        .rtcp
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let leg = h.create_leg(None).unwrap();
    h.set_media(leg.id, media(Codec::Pcmu, None, phone.addr()))
        .unwrap();
    h.play_prompts(leg.id, &["beep"], 1).unwrap();
    // The phone talks (so it is latched) and learns our SSRC from what it hears.
    send_tone(&phone.rtp, leg.rtp, Codec::Pcmu, 300.0, 5, 0x77);
    let mut buf = [0u8; 512];
    let (n, _) = phone.rtp.recv_from(&mut buf).unwrap();
    let our_ssrc = rtp_rs::RtpReader::new(&buf[..n]).unwrap().ssrc();
    // Its receiver report on our stream.
    let block = ReportBlock {
        ssrc: our_ssrc,
        fraction_lost: 3,
        cumulative_lost: 2,
        extended_highest_seq: 77,
        jitter: 40,
        last_sr: 0,
        delay_since_last_sr: 0,
    };
    let mut rr = Vec::new();
    write_receiver_report(&mut rr, 0x77, &[block]).unwrap();
    write_sdes_cname(&mut rr, 0x77, b"phone@test").unwrap();
    phone.rtcp.send_to(&rr, leg.rtcp).unwrap();
    // Let the RR land before the close.
    send_tone(&phone.rtp, leg.rtp, Codec::Pcmu, 300.0, 3, 0x77);

    h.close_leg(leg.id).unwrap();
    let EngineEvent::LegClosed { stats, .. } = t.wait_for(Duration::from_secs(3), |e| {
        matches!(e, EngineEvent::LegClosed { .. })
    }) else {
        unreachable!()
    };
    let stats = stats.unwrap();
    assert_eq!(stats.remote_report, Some(block));
    assert!(stats.packets_received >= 8);

    // The final compound: a sender report (we were sending), our CNAME, and BYE.
    let (n, _) = phone.rtcp.recv_from(&mut buf).unwrap();
    let compound = Compound::parse(&buf[..n]).unwrap();
    let kinds: Vec<_> = compound
        .packets()
        .map(|p| match p {
            RtcpPacket::SenderReport { ssrc, .. } => ("SR", ssrc),
            RtcpPacket::ReceiverReport { ssrc, .. } => ("RR", ssrc),
            RtcpPacket::SourceDescription(_) => ("SDES", 0),
            RtcpPacket::Bye { .. } => ("BYE", 0),
            _ => ("other", 0),
        })
        .collect();
    assert_eq!(kinds, [("SR", our_ssrc), ("SDES", 0), ("BYE", 0)]);
}

#[test]
fn unbridging_finishes_the_recording_and_the_file_is_a_valid_wav() {
    let dir = temp_dir("unbridge");
    let mut t = TestEngine::start(config(42000..=42099, &dir));
    let h = t.handle();
    let (caller, agent) = (Phone::new(), Phone::new());
    let a = h.create_leg(None).unwrap();
    let b = h.create_leg(Some(a.id)).unwrap();
    h.set_media(a.id, media(Codec::Pcma, None, caller.addr()))
        .unwrap();
    h.set_media(b.id, media(Codec::Pcma, None, agent.addr()))
        .unwrap();
    h.bridge(a.id, b.id).unwrap();
    let rec = h.start_recording(a.id, b.id, "short").unwrap();
    send_tone(&caller.rtp, a.rtp, Codec::Pcma, 500.0, 25, 5);
    h.unbridge(b.id).unwrap();
    let EngineEvent::RecordingFinished {
        recording,
        path,
        duration,
        error,
        ..
    } = t.wait_for(Duration::from_secs(3), |e| {
        matches!(e, EngineEvent::RecordingFinished { .. })
    })
    else {
        unreachable!()
    };
    assert_eq!((recording, error), (rec, None));
    assert!(duration >= Duration::from_millis(400), "{duration:?}");
    let (left, right) = read_stereo_pcm16(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(left.len(), right.len());
    assert!(goertzel(&left, 500.0) > 100.0 * goertzel(&right, 500.0).max(1.0));
    // The legs live on, unbridged: the agent hears nothing more from the caller.
    send_tone(&caller.rtp, a.rtp, Codec::Pcma, 500.0, 3, 5);
    let _ = listen(&agent.rtp);
    let mut buf = [0u8; 256];
    agent
        .rtp
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    send_tone(&caller.rtp, a.rtp, Codec::Pcma, 500.0, 3, 5);
    assert!(agent.rtp.recv_from(&mut buf).is_err());
}

#[test]
fn with_rtcp_mux_reports_travel_on_the_rtp_port_both_ways() {
    use switchboard_media::rtcp::{
        Compound, ReportBlock, RtcpPacket, write_receiver_report, write_sdes_cname,
    };
    let dir = temp_dir("rtcp-mux");
    let mut t = TestEngine::start(config(42100..=42199, &dir));
    let h = t.handle();
    let phone = Phone::new();
    let leg = h.create_leg(None).unwrap();
    let mut m = media(Codec::Pcmu, None, phone.addr());
    m.rtcp_mux = true;
    m.remote_rtcp = m.remote_rtp;
    h.set_media(leg.id, m).unwrap();
    send_tone(&phone.rtp, leg.rtp, Codec::Pcmu, 300.0, 3, 0x99);
    let block = ReportBlock {
        ssrc: 0x1234,
        fraction_lost: 1,
        ..ReportBlock::default()
    };
    let mut rr = Vec::new();
    write_receiver_report(&mut rr, 0x99, &[block]).unwrap();
    write_sdes_cname(&mut rr, 0x99, b"phone@test").unwrap();
    // On the RTP port, not RTCP's.
    phone.rtp.send_to(&rr, leg.rtp).unwrap();
    send_tone(&phone.rtp, leg.rtp, Codec::Pcmu, 300.0, 2, 0x99);
    h.close_leg(leg.id).unwrap();
    let EngineEvent::LegClosed { stats, .. } = t.wait_for(Duration::from_secs(3), |e| {
        matches!(e, EngineEvent::LegClosed { .. })
    }) else {
        unreachable!()
    };
    let stats = stats.unwrap();
    // The RR was read as RTCP (not dropped as a malformed or unknown RTP packet)…
    assert_eq!(stats.packets_dropped, 0);
    assert_eq!(stats.packets_received, 5);
    // …and our BYE comes back on the phone's RTP port.
    let mut buf = [0u8; 512];
    let (n, _) = phone.rtp.recv_from(&mut buf).unwrap();
    let compound = Compound::parse(&buf[..n]).unwrap();
    assert!(
        compound
            .packets()
            .any(|p| matches!(p, RtcpPacket::Bye { .. }))
    );
}

/// The API's hold: the agent's leg is deafened, so it hears nothing of the caller while the
/// bridge and its recording go on; given back, the caller's audio flows again on the same
/// stream.
#[test]
fn a_deafened_leg_hears_nothing_of_its_bridge_while_the_recording_goes_on() {
    let dir = temp_dir("deaf");
    let mut t = TestEngine::start(config(41900..=41999, &dir));
    let h = t.handle();
    let (caller, agent) = (Phone::new(), Phone::new());
    let a = h.create_leg(None).unwrap();
    let b = h.create_leg(Some(a.id)).unwrap();
    h.set_media(a.id, media(Codec::Pcmu, Some(101), caller.addr()))
        .unwrap();
    h.set_media(b.id, media(Codec::Pcmu, Some(101), agent.addr()))
        .unwrap();
    h.bridge(a.id, b.id).unwrap();
    let rec = h.start_recording(a.id, b.id, "held").unwrap();

    // Held: 0.5 s of the caller's tone reaches nobody.
    h.deafen(b.id, true).unwrap();
    let agent_ear = thread::spawn({
        let sock = agent.rtp.try_clone().unwrap();
        move || listen(&sock)
    });
    send_tone(&caller.rtp, a.rtp, Codec::Pcmu, CALLER_TONE, 25, 0x3333);
    let heard_while_held = agent_ear.join().unwrap();
    assert!(
        heard_while_held.is_empty(),
        "the held agent heard {} packets",
        heard_while_held.len()
    );

    // Retrieved: the tone reaches the agent again.
    h.deafen(b.id, false).unwrap();
    let agent_ear = thread::spawn({
        let sock = agent.rtp.try_clone().unwrap();
        move || listen(&sock)
    });
    send_tone(&caller.rtp, a.rtp, Codec::Pcmu, CALLER_TONE, 25, 0x3333);
    let heard = agent_ear.join().unwrap();
    assert!(
        heard.len() >= 24,
        "{} packets after the retrieve",
        heard.len()
    );
    let audio = decode(Codec::Pcmu, &heard);
    assert!(goertzel(&audio, CALLER_TONE) > 100.0 * goertzel(&audio, AGENT_TONE));

    // The recording ran through the hold: the caller's channel has about a second of tone.
    h.close_leg(a.id).unwrap();
    h.close_leg(b.id).unwrap();
    let EngineEvent::RecordingFinished {
        recording, path, ..
    } = t.wait_for(Duration::from_secs(5), |e| {
        matches!(e, EngineEvent::RecordingFinished { .. })
    })
    else {
        unreachable!()
    };
    assert_eq!(recording, rec);
    let (left, _) = read_stereo_pcm16(&std::fs::read(&path).unwrap()).unwrap();
    let toned = left
        .chunks(160)
        .filter(|frame| goertzel(frame, CALLER_TONE) > 1e6)
        .count();
    assert!(toned >= 45, "{toned} frames of the caller's tone recorded");
    t.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A three-party conference on real sockets: each phone hears the other two and not itself,
/// in its own law, and the recording that was the customer/agent pair goes on with the
/// customer on the left and what the customer hears (both agents) on the right.
#[test]
fn a_conference_lets_each_of_three_phones_hear_the_other_two_and_records_the_mix() {
    const THIRD_TONE: f64 = 1700.0;
    let dir = temp_dir("conference");
    let mut t = TestEngine::start(config(42000..=42099, &dir));
    let h = t.handle();
    let (caller, agent, consulted) = (Phone::new(), Phone::new(), Phone::new());
    let a = h.create_leg(None).unwrap();
    let b = h.create_leg(Some(a.id)).unwrap();
    let c = h.create_leg(Some(a.id)).unwrap();
    h.set_media(a.id, media(Codec::Pcmu, Some(101), caller.addr()))
        .unwrap();
    h.set_media(b.id, media(Codec::Pcma, Some(101), agent.addr()))
        .unwrap();
    h.set_media(c.id, media(Codec::Pcmu, Some(101), consulted.addr()))
        .unwrap();
    h.bridge(a.id, b.id).unwrap();
    let rec = h.start_recording(a.id, b.id, "conf").unwrap();
    h.conference(&[a.id, b.id, c.id]).unwrap();

    let ears: Vec<_> = [&caller, &agent, &consulted]
        .iter()
        .map(|phone| {
            let sock = phone.rtp.try_clone().unwrap();
            thread::spawn(move || listen(&sock))
        })
        .collect();
    let mouths: Vec<_> = [
        (&caller, a.rtp, Codec::Pcmu, CALLER_TONE),
        (&agent, b.rtp, Codec::Pcma, AGENT_TONE),
        (&consulted, c.rtp, Codec::Pcmu, THIRD_TONE),
    ]
    .into_iter()
    .enumerate()
    .map(|(k, (phone, to, codec, freq))| {
        let sock = phone.rtp.try_clone().unwrap();
        thread::spawn(move || send_tone(&sock, to, codec, freq, FRAMES, 0x4000 + k as u32))
    })
    .collect();
    for m in mouths {
        m.join().unwrap();
    }
    // The mixer sends every 20 ms (silence when nobody speaks): the ears stop hearing only
    // once the legs are closed.
    thread::sleep(Duration::from_millis(60));
    h.close_leg(a.id).unwrap();
    h.close_leg(b.id).unwrap();
    h.close_leg(c.id).unwrap();
    let heard: Vec<Vec<Heard>> = ears.into_iter().map(|e| e.join().unwrap()).collect();
    let tones = [CALLER_TONE, AGENT_TONE, THIRD_TONE];
    let laws = [Codec::Pcmu, Codec::Pcma, Codec::Pcmu];
    for (k, packets) in heard.iter().enumerate() {
        assert!(
            packets.len() >= FRAMES - 5,
            "phone {k}: {} packets",
            packets.len()
        );
        assert!(packets.iter().all(|p| p.pt == laws[k].payload_type()));
        assert_continuous(packets, "conference member");
        // Skip the first few frames (the tones start at slightly different times).
        let audio = decode(laws[k], &packets[5..]);
        let own = goertzel(&audio, tones[k]);
        for (o, freq) in tones.iter().enumerate().filter(|(o, _)| *o != k) {
            assert!(
                goertzel(&audio, *freq) > 30.0 * own.max(1.0),
                "phone {k} hears phone {o} well above itself"
            );
        }
    }

    let EngineEvent::RecordingFinished {
        recording, path, ..
    } = t.wait_for(Duration::from_secs(5), |e| {
        matches!(e, EngineEvent::RecordingFinished { .. })
    })
    else {
        unreachable!()
    };
    assert_eq!(recording, rec);
    let (left, right) = read_stereo_pcm16(&std::fs::read(&path).unwrap()).unwrap();
    assert!(goertzel(&left, CALLER_TONE) > 30.0 * goertzel(&left, AGENT_TONE));
    assert!(goertzel(&right, AGENT_TONE) > 30.0 * goertzel(&right, CALLER_TONE));
    assert!(goertzel(&right, THIRD_TONE) > 30.0 * goertzel(&right, CALLER_TONE));
    t.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}
