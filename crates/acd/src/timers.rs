//! The router's timers in one ordered set: the earliest is `poll_timeout`. Every armed timer is
//! also remembered by its owner (offer, agent, call), so disarming removes exactly one entry and
//! `poll_timeout` never reports a deadline that has nothing to do.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::ids::{AgentIdx, CallId, OfferId};

/// The longest a timer is armed ahead: configured durations beyond it (a typo's `u64::MAX`
/// seconds) are clamped rather than overflow `Instant`.
const FARTHEST: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// `at + d`, never overflowing: durations past [`FARTHEST`] are clamped to it.
pub(crate) fn after(at: Instant, d: Duration) -> Instant {
    at.checked_add(d.min(FARTHEST)).unwrap_or(at)
}

/// What a timer is for. Timers due at the same instant fire in this order: calls widen and
/// come back into line first, then agents free up (so they see those calls), and only then
/// do calls time out (an agent freed at that instant still gets them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Timer {
    /// A call's requirement step expires.
    Step(CallId),
    /// A callback's retry delay ends.
    CallbackRetry(CallId),
    /// An offer's ring timeout (RONA).
    Offer(OfferId),
    /// A timed wrap-up ends.
    WrapUp(AgentIdx),
    /// A call's maximum wait.
    MaxWait(CallId),
    /// A call's next position announcement.
    Announce(CallId),
    /// A statistics interval ends.
    Interval,
}

/// Armed timers ordered by deadline.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    set: BTreeSet<(Instant, Timer)>,
}

impl Timers {
    pub(crate) fn arm(&mut self, at: Instant, timer: Timer) {
        self.set.insert((at, timer));
    }

    pub(crate) fn disarm(&mut self, at: Instant, timer: Timer) {
        self.set.remove(&(at, timer));
    }

    /// Disarms `slot`'s timer, if armed.
    pub(crate) fn clear(&mut self, slot: &mut Option<Instant>, timer: Timer) {
        if let Some(at) = slot.take() {
            self.disarm(at, timer);
        }
    }

    /// Re-arms `slot`'s timer for `at`.
    pub(crate) fn set(&mut self, slot: &mut Option<Instant>, at: Instant, timer: Timer) {
        self.clear(slot, timer);
        *slot = Some(at);
        self.arm(at, timer);
    }

    pub(crate) fn next(&self) -> Option<Instant> {
        self.set.first().map(|&(at, _)| at)
    }

    /// Removes and returns the earliest timer due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Instant, Timer)> {
        match self.set.first() {
            Some(&(at, _)) if at <= now => self.set.pop_first(),
            _ => None,
        }
    }
}
