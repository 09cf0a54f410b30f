//! The router at site scale through the release daemon: a generated configuration with 5,000
//! agents and 2,000 queues (each agent serving 3 queues), 2,000 calls waiting (one per queue),
//! then agents logging in by REGISTER one at a time. Prints:
//!
//! * start-up time (spawn → `/healthz` 200) of the empty daemon, and again after a kill -9 with
//!   the calls in the store (recovery closes them `restart`);
//! * `ReloadConfig` round trip with the 2,000 calls waiting;
//! * the daemon's idle CPU holding 2,000 waiting calls (timers, music on hold);
//! * decision latency under that load: authenticated REGISTER sent → the INVITE for that agent
//!   received (the whole path: SIP, digest, registrar, router over 2,000 queues, journal,
//!   INVITE), p50/p99.
//!
//! ```text
//! cargo bench -p switchboard-benches --bench router_scale
//! ROUTER_SCALE_AGENTS=5000 ROUTER_SCALE_QUEUES=2000 ROUTER_SCALE_CALLS=2000 ROUTER_SCALE_SAMPLES=500 \
//!   cargo bench -p switchboard-benches --bench router_scale
//! ```
#![forbid(unsafe_code)]
#![allow(missing_docs)]

#[path = "daemon_rig/mod.rs"]
mod daemon_rig;
#[path = "grpc_rig/mod.rs"]
mod grpc_rig;
#[path = "phone_rig/mod.rs"]
mod phone_rig;

use std::fs;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use daemon_rig::*;
use grpc_rig::{GrpcClient, Rpc};
use phone_rig::{AgentFarm, AnswerMode, Trunk};
use switchboard_benches::percentiles;

fn main() -> ExitCode {
    if !selected("router_scale") {
        return ExitCode::SUCCESS;
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("router_scale: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let agents = env_u64("ROUTER_SCALE_AGENTS", 5000)? as usize;
    let queues = env_u64("ROUTER_SCALE_QUEUES", 2000)? as usize;
    let calls = env_u64("ROUTER_SCALE_CALLS", 2000)? as usize;
    let samples = env_u64("ROUTER_SCALE_SAMPLES", 500)? as usize;
    let root = repo_root();
    let bin = build_release_daemon(&root)?;
    let work = Scratch::new("router-scale")?;
    let r = measure(&bin, work.path(), agents, queues, calls, samples);
    if let Err(e) = &r {
        return Err(format!(
            "{e}\n(daemon log kept in {})",
            work.keep().display()
        ));
    }
    r
}

fn measure(
    bin: &std::path::Path,
    work: &std::path::Path,
    agents: usize,
    queues: usize,
    calls: usize,
    samples: usize,
) -> Result<(), String> {
    let spec = ConfigSpec {
        agents,
        queues,
        queues_per_agent: 3,
        record: false,
        ..ConfigSpec::default()
    };
    let config = work.join("router-scale.toml");
    let text = config_text(&spec);
    fs::write(&config, &text).map_err(|e| format!("writing config: {e}"))?;
    println!(
        "router_scale: {agents} agents, {queues} queues ({} KiB of TOML), {calls} waiting calls; \
         {} CPUs, load average {}",
        text.len() / 1024,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );
    let daemon = start_daemon(bin, &config, work, "daemon")?;
    println!(
        "start-up (spawn → /healthz 200), empty store: {:.1?}; RSS {:.1} MiB",
        daemon.started_in,
        daemon.rss_bytes() as f64 / (1 << 20) as f64
    );

    // Calls waiting, one per queue round-robin; no agent logged in.
    let mut trunk = Trunk::new(daemon.sip);
    let rss0 = daemon.rss_bytes();
    let t = Instant::now();
    let list: Vec<(String, u16)> = (0..calls)
        .map(|k| (format!("q{}", k % queues), 4))
        .collect();
    trunk
        .invite_all(&list, Duration::from_secs(120))
        .map_err(|e| format!("queueing {calls} calls: {e}"))?;
    println!(
        "{calls} calls queued in {:.1?} ({:.0} calls/s); RSS +{:.1} KiB per waiting call",
        t.elapsed(),
        calls as f64 / t.elapsed().as_secs_f64(),
        (daemon.rss_bytes() as f64 - rss0 as f64) / 1024.0 / calls.max(1) as f64
    );
    std::thread::sleep(Duration::from_millis(500));
    let (cpu0, t0) = (daemon.cpu_seconds(), Instant::now());
    let quiet = Duration::from_secs(3);
    while t0.elapsed() < quiet {
        trunk.pump(Instant::now() + Duration::from_millis(50));
    }
    println!(
        "daemon CPU holding {calls} waiting calls, nothing else happening: {:.1} % of one core",
        100.0 * (daemon.cpu_seconds() - cpu0) / t0.elapsed().as_secs_f64()
    );

    let grpc = GrpcClient::connect(daemon.grpc, API_TOKEN)?;
    let mut reloads = Vec::new();
    let mut reload_error = None;
    for _ in 0..5 {
        match grpc.call(Rpc::Reload) {
            Ok(d) => reloads.push(d),
            Err(e) => {
                reload_error = Some(e);
                break;
            }
        }
        trunk.pump(Instant::now());
    }
    match (percentiles(&mut reloads), reload_error) {
        (Some(p), None) => println!(
            "ReloadConfig round trip with {calls} calls waiting: p50 {:.1?}, max {:.1?} (5 reloads)",
            p.p50, p.max
        ),
        (_, Some(e)) => println!("ReloadConfig: not measured, this build answers {e}"),
        (None, None) => {}
    }

    // Decision latency: agents log in by REGISTER one at a time while the calls wait.
    let mut farm = AgentFarm::new(daemon.sip);
    farm.mode = AnswerMode::Ring;
    let mut lat = Vec::new();
    let mut none = 0;
    for i in 0..samples.min(agents) {
        let agent = agent_id(i);
        farm.start_register(&agent);
        let before = farm.offers.len();
        if !farm.wait_offers(before + 1, Instant::now() + Duration::from_millis(200)) {
            // No waiting call in this agent's queues any more (an earlier agent took it).
            none += 1;
            continue;
        }
        if let (Some(o), Some(sent)) = (farm.offers.get(before), farm.registered.get(&agent))
            && o.agent == agent
        {
            lat.push(o.received.saturating_duration_since(*sent));
        }
        trunk.pump(Instant::now());
    }
    match percentiles(&mut lat) {
        Some(p) => println!(
            "REGISTER sent → INVITE received, {queues} queues / {calls} waiting: p50 {:.2?}, p99 {:.2?}, max {:.2?} ({} samples; {none} agents found no waiting call)",
            p.p50, p.p99, p.max, p.count
        ),
        None => println!("no offer was made ({none} agents found no waiting call)"),
    }

    // Restart after kill -9 with the calls in flight in the store.
    let (sip, grpc_addr, http, data) = (daemon.sip, daemon.grpc, daemon.http, daemon.data.clone());
    drop(grpc);
    drop(daemon);
    drop(trunk);
    drop(farm);
    let again = start_daemon_at(bin, &config, work, "restart", sip, grpc_addr, http, data)?;
    println!(
        "restart after kill -9 with {calls} calls in flight (closed `restart` at start-up): {:.1?}",
        again.started_in
    );
    println!("load average after the run: {}", load_average());
    Ok(())
}
