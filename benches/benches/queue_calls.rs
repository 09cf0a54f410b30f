//! Queue calls per second through the release daemon, end to end on loopback: SIPp trunk
//! callers dial a queue, the daemon answers them (media anchored), queues them, rings a Ready
//! agent (a SIPp process that registered every agent and auto-answers), bridges the legs with
//! recording on, and releases both when the caller hangs up after `QUEUE_CALLS_HOLD_MS`. Both
//! SIPp sides stream G.711 µ-law RTP (`rtp_stream`) for the whole call. (The agents'
//! REGISTERs are sent by `phone_rig` from the port the SIPp UAS then takes: SIPp cannot read a
//! per-agent digest username from its injection file.)
//!
//! ```text
//! cargo bench -p switchboard-benches --bench queue_calls
//! QUEUE_CALLS_SECONDS=20 QUEUE_CALLS_RATES=100,200,400,600 cargo bench -p switchboard-benches --bench queue_calls
//! QUEUE_CALLS_RTP=0 cargo bench -p switchboard-benches --bench queue_calls   # no RTP from the phones
//! QUEUE_CALLS_SUBSCRIBERS=0 cargo bench -p switchboard-benches --bench queue_calls  # no CRM streams
//! ```
//!
//! `QUEUE_CALLS_SUBSCRIBERS` (default 10) live gRPC `Subscribe` streams read every event while
//! the calls run (issue 8 "Events"): per step, the events delivered per second over all of
//! them and the lag p99 (arrival − the event's time). They also put the screen-pop gate in the
//! path: each agent INVITE waits for its `AgentAlerting` to reach them.
//!
//! The offered rate is ramped over `QUEUE_CALLS_RATES` (calls/s, default 50,100,200,300,400,
//! 500,600,800,1000), `QUEUE_CALLS_SECONDS` (default 6) per step, until a step is not clean:
//! a clean step has no failed SIPp call, every call the daemon created connected to an agent
//! and ended, the arrival rate the daemon saw is within 5 % of the offer (SIPp kept up), and
//! the p99 setup time (the daemon's own `CallCreated` → `CallConnected` journal stamps: INVITE
//! accepted → agent answered and legs bridged) is at most `max(3 × the first step's, 50 ms)`.
//! Per step it prints the daemon's CPU per call (from `/proc`), and beside the highest clean
//! rate the rate of SIPp's built-in `uac` against its built-in `uas` in the same run (the
//! commonly quoted "SIPp calls per second" of the machine, three transactions per call, no
//! media). Each queue call is two SIP calls (trunk leg and agent leg), so its CPS-equivalent
//! signalling is twice its rate.
//!
//! Everything (SIPp's three processes with their RTP threads, the daemon and its recorder)
//! shares the machine's cores; the ratio to SIPp's own rate is steadier than the raw figure.
#![forbid(unsafe_code)]
#![allow(missing_docs)]

#[path = "daemon_rig/mod.rs"]
mod daemon_rig;
#[path = "journal_rig/mod.rs"]
mod journal_rig;
#[path = "phone_rig/mod.rs"]
mod phone_rig;
#[path = "subscriber_rig/mod.rs"]
mod subscriber_rig;

use std::fs;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use daemon_rig::*;
use journal_rig::Journal;
use phone_rig::AgentFarm;
use switchboard_benches::percentiles;

fn main() -> ExitCode {
    if !selected("queue_calls") {
        return ExitCode::SUCCESS;
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("queue_calls: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Step {
    offered: u64,
    sipp_ok: u64,
    sipp_failed: u64,
    created: usize,
    connected: usize,
    ended: usize,
    arrival: f64,
    p50: Duration,
    p99: Duration,
    events_per_s: f64,
    lag_p99: Duration,
    cpu_ms_per_call: f64,
    daemon_cores: f64,
    machine_cores: f64,
    recordings: usize,
    rss_mib: f64,
}

fn run() -> Result<(), String> {
    if !sipp_installed() {
        return Err("`sipp` is not installed (apt-get install sip-tester)".into());
    }
    let seconds = env_u64("QUEUE_CALLS_SECONDS", 6)?;
    let hold_ms = env_u64("QUEUE_CALLS_HOLD_MS", 1000)?;
    let rtp = env_u64("QUEUE_CALLS_RTP", 1)? != 0;
    let subscribers = env_u64("QUEUE_CALLS_SUBSCRIBERS", 10)? as usize;
    let rates = env_list(
        "QUEUE_CALLS_RATES",
        &[50, 100, 200, 300, 400, 500, 600, 800, 1000],
    );
    let top = rates.iter().copied().max().unwrap_or(100);
    // Enough agents for the top rate's concurrency (hold + setup), with headroom.
    let agents = env_u64(
        "QUEUE_CALLS_AGENTS",
        (top * (hold_ms + 1000) / 1000 * 5 / 4).clamp(20, 3000),
    )? as usize;
    let root = repo_root();
    let bin = build_release_daemon(&root)?;
    let work = Scratch::new("queue-calls")?;
    let result = measure(
        &root,
        &bin,
        work.path(),
        seconds,
        hold_ms,
        rtp,
        &rates,
        agents,
        subscribers,
    );
    if let Err(e) = &result {
        return Err(format!(
            "{e}\n(SIPp screens and daemon logs kept in {})",
            work.keep().display()
        ));
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn measure(
    root: &Path,
    bin: &Path,
    work: &Path,
    seconds: u64,
    hold_ms: u64,
    rtp: bool,
    rates: &[u64],
    agents: usize,
    subscribers: usize,
) -> Result<(), String> {
    // The scenarios, without their rtp_stream action when QUEUE_CALLS_RTP=0 (signalling,
    // anchoring and recording only: SIPp's RTP threads are the rig's costliest part).
    let (caller_xml, agent_xml) = if rtp {
        (
            scenario(root, "bench_caller.xml"),
            scenario(root, "bench_agent_answer.xml"),
        )
    } else {
        (
            without_rtp(root, work, "bench_caller.xml")?,
            without_rtp(root, work, "bench_agent_answer.xml")?,
        )
    };
    // One second of silence in µ-law, looped by SIPp's rtp_stream: 50 packets/s per direction.
    fs::write(work.join("bench_tone.pcmu"), vec![0xffu8; 8000])
        .map_err(|e| format!("writing the RTP file: {e}"))?;
    let spec = ConfigSpec {
        agents,
        queues: 1,
        record: true,
        media_workers: 2,
        ..ConfigSpec::default()
    };
    let config = work.join("queue-calls.toml");
    fs::write(&config, config_text(&spec)).map_err(|e| format!("writing config: {e}"))?;

    println!(
        "queue_calls: {agents} agents, {seconds} s per step, hold {hold_ms} ms, recording on, \
         {}; {} CPUs, load average {}",
        if rtp {
            "RTP both ways"
        } else {
            "no RTP from the phones (QUEUE_CALLS_RTP=0)"
        },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );

    // SIPp's own UAC→UAS rate on this machine, now, as the baseline.
    let baseline = {
        let uas = SippServer::start(work, "baseline-uas", &["-sn", "uas"])?;
        let r = sipp_client(
            work,
            &ClientRun {
                label: "baseline-uac",
                target: uas.addr,
                args: vec!["-sn".into(), "uac".into()],
                rate: "200000".into(),
                inflight: 200,
                max_calls: 50_000_000,
                seconds,
            },
        )?;
        drop(uas);
        r
    };

    let daemon = start_daemon(bin, &config, work, "daemon")?;
    // Every agent registers from one socket (Rust, digest); that socket closes and the SIPp
    // UAS that plays all the agent phones takes its port, where the daemon sends the INVITEs.
    let users: Vec<String> = (0..agents).map(agent_id).collect();
    let agents_port = {
        let mut farm = AgentFarm::new(daemon.sip);
        farm.register_all(&users, Duration::from_secs(60))?;
        farm.local.port()
    };
    let agent_phones = SippServer::start_on(
        work,
        "agents",
        &["-sf", &agent_xml, "-max_socket", "60000"],
        agents_port,
    )?;
    let registered = daemon
        .metric("switchboard_agents_registered")
        .unwrap_or(0.0);
    if (registered as usize) < agents {
        return Err(format!("only {registered} of {agents} agents registered"));
    }
    let journal = Journal::open(&daemon.data)?;
    let recordings_dir = daemon.data.join("recordings");
    let streams = if subscribers > 0 {
        Some(subscriber_rig::Subscribers::start(
            daemon.grpc,
            API_TOKEN,
            subscribers,
        )?)
    } else {
        None
    };
    println!("{subscribers} live event subscribers");

    println!(
        "\n{:>7} {:>8} {:>6} {:>7} {:>7} {:>8} {:>9} {:>9} {:>9} {:>8} {:>8} {:>7} {:>9} {:>9} {:>7}",
        "offered",
        "arrived/s",
        "failed",
        "created",
        "bridged",
        "recorded",
        "setup p50",
        "setup p99",
        "CPU ms/call",
        "daemon",
        "machine",
        "RSS MiB",
        "events/s",
        "lag p99",
        "clean"
    );
    let mut steps: Vec<Step> = Vec::new();
    let mut first_p99 = None;
    let mut best: Option<usize> = None;
    for &rate in rates {
        let seq0 = journal.last_seq();
        let (cpu0, busy0, t0) = (daemon.cpu_seconds(), machine_busy_seconds(), Instant::now());
        let calls = rate * seconds;
        let r = sipp_client(
            work,
            &ClientRun {
                label: &format!("callers-{rate}"),
                target: daemon.sip,
                args: vec![
                    "-sf".into(),
                    caller_xml.clone(),
                    "-s".into(),
                    "8000".into(),
                    "-d".into(),
                    hold_ms.to_string(),
                    "-max_socket".into(),
                    "60000".into(),
                ],
                rate: rate.to_string(),
                inflight: (rate * (hold_ms + 5000) / 1000).max(100),
                max_calls: calls,
                seconds: seconds + hold_ms / 1000 + 20,
            },
        )?;
        // Let the last calls end and their CDRs and events reach the journal.
        let drain_deadline = Instant::now() + Duration::from_secs(15);
        let mut t = journal.call_timings(seq0)?;
        while t.ended < t.created && Instant::now() < drain_deadline {
            std::thread::sleep(Duration::from_millis(200));
            t = journal.call_timings(seq0)?;
        }
        let elapsed = t0.elapsed().as_secs_f64();
        let delivered = streams
            .as_ref()
            .map(|s| s.between(t0, Instant::now()))
            .unwrap_or_default();
        let mut lags: Vec<Duration> = delivered.iter().map(|d| d.lag).collect();
        let lag_p99 = percentiles(&mut lags).map_or(Duration::ZERO, |p| p.p99);
        let cpu = daemon.cpu_seconds() - cpu0;
        let busy = machine_busy_seconds() - busy0;
        let p = percentiles(&mut t.setup);
        let (p50, p99) = p.map_or((Duration::ZERO, Duration::MAX), |p| (p.p50, p.p99));
        let recordings = fs::read_dir(&recordings_dir).map_or(0, |d| d.count());
        let step = Step {
            offered: rate,
            sipp_ok: r.succeeded,
            sipp_failed: r.failed,
            created: t.created,
            connected: t.connected,
            ended: t.ended,
            arrival: t.arrival_rate(),
            p50,
            p99,
            events_per_s: delivered.len() as f64 / elapsed,
            lag_p99,
            cpu_ms_per_call: cpu * 1e3 / (t.created.max(1) as f64),
            daemon_cores: cpu / elapsed,
            machine_cores: busy / elapsed,
            recordings,
            rss_mib: daemon.rss_bytes() as f64 / (1 << 20) as f64,
        };
        let bar = first_p99.map_or(Duration::from_millis(50), |f: Duration| {
            (f * 3).max(Duration::from_millis(50))
        });
        let clean = step.sipp_failed == 0
            && step.created as u64 == step.sipp_ok
            && step.connected == step.created
            && step.ended == step.created
            && step.arrival >= 0.95 * rate as f64
            && step.p99 <= bar;
        if first_p99.is_none() {
            first_p99 = Some(p99);
        }
        println!(
            "{:>7} {:>8.0} {:>6} {:>7} {:>7} {:>8} {:>9.1?} {:>9.1?} {:>9.2} {:>6.2} c {:>6.2} c {:>7.0} {:>9.0} {:>9.1?} {:>7}",
            step.offered,
            step.arrival,
            step.sipp_failed,
            step.created,
            step.connected,
            step.recordings,
            step.p50,
            step.p99,
            step.cpu_ms_per_call,
            step.daemon_cores,
            step.machine_cores,
            step.rss_mib,
            step.events_per_s,
            step.lag_p99,
            if clean { "yes" } else { "no" }
        );
        if step.sipp_failed > 0 {
            println!("  SIPp callers' message table:\n{}", r.message_table());
        }
        // Recordings are checked by count, then removed so a long ramp does not fill the disk.
        let _ = fs::remove_dir_all(&recordings_dir);
        let _ = fs::create_dir_all(&recordings_dir);
        steps.push(step);
        if clean {
            best = Some(steps.len() - 1);
        } else {
            break;
        }
    }
    drop(agent_phones);

    println!(
        "\nSIPp uac → SIPp uas (INVITE/180/200/ACK/BYE/200, no media, 200 in flight): {:.0} calls/s ({} failed)",
        baseline.rate(),
        baseline.failed
    );
    match best.map(|i| &steps[i]) {
        Some(s) => {
            println!(
                "highest clean rate: {} queue calls/s with recording and {} \
                 (setup p99 {:.1?}; {:.0} CPS-equivalent signalling: two SIP calls per queue call)",
                s.offered,
                if rtp {
                    "RTP both ways"
                } else {
                    "no RTP from the phones"
                },
                s.p99,
                2.0 * s.arrival
            );
            println!(
                "daemon CPU per call/s: {:.2} ms of CPU per call = {:.2} % of one core per call/s",
                s.cpu_ms_per_call,
                s.cpu_ms_per_call / 10.0
            );
            if subscribers > 0 {
                println!(
                    "events to {subscribers} live subscribers at that rate: {:.0} events/s \
                     delivered, lag p99 {:.1?} (targets: ≥ 50,000 events/s, p99 ≤ 50 ms)",
                    s.events_per_s, s.lag_p99
                );
            }
            println!(
                "ratio to SIPp's own uac→uas rate: {:.2} (queue calls) / {:.2} (CPS-equivalent)",
                s.arrival / baseline.rate().max(f64::MIN_POSITIVE),
                2.0 * s.arrival / baseline.rate().max(f64::MIN_POSITIVE)
            );
        }
        None => println!("no clean step (the lowest offered rate already failed)"),
    }
    println!("load average after the run: {}", load_average());
    Ok(())
}

/// A copy of scenario `name` in `work` without its `<nop>` action block (the rtp_stream).
fn without_rtp(root: &Path, work: &Path, name: &str) -> Result<String, String> {
    let text =
        fs::read_to_string(scenario(root, name)).map_err(|e| format!("reading {name}: {e}"))?;
    let (Some(start), Some(end)) = (text.find("<nop>"), text.find("</nop>")) else {
        return Err(format!("{name} has no <nop> block"));
    };
    let out = work.join(format!("no-rtp-{name}"));
    let stripped = format!("{}{}", &text[..start], &text[end + "</nop>".len()..]);
    fs::write(&out, stripped).map_err(|e| format!("writing {}: {e}", out.display()))?;
    Ok(out.display().to_string())
}
