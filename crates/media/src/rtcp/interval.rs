//! When to send the next RTCP report (RFC 3550 §6.2 and Appendix A.7, simplified).
//!
//! A leg of a two-party call has two members and a few hundred bytes/s of RTCP, far below the
//! 5 % bandwidth share, so the computed interval is always the 5 s minimum (§6.2). What remains
//! of A.7 is the randomisation to [0.5, 1.5] × the interval, so that legs started together do
//! not report in lockstep, and the halved minimum for the very first report. Timer
//! reconsideration and its e−3/2 compensation only matter for large groups and are not done.

use std::time::Duration;

use rand::Rng;

/// The RFC 3550 §6.2 minimum report interval.
pub const MIN_INTERVAL: Duration = Duration::from_secs(5);

/// The delay until the next report: `MIN_INTERVAL` (halved before the first report) times a
/// uniform factor in [0.5, 1.5] drawn from the caller's seeded generator.
pub fn next_report_delay(rng: &mut impl Rng, first: bool) -> Duration {
    let base = if first {
        MIN_INTERVAL / 2
    } else {
        MIN_INTERVAL
    };
    let factor: f64 = rng.random_range(0.5..1.5);
    base.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn delays_stay_within_half_and_one_and_a_half_intervals() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut sum = Duration::ZERO;
        for _ in 0..1000 {
            let d = next_report_delay(&mut rng, false);
            assert!(d >= Duration::from_millis(2500) && d < Duration::from_millis(7500));
            sum += d;
        }
        // The mean is the nominal 5 s.
        let mean = sum / 1000;
        assert!(mean > Duration::from_millis(4800) && mean < Duration::from_millis(5200));
    }

    #[test]
    fn first_report_uses_half_the_minimum() {
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..100 {
            let d = next_report_delay(&mut rng, true);
            assert!(d >= Duration::from_millis(1250) && d < Duration::from_millis(3750));
        }
    }

    #[test]
    fn same_seed_gives_same_schedule() {
        let a: Vec<_> = {
            let mut r = StdRng::seed_from_u64(3);
            (0..5).map(|_| next_report_delay(&mut r, false)).collect()
        };
        let b: Vec<_> = {
            let mut r = StdRng::seed_from_u64(3);
            (0..5).map(|_| next_report_delay(&mut r, false)).collect()
        };
        assert_eq!(a, b);
    }
}
