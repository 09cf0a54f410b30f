//! Real RTP for the fault tests: [`RtpSender`] sends 20 ms PCMU packets whose payload carries a
//! magic, a stream tag and a counter, and [`RtpCounter`] counts the ones that arrive. The bridge
//! passes G.711 payloads through untouched when both legs use the same law
//! (crates/media/src/bridge.rs), so the tag survives the relay while the SSRC and sequence
//! numbers are rewritten. Also the daemon's RSS and open descriptors from /proc.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Payload prefix of the test's RTP packets.
const RTP_MAGIC: &[u8; 4] = b"SBFT";
/// A G.711 frame: 20 ms at 8 kHz.
const FRAME: usize = 160;

/// Sends tagged PCMU packets every 20 ms from a socket until stopped.
#[derive(Debug)]
pub(crate) struct RtpSender {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl RtpSender {
    /// Starts sending from `socket` to `to`, payloads tagged with `tag`.
    pub(crate) fn start(socket: &UdpSocket, to: SocketAddr, tag: u32) -> Self {
        let socket = socket.try_clone().expect("cloning the RTP socket");
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let (stop2, sent2) = (stop.clone(), sent.clone());
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let mut packet = vec![0xFFu8; 12 + FRAME];
            let ssrc = 0x5EED_0000 | tag;
            let mut seq: u32 = 0;
            while !stop2.load(Ordering::Relaxed) {
                let due = start + Duration::from_millis(20) * seq;
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                let header = [
                    0x80,
                    0x00,
                    (seq >> 8) as u8,
                    seq as u8,
                    0,
                    0,
                    0,
                    0,
                    (ssrc >> 24) as u8,
                    (ssrc >> 16) as u8,
                    (ssrc >> 8) as u8,
                    ssrc as u8,
                ];
                let ts = seq.wrapping_mul(FRAME as u32).to_be_bytes();
                packet[..12].copy_from_slice(&header);
                packet[4..8].copy_from_slice(&ts);
                packet[12..16].copy_from_slice(RTP_MAGIC);
                packet[16..20].copy_from_slice(&tag.to_be_bytes());
                packet[20..24].copy_from_slice(&seq.to_be_bytes());
                if socket.send_to(&packet, to).is_ok() {
                    sent2.fetch_add(1, Ordering::Relaxed);
                }
                seq += 1;
            }
        });
        Self {
            stop,
            sent,
            thread: Some(thread),
        }
    }

    /// Packets sent so far.
    pub(crate) fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Stops and returns how many were sent.
    pub(crate) fn stop(mut self) -> u64 {
        self.halt();
        self.sent()
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RtpSender {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Counts the tagged packets arriving on a socket (each distinct counter value once).
#[derive(Debug)]
pub(crate) struct RtpCounter {
    stop: Arc<AtomicBool>,
    received: Arc<AtomicU64>,
    thread: Option<JoinHandle<Vec<u32>>>,
}

impl RtpCounter {
    /// Starts counting packets tagged `tag` on `socket`.
    pub(crate) fn start(socket: &UdpSocket, tag: u32) -> Self {
        let socket = socket.try_clone().expect("cloning the RTP socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("read timeout");
        let stop = Arc::new(AtomicBool::new(false));
        let received = Arc::new(AtomicU64::new(0));
        let (stop2, received2) = (stop.clone(), received.clone());
        let thread = std::thread::spawn(move || {
            let mut counters = Vec::new();
            let mut buf = [0u8; 2048];
            while !stop2.load(Ordering::Relaxed) {
                let Ok(len) = socket.recv(&mut buf) else {
                    continue;
                };
                let packet = &buf[..len];
                if packet.len() >= 24
                    && &packet[12..16] == RTP_MAGIC
                    && packet[16..20] == tag.to_be_bytes()
                {
                    let mut n = [0u8; 4];
                    n.copy_from_slice(&packet[20..24]);
                    counters.push(u32::from_be_bytes(n));
                    received2.fetch_add(1, Ordering::Relaxed);
                }
            }
            counters
        });
        Self {
            stop,
            received,
            thread: Some(thread),
        }
    }

    /// Tagged packets received so far (duplicates included).
    pub(crate) fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Stops and returns the counter values received, sorted and deduplicated.
    pub(crate) fn stop(mut self) -> Vec<u32> {
        self.stop.store(true, Ordering::Relaxed);
        let mut counters = self
            .thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        counters.sort_unstable();
        counters.dedup();
        counters
    }
}

impl Drop for RtpCounter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Resident set size of process `pid` in KiB (`VmRSS` in /proc/PID/status).
pub(crate) fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// Open file descriptors of process `pid`.
pub(crate) fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}
