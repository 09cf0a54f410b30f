//! Memory per anchored bridged call: RSS delta of the process over 1,000 bridged leg pairs
//! (2,000 legs, 4,000 sockets) in the media engine, after setup and again after 2 s of G.711
//! traffic through every call. Kernel socket buffers are not in RSS. Target ≤ 64 KiB per call.
//!
//! Run: `cargo bench -p switchboard-benches --bench media_memory`
//! (`SWITCHBOARD_MEMORY_CALLS`, default 1000).
#![allow(missing_docs)]

#[path = "media_rig/mod.rs"]
mod rig;

use std::time::Duration;

use rig::*;

fn main() {
    let calls: usize = std::env::var("SWITCHBOARD_MEMORY_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let mut phones = Phones::new(2 * calls);
    let (engine, drain) = engine(20000..=20000 + 4 * calls as u16 + 3);
    let h = engine.handle();
    // Let the threads settle (stacks touched, channels allocated) before the baseline.
    std::thread::sleep(Duration::from_millis(200));
    let before = rss_bytes();
    let legs = bridge_calls(&h, &mut phones, calls);
    std::thread::sleep(Duration::from_millis(300));
    let after_setup = rss_bytes();
    let stats = run_phones(
        &mut phones,
        Duration::from_secs(2),
        Duration::from_millis(300),
    );
    drop(stats);
    std::thread::sleep(Duration::from_millis(200));
    let after_traffic = rss_bytes();
    let kib = |b: u64| b as f64 / 1024.0 / calls as f64;
    println!(
        "media_memory: {calls} bridged calls: RSS {:.1} MiB → {:.1} MiB after setup → {:.1} MiB after traffic",
        before as f64 / 1048576.0,
        after_setup as f64 / 1048576.0,
        after_traffic as f64 / 1048576.0
    );
    println!(
        "per call: {:.1} KiB after setup, {:.1} KiB after traffic (target ≤ 64 KiB)",
        kib(after_setup.saturating_sub(before)),
        kib(after_traffic.saturating_sub(before))
    );
    close_calls(&h, &legs);
    drop(h);
    engine.shutdown();
    drain.join().unwrap();
}
