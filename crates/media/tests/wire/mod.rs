//! Helpers shared by the on-the-wire tests: an engine on loopback, test phones (plain UDP
//! sockets), tone generation and Goertzel detection.
#![allow(dead_code, unreachable_pub)]

use std::f64::consts::PI;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rtp_rs::{RtpPacketBuilder, RtpReader, Seq};
use switchboard_media::engine::{EngineConfig, EngineEvent, EngineEvents, MediaEngine};
use switchboard_media::g711::Codec;
use switchboard_media::sdp::{Direction, NegotiatedMedia};
use switchboard_media::wav::pcm16_header;

/// A fresh directory under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("switchboard-media-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes an 8 kHz mono PCM16 WAV.
pub fn write_prompt(dir: &Path, name: &str, samples: &[i16]) {
    let mut bytes = pcm16_header(1, (samples.len() * 2) as u32).to_vec();
    for s in samples {
        bytes.extend_from_slice(&s.to_le_bytes());
    }
    let path = dir.join(format!("{name}.wav"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// An engine on 127.0.0.1 with its own port range and a runtime to await its events.
pub struct TestEngine {
    pub engine: Option<MediaEngine>,
    pub events: EngineEvents,
    pub seen: Vec<EngineEvent>,
    unmatched: Vec<EngineEvent>,
    rt: tokio::runtime::Runtime,
    /// The test's directory (prompts, recordings), removed at the end.
    dir: Option<PathBuf>,
}

impl TestEngine {
    pub fn start(config: EngineConfig) -> TestEngine {
        let dir = config.recordings_dir.parent().map(Path::to_path_buf);
        let (engine, events) = MediaEngine::start(config).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        TestEngine {
            engine: Some(engine),
            events,
            seen: Vec::new(),
            unmatched: Vec::new(),
            rt,
            dir,
        }
    }

    pub fn handle(&self) -> switchboard_media::engine::MediaHandle {
        self.engine.as_ref().unwrap().handle()
    }

    /// The first event not yet returned that matches `pred`, within `timeout`.
    pub fn wait_for(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&EngineEvent) -> bool,
    ) -> EngineEvent {
        if let Some(i) = self.unmatched.iter().position(&mut pred) {
            return self.unmatched.remove(i);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let next = self
                .rt
                .block_on(async { tokio::time::timeout(left, self.events.recv()).await });
            match next {
                Ok(Some(e)) => {
                    self.seen.push(e.clone());
                    if pred(&e) {
                        return e;
                    }
                    self.unmatched.push(e);
                }
                _ => panic!("no matching event within {timeout:?}; saw {:#?}", self.seen),
            }
        }
    }

    pub fn shutdown(&mut self) {
        if let Some(e) = self.engine.take() {
            e.shutdown();
        }
    }
}

impl Drop for TestEngine {
    fn drop(&mut self) {
        self.shutdown();
        // Kept after a failure, for a look at the recording.
        if !std::thread::panicking()
            && let Some(dir) = &self.dir
        {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub fn config(ports: std::ops::RangeInclusive<u16>, dir: &Path) -> EngineConfig {
    let mut c = EngineConfig::new("127.0.0.1".parse().unwrap(), ports);
    c.recordings_dir = dir.join("recordings");
    std::fs::create_dir_all(dir.join("prompts")).unwrap();
    c.prompts_dir = Some(dir.join("prompts"));
    c.port_quarantine = Duration::ZERO;
    c.seed = Some(7);
    c
}

/// What the SDP answer would yield for a phone at `remote` speaking `codec`.
pub fn media(codec: Codec, telephone_event: Option<u8>, remote: SocketAddr) -> NegotiatedMedia {
    NegotiatedMedia {
        media_index: 0,
        codec,
        payload_type: codec.payload_type(),
        telephone_event,
        remote_rtp: Some(remote),
        remote_rtcp: Some(SocketAddr::new(remote.ip(), remote.port() + 1)),
        local_direction: Direction::SendRecv,
        held_by_remote: false,
        remote_ptime: None,
        rtcp_mux: false,
    }
}

/// A test phone: RTP on an even port, with its RTCP socket above it.
pub struct Phone {
    pub rtp: UdpSocket,
    pub rtcp: UdpSocket,
}

impl Phone {
    pub fn new() -> Phone {
        // An even port whose odd neighbour is free too.
        for _ in 0..100 {
            let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
            let port = rtp.local_addr().unwrap().port();
            if !port.is_multiple_of(2) {
                continue;
            }
            if let Ok(rtcp) = UdpSocket::bind(("127.0.0.1", port + 1)) {
                rtp.set_read_timeout(Some(Duration::from_millis(400)))
                    .unwrap();
                return Phone { rtp, rtcp };
            }
        }
        panic!("no free even port pair");
    }

    pub fn addr(&self) -> SocketAddr {
        self.rtp.local_addr().unwrap()
    }
}

pub fn rtp_packet(pt: u8, marker: bool, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    RtpPacketBuilder::new()
        .payload_type(pt)
        .marked(marker)
        .sequence(Seq::from(seq))
        .timestamp(ts)
        .ssrc(ssrc)
        .payload(payload)
        .build()
        .unwrap()
}

/// A received RTP packet's fields.
#[derive(Debug, Clone)]
pub struct Heard {
    pub pt: u8,
    pub marker: bool,
    pub seq: u16,
    pub ts: u32,
    pub ssrc: u32,
    pub payload: Vec<u8>,
    pub at: Instant,
}

/// Reads RTP until the socket is quiet for its read timeout.
pub fn listen(sock: &UdpSocket) -> Vec<Heard> {
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok((n, _)) = sock.recv_from(&mut buf) {
        let Ok(r) = RtpReader::new(&buf[..n]) else {
            continue;
        };
        out.push(Heard {
            pt: r.payload_type(),
            marker: r.mark(),
            seq: r.sequence_number().into(),
            ts: r.timestamp(),
            ssrc: r.ssrc(),
            payload: r.payload().to_vec(),
            at: Instant::now(),
        });
    }
    out
}

pub fn tone(freq: f64, start: usize, n: usize) -> Vec<i16> {
    (start..start + n)
        .map(|i| (8000.0 * (2.0 * PI * freq * i as f64 / 8000.0).sin()) as i16)
        .collect()
}

/// Power of `freq` in `samples` (Goertzel), normalised by length.
pub fn goertzel(samples: &[i16], freq: f64) -> f64 {
    let k = 2.0 * (2.0 * PI * freq / 8000.0).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for x in samples {
        let s = f64::from(*x) + k * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - k * s1 * s2) / samples.len().max(1) as f64
}

/// Sends `frames` 20 ms frames of a `freq` tone in `codec`, paced in real time.
pub fn send_tone(
    sock: &UdpSocket,
    to: SocketAddr,
    codec: Codec,
    freq: f64,
    frames: usize,
    ssrc: u32,
) {
    let start = Instant::now();
    let mut payload = [0u8; 160];
    for i in 0..frames {
        codec.encode(&tone(freq, i * 160, 160), &mut payload);
        let p = rtp_packet(
            codec.payload_type(),
            i == 0,
            1000u16.wrapping_add(i as u16),
            5000 + (i as u32) * 160,
            ssrc,
            &payload,
        );
        sock.send_to(&p, to).unwrap();
        let next = start + Duration::from_millis(20) * (i as u32 + 1);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
}

/// Sequence numbers advance by exactly one from packet to packet.
pub fn assert_continuous(heard: &[Heard], who: &str) {
    for w in heard.windows(2) {
        assert_eq!(
            w[1].seq,
            w[0].seq.wrapping_add(1),
            "{who}: sequence gap {} → {}",
            w[0].seq,
            w[1].seq
        );
    }
}

pub fn decode(codec: Codec, heard: &[Heard]) -> Vec<i16> {
    let mut out = Vec::new();
    for h in heard {
        let mut pcm = vec![0i16; h.payload.len()];
        codec.decode(&h.payload, &mut pcm);
        out.extend(pcm);
    }
    out
}
