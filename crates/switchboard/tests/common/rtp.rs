//! The media end of a test phone: an RTP socket the SIPp scenario names in its SDP (`-set
//! rtp_port N`), so the test itself hears what the daemon plays and says what the phone says.
//! It sends G.711 (RFC 3551; PCMU unless told otherwise) tone frames every 20 ms and RFC 4733 telephone-events, and keeps
//! every packet it receives with its arrival time for Goertzel checks.

use std::collections::VecDeque;
use std::f64::consts::PI;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use switchboard_media::g711::Codec;

/// Payload type of `telephone-event` in the scenarios' SDP (`a=rtpmap:101`).
pub(crate) const TELEPHONE_EVENT_PT: u8 = 101;
/// Samples per 20 ms frame at 8 kHz.
const FRAME: usize = 160;
/// RFC 4733 event packets per key press before the end packets (120 ms of tone).
const DTMF_PACKETS: u32 = 6;

/// One RTP packet the phone received.
#[derive(Debug, Clone)]
pub(crate) struct Heard {
    /// When it arrived.
    pub(crate) at: Instant,
    /// Its payload type.
    pub(crate) pt: u8,
    /// Its payload.
    pub(crate) payload: Vec<u8>,
}

#[derive(Debug)]
struct Outbox {
    remote: Option<SocketAddr>,
    tone: Option<f64>,
    codec: Codec,
    digits: VecDeque<char>,
}

impl Default for Outbox {
    fn default() -> Self {
        Self {
            remote: None,
            tone: None,
            codec: Codec::Pcmu,
            digits: VecDeque::new(),
        }
    }
}

/// A test phone's RTP socket (even port, RTCP port left unbound) with a receiving and a sending
/// thread; both stop on drop.
#[derive(Debug)]
pub(crate) struct RtpPeer {
    socket: Arc<UdpSocket>,
    heard: Arc<Mutex<Vec<Heard>>>,
    outbox: Arc<Mutex<Outbox>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl RtpPeer {
    /// Binds an even port on 127.0.0.1 and starts listening.
    pub(crate) fn bind() -> Self {
        let socket = (0..200)
            .filter_map(|_| UdpSocket::bind("127.0.0.1:0").ok())
            .find(|s| s.local_addr().is_ok_and(|a| a.port() % 2 == 0))
            .expect("an even RTP port on loopback");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("read timeout");
        let socket = Arc::new(socket);
        let heard = Arc::new(Mutex::new(Vec::new()));
        let outbox = Arc::new(Mutex::new(Outbox::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let receiver = {
            let (socket, heard, stop) = (socket.clone(), heard.clone(), stop.clone());
            std::thread::spawn(move || receive(&socket, &heard, &stop))
        };
        let sender = {
            let (socket, outbox, stop) = (socket.clone(), outbox.clone(), stop.clone());
            std::thread::spawn(move || send(&socket, &outbox, &stop))
        };
        Self {
            socket,
            heard,
            outbox,
            stop,
            threads: vec![receiver, sender],
        }
    }

    /// The RTP port, for the SDP.
    pub(crate) fn port(&self) -> u16 {
        self.socket.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Where to send: the daemon's leg (the port in its SDP, on loopback).
    pub(crate) fn set_remote(&self, remote: SocketAddr) {
        self.outbox().remote = Some(remote);
    }

    /// Reads the daemon's RTP port from the file the SIPp scenario wrote from the daemon's SDP
    /// (`<exec command="echo [$rport] > [$port_file]"/>`) and sends there. False if the file
    /// did not appear within `limit`.
    pub(crate) fn remote_from_file(&self, path: &Path, limit: Duration) -> bool {
        let Some(port) = super::flow::wait_for_file(path, limit).and_then(|p| p.parse().ok())
        else {
            return false;
        };
        self.set_remote(SocketAddr::from(([127, 0, 0, 1], port)));
        true
    }

    /// Sends a continuous tone of `freq` Hz (PCMU, 20 ms frames) from now on; `None` for
    /// nothing at all.
    pub(crate) fn set_tone(&self, freq: Option<f64>) {
        self.outbox().tone = freq;
    }

    /// Sends the tone in `codec` (what the phone's SDP offered or answered; PCMU by default).
    pub(crate) fn set_codec(&self, codec: Codec) {
        self.outbox().codec = codec;
    }

    /// Presses `digit` (RFC 4733 §2.3 event packets with the tone paused meanwhile).
    pub(crate) fn press(&self, digit: char) {
        self.outbox().digits.push_back(digit);
    }

    /// Every packet received from `from` on.
    pub(crate) fn heard_since(&self, from: Instant) -> Vec<Heard> {
        self.heard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|h| h.at >= from)
            .cloned()
            .collect()
    }

    /// The audio (PCMU/PCMA decoded) received between `from` and `to`.
    pub(crate) fn audio_between(&self, from: Instant, to: Instant) -> Vec<i16> {
        decode(
            &self
                .heard_since(from)
                .into_iter()
                .filter(|h| h.at < to)
                .collect::<Vec<_>>(),
        )
    }

    fn outbox(&self) -> std::sync::MutexGuard<'_, Outbox> {
        self.outbox.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for RtpPeer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn receive(socket: &UdpSocket, heard: &Mutex<Vec<Heard>>, stop: &AtomicBool) {
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        let Ok(len) = socket.recv(&mut buf) else {
            continue;
        };
        let Some(packet) = buf.get(..len) else {
            continue;
        };
        if let Some((pt, payload)) = rtp_payload(packet) {
            heard
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Heard {
                    at: Instant::now(),
                    pt,
                    payload: payload.to_vec(),
                });
        }
    }
}

/// Payload type and payload of an RTP packet (RFC 3550 §5.1: version 2, CSRCs, extension and
/// padding skipped), `None` for anything else (RTCP on a muxed port, garbage).
fn rtp_payload(packet: &[u8]) -> Option<(u8, &[u8])> {
    let first = *packet.first()?;
    if first >> 6 != 2 {
        return None;
    }
    let pt = packet.get(1)? & 0x7f;
    if (72..=79).contains(&pt) {
        return None;
    }
    let mut start = 12 + 4 * usize::from(first & 0x0f);
    if first & 0x10 != 0 {
        let words = u16::from_be_bytes([*packet.get(start + 2)?, *packet.get(start + 3)?]);
        start += 4 + 4 * usize::from(words);
    }
    let mut end = packet.len();
    if first & 0x20 != 0 {
        end = end.checked_sub(usize::from(*packet.last()?))?;
    }
    Some((pt, packet.get(start..end)?))
}

fn header(pt: u8, marker: bool, seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
    let mut p = Vec::with_capacity(12 + FRAME);
    p.push(0x80);
    p.push(pt | if marker { 0x80 } else { 0 });
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p
}

/// RFC 4733 §3.2 event code of a DTMF key.
fn event_code(digit: char) -> Option<u8> {
    match digit {
        '0'..='9' => u8::try_from(digit.to_digit(10)?).ok(),
        '*' => Some(10),
        '#' => Some(11),
        _ => None,
    }
}

/// The sending thread: every 20 ms one packet, a DTMF event packet while a key is pressed,
/// else a tone frame if a tone is set. One SSRC, one sequence and timestamp space.
fn send(socket: &UdpSocket, outbox: &Mutex<Outbox>, stop: &AtomicBool) {
    let ssrc = 0x5eed_0000 | u32::from(std::process::id() as u16);
    let (mut seq, mut ts, mut sample) = (1000u16, 16_000u32, 0usize);
    let mut marker = true;
    // A key being sent: (event code, packets sent, the event's timestamp).
    let mut key: Option<(u8, u32, u32)> = None;
    let start = Instant::now();
    let mut tick = 0u32;
    while !stop.load(Ordering::Relaxed) {
        tick += 1;
        let next = start + Duration::from_millis(20) * tick;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        let (remote, tone, codec) = {
            let mut out = outbox.lock().unwrap_or_else(PoisonError::into_inner);
            if key.is_none()
                && out.remote.is_some()
                && let Some(code) = out.digits.pop_front().and_then(event_code)
            {
                key = Some((code, 0, ts));
            }
            (out.remote, out.tone, out.codec)
        };
        let Some(remote) = remote else {
            continue;
        };
        if let Some((code, sent, event_ts)) = key {
            // RFC 4733 §2.5.1: same timestamp for the whole event, duration growing, the
            // marker on the first packet, the end bit on the last three (§2.5.1.4).
            let end = sent >= DTMF_PACKETS;
            let duration =
                u16::try_from((sent.min(DTMF_PACKETS) + 1) * FRAME as u32).unwrap_or(u16::MAX);
            let mut p = header(TELEPHONE_EVENT_PT, sent == 0, seq, event_ts, ssrc);
            p.push(code);
            p.push(if end { 0x80 | 10 } else { 10 });
            p.extend_from_slice(&duration.to_be_bytes());
            let _ = socket.send_to(&p, remote);
            seq = seq.wrapping_add(1);
            key = if sent + 1 >= DTMF_PACKETS + 3 {
                ts = ts.wrapping_add((DTMF_PACKETS + 1) * FRAME as u32);
                None
            } else {
                Some((code, sent + 1, event_ts))
            };
            continue;
        }
        if let Some(freq) = tone {
            let pcm = tone_frame(freq, sample);
            let mut p = header(codec.payload_type(), marker, seq, ts, ssrc);
            p.extend(pcm.iter().map(|s| codec.encode_sample(*s)));
            let _ = socket.send_to(&p, remote);
            marker = false;
            seq = seq.wrapping_add(1);
            sample += FRAME;
        }
        ts = ts.wrapping_add(FRAME as u32);
    }
}

/// 20 ms of a sine at `freq` Hz, a quarter of full scale, starting at sample `from`.
fn tone_frame(freq: f64, from: usize) -> Vec<i16> {
    (from..from + FRAME)
        .map(|i| (8000.0 * (2.0 * PI * freq * i as f64 / 8000.0).sin()) as i16)
        .collect()
}

/// PCM of the G.711 packets among `heard` (telephone-events and other types skipped).
pub(crate) fn decode(heard: &[Heard]) -> Vec<i16> {
    heard
        .iter()
        .filter_map(|h| Codec::from_payload_type(h.pt).map(|c| (c, &h.payload)))
        .flat_map(|(codec, payload)| payload.iter().map(move |b| codec.decode_sample(*b)))
        .collect()
}

/// Goertzel power of `freq` Hz in `samples` (8 kHz), per sample.
pub(crate) fn goertzel(samples: &[i16], freq: f64) -> f64 {
    let k = 2.0 * (2.0 * PI * freq / 8000.0).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for x in samples {
        let s = f64::from(*x) + k * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - k * s1 * s2) / samples.len().max(1) as f64
}

/// Mean power per sample (silence is near 0; the demo prompts are normalised to -3 dBFS).
pub(crate) fn power(samples: &[i16]) -> f64 {
    samples.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / samples.len().max(1) as f64
}
