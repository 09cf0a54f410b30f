//! Concurrent bridged G.711 calls the engine sustains on one media worker: steps of N calls,
//! each measured for a few seconds after a warm-up, reporting loss and the delay through the
//! relay (p50/p99, from the send stamp in each payload) and the worker's CPU share. The answer
//! is the highest step with < 0.1 % loss and a p99 delay within one frame (20 ms), the bar of
//! the research appendix (research/sip-rtp.md). The phones (a generator thread and a sink thread) run in
//! this process: on a 2-core machine they compete with the relay, and a step where the
//! generator lags ("late" = 1 ms send phases started > 5 ms late) is bounded by the rig as
//! much as by the relay.
//!
//! Run: `cargo bench -p switchboard-benches --bench media_capacity`
//! (`SWITCHBOARD_BENCH_SECS` per step, default 5; `SWITCHBOARD_CAPACITY_STEPS`, e.g.
//! "250,500,1000"). Steps are capped by the open-file limit (6 descriptors per call).
#![allow(missing_docs)]

#[path = "media_rig/mod.rs"]
mod rig;

use std::time::Duration;

use rig::*;
use switchboard_benches::percentiles;

fn open_file_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(1024)
}

fn main() {
    let secs = step_secs(5);
    let max_calls = open_file_limit().saturating_sub(300) / 6;
    let steps: Vec<usize> = std::env::var("SWITCHBOARD_CAPACITY_STEPS")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![250, 500, 750, 1000, 1500, 2000, 2500, 3000])
        .into_iter()
        .filter(|c| *c <= max_calls)
        .collect();
    let top = steps.iter().copied().max().unwrap_or(0);
    println!(
        "media_capacity: steps {steps:?} (open-file limit allows {max_calls}), {secs:?} each, one media worker"
    );
    let mut phones = Phones::new(2 * top);
    let (engine, drain) = engine(20000..=20000 + 4 * top as u16 + 3);
    let h = engine.handle();
    let mut best = None;
    println!(
        "{:>6} {:>10} {:>10} {:>8} {:>10} {:>10} {:>9} {:>7} {:>6}",
        "calls", "sent", "received", "loss %", "p50", "p99", "relay CPU", "µs/pkt", "late"
    );
    let mut per_packet = Vec::new();
    for &calls in &steps {
        let legs = bridge_calls(&h, &mut phones, calls);
        run_phones(
            &mut phones,
            Duration::from_millis(500),
            Duration::from_millis(200),
        );
        let cpu0 = thread_cpu("media-0").unwrap_or_default();
        let mut stats = run_phones(&mut phones, secs, Duration::from_millis(300));
        let cpu = thread_cpu("media-0").unwrap_or_default() - cpu0;
        let loss = stats.loss_percent();
        let p = percentiles(&mut stats.delays);
        let (p50, p99) = p.map_or((Duration::ZERO, Duration::ZERO), |p| (p.p50, p.p99));
        let us = 1e6 * cpu.as_secs_f64() / stats.received.max(1) as f64;
        println!(
            "{calls:>6} {:>10} {:>10} {:>8.3} {:>10.2?} {:>10.2?} {:>8.0} % {:>7.2} {:>6}",
            stats.sent,
            stats.received,
            loss,
            p50,
            p99,
            100.0 * cpu.as_secs_f64() / (secs + Duration::from_millis(300)).as_secs_f64(),
            us,
            stats.late_sends
        );
        if loss < 0.1 {
            per_packet.push(us);
        }
        // The research appendix's bar: < 0.1 % loss and p99 within one frame (20 ms).
        if loss < 0.1 && p99 <= Duration::from_millis(20) {
            best = Some(calls);
        }
        close_calls(&h, &legs);
        std::thread::sleep(Duration::from_millis(300));
        if loss > 5.0 {
            println!("(stopping: the next steps can only lose more)");
            break;
        }
    }
    // What one fully busy relay core would hold at the measured cost per relayed packet
    // (100 relayed packets per second per call), for steps where the rig kept up.
    if let Some(us) = per_packet.iter().copied().reduce(f64::max) {
        println!(
            "relay cost {us:.2} µs/packet (worst clean step) → ≈ {:.0} bridged calls per fully busy core ({:.0} at 85 %)",
            1e6 / (us * 100.0),
            0.85e6 / (us * 100.0)
        );
    }
    match best {
        Some(c) => println!("highest step with < 0.1 % loss and p99 ≤ 20 ms: {c} bridged calls"),
        None => println!("no step held < 0.1 % loss"),
    }
    drop(h);
    engine.shutdown();
    drain.join().unwrap();
}
