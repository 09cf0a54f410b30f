//! Conferences on a worker: legs mixed by a [`Mixer`] instead of relayed in pairs.
//!
//! A leg joins by [`Command::Conference`](super::Command) naming every member: a bridge it
//! was in is detached (not torn down: a recording of the pair goes on), its playback stops.
//! While a leg is a member, its received audio feeds the mixer (RFC 4733 events are detected
//! as usual but not relayed: a conference has no single far end to press keys at), and at
//! each tick it is sent the sum of the others. A recording that was the customer (left) and
//! an agent (right) goes on with the right channel taken from what the customer hears: the
//! sum of everyone else.

use std::time::Instant;

use super::relay::{Audio, send_audio};
use super::{Channel, Frame, MAX_FRAME, Worker};
use crate::mixer::Mixer;

/// One conference on this worker.
pub(super) struct Conference {
    pub(super) id: u64,
    pub(super) mixer: Mixer<usize>,
}

impl Worker {
    /// Makes `slots` the members of one conference: the one any of them is in already, else
    /// a new one. Members not named leave it.
    pub(super) fn set_conference(&mut self, now: Instant, slots: &[usize]) {
        let existing = slots
            .iter()
            .find_map(|s| self.slot_mut(*s).and_then(|slot| slot.conference));
        let id = existing.unwrap_or_else(|| {
            self.next_conference += 1;
            self.next_conference
        });
        if existing.is_none() {
            self.conferences.push(Conference {
                id,
                mixer: Mixer::new(),
            });
        }
        let staying: Vec<usize> = self
            .conferences
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.mixer.keys().filter(|k| !slots.contains(k)).collect())
            .unwrap_or_default();
        for s in staying {
            self.leave_conference(s);
        }
        for &s in slots {
            if self
                .slot_mut(s)
                .is_some_and(|slot| slot.conference == Some(id))
            {
                continue;
            }
            self.leave_conference(s);
            self.detach(s);
            self.stop_playback(s);
            let source = self.new_source();
            let Some(slot) = self.slot_mut(s) else {
                continue;
            };
            let codec = slot
                .leg
                .as_ref()
                .map_or(crate::g711::Codec::Pcmu, |l| l.media().codec);
            let joined = self
                .conferences
                .iter_mut()
                .find(|c| c.id == id)
                .map(|c| c.mixer.join(now, s, codec, source).is_ok());
            if joined == Some(true)
                && let Some(slot) = self.slot_mut(s)
            {
                slot.conference = Some(id);
            }
        }
    }

    /// Takes slot `s` out of its conference; the last member out ends it.
    pub(super) fn leave_conference(&mut self, s: usize) {
        let Some(id) = self.slot_mut(s).and_then(|slot| slot.conference.take()) else {
            return;
        };
        if let Some(c) = self.conferences.iter_mut().find(|c| c.id == id) {
            c.mixer.leave(s);
        }
        self.conferences.retain(|c| !c.mixer.is_empty());
    }

    /// Separates `s` from its bridge partner without stopping their recording.
    fn detach(&mut self, s: usize) {
        let Some(peer) = self.slot_mut(s).and_then(|slot| slot.peer.take()) else {
            return;
        };
        if let Some(p) = self.slot_mut(peer) {
            p.peer = None;
        }
    }

    /// The earliest conference tick.
    pub(super) fn conference_deadline(&self) -> Option<Instant> {
        self.conferences
            .iter()
            .filter_map(|c| c.mixer.poll_timeout())
            .min()
    }

    /// Sends each member of every due conference its mix (and records what the customer
    /// hears as the right channel).
    pub(super) fn tick_conferences(&mut self, now: Instant) {
        let Worker {
            conferences,
            slots,
            tx_buf,
            scratch,
            recorder,
            ..
        } = self;
        for conference in conferences.iter_mut() {
            conference.mixer.tick(now, |s, frame| {
                let Some(slot) = slots.get_mut(s).and_then(Option::as_mut) else {
                    return;
                };
                if let Some(rec) = slot
                    .recording
                    .as_ref()
                    .filter(|r| matches!(r.channel, Channel::Left))
                {
                    let mut payload = [0; MAX_FRAME];
                    let len = frame.payload.len().min(MAX_FRAME);
                    payload[..len].copy_from_slice(&frame.payload[..len]);
                    let _ = recorder.frame(Frame {
                        id: rec.id,
                        channel: Channel::Right,
                        codec: frame.codec,
                        at: now,
                        len: len as u16,
                        payload,
                    });
                }
                if slot.playing.is_some() || slot.muted(now) {
                    return;
                }
                send_audio(
                    slot,
                    now,
                    &Audio {
                        source: frame.source,
                        codec: frame.codec,
                        marker: frame.marker,
                        sequence: frame.sequence,
                        timestamp: frame.timestamp,
                        payload: frame.payload,
                    },
                    &mut tx_buf[..],
                    &mut scratch[..],
                );
            });
        }
    }
}
