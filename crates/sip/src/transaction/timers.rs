//! One hashed timing wheel for every timer of the transaction layer.
//!
//! A SIP server holds thousands of live transactions, each with two or three armed timers
//! (RFC 3261 §17: A/B, E/F, G/H, D, I, J, K; RFC 6026: L, M). A heap or a task per timer costs
//! more than the timers are worth; a hashed wheel (Varghese & Lauck, as in tokio's
//! `runtime/time/wheel` and Kamailio's `tm/timer.c`) makes insert and cancel O(1).
//!
//! A deadline goes into the slot of the tick it falls in; a poll scans the ticks from the last
//! poll's tick to now's and fires exactly the entries whose deadline has passed, so a timer
//! never fires early nor later than the poll after its deadline. One that lies further than one
//! revolution ahead waits in its slot for later rounds (each entry remembers its absolute tick). Cancelling only removes the entry from the table; the slot keeps a stale id
//! that the next scan of that slot drops, so a handle that was cancelled, fired, or never
//! existed is harmless to cancel again.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Identifies one armed timer; returned by [`TimerWheel::insert`], consumed by
/// [`TimerWheel::cancel`]. Never reused, so a stale handle cannot cancel someone else's timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TimerHandle(u64);

#[derive(Debug)]
struct Entry<K> {
    deadline: Instant,
    tick: u64,
    key: K,
}

/// A hashed timing wheel mapping deadlines to keys of type `K`.
#[derive(Debug)]
pub(crate) struct TimerWheel<K> {
    tick: Duration,
    slots: Vec<Vec<u64>>,
    entries: HashMap<u64, Entry<K>>,
    /// Time zero of the tick count; set by the first insert. Earlier instants count as tick 0,
    /// so a deadline before the origin still fires once `now` reaches it.
    origin: Option<Instant>,
    /// The first tick the next `poll_expired` scans (the last poll's tick: entries later in that
    /// tick were not yet due).
    cursor: u64,
    next_id: u64,
    /// The earliest live deadline, kept current by every mutation.
    next: Option<Instant>,
}

impl<K> TimerWheel<K> {
    /// A wheel of `slots` slots of `tick` each (one revolution is `slots * tick`).
    pub(crate) fn new(tick: Duration, slots: usize) -> Self {
        let tick = tick.max(Duration::from_micros(1));
        let slots = slots.max(1);
        TimerWheel {
            tick,
            slots: (0..slots).map(|_| Vec::new()).collect(),
            entries: HashMap::new(),
            origin: None,
            cursor: 0,
            next_id: 0,
            next: None,
        }
    }

    /// Arms a timer that expires at `deadline`, carrying `key`.
    pub(crate) fn insert(&mut self, deadline: Instant, key: K) -> TimerHandle {
        let origin = *self.origin.get_or_insert(deadline);
        // A deadline in an already scanned tick (the past) is clamped to the cursor, which the
        // next poll scans, so it fires then.
        let tick = self.tick_floor(origin, deadline).max(self.cursor);
        let id = self.next_id;
        self.next_id += 1;
        let slot = self.slot_of(tick);
        self.slots[slot].push(id);
        self.entries.insert(
            id,
            Entry {
                deadline,
                tick,
                key,
            },
        );
        self.next = Some(self.next.map_or(deadline, |n| n.min(deadline)));
        TimerHandle(id)
    }

    /// Disarms a timer. Returns its key if it was still armed; `None` for a handle that already
    /// fired or was cancelled before.
    pub(crate) fn cancel(&mut self, handle: TimerHandle) -> Option<K> {
        let entry = self.entries.remove(&handle.0)?;
        if self.next == Some(entry.deadline) {
            self.recompute_next();
        }
        Some(entry.key)
    }

    /// Removes and returns, earliest deadline first, every timer whose deadline is `<= now`,
    /// with the handle `insert` gave for it (so an owner can tell a fired timer from one it
    /// re-armed since).
    pub(crate) fn poll_expired(&mut self, now: Instant) -> Vec<(TimerHandle, K)> {
        let Some(origin) = self.origin else {
            return Vec::new();
        };
        let now_tick = self.tick_floor(origin, now);
        let mut fired: Vec<(Instant, u64)> = Vec::new();
        if now_tick >= self.cursor {
            // Scan each tick from the cursor to now once; a gap longer than a revolution
            // visits every slot exactly once.
            let span = (now_tick - self.cursor + 1).min(self.slots.len() as u64);
            for offset in 0..span {
                let slot = self.slot_of(self.cursor + offset);
                let entries = &self.entries;
                let ids = &mut self.slots[slot];
                ids.retain(|id| match entries.get(id) {
                    None => false, // stale: cancelled or already fired
                    Some(entry) if entry.deadline <= now => {
                        fired.push((entry.deadline, *id));
                        false
                    }
                    Some(_) => true, // a later round of this slot
                });
            }
            self.cursor = now_tick;
        }
        fired.sort_by_key(|&(deadline, id)| (deadline, id));
        let keys = fired
            .into_iter()
            .filter_map(|(_, id)| self.entries.remove(&id).map(|e| (TimerHandle(id), e.key)))
            .collect();
        self.recompute_next();
        keys
    }

    /// The earliest armed deadline, if any.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.next
    }

    /// How many timers are armed.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    fn recompute_next(&mut self) {
        // Walk one revolution from the cursor: the first slot holding an entry of the current
        // round holds the earliest deadline. Entries further out need a full look.
        let slots = self.slots.len() as u64;
        for offset in 0..slots {
            let tick = self.cursor + offset;
            let earliest = self.slots[self.slot_of(tick)]
                .iter()
                .filter_map(|id| self.entries.get(id))
                .filter(|e| e.tick == tick)
                .map(|e| e.deadline)
                .min();
            if earliest.is_some() {
                self.next = earliest;
                return;
            }
        }
        self.next = self.entries.values().map(|e| e.deadline).min();
    }

    fn slot_of(&self, tick: u64) -> usize {
        (tick % self.slots.len() as u64) as usize
    }

    fn tick_floor(&self, origin: Instant, at: Instant) -> u64 {
        let since = at.saturating_duration_since(origin).as_nanos();
        (since / self.tick.as_nanos()) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TICK: Duration = Duration::from_millis(10);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// The keys `poll_expired` fires at `now`.
    fn expired<K>(wheel: &mut TimerWheel<K>, now: Instant) -> Vec<K> {
        wheel
            .poll_expired(now)
            .into_iter()
            .map(|(_, k)| k)
            .collect()
    }

    #[test]
    fn timer_fires_at_its_deadline_and_not_before() {
        let t0 = Instant::now();
        let mut wheel = TimerWheel::new(TICK, 64);
        wheel.insert(t0, "origin");
        wheel.insert(t0 + ms(505), "a");
        assert_eq!(expired(&mut wheel, t0), vec!["origin"]);
        assert!(expired(&mut wheel, t0 + ms(504)).is_empty());
        assert_eq!(expired(&mut wheel, t0 + ms(505)), vec!["a"]);
        assert_eq!(wheel.len(), 0);
        assert_eq!(wheel.next_deadline(), None);
    }

    #[test]
    fn timers_beyond_one_revolution_wait_for_their_round() {
        let t0 = Instant::now();
        let mut wheel = TimerWheel::new(TICK, 8); // one revolution = 80 ms
        wheel.insert(t0 + ms(32_000), "timer-b");
        wheel.insert(t0 + ms(50), "short");
        assert_eq!(wheel.next_deadline(), Some(t0 + ms(50)));
        assert_eq!(expired(&mut wheel, t0 + ms(100)), vec!["short"]);
        assert_eq!(wheel.next_deadline(), Some(t0 + ms(32_000)));
        for step in 1..400 {
            assert!(expired(&mut wheel, t0 + ms(100 + step * 79)).is_empty());
        }
        assert_eq!(expired(&mut wheel, t0 + ms(32_000)), vec!["timer-b"]);
    }

    #[test]
    fn cancelled_timer_never_fires_and_stale_handles_are_harmless() {
        let t0 = Instant::now();
        let mut wheel = TimerWheel::new(TICK, 16);
        let a = wheel.insert(t0 + ms(100), 1);
        let b = wheel.insert(t0 + ms(200), 2);
        assert_eq!(wheel.cancel(a), Some(1));
        assert_eq!(wheel.cancel(a), None);
        assert_eq!(wheel.next_deadline(), Some(t0 + ms(200)));
        assert_eq!(expired(&mut wheel, t0 + ms(1_000)), vec![2]);
        assert_eq!(wheel.cancel(b), None, "a fired handle cancels nothing");
        let c = wheel.insert(t0 + ms(1_100), 3);
        assert_ne!(c, a);
        assert_eq!(wheel.poll_expired(t0 + ms(1_100)), vec![(c, 3)]);
    }

    #[test]
    fn deadline_in_the_past_fires_at_the_next_poll() {
        let t0 = Instant::now();
        let mut wheel = TimerWheel::new(TICK, 16);
        wheel.insert(t0 + ms(500), "late");
        assert_eq!(expired(&mut wheel, t0 + ms(500)), vec!["late"]);
        wheel.insert(t0 + ms(20), "past");
        assert_eq!(wheel.next_deadline(), Some(t0 + ms(20)));
        assert_eq!(expired(&mut wheel, t0 + ms(501)), vec!["past"]);
    }

    #[test]
    fn expired_keys_come_out_in_deadline_order() {
        let t0 = Instant::now();
        let mut wheel = TimerWheel::new(TICK, 4);
        wheel.insert(t0 + ms(300), 3);
        wheel.insert(t0 + ms(5), 1);
        wheel.insert(t0 + ms(120), 2);
        assert_eq!(expired(&mut wheel, t0 + ms(10_000)), vec![1, 2, 3]);
    }

    proptest! {
        /// Against a sorted-list model: after any script of inserts, cancels and polls, the wheel
        /// fires exactly the live timers whose deadline has passed, and reports the earliest one.
        #[test]
        fn wheel_matches_a_sorted_list_model(
            script in proptest::collection::vec((0u8..3, 0u64..5_000, any::<prop::sample::Index>()), 1..200)
        ) {
            let t0 = Instant::now();
            let mut wheel = TimerWheel::new(TICK, 32);
            let mut model: Vec<(Instant, u32, TimerHandle)> = Vec::new();
            let mut now = t0;
            let mut next_key = 0u32;
            for (op, value, index) in script {
                match op {
                    0 => {
                        let deadline = now + ms(value);
                        let handle = wheel.insert(deadline, next_key);
                        model.push((deadline, next_key, handle));
                        next_key += 1;
                    }
                    1 if !model.is_empty() => {
                        let (_, key, handle) = model.remove(index.index(model.len()));
                        prop_assert_eq!(wheel.cancel(handle), Some(key));
                    }
                    _ => {
                        now += ms(value / 4);
                        let mut due: Vec<_> = model.iter().filter(|e| e.0 <= now).map(|e| (e.0, e.1)).collect();
                        due.sort();
                        model.retain(|e| e.0 > now);
                        let fired = expired(&mut wheel, now);
                        prop_assert_eq!(fired, due.into_iter().map(|d| d.1).collect::<Vec<_>>());
                    }
                }
                prop_assert_eq!(wheel.next_deadline(), model.iter().map(|e| e.0).min());
            }
        }
    }
}
