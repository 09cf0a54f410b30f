//! Issue 6 §2 on the wire: DNIS 200 runs IVR `main` ("press 1 for sales, 2 for support"; no
//! digit in 5 s → support). The caller is a SIPp trunk call whose media is the test's RTP
//! socket: it hears the prompts there and presses keys as RFC 4733 telephone-events, or as SIP
//! INFO application/dtmf-relay from the scenario. The choice must route the call to the right
//! queue (queue_log, CDR) and be the call data `menu` in the `AgentAlerting` screen-pop event.
//! Skipped when `sipp` is missing outside CI.

mod common;

use std::time::{Duration, Instant};

use common::Daemon;
use common::events::all_events;
use common::flow::{AgentPhone, MediaCaller, cdr_fields, queue_lines, records, wait_registered};
use common::rtp::power;
use common::sipp::require_sipp;
use switchboard_api::pb::event::Payload;

/// Mean power per sample above which audio is heard (the prompts are normalised to -3 dBFS).
const AUDIBLE: f64 = 10_000.0;
/// CDR columns: start (9) and the queue (18, first after userfield).
const CDR_QUEUE: usize = 18;

/// What the test checks once the call is over: the queue it reached and the `menu` value.
fn assert_routed(daemon: &Daemon, queue: &str, menu: &str) {
    let (cdr, queue_log) = records(daemon, 1);
    let row = cdr.lines().next().unwrap_or_default();
    let fields = cdr_fields(row);
    assert_eq!(fields.get(2).map(String::as_str), Some("200"), "dst: {row}");
    assert_eq!(
        fields.get(CDR_QUEUE).map(String::as_str),
        Some(queue),
        "queue: {row}\n{queue_log}"
    );
    assert!(
        row.contains("\"ANSWERED\"") && row.contains("\"1001\""),
        "{row}"
    );
    let lines = queue_lines(&queue_log);
    let events: Vec<(&str, &str)> = lines
        .iter()
        .map(|(q, _, e)| (q.as_str(), e.as_str()))
        .collect();
    assert_eq!(
        events,
        [
            (queue, "ENTERQUEUE"),
            (queue, "CONNECT"),
            (queue, "COMPLETECALLER")
        ],
        "{queue_log}"
    );
    // The screen-pop carries the IVR's answer as call data.
    let events = all_events(daemon.grpc);
    let menus: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.payload {
            Some(Payload::AgentAlerting(alerting)) => Some(
                alerting
                    .call_data
                    .as_ref()
                    .and_then(|d| d.values.get("menu").cloned())
                    .unwrap_or_default(),
            ),
            _ => None,
        })
        .collect();
    assert_eq!(menus, [menu], "menu in the AgentAlerting events");
}

/// Agent 1001 (support and sales) answers and stays until the caller hangs up.
fn agent(daemon: &Daemon) -> AgentPhone {
    let phone = AgentPhone::spawn(
        daemon,
        "1001",
        "agent_register_long.xml",
        "agent_answer.xml",
        &[],
    );
    wait_registered(daemon, 1);
    phone
}

#[test]
fn ivr_key_1_sent_as_rfc4733_routes_the_caller_to_sales() {
    if !require_sipp("ivr_key_1_sent_as_rfc4733_routes_the_caller_to_sales") {
        return;
    }
    let daemon = Daemon::start();
    let agent = agent(&daemon);
    let caller = MediaCaller::dial(&daemon, "caller_media_hangup.xml", "200", &["-d", "5000"]);
    caller.connect_media(&daemon);
    let answered = Instant::now();
    // During the greeting (barge-in): the caller knows the menu.
    std::thread::sleep(Duration::from_millis(800));
    let greeting = caller.rtp.audio_between(answered, Instant::now());
    assert!(
        power(&greeting) > AUDIBLE,
        "no greeting heard ({} samples)",
        greeting.len()
    );
    caller.rtp.press('1');
    let run = caller.sipp.finish();
    assert!(
        run.succeeded(),
        "{}\n{}\n{}",
        run.report,
        agent.report(),
        daemon.log()
    );
    assert_routed(&daemon, "sales", "sales");
}

#[test]
fn ivr_key_2_sent_as_sip_info_routes_the_caller_to_support() {
    if !require_sipp("ivr_key_2_sent_as_sip_info_routes_the_caller_to_support") {
        return;
    }
    let daemon = Daemon::start();
    let agent = agent(&daemon);
    let caller = MediaCaller::dial(
        &daemon,
        "caller_info_hangup.xml",
        "200",
        &["-d", "4000", "-set", "digit", "2"],
    );
    caller.connect_media(&daemon);
    let run = caller.sipp.finish();
    assert!(
        run.succeeded(),
        "{}\n{}\n{}",
        run.report,
        agent.report(),
        daemon.log()
    );
    assert_routed(&daemon, "support", "support");
}

#[test]
fn ivr_without_a_key_for_5_seconds_routes_the_caller_to_support() {
    if !require_sipp("ivr_without_a_key_for_5_seconds_routes_the_caller_to_support") {
        return;
    }
    let daemon = Daemon::start();
    let agent = agent(&daemon);
    let caller = MediaCaller::dial(&daemon, "caller_media_hangup.xml", "200", &["-d", "12000"]);
    caller.connect_media(&daemon);
    let answered = Instant::now();
    // Silence from the caller. The agent's INVITE is the moment the menu gave up.
    let deadline = answered + Duration::from_secs(15);
    while agent.received("INVITE") == 0 {
        assert!(Instant::now() < deadline, "never routed\n{}", daemon.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    let routed_after = answered.elapsed();
    // Greeting and question (about 3.5 s of prompts), then the 5 s first-digit timeout.
    assert!(
        routed_after >= Duration::from_secs(5),
        "routed after {routed_after:?}, before the 5 s timeout"
    );
    let prompts = caller
        .rtp
        .audio_between(answered, answered + Duration::from_secs(3));
    assert!(power(&prompts) > AUDIBLE, "no menu prompts heard");
    let run = caller.sipp.finish();
    assert!(
        run.succeeded(),
        "{}\n{}\n{}",
        run.report,
        agent.report(),
        daemon.log()
    );
    assert_routed(&daemon, "support", "support");
}

#[test]
fn ivr_invalid_key_is_asked_again_and_the_next_key_routes() {
    if !require_sipp("ivr_invalid_key_is_asked_again_and_the_next_key_routes") {
        return;
    }
    let daemon = Daemon::start();
    let agent = agent(&daemon);
    let caller = MediaCaller::dial(&daemon, "caller_media_hangup.xml", "200", &["-d", "9000"]);
    caller.connect_media(&daemon);
    // 7 is no choice: "invalid", the question again, then 1.
    std::thread::sleep(Duration::from_millis(800));
    caller.rtp.press('7');
    std::thread::sleep(Duration::from_millis(3000));
    assert_eq!(agent.received("INVITE"), 0, "routed on an invalid key");
    caller.rtp.press('1');
    let run = caller.sipp.finish();
    assert!(
        run.succeeded(),
        "{}\n{}\n{}",
        run.report,
        agent.report(),
        daemon.log()
    );
    assert_routed(&daemon, "sales", "sales");
}

#[test]
fn exit_key_9_while_queued_turns_the_call_into_a_callback_with_exitwithkey() {
    if !require_sipp("exit_key_9_while_queued_turns_the_call_into_a_callback_with_exitwithkey") {
        return;
    }
    // No agent: the caller waits in support, hears music, presses 9.
    let daemon = Daemon::start();
    let caller = MediaCaller::dial(&daemon, "caller_media_until_bye.xml", "201", &[]);
    caller.connect_media(&daemon);
    let answered = Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    let music = caller.rtp.audio_between(answered, Instant::now());
    assert!(power(&music) > AUDIBLE, "no music on hold while queued");
    caller.rtp.press('9');
    // The daemon hangs up on the caller (the scenario waits for its BYE).
    let run = caller.sipp.finish();
    assert!(run.succeeded(), "{}\n{}", run.report, daemon.log());
    // The call lives on as a callback that keeps its place (no CDR until it is carried out):
    // wait for its queue_log line instead.
    let deadline = Instant::now() + Duration::from_secs(10);
    let queue_log = loop {
        let text = std::fs::read_to_string(daemon.dir().join("data/queue_log")).unwrap_or_default();
        if text.contains("|EXITWITHKEY|") || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let events: Vec<String> = queue_lines(&queue_log)
        .into_iter()
        .map(|(_, _, e)| e)
        .collect();
    assert_eq!(events, ["ENTERQUEUE", "EXITWITHKEY"], "{queue_log}");
    let exit = queue_log.lines().last().unwrap_or_default();
    assert!(exit.contains("|EXITWITHKEY|9|"), "{exit}");
    let cdr = std::fs::read_to_string(daemon.dir().join("data/cdr/Master.csv")).unwrap_or_default();
    assert_eq!(
        cdr.lines().count(),
        0,
        "no CDR while the callback is pending: {cdr}"
    );
    assert!(
        daemon.log().contains("callback requested"),
        "{}",
        daemon.log()
    );
}
