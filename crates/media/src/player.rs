//! Prompt playback as 20 ms G.711 frames, all players paced by one shared tick.
//!
//! A [`Player`] walks a list of [`PlayItem`]s (prompts and silences) once, or loops it (music
//! on hold), producing 160-byte frames in the law of its leg, numbered with its own sequence
//! and timestamp (the leg's [`crate::stream::OutboundStream`] maps them onto the leg's stream,
//! so switching from a prompt to the bridge or to MOH stays one continuous stream).
//!
//! [`Playback`] holds every playing stream of a media thread and is driven by one timer: its
//! [`Playback::poll_timeout`] is the next 20 ms boundary, and [`Playback::tick`] emits one
//! frame per player per elapsed period. 5,000 streams cost 50 wakeups a second, not 250,000
//! (research sip-rtp.md §4.3). A late tick catches up by a few frames and then skips, so a
//! stalled thread does not answer with a burst of seconds of audio.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::g711::Codec;
use crate::stream::SourceId;
use crate::wav::PromptAudio;

/// Samples (and bytes) in one 20 ms G.711 frame.
pub const FRAME_SAMPLES: usize = 160;
/// The shared tick.
pub const FRAME: Duration = Duration::from_millis(20);
/// Frames a late tick may emit per player before it starts skipping.
const MAX_CATCH_UP: u32 = 5;

/// One thing to play.
#[derive(Debug, Clone)]
pub enum PlayItem {
    /// A loaded prompt.
    Audio(Arc<PromptAudio>),
    /// Silence, e.g. a pause between announcements.
    Silence(Duration),
}

impl PlayItem {
    fn samples(&self) -> usize {
        match self {
            PlayItem::Audio(a) => a.len(),
            PlayItem::Silence(d) => (d.as_micros() * 8 / 1000) as usize,
        }
    }
}

/// A frame ready for [`crate::stream::RtpLeg::send`].
#[derive(Debug, Clone, Copy)]
pub struct PlayerFrame<'a> {
    /// The player's source id.
    pub source: SourceId,
    /// The law of the frame.
    pub codec: Codec,
    /// Marker: first frame of the playback.
    pub marker: bool,
    /// The player's sequence number.
    pub sequence: u16,
    /// The player's timestamp.
    pub timestamp: u32,
    /// 160 bytes of G.711.
    pub payload: &'a [u8],
}

/// Plays a list of items once or in a loop.
#[derive(Debug, Clone)]
pub struct Player {
    source: SourceId,
    codec: Codec,
    items: Vec<PlayItem>,
    looping: bool,
    item: usize,
    offset: usize,
    sequence: u16,
    timestamp: u32,
    started: bool,
    frame: [u8; FRAME_SAMPLES],
}

impl Player {
    /// A player for `items` in `codec`. With `looping`, it starts over at the end (music on
    /// hold); otherwise it finishes after the last item.
    pub fn new(source: SourceId, codec: Codec, items: Vec<PlayItem>, looping: bool) -> Player {
        Player {
            source,
            codec,
            items,
            looping,
            item: 0,
            offset: 0,
            sequence: 0,
            timestamp: 0,
            started: false,
            frame: [codec.silence(); FRAME_SAMPLES],
        }
    }

    /// Whether everything has been played (never, when looping with any audio).
    pub fn is_finished(&self) -> bool {
        self.item >= self.items.len()
    }

    /// Changes the law, e.g. after a re-INVITE switched the leg from PCMU to PCMA.
    pub fn set_codec(&mut self, codec: Codec) {
        self.codec = codec;
    }

    /// The next 20 ms frame, or `None` when finished. The last frame of a prompt is
    /// completed with the start of the next item (or silence at the very end).
    pub fn next_frame(&mut self) -> Option<PlayerFrame<'_>> {
        if !self.fill() {
            return None;
        }
        let marker = !self.started;
        self.started = true;
        let frame = PlayerFrame {
            source: self.source,
            codec: self.codec,
            marker,
            sequence: self.sequence,
            timestamp: self.timestamp,
            payload: &self.frame,
        };
        self.sequence = self.sequence.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(FRAME_SAMPLES as u32);
        Some(frame)
    }

    /// Advances one frame without producing it (a skipped late tick).
    fn skip_frame(&mut self) {
        if self.fill() {
            self.sequence = self.sequence.wrapping_add(1);
            self.timestamp = self.timestamp.wrapping_add(FRAME_SAMPLES as u32);
        }
    }

    /// Fills `self.frame` from the items; false when nothing is left.
    fn fill(&mut self) -> bool {
        if self.is_finished() {
            return false;
        }
        let silence = self.codec.silence();
        let mut filled = 0;
        // Consecutive items that gave nothing: a whole lap of them means a loop of empty
        // prompts, which must finish rather than spin.
        let mut idle = 0;
        while filled < FRAME_SAMPLES {
            if idle > self.items.len() {
                self.item = self.items.len();
                break;
            }
            let Some(item) = self.items.get(self.item) else {
                break;
            };
            let total = item.samples();
            let take = (total.saturating_sub(self.offset)).min(FRAME_SAMPLES - filled);
            let dst = &mut self.frame[filled..filled + take];
            match item {
                PlayItem::Audio(a) => {
                    match a.encoded(self.codec).get(self.offset..self.offset + take) {
                        Some(src) => dst.copy_from_slice(src),
                        None => dst.fill(silence),
                    }
                }
                PlayItem::Silence(_) => dst.fill(silence),
            }
            idle = if take == 0 { idle + 1 } else { 0 };
            filled += take;
            self.offset += take;
            if self.offset >= total {
                self.offset = 0;
                self.item += 1;
                if self.looping && self.item >= self.items.len() {
                    self.item = 0;
                }
            }
        }
        if filled == 0 {
            // Only empty items: nothing to play.
            self.item = self.items.len();
            return false;
        }
        self.frame[filled..].fill(silence);
        true
    }
}

/// What [`Playback`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaybackEvent<K> {
    /// The player of `K` played its last frame (non-looping players only).
    Finished(K),
}

/// Every playing stream of one media thread, driven by one shared 20 ms tick.
#[derive(Debug)]
pub struct Playback<K> {
    players: Vec<(K, Player)>,
    next_tick: Option<Instant>,
    finished: VecDeque<K>,
}

impl<K: Copy + Eq> Default for Playback<K> {
    fn default() -> Self {
        Playback {
            players: Vec::new(),
            next_tick: None,
            finished: VecDeque::new(),
        }
    }
}

impl<K: Copy + Eq> Playback<K> {
    /// No players.
    pub fn new() -> Playback<K> {
        Playback::default()
    }

    /// Starts `player` for `key` (a leg), replacing what that key was playing. Its first frame
    /// goes out at the next tick (within 20 ms); the tick grid starts with the first player.
    pub fn start(&mut self, now: Instant, key: K, player: Player) {
        self.stop(key);
        self.players.push((key, player));
        if self.next_tick.is_none() {
            self.next_tick = Some(now);
        }
    }

    /// Stops `key`'s player; true if one was playing. No event is reported for it.
    pub fn stop(&mut self, key: K) -> bool {
        let before = self.players.len();
        self.players.retain(|(k, _)| *k != key);
        if self.players.is_empty() {
            self.next_tick = None;
        }
        before != self.players.len()
    }

    /// Whether `key` has a player.
    pub fn is_playing(&self, key: K) -> bool {
        self.players.iter().any(|(k, _)| *k == key)
    }

    /// Number of playing streams.
    pub fn len(&self) -> usize {
        self.players.len()
    }

    /// Whether nothing plays.
    pub fn is_empty(&self) -> bool {
        self.players.is_empty()
    }

    /// The next tick, if anything plays.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_tick
    }

    /// Emits the frames due at `now`: one per player per elapsed 20 ms period (at most
    /// five after a stall; older periods are skipped), through `emit`.
    pub fn tick(&mut self, now: Instant, mut emit: impl FnMut(K, &PlayerFrame<'_>)) {
        let Some(due) = self.next_tick.filter(|t| *t <= now) else {
            return;
        };
        let behind = now.saturating_duration_since(due);
        let periods = (behind.as_micros() / FRAME.as_micros()) as u32 + 1;
        let skipped = periods.saturating_sub(MAX_CATCH_UP);
        for (key, player) in &mut self.players {
            for _ in 0..skipped {
                player.skip_frame();
            }
            for _ in skipped..periods {
                match player.next_frame() {
                    Some(frame) => emit(*key, &frame),
                    None => break,
                }
            }
            if player.is_finished() {
                self.finished.push_back(*key);
            }
        }
        self.players.retain(|(_, p)| !p.is_finished());
        self.next_tick = if self.players.is_empty() {
            None
        } else {
            Some(due + FRAME * periods)
        };
    }

    /// The next event.
    pub fn poll_output(&mut self) -> Option<PlaybackEvent<K>> {
        self.finished.pop_front().map(PlaybackEvent::Finished)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(samples: usize, value: i16) -> PlayItem {
        PlayItem::Audio(Arc::new(PromptAudio::from_pcm(&vec![value; samples])))
    }

    #[test]
    fn a_prompt_plays_as_frames_then_finishes() {
        let code = crate::g711::linear_to_ulaw(1000);
        let mut p = Player::new(SourceId(1), Codec::Pcmu, vec![prompt(400, 1000)], false);
        let mut frames = Vec::new();
        while let Some(f) = p.next_frame() {
            frames.push((f.sequence, f.timestamp, f.marker, f.payload.to_vec()));
        }
        assert_eq!(frames.len(), 3);
        assert_eq!(
            frames.iter().map(|f| f.1).collect::<Vec<_>>(),
            [0, 160, 320]
        );
        assert_eq!(frames.iter().map(|f| f.0).collect::<Vec<_>>(), [0, 1, 2]);
        assert!(frames[0].2 && !frames[1].2);
        assert!(frames[2].3[..80].iter().all(|b| *b == code));
        assert!(
            frames[2].3[80..].iter().all(|b| *b == 0xFF),
            "tail padded with silence"
        );
        assert!(p.is_finished());
    }

    #[test]
    fn a_sequence_flows_across_item_boundaries() {
        let a = crate::g711::linear_to_alaw(500);
        let b = crate::g711::linear_to_alaw(-500);
        let items = vec![
            prompt(100, 500),
            PlayItem::Silence(Duration::from_millis(5)),
            prompt(100, -500),
        ];
        let mut p = Player::new(SourceId(1), Codec::Pcma, items, false);
        let f = p.next_frame().unwrap().payload.to_vec();
        assert!(f[..100].iter().all(|x| *x == a));
        assert!(f[100..140].iter().all(|x| *x == 0xD5));
        assert!(f[140..].iter().all(|x| *x == b));
        let f = p.next_frame().unwrap().payload.to_vec();
        assert!(f[..80].iter().all(|x| *x == b));
        assert!(p.next_frame().is_none());
    }

    #[test]
    fn music_on_hold_loops_seamlessly() {
        let mut p = Player::new(SourceId(1), Codec::Pcmu, vec![prompt(240, 1000)], true);
        for _ in 0..1000 {
            let f = p.next_frame().unwrap();
            assert!(
                f.payload
                    .iter()
                    .all(|x| *x == crate::g711::linear_to_ulaw(1000))
            );
        }
        assert!(!p.is_finished());
    }

    #[test]
    fn a_loop_of_nothing_finishes_instead_of_spinning() {
        let mut p = Player::new(SourceId(1), Codec::Pcmu, vec![prompt(0, 0)], true);
        assert!(p.next_frame().is_none());
        let mut p = Player::new(SourceId(1), Codec::Pcmu, Vec::new(), true);
        assert!(p.next_frame().is_none());
    }

    #[test]
    fn one_tick_drives_every_player() {
        let t0 = Instant::now();
        let mut pb: Playback<u32> = Playback::new();
        for leg in 0..100 {
            pb.start(
                t0,
                leg,
                Player::new(
                    SourceId(leg.into()),
                    Codec::Pcmu,
                    vec![prompt(8000, 1)],
                    true,
                ),
            );
        }
        let mut count = 0;
        for i in 0..50u32 {
            let now = t0 + FRAME * i;
            assert_eq!(pb.poll_timeout(), Some(now));
            pb.tick(now, |_, f| {
                assert_eq!(f.payload.len(), 160);
                count += 1;
            });
        }
        assert_eq!(count, 100 * 50);
        assert_eq!(pb.poll_timeout(), Some(t0 + FRAME * 50));
    }

    #[test]
    fn a_finished_prompt_is_reported_and_removed() {
        let t0 = Instant::now();
        let mut pb = Playback::new();
        pb.start(
            t0,
            'a',
            Player::new(SourceId(1), Codec::Pcmu, vec![prompt(320, 1)], false),
        );
        pb.start(
            t0,
            'b',
            Player::new(SourceId(2), Codec::Pcmu, vec![prompt(320, 1)], true),
        );
        let mut frames = 0;
        for i in 0..3u32 {
            pb.tick(t0 + FRAME * i, |k, _| {
                if k == 'a' {
                    frames += 1;
                }
            });
        }
        assert_eq!(frames, 2);
        assert_eq!(pb.poll_output(), Some(PlaybackEvent::Finished('a')));
        assert_eq!(pb.poll_output(), None);
        assert!(!pb.is_playing('a') && pb.is_playing('b'));
    }

    #[test]
    fn a_late_tick_catches_up_a_little_then_skips() {
        let t0 = Instant::now();
        let mut pb = Playback::new();
        pb.start(
            t0,
            1u8,
            Player::new(SourceId(1), Codec::Pcmu, vec![prompt(80_000, 1)], false),
        );
        pb.tick(t0, |_, _| {});
        // 50 ms late: the due tick plus two more periods.
        let mut ts = Vec::new();
        pb.tick(t0 + FRAME + Duration::from_millis(50), |_, f| {
            ts.push(f.timestamp)
        });
        assert_eq!(ts, [160, 320, 480]);
        assert_eq!(pb.poll_timeout(), Some(t0 + FRAME * 4));
        // A one-second stall: 5 frames, the rest skipped but their time accounted for.
        let mut ts = Vec::new();
        pb.tick(t0 + FRAME * 4 + Duration::from_secs(1), |_, f| {
            ts.push(f.timestamp)
        });
        assert_eq!(ts.len(), 5);
        assert_eq!(*ts.last().unwrap(), 160 * (4 + 50));
    }

    #[test]
    fn restarting_a_key_replaces_its_player() {
        let t0 = Instant::now();
        let mut pb = Playback::new();
        pb.start(
            t0,
            1u8,
            Player::new(SourceId(1), Codec::Pcmu, vec![prompt(8000, 1)], true),
        );
        pb.start(
            t0,
            1u8,
            Player::new(SourceId(2), Codec::Pcmu, vec![prompt(8000, 1)], true),
        );
        assert_eq!(pb.len(), 1);
        let mut sources = Vec::new();
        pb.tick(t0, |_, f| sources.push(f.source));
        assert_eq!(sources, [SourceId(2)]);
        assert!(pb.stop(1));
        assert_eq!(pb.poll_timeout(), None);
    }
}
