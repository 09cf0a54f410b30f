//! Assembling a bridged call's two directions into stereo frames for the recording.
//!
//! The relay thread hands each received payload (caller → left, agent → right) to the
//! recording worker over a bounded channel; the worker feeds a [`StereoMixer`] and writes what
//! [`StereoMixer::drain`] returns to a [`crate::wav::WavWriter`]. Nothing here runs on the packet
//! path.
//!
//! Alignment is by arrival time, which for a recording is what a listener expects: the mixer
//! keeps each channel's sample count tied to the wall clock since the recording started. A
//! channel that falls more than [`StereoMixer::max_lag`] behind (a muted or held phone sends
//! nothing, a phone with silence suppression sends gaps) is padded with silence up to that
//! point, so channels never drift apart and the file's length follows the call's. A channel
//! that runs ahead (a burst after network stall) is capped, dropping the excess, so memory per
//! recording stays bounded at `max_lag` plus [`MAX_AHEAD`] per channel, a few seconds at most
//! whatever the call's length.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::g711::Codec;
use crate::wav::SAMPLE_RATE;

/// How far a channel may run ahead of the wall clock before excess samples are dropped.
pub const MAX_AHEAD: Duration = Duration::from_secs(2);

/// Which side of the stereo file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The caller (customer).
    Left,
    /// The agent.
    Right,
}

/// Aligns two mono G.711 streams into stereo PCM16.
#[derive(Debug)]
pub struct StereoMixer {
    started: Instant,
    max_lag: Duration,
    left: VecDeque<i16>,
    right: VecDeque<i16>,
    /// Frames already handed out (both channels).
    drained: u64,
    /// Samples dropped because a channel ran too far ahead.
    dropped: u64,
}

impl StereoMixer {
    /// Starts a recording at `now`. `max_lag` is the jitter the mixer waits for before it pads
    /// a silent channel (200 ms covers ordinary network jitter).
    pub fn new(now: Instant, max_lag: Duration) -> StereoMixer {
        // What a channel normally holds: up to `max_lag` while the other one is silent. A
        // channel running ahead grows its queue (to `MAX_AHEAD` at most) only when it happens:
        // reserving that up front cost 70 KiB of resident memory per recorded call.
        let cap = samples(max_lag) as usize;
        StereoMixer {
            started: now,
            max_lag,
            left: VecDeque::with_capacity(cap.min(1 << 16)),
            right: VecDeque::with_capacity(cap.min(1 << 16)),
            drained: 0,
            dropped: 0,
        }
    }

    /// The lag after which a silent channel is padded.
    pub fn max_lag(&self) -> Duration {
        self.max_lag
    }

    /// Samples dropped because a channel ran ahead of the clock.
    pub fn dropped_samples(&self) -> u64 {
        self.dropped
    }

    /// Samples held in memory now (both channels).
    pub fn buffered_samples(&self) -> usize {
        self.left.len() + self.right.len()
    }

    fn elapsed_samples(&self, now: Instant) -> u64 {
        samples(now.saturating_duration_since(self.started))
    }

    /// Adds a received payload to one channel.
    pub fn push(&mut self, now: Instant, channel: Channel, codec: Codec, payload: &[u8]) {
        let limit = self.elapsed_samples(now) + samples(MAX_AHEAD);
        let drained = self.drained;
        let queue = match channel {
            Channel::Left => &mut self.left,
            Channel::Right => &mut self.right,
        };
        for code in payload {
            if drained + queue.len() as u64 >= limit {
                self.dropped += 1;
                continue;
            }
            queue.push_back(codec.decode_sample(*code));
        }
    }

    /// Moves the frames ready at `now` into `left` and `right` (appended, equal length);
    /// returns how many. A channel more than `max_lag` behind the clock is first padded.
    pub fn drain(&mut self, now: Instant, left: &mut Vec<i16>, right: &mut Vec<i16>) -> usize {
        let target = self
            .elapsed_samples(now)
            .saturating_sub(samples(self.max_lag));
        self.pad_to(target);
        self.take(left, right)
    }

    /// Ends the recording: pads the shorter channel and hands out everything.
    pub fn finish(mut self, left: &mut Vec<i16>, right: &mut Vec<i16>) -> usize {
        let target = self.drained + self.left.len().max(self.right.len()) as u64;
        self.pad_to(target);
        self.take(left, right)
    }

    fn pad_to(&mut self, target: u64) {
        for q in [&mut self.left, &mut self.right] {
            while self.drained + (q.len() as u64) < target {
                q.push_back(0);
            }
        }
    }

    fn take(&mut self, left: &mut Vec<i16>, right: &mut Vec<i16>) -> usize {
        let n = self.left.len().min(self.right.len());
        left.extend(self.left.drain(..n));
        right.extend(self.right.drain(..n));
        self.drained += n as u64;
        n
    }
}

fn samples(d: Duration) -> u64 {
    (d.as_micros() * u128::from(SAMPLE_RATE) / 1_000_000) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::g711::linear_to_ulaw;

    const FRAME: Duration = Duration::from_millis(20);

    fn frame(value: i16) -> [u8; 160] {
        [linear_to_ulaw(value); 160]
    }

    #[test]
    fn both_sides_talking_interleave_frame_for_frame() {
        let t0 = Instant::now();
        let mut m = StereoMixer::new(t0, Duration::from_millis(200));
        let (mut l, mut r) = (Vec::new(), Vec::new());
        for i in 1..=50u32 {
            let now = t0 + FRAME * i;
            m.push(now, Channel::Left, Codec::Pcmu, &frame(1000));
            m.push(now, Channel::Right, Codec::Pcmu, &frame(-1000));
            m.drain(now, &mut l, &mut r);
        }
        assert_eq!(l.len(), 50 * 160);
        assert_eq!(l.len(), r.len());
        assert!(l.iter().all(|s| (*s - 1000).abs() < 40));
        assert!(r.iter().all(|s| (*s + 1000).abs() < 40));
    }

    #[test]
    fn a_silent_agent_is_padded_so_the_caller_is_not_held_back() {
        let t0 = Instant::now();
        let mut m = StereoMixer::new(t0, Duration::from_millis(200));
        let (mut l, mut r) = (Vec::new(), Vec::new());
        for i in 1..=100u32 {
            let now = t0 + FRAME * i;
            m.push(now, Channel::Left, Codec::Pcmu, &frame(1000));
            m.drain(now, &mut l, &mut r);
        }
        // 2 s elapsed, 200 ms of lag allowed: 1.8 s written, the right side silent.
        assert_eq!(l.len(), 14_400);
        assert!(r.iter().all(|s| *s == 0));
        assert!(m.buffered_samples() <= 2 * 1600 + 320);
    }

    #[test]
    fn hold_on_both_sides_keeps_the_file_in_real_time() {
        let t0 = Instant::now();
        let mut m = StereoMixer::new(t0, Duration::from_millis(200));
        let (mut l, mut r) = (Vec::new(), Vec::new());
        m.drain(t0 + Duration::from_secs(10), &mut l, &mut r);
        assert_eq!(l.len(), 9_800 * 8);
        assert_eq!(m.finish(&mut l, &mut r), 0);
    }

    #[test]
    fn a_burst_ahead_of_the_clock_is_capped() {
        let t0 = Instant::now();
        let mut m = StereoMixer::new(t0, Duration::from_millis(200));
        for _ in 0..1000 {
            m.push(t0, Channel::Left, Codec::Pcmu, &frame(5));
        }
        assert_eq!(m.buffered_samples(), 16_000);
        assert_eq!(m.dropped_samples(), 160_000 - 16_000);
    }

    #[test]
    fn finish_pads_the_shorter_channel() {
        let t0 = Instant::now();
        let mut m = StereoMixer::new(t0, Duration::from_millis(200));
        m.push(t0, Channel::Left, Codec::Pcma, &[0xD5; 320]);
        m.push(t0, Channel::Right, Codec::Pcma, &[0xD5; 160]);
        let (mut l, mut r) = (Vec::new(), Vec::new());
        assert_eq!(m.finish(&mut l, &mut r), 320);
        assert_eq!(r[160..], [0; 160]);
    }

    #[test]
    fn an_hour_long_call_never_buffers_more_than_a_few_seconds() {
        let t0 = Instant::now();
        let mut m = StereoMixer::new(t0, Duration::from_millis(200));
        let (mut l, mut r) = (Vec::new(), Vec::new());
        let mut written = 0usize;
        let mut peak = 0;
        for i in 1..=(3600 * 50u32) {
            let now = t0 + FRAME * i;
            m.push(now, Channel::Left, Codec::Pcmu, &frame(1));
            if i % 3 != 0 {
                m.push(now, Channel::Right, Codec::Pcmu, &frame(2));
            }
            if i % 50 == 0 {
                written += m.drain(now, &mut l, &mut r);
                l.clear();
                r.clear();
            }
            peak = peak.max(m.buffered_samples());
        }
        assert!(peak < 8000 * 2 * 3, "peak {peak} samples");
        assert!(written >= 3600 * 8000 - 8000);
    }
}
