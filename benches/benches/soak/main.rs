//! Soak (issue 8, faults): mixed traffic against the daemon for a long time, printing the
//! daemon's RSS, open file descriptors, data-directory size and call counts over time, then
//! whether the counts in CDR, queue_log, journal and metrics agree.
//!
//! Traffic (all on loopback, real SIP from SIPp, real gRPC):
//! * queue `support` (DNIS 201): SIPp callers at 0.6 call/s (below the four agents' ~0.7
//!   calls/s, so the queue does not grow) who are bridged to one of four
//!   SIPp agents (1001–1004, answer and wait), put the agent on hold with a re-INVITE
//!   `a=sendonly`, take the call back (`a=sendrecv`) and hang up (tests/sipp/soak_caller_hold.xml);
//!   recorded;
//! * queue `sales` (DNIS 202): SIPp callers at 1 call/s, answered by three agents (1006–1008)
//!   who hang up after a second (agent_answer_hangup.xml), or by agent 1010 who blind-transfers
//!   the customer back into `sales` with REFER (agent_soak_transfer.xml);
//! * the API: every 200 ms agents 1005 and 1009 are set NOT_READY / READY, GetStatus and
//!   GetJournalInfo are read.
//!
//! ```text
//! cargo bench -p switchboard-benches --bench soak                       # 60 s
//! SOAK_SECONDS=1800 cargo bench -p switchboard-benches --bench soak     # 30 min
//! ```
//! The daemon binary is `SOAK_DAEMON` if set, else `target/release/switchboard`, else
//! `target/debug/switchboard` (build it first: `cargo build [--release] --bin switchboard`);
//! the one used is printed. `cargo test -p switchboard-benches --bench soak` runs the same
//! program from a debug build of the bench. `SOAK_KEEP=1` keeps the scratch directory (daemon
//! log, data, SIPp screens and error logs).

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use switchboard_api::pb;
use tonic::metadata::MetadataValue;

mod procs;

use procs::{Daemon, Scratch, http_get, sipp_agent, sipp_caller};

/// The demo configuration's API token.
const DEMO_TOKEN: &str = "demo-token-change-me";
/// Agents on queue `support` (answer, wait for the caller's BYE).
const SUPPORT_AGENTS: [&str; 4] = ["1001", "1002", "1003", "1004"];
/// Agents on queue `sales` (answer, hang up after a second).
const SALES_AGENTS: [&str; 3] = ["1006", "1007", "1008"];
/// An agent on queue `sales` who blind-transfers every call back to `sales` (REFER).
const TRANSFER_AGENT: &str = "1010";
/// Agents whose state the API flips.
const API_AGENTS: [&str; 2] = ["1005", "1009"];

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("soak: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .map(|v| v.parse().map_err(|e| format!("SOAK_SECONDS={v}: {e}")))
        .transpose()?
        .unwrap_or(60);
    if Command::new("sipp").arg("-v").output().is_err() {
        return Err("sipp is not installed (apt-get install sip-tester)".into());
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bin = daemon_binary(&root)?;
    let work = Scratch::new()?;
    let config = write_config(&root, work.path())?;
    let daemon = Daemon::start(&bin, &config, work.path())?;
    println!(
        "soak: {seconds} s of mixed traffic against {} (pid {})",
        bin.display(),
        daemon.child.id()
    );

    let mut agents = Vec::new();
    for agent in SUPPORT_AGENTS {
        agents.push(sipp_agent(
            &root,
            &daemon,
            work.path(),
            agent,
            "agent_answer.xml",
            seconds,
        )?);
    }
    for agent in SALES_AGENTS {
        agents.push(sipp_agent(
            &root,
            &daemon,
            work.path(),
            agent,
            "agent_answer_hangup.xml",
            seconds,
        )?);
    }
    agents.push(sipp_agent(
        &root,
        &daemon,
        work.path(),
        TRANSFER_AGENT,
        "agent_soak_transfer.xml",
        seconds,
    )?);
    wait_registered(&daemon, SUPPORT_AGENTS.len() + SALES_AGENTS.len() + 1)?;

    let api_calls = Arc::new(AtomicU64::new(0));
    let api_errors = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let api = {
        let (grpc, calls, errors, stop) = (
            daemon.grpc,
            api_calls.clone(),
            api_errors.clone(),
            stop.clone(),
        );
        std::thread::spawn(move || api_traffic(grpc, &calls, &errors, &stop))
    };

    let support_calls = ((seconds * 3) / 5).max(1);
    let sales_calls = seconds.max(1);
    let started = Instant::now();
    let mut support = sipp_caller(
        &root,
        &daemon,
        work.path(),
        "support",
        "soak_caller_hold.xml",
        "201",
        &["-r", "3", "-rp", "5000"],
        support_calls,
        seconds,
    )?;
    let mut sales = sipp_caller(
        &root,
        &daemon,
        work.path(),
        "sales",
        "caller_until_bye.xml",
        "202",
        &["-r", "1"],
        sales_calls,
        seconds,
    )?;

    println!(
        "{:>6} {:>9} {:>5} {:>10} {:>11} {:>6} {:>9} {:>8} {:>7} {:>6}",
        "t_s", "rss_kib", "fds", "db_kib", "record_kib", "cdrs", "qlog", "journal", "ended", "api"
    );
    let interval = Duration::from_secs((seconds / 12).clamp(5, 60));
    let mut samples = Vec::new();
    let mut next = started;
    let deadline = started + Duration::from_secs(seconds + 120);
    loop {
        if Instant::now() >= next {
            let s = sample(&daemon, started, api_calls.load(Ordering::Relaxed));
            println!("{s}");
            samples.push(s);
            next += interval;
        }
        let done = support.child.try_wait().ok().flatten().is_some()
            && sales.child.try_wait().ok().flatten().is_some();
        if done || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // Let the last calls' records land, then the final figures.
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::Relaxed);
    let _ = api.join();
    let last = sample(&daemon, started, api_calls.load(Ordering::Relaxed));
    println!("{last}");
    support.stop();
    sales.stop();
    drop(agents);

    let (s_ok, s_failed) = support.results();
    let (b_ok, b_failed) = sales.results();
    let queue_log = fs::read_to_string(daemon.data.join("queue_log")).unwrap_or_default();
    let count = |event: &str| {
        queue_log
            .lines()
            .filter(|l| l.split('|').nth(4) == Some(event))
            .count()
    };
    let entered = count("ENTERQUEUE");
    let closed = [
        "COMPLETECALLER",
        "COMPLETEAGENT",
        "ABANDON",
        "EXITWITHTIMEOUT",
        "TRANSFER",
    ]
    .iter()
    .map(|e| count(e))
    .sum::<usize>();
    let call_ended_events = journal_count(daemon.grpc, "CallEnded");
    println!(
        "\ncalls: support {s_ok} ok / {s_failed} failed (SIPp), sales {b_ok} ok / {b_failed} failed; \
         API calls {} ({} errors)",
        api_calls.load(Ordering::Relaxed),
        api_errors.load(Ordering::Relaxed)
    );
    println!(
        "counts: CDR rows {}, switchboard_calls_ended_total {}, CallEnded in the journal {}, \
         SIPp calls {}; queue_log ENTERQUEUE {entered}, closing lines {closed}",
        last.cdrs,
        last.ended,
        call_ended_events.map_or("?".into(), |n| n.to_string()),
        s_ok + s_failed + b_ok + b_failed
    );
    let transfers = count("TRANSFER");
    println!("transfers: {transfers} (each re-enters a queue: ENTERQUEUE = CDR rows + transfers)");
    let agree = last.cdrs == last.ended
        && call_ended_events == Some(last.cdrs)
        && (entered - transfers) as u64 == last.cdrs
        && closed == entered
        && last.cdrs == s_ok + s_failed + b_ok + b_failed;
    println!("counts agree: {agree}");
    if let (Some(first), Some(quarter)) = (samples.first(), samples.get(samples.len() / 4)) {
        println!(
            "RSS {} KiB at start, {} KiB at a quarter, {} KiB at the end; fds {} / {} / {}",
            first.rss_kib, quarter.rss_kib, last.rss_kib, first.fds, quarter.fds, last.fds
        );
    }
    Ok(())
}

/// One line of figures.
#[derive(Debug, Clone, Copy)]
struct Sample {
    t: Duration,
    rss_kib: u64,
    fds: usize,
    db_kib: u64,
    record_kib: u64,
    cdrs: u64,
    queue_log: u64,
    journal: u64,
    ended: u64,
    api: u64,
}

impl std::fmt::Display for Sample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>6} {:>9} {:>5} {:>10} {:>11} {:>6} {:>9} {:>8} {:>7} {:>6}",
            self.t.as_secs(),
            self.rss_kib,
            self.fds,
            self.db_kib,
            self.record_kib,
            self.cdrs,
            self.queue_log,
            self.journal,
            self.ended,
            self.api
        )
    }
}

fn sample(daemon: &Daemon, started: Instant, api: u64) -> Sample {
    let pid = daemon.child.id();
    let lines = |name: &str| {
        fs::read_to_string(daemon.data.join(name))
            .map(|t| t.lines().count() as u64)
            .unwrap_or(0)
    };
    let metrics = http_get(daemon.http, "/metrics").unwrap_or_default();
    Sample {
        t: started.elapsed(),
        rss_kib: fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.split_whitespace().next()?.parse().ok())
            })
            .unwrap_or(0),
        fds: fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|d| d.count())
            .unwrap_or(0),
        db_kib: dir_bytes(&daemon.data, &["recordings", "cdr"]) / 1024,
        record_kib: dir_bytes(&daemon.data.join("recordings"), &[]) / 1024,
        cdrs: lines("cdr/Master.csv"),
        queue_log: lines("queue_log"),
        journal: journal_head(daemon.grpc).unwrap_or(0),
        ended: metric(&metrics, "switchboard_calls_ended_total"),
        api,
    }
}

/// Bytes of the regular files under `dir`, skipping top-level entries named in `skip`.
fn dir_bytes(dir: &Path, skip: &[&str]) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| !skip.iter().any(|s| e.file_name() == *s))
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path(), &[]),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// The sum of a counter's samples (all label sets) in Prometheus text.
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()
}

fn authorized<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Ok(value) = MetadataValue::try_from(format!("Bearer {DEMO_TOKEN}")) {
        request.metadata_mut().insert("authorization", value);
    }
    request.set_timeout(Duration::from_secs(5));
    request
}

fn journal_head(grpc: SocketAddr) -> Option<u64> {
    runtime()?.block_on(async {
        let mut client =
            pb::event_service_client::EventServiceClient::connect(format!("http://{grpc}"))
                .await
                .ok()?;
        let info = client
            .get_journal_info(authorized(pb::GetJournalInfoRequest::default()))
            .await
            .ok()?;
        Some(info.into_inner().head_seq)
    })
}

/// How many journaled events of `kind` there are (ListEvents, paged).
fn journal_count(grpc: SocketAddr, kind: &str) -> Option<u64> {
    runtime()?.block_on(async {
        let mut client =
            pb::event_service_client::EventServiceClient::connect(format!("http://{grpc}"))
                .await
                .ok()?;
        let mut after = 0;
        let mut count = 0;
        loop {
            let page = client
                .list_events(authorized(pb::ListEventsRequest {
                    after_seq: after,
                    page_size: 1000,
                    ..Default::default()
                }))
                .await
                .ok()?
                .into_inner();
            if page.events.is_empty() {
                return Some(count);
            }
            for e in &page.events {
                after = after.max(e.seq);
                if e.kind == kind {
                    count += 1;
                }
            }
        }
    })
}

/// Flips [`API_AGENTS`] between NOT_READY and READY and reads the status, every 200 ms.
fn api_traffic(grpc: SocketAddr, calls: &AtomicU64, errors: &AtomicU64, stop: &AtomicBool) {
    let Some(rt) = runtime() else {
        return;
    };
    rt.block_on(async {
        let endpoint = format!("http://{grpc}");
        let Ok(mut agents) =
            pb::agent_service_client::AgentServiceClient::connect(endpoint.clone()).await
        else {
            return;
        };
        let Ok(mut admin) =
            pb::admin_service_client::AdminServiceClient::connect(endpoint.clone()).await
        else {
            return;
        };
        let mut n: u64 = 0;
        while !stop.load(Ordering::Relaxed) {
            n += 1;
            for agent in API_AGENTS {
                let (state, reason) = if n.is_multiple_of(2) {
                    (pb::AgentState::Ready, "")
                } else {
                    (pb::AgentState::NotReady, "break")
                };
                let request = pb::SetAgentStateRequest {
                    request_id: format!("soak-{agent}-{n}"),
                    agent: agent.into(),
                    state: state as i32,
                    reason_code: reason.into(),
                    ..Default::default()
                };
                // Counted as a call whatever the answer: the reply needs engine reads some
                // builds lack; the state change itself shows in the journal.
                let _ = agents.set_agent_state(authorized(request)).await;
                calls.fetch_add(1, Ordering::Relaxed);
            }
            match admin.get_status(authorized(pb::GetStatusRequest {})).await {
                Ok(_) => calls.fetch_add(1, Ordering::Relaxed),
                Err(_) => errors.fetch_add(1, Ordering::Relaxed),
            };
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
}

fn daemon_binary(root: &Path) -> Result<PathBuf, String> {
    if let Ok(path) = std::env::var("SOAK_DAEMON") {
        return Ok(PathBuf::from(path));
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    ["release", "debug"]
        .iter()
        .map(|profile| target.join(profile).join("switchboard"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "no daemon under {}/{{release,debug}}: cargo build --release --bin switchboard, or set SOAK_DAEMON",
                target.display()
            )
        })
}

/// The demo configuration for the soak: agents 1001–1005 in `support` only, 1006–1010 in
/// `sales` only, 1 s wrap-up, no survey (SIPp callers send no digit),
/// `support` recorded, `sales` not, no OPTIONS keep-alives (the SIPp agents' out-of-call
/// scenarios expect INVITEs only).
fn write_config(root: &Path, work: &Path) -> Result<PathBuf, String> {
    let demo = root.join("config/switchboard.toml");
    let mut text =
        fs::read_to_string(&demo).map_err(|e| format!("reading {}: {e}", demo.display()))?;
    for (from, to) in [
        (
            "keepalive_interval_seconds = 30",
            "keepalive_interval_seconds = 0",
        ),
        // Media ports of its own: the tests and other daemons on this machine use the demo's
        // 20000-29999 on the same loopback address.
        ("rtp_port_min = 20000", "rtp_port_min = 12000"),
        ("rtp_port_max = 29999", "rtp_port_max = 17999"),
        (
            "wrap_up_seconds = 5\nrecord = true\nsurvey = true",
            "wrap_up_seconds = 1\nrecord = true\nsurvey = false",
        ),
        (
            "requirement = \"sales >= 1\"\nwrap_up_seconds = 5\nrecord = true",
            "requirement = \"sales >= 1\"\nwrap_up_seconds = 1\nrecord = false",
        ),
    ] {
        if !text.contains(from) {
            return Err(format!("the demo configuration has no {from:?}"));
        }
        text = text.replacen(from, to, 1);
    }
    // One queue per agent group, so each agent's scripted behaviour meets the callers it was
    // written for (a sales agent hangs up; a support caller hangs up itself).
    for (from, to) in [
        (
            "skills = { support = 5, sales = 2 }",
            "skills = { support = 5 }",
        ),
        (
            "skills = { sales = 5, support = 1 }",
            "skills = { sales = 5 }",
        ),
    ] {
        if !text.contains(from) {
            return Err(format!("the demo configuration has no {from:?}"));
        }
        text = text.replace(from, to);
    }
    for sub in ["ivr", "prompts"] {
        std::os::unix::fs::symlink(root.join("config").join(sub), work.join(sub))
            .map_err(|e| format!("linking {sub}: {e}"))?;
    }
    let path = work.join("switchboard.toml");
    fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(path)
}

fn wait_registered(daemon: &Daemon, n: usize) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let metrics = http_get(daemon.http, "/metrics").unwrap_or_default();
        if metric(&metrics, "switchboard_agents_registered") >= n as u64 {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("{n} agents did not register within 20 s"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
