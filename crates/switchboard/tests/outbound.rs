//! Outbound legs end to end on loopback: a SIPp UAS stands for the carrier behind the trunk's
//! `outbound` address. A call to DNIS 203 (routed to a URI) is forwarded to it; a click-to-dial
//! over the gRPC API rings the SIPp agent first and the carrier only after the agent answered;
//! a caller who presses 9 while queued is called back by the first agent after a kill -9 and a
//! restart.
//! Skipped when `sipp` is missing outside CI.

mod common;

use std::fs::{self, File};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::sipp::{SippTransport, require_sipp, run_sipp};
use common::wire::http_get;
use common::{Daemon, ScratchDir, free_port, sipp_scenario, tail, wait_with_deadline};
use switchboard_api::pb;
use tonic::metadata::MetadataValue;

/// How long the daemon may take to see the agent registered, and to write the call's records.
const SETTLE: Duration = Duration::from_secs(15);
/// The demo configuration's API token.
const DEMO_TOKEN: &str = "demo-token-change-me";

/// The demo configuration dialling out to `127.0.0.1:<carrier>` (the demo's 5070 is replaced so
/// tests in parallel do not share a port), without keep-alive OPTIONS.
fn outbound_config(dir: &Path, carrier: u16) -> PathBuf {
    common::flow::config_with(dir, &[("127.0.0.1:5070", &format!("127.0.0.1:{carrier}"))])
}

/// SIPp as the carrier: a UAS on `port` running `scenario` once, every message traced.
fn spawn_carrier(dir: &Path, port: u16, scenario: &str) -> Child {
    let out = File::create(dir.join("screen.txt")).expect("carrier screen file");
    let err = out.try_clone().expect("clone");
    Command::new("sipp")
        .arg("-sf")
        .arg(sipp_scenario(scenario))
        .args(["-t", "u1", "-i", "127.0.0.1", "-p", &port.to_string()])
        .args(["-m", "1", "-nostdin", "-timeout", "40s", "-timeout_error"])
        .args(["-trace_err", "-trace_msg"])
        .current_dir(dir)
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("spawning the carrier's sipp")
}

/// SIPp as agent 1001's phone on the daemon at `sip`: registers, then runs `ooc` for the
/// daemon's INVITE (`agent_answer.xml`: answers and waits for BYE).
fn spawn_agent_on(sip: std::net::SocketAddr, dir: &Path, ooc: &str) -> Child {
    let port = free_port(true).to_string();
    let out = File::create(dir.join("screen.txt")).expect("agent screen file");
    let err = out.try_clone().expect("clone");
    Command::new("sipp")
        .arg(sip.to_string())
        .arg("-sf")
        .arg(sipp_scenario("agent_register_stay.xml"))
        .arg("-oocsf")
        .arg(sipp_scenario(ooc))
        .args(["-t", "u1", "-i", "127.0.0.1", "-p", &port])
        .args(["-s", "1001", "-au", "1001", "-ap", "secret", "-m", "1"])
        .args(["-nostdin", "-timeout", "40s", "-timeout_error"])
        .args(["-trace_err", "-trace_msg"])
        .current_dir(dir)
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("spawning the agent's sipp")
}

/// The daemon on the demo configuration dialling out to a carrier on a port of its own.
struct Outbound {
    daemon: Daemon,
    carrier_port: u16,
    config: PathBuf,
    _dir: ScratchDir,
}

impl Outbound {
    fn start() -> Self {
        let dir = ScratchDir::new("outbound-cfg");
        let carrier_port = free_port(true);
        let config = outbound_config(dir.path(), carrier_port);
        let daemon = Daemon::start_with(&config, IpAddr::V4(Ipv4Addr::LOCALHOST));
        Outbound {
            daemon,
            carrier_port,
            config,
            _dir: dir,
        }
    }
}

/// Agent 1001's SIPp phone and the carrier's SIPp, each in its own traced directory.
struct Parties {
    agent: Child,
    agent_dir: ScratchDir,
    carrier: Child,
    carrier_dir: ScratchDir,
}

/// What the two SIPp processes did.
struct Ended {
    agent: Option<std::process::ExitStatus>,
    carrier: Option<std::process::ExitStatus>,
    agent_report: String,
    carrier_report: String,
    /// When each got its first INVITE (`first_invite_at`).
    agent_rang: Option<String>,
    carrier_rang: Option<String>,
}

impl Parties {
    /// The agent (running `agent_ooc` on the daemon at `sip`, registered before this returns
    /// when `daemon` is given) and the carrier running `carrier_scenario` once.
    fn spawn(
        sip: std::net::SocketAddr,
        daemon: Option<&Daemon>,
        agent_ooc: &str,
        carrier_port: u16,
        carrier_scenario: &str,
    ) -> Self {
        let agent_dir = ScratchDir::new("agent");
        let agent = spawn_agent_on(sip, agent_dir.path(), agent_ooc);
        if let Some(daemon) = daemon {
            wait_registered(daemon);
        }
        let carrier_dir = ScratchDir::new("carrier");
        let carrier = spawn_carrier(carrier_dir.path(), carrier_port, carrier_scenario);
        Parties {
            agent,
            agent_dir,
            carrier,
            carrier_dir,
        }
    }

    /// Waits (40 s at most each) for the carrier, then the agent, and reads their traces.
    fn wait(mut self) -> Ended {
        let carrier = wait_with_deadline(&mut self.carrier, Duration::from_secs(40));
        let agent = wait_with_deadline(&mut self.agent, Duration::from_secs(40));
        Ended {
            agent,
            carrier,
            agent_report: report(self.agent_dir.path()),
            carrier_report: report(self.carrier_dir.path()),
            agent_rang: first_invite_at(self.agent_dir.path()),
            carrier_rang: first_invite_at(self.carrier_dir.path()),
        }
    }
}

impl Ended {
    /// Both traces and `log`'s tail, for a failure message.
    fn context(&self, log: &str) -> String {
        format!(
            "--- agent ---\n{}\n--- carrier ---\n{}\n--- daemon ---\n{}",
            self.agent_report,
            self.carrier_report,
            tail(log, 8000)
        )
    }
}

/// A gRPC request with the demo token and a 10 s deadline.
fn authorized<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let token = MetadataValue::try_from(format!("Bearer {DEMO_TOKEN}")).expect("ascii");
    request.metadata_mut().insert("authorization", token);
    request.set_timeout(Duration::from_secs(10));
    request
}

/// Runs one CallService call on a fresh connection to `daemon`.
fn call_service<F, Fut, T>(daemon: &Daemon, call: F) -> T
where
    F: FnOnce(pb::call_service_client::CallServiceClient<tonic::transport::Channel>) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let calls =
            pb::call_service_client::CallServiceClient::connect(format!("http://{}", daemon.grpc))
                .await
                .expect("connect to the daemon's gRPC");
        call(calls).await
    })
}

/// Every file SIPp left in `dir`.
fn report(dir: &Path) -> String {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .filter(|f| f.is_file())
        .map(|f| {
            let text = fs::read(f)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            format!(
                "--- {} ---\n{}\n",
                f.file_name().unwrap_or_default().to_string_lossy(),
                tail(&text, 6000)
            )
        })
        .collect()
}

/// The `-trace_msg` stamp (`YYYY-MM-DD HH:MM:SS.ffffff`, UTC, fixed width: comparable as
/// text) of the first INVITE SIPp received in `dir`.
fn first_invite_at(dir: &Path) -> Option<String> {
    let messages: String = fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with("_messages.log"))
        .map(|e| fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    let mut stamp = None;
    for line in messages.lines() {
        if line.starts_with("----------") {
            let fields: Vec<&str> = line.split_whitespace().skip(1).take(2).collect();
            stamp = Some(fields.join(" "));
        } else if line.starts_with("INVITE sip:") {
            return stamp;
        }
    }
    None
}

/// The first CDR row once one is written.
fn first_cdr(daemon: &Daemon) -> String {
    let path = daemon.dir().join("data/cdr/Master.csv");
    let deadline = Instant::now() + SETTLE;
    loop {
        let cdr = fs::read_to_string(&path).unwrap_or_default();
        if let Some(row) = cdr.lines().next() {
            return row.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no CDR after the call\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_registered(daemon: &Daemon) {
    let deadline = Instant::now() + SETTLE;
    loop {
        let metrics = http_get(daemon.http, "/metrics", Duration::from_secs(2))
            .map(|(_, body)| body)
            .unwrap_or_default();
        if metrics
            .lines()
            .any(|l| l.starts_with("switchboard_agents_registered ") && !l.ends_with(" 0"))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "agent 1001 never registered\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_call_to_dnis_203_is_forwarded_to_the_uri_through_the_outbound_trunk() {
    let test = "a_call_to_dnis_203_is_forwarded_to_the_uri_through_the_outbound_trunk";
    if !require_sipp(test) {
        return;
    }
    let Outbound {
        daemon,
        carrier_port,
        _dir: _config_dir,
        ..
    } = Outbound::start();
    let carrier_dir = ScratchDir::new("carrier");
    // The carrier answers (180, 200 + SDP), takes the ACK and waits for our BYE.
    let mut carrier = spawn_carrier(carrier_dir.path(), carrier_port, "agent_answer.xml");
    // The caller dials 203, is answered, talks 3 s and hangs up.
    let caller = run_sipp(
        &daemon,
        "caller_queue.xml",
        SippTransport::Udp,
        &["-s", "203"],
    );
    let carrier_status = wait_with_deadline(&mut carrier, Duration::from_secs(40));
    let carrier_report = report(carrier_dir.path());
    assert!(
        caller.succeeded(),
        "caller `{}` failed: {:?}\n{}\n--- carrier ---\n{carrier_report}\n--- daemon ---\n{}",
        caller.command,
        caller.status,
        caller.report,
        daemon.log()
    );
    assert!(
        carrier_status.is_some_and(|s| s.success()),
        "the carrier's sipp did not complete: {carrier_status:?}\n{carrier_report}\n{}",
        daemon.log()
    );
    assert!(
        carrier_report.contains("INVITE sip:5551203@127.0.0.1")
            && carrier_report.contains("BYE sip:"),
        "the carrier was not invited to the route's URI and released\n{carrier_report}"
    );
    let row = first_cdr(&daemon);
    assert!(row.contains("\"5551234\""), "src is the caller: {row}");
    assert!(row.contains("\"203\""), "dst is the DNIS: {row}");
    assert!(row.contains("\"Dial\""), "lastapp Dial: {row}");
    assert!(
        row.contains(&format!("\"sip:5551203@127.0.0.1:{carrier_port}\"")),
        "lastdata is the URI: {row}"
    );
    assert!(
        row.contains("\"SIP/loopback-"),
        "dstchannel on the trunk: {row}"
    );
    assert!(row.contains("\"ANSWERED\""), "answered: {row}");
}

/// Answer supervision: a caller forwarded to a busy number is never answered; the carrier's
/// 486 comes back to the caller, and the CDR says BUSY with no answer time.
#[test]
fn a_forwarded_caller_gets_the_far_ends_busy_and_is_never_answered() {
    let test = "a_forwarded_caller_gets_the_far_ends_busy_and_is_never_answered";
    if !require_sipp(test) {
        return;
    }
    let rig = Outbound::start();
    let daemon = &rig.daemon;
    let carrier_dir = ScratchDir::new("carrier");
    let mut carrier = spawn_carrier(carrier_dir.path(), rig.carrier_port, "agent_busy.xml");
    let caller = run_sipp(
        daemon,
        "caller_refused_busy.xml",
        SippTransport::Udp,
        &["-s", "203"],
    );
    let carrier_status = wait_with_deadline(&mut carrier, Duration::from_secs(40));
    assert!(
        caller.succeeded() && carrier_status.is_some_and(|s| s.success()),
        "caller `{}`: {:?}\n{}\n--- carrier ---\n{}\n--- daemon ---\n{}",
        caller.command,
        caller.status,
        caller.report,
        report(carrier_dir.path()),
        daemon.log()
    );
    let row = first_cdr(daemon);
    // Asterisk's Master.csv columns: accountcode, src, dst, dcontext, clid, channel,
    // dstchannel, lastapp, lastdata, start, answer, end, duration, billsec, disposition, ...
    let fields = common::flow::cdr_fields(&row);
    let column = |i: usize| fields.get(i).map(String::as_str).unwrap_or_default();
    assert!(
        row.contains(r#","""Caller"" <5551234>","#),
        "clid is \"Caller\" <5551234>, CSV-quoted: {row}"
    );
    assert_eq!(column(7), "Dial", "lastapp: {row}");
    assert!(column(6).starts_with("SIP/loopback-"), "dstchannel: {row}");
    assert_eq!(column(10), "", "no answer time: {row}");
    assert_eq!(column(13), "0", "no billable seconds: {row}");
    assert_eq!(column(14), "BUSY", "disposition: {row}");
}

#[test]
fn click_to_dial_over_the_api_rings_the_agent_then_the_customer() {
    let test = "click_to_dial_over_the_api_rings_the_agent_then_the_customer";
    if !require_sipp(test) {
        return;
    }
    let rig = Outbound::start();
    let daemon = &rig.daemon;
    // The customer answers and hangs up after a second.
    let parties = Parties::spawn(
        daemon.sip,
        Some(daemon),
        "agent_answer.xml",
        rig.carrier_port,
        "agent_answer_hangup.xml",
    );
    let accepted = call_service(daemon, |mut calls| async move {
        calls
            .make_call(authorized(pb::MakeCallRequest {
                request_id: "c2d-1".into(),
                agent: "1001".into(),
                to: "5550100".into(),
                call_data: [("ticket".to_string(), "T-42".to_string())].into(),
                ..Default::default()
            }))
            .await
    });
    let accepted = match accepted {
        Ok(response) => response.into_inner(),
        Err(status) => panic!("MakeCall refused: {status:?}\n{}", daemon.log()),
    };
    assert_eq!(accepted.call_id.len(), 36, "a UUID at once: {accepted:?}");

    let ended = parties.wait();
    let context = || ended.context(&daemon.log());
    assert!(
        ended.carrier.is_some_and(|s| s.success()),
        "the customer's sipp did not complete: {:?}\n{}",
        ended.carrier,
        context()
    );
    assert!(
        ended.agent.is_some(),
        "the agent was not released\n{}",
        context()
    );
    assert!(
        ended
            .agent_report
            .contains(&format!("X-Switchboard-Call-Id: {}", accepted.call_id))
            && ended
                .carrier_report
                .contains(&format!("X-Switchboard-Call-Id: {}", accepted.call_id)),
        "both legs carry the call id\n{}",
        context()
    );
    assert!(
        ended
            .carrier_report
            .contains("INVITE sip:5550100@127.0.0.1")
            && ended.carrier_report.contains("From: \"2000\" <sip:2000@"),
        "the customer is dialled with the trunk's caller id\n{}",
        context()
    );
    let (Some(agent_rang), Some(customer_rang)) = (&ended.agent_rang, &ended.carrier_rang) else {
        panic!("INVITEs not in SIPp's traces\n{}", context());
    };
    assert!(
        agent_rang < customer_rang,
        "the agent rings first: agent {agent_rang}, customer {customer_rang}"
    );
    let row = first_cdr(daemon);
    assert!(row.contains(&accepted.call_id), "the call's CDR: {row}");
    assert!(row.contains("\"5550100\""), "dst is the number: {row}");
    assert!(row.contains("\"1001\""), "the agent is in the CDR: {row}");
    assert!(row.contains("\"ANSWERED\""), "answered: {row}");
}

/// Starts the daemon again on `data` (a restart after a crash), on fresh ports.
fn restart(config: &Path, data: &Path, log: &Path) -> (Child, std::net::SocketAddr) {
    let sip = std::net::SocketAddr::from(([127, 0, 0, 1], free_port(true)));
    let http = std::net::SocketAddr::from(([127, 0, 0, 1], free_port(false)));
    let grpc = std::net::SocketAddr::from(([127, 0, 0, 1], free_port(false)));
    let out = File::create(log).expect("restart log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--config")
        .arg(config)
        .args(["--sip-listen", &sip.to_string()])
        .args(["--http-listen", &http.to_string()])
        .args(["--grpc-listen", &grpc.to_string()])
        .arg("--data-dir")
        .arg(data)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("clone"))
        .stderr(out)
        .spawn()
        .expect("restarting the daemon");
    let deadline = Instant::now() + SETTLE;
    while !matches!(
        http_get(http, "/healthz", Duration::from_millis(500)),
        Ok((200, _))
    ) {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "restart not ready\n{}",
                fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, sip)
}

#[test]
fn a_callback_asked_for_with_9_survives_kill_9_and_is_placed_after_the_restart() {
    let test = "a_callback_asked_for_with_9_survives_kill_9_and_is_placed_after_the_restart";
    if !require_sipp(test) {
        return;
    }
    let Outbound {
        mut daemon,
        carrier_port,
        config,
        _dir: _config_dir,
    } = Outbound::start();
    // No agent yet: the caller waits, presses 9, is released.
    let caller = run_sipp(
        &daemon,
        "caller_press_9.xml",
        SippTransport::Udp,
        &["-s", "201"],
    );
    assert!(
        caller.succeeded(),
        "caller `{}` failed: {:?}\n{}\n--- daemon ---\n{}",
        caller.command,
        caller.status,
        caller.report,
        daemon.log()
    );
    // EXITWITHKEY is written in the transaction after the callback's: once it is in the
    // queue_log file, the callback is durable.
    let data = daemon.dir().join("data");
    let deadline = Instant::now() + SETTLE;
    let call_id = loop {
        let queue_log = fs::read_to_string(data.join("queue_log")).unwrap_or_default();
        if let Some(line) = queue_log.lines().find(|l| l.contains("|EXITWITHKEY|")) {
            break line.split('|').nth(1).unwrap_or_default().to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no EXITWITHKEY\n{queue_log}\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        daemon.signal("KILL", Duration::from_secs(5)).is_some(),
        "kill -9 did not stop the daemon"
    );

    let log = daemon.dir().join("restart.log");
    let (mut restarted, sip) = restart(&config, &data, &log);
    let ended = Parties::spawn(
        sip,
        None,
        "agent_answer.xml",
        carrier_port,
        "agent_answer_hangup.xml",
    )
    .wait();
    let cdr_path = data.join("cdr/Master.csv");
    let deadline = Instant::now() + SETTLE;
    let row = loop {
        let cdr = fs::read_to_string(&cdr_path).unwrap_or_default();
        if let Some(row) = cdr
            .lines()
            .find(|l| l.contains(&call_id) && l.contains("Dial"))
        {
            break Some(row.to_string());
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = restarted.kill();
    let _ = restarted.wait();
    let context = ended.context(&fs::read_to_string(&log).unwrap_or_default());
    assert!(
        ended.carrier.is_some_and(|s| s.success()) && ended.agent.is_some(),
        "the callback did not ring agent and customer: {:?} {:?}\n{context}",
        ended.carrier,
        ended.agent
    );
    assert!(
        ended
            .agent_report
            .contains(&format!("X-Switchboard-Call-Id: {call_id}")),
        "the restored callback keeps its call id\n{context}"
    );
    assert!(
        ended
            .carrier_report
            .contains("INVITE sip:5551234@127.0.0.1"),
        "the caller's own number is called back\n{context}"
    );
    let Some(row) = row else {
        panic!("no CDR for the callback\n{context}");
    };
    assert!(row.contains("\"ANSWERED\""), "answered: {row}");
    assert!(row.contains("\"1001\""), "by the agent: {row}");
}

#[test]
fn a_blind_refer_to_an_outside_number_dials_it_and_keeps_the_call_id() {
    let test = "a_blind_refer_to_an_outside_number_dials_it_and_keeps_the_call_id";
    if !require_sipp(test) {
        return;
    }
    let rig = Outbound::start();
    let daemon = &rig.daemon;
    // Agent 1001 answers, talks a second, REFERs the caller to 5559999; the outside number
    // answers and waits for our BYE (the caller hangs up after 3 s).
    let parties = Parties::spawn(
        daemon.sip,
        Some(daemon),
        "agent_answer_refer.xml",
        rig.carrier_port,
        "agent_answer.xml",
    );
    let caller = run_sipp(
        daemon,
        "caller_queue.xml",
        SippTransport::Udp,
        &["-s", "201"],
    );
    let ended = parties.wait();
    let context = || ended.context(&daemon.log());
    assert!(
        caller.succeeded(),
        "caller failed: {:?}\n{}\n{}",
        caller.status,
        caller.report,
        context()
    );
    assert!(
        ended.agent.is_some_and(|s| s.success()),
        "the agent's REFER scenario did not complete: {:?}\n{}",
        ended.agent,
        context()
    );
    assert!(
        ended.carrier.is_some_and(|s| s.success()),
        "the outside number was not dialled and released: {:?}\n{}",
        ended.carrier,
        context()
    );
    let call_id = ended
        .agent_report
        .lines()
        .find_map(|l| l.strip_prefix("X-Switchboard-Call-Id: "))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no call id at the agent\n{}", context()))
        .to_string();
    assert!(
        ended
            .carrier_report
            .contains("INVITE sip:5559999@127.0.0.1")
            && ended
                .carrier_report
                .contains(&format!("X-Switchboard-Call-Id: {call_id}")),
        "the number is dialled for the same call\n{}",
        context()
    );
    let row = first_cdr(daemon);
    assert!(row.contains(&call_id), "one CDR for the call: {row}");
    assert!(
        row.contains("\"Dial\",\"5559999\""),
        "ended at the number: {row}"
    );
    let queue_log = fs::read_to_string(daemon.dir().join("data/queue_log")).unwrap_or_default();
    let events: Vec<&str> = queue_log
        .lines()
        .filter(|l| l.contains(&call_id))
        .filter_map(|l| l.split('|').nth(4))
        .collect();
    assert_eq!(
        events,
        ["ENTERQUEUE", "CONNECT", "TRANSFER"],
        "queue_log:\n{queue_log}"
    );
    assert!(
        queue_log.contains("|TRANSFER|5559999|outbound|"),
        "queue_log:\n{queue_log}"
    );
}

/// RequestCallback without a call (a web form's "call me back in a moment"): accepted at once
/// with a new call id, the agent is not rung before `not_before`, then the call enters the
/// queue, rings the agent and, once the agent answers, dials the number through the trunk.
#[test]
fn a_callback_requested_over_the_api_without_a_call_is_placed_when_due() {
    let test = "a_callback_requested_over_the_api_without_a_call_is_placed_when_due";
    if !require_sipp(test) {
        return;
    }
    let rig = Outbound::start();
    let daemon = &rig.daemon;
    let parties = Parties::spawn(
        daemon.sip,
        Some(daemon),
        "agent_answer.xml",
        rig.carrier_port,
        "agent_answer_hangup.xml",
    );
    let delay = Duration::from_secs(2);
    let accepted = call_service(daemon, |mut calls| async move {
        calls
            .request_callback(authorized(pb::RequestCallbackRequest {
                request_id: "web-cb-1".into(),
                queue: "support".into(),
                number: "5550101".into(),
                not_before: Some((std::time::SystemTime::now() + delay).into()),
                ..Default::default()
            }))
            .await
    });
    let accepted = match accepted {
        Ok(response) => response.into_inner(),
        Err(status) => panic!("RequestCallback refused: {status:?}\n{}", daemon.log()),
    };
    let asked = Instant::now();
    assert_eq!(
        accepted.call_id.len(),
        36,
        "a new call id at once: {accepted:?}"
    );
    std::thread::sleep(delay / 2);
    assert!(
        first_invite_at(parties.agent_dir.path()).is_none() && asked.elapsed() < delay,
        "the agent rang before not_before\n{}",
        report(parties.agent_dir.path())
    );
    let ended = parties.wait();
    let context = || ended.context(&daemon.log());
    assert!(
        ended.carrier.is_some_and(|s| s.success()) && ended.agent.is_some(),
        "the callback was not placed: carrier {:?}, agent {:?}\n{}",
        ended.carrier,
        ended.agent,
        context()
    );
    assert!(
        ended
            .carrier_report
            .contains("INVITE sip:5550101@127.0.0.1")
            && ended
                .carrier_report
                .contains(&format!("X-Switchboard-Call-Id: {}", accepted.call_id)),
        "the number is dialled under the callback's call id\n{}",
        context()
    );
    let row = first_cdr(daemon);
    assert!(row.contains(&accepted.call_id), "the callback's CDR: {row}");
    assert!(row.contains("\"ANSWERED\""), "answered: {row}");
    let queue_log =
        fs::read_to_string(daemon.dir().join("data/queue_log")).expect("queue_log written");
    assert!(
        queue_log.lines().any(|l| l.contains(&accepted.call_id)
            && l.contains("|support|")
            && l.contains("ENTERQUEUE")),
        "the callback entered the queue when due\n{queue_log}"
    );
}
