//! Issue 8, faults: SIP peers that misbehave. Each test scripts one bad peer against the real
//! daemon on loopback (crates/switchboard/tests/common/phone.rs), then checks what operators
//! care about: the call is closed with a CDR, and the agent is not left stuck: the next call
//! reaches the same phone. Timers are shortened in the test configuration (2 s of media
//! inactivity, T1 = 50 ms) so each test stays within a few seconds.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use common::phone::{AgentPhone, Caller, Msg};
use common::tagged_rtp::{RtpCounter, RtpSender, rss_kib};
use common::{Daemon, ScratchDir, config_with, wait_no_calls};

/// The `sales` queue (DNIS 202) with a 1 s wrap-up and a 3 s ring timeout.
const SALES: (&str, &str) = (
    "name = \"sales\"\nrequirement = \"sales >= 1\"\nwrap_up_seconds = 5",
    "name = \"sales\"\nrequirement = \"sales >= 1\"\nwrap_up_seconds = 1\nring_timeout_seconds = 3",
);
/// No OPTIONS keep-alives: the scripted phones answer them, but the tests read cleaner without.
const NO_KEEPALIVE: (&str, &str) = (
    "keepalive_interval_seconds = 30",
    "keepalive_interval_seconds = 0",
);
/// Media inactivity after 2 s instead of 30 s.
const FAST_INACTIVITY: (&str, &str) = (
    "inactivity_timeout_seconds = 30",
    "inactivity_timeout_seconds = 2",
);
const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const WAIT: Duration = Duration::from_secs(10);

fn start(extra: &[(&str, &str)]) -> (Daemon, ScratchDir) {
    let dir = ScratchDir::new("faults-config");
    let mut replacements = vec![SALES, NO_KEEPALIVE];
    replacements.extend_from_slice(extra);
    let config = config_with(dir.path(), &replacements);
    (Daemon::start_with(&config, LOCALHOST), dir)
}

/// Waits until `counter` has seen `n` packets.
fn wait_rtp(counter: &RtpCounter, n: u64, what: &str) {
    let deadline = Instant::now() + WAIT;
    while counter.received() < n {
        assert!(
            Instant::now() < deadline,
            "{what}: {} of {n} RTP packets",
            counter.received()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A caller to 202, answered by `agent` (ACKed both ways), with the caller's RTP flowing.
fn bridged_call(daemon: &Daemon, agent: &mut AgentPhone, tag: &str) -> (Caller, RtpSender) {
    let caller = Caller::dial(daemon.sip, "202").unwrap_or_else(|c| panic!("refused {c}"));
    caller.ack();
    let sender = RtpSender::start(&caller.rtp, caller.media, 7);
    let offered = agent.expect_invite(WAIT);
    agent.answer(&offered, tag);
    agent.sip.expect_request("ACK", WAIT);
    (caller, sender)
}

/// The next call rings `agent`, is answered and hung up by the caller cleanly.
fn next_call_reaches(daemon: &Daemon, agent: &mut AgentPhone, tag: &str) {
    let (mut caller, sender) = bridged_call(daemon, agent, tag);
    let counter = RtpCounter::start(&agent.rtp, 7);
    wait_rtp(&counter, 10, "the next call's audio");
    drop(sender);
    assert_eq!(caller.hang_up(), 200);
    let bye = agent.sip.expect_request("BYE", WAIT);
    agent.sip.reply(&bye, 200, "OK", None, None);
}

fn cdr_field_rows(cdr: &str, needle: &str) -> usize {
    cdr.lines().filter(|l| l.contains(needle)).count()
}

#[test]
fn agent_that_vanishes_mid_call_is_released_by_media_inactivity_and_rung_for_the_next_call() {
    let (daemon, _dir) = start(&[FAST_INACTIVITY]);
    let mut agent = AgentPhone::register(daemon.sip, "1006", "secret");
    let (mut caller, sender) = bridged_call(&daemon, &mut agent, "vanish");
    let counter = RtpCounter::start(&agent.rtp, 7);
    wait_rtp(&counter, 10, "the bridged caller's audio at the agent");
    drop(counter);

    // From here the agent phone is gone: no RTP, no BYE, no answer to anything.
    let vanished = Instant::now();
    let bye = caller.expect_bye(WAIT);
    let after = vanished.elapsed();
    let sent = sender.stop();
    assert!(
        after >= Duration::from_millis(1500) && after < Duration::from_secs(8),
        "the caller was released {after:?} after the agent went silent (inactivity 2 s); {bye:?}"
    );
    assert!(sent > 0);
    let (cdr, queue_log) = daemon.records(1, WAIT);
    assert_eq!(cdr_field_rows(&cdr, "\"media-timeout\""), 1, "{cdr}");
    assert!(
        cdr.contains("\"ANSWERED\"") && cdr.contains("\"1006\""),
        "{cdr}"
    );
    assert!(queue_log.contains("|CONNECT|"), "{queue_log}");

    // Not stuck on the dead call: after the 1 s wrap-up the next call rings the same phone.
    next_call_reaches(&daemon, &mut agent, "back");
    let (cdr, _) = daemon.records(2, WAIT);
    assert_eq!(cdr.lines().count(), 2, "{cdr}");
    wait_no_calls(&daemon, WAIT);
}

#[test]
fn our_200_never_acked_is_retransmitted_then_bye_after_64_t1_and_the_call_is_closed() {
    let (daemon, _dir) = start(&[("t1_ms = 500", "t1_ms = 50")]);
    // Dial and never ACK (the ACK is lost): no agent is registered, the call waits queued.
    let mut caller = Caller::dial(daemon.sip, "202").unwrap_or_else(|c| panic!("refused {c}"));
    let answered = Instant::now();
    let bye = caller.expect_bye(WAIT);
    let after = answered.elapsed();
    let retransmitted = caller
        .sip
        .seen
        .iter()
        .filter(|m| m.code() == Some(200) && m.cseq_method() == Some("INVITE"))
        .count();
    // RFC 3261 §13.3.1.4: the 2xx is resent at T1, 2T1, … capped at T2, and the dialog is
    // ended with BYE when no ACK arrives within 64*T1 (3.2 s here).
    assert!(
        retransmitted >= 5,
        "{retransmitted} 200s before the BYE\n{}",
        caller.sip.transcript()
    );
    assert!(
        after >= Duration::from_millis(2900) && after < Duration::from_secs(8),
        "BYE {after:?} after the 200 (64*T1 = 3.2 s): {bye:?}"
    );
    let (cdr, queue_log) = daemon.records(1, WAIT);
    assert_eq!(cdr_field_rows(&cdr, "\"no-ack\""), 1, "{cdr}");
    assert!(queue_log.contains("|ENTERQUEUE|"), "{queue_log}");

    // The daemon is fine: the next call (ACKed) is bridged to an agent as usual.
    let mut agent = AgentPhone::register(daemon.sip, "1006", "secret");
    next_call_reaches(&daemon, &mut agent, "after");
    daemon.records(2, WAIT);
    wait_no_calls(&daemon, WAIT);
}

#[test]
fn agent_answering_twice_with_two_to_tags_keeps_the_first_dialog_and_byes_the_second() {
    let (daemon, _dir) = start(&[]);
    let mut agent = AgentPhone::register(daemon.sip, "1006", "secret");
    let mut caller = Caller::dial(daemon.sip, "202").unwrap_or_else(|c| panic!("refused {c}"));
    caller.ack();
    let sender = RtpSender::start(&caller.rtp, caller.media, 7);
    let offered = agent.expect_invite(WAIT);
    // A forking proxy or a buggy phone: two 2xx with different to-tags, then the first one
    // retransmitted.
    agent.answer(&offered, "first");
    agent.answer(&offered, "second");
    agent.answer(&offered, "first");

    let mut acks: Vec<String> = Vec::new();
    let mut byes: Vec<Msg> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(2);
    while let Some(msg) = agent.sip.recv(deadline) {
        match msg.method() {
            Some("ACK") => acks.push(msg.tag("to").unwrap_or_default()),
            Some("BYE") => {
                agent.sip.reply(&msg, 200, "OK", None, None);
                byes.push(msg);
            }
            _ => {}
        }
    }
    // RFC 3261 §13.2.2.4: every 2xx is ACKed, retransmissions included; the dialog we do not
    // keep is ended with BYE.
    assert!(
        acks.iter().filter(|t| *t == "first").count() >= 2,
        "ACKs: {acks:?}"
    );
    assert!(acks.iter().any(|t| t == "second"), "ACKs: {acks:?}");
    let bye_tags: Vec<String> = byes
        .iter()
        .map(|b| b.tag("to").unwrap_or_default())
        .collect();
    assert_eq!(
        bye_tags,
        ["second"],
        "the extra dialog, and only it, is BYE'd\n{}",
        agent.sip.transcript()
    );

    // The kept dialog carries the call.
    let counter = RtpCounter::start(&agent.rtp, 7);
    wait_rtp(&counter, 10, "audio on the kept dialog");
    drop(sender);
    assert_eq!(caller.hang_up(), 200);
    let bye = agent.sip.expect_request("BYE", WAIT);
    assert_eq!(bye.tag("to").as_deref(), Some("first"), "{bye:?}");
    agent.sip.reply(&bye, 200, "OK", None, None);
    let (cdr, _) = daemon.records(1, WAIT);
    assert_eq!(cdr.lines().count(), 1, "{cdr}");
    assert!(cdr.contains("\"ANSWERED\""), "{cdr}");

    next_call_reaches(&daemon, &mut agent, "again");
    wait_no_calls(&daemon, WAIT);
}

#[test]
fn re_invite_storm_from_the_caller_is_answered_bounded_and_the_call_survives() {
    const STORM: u32 = 200;
    let (daemon, _dir) = start(&[]);
    let mut agent = AgentPhone::register(daemon.sip, "1006", "secret");
    let (mut caller, sender) = bridged_call(&daemon, &mut agent, "storm");
    let counter = RtpCounter::start(&agent.rtp, 7);
    wait_rtp(&counter, 5, "audio before the storm");
    let rss_before = rss_kib(daemon.pid());

    // STORM re-INVITEs back to back, none waiting for the previous one's answer.
    let cseqs: Vec<u32> = (0..STORM).map(|_| caller.send_reinvite()).collect();
    let mut finals = std::collections::BTreeMap::new();
    let deadline = Instant::now() + WAIT;
    let mut timer_a = Instant::now() + Duration::from_millis(500);
    while finals.len() < cseqs.len() && Instant::now() < deadline {
        // Like any UAC over UDP, resend what is still unanswered every T1 (Timer A, not
        // doubled here): a burst may overflow a socket buffer on the way.
        if Instant::now() >= timer_a {
            for cseq in cseqs.iter().filter(|c| !finals.contains_key(*c)) {
                caller.resend_reinvite(*cseq);
            }
            timer_a = Instant::now() + Duration::from_millis(500);
        }
        let Some(msg) = caller.sip.recv(timer_a.min(deadline)) else {
            continue;
        };
        let Some(code) = msg.code().filter(|c| *c >= 200) else {
            continue;
        };
        if msg.cseq_method() != Some("INVITE") {
            continue;
        }
        let cseq: u32 = msg
            .header("cseq")
            .and_then(|c| c.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        if code == 200 && !finals.contains_key(&cseq) {
            caller.ack_cseq(cseq);
        }
        finals.entry(cseq).or_insert(code);
    }
    let mut by_code = std::collections::BTreeMap::new();
    for code in finals.values() {
        *by_code.entry(*code).or_insert(0u32) += 1;
    }
    eprintln!("re-INVITE storm of {STORM}: finals by code {by_code:?}");
    // Every re-INVITE gets a final answer: 200, or 491/500 + Retry-After for one that overlaps
    // a pending one (RFC 3261 §14.2).
    assert_eq!(
        finals.len(),
        STORM as usize,
        "unanswered re-INVITEs; finals {by_code:?}\n{}",
        daemon.log()
    );
    assert!(
        finals.keys().all(|k| (2..=STORM + 1).contains(k))
            && finals.values().all(|c| [200, 491, 500].contains(c)),
        "{by_code:?}"
    );
    let rss_after = rss_kib(daemon.pid());
    eprintln!("RSS {rss_before} KiB before the storm, {rss_after} KiB after");
    assert!(
        rss_after < rss_before + 32 * 1024,
        "RSS grew from {rss_before} to {rss_after} KiB"
    );

    // The call is still up and bridged.
    let before = counter.received();
    let deadline = Instant::now() + WAIT;
    while counter.received() < before + 10 {
        assert!(Instant::now() < deadline, "no audio after the storm");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(sender);
    assert_eq!(caller.hang_up(), 200);
    let bye = agent.sip.expect_request("BYE", WAIT);
    agent.sip.reply(&bye, 200, "OK", None, None);
    let (cdr, _) = daemon.records(1, WAIT);
    assert_eq!(cdr.lines().count(), 1, "{cdr}");
    next_call_reaches(&daemon, &mut agent, "after-storm");
    wait_no_calls(&daemon, WAIT);
}
