//! Shared helpers for Switchboard's benchmarks and load harnesses: latency summaries printed as
//! figures. The benchmarks themselves are the `[[bench]]` targets of this package
//! (`cargo bench -p switchboard-benches --bench NAME`).
#![forbid(unsafe_code)]

use std::time::Duration;

/// Latency percentiles of a set of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    /// Number of samples summarised.
    pub count: usize,
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Largest sample.
    pub max: Duration,
}

/// Summarises `samples` (sorted in place) into p50/p99/max by the nearest-rank method.
/// Returns `None` for an empty set.
pub fn percentiles(samples: &mut [Duration]) -> Option<Percentiles> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let rank = |p: f64| {
        let idx = ((p / 100.0) * samples.len() as f64).ceil() as usize;
        samples[idx.clamp(1, samples.len()) - 1]
    };
    Some(Percentiles {
        count: samples.len(),
        p50: rank(50.0),
        p99: rank(99.0),
        max: samples[samples.len() - 1],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_of_one_to_hundred() {
        let mut samples: Vec<_> = (1..=100).rev().map(Duration::from_millis).collect();
        let p = percentiles(&mut samples).unwrap();
        assert_eq!(p.p50, Duration::from_millis(50));
        assert_eq!(p.p99, Duration::from_millis(99));
        assert_eq!(p.max, Duration::from_millis(100));
        assert!(percentiles(&mut []).is_none());
    }
}
