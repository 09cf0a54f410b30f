//! Brute-force protection: wrong passwords counted per (username, source IP).
//!
//! Keyed on the pair, not the username alone, so an attacker elsewhere cannot lock a working
//! phone out of its own account by guessing at it; keyed on the pair, not the IP alone, so one
//! misconfigured phone behind an office NAT does not lock out its neighbours.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Most (username, source) pairs tracked; a flood of guesses from many addresses cannot grow
/// memory past this.
const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    window_start: Instant,
    locked_until: Option<Instant>,
}

#[derive(Debug)]
pub(crate) struct Lockouts {
    threshold: u32,
    window: Duration,
    duration: Duration,
    entries: HashMap<(String, IpAddr), Failures>,
}

impl Lockouts {
    pub(crate) fn new(threshold: u32, window: Duration, duration: Duration) -> Self {
        Lockouts {
            threshold,
            window,
            duration,
            entries: HashMap::new(),
        }
    }

    /// Whether `user` from `source` is locked out at `now`.
    pub(crate) fn is_locked(&self, now: Instant, user: &str, source: IpAddr) -> bool {
        self.entries
            .get(&(user.to_string(), source))
            .and_then(|f| f.locked_until)
            .is_some_and(|until| now < until)
    }

    /// Counts a wrong password; returns the end of the lockout if this one started it.
    pub(crate) fn record_failure(
        &mut self,
        now: Instant,
        user: &str,
        source: IpAddr,
    ) -> Option<Instant> {
        if self.threshold == 0 {
            return None;
        }
        let key = (user.to_string(), source);
        if !self.entries.contains_key(&key) && self.entries.len() >= MAX_TRACKED {
            self.make_room(now);
        }
        let entry = self.entries.entry(key).or_insert(Failures {
            count: 0,
            window_start: now,
            locked_until: None,
        });
        let lock_over = entry.locked_until.is_some_and(|until| now >= until);
        if lock_over || now.saturating_duration_since(entry.window_start) > self.window {
            *entry = Failures {
                count: 0,
                window_start: now,
                locked_until: None,
            };
        }
        entry.count = entry.count.saturating_add(1);
        if entry.count >= self.threshold && entry.locked_until.is_none() {
            let until = now + self.duration;
            entry.locked_until = Some(until);
            return Some(until);
        }
        None
    }

    /// Forgets the failures of a pair that has just authenticated.
    pub(crate) fn clear(&mut self, user: &str, source: IpAddr) {
        self.entries.remove(&(user.to_string(), source));
    }

    fn make_room(&mut self, now: Instant) {
        let window = self.window;
        self.entries.retain(|_, f| match f.locked_until {
            Some(until) => now < until,
            None => now.saturating_duration_since(f.window_start) <= window,
        });
        while self.entries.len() >= MAX_TRACKED {
            // Still full of live entries: drop the one whose window began earliest.
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, f)| f.window_start)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.entries.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn locks_after_threshold_within_window_then_releases() {
        let t0 = Instant::now();
        let mut l = Lockouts::new(3, Duration::from_secs(60), Duration::from_secs(600));
        assert_eq!(l.record_failure(t0, "u", A), None);
        assert_eq!(l.record_failure(t0, "u", A), None);
        assert_eq!(
            l.record_failure(t0, "u", A),
            Some(t0 + Duration::from_secs(600))
        );
        assert!(l.is_locked(t0, "u", A));
        assert!(!l.is_locked(t0, "u", B), "another source is not locked");
        assert!(!l.is_locked(t0 + Duration::from_secs(600), "u", A));
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let t0 = Instant::now();
        let mut l = Lockouts::new(2, Duration::from_secs(60), Duration::from_secs(600));
        assert_eq!(l.record_failure(t0, "u", A), None);
        assert_eq!(l.record_failure(t0 + Duration::from_secs(61), "u", A), None);
        assert!(!l.is_locked(t0 + Duration::from_secs(61), "u", A));
    }

    #[test]
    fn success_clears_the_count_and_zero_threshold_disables() {
        let t0 = Instant::now();
        let mut l = Lockouts::new(2, Duration::from_secs(60), Duration::from_secs(600));
        l.record_failure(t0, "u", A);
        l.clear("u", A);
        assert_eq!(l.record_failure(t0, "u", A), None);
        let mut off = Lockouts::new(0, Duration::from_secs(60), Duration::from_secs(600));
        for _ in 0..100 {
            assert_eq!(off.record_failure(t0, "u", A), None);
        }
    }
}
