//! The load rig shared by the media benches: bridged calls in a [`MediaEngine`] on loopback,
//! test phones that send 20 ms G.711 packets stamped with their send time, and per-thread CPU
//! time read from `/proc`.
//!
//! Two threads play every phone: one sends each phone's packet on that phone's 20 ms phase
//! (phones spread over the 20 phases, as real calls are), the other reads whatever arrives and
//! records the delay through the relay from the send stamp in the payload.
#![allow(dead_code, missing_docs, unreachable_pub)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};
use switchboard_media::engine::{EngineConfig, LegInfo, MediaEngine, MediaHandle};
use switchboard_media::g711::Codec;
use switchboard_media::sdp::{Direction, NegotiatedMedia};

pub const PACKET: usize = 12 + 160;

/// Seconds per measured step: `SWITCHBOARD_BENCH_SECS`, default `default`.
pub fn step_secs(default: u64) -> Duration {
    Duration::from_secs(
        std::env::var("SWITCHBOARD_BENCH_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
    )
}

pub fn engine(ports: std::ops::RangeInclusive<u16>) -> (MediaEngine, std::thread::JoinHandle<()>) {
    let mut c = EngineConfig::new("127.0.0.1".parse().unwrap(), ports);
    c.workers = 1;
    c.port_quarantine = Duration::ZERO;
    c.inactivity_timeout = Duration::from_secs(3600);
    c.seed = Some(1);
    c.recordings_dir = std::env::temp_dir().join("switchboard-bench-recordings");
    let (engine, mut events) = MediaEngine::start(c).unwrap();
    // Read events so nothing queues up (Latched per leg).
    let drain = std::thread::spawn(move || while events.blocking_recv().is_some() {});
    (engine, drain)
}

pub fn media(remote: SocketAddr) -> NegotiatedMedia {
    NegotiatedMedia {
        media_index: 0,
        codec: Codec::Pcmu,
        payload_type: 0,
        telephone_event: Some(101),
        remote_rtp: Some(remote),
        remote_rtcp: None,
        local_direction: Direction::SendRecv,
        held_by_remote: false,
        remote_ptime: None,
        rtcp_mux: false,
    }
}

/// Phones, two per call: phone `2k` talks to `targets[2k]`, phone `2k+1` to `targets[2k+1]`.
pub struct Phones {
    pub sockets: Vec<UdpSocket>,
    pub targets: Vec<SocketAddr>,
}

impl Phones {
    pub fn new(n: usize) -> Phones {
        let sockets = (0..n)
            .map(|_| UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap())
            .collect();
        Phones {
            sockets,
            targets: Vec::new(),
        }
    }

    pub fn addr(&self, i: usize) -> SocketAddr {
        self.sockets[i].local_addr().unwrap()
    }
}

/// Creates `calls` bridged leg pairs for phones `2k`/`2k+1`; returns the legs.
pub fn bridge_calls(h: &MediaHandle, phones: &mut Phones, calls: usize) -> Vec<(LegInfo, LegInfo)> {
    let mut legs = Vec::with_capacity(calls);
    phones.targets.clear();
    for k in 0..calls {
        let a = create(h, None);
        let b = create(h, Some(a.id));
        retry(|| h.set_media(a.id, media(phones.addr(2 * k))));
        retry(|| h.set_media(b.id, media(phones.addr(2 * k + 1))));
        retry(|| h.bridge(a.id, b.id));
        phones.targets.push(a.rtp);
        phones.targets.push(b.rtp);
        legs.push((a, b));
    }
    legs
}

/// Runs a command, waiting out a momentarily full command queue.
fn retry(mut command: impl FnMut() -> Result<(), switchboard_media::engine::EngineError>) {
    loop {
        match command() {
            Ok(()) => return,
            Err(switchboard_media::engine::EngineError::Busy) => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(e) => panic!("media command: {e}"),
        }
    }
}

fn create(h: &MediaHandle, near: Option<switchboard_media::engine::LegId>) -> LegInfo {
    // The worker's command queue may be momentarily full while it starts thousands of legs.
    loop {
        match h.create_leg(near) {
            Ok(l) => return l,
            Err(switchboard_media::engine::EngineError::Busy) => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(e) => panic!("create_leg: {e}"),
        }
    }
}

/// Closes the calls' legs (waiting out a full command queue).
pub fn close_calls(h: &MediaHandle, legs: &[(LegInfo, LegInfo)]) {
    for (a, b) in legs {
        for l in [a, b] {
            while let Err(switchboard_media::engine::EngineError::Busy) = h.close_leg(l.id) {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

/// What the phones saw during a run.
pub struct RunStats {
    pub sent: u64,
    pub received: u64,
    pub delays: Vec<Duration>,
    /// 1 ms send phases that started more than 5 ms late (the generator lagging).
    pub late_sends: u64,
    pub elapsed: Duration,
}

impl RunStats {
    pub fn loss_percent(&self) -> f64 {
        if self.sent == 0 {
            return 0.0;
        }
        100.0 * (self.sent.saturating_sub(self.received)) as f64 / self.sent as f64
    }
}

static RUN: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Runs the phones for `duration` (then `drain` more, receiving only): a sender thread keeps
/// the 20 ms phases, this thread receives and measures. Packets of earlier runs (a backlog
/// still draining) are recognised by a run number in the payload and not counted.
pub fn run_phones(phones: &mut Phones, duration: Duration, drain: Duration) -> RunStats {
    let n = phones.targets.len();
    let run = RUN
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        .wrapping_add(1);
    let mut poll = Poll::new().unwrap();
    for (i, s) in phones.sockets.iter_mut().take(n).enumerate() {
        poll.registry()
            .register(s, Token(i), Interest::READABLE)
            .unwrap();
    }
    let epoch = Instant::now();
    let end = epoch + duration;
    let stop = end + drain;
    let sockets = &phones.sockets[..n];
    let targets = &phones.targets[..n];
    let mut stats = RunStats {
        sent: 0,
        received: 0,
        delays: Vec::with_capacity(n * 50 * (duration.as_secs() as usize + 1)),
        late_sends: 0,
        elapsed: duration,
    };
    std::thread::scope(|scope| {
        let sender = scope.spawn(move || {
            let mut seq = vec![0u16; n];
            let mut packet = [0u8; PACKET];
            let (mut sent, mut late) = (0u64, 0u64);
            let mut next_phase = 0u32;
            loop {
                let slot_at = epoch + Duration::from_millis(u64::from(next_phase));
                if slot_at >= end {
                    break;
                }
                let now = Instant::now();
                if now < slot_at {
                    std::thread::sleep(slot_at - now);
                } else if now - slot_at > Duration::from_millis(5) {
                    late += 1;
                }
                let phase = (next_phase % 20) as usize;
                let mut i = phase;
                while i < n {
                    let s = seq[i];
                    seq[i] = s.wrapping_add(1);
                    packet[0] = 0x80;
                    packet[1] = 0;
                    packet[2..4].copy_from_slice(&s.to_be_bytes());
                    packet[4..8].copy_from_slice(&(u32::from(s) * 160).to_be_bytes());
                    packet[8..12].copy_from_slice(&(i as u32 + 1).to_be_bytes());
                    let stamp = Instant::now().duration_since(epoch).as_nanos() as u64;
                    packet[12..20].copy_from_slice(&stamp.to_be_bytes());
                    packet[20] = run;
                    if sockets[i].send_to(&packet, targets[i]).is_ok() {
                        sent += 1;
                    }
                    i += 20;
                }
                next_phase += 1;
            }
            (sent, late)
        });
        let mut events = Events::with_capacity(4096);
        let mut buf = [0u8; 2048];
        loop {
            let now = Instant::now();
            if now >= stop {
                break;
            }
            poll.poll(
                &mut events,
                Some((stop - now).min(Duration::from_millis(50))),
            )
            .unwrap();
            for e in events.iter() {
                let sock = &sockets[e.token().0];
                while let Ok((len, _)) = sock.recv_from(&mut buf) {
                    if len < 21 || buf[20] != run {
                        continue;
                    }
                    stats.received += 1;
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&buf[12..20]);
                    let sent = Duration::from_nanos(u64::from_be_bytes(b));
                    stats
                        .delays
                        .push(Instant::now().duration_since(epoch).saturating_sub(sent));
                }
            }
        }
        let (sent, late) = sender.join().unwrap();
        stats.sent = sent;
        stats.late_sends = late;
    });
    for s in phones.sockets.iter_mut().take(n) {
        let _ = poll.registry().deregister(s);
    }
    stats
}

/// CPU time consumed so far by this process's thread named `name` (`/proc` schedstat).
pub fn thread_cpu(name: &str) -> Option<Duration> {
    for entry in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.trim() == name {
            let stat = std::fs::read_to_string(entry.path().join("schedstat")).ok()?;
            let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
            return Some(Duration::from_nanos(ns));
        }
    }
    None
}

/// Resident set size of this process.
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// The bare loop: each "leg" socket forwards what it receives to the other phone of its call.
pub fn bare_relay(
    mut legs: Vec<UdpSocket>,
    dest: Vec<SocketAddr>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    let mut poll = Poll::new().unwrap();
    for (i, s) in legs.iter_mut().enumerate() {
        poll.registry()
            .register(s, Token(i), Interest::READABLE)
            .unwrap();
    }
    let mut events = Events::with_capacity(1024);
    let mut buf = [0u8; 2048];
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        poll.poll(&mut events, Some(Duration::from_millis(100)))
            .unwrap();
        for e in events.iter() {
            let i = e.token().0;
            while let Ok((n, _)) = legs[i].recv_from(&mut buf) {
                let _ = legs[i].send_to(&buf[..n], dest[i]);
            }
        }
    }
}
