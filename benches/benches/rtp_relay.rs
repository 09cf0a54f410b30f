//! Packets relayed per second of relay-thread CPU: the engine's bridge (RtpLeg::handle_rtp →
//! bridge::relay → RtpLeg::send, with latching, statistics and renumbering) beside a bare
//! recv→send loop, same run, same ports, same offered load (N bridged G.711 calls, 20 ms
//! packets on spread phases). The figure is packets / CPU-second of the relay thread (from
//! /proc schedstat), so other load on the machine does not skew the ratio. Target: the
//! bridge ≥ 70 % of the bare loop.
//!
//! Run: `cargo bench -p switchboard-benches --bench rtp_relay`
//! (`SWITCHBOARD_BENCH_SECS` per measurement, default 8; `SWITCHBOARD_RELAY_CALLS`, default 500).
#![allow(missing_docs)]

#[path = "media_rig/mod.rs"]
mod rig;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mio::net::UdpSocket;
use rig::*;
use switchboard_benches::percentiles;

// Below the ephemeral range (32768–60999 here), where the phones bind.
const BASE_PORT: u16 = 20000;

fn report(name: &str, stats: &mut RunStats, cpu: Duration) -> f64 {
    let p = percentiles(&mut stats.delays).unwrap();
    let per_core = stats.received as f64 / cpu.as_secs_f64();
    println!(
        "{name:>6}: relayed {:>9} packets ({:>7.0}/s wall), relay CPU {:>6.2} s → {:>9.0} packets/s per core, {:.2} µs/packet; loss {:.3} %, delay p50 {:?} p99 {:?}",
        stats.received,
        stats.received as f64 / stats.elapsed.as_secs_f64(),
        cpu.as_secs_f64(),
        per_core,
        1e6 / per_core,
        stats.loss_percent(),
        p.p50,
        p.p99,
    );
    per_core
}

fn main() {
    let calls: usize = std::env::var("SWITCHBOARD_RELAY_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let secs = step_secs(8);
    println!(
        "rtp_relay: {calls} bridged G.711 calls ({} packets/s offered), {secs:?} per loop",
        calls * 100
    );
    let mut phones = Phones::new(2 * calls);

    // The bare loop on the even ports the engine will use (skipping any another process holds;
    // the engine's port pool skips the same ones).
    let mut legs: Vec<UdpSocket> = Vec::with_capacity(2 * calls);
    let mut port = BASE_PORT;
    while legs.len() < 2 * calls {
        if let Ok(s) = UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], port))) {
            legs.push(s);
        }
        port += 2;
    }
    let top_port = port + 2 * calls as u16;
    phones.targets = legs.iter().map(|s| s.local_addr().unwrap()).collect();
    let dest: Vec<SocketAddr> = (0..2 * calls).map(|i| phones.addr(i ^ 1)).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let bare = std::thread::Builder::new()
        .name("bare-relay".into())
        .spawn({
            let stop = Arc::clone(&stop);
            move || bare_relay(legs, dest, stop)
        })
        .unwrap();
    run_phones(
        &mut phones,
        Duration::from_secs(1),
        Duration::from_millis(200),
    );
    let cpu0 = thread_cpu("bare-relay").unwrap();
    let mut stats = run_phones(&mut phones, secs, Duration::from_millis(300));
    let cpu = thread_cpu("bare-relay").unwrap() - cpu0;
    let bare_rate = report("bare", &mut stats, cpu);
    stop.store(true, Ordering::Relaxed);
    bare.join().unwrap();

    // The engine's bridge.
    let (engine, drain) = engine(BASE_PORT..=top_port);
    let h = engine.handle();
    let calls_legs = bridge_calls(&h, &mut phones, calls);
    run_phones(
        &mut phones,
        Duration::from_secs(1),
        Duration::from_millis(200),
    );
    let cpu0 = thread_cpu("media-0").unwrap();
    let mut stats = run_phones(&mut phones, secs, Duration::from_millis(300));
    let cpu = thread_cpu("media-0").unwrap() - cpu0;
    let bridge_rate = report("bridge", &mut stats, cpu);
    println!(
        "ratio bridge / bare: {:.1} % (target ≥ 70 %)",
        100.0 * bridge_rate / bare_rate
    );
    close_calls(&h, &calls_legs);
    drop(h);
    engine.shutdown();
    drain.join().unwrap();
}
