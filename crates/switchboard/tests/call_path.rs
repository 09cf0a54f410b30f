//! Issue 6 end to end on loopback with real SIP peers: a SIPp agent phone registers (digest) and
//! auto-answers; a SIPp trunk caller dials 201 (queue `support`), is answered by the daemon,
//! queued, bridged to the agent, and hangs up. The daemon's own files must then hold the CDR
//! (`cdr/Master.csv`) and the queue_log lines of that call. Skipped when `sipp` is missing
//! outside CI.

mod common;

use std::fs::{self, File};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::flow::{SETTLE, fast_config, queue_events, records, spawn_agent_in, wait_registered};
use common::sipp::{SippTransport, require_sipp, run_sipp};
use common::wire::http_get;
use common::{
    Daemon, ScratchDir, demo_config, free_port, repo_root, sipp_scenario, tail, wait_with_deadline,
};

#[test]
fn trunk_call_to_201_is_bridged_to_a_registered_agent_and_leaves_cdr_and_queue_log() {
    let test = "trunk_call_to_201_is_bridged_to_a_registered_agent_and_leaves_cdr_and_queue_log";
    if !require_sipp(test) {
        return;
    }
    let daemon = Daemon::start();

    // The agent phone: REGISTER, then answer whatever INVITE comes (out-of-call scenario).
    let agent_dir = ScratchDir::new("agent");
    let agent_port = free_port(true).to_string();
    let screen = agent_dir.path().join("screen.txt");
    let out = File::create(&screen).expect("agent screen file");
    let err = out.try_clone().expect("clone");
    let mut agent = Command::new("sipp")
        .arg(daemon.sip.to_string())
        .arg("-sf")
        .arg(sipp_scenario("agent_register_stay.xml"))
        .arg("-oocsf")
        .arg(sipp_scenario("agent_answer.xml"))
        .args(["-t", "u1", "-i", "127.0.0.1", "-p", &agent_port])
        .args(["-s", "1001", "-au", "1001", "-ap", "secret", "-m", "1"])
        .args([
            "-nostdin",
            "-timeout",
            "40s",
            "-timeout_error",
            "-trace_err",
            "-trace_msg",
        ])
        .current_dir(agent_dir.path())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("spawning the agent's sipp");

    // Observed, not assumed: the registration shows in the daemon's metrics.
    let deadline = Instant::now() + SETTLE;
    loop {
        let metrics = http_get(daemon.http, "/metrics", Duration::from_secs(2))
            .map(|(_, body)| body)
            .unwrap_or_default();
        if metrics
            .lines()
            .any(|l| l.starts_with("switchboard_agents_registered ") && !l.ends_with(" 0"))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "agent 1001 never registered\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let caller = run_sipp(
        &daemon,
        "caller_queue.xml",
        SippTransport::Udp,
        &["-s", "201"],
    );
    let agent_status = wait_with_deadline(&mut agent, Duration::from_secs(40));
    let agent_report = fs::read_dir(agent_dir.path())
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| {
                    let text = fs::read_to_string(e.path()).unwrap_or_default();
                    format!(
                        "--- {} ---\n{}\n",
                        e.file_name().to_string_lossy(),
                        tail(&text, 6000)
                    )
                })
                .collect::<String>()
        })
        .unwrap_or_default();
    assert!(
        caller.succeeded(),
        "caller `{}` failed: {:?}\n{}\n--- agent ---\n{agent_report}\n--- daemon ---\n{}",
        caller.command,
        caller.status,
        caller.report,
        daemon.log()
    );
    // The agent's SIPp ran the whole out-of-call scenario: INVITE with X-Switchboard-Call-Id,
    // 180, 200 + SDP, ACK, then the daemon's BYE when the caller hung up.
    assert!(
        agent_report.contains("X-Switchboard-Call-Id:") && agent_report.contains("BYE sip:"),
        "the agent was not invited and released\n{agent_report}\n--- daemon ---\n{}",
        daemon.log()
    );
    assert!(
        agent_status.is_some(),
        "the agent's sipp did not end\n{agent_report}"
    );

    // The records, in the files operators read.
    let data = daemon.dir().join("data");
    let deadline = Instant::now() + SETTLE;
    let (cdr, queue_log) = loop {
        let cdr = fs::read_to_string(data.join("cdr/Master.csv")).unwrap_or_default();
        let queue_log = fs::read_to_string(data.join("queue_log")).unwrap_or_default();
        if cdr.lines().count() >= 1 && queue_log.contains("COMPLETE") {
            break (cdr, queue_log);
        }
        assert!(
            Instant::now() < deadline,
            "no CDR / queue_log after the call\nMaster.csv:\n{cdr}\nqueue_log:\n{queue_log}\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let row = cdr.lines().next().unwrap_or_default();
    assert!(row.contains("\"5551234\""), "src is the caller: {row}");
    assert!(row.contains("\"201\""), "dst is the DNIS: {row}");
    assert!(row.contains("\"ANSWERED\""), "answered: {row}");
    assert!(
        row.contains("\"1001\""),
        "the agent is in the extra columns: {row}"
    );
    // The queue records: the CDR names the stereo WAV the media engine wrote (SIPp sends no
    // RTP here, so it holds silence; tests/README.md: the media engine's own tests check audio).
    let recording = row
        .split(',')
        .map(|f| f.trim_matches('"'))
        .find(|f| f.ends_with(".wav"))
        .unwrap_or_else(|| panic!("no recording path in the CDR: {row}"));
    let deadline = Instant::now() + SETTLE;
    while !std::path::Path::new(recording).is_file() {
        assert!(
            Instant::now() < deadline,
            "recording {recording} missing
{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let events: Vec<&str> = queue_log
        .lines()
        .filter_map(|l| l.split('|').nth(4))
        .collect();
    assert_eq!(
        events,
        ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"],
        "queue_log:\n{queue_log}"
    );
    assert!(
        queue_log.lines().all(|l| l.contains("|support|")),
        "queue_log:\n{queue_log}"
    );
}

/// An agent phone process: registers `agent` and runs `ooc` for every INVITE.
fn spawn_agent(daemon: &Daemon, dir: &Path, agent: &str, register: &str, ooc: &str) -> Child {
    spawn_agent_in(daemon, dir, agent, register, ooc, &[])
}

#[test]
fn twenty_calls_over_three_agents_are_all_answered_with_one_cdr_each() {
    let test = "twenty_calls_over_three_agents_are_all_answered_with_one_cdr_each";
    if !require_sipp(test) {
        return;
    }
    const CALLS: usize = 20;
    let config_dir = ScratchDir::new("config");
    let config = fast_config(config_dir.path());
    let daemon = Daemon::start_with(&config, IpAddr::V4(Ipv4Addr::LOCALHOST));
    let agents_dir = ScratchDir::new("agents");
    let mut agents: Vec<Child> = ["1001", "1002", "1003"]
        .iter()
        .map(|a| {
            spawn_agent(
                &daemon,
                agents_dir.path(),
                a,
                "agent_register_long.xml",
                "agent_answer_hangup.xml",
            )
        })
        .collect();
    wait_registered(&daemon, 3);
    let calls = CALLS.to_string();
    let caller = run_sipp(
        &daemon,
        "caller_until_bye.xml",
        SippTransport::Udp,
        &[
            "-s", "202", "-m", &calls, "-r", "4", "-l", "20", "-timeout", "55s",
        ],
    );
    for agent in &mut agents {
        let _ = agent.kill();
        let _ = agent.wait();
    }
    assert!(
        caller.succeeded(),
        "caller `{}` failed: {:?}\n{}\n--- daemon ---\n{}",
        caller.command,
        caller.status,
        caller.report,
        daemon.log()
    );
    let data = daemon.dir().join("data");
    let deadline = Instant::now() + SETTLE;
    let (cdr, queue_log) = loop {
        let cdr = fs::read_to_string(data.join("cdr/Master.csv")).unwrap_or_default();
        let queue_log = fs::read_to_string(data.join("queue_log")).unwrap_or_default();
        if cdr.lines().count() >= CALLS {
            break (cdr, queue_log);
        }
        assert!(
            Instant::now() < deadline,
            "{} CDRs after {CALLS} calls\n{cdr}\n{}",
            cdr.lines().count(),
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(cdr.lines().count(), CALLS, "{cdr}");
    for row in cdr.lines() {
        // Seen once under heavy load: a row not ANSWERED; the whole file and the daemon's log
        // say why next time.
        assert!(
            row.contains("\"ANSWERED\""),
            "{row}\n--- Master.csv ---\n{cdr}\n--- queue_log ---\n{queue_log}\n--- daemon ---\n{}",
            daemon.log()
        );
        assert!(
            ["\"1001\"", "\"1002\"", "\"1003\""]
                .iter()
                .any(|a| row.contains(a)),
            "answered by one of the three agents: {row}"
        );
    }
    let count = |event: &str| {
        queue_log
            .lines()
            .filter(|l| l.split('|').nth(4) == Some(event))
            .count()
    };
    assert_eq!(count("ENTERQUEUE"), CALLS, "{queue_log}");
    assert_eq!(count("CONNECT"), CALLS, "{queue_log}");
    assert_eq!(count("COMPLETEAGENT"), CALLS, "{queue_log}");
    assert_eq!(count("ABANDON"), 0, "{queue_log}");
}

#[test]
fn caller_hanging_up_while_queued_is_an_abandon_in_queue_log_and_cdr() {
    if !require_sipp("caller_hanging_up_while_queued_is_an_abandon_in_queue_log_and_cdr") {
        return;
    }
    // No agent registered: the caller waits 3 s in `support`, then hangs up.
    let daemon = Daemon::start();
    let caller = run_sipp(
        &daemon,
        "caller_queue.xml",
        SippTransport::Udp,
        &["-s", "201"],
    );
    assert!(caller.succeeded(), "{}\n{}", caller.report, daemon.log());
    let (cdr, queue_log) = records(&daemon, 1);
    let events: Vec<String> = queue_events(&queue_log)
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    assert_eq!(events, ["ENTERQUEUE", "ABANDON"], "{queue_log}");
    let row = cdr.lines().next().unwrap_or_default();
    assert!(row.contains("\"NO ANSWER\""), "{row}");
    assert!(row.contains("\"abandon\""), "end reason: {row}");
}

#[test]
fn ring_no_answer_cancels_the_first_agent_and_the_next_one_answers() {
    if !require_sipp("ring_no_answer_cancels_the_first_agent_and_the_next_one_answers") {
        return;
    }
    let config_dir = ScratchDir::new("config");
    let config = fast_config(config_dir.path());
    let daemon = Daemon::start_with(&config, IpAddr::V4(Ipv4Addr::LOCALHOST));
    let agents_dir = ScratchDir::new("agents");
    // 1001 registers first, so it is the longest idle and rung first; it never answers.
    let mut silent = spawn_agent(
        &daemon,
        agents_dir.path(),
        "1001",
        "agent_register_long.xml",
        "agent_ring_no_answer.xml",
    );
    wait_registered(&daemon, 1);
    let mut answering = spawn_agent(
        &daemon,
        agents_dir.path(),
        "1002",
        "agent_register_long.xml",
        "agent_answer_hangup.xml",
    );
    wait_registered(&daemon, 2);
    let caller = run_sipp(
        &daemon,
        "caller_until_bye.xml",
        SippTransport::Udp,
        &["-s", "202", "-timeout", "30s"],
    );
    for agent in [&mut silent, &mut answering] {
        let _ = agent.kill();
        let _ = agent.wait();
    }
    assert!(caller.succeeded(), "{}\n{}", caller.report, daemon.log());
    let (cdr, queue_log) = records(&daemon, 1);
    let events = queue_events(&queue_log);
    let expected: Vec<(String, String)> = [
        ("NONE", "ENTERQUEUE"),
        ("1001", "RINGNOANSWER"),
        ("1002", "CONNECT"),
        ("1002", "COMPLETEAGENT"),
    ]
    .iter()
    .map(|(a, e)| (a.to_string(), e.to_string()))
    .collect();
    assert_eq!(events, expected, "{queue_log}");
    let row = cdr.lines().next().unwrap_or_default();
    assert!(
        row.contains("\"ANSWERED\"") && row.contains("\"1002\""),
        "{row}"
    );
}

#[test]
fn kill_9_with_a_caller_queued_then_restart_closes_the_call_with_reason_restart() {
    if !require_sipp("kill_9_with_a_caller_queued_then_restart_closes_the_call_with_reason_restart")
    {
        return;
    }
    let mut daemon = Daemon::start();
    let data = daemon.dir().join("data");
    // A caller who waits for a BYE that never comes (no agent is registered).
    let caller_dir = ScratchDir::new("caller");
    let port = free_port(true).to_string();
    let mut caller = Command::new("sipp")
        .arg(daemon.sip.to_string())
        .arg("-sf")
        .arg(sipp_scenario("caller_until_bye.xml"))
        .args([
            "-t",
            "u1",
            "-i",
            "127.0.0.1",
            "-p",
            &port,
            "-s",
            "201",
            "-m",
            "1",
        ])
        .args(["-nostdin", "-timeout", "30s"])
        .current_dir(caller_dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning the caller's sipp");
    let deadline = Instant::now() + SETTLE;
    while !fs::read_to_string(data.join("queue_log"))
        .unwrap_or_default()
        .contains("|ENTERQUEUE|")
    {
        assert!(
            Instant::now() < deadline,
            "the call never queued\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        daemon.signal("KILL", Duration::from_secs(5)).is_some(),
        "kill -9 did not stop the daemon"
    );
    let _ = caller.kill();
    let _ = caller.wait();
    assert_eq!(
        fs::read_to_string(data.join("cdr/Master.csv")).unwrap_or_default(),
        "",
        "no CDR before the restart: the call was in flight"
    );

    // The next start closes what the killed process left in progress.
    let sip = format!("127.0.0.1:{}", free_port(true));
    let http = format!("127.0.0.1:{}", free_port(false));
    let grpc = format!("127.0.0.1:{}", free_port(false));
    let log = File::create(daemon.dir().join("restart.log")).expect("restart log");
    let mut restarted = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--config")
        .arg(demo_config())
        .args([
            "--sip-listen",
            &sip,
            "--http-listen",
            &http,
            "--grpc-listen",
            &grpc,
        ])
        .arg("--data-dir")
        .arg(&data)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("clone"))
        .stderr(log)
        .spawn()
        .expect("restarting the daemon");
    let deadline = Instant::now() + SETTLE;
    let cdr = loop {
        let cdr = fs::read_to_string(data.join("cdr/Master.csv")).unwrap_or_default();
        if !cdr.is_empty() {
            break cdr;
        }
        if Instant::now() >= deadline {
            let _ = restarted.kill();
            panic!(
                "no CDR after the restart\n{}",
                fs::read_to_string(daemon.dir().join("restart.log")).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = restarted.kill();
    let _ = restarted.wait();
    assert_eq!(cdr.lines().count(), 1, "{cdr}");
    assert!(cdr.contains("\"restart\""), "end reason restart: {cdr}");
    let queue_log = fs::read_to_string(data.join("queue_log")).unwrap_or_default();
    let events: Vec<String> = queue_events(&queue_log)
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    assert_eq!(events, ["ENTERQUEUE", "ABANDON"], "{queue_log}");
}

#[test]
fn invites_over_the_call_limit_get_503_with_retry_after_while_calls_in_progress_stay() {
    let dir = ScratchDir::new("flood-config");
    for sub in ["ivr", "prompts"] {
        std::os::unix::fs::symlink(repo_root().join("config").join(sub), dir.path().join(sub))
            .expect("linking the demo's flows and prompts");
    }
    let text = fs::read_to_string(demo_config())
        .expect("demo config")
        .replace("max_pending_invites = 1000", "max_pending_invites = 3");
    assert!(
        text.contains("max_pending_invites = 3"),
        "demo config changed shape"
    );
    let config = dir.path().join("switchboard.toml");
    fs::write(&config, text).expect("writing the test config");
    let daemon = Daemon::start_with(&config, IpAddr::V4(Ipv4Addr::LOCALHOST));
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
               m=audio 7000 RTP/AVP 0\r\n";
    let finals: Vec<Option<u16>> = (0..5)
        .map(|i| {
            let invite = format!(
                "INVITE sip:201@{{target}} SIP/2.0\r\nVia: SIP/2.0/UDP {{local}};branch=z9hG4bK-flood{i};rport\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:555{i}@127.0.0.1>;tag=f{i}\r\nTo: <sip:201@{{target}}>\r\n\
                 Call-ID: flood-{i}@e2e\r\nCSeq: 1 INVITE\r\nContact: <sip:555{i}@{{local}}>\r\n\
                 Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
                sdp.len()
            );
            common::wire::udp_request(
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                daemon.sip,
                &invite,
                Duration::from_secs(5),
            )
            .expect("sending an INVITE")
            .into_iter()
            .find(|c| *c >= 200)
        })
        .collect();
    assert_eq!(
        finals,
        [Some(200), Some(200), Some(200), Some(503), Some(503)],
        "{}",
        daemon.log()
    );
    // The three calls in progress are untouched: still queued, no CDR written.
    let data = daemon.dir().join("data");
    let deadline = Instant::now() + SETTLE;
    loop {
        let queue_log = fs::read_to_string(data.join("queue_log")).unwrap_or_default();
        if queue_log.matches("|ENTERQUEUE|").count() == 3 {
            break;
        }
        assert!(Instant::now() < deadline, "{queue_log}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        fs::read_to_string(data.join("cdr/Master.csv")).unwrap_or_default(),
        ""
    );
}
