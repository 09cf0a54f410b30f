//! A whole anchored call simulated in memory on a fake clock: the caller hears a prompt, is
//! bridged to an agent (different G.711 laws, so the bridge transcodes), presses a key, the
//! agent hangs up and the caller hears music on hold. Checks what each phone receives (one
//! continuous stream, the right tone, the key as RFC 4733 with its own payload type) and that
//! the recording holds each side's tone on its own channel (Goertzel, not just sizes).

use std::f64::consts::PI;
use std::io::Cursor;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtp_rs::{RtpPacketBuilder, RtpReader, Seq};
use switchboard_media::bridge::{Relayed, relay};
use switchboard_media::dtmf::{Digit, ToneEvent, tone_packets};
use switchboard_media::g711::Codec;
use switchboard_media::player::{FRAME, PlayItem, Playback, Player};
use switchboard_media::recorder::{Channel, StereoMixer};
use switchboard_media::rtcp::NtpTime;
use switchboard_media::sdp::{LocalMedia, LocalSdp, SdpOffer, SessionDescription};
use switchboard_media::stream::{
    LatchConfig, LegConfig, MediaEvent, MediaOutput, Received, RtpLeg, SourceId,
};
use switchboard_media::wav::{PromptAudio, WavWriter, read_stereo_pcm16};

const CALLER_PHONE: &str = "198.51.100.7:40000";
const AGENT_PHONE: &str = "192.0.2.60:2222";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn tone(freq: f64, start: usize, n: usize) -> Vec<i16> {
    (start..start + n)
        .map(|i| (8000.0 * (2.0 * PI * freq * i as f64 / 8000.0).sin()) as i16)
        .collect()
}

/// Power of `freq` in `samples` (Goertzel), normalised by length.
fn goertzel(samples: &[i16], freq: f64) -> f64 {
    let k = 2.0 * (2.0 * PI * freq / 8000.0).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for x in samples {
        let s = f64::from(*x) + k * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - k * s1 * s2) / samples.len() as f64
}

fn open_leg(t0: Instant, offer: &str, ssrc: u32, port: u16) -> RtpLeg {
    let offer = SdpOffer(SessionDescription::parse(offer.as_bytes()).unwrap());
    let local = LocalMedia::g711("203.0.113.5".parse().unwrap(), port);
    let (_, media) = LocalSdp::new(u64::from(ssrc))
        .answer(&offer, &local)
        .unwrap();
    let config = LegConfig {
        ssrc,
        initial_sequence: 30_000,
        initial_timestamp: 123_456,
        cname: format!("leg-{ssrc}@switchboard"),
        latch: LatchConfig::default(),
        inactivity_timeout: Duration::from_secs(30),
        hold_inactivity_timeout: None,
        rng_seed: u64::from(ssrc),
        ntp_anchor: (t0, NtpTime::from_unix(Duration::from_secs(1_800_000_000))),
    };
    RtpLeg::new(t0, config, media)
}

/// What a phone saw of its incoming stream.
#[derive(Default)]
struct PhoneEar {
    ssrcs: Vec<u32>,
    seqs: Vec<u16>,
    audio: Vec<i16>,
    events: Vec<(u8, ToneEvent)>,
}

impl PhoneEar {
    fn hear(&mut self, codec: Codec, event_pt: u8, packet: &[u8]) {
        let r = RtpReader::new(packet).unwrap();
        self.ssrcs.push(r.ssrc());
        self.seqs.push(r.sequence_number().into());
        if r.payload_type() == event_pt {
            self.events
                .push((r.payload_type(), ToneEvent::parse(r.payload()).unwrap()));
        } else {
            assert_eq!(r.payload_type(), codec.payload_type());
            let mut pcm = vec![0i16; r.payload().len()];
            codec.decode(r.payload(), &mut pcm);
            self.audio.extend(pcm);
        }
    }
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

#[test]
fn prompt_bridge_dtmf_and_moh_on_one_continuous_stream_with_a_stereo_recording() {
    let t0 = Instant::now();
    // The caller's trunk speaks µ-law with telephone-event 101; the agent's phone A-law, 127.
    let mut caller = open_leg(
        t0,
        "v=0\r\no=- 1 1 IN IP4 10.0.0.7\r\ns=-\r\nc=IN IP4 10.0.0.7\r\nt=0 0\r\n\
         m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n",
        0xCA11,
        30000,
    );
    let mut agent = open_leg(
        t0,
        "v=0\r\no=- 1 1 IN IP4 192.0.2.60\r\ns=-\r\nc=IN IP4 192.0.2.60\r\nt=0 0\r\n\
         m=audio 2222 RTP/AVP 8 127\r\na=rtpmap:127 telephone-event/8000\r\n",
        0xA6E7,
        30002,
    );
    assert_eq!(caller.media().codec, Codec::Pcmu);
    assert_eq!(agent.media().codec, Codec::Pcma);

    let greeting = Arc::new(PromptAudio::from_pcm(&tone(600.0, 0, 4000)));
    let music = Arc::new(PromptAudio::from_pcm(&tone(300.0, 0, 1600)));
    let mut playback: Playback<u8> = Playback::new();
    playback.start(
        t0,
        0,
        Player::new(
            SourceId(100),
            Codec::Pcmu,
            vec![PlayItem::Audio(greeting)],
            false,
        ),
    );

    let mut caller_ear = PhoneEar::default();
    let mut agent_ear = PhoneEar::default();
    let mut mixer = StereoMixer::new(t0, Duration::from_millis(200));
    let mut wav = WavWriter::new(Cursor::new(Vec::new())).unwrap();
    let (mut left, mut right) = (Vec::new(), Vec::new());
    let mut out = [0u8; 1500];
    let mut scratch = [0u8; 1500];
    let mut digits = Vec::new();

    // Phase boundaries in 20 ms ticks: greeting 0..25, bridge 25..125, MOH 125..175.
    let key_press: Vec<_> = tone_packets(
        Digit::from_char('7').unwrap(),
        Duration::from_millis(120),
        8000,
    )
    .collect();
    // Voice and events share the phone's one sequence space (same SSRC, RFC 4733 §2.1).
    let mut caller_seq = 0u16;
    for tick in 0..175u32 {
        let now = t0 + FRAME * tick;
        caller_seq = caller_seq.wrapping_add(1);
        // Callers' phones send a tone every tick (the caller sends from behind NAT).
        let caller_pkt = rtp(0, caller_seq, tick * 160, 0x1111, tick == 0, &{
            let mut b = [0u8; 160];
            Codec::Pcmu.encode(&tone(440.0, tick as usize * 160, 160), &mut b);
            b
        });
        let agent_pkt = rtp(8, 500 + tick as u16, 9_000 + tick * 160, 0x2222, false, &{
            let mut b = [0u8; 160];
            Codec::Pcma.encode(&tone(1000.0, tick as usize * 160, 160), &mut b);
            b
        });
        let bridged = (25..125).contains(&tick);
        if tick == 25 {
            playback.stop(0);
        }
        if tick == 125 {
            playback.start(
                now,
                0,
                Player::new(
                    SourceId(101),
                    Codec::Pcmu,
                    vec![PlayItem::Audio(music.clone())],
                    true,
                ),
            );
        }
        // Caller → (bridge) → agent.
        let got = caller.handle_rtp(now, addr(CALLER_PHONE), &caller_pkt);
        if let Received::Audio { codec, payload, .. } = got {
            mixer.push(now, Channel::Left, codec, payload);
        }
        if bridged {
            if let Relayed::Forward(p) = relay(got, agent.media(), SourceId(1), &mut scratch) {
                let (to, n) = agent.send(now, &p, &mut out).unwrap().unwrap();
                assert_eq!(to, addr(AGENT_PHONE));
                agent_ear.hear(Codec::Pcma, 127, &out[..n]);
            }
            // Agent → (bridge) → caller.
            let got = agent.handle_rtp(now, addr(AGENT_PHONE), &agent_pkt);
            if let Received::Audio { codec, payload, .. } = got {
                mixer.push(now, Channel::Right, codec, payload);
            }
            if let Relayed::Forward(p) = relay(got, caller.media(), SourceId(2), &mut scratch) {
                let (to, n) = caller.send(now, &p, &mut out).unwrap().unwrap();
                assert_eq!(
                    to,
                    addr(CALLER_PHONE),
                    "latched to the NAT address, not the SDP's"
                );
                caller_ear.hear(Codec::Pcmu, 101, &out[..n]);
            }
        }
        // The caller presses 7 in the middle of the bridge.
        if bridged && tick >= 60 {
            for p in key_press.iter().filter(|p| {
                let at = t0 + FRAME * 60 + p.at;
                at >= now && at < now + FRAME
            }) {
                caller_seq = caller_seq.wrapping_add(1);
                let bytes = rtp(
                    101,
                    caller_seq,
                    60 * 160,
                    0x1111,
                    p.marker,
                    &p.event.to_bytes(),
                );
                let got = caller.handle_rtp(now, addr(CALLER_PHONE), &bytes);
                if let Relayed::Forward(p) = relay(got, agent.media(), SourceId(1), &mut scratch) {
                    let (_, n) = agent.send(now, &p, &mut out).unwrap().unwrap();
                    agent_ear.hear(Codec::Pcma, 127, &out[..n]);
                }
            }
        }
        // The one shared tick plays prompts and MOH.
        playback.tick(now, |_, f| {
            let p = switchboard_media::stream::OutboundPacket {
                source: f.source,
                payload_type: 0,
                marker: f.marker,
                sequence: f.sequence,
                timestamp: f.timestamp,
                samples: 160,
                payload: f.payload,
            };
            if let Some((_, n)) = caller.send(now, &p, &mut out).unwrap() {
                caller_ear.hear(Codec::Pcmu, 101, &out[..n]);
            }
        });
        let mut rtcp = Vec::new();
        while let Some(o) = caller.poll_output(&mut rtcp) {
            if let MediaOutput::Event(MediaEvent::Dtmf(d)) = o {
                digits.push(d.digit.as_char());
            }
        }
        if tick % 50 == 49 {
            mixer.drain(now, &mut left, &mut right);
            wav.write_stereo(&left, &right).unwrap();
            left.clear();
            right.clear();
        }
    }

    // The caller heard one stream: one SSRC, sequence numbers without a gap, through
    // greeting → agent → music on hold.
    assert!(caller_ear.ssrcs.iter().all(|s| *s == 0xCA11));
    assert_eq!(caller_ear.seqs.len(), 175);
    for w in caller_ear.seqs.windows(2) {
        assert_eq!(w[1], w[0].wrapping_add(1));
    }
    let heard = &caller_ear.audio;
    let (greeting, bridge, moh) = (
        &heard[..25 * 160],
        &heard[25 * 160..125 * 160],
        &heard[125 * 160..],
    );
    assert!(goertzel(greeting, 600.0) > 100.0 * goertzel(greeting, 1000.0));
    assert!(
        goertzel(bridge, 1000.0) > 100.0 * goertzel(bridge, 440.0),
        "agent's tone, transcoded A→µ"
    );
    assert!(goertzel(moh, 300.0) > 100.0 * goertzel(moh, 1000.0));

    // The agent heard the caller's tone transcoded µ→A, and the key as telephone-event 127.
    assert!(goertzel(&agent_ear.audio, 440.0) > 100.0 * goertzel(&agent_ear.audio, 1000.0));
    assert!(!agent_ear.events.is_empty());
    assert!(
        agent_ear
            .events
            .iter()
            .all(|(pt, e)| *pt == 127 && e.event == 7)
    );
    assert_eq!(agent_ear.events.iter().filter(|(_, e)| e.end).count(), 3);
    assert_eq!(digits, ['7']);

    // The recording: caller's 440 Hz on the left, agent's 1000 Hz on the right.
    let (mut l, mut r) = (Vec::new(), Vec::new());
    mixer.finish(&mut l, &mut r);
    wav.write_stereo(&l, &r).unwrap();
    let file = wav.finish().unwrap().into_inner();
    let (left, right) = read_stereo_pcm16(&file).unwrap();
    assert!(
        left.len() >= 170 * 160,
        "recording of {} samples",
        left.len()
    );
    let bridged_right = &right[30 * 160..120 * 160];
    let bridged_left = &left[30 * 160..120 * 160];
    assert!(goertzel(bridged_left, 440.0) > 100.0 * goertzel(bridged_left, 1000.0));
    assert!(goertzel(bridged_right, 1000.0) > 100.0 * goertzel(bridged_right, 440.0));
}
