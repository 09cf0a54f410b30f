//! Issue 7 end to end: a three-party conference over the API with real audio. A SIPp customer
//! talks to agent 1001; the CRM consults 1002 and completes a conference; each of the three
//! (their RTP is the test's own sockets, each sending its own tone) hears the other two and
//! not itself. Then 1002 leaves (`HangupLeg`) and the customer and 1001 go on talking; the
//! CRM ends the call: one CDR, `CallConferenced` in the journal.
//! Skipped when `sipp` is missing outside CI.

mod common;

use std::time::{Duration, Instant};

use common::Daemon;
use common::api::{Api, authorized};
use common::events::all_events;
use common::flow::{MediaAgent, MediaCaller, records, wait_registered};
use common::rtp::{RtpPeer, goertzel};
use common::sipp::require_sipp;
use switchboard_api::pb;
use switchboard_api::pb::event::Payload;

const CALLER_TONE: f64 = 440.0;
const FIRST_TONE: f64 = 1000.0;
const CONSULTED_TONE: f64 = 1700.0;

/// Asserts `who` heard each of `others` well above its own tone over `from..to`.
fn hears(who: &str, peer: &RtpPeer, own: f64, others: &[f64], from: Instant, to: Instant) {
    let audio = peer.audio_between(from, to);
    assert!(audio.len() >= 4000, "{who} heard {} samples", audio.len());
    let own_power = goertzel(&audio, own).max(1.0);
    for other in others {
        let power = goertzel(&audio, *other);
        assert!(
            power > 10.0 * own_power,
            "{who} should hear {other} Hz well above its own {own} Hz: {power:.3e} vs {own_power:.3e}"
        );
    }
}

#[test]
fn a_conference_over_the_api_lets_customer_and_both_agents_hear_each_other() {
    let test = "a_conference_over_the_api_lets_customer_and_both_agents_hear_each_other";
    if !require_sipp(test) {
        return;
    }
    let daemon = Daemon::start();
    let first = MediaAgent::spawn(&daemon, "1001", "agent_answer_media_until_bye.xml", 0);
    wait_registered(&daemon, 1);
    let caller = MediaCaller::dial(&daemon, "caller_media_until_bye.xml", "202", &[]);
    caller.connect_media(&daemon);
    caller.rtp.set_tone(Some(CALLER_TONE));
    first.connect_media(&daemon);
    first.rtp.set_tone(Some(FIRST_TONE));
    let mut api = Api::connect(&daemon);
    let call = api.connected_call(&daemon, "1001");
    let first_leg = call
        .legs
        .iter()
        .find(|l| l.role() == pb::LegRole::Agent)
        .map(|l| l.leg_id.clone())
        .unwrap_or_default();

    // The CRM consults 1002, who answers; then the three are conferenced.
    let consulted = MediaAgent::spawn(&daemon, "1002", "agent_answer_media_until_bye.xml", 0);
    wait_registered(&daemon, 2);
    let leg = format!("calls/{}/legs/{first_leg}", call.call_id);
    api.runtime
        .block_on(
            api.calls
                .start_consultation(authorized(pb::StartConsultationRequest {
                    request_id: "consult-1".into(),
                    leg: leg.clone(),
                    target: Some(pb::TransferTarget {
                        target: Some(pb::transfer_target::Target::Agent("1002".into())),
                    }),
                    purpose: pb::ConsultPurpose::Conference as i32,
                })),
        )
        .expect("StartConsultation");
    consulted.connect_media(&daemon);
    consulted.rtp.set_tone(Some(CONSULTED_TONE));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let done =
            api.runtime
                .block_on(api.calls.complete_conference(authorized(
                    pb::CompleteConferenceRequest {
                        request_id: "conf-1".into(),
                        consult_leg: leg.clone(),
                    },
                )));
        match done {
            Ok(_) => break,
            Err(status) => {
                // Until 1002 answers: FAILED_PRECONDITION, never UNIMPLEMENTED.
                assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
                assert!(Instant::now() < deadline, "1002 never answered: {status:?}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    let mixed = Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    let (from, to) = (mixed + Duration::from_millis(300), Instant::now());
    hears(
        "the customer",
        &caller.rtp,
        CALLER_TONE,
        &[FIRST_TONE, CONSULTED_TONE],
        from,
        to,
    );
    hears(
        "1001",
        &first.rtp,
        FIRST_TONE,
        &[CALLER_TONE, CONSULTED_TONE],
        from,
        to,
    );
    hears(
        "1002",
        &consulted.rtp,
        CONSULTED_TONE,
        &[CALLER_TONE, FIRST_TONE],
        from,
        to,
    );

    // 1002 leaves: the customer and 1001 go on, without 1002's tone.
    let listed = api
        .runtime
        .block_on(api.calls.get_call(authorized(pb::GetCallRequest {
            name: format!("calls/{}", call.call_id),
        })))
        .expect("GetCall")
        .into_inner();
    let consulted_leg = listed
        .legs
        .iter()
        .find(|l| l.agent == "1002")
        .map(|l| l.leg_id.clone())
        .unwrap_or_else(|| panic!("no leg for 1002: {listed:#?}"));
    api.runtime
        .block_on(api.calls.hangup_leg(authorized(pb::HangupLegRequest {
            request_id: "leave-1".into(),
            leg: format!("calls/{}/legs/{consulted_leg}", call.call_id),
            ..Default::default()
        })))
        .expect("HangupLeg on the consulted agent");
    consulted.rtp.set_tone(None);
    let left = Instant::now();
    std::thread::sleep(Duration::from_millis(1200));
    let audio = caller
        .rtp
        .audio_between(left + Duration::from_millis(300), Instant::now());
    assert!(
        goertzel(&audio, FIRST_TONE) > 10.0 * goertzel(&audio, CONSULTED_TONE).max(1.0),
        "after 1002 left the customer hears 1001"
    );

    // The CRM ends the call: one CDR for it.
    api.runtime
        .block_on(api.calls.end_call(authorized(pb::EndCallRequest {
            request_id: "end-1".into(),
            call: format!("calls/{}", call.call_id),
            ..Default::default()
        })))
        .expect("EndCall");
    let run = caller.sipp.finish();
    assert!(run.succeeded(), "{}\n{}", run.report, daemon.log());
    let (cdr, _) = records(&daemon, 1);
    assert_eq!(
        cdr.lines().filter(|l| l.contains(&call.call_id)).count(),
        1,
        "{cdr}"
    );
    let events = all_events(daemon.grpc);
    let conferenced = events
        .iter()
        .find_map(|e| match &e.payload {
            Some(Payload::CallConferenced(c)) if e.call_id == call.call_id => Some((e, c)),
            _ => None,
        })
        .expect("CallConferenced journaled");
    assert_eq!(conferenced.0.request_id, "conf-1");
    assert_eq!(conferenced.1.leg_ids.len(), 3, "{conferenced:?}");
    assert_eq!(conferenced.1.leg_id, consulted_leg);
}
