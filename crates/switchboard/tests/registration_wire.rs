//! Issue 6 registration on the wire with SIPp phones: a phone whose registration lapses gets
//! no offer (also when it lapses during a call), a caller never waits while a Ready eligible
//! agent exists (a phone registering while a caller waits is offered the call at once), and a
//! phone re-registering from a new address is rung there; a caller waiting through an agent's
//! wrap-up is offered the call the moment it ends. Skipped when `sipp` is missing
//! outside CI.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::events::all_events;
use common::flow::{
    AgentPhone, SETTLE, cdr_fields, queue_lines, received_messages, records, start_daemon,
    wait_registered,
};
use common::sipp::{SippTransport, require_sipp, run_sipp, spawn_sipp};
use switchboard_api::pb;
use switchboard_api::pb::event::Payload;

/// CDR column of the agent (after userfield: queue, agent).
const CDR_AGENT: usize = 19;
/// Registrations may be as short as 1 s.
const SHORT_REGISTRATIONS: [(&str, &str); 1] =
    [("min_expires_seconds = 60", "min_expires_seconds = 1")];

#[test]
fn a_lapsed_registration_gets_no_offer_and_a_phone_registering_while_a_caller_waits_is_offered_at_once()
 {
    if !require_sipp(
        "a_lapsed_registration_gets_no_offer_and_a_phone_registering_while_a_caller_waits_is_offered_at_once",
    ) {
        return;
    }
    let (daemon, _config) = start_daemon(&SHORT_REGISTRATIONS);
    // 1001 registers for 2 s and never refreshes.
    let lapsed = AgentPhone::spawn(
        &daemon,
        "1001",
        "agent_register_short.xml",
        "agent_answer.xml",
        &["-set", "expires", "2"],
    );
    wait_registered(&daemon, 1);
    wait_registered(&daemon, 0);
    // A caller for sales waits: no one can take it.
    let caller = spawn_sipp(
        &daemon,
        "caller_until_bye.xml",
        SippTransport::Udp,
        &["-s", "202", "-timeout", "30s"],
    );
    let data: PathBuf = daemon.dir().join("data");
    let deadline = Instant::now() + SETTLE;
    while !fs::read_to_string(data.join("queue_log"))
        .unwrap_or_default()
        .contains("|ENTERQUEUE|")
    {
        assert!(Instant::now() < deadline, "never queued\n{}", daemon.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    // 1002 registers now: the waiting caller is offered to it at once.
    let fresh = AgentPhone::spawn(
        &daemon,
        "1002",
        "agent_register_long.xml",
        "agent_answer_hangup.xml",
        &[],
    );
    let run = caller.finish();
    assert!(
        run.succeeded(),
        "{}\n{}\n{}",
        run.report,
        fresh.report(),
        daemon.log()
    );
    assert_eq!(
        lapsed.received("INVITE"),
        0,
        "the lapsed phone was offered a call\n{}",
        lapsed.report()
    );
    // From the 200 for its REGISTER to the INVITE, by the phone's own clock.
    let seen = received_messages(&fresh.messages());
    let registered = seen
        .iter()
        .filter(|(_, l)| l.starts_with("SIP/2.0 200"))
        .map(|(t, _)| *t)
        .next();
    let invited = seen
        .iter()
        .find(|(_, l)| l.starts_with("INVITE sip:"))
        .map(|(t, _)| *t);
    let (Some(registered), Some(invited)) = (registered, invited) else {
        panic!("no REGISTER 200 / INVITE in {seen:?}");
    };
    let gap = invited - registered;
    eprintln!(
        "REGISTER 200 -> INVITE at the phone: {:.1} ms",
        gap * 1000.0
    );
    assert!(
        (0.0..0.5).contains(&gap),
        "the waiting caller was offered {gap:.3} s after the registration"
    );
    let (cdr, queue_log) = records(&daemon, 1);
    let fields = cdr_fields(cdr.lines().next().unwrap_or_default());
    assert_eq!(
        fields.get(CDR_AGENT).map(String::as_str),
        Some("1002"),
        "{cdr}"
    );
    let agents: BTreeSet<String> = queue_lines(&queue_log)
        .into_iter()
        .map(|(_, a, _)| a)
        .collect();
    assert!(!agents.contains("1001"), "{queue_log}");
}

#[test]
fn a_registration_lapsing_during_a_call_lets_the_call_finish_and_gets_no_next_offer() {
    if !require_sipp(
        "a_registration_lapsing_during_a_call_lets_the_call_finish_and_gets_no_next_offer",
    ) {
        return;
    }
    let (daemon, _config) = start_daemon(&SHORT_REGISTRATIONS);
    // 1001 registers for 2 s; the call reaches it at once and lasts 3 s.
    let phone = AgentPhone::spawn(
        &daemon,
        "1001",
        "agent_register_short.xml",
        "agent_answer.xml",
        &["-set", "expires", "2"],
    );
    wait_registered(&daemon, 1);
    let first = run_sipp(
        &daemon,
        "caller_queue.xml",
        SippTransport::Udp,
        &["-s", "202"],
    );
    assert!(
        first.succeeded(),
        "{}\n{}\n{}",
        first.report,
        phone.report(),
        daemon.log()
    );
    wait_registered(&daemon, 0);
    let (cdr, _) = records(&daemon, 1);
    assert!(
        cdr.contains("\"ANSWERED\"") && cdr.contains("\"1001\""),
        "{cdr}"
    );
    // Its wrap-up (sales: 1 s) is over long before this call: still no offer.
    let second = run_sipp(
        &daemon,
        "caller_queue.xml",
        SippTransport::Udp,
        &["-s", "202"],
    );
    assert!(second.succeeded(), "{}\n{}", second.report, daemon.log());
    assert_eq!(phone.received("INVITE"), 1, "{}", phone.report());
    let (_, queue_log) = records(&daemon, 2);
    let events: Vec<(String, String)> = queue_lines(&queue_log)
        .into_iter()
        .map(|(_, a, e)| (a, e))
        .collect();
    let expected: Vec<(String, String)> = [
        ("NONE", "ENTERQUEUE"),
        ("1001", "CONNECT"),
        ("1001", "COMPLETECALLER"),
        ("NONE", "ENTERQUEUE"),
        ("NONE", "ABANDON"),
    ]
    .iter()
    .map(|(a, e)| (a.to_string(), e.to_string()))
    .collect();
    assert_eq!(events, expected, "{queue_log}");
}

#[test]
fn a_phone_re_registering_from_a_new_address_is_rung_there_only() {
    if !require_sipp("a_phone_re_registering_from_a_new_address_is_rung_there_only") {
        return;
    }
    let (daemon, _config) = start_daemon(&[]);
    let old = AgentPhone::spawn(
        &daemon,
        "1001",
        "agent_register_long.xml",
        "agent_answer.xml",
        &[],
    );
    wait_registered(&daemon, 1);
    // The same agent from another port (a restarted phone): one contact per agent, so it
    // replaces the old binding.
    let new = AgentPhone::spawn(
        &daemon,
        "1001",
        "agent_register_long.xml",
        "agent_answer.xml",
        &[],
    );
    let deadline = Instant::now() + SETTLE;
    while !received_messages(&new.messages())
        .iter()
        .any(|(_, l)| l.starts_with("SIP/2.0 200"))
    {
        assert!(
            Instant::now() < deadline,
            "{}\n{}",
            new.report(),
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let caller = run_sipp(
        &daemon,
        "caller_queue.xml",
        SippTransport::Udp,
        &["-s", "202"],
    );
    assert!(
        caller.succeeded(),
        "{}\n{}\n{}\n{}",
        caller.report,
        old.report(),
        new.report(),
        daemon.log()
    );
    assert_eq!(new.received("INVITE"), 1, "{}", new.report());
    assert_eq!(old.received("INVITE"), 0, "{}", old.report());
    let (cdr, _) = records(&daemon, 1);
    let fields = cdr_fields(cdr.lines().next().unwrap_or_default());
    assert_eq!(
        fields.get(CDR_AGENT).map(String::as_str),
        Some("1001"),
        "{cdr}"
    );
}

#[test]
fn a_caller_waiting_through_the_agents_wrap_up_is_offered_the_moment_it_ends() {
    if !require_sipp("a_caller_waiting_through_the_agents_wrap_up_is_offered_the_moment_it_ends") {
        return;
    }
    // Sales: wrap-up 1 s. 1001 answers and hangs up after a second.
    let (daemon, _config) = start_daemon(&[]);
    let phone = AgentPhone::spawn(
        &daemon,
        "1001",
        "agent_register_long.xml",
        "agent_answer_hangup.xml",
        &[],
    );
    wait_registered(&daemon, 1);
    let first = spawn_sipp(
        &daemon,
        "caller_until_bye.xml",
        SippTransport::Udp,
        &["-s", "202"],
    );
    let deadline = Instant::now() + SETTLE;
    while phone.received("INVITE") == 0 {
        assert!(Instant::now() < deadline, "{}", daemon.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    // The second caller queues while 1001 talks, and waits through its wrap-up.
    let second = spawn_sipp(
        &daemon,
        "caller_until_bye.xml",
        SippTransport::Udp,
        &["-s", "202"],
    );
    for run in [first.finish(), second.finish()] {
        assert!(
            run.succeeded(),
            "{}\n{}\n{}",
            run.report,
            phone.report(),
            daemon.log()
        );
    }
    records(&daemon, 2);
    // From the journal: the moment 1001 became Ready again, and the second call's offer.
    let events = all_events(daemon.grpc);
    let at = |e: &pb::Event| {
        e.time
            .as_ref()
            .map_or(0.0, |t| t.seconds as f64 + f64::from(t.nanos) / 1e9)
    };
    // 1001's change from WrapUp to Ready (the event names the state before).
    let ready = events
        .iter()
        .filter(|e| match &e.payload {
            Some(Payload::AgentStateChanged(change)) => {
                change.agent == "1001"
                    && change.previous == pb::AgentState::WrapUp as i32
                    && change.current == pb::AgentState::Ready as i32
            }
            _ => false,
        })
        .map(at)
        .next();
    let offers: Vec<f64> = events
        .iter()
        .filter(|e| matches!(e.payload, Some(Payload::AgentAlerting(_))))
        .map(at)
        .collect();
    let (Some(ready), Some(offer)) = (ready, offers.get(1).copied()) else {
        panic!("no WrapUp -> Ready change or no second offer in {events:#?}");
    };
    let gap = offer - ready;
    eprintln!(
        "wrap-up over -> next offer: {:.1} ms (journal times)",
        gap * 1000.0
    );
    assert!(
        (0.0..0.1).contains(&gap),
        "the waiting caller was offered {gap:.3} s after the agent became Ready"
    );
}
