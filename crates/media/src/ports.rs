//! The RTP port pool: ports from the configured range, handed out and recycled.
//!
//! Each leg takes an even RTP port with RTCP on the odd port above it (RFC 3550 §11). A port
//! released by an ended call is not handed out again before a quarantine has passed, so late
//! packets of the old call (a phone that has not processed the BYE yet) do not land in a new
//! call and get latched by it. Released ports go to the back of a FIFO, so the least recently
//! used port is reused first. The shell binds the sockets; if a bind fails (the port is taken
//! by another process) it [`PortPool::release`]s the port and asks again.

use std::collections::VecDeque;
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

/// Even RTP ports (RTCP = port + 1) from a range, recycled after a quarantine.
#[derive(Debug, Clone)]
pub struct PortPool {
    free: VecDeque<(u16, Option<Instant>)>,
    quarantine: Duration,
    capacity: usize,
}

impl PortPool {
    /// A pool over the even ports `p` of `range` whose `p + 1` is also in range.
    pub fn new(range: RangeInclusive<u16>, quarantine: Duration) -> PortPool {
        let (start, end) = (*range.start(), *range.end());
        let first = start.saturating_add(start % 2);
        let free: VecDeque<_> = (first..end).step_by(2).map(|p| (p, None)).collect();
        PortPool {
            capacity: free.len(),
            free,
            quarantine,
        }
    }

    /// How many legs the range can hold at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Ports not in use (quarantined ones included).
    pub fn available(&self) -> usize {
        self.free.len()
    }

    /// An RTP port for a new leg, or `None` when every port is in use or quarantined (the
    /// engine answers 503).
    pub fn allocate(&mut self, now: Instant) -> Option<u16> {
        let (port, released) = *self.free.front()?;
        if released.is_some_and(|at| now.saturating_duration_since(at) < self.quarantine) {
            return None;
        }
        self.free.pop_front();
        Some(port)
    }

    /// Returns a port at `now`; it becomes available again after the quarantine.
    pub fn release(&mut self, now: Instant, port: u16) {
        debug_assert!(
            !self.free.iter().any(|(p, _)| *p == port),
            "port {port} released twice"
        );
        self.free.push_back((port, Some(now)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_out_even_ports_with_room_for_rtcp() {
        let t0 = Instant::now();
        let mut pool = PortPool::new(10001..=10008, Duration::from_secs(30));
        assert_eq!(pool.capacity(), 3);
        let ports: Vec<_> = std::iter::from_fn(|| pool.allocate(t0)).collect();
        assert_eq!(ports, [10002, 10004, 10006]);
        assert_eq!(pool.allocate(t0), None);
    }

    #[test]
    fn a_released_port_waits_out_the_quarantine() {
        let t0 = Instant::now();
        let mut pool = PortPool::new(20000..=20003, Duration::from_secs(30));
        let a = pool.allocate(t0).unwrap();
        let b = pool.allocate(t0).unwrap();
        assert_eq!(pool.allocate(t0), None);
        pool.release(t0 + Duration::from_secs(1), a);
        pool.release(t0 + Duration::from_secs(2), b);
        assert_eq!(pool.allocate(t0 + Duration::from_secs(30)), None);
        assert_eq!(pool.allocate(t0 + Duration::from_secs(31)), Some(a));
        assert_eq!(pool.allocate(t0 + Duration::from_secs(31)), None);
        assert_eq!(pool.allocate(t0 + Duration::from_secs(32)), Some(b));
    }

    #[test]
    fn least_recently_used_port_is_reused_first() {
        let t0 = Instant::now();
        let mut pool = PortPool::new(30000..=30011, Duration::ZERO);
        let all: Vec<_> = std::iter::from_fn(|| pool.allocate(t0)).collect();
        for p in all.iter().rev() {
            pool.release(t0, *p);
        }
        assert_eq!(pool.allocate(t0), Some(30010));
        assert_eq!(pool.available(), 5);
    }
}
