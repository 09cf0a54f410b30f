//! Issue 6 agent-phone features on the wire with SIPp phones: blind transfer from the agent's
//! phone (REFER, RFC 3515) to an agent and to a queue, a REFER that cannot be carried out, and
//! a busy phone (486). Skipped when `sipp` is missing outside CI.

mod common;

use std::fs;
use std::time::{Duration, Instant};

use common::events::all_events;
use common::flow::{
    AgentPhone, MediaAgent, MediaCaller, SETTLE, cdr_fields, queue_lines, received_messages,
    records, start_daemon, wait_registered,
};
use common::rtp::{decode, goertzel};
use common::sipp::{SippTransport, require_sipp, run_sipp};
use switchboard_api::pb::event::Payload;
use switchboard_media::wav::read_stereo_pcm16;

/// CDR columns: uniqueid (the call id), then after userfield: queue, agent, wait, survey,
/// recording.
const CDR_CALL_ID: usize = 16;
const CDR_AGENT: usize = 19;
const CDR_RECORDING: usize = 22;
/// The caller's tone to the first agent and, after the transfer, to the second.
const TO_FIRST: f64 = 700.0;
const TO_SECOND: f64 = 1100.0;

/// The left channel (the caller) of the WAV at `path`, once it is complete.
fn recording_left(path: &str) -> Vec<i16> {
    assert!(path.ends_with(".wav"), "no recording path: {path:?}");
    let deadline = Instant::now() + SETTLE;
    loop {
        if let Some((left, _)) = fs::read(path).ok().and_then(|b| read_stereo_pcm16(&b)) {
            return left;
        }
        assert!(Instant::now() < deadline, "no readable WAV at {path}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Agent 1001 takes a sales call (202) and REFERs it to `target`; 1002 answers it there and
/// hangs up.
fn blind_transfer(target: &str, second_queue: &str) {
    let (daemon, _config) = start_daemon(&[]);
    // 1001 registers first: the longest idle, so sales offers it the call first.
    let first = AgentPhone::spawn(
        &daemon,
        "1001",
        "agent_register_long.xml",
        "agent_refer.xml",
        &["-set", "refer_to", target],
    );
    wait_registered(&daemon, 1);
    let second = AgentPhone::spawn(
        &daemon,
        "1002",
        "agent_register_long.xml",
        "agent_answer_hangup.xml",
        &[],
    );
    wait_registered(&daemon, 2);
    // The caller says one tone to the first agent and another after the transfer, so the
    // recording shows whether it kept both parts of the call.
    let caller = MediaCaller::dial(&daemon, "caller_media_until_bye.xml", "202", &[]);
    caller.connect_media(&daemon);
    caller.rtp.set_tone(Some(TO_FIRST));
    let deadline = Instant::now() + SETTLE;
    while !first.messages().contains("NOTIFY sip:") {
        assert!(
            Instant::now() < deadline,
            "no transfer\n{}\n{}",
            first.report(),
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    caller.rtp.set_tone(Some(TO_SECOND));
    let caller = caller.sipp.finish();
    assert!(
        caller.succeeded(),
        "{}\n{}\n{}\n{}",
        caller.report,
        first.report(),
        second.report(),
        daemon.log()
    );
    // 1001's scenario checked the 202, the NOTIFY (Event: refer, message/sipfrag
    // "SIP/2.0 200") and took the BYE of its leg.
    let first_in: Vec<String> = received_messages(&first.messages())
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    assert!(
        first_in.iter().any(|l| l.starts_with("SIP/2.0 202"))
            && first_in.iter().any(|l| l.starts_with("NOTIFY sip:"))
            && first_in.iter().any(|l| l.starts_with("BYE sip:")),
        "1001 got {first_in:?}\n{}",
        first.report()
    );
    assert_eq!(second.received("INVITE"), 1, "{}", second.report());

    // One call throughout: one CDR, answered by the second agent, one call id everywhere.
    let (cdr, queue_log) = records(&daemon, 1);
    assert_eq!(cdr.lines().count(), 1, "{cdr}");
    let fields = cdr_fields(cdr.lines().next().unwrap_or_default());
    let call_id = fields.get(CDR_CALL_ID).cloned().unwrap_or_default();
    assert_eq!(
        fields.get(CDR_AGENT).map(String::as_str),
        Some("1002"),
        "{cdr}"
    );
    assert!(
        queue_log
            .lines()
            .all(|l| l.split('|').nth(1) == Some(&call_id)),
        "every queue_log line is call {call_id}:\n{queue_log}"
    );
    let lines = queue_lines(&queue_log);
    let lines: Vec<(&str, &str, &str)> = lines
        .iter()
        .map(|(q, a, e)| (q.as_str(), a.as_str(), e.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            ("sales", "NONE", "ENTERQUEUE"),
            ("sales", "1001", "CONNECT"),
            ("sales", "1001", "TRANSFER"),
            (second_queue, "NONE", "ENTERQUEUE"),
            (second_queue, "1002", "CONNECT"),
            (second_queue, "1002", "COMPLETEAGENT"),
        ],
        "{queue_log}"
    );
    let transfer = queue_log
        .lines()
        .find(|l| l.contains("|TRANSFER|"))
        .unwrap_or_default();
    assert!(
        transfer.contains(&format!("|{target}|")),
        "TRANSFER names the extension: {transfer}"
    );
    // Both screen-pops are for the same call.
    let alerted: Vec<(String, String)> = all_events(daemon.grpc)
        .into_iter()
        .filter(|e| matches!(e.payload, Some(Payload::AgentAlerting(_))))
        .map(|e| (e.call_id, e.agent))
        .collect();
    assert_eq!(
        alerted,
        [
            (call_id.clone(), "1001".to_string()),
            (call_id, "1002".to_string())
        ]
    );
    // Sales records: the call's one recording holds both conversations, the caller on the
    // left saying the first tone to 1001 and the second to 1002.
    let path = fields.get(CDR_RECORDING).cloned().unwrap_or_default();
    let left = recording_left(&path);
    let windows = |freq: f64, other: f64| {
        left.chunks(800)
            .filter(|w| goertzel(w, freq) > 10.0 * goertzel(w, other).max(1.0))
            .count()
    };
    let (first_part, second_part) = (windows(TO_FIRST, TO_SECOND), windows(TO_SECOND, TO_FIRST));
    eprintln!(
        "recording {path}: {} s, {first_part} windows of the first tone, {second_part} of the second",
        left.len() / 8000
    );
    assert!(
        first_part >= 5 && second_part >= 5,
        "the recording lost a part of the call: {first_part} windows to 1001, {second_part} to 1002"
    );
    // The second phone's INVITE carried the same call id.
    assert!(
        second.messages().contains(&format!(
            "X-Switchboard-Call-Id: {}",
            fields.get(CDR_CALL_ID).cloned().unwrap_or_default()
        )),
        "{}",
        second.report()
    );
}

#[test]
fn blind_transfer_from_the_phone_to_another_agent_keeps_the_call_id() {
    if !require_sipp("blind_transfer_from_the_phone_to_another_agent_keeps_the_call_id") {
        return;
    }
    blind_transfer("1002", "agent:1002");
}

#[test]
fn blind_transfer_from_the_phone_to_a_queue_dnis_keeps_the_call_id() {
    if !require_sipp("blind_transfer_from_the_phone_to_a_queue_dnis_keeps_the_call_id") {
        return;
    }
    // 202 is sales again: 1001 is in wrap-up, so 1002 takes it.
    blind_transfer("202", "sales");
}

#[test]
fn refer_to_a_number_without_an_outbound_trunk_is_refused_404_and_the_call_stays() {
    if !require_sipp(
        "refer_to_a_number_without_an_outbound_trunk_is_refused_404_and_the_call_stays",
    ) {
        return;
    }
    // Without a trunk that dials out, an outside number has nowhere to go (with one, the
    // REFER is carried out through it: see outbound.rs).
    let (daemon, _config) = start_daemon(&[
        ("outbound = \"127.0.0.1:5070\"", ""),
        ("caller_id = \"2000\"", ""),
        ("outbound_default = true", ""),
    ]);
    let agent = AgentPhone::spawn(
        &daemon,
        "1001",
        "agent_register_long.xml",
        "agent_refer_refused.xml",
        &["-set", "refer_to", "999"],
    );
    wait_registered(&daemon, 1);
    let caller = run_sipp(
        &daemon,
        "caller_until_bye.xml",
        SippTransport::Udp,
        &["-s", "202", "-timeout", "30s"],
    );
    assert!(
        caller.succeeded(),
        "{}\n{}\n{}",
        caller.report,
        agent.report(),
        daemon.log()
    );
    // The agent's scenario got its 404, stayed in the call and hung up itself.
    let seen: Vec<String> = received_messages(&agent.messages())
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    assert!(
        seen.iter().any(|l| l.starts_with("SIP/2.0 404"))
            && !seen.iter().any(|l| l.starts_with("NOTIFY")),
        "{seen:?}"
    );
    let (cdr, queue_log) = records(&daemon, 1);
    let events: Vec<String> = queue_lines(&queue_log)
        .into_iter()
        .map(|(_, _, e)| e)
        .collect();
    assert_eq!(
        events,
        ["ENTERQUEUE", "CONNECT", "COMPLETEAGENT"],
        "{queue_log}"
    );
    let fields = cdr_fields(cdr.lines().next().unwrap_or_default());
    assert_eq!(
        fields.get(CDR_AGENT).map(String::as_str),
        Some("1001"),
        "{cdr}"
    );
}

#[test]
fn a_busy_phone_486_passes_the_call_to_the_next_agent() {
    if !require_sipp("a_busy_phone_486_passes_the_call_to_the_next_agent") {
        return;
    }
    let (daemon, _config) = start_daemon(&[]);
    // 1001 is the longest idle and is offered first; its phone answers 486 Busy Here.
    let busy = AgentPhone::spawn(
        &daemon,
        "1001",
        "agent_register_long.xml",
        "agent_busy.xml",
        &[],
    );
    wait_registered(&daemon, 1);
    let answering = AgentPhone::spawn(
        &daemon,
        "1002",
        "agent_register_long.xml",
        "agent_answer_hangup.xml",
        &[],
    );
    wait_registered(&daemon, 2);
    let caller = run_sipp(
        &daemon,
        "caller_until_bye.xml",
        SippTransport::Udp,
        &["-s", "202", "-timeout", "30s"],
    );
    assert!(
        caller.succeeded(),
        "{}\n{}\n{}\n{}",
        caller.report,
        busy.report(),
        answering.report(),
        daemon.log()
    );
    // The busy phone was asked once and its 486 ACKed (SIPp's scenario waits for the ACK).
    assert_eq!(busy.received("INVITE"), 1, "{}", busy.report());
    assert_eq!(busy.received("ACK"), 1, "{}", busy.report());
    let (cdr, queue_log) = records(&daemon, 1);
    let fields = cdr_fields(cdr.lines().next().unwrap_or_default());
    assert_eq!(
        fields.get(CDR_AGENT).map(String::as_str),
        Some("1002"),
        "{cdr}"
    );
    let lines = queue_lines(&queue_log);
    let lines: Vec<(&str, &str)> = lines
        .iter()
        .map(|(_, a, e)| (a.as_str(), e.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            ("NONE", "ENTERQUEUE"),
            ("1001", "RINGNOANSWER"),
            ("1002", "CONNECT"),
            ("1002", "COMPLETEAGENT"),
        ],
        "{queue_log}"
    );
}

/// What the caller heard in one 100 ms window of the held-then-transferred call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Heard {
    First,
    Second,
    Music,
    Quiet,
}

#[test]
fn a_held_caller_blind_transferred_from_the_phone_reaches_the_next_agent() {
    if !require_sipp("a_held_caller_blind_transferred_from_the_phone_reaches_the_next_agent") {
        return;
    }
    const FIRST_AGENT: f64 = 1900.0;
    const SECOND_AGENT: f64 = 1300.0;
    let (daemon, _config) = start_daemon(&[]);
    // 1001 (the longest idle) holds the caller 1.5 s into the call, then REFERs it to 1002.
    let first = MediaAgent::spawn_with(
        &daemon,
        "1001",
        "agent_hold_refer.xml",
        0,
        &["-set", "refer_to", "1002"],
    );
    wait_registered(&daemon, 1);
    let second = MediaAgent::spawn(&daemon, "1002", "agent_answer_media.xml", 2000);
    wait_registered(&daemon, 2);
    let caller = MediaCaller::dial(&daemon, "caller_media_until_bye.xml", "202", &[]);
    caller.connect_media(&daemon);
    caller.rtp.set_tone(Some(TO_FIRST));
    first.connect_media(&daemon);
    first.rtp.set_tone(Some(FIRST_AGENT));
    let answered = Instant::now();
    second.connect_media(&daemon);
    second.rtp.set_tone(Some(SECOND_AGENT));
    let run = caller.sipp.finish();
    assert!(
        run.succeeded(),
        "{}\n{}\n{}\n{}",
        run.report,
        first.phone.report(),
        second.phone.report(),
        daemon.log()
    );
    let last = caller
        .rtp
        .heard_since(answered)
        .last()
        .map_or(answered, |h| h.at);
    let mut windows = Vec::new();
    let mut at = answered;
    while at < last {
        let audio = caller
            .rtp
            .audio_between(at, at + Duration::from_millis(100));
        let total =
            audio.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / audio.len().max(1) as f64;
        windows.push(if total < 10_000.0 {
            Heard::Quiet
        } else if goertzel(&audio, FIRST_AGENT) > total * 0.3 {
            Heard::First
        } else if goertzel(&audio, SECOND_AGENT) > total * 0.3 {
            Heard::Second
        } else {
            Heard::Music
        });
        at += Duration::from_millis(100);
    }
    eprintln!("the caller heard, per 100 ms: {windows:?}");
    let first_of = |h: Heard| windows.iter().position(|w| *w == h);
    let (Some(talk), Some(music), Some(next)) = (
        first_of(Heard::First),
        first_of(Heard::Music),
        first_of(Heard::Second),
    ) else {
        panic!("the caller did not hear agent, music, next agent: {windows:?}");
    };
    assert!(talk < music && music < next, "{windows:?}");
    let after = windows.get(next..).unwrap_or_default();
    assert!(
        after.iter().filter(|w| **w == Heard::Second).count() >= 10
            && after.iter().filter(|w| **w == Heard::Music).count() <= 1,
        "bridged to the second agent without music: {windows:?}"
    );
    assert!(
        !after.contains(&Heard::First),
        "the first agent is gone: {windows:?}"
    );
    // And the second agent hears the caller, though the first one had put it on hold.
    let to_second = decode(&second.rtp.heard_since(answered));
    assert!(
        goertzel(&to_second, TO_FIRST) > 100.0 * goertzel(&to_second, SECOND_AGENT).max(1.0),
        "the second agent did not hear the caller ({} samples)",
        to_second.len()
    );
    let (cdr, queue_log) = records(&daemon, 1);
    assert!(queue_log.contains("|TRANSFER|"), "{queue_log}");
    let fields = cdr_fields(cdr.lines().next().unwrap_or_default());
    assert_eq!(
        fields.get(CDR_AGENT).map(String::as_str),
        Some("1002"),
        "{cdr}"
    );
}
