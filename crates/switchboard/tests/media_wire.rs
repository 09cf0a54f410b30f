//! Issue 6 media features on the wire: real SIPp phones for the signalling, the test's own RTP
//! sockets for the audio (the SDP of each SIPp scenario names them), Goertzel for what was
//! heard. Recording channels, hold from the phone with music on hold, and the post-call survey.
//! Skipped when `sipp` is missing outside CI.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use common::flow::{
    AgentPhone, MediaAgent, MediaCaller, SETTLE, cdr_fields, fast_config, queue_events, records,
    wait_registered,
};
use common::rtp::{TELEPHONE_EVENT_PT, goertzel, power};
use common::sipp::{logs_of, require_sipp};
use common::{Daemon, ScratchDir};
use switchboard_media::g711::Codec;
use switchboard_media::wav::read_stereo_pcm16;

/// The caller's tone and the agent's: apart from each other and above the music on hold
/// (config/prompts/generate.sh: sines from F3 to C5, 175-523 Hz).
const CALLER_TONE: f64 = 700.0;
const AGENT_TONE: f64 = 1900.0;
/// Mean power per sample above which a window holds audio (a -3 dBFS prompt is ~10^8, the
/// music at vol 0.25 ~10^6, G.711 silence 0-100).
const AUDIBLE: f64 = 10_000.0;

/// The CDR column of the recording path (after userfield: queue, agent, wait, survey score).
const CDR_RECORDING: usize = 22;
const CDR_SURVEY: usize = 21;

fn daemon_with_fast_config() -> (Daemon, ScratchDir) {
    let dir = ScratchDir::new("config");
    let config = fast_config(dir.path());
    (
        Daemon::start_with(&config, IpAddr::V4(Ipv4Addr::LOCALHOST)),
        dir,
    )
}

#[test]
fn recording_holds_the_caller_on_the_left_channel_and_the_agent_on_the_right() {
    if !require_sipp("recording_holds_the_caller_on_the_left_channel_and_the_agent_on_the_right") {
        return;
    }
    let (daemon, _config) = daemon_with_fast_config();
    // Sales records; agent 1001 answers with its media on our socket and hangs up after 3 s.
    let agent = MediaAgent::spawn(&daemon, "1001", "agent_answer_media.xml", 3000);
    wait_registered(&daemon, 1);
    let caller = MediaCaller::dial(&daemon, "caller_media_until_bye.xml", "202", &[]);
    caller.connect_media(&daemon);
    caller.rtp.set_tone(Some(CALLER_TONE));
    agent.connect_media(&daemon);
    agent.rtp.set_tone(Some(AGENT_TONE));
    let bridged = Instant::now();
    // A key the caller presses while bridged goes through to the agent's phone (RFC 4733).
    std::thread::sleep(Duration::from_millis(1200));
    caller.rtp.press('5');
    let run = caller.sipp.finish();
    assert!(
        run.succeeded(),
        "{}\n{}\n{}",
        run.report,
        agent.phone.report(),
        daemon.log()
    );
    // Each side heard the other through the bridge.
    let settle = bridged + Duration::from_millis(500);
    let to_caller = caller
        .rtp
        .audio_between(settle, settle + Duration::from_secs(2));
    let to_agent = agent
        .rtp
        .audio_between(settle, settle + Duration::from_secs(2));
    assert!(
        goertzel(&to_caller, AGENT_TONE) > 100.0 * goertzel(&to_caller, CALLER_TONE).max(1.0),
        "the caller did not hear the agent's tone ({} samples)",
        to_caller.len()
    );
    assert!(
        goertzel(&to_agent, CALLER_TONE) > 100.0 * goertzel(&to_agent, AGENT_TONE).max(1.0),
        "the agent did not hear the caller's tone ({} samples)",
        to_agent.len()
    );

    let events: Vec<Vec<u8>> = agent
        .rtp
        .heard_since(bridged)
        .into_iter()
        .filter(|h| h.pt == TELEPHONE_EVENT_PT)
        .map(|h| h.payload)
        .collect();
    assert!(
        events.iter().any(|p| p.first() == Some(&5))
            && events
                .iter()
                .any(|p| p.get(1).is_some_and(|b| b & 0x80 != 0)),
        "the caller's key 5 did not reach the agent as telephone-events: {events:?}"
    );

    let (cdr, _) = records(&daemon, 1);
    let row = cdr.lines().next().unwrap_or_default();
    let fields = cdr_fields(row);
    let path = fields.get(CDR_RECORDING).cloned().unwrap_or_default();
    assert!(path.ends_with(".wav"), "no recording in the CDR: {row}");
    let deadline = Instant::now() + SETTLE;
    let (left, right) = loop {
        if let Some(channels) = fs::read(&path).ok().and_then(|b| read_stereo_pcm16(&b))
            && channels.0.len() > 8000
        {
            break channels;
        }
        assert!(Instant::now() < deadline, "no readable WAV at {path}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        goertzel(&left, CALLER_TONE) > 100.0 * goertzel(&left, AGENT_TONE).max(1.0),
        "left channel is not the caller: {} vs {}",
        goertzel(&left, CALLER_TONE),
        goertzel(&left, AGENT_TONE)
    );
    assert!(
        goertzel(&right, AGENT_TONE) > 100.0 * goertzel(&right, CALLER_TONE).max(1.0),
        "right channel is not the agent: {} vs {}",
        goertzel(&right, AGENT_TONE),
        goertzel(&right, CALLER_TONE)
    );
    // About the 3 s of talk (not the wait in the queue), at 8 kHz.
    let seconds = left.len() as f64 / 8000.0;
    assert!((2.0..6.0).contains(&seconds), "{seconds} s recorded");
}

/// What one side heard in one 100 ms window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Heard {
    /// The other party's tone.
    Party,
    /// Other audio: the music on hold.
    Music,
    /// Silence or no packets.
    Quiet,
}

/// What `peer` heard from `from` on, per 100 ms: the other party's `tone`, music, or quiet.
fn timeline(peer: &common::rtp::RtpPeer, from: Instant, tone: f64) -> Vec<Heard> {
    let heard = peer.heard_since(from);
    let Some(last) = heard.last().map(|h| h.at) else {
        return Vec::new();
    };
    let mut windows = Vec::new();
    let mut at = from;
    while at < last {
        let audio = peer.audio_between(at, at + Duration::from_millis(100));
        let label = if power(&audio) < AUDIBLE {
            Heard::Quiet
        } else if goertzel(&audio, tone) > power(&audio) * 0.3 {
            Heard::Party
        } else {
            Heard::Music
        };
        windows.push(label);
        at += Duration::from_millis(100);
    }
    windows
}

/// The held side's timeline: the other party, then about 3 s of music with none of the other
/// party's audio leaking in, then the other party again.
fn assert_held_then_resumed(who: &str, windows: &[Heard]) {
    eprintln!("{who} heard, per 100 ms: {windows:?}");
    let first_music = windows.iter().position(|h| *h == Heard::Music);
    let last_music = windows.iter().rposition(|h| *h == Heard::Music);
    let (Some(first_music), Some(last_music)) = (first_music, last_music) else {
        panic!("{who} never heard music on hold: {windows:?}");
    };
    let held = windows.get(first_music..=last_music).unwrap_or_default();
    let music = held.iter().filter(|h| **h == Heard::Music).count();
    let leaked = held.iter().filter(|h| **h == Heard::Party).count();
    assert!(
        music >= 20,
        "{who}: about 3 s of music expected while held, {music} windows: {windows:?}"
    );
    assert!(
        leaked <= 1,
        "{who}: the holding side's audio reached the held side: {windows:?}"
    );
    let party = |w: &[Heard]| w.iter().filter(|h| **h == Heard::Party).count();
    assert!(
        windows.get(..first_music).is_some_and(|w| party(w) >= 5),
        "{who}: bridged before the hold: {windows:?}"
    );
    assert!(
        windows.get(last_music..).is_some_and(|w| party(w) >= 10),
        "{who}: bridged again after the resume: {windows:?}"
    );
}

#[test]
fn hold_from_the_agent_phone_plays_music_to_the_caller_and_resume_bridges_again() {
    if !require_sipp("hold_from_the_agent_phone_plays_music_to_the_caller_and_resume_bridges_again")
    {
        return;
    }
    let (daemon, _config) = daemon_with_fast_config();
    // agent_hold.xml: 1.5 s talk, re-INVITE sendonly, 3 s held, re-INVITE sendrecv, 2 s, BYE.
    let agent = MediaAgent::spawn(&daemon, "1001", "agent_hold.xml", 0);
    wait_registered(&daemon, 1);
    let caller = MediaCaller::dial(&daemon, "caller_media_until_bye.xml", "202", &[]);
    caller.connect_media(&daemon);
    caller.rtp.set_tone(Some(CALLER_TONE));
    agent.connect_media(&daemon);
    // The agent's phone keeps sending while it holds: the caller must hear music, not it.
    agent.rtp.set_tone(Some(AGENT_TONE));
    let answered = Instant::now();
    let run = caller.sipp.finish();
    assert!(
        run.succeeded(),
        "{}\n{}\n{}",
        run.report,
        agent.phone.report(),
        daemon.log()
    );
    // RFC 3264 §6.1: the answer to a=sendonly is a=recvonly, to a=sendrecv a=sendrecv.
    let messages = agent.phone.messages();
    assert_eq!(
        messages.matches("a=sendonly").count(),
        1,
        "one hold re-INVITE sent"
    );
    assert_eq!(
        messages.matches("a=recvonly").count(),
        1,
        "the daemon answered the hold recvonly\n{messages}"
    );
    assert_held_then_resumed("the caller", &timeline(&caller.rtp, answered, AGENT_TONE));
}

#[test]
fn hold_from_the_caller_phone_plays_music_to_the_agent_and_resume_bridges_again() {
    if !require_sipp("hold_from_the_caller_phone_plays_music_to_the_agent_and_resume_bridges_again")
    {
        return;
    }
    let (daemon, _config) = daemon_with_fast_config();
    let agent = MediaAgent::spawn(&daemon, "1001", "agent_answer_media_until_bye.xml", 0);
    wait_registered(&daemon, 1);
    // caller_hold.xml: 1.5 s talk, re-INVITE sendonly, 3 s held, re-INVITE sendrecv, 2 s, BYE.
    let caller = MediaCaller::dial(&daemon, "caller_hold.xml", "202", &[]);
    caller.connect_media(&daemon);
    caller.rtp.set_tone(Some(CALLER_TONE));
    agent.connect_media(&daemon);
    let answered = Instant::now();
    agent.rtp.set_tone(Some(AGENT_TONE));
    let run = caller.sipp.finish();
    assert!(
        run.succeeded(),
        "{}\n{}\n{}",
        run.report,
        agent.phone.report(),
        daemon.log()
    );
    assert_held_then_resumed("the agent", &timeline(&agent.rtp, answered, CALLER_TONE));
    let (cdr, _) = records(&daemon, 1);
    assert!(cdr.contains("\"ANSWERED\""), "{cdr}");
}

#[test]
fn survey_after_the_agent_hangs_up_plays_to_the_caller_and_its_digit_lands_in_the_cdr() {
    if !require_sipp(
        "survey_after_the_agent_hangs_up_plays_to_the_caller_and_its_digit_lands_in_the_cdr",
    ) {
        return;
    }
    // Support (201) has survey = true; 1001 answers and hangs up after a second.
    let daemon = Daemon::start();
    let agent = AgentPhone::spawn(
        &daemon,
        "1001",
        "agent_register_long.xml",
        "agent_answer_hangup.xml",
        &[],
    );
    wait_registered(&daemon, 1);
    let caller = MediaCaller::dial(&daemon, "caller_media_until_bye.xml", "201", &[]);
    caller.connect_media(&daemon);
    // The agent's BYE: its phone sent it and had it answered.
    let deadline = Instant::now() + SETTLE;
    while !agent.messages().contains("BYE sip:") {
        assert!(
            Instant::now() < deadline,
            "the agent never hung up\n{}\n{}",
            agent.report(),
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let hung_up = Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    let prompt = caller.rtp.audio_between(hung_up, Instant::now());
    assert!(
        power(&prompt) > AUDIBLE,
        "no survey prompt reached the caller after the agent hung up ({} samples, power {})\n{}",
        prompt.len(),
        power(&prompt),
        daemon.log()
    );
    eprintln!(
        "survey prompt: {} samples, power {:.0}",
        prompt.len(),
        power(&prompt)
    );
    caller.rtp.press('4');
    let run = caller.sipp.finish();
    assert!(run.succeeded(), "{}\n{}", run.report, daemon.log());
    let (cdr, queue_log) = records(&daemon, 1);
    let row = cdr.lines().next().unwrap_or_default();
    let fields = cdr_fields(row);
    assert_eq!(
        fields.get(CDR_SURVEY).map(String::as_str),
        Some("4"),
        "survey score column: {row}\n{}",
        logs_of(agent.dir())
    );
    assert!(
        row.contains("\"ANSWERED\"") && row.contains("\"1001\""),
        "{row}"
    );
    let events: Vec<String> = queue_events(&queue_log)
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    assert_eq!(
        events,
        ["ENTERQUEUE", "CONNECT", "COMPLETEAGENT"],
        "{queue_log}"
    );
}

#[test]
fn caller_hanging_up_during_the_survey_leaves_one_cdr_without_a_score() {
    if !require_sipp("caller_hanging_up_during_the_survey_leaves_one_cdr_without_a_score") {
        return;
    }
    let daemon = Daemon::start();
    let agent = AgentPhone::spawn(
        &daemon,
        "1001",
        "agent_register_long.xml",
        "agent_answer_hangup.xml",
        &[],
    );
    wait_registered(&daemon, 1);
    // The agent hangs up about 1 s after answering; the caller 2.5 s after the answer, while
    // "please rate this call" plays.
    let caller = MediaCaller::dial(&daemon, "caller_media_hangup.xml", "201", &["-d", "2500"]);
    caller.connect_media(&daemon);
    let run = caller.sipp.finish();
    assert!(
        run.succeeded(),
        "{}\n{}\n{}",
        run.report,
        agent.report(),
        daemon.log()
    );
    let (cdr, queue_log) = records(&daemon, 1);
    // Nothing more is written after the first CDR.
    std::thread::sleep(Duration::from_millis(500));
    let (cdr_after, queue_log_after) = records(&daemon, 1);
    assert_eq!((&cdr, &queue_log), (&cdr_after, &queue_log_after));
    assert_eq!(cdr.lines().count(), 1, "{cdr}");
    let row = cdr.lines().next().unwrap_or_default();
    let fields = cdr_fields(row);
    assert_eq!(
        fields.get(CDR_SURVEY).map(String::as_str),
        Some(""),
        "{row}"
    );
    assert!(
        row.contains("\"ANSWERED\"") && row.contains("\"1001\""),
        "{row}"
    );
    let events: Vec<String> = queue_events(&queue_log)
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    assert_eq!(
        events,
        ["ENTERQUEUE", "CONNECT", "COMPLETEAGENT"],
        "{queue_log}"
    );
}

#[test]
fn an_agent_phone_answering_pcma_is_bridged_to_a_pcmu_caller_through_transcoding() {
    if !require_sipp(
        "an_agent_phone_answering_pcma_is_bridged_to_a_pcmu_caller_through_transcoding",
    ) {
        return;
    }
    let (daemon, _config) = daemon_with_fast_config();
    let agent = MediaAgent::spawn(&daemon, "1001", "agent_answer_media_pcma.xml", 3000);
    agent.rtp.set_codec(Codec::Pcma);
    wait_registered(&daemon, 1);
    let caller = MediaCaller::dial(&daemon, "caller_media_until_bye.xml", "202", &[]);
    caller.connect_media(&daemon);
    caller.rtp.set_tone(Some(CALLER_TONE));
    agent.connect_media(&daemon);
    agent.rtp.set_tone(Some(AGENT_TONE));
    let bridged = Instant::now();
    let run = caller.sipp.finish();
    assert!(
        run.succeeded(),
        "{}\n{}\n{}",
        run.report,
        agent.phone.report(),
        daemon.log()
    );
    // Each leg gets its own codec: PCMU to the caller, PCMA to the agent.
    let settle = bridged + Duration::from_millis(500);
    let window = settle + Duration::from_secs(2);
    let types = |peer: &common::rtp::RtpPeer| -> BTreeSet<u8> {
        peer.heard_since(settle)
            .into_iter()
            .filter(|h| h.at < window)
            .map(|h| h.pt)
            .collect()
    };
    assert_eq!(
        types(&caller.rtp),
        BTreeSet::from([0]),
        "the caller gets PCMU"
    );
    assert_eq!(
        types(&agent.rtp),
        BTreeSet::from([8]),
        "the agent gets PCMA"
    );
    let to_caller = caller.rtp.audio_between(settle, window);
    let to_agent = agent.rtp.audio_between(settle, window);
    assert!(
        goertzel(&to_caller, AGENT_TONE) > 100.0 * goertzel(&to_caller, CALLER_TONE).max(1.0),
        "the caller did not hear the agent's tone"
    );
    assert!(
        goertzel(&to_agent, CALLER_TONE) > 100.0 * goertzel(&to_agent, AGENT_TONE).max(1.0),
        "the agent did not hear the caller's tone"
    );
    // The recording decodes each side with its own codec.
    let (cdr, _) = records(&daemon, 1);
    let fields = cdr_fields(cdr.lines().next().unwrap_or_default());
    let path = fields.get(CDR_RECORDING).cloned().unwrap_or_default();
    let deadline = Instant::now() + SETTLE;
    let (left, right) = loop {
        if let Some(channels) = fs::read(&path).ok().and_then(|b| read_stereo_pcm16(&b))
            && channels.0.len() > 8000
        {
            break channels;
        }
        assert!(Instant::now() < deadline, "no readable WAV at {path}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(goertzel(&left, CALLER_TONE) > 100.0 * goertzel(&left, AGENT_TONE).max(1.0));
    assert!(goertzel(&right, AGENT_TONE) > 100.0 * goertzel(&right, CALLER_TONE).max(1.0));
}

#[test]
fn music_on_hold_follows_the_caller_when_a_re_invite_moves_its_media() {
    if !require_sipp("music_on_hold_follows_the_caller_when_a_re_invite_moves_its_media") {
        return;
    }
    // No agent: the caller waits in support with music. After 1.5 s its re-INVITE moves its
    // media to another port, as an SBC re-anchoring the call does.
    let daemon = Daemon::start();
    let moved = common::rtp::RtpPeer::bind();
    let moved_port = moved.port().to_string();
    let caller = MediaCaller::dial(
        &daemon,
        "caller_moves_media.xml",
        "201",
        &["-set", "rtp_port2", &moved_port],
    );
    caller.connect_media(&daemon);
    let answered = Instant::now();
    // The daemon hears (and latches to) the first socket until the move.
    caller.rtp.set_tone(Some(CALLER_TONE));
    std::thread::sleep(Duration::from_millis(1400));
    caller.rtp.set_tone(None);
    std::thread::sleep(Duration::from_millis(300));
    // The new port stays silent: the daemon must follow the new SDP, not wait for packets
    // from there to re-latch.
    let run = caller.sipp.finish();
    assert!(run.succeeded(), "{}\n{}", run.report, daemon.log());
    let before = caller
        .rtp
        .audio_between(answered, answered + Duration::from_millis(1400));
    assert!(power(&before) > AUDIBLE, "no music before the move");
    let (from, to) = (
        answered + Duration::from_millis(2500),
        answered + Duration::from_millis(4200),
    );
    let after = moved.audio_between(from, to);
    let stale = caller
        .rtp
        .heard_since(from)
        .into_iter()
        .filter(|h| h.at < to)
        .count();
    eprintln!(
        "after the move: {} samples at the new port (power {:.0}), {stale} packets at the old",
        after.len(),
        power(&after)
    );
    assert!(
        power(&after) > AUDIBLE && after.len() > 8000,
        "the music did not follow the caller to its new port ({} samples)",
        after.len()
    );
    assert_eq!(stale, 0, "the old port still got RTP after the move");
}

/// Found here: this re-INVITE was answered 488 (RFC 3261 §14.2 wants our offer in the 2xx and
/// the answer in the ACK), so a trunk refreshing its session timer this way (RFC 4028 §7.4)
/// saw the refresh fail.
#[test]
fn an_offerless_re_invite_is_answered_200_with_an_offer_and_the_call_stays() {
    if !require_sipp("an_offerless_re_invite_is_answered_200_with_an_offer_and_the_call_stays") {
        return;
    }
    // Waiting in support (no agent), the caller refreshes with a re-INVITE without SDP.
    let daemon = Daemon::start();
    let caller = MediaCaller::dial(&daemon, "caller_offerless_reinvite.xml", "201", &[]);
    caller.connect_media(&daemon);
    let answered = Instant::now();
    let run = caller.sipp.finish();
    assert!(run.succeeded(), "{}\n{}", run.report, daemon.log());
    // Still waiting with music after the refresh, until its own BYE.
    let after = caller.rtp.audio_between(
        answered + Duration::from_millis(1800),
        answered + Duration::from_millis(2800),
    );
    assert!(power(&after) > AUDIBLE, "no music after the refresh");
    let (cdr, _) = records(&daemon, 1);
    assert!(cdr.contains("\"abandon\""), "{cdr}");
}
