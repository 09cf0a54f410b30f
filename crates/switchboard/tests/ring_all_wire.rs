//! Issue 6 §4 ring-all on the wire with SIPp phones: parallel INVITEs to every eligible Ready
//! agent; the first 200 wins, the others are CANCELled, or ACKed and BYEd when their 200
//! crossed the choice; nobody is left Reserved. Also a caller hanging up while an agent rings
//! (CANCEL to the phone, ABANDON, the agent Ready again). Skipped when `sipp` is missing
//! outside CI.

mod common;

use std::time::{Duration, Instant};

use common::flow::{
    AgentPhone, SETTLE, queue_lines, received_messages, records, start_daemon, wait_registered,
};
use common::sipp::{SippTransport, require_sipp, run_sipp};

/// A ring-all queue `ringall` on DNIS 209 with no wrap-up, added to the demo.
const RING_ALL: [(&str, &str); 2] = [
    (
        "[[queue]]\nname = \"sales\"",
        "[[queue]]\nname = \"ringall\"\nstrategy = \"ring-all\"\nwrap_up_seconds = 0\n\n[[queue]]\nname = \"sales\"",
    ),
    (
        "[[route]]\ndnis = \"202\"\nqueue = \"sales\"",
        "[[route]]\ndnis = \"202\"\nqueue = \"sales\"\n\n[[route]]\ndnis = \"209\"\nqueue = \"ringall\"",
    ),
];

/// Calls a phone ended with 487 after a CANCEL that came before its answer.
fn cancelled(phone: &AgentPhone) -> usize {
    phone.messages().matches("SIP/2.0 487").count()
}

#[test]
fn ring_all_with_two_phones_answering_at_once_connects_one_and_frees_the_other() {
    if !require_sipp("ring_all_with_two_phones_answering_at_once_connects_one_and_frees_the_other")
    {
        return;
    }
    let (daemon, _config) = start_daemon(&RING_ALL);
    let phones: Vec<AgentPhone> = ["1001", "1002"]
        .iter()
        .map(|a| {
            AgentPhone::spawn(
                &daemon,
                a,
                "agent_register_long.xml",
                "agent_answer_race.xml",
                &[],
            )
        })
        .collect();
    wait_registered(&daemon, 2);
    let reports = || phones.iter().map(AgentPhone::report).collect::<String>();
    // Two calls one after the other: the second reaching both phones shows neither was left
    // Reserved or OnCall by the race.
    for round in 1..=2 {
        let caller = run_sipp(
            &daemon,
            "caller_queue.xml",
            SippTransport::Udp,
            &["-s", "209"],
        );
        assert!(
            caller.succeeded(),
            "call {round}: {}\n{}\n{}",
            caller.report,
            reports(),
            daemon.log()
        );
        let (cdr, _) = records(&daemon, round);
        assert_eq!(cdr.lines().count(), round, "{cdr}");
        // Both phones rang and each one's call ended: the winner with the caller's BYE, the
        // loser with ACK + BYE for its late 2xx, or with 487 after a CANCEL.
        let deadline = Instant::now() + SETTLE;
        loop {
            let counts: Vec<(usize, usize)> = phones
                .iter()
                .map(|p| (p.received("INVITE"), p.received("BYE") + cancelled(p)))
                .collect();
            if counts.iter().all(|c| *c == (round, round)) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "call {round}: INVITE / ended counts {counts:?}\n{}\n{}",
                reports(),
                daemon.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let (cdr, queue_log) = records(&daemon, 2);
    for phone in &phones {
        let seen: Vec<String> = received_messages(&phone.messages())
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        eprintln!("phone {} received {seen:?}", phone.id);
    }
    eprintln!("queue_log:\n{queue_log}");
    for row in cdr.lines() {
        assert!(row.contains("\"ANSWERED\""), "{row}");
    }
    let lines = queue_lines(&queue_log);
    let connects = lines.iter().filter(|(_, _, e)| e == "CONNECT").count();
    assert_eq!(connects, 2, "one CONNECT per call:\n{queue_log}");
    // Every final response a phone sent was ACKed: its 2xx (winner or loser, §13.2.2.4) or its
    // 487.
    for phone in &phones {
        assert_eq!(phone.received("ACK"), 2, "{}", phone.report());
    }
}

#[test]
fn ring_all_cancels_the_phone_still_ringing_and_leaves_it_ready_for_the_next_call() {
    if !require_sipp(
        "ring_all_cancels_the_phone_still_ringing_and_leaves_it_ready_for_the_next_call",
    ) {
        return;
    }
    let (daemon, _config) = start_daemon(&RING_ALL);
    let answering = AgentPhone::spawn(
        &daemon,
        "1001",
        "agent_register_long.xml",
        "agent_answer.xml",
        &[],
    );
    let ringing = AgentPhone::spawn(
        &daemon,
        "1002",
        "agent_register_long.xml",
        "agent_ring_no_answer.xml",
        &[],
    );
    wait_registered(&daemon, 2);
    for round in 1..=2 {
        let caller = run_sipp(
            &daemon,
            "caller_queue.xml",
            SippTransport::Udp,
            &["-s", "209"],
        );
        assert!(
            caller.succeeded(),
            "call {round}: {}\n{}\n{}\n{}",
            caller.report,
            answering.report(),
            ringing.report(),
            daemon.log()
        );
        records(&daemon, round);
        // The ringing phone got the INVITE, then the CANCEL once 1001 answered (its scenario
        // answers 200 / 487 and takes the ACK).
        let deadline = Instant::now() + SETTLE;
        while !(ringing.received("INVITE") == round
            && ringing.received("CANCEL") == round
            && ringing.received("ACK") == round)
        {
            assert!(
                Instant::now() < deadline,
                "call {round}: {:?}\n{}\n{}",
                received_messages(&ringing.messages()),
                ringing.report(),
                daemon.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let (_, queue_log) = records(&daemon, 2);
    let lines = queue_lines(&queue_log);
    let events: Vec<(&str, &str)> = lines
        .iter()
        .map(|(_, a, e)| (a.as_str(), e.as_str()))
        .collect();
    // Being CANCELled because a colleague answered is no ring-no-answer.
    assert_eq!(
        events,
        [
            ("NONE", "ENTERQUEUE"),
            ("1001", "CONNECT"),
            ("1001", "COMPLETECALLER"),
            ("NONE", "ENTERQUEUE"),
            ("1001", "CONNECT"),
            ("1001", "COMPLETECALLER"),
        ],
        "{queue_log}"
    );
}

#[test]
fn caller_hanging_up_while_the_agent_rings_cancels_the_offer_and_the_agent_stays_ready() {
    if !require_sipp(
        "caller_hanging_up_while_the_agent_rings_cancels_the_offer_and_the_agent_stays_ready",
    ) {
        return;
    }
    // Support rings 15 s; the caller hangs up after 3 s.
    let (daemon, _config) = start_daemon(&[]);
    let phone = AgentPhone::spawn(
        &daemon,
        "1001",
        "agent_register_long.xml",
        "agent_ring_no_answer.xml",
        &[],
    );
    wait_registered(&daemon, 1);
    for round in 1..=2 {
        let caller = run_sipp(
            &daemon,
            "caller_queue.xml",
            SippTransport::Udp,
            &["-s", "201"],
        );
        assert!(
            caller.succeeded(),
            "call {round}: {}\n{}\n{}",
            caller.report,
            phone.report(),
            daemon.log()
        );
        records(&daemon, round);
        let deadline = Instant::now() + SETTLE;
        while !(phone.received("INVITE") == round
            && phone.received("CANCEL") == round
            && phone.received("ACK") == round)
        {
            assert!(
                Instant::now() < deadline,
                "call {round}: {:?}\n{}",
                received_messages(&phone.messages()),
                daemon.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let (cdr, queue_log) = records(&daemon, 2);
    for row in cdr.lines() {
        assert!(
            row.contains("\"NO ANSWER\"") && row.contains("\"abandon\""),
            "{row}"
        );
    }
    let events: Vec<String> = queue_lines(&queue_log)
        .into_iter()
        .map(|(_, _, e)| e)
        .collect();
    assert_eq!(
        events,
        ["ENTERQUEUE", "ABANDON", "ENTERQUEUE", "ABANDON"],
        "{queue_log}"
    );
}
