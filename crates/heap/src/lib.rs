//! Returning freed heap memory to the operating system.
//!
//! glibc's allocator keeps what a burst of calls freed: each thread arena keeps its free
//! chunks, and only the top of the main heap is trimmed by `free` itself. After a thousand
//! calls end, the daemon's RSS stays at its high-water mark (measured: ~200 MiB above the idle
//! daemon 35 s after a burst, `benches/benches/bridged_calls.rs`). `malloc_trim(0)` walks every
//! arena and gives whole free pages back with `madvise(MADV_DONTNEED)` (glibc ≥ 2.8): the
//! memory is still mapped and reused on the next burst, but no longer resident.
//!
//! It takes each arena's lock while it walks it, so it is called from a blocking thread after
//! the call count dropped, never on a hot path ([`TrimPolicy`] decides when).
#![deny(unsafe_code)]

use std::time::{Duration, Instant};

/// Gives free heap pages back to the OS. Returns whether any memory was released; `false`
/// (and nothing done) on allocators other than glibc's.
pub fn release_free_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim takes a pad size and touches only the allocator's own state,
        // under its own locks; it is documented thread-safe (glibc malloc/malloc.c).
        #[allow(unsafe_code)]
        let released = unsafe { libc::malloc_trim(0) };
        released != 0
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

/// When to trim: after the number of live calls fell well below the peak since the last trim
/// (a burst ended), not more often than `min_interval`; and once more `follow_up` later, when
/// what the ended calls still held (SIP transactions waiting out Timer J, 32 s) is gone too.
#[derive(Debug, Clone)]
pub struct TrimPolicy {
    peak: usize,
    last: Option<Instant>,
    follow_up_at: Option<(Instant, usize)>,
    /// How long after a trim the follow-up comes.
    pub follow_up: Duration,
    /// Calls that must have ended since the peak before a trim is worth it.
    pub min_drop: usize,
    /// Shortest time between two trims.
    pub min_interval: Duration,
}

impl Default for TrimPolicy {
    fn default() -> Self {
        TrimPolicy {
            peak: 0,
            last: None,
            follow_up_at: None,
            follow_up: Duration::from_secs(35),
            min_drop: 50,
            min_interval: Duration::from_secs(10),
        }
    }
}

impl TrimPolicy {
    /// Takes the current number of live calls; true when a trim is due now (the peak is then
    /// reset to `live`).
    pub fn observe(&mut self, now: Instant, live: usize) -> bool {
        self.peak = self.peak.max(live);
        let dropped = self.peak - live;
        let half_gone = live <= self.peak / 2;
        let rested = self
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= self.min_interval);
        if dropped >= self.min_drop && half_gone && rested {
            self.peak = live;
            self.last = Some(now);
            self.follow_up_at = Some((now + self.follow_up, live));
            return true;
        }
        // The follow-up, unless a new burst came meanwhile (its own end will trim).
        if let Some((at, level)) = self.follow_up_at
            && now >= at
        {
            self.follow_up_at = None;
            if self.peak <= level + self.min_drop {
                self.last = Some(now);
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_once_a_burst_has_mostly_ended_and_not_again_too_soon() {
        let t0 = Instant::now();
        let mut policy = TrimPolicy::default();
        assert!(!policy.observe(t0, 0), "nothing happened");
        assert!(!policy.observe(t0, 1000), "the burst");
        assert!(!policy.observe(t0, 600), "not yet half gone");
        assert!(policy.observe(t0, 400), "most calls ended");
        assert!(
            !policy.observe(t0 + Duration::from_secs(1), 0),
            "peak reset to 400, too soon"
        );
        assert!(
            policy.observe(t0 + Duration::from_secs(11), 0),
            "the rest ended"
        );
        assert!(!policy.observe(t0 + Duration::from_secs(30), 0), "idle");
        assert!(
            policy.observe(t0 + Duration::from_secs(46), 0),
            "the follow-up, once the ended calls' transactions are gone"
        );
        assert!(
            !policy.observe(t0 + Duration::from_secs(200), 0),
            "only one"
        );
    }

    #[test]
    fn no_follow_up_while_a_new_burst_runs() {
        let t0 = Instant::now();
        let mut policy = TrimPolicy::default();
        policy.observe(t0, 500);
        assert!(policy.observe(t0 + Duration::from_secs(1), 0));
        policy.observe(t0 + Duration::from_secs(10), 800);
        assert!(
            !policy.observe(t0 + Duration::from_secs(40), 790),
            "busy again"
        );
    }

    #[test]
    fn a_small_dip_is_not_worth_a_trim() {
        let t0 = Instant::now();
        let mut policy = TrimPolicy::default();
        policy.observe(t0, 40);
        assert!(
            !policy.observe(t0 + Duration::from_secs(60), 0),
            "fewer than min_drop calls"
        );
    }

    /// Resident pages of this process, from /proc/self/statm.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn resident_bytes() -> u64 {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        pages * 4096
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn freed_pages_below_a_live_allocation_go_back_to_the_os() {
        // 64 MiB in 1 KiB chunks, all freed but the last: free's own trimming cannot give the
        // hole back (the live chunk sits above it), malloc_trim can.
        let mut chunks: Vec<Box<[u8; 1024]>> = (0..65536).map(|_| Box::new([1u8; 1024])).collect();
        let last = chunks.pop();
        drop(chunks);
        let before = resident_bytes();
        assert!(release_free_memory(), "memory was released");
        let after = resident_bytes();
        assert!(
            before.saturating_sub(after) > 32 << 20,
            "RSS {before} -> {after} bytes"
        );
        drop(last);
    }
}
