//! Ring latency through the release daemon: with calls waiting in a queue, how long from an
//! agent becoming Ready to the daemon's INVITE for that agent on the wire, for the three ways
//! an agent becomes Ready:
//!
//! * **REGISTER**: the phone's authenticated REGISTER leaves (login on register) →
//!   INVITE received;
//! * **API**: `SetAgentState(READY)` is handed to the gRPC client (the agent registered and
//!   was set NotReady beforehand) → INVITE received;
//! * **end of wrap-up**: the caller's BYE leaves plus the queue's wrap-up time → INVITE
//!   received (so it includes the daemon's handling of the BYE: an upper bound).
//!
//! The phones are a small Rust SIP agent and trunk on plain UDP sockets (`phone_rig`), stamping
//! each INVITE when `recv` returns; one sample at a time, so each measures the path alone.
//! Targets: p99 ≤ 5 ms (issue 8). Asterisk's app_queue, for comparison (ISSUE8/README): 465 ms
//! p50 / 957 ms p99 from a member becoming available to the dial.
//!
//! ```text
//! cargo bench -p switchboard-benches --bench ring_latency
//! RING_LATENCY_SAMPLES=1000 cargo bench -p switchboard-benches --bench ring_latency
//! RING_LATENCY_SUBSCRIBERS=1 cargo bench -p switchboard-benches --bench ring_latency
//! ```
//!
//! With `RING_LATENCY_SUBSCRIBERS=n` (default 0), `n` live gRPC event streams are open: each
//! INVITE then waits until its `AgentAlerting` screen-pop has reached them, plus the
//! configured lead (`[api] screen_pop_lead_ms`, default 15 ms; the bench's config sets
//! `RING_LATENCY_LEAD_MS`, default 15).
#![forbid(unsafe_code)]
#![allow(missing_docs)]

#[path = "daemon_rig/mod.rs"]
mod daemon_rig;
#[path = "grpc_rig/mod.rs"]
mod grpc_rig;
#[path = "phone_rig/mod.rs"]
mod phone_rig;
#[path = "subscriber_rig/mod.rs"]
mod subscriber_rig;

use std::fs;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use daemon_rig::*;
use grpc_rig::{GrpcClient, Rpc};
use phone_rig::{AgentFarm, AnswerMode, Trunk};
use switchboard_benches::percentiles;

/// The queue's wrap-up time in the end-of-wrap-up phase.
const WRAP_UP: Duration = Duration::from_secs(1);

fn main() -> ExitCode {
    if !selected("ring_latency") {
        return ExitCode::SUCCESS;
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ring_latency: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let samples = env_u64("RING_LATENCY_SAMPLES", 200)? as usize;
    let root = repo_root();
    let bin = build_release_daemon(&root)?;
    let work = Scratch::new("ring-latency")?;
    let r = measure(&bin, work.path(), samples);
    if let Err(e) = &r {
        return Err(format!(
            "{e}\n(daemon log kept in {})",
            work.keep().display()
        ));
    }
    r
}

/// Queues `n` calls on the trunk and waits until the daemon has answered them all.
fn queue_calls(trunk: &mut Trunk, n: usize) -> Result<(), String> {
    let calls: Vec<(String, u16)> = (0..n).map(|_| ("8000".to_owned(), 4)).collect();
    trunk
        .invite_all(&calls, Duration::from_secs(30))
        .map_err(|e| format!("queueing {n} calls: {e}"))
}

fn report(label: &str, mut lat: Vec<Duration>, missing: usize) {
    match percentiles(&mut lat) {
        Some(p) => println!(
            "{label:<34} {:>7} {:>10.2?} {:>10.2?} {:>10.2?} {:>8}",
            p.count, p.p50, p.p99, p.max, missing
        ),
        None => println!("{label:<34} no samples ({missing} missing)"),
    }
}

fn measure(bin: &std::path::Path, work: &std::path::Path, samples: usize) -> Result<(), String> {
    let n = samples;
    // Agents [0, n) log in by REGISTER and later wrap up; [n, 2n) are made Ready through the
    // API.
    let spec = ConfigSpec {
        agents: 2 * n,
        queues: 1,
        record: false,
        wrap_up_seconds: WRAP_UP.as_secs(),
        ..ConfigSpec::default()
    };
    let config = work.join("ring-latency.toml");
    fs::write(&config, config_text(&spec)).map_err(|e| format!("writing config: {e}"))?;
    let subscribers = env_u64("RING_LATENCY_SUBSCRIBERS", 0)? as usize;
    let lead_ms = env_u64("RING_LATENCY_LEAD_MS", 15)?;
    let text = config_text(&spec).replace(
        "[api]\n",
        &format!("[api]\nscreen_pop_lead_ms = {lead_ms}\n"),
    );
    fs::write(&config, text).map_err(|e| format!("writing config: {e}"))?;
    let daemon = start_daemon(bin, &config, work, "daemon")?;
    let _streams = if subscribers > 0 {
        Some(subscriber_rig::Subscribers::start(
            daemon.grpc,
            API_TOKEN,
            subscribers,
        )?)
    } else {
        None
    };
    println!(
        "ring_latency: {n} samples per trigger, one at a time, calls waiting in queue q0; \
         {subscribers} live event subscribers (screen-pop lead {lead_ms} ms); \
         {} CPUs, load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );
    let mut trunk = Trunk::new(daemon.sip);
    let mut farm = AgentFarm::new(daemon.sip);
    farm.mode = AnswerMode::Answer;

    // 1. REGISTER → INVITE, with n calls waiting.
    queue_calls(&mut trunk, n)?;
    let mut by_register = Vec::new();
    let mut missing = 0;
    for i in 0..n {
        let agent = agent_id(i);
        farm.start_register(&agent);
        let before = farm.offers.len();
        if !farm.wait_offers(before + 1, Instant::now() + Duration::from_secs(2)) {
            missing += 1;
            continue;
        }
        let offer = &farm.offers[before];
        let sent = farm.registered.get(&agent).copied();
        match sent {
            Some(sent) if offer.agent == agent => {
                by_register.push(offer.received.saturating_duration_since(sent));
            }
            _ => missing += 1,
        }
        // The ACK for the 200 and anything else, briefly, before the next sample.
        farm.pump(Instant::now() + Duration::from_millis(2));
    }
    trunk.pump(Instant::now());

    // 2. SetAgentState(READY) → INVITE, with n more calls waiting. The API agents register
    // while no call waits (the first n calls are all bridged), then go NotReady.
    let grpc = GrpcClient::connect(daemon.grpc, API_TOKEN)?;
    let api_agents: Vec<String> = (n..2 * n).map(agent_id).collect();
    let mut by_api = Vec::new();
    let mut api_missing = 0;
    let mut rtt = Vec::new();
    // A probe before any API agent registers: a build whose engine does not carry the agent
    // commands answers UNIMPLEMENTED, and the phase is skipped (said in the report).
    let api_unsupported = match grpc.call(Rpc::SetNotReady {
        agent: api_agents[0].clone(),
    }) {
        Err(e) if e.contains("Unimplemented") || e.contains("not supported") => Some(e),
        _ => None,
    };
    if api_unsupported.is_none() {
        farm.register_all(&api_agents, Duration::from_secs(30))?;
        for a in &api_agents {
            grpc.call(Rpc::SetNotReady { agent: a.clone() })
                .map_err(|e| format!("SetAgentState NOT_READY {a}: {e}"))?;
        }
        queue_calls(&mut trunk, n)?;
        for a in &api_agents {
            let before = farm.offers.len();
            let sent = Instant::now();
            let reply = grpc.send(Rpc::SetReady { agent: a.clone() });
            let got = farm.wait_offers(before + 1, Instant::now() + Duration::from_secs(2));
            match reply.recv_timeout(Duration::from_secs(5)) {
                Ok(Ok(d)) => rtt.push(d),
                Ok(Err(e)) => return Err(format!("SetAgentState {a}: {e}")),
                Err(_) => return Err(format!("SetAgentState {a}: no answer")),
            }
            if got && farm.offers[before].agent == *a {
                by_api.push(farm.offers[before].received.saturating_duration_since(sent));
            } else {
                api_missing += 1;
            }
            farm.pump(Instant::now() + Duration::from_millis(2));
        }
        trunk.pump(Instant::now());
    }

    // 3. End of wrap-up → INVITE: the first n callers (bridged to agents [0, n)) hang up one
    // by one; each agent wraps up for WRAP_UP, then takes one of n more waiting calls.
    queue_calls(&mut trunk, n)?;
    let mut by_wrap_up = Vec::new();
    let mut wrap_missing = 0;
    let bridged: Vec<(usize, String)> = farm
        .offers
        .iter()
        .take(n)
        .enumerate()
        .map(|(k, o)| (k, o.agent.clone()))
        .collect();
    // Pipelined (one BYE every 20 ms) so the phase takes seconds, not n × WRAP_UP; each
    // sample is matched to its agent.
    let mut bye_at = std::collections::HashMap::new();
    let start_offers = farm.offers.len();
    for (k, agent) in &bridged {
        trunk.bye(*k);
        bye_at.insert(agent.clone(), Instant::now());
        let until = Instant::now() + Duration::from_millis(20);
        while Instant::now() < until {
            farm.pump(Instant::now() + Duration::from_millis(1));
            trunk.pump(Instant::now());
        }
    }
    let deadline = Instant::now() + WRAP_UP + Duration::from_secs(3);
    while farm.offers.len() < start_offers + bridged.len() && Instant::now() < deadline {
        farm.pump(Instant::now() + Duration::from_millis(5));
        trunk.pump(Instant::now());
    }
    let mut seen = std::collections::HashSet::new();
    for o in &farm.offers[start_offers..] {
        if let Some(b) = bye_at.get(&o.agent)
            && seen.insert(o.agent.clone())
        {
            by_wrap_up.push(o.received.saturating_duration_since(*b + WRAP_UP));
        }
    }
    wrap_missing += bridged.len().saturating_sub(seen.len());

    println!(
        "\n{:<34} {:>7} {:>10} {:>10} {:>10} {:>8}",
        "agent becomes Ready by", "samples", "p50", "p99", "max", "missing"
    );
    report("REGISTER sent → INVITE received", by_register, missing);
    match &api_unsupported {
        None => report("SetAgentState sent → INVITE recvd", by_api, api_missing),
        Some(e) => println!(
            "{:<34} not measured: this build answers {e}",
            "SetAgentState sent → INVITE recvd"
        ),
    }
    report("wrap-up end → INVITE received", by_wrap_up, wrap_missing);
    if let Some(p) = percentiles(&mut rtt) {
        println!(
            "(SetAgentState round trip: p50 {:.2?}, p99 {:.2?}; the INVITE usually arrives before the reply)",
            p.p50, p.p99
        );
    }
    println!("Asterisk app_queue, member available → dial (ISSUE8/README): p50 465 ms, p99 957 ms");
    println!("load average after the run: {}", load_average());
    Ok(())
}
