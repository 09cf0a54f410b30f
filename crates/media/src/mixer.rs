//! A conference: N legs (up to [`MAX_MEMBERS`]) on one media worker, each hearing the sum of
//! the others (an N−1 mix, so nobody hears their own voice back), on one shared 20 ms tick.
//!
//! Each member's received G.711 audio is decoded as it arrives and kept as that member's
//! latest 20 ms; at every tick the frames that arrived since the last one are summed in 32
//! bits, each member's own frame is taken out of the total, and the result is clipped to
//! PCM16 and encoded in the member's own law. A member who sent nothing this period adds
//! silence (packet loss and talk-spurt silence suppression look the same). Every member's
//! output is numbered by its own source, so the leg's continuous outbound stream
//! ([`crate::stream::OutboundStream`]) sees one talk-spurt from the conference, and a tick
//! that came late advances the timestamp by the periods it missed instead of mixing stale
//! audio into a burst.
//!
//! A pure core: time comes in as `now`, frames go out through a callback.

use std::time::{Duration, Instant};

use crate::g711::Codec;
use crate::stream::SourceId;

/// Samples in one 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;
/// Members one conference may have.
pub const MAX_MEMBERS: usize = 8;
const FRAME: Duration = Duration::from_millis(20);

/// One member's mix for one period, encoded in its law.
#[derive(Debug)]
pub struct MixFrame<'a> {
    /// The source the member's packets are numbered by.
    pub source: SourceId,
    /// The member's law.
    pub codec: Codec,
    /// First frame of the member's talk-spurt from the conference.
    pub marker: bool,
    /// The source's sequence number.
    pub sequence: u16,
    /// The source's timestamp (8 kHz).
    pub timestamp: u32,
    /// 160 G.711 bytes.
    pub payload: &'a [u8],
}

#[derive(Debug)]
struct Member<K> {
    key: K,
    codec: Codec,
    source: SourceId,
    /// The latest 20 ms received since the last tick.
    heard: [i16; FRAME_SAMPLES],
    fresh: bool,
    sequence: u16,
    timestamp: u32,
    started: bool,
}

/// Why a member could not join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    /// [`MAX_MEMBERS`] are in already.
    #[error("the conference is full ({MAX_MEMBERS} members)")]
    Full,
}

/// The mixer of one conference, keyed by whatever names a leg to its owner.
#[derive(Debug)]
pub struct Mixer<K> {
    members: Vec<Member<K>>,
    next_tick: Option<Instant>,
}

impl<K: Copy + Eq> Default for Mixer<K> {
    fn default() -> Self {
        Mixer {
            members: Vec::new(),
            next_tick: None,
        }
    }
}

impl<K: Copy + Eq> Mixer<K> {
    /// An empty conference.
    pub fn new() -> Mixer<K> {
        Mixer::default()
    }

    /// Adds `key` speaking `codec`, its output numbered by `source` (a member already in
    /// keeps its place and takes the new law). The tick grid starts with the first member.
    pub fn join(
        &mut self,
        now: Instant,
        key: K,
        codec: Codec,
        source: SourceId,
    ) -> Result<(), JoinError> {
        if let Some(m) = self.members.iter_mut().find(|m| m.key == key) {
            m.codec = codec;
            return Ok(());
        }
        if self.members.len() >= MAX_MEMBERS {
            return Err(JoinError::Full);
        }
        self.members.push(Member {
            key,
            codec,
            source,
            heard: [0; FRAME_SAMPLES],
            fresh: false,
            sequence: 0,
            timestamp: 0,
            started: false,
        });
        self.next_tick.get_or_insert(now);
        Ok(())
    }

    /// Removes `key`; true if it was a member. The last one out stops the tick.
    pub fn leave(&mut self, key: K) -> bool {
        let before = self.members.len();
        self.members.retain(|m| m.key != key);
        if self.members.is_empty() {
            self.next_tick = None;
        }
        before != self.members.len()
    }

    /// Whether `key` is a member.
    pub fn contains(&self, key: K) -> bool {
        self.members.iter().any(|m| m.key == key)
    }

    /// The members, in joining order.
    pub fn keys(&self) -> impl Iterator<Item = K> + '_ {
        self.members.iter().map(|m| m.key)
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether nobody is in.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// `key` received `payload` in `codec` (a leg that switched law by re-INVITE says so
    /// here). Up to 20 ms is kept: a longer packet's first frame, a shorter one padded with
    /// silence. Not a member: ignored.
    pub fn push(&mut self, key: K, codec: Codec, payload: &[u8]) {
        let Some(m) = self.members.iter_mut().find(|m| m.key == key) else {
            return;
        };
        m.codec = codec;
        let n = codec.decode(payload, &mut m.heard);
        m.heard
            .get_mut(n..)
            .into_iter()
            .flatten()
            .for_each(|s| *s = 0);
        m.fresh = true;
    }

    /// When the next tick is due, if anyone is in.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_tick
    }

    /// Emits every member's mix for the period due at `now` (nothing before it is due).
    pub fn tick(&mut self, now: Instant, mut emit: impl FnMut(K, &MixFrame<'_>)) {
        let Some(due) = self.next_tick.filter(|t| *t <= now) else {
            return;
        };
        let periods =
            (now.saturating_duration_since(due).as_micros() / FRAME.as_micros()) as u32 + 1;
        let mut total = [0i32; FRAME_SAMPLES];
        for m in self.members.iter().filter(|m| m.fresh) {
            for (t, s) in total.iter_mut().zip(m.heard.iter()) {
                *t += i32::from(*s);
            }
        }
        let mut pcm = [0i16; FRAME_SAMPLES];
        let mut out = [0u8; FRAME_SAMPLES];
        for m in &mut self.members {
            for (i, p) in pcm.iter_mut().enumerate() {
                let own = if m.fresh { i32::from(m.heard[i]) } else { 0 };
                let others = total[i] - own;
                *p = others.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
            }
            m.codec.encode(&pcm, &mut out);
            if m.started {
                m.sequence = m.sequence.wrapping_add(1);
                m.timestamp = m.timestamp.wrapping_add(FRAME_SAMPLES as u32 * periods);
            }
            emit(
                m.key,
                &MixFrame {
                    source: m.source,
                    codec: m.codec,
                    marker: !m.started,
                    sequence: m.sequence,
                    timestamp: m.timestamp,
                    payload: &out,
                },
            );
            m.started = true;
        }
        for m in &mut self.members {
            m.fresh = false;
        }
        self.next_tick = Some(due + FRAME * periods);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, start: usize, n: usize) -> Vec<i16> {
        (start..start + n)
            .map(|i| {
                (6000.0 * (2.0 * std::f64::consts::PI * freq * i as f64 / 8000.0).sin()) as i16
            })
            .collect()
    }

    /// Goertzel power of `freq` in `samples`.
    fn power(samples: &[i16], freq: f64) -> f64 {
        let k = 2.0 * (2.0 * std::f64::consts::PI * freq / 8000.0).cos();
        let (mut s1, mut s2) = (0.0, 0.0);
        for &x in samples {
            let s = f64::from(x) + k * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        s1 * s1 + s2 * s2 - k * s1 * s2
    }

    fn encoded(codec: Codec, pcm: &[i16]) -> Vec<u8> {
        let mut out = vec![0; pcm.len()];
        codec.encode(pcm, &mut out);
        out
    }

    #[test]
    fn each_member_hears_the_other_two_and_not_itself_in_its_own_law() {
        let t0 = Instant::now();
        let mut mixer = Mixer::new();
        let laws = [Codec::Pcmu, Codec::Pcma, Codec::Pcmu];
        let freqs = [440.0, 1000.0, 1800.0];
        for (k, law) in laws.iter().enumerate() {
            mixer.join(t0, k, *law, SourceId(k as u64)).unwrap();
        }
        let mut heard: Vec<Vec<i16>> = vec![Vec::new(); 3];
        for period in 0..10u32 {
            for (k, law) in laws.iter().enumerate() {
                let at = period as usize * FRAME_SAMPLES;
                mixer.push(k, *law, &encoded(*law, &tone(freqs[k], at, FRAME_SAMPLES)));
            }
            mixer.tick(t0 + FRAME * period, |k, frame| {
                assert_eq!(frame.codec, laws[k], "each in its own law");
                assert_eq!(frame.payload.len(), FRAME_SAMPLES);
                let mut pcm = [0i16; FRAME_SAMPLES];
                frame.codec.decode(frame.payload, &mut pcm);
                heard[k].extend_from_slice(&pcm);
            });
        }
        for k in 0..3 {
            let own = power(&heard[k], freqs[k]);
            for other in (0..3).filter(|o| *o != k) {
                assert!(
                    power(&heard[k], freqs[other]) > 100.0 * own.max(1.0),
                    "member {k} hears {other} well above itself"
                );
            }
        }
    }

    #[test]
    fn silent_members_add_nothing_and_loud_sums_clip_instead_of_wrapping() {
        let t0 = Instant::now();
        let mut mixer = Mixer::new();
        for k in 0..3 {
            mixer.join(t0, k, Codec::Pcmu, SourceId(k)).unwrap();
        }
        let loud = encoded(Codec::Pcmu, &[30000; FRAME_SAMPLES]);
        mixer.push(0, Codec::Pcmu, &loud);
        mixer.push(1, Codec::Pcmu, &loud);
        let mut frames = Vec::new();
        mixer.tick(t0, |k, f| {
            let mut pcm = [0i16; FRAME_SAMPLES];
            f.codec.decode(f.payload, &mut pcm);
            frames.push((k, pcm[0]));
        });
        // 2 hears only 0 + 1 (clipped near the top, not wrapped negative); 0 hears 1.
        assert!(frames.iter().any(|&(k, s)| k == 2 && s > 30000));
        assert!(
            frames
                .iter()
                .any(|&(k, s)| k == 0 && (29000..=31000).contains(&s))
        );
        // Next period nobody spoke: everyone hears silence.
        mixer.tick(t0 + FRAME, |_, f| {
            let mut pcm = [0i16; FRAME_SAMPLES];
            f.codec.decode(f.payload, &mut pcm);
            assert!(pcm.iter().all(|s| s.abs() < 16));
        });
    }

    #[test]
    fn numbering_is_continuous_and_a_late_tick_advances_the_clock_by_the_missed_periods() {
        let t0 = Instant::now();
        let mut mixer = Mixer::new();
        mixer.join(t0, 'a', Codec::Pcmu, SourceId(1)).unwrap();
        let mut seen = Vec::new();
        mixer.tick(t0, |_, f| seen.push((f.marker, f.sequence, f.timestamp)));
        mixer.tick(t0 + FRAME, |_, f| {
            seen.push((f.marker, f.sequence, f.timestamp))
        });
        // Three periods late: one frame, the timestamp three frames on.
        mixer.tick(t0 + FRAME * 4, |_, f| {
            seen.push((f.marker, f.sequence, f.timestamp))
        });
        assert_eq!(
            seen,
            vec![(true, 0, 0), (false, 1, 160), (false, 2, 160 * 4)]
        );
        assert_eq!(mixer.poll_timeout(), Some(t0 + FRAME * 5));
        // Not due yet: nothing.
        mixer.tick(t0 + FRAME * 4, |_, _| panic!("not due"));
    }

    #[test]
    fn members_join_up_to_the_limit_and_the_last_one_out_stops_the_tick() {
        let t0 = Instant::now();
        let mut mixer = Mixer::new();
        for k in 0..MAX_MEMBERS {
            mixer.join(t0, k, Codec::Pcmu, SourceId(k as u64)).unwrap();
        }
        assert_eq!(
            mixer.join(t0, 99, Codec::Pcmu, SourceId(99)),
            Err(JoinError::Full)
        );
        assert!(
            mixer.join(t0, 3, Codec::Pcma, SourceId(3)).is_ok(),
            "rejoin"
        );
        for k in 0..MAX_MEMBERS {
            assert!(mixer.leave(k));
        }
        assert!(!mixer.leave(0));
        assert!(mixer.is_empty());
        assert_eq!(mixer.poll_timeout(), None);
        // A non-member's audio is ignored.
        mixer.push(5, Codec::Pcmu, &[0xff; 160]);
    }
}
