//! Issue 7 end to end: `BlindTransfer` over gRPC on live SIPp calls keeps the `call_id` to a
//! queue, to an agent and to an outside number (a SIPp UAS as the carrier behind the demo's
//! outbound trunk): the target agent's screen-pop carries the transfer history,
//! `CallTransferred` names the leg that left and carries the command's `request_id`, each call
//! has one CDR and a queue_log `TRANSFER` line. The refusals are checked on the wire too:
//! `QUEUE_NOT_FOUND`, `AGENT_NOT_FOUND`, `CALL_NOT_FOUND`, `CALL_ENDED`.
//! Skipped when `sipp` is missing outside CI.

mod common;

use std::process::Child;
use std::time::Duration;

use common::api::Api;
use common::events::all_events;
use common::flow::{config_with, records, wait_registered};
use common::sipp::{SippProcess, SippTransport, require_sipp, spawn_agent_phone, spawn_sipp};
use common::{Daemon, ScratchDir, free_port, sipp_scenario, wait_with_deadline};
use switchboard_api::error_reason;
use switchboard_api::pb;
use switchboard_api::pb::event::Payload;

/// A refusal's gRPC code and `ErrorInfo` reason.
fn refusal(result: Result<pb::CommandAccepted, tonic::Status>) -> (tonic::Code, String) {
    let status = result.expect_err("refused");
    let reason = error_reason(&status).unwrap_or_else(|| format!("no ErrorInfo: {status:?}"));
    (status.code(), reason)
}

/// A caller to queue 201 who stays until the daemon's BYE.
fn caller(daemon: &Daemon) -> SippProcess {
    spawn_sipp(
        daemon,
        "caller_until_bye.xml",
        SippTransport::Udp,
        &["-s", "201"],
    )
}

fn finish(caller: SippProcess, what: &str, daemon: &Daemon) {
    let run = caller.finish();
    assert!(
        run.succeeded(),
        "{what}: the caller did not end as scripted\n{}\n{}",
        run.report,
        common::tail(&daemon.log(), 6000)
    );
}

/// SIPp as the carrier: a UAS on `port` that answers one call and hangs up after a second.
fn spawn_carrier(dir: &ScratchDir, port: u16) -> Child {
    std::process::Command::new("sipp")
        .arg("-sf")
        .arg(sipp_scenario("agent_answer_hangup.xml"))
        .args(["-t", "u1", "-i", "127.0.0.1", "-p", &port.to_string()])
        .args(["-m", "1", "-nostdin", "-timeout", "40s", "-timeout_error"])
        .args(["-trace_err", "-trace_msg"])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawning the carrier's sipp")
}

fn payload_of(event: &pb::Event) -> Option<&Payload> {
    event.payload.as_ref()
}

#[test]
fn blind_transfers_over_the_api_keep_the_call_id_to_a_queue_an_agent_and_a_number() {
    let test = "blind_transfers_over_the_api_keep_the_call_id_to_a_queue_an_agent_and_a_number";
    if !require_sipp(test) {
        return;
    }
    let config_dir = ScratchDir::new("transfer-cfg");
    let carrier_port = free_port(true);
    let config = config_with(
        config_dir.path(),
        &[("127.0.0.1:5070", &format!("127.0.0.1:{carrier_port}"))],
    );
    let daemon = Daemon::start_with(&config, std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    let mut api = Api::connect(&daemon);
    let mut phones = Vec::new();
    let mut registered = 0;
    let mut register = |agent: &str, scenario: &str, phones: &mut Vec<_>| {
        phones.push(spawn_agent_phone(&daemon, agent, scenario));
        registered += 1;
        wait_registered(&daemon, registered);
    };

    // (a) To a queue: 1001 answers, the call goes to `sales`, where 1006 takes it.
    register("1001", "agent_answer.xml", &mut phones);
    let a = caller(&daemon);
    let call_a = api.connected_call(&daemon, "1001");
    register("1006", "agent_answer_hangup.xml", &mut phones);
    assert_eq!(
        refusal(api.blind_transfer(
            &call_a,
            "bt-bad-queue",
            pb::transfer_target::Target::Queue("nope".into())
        )),
        (tonic::Code::NotFound, "QUEUE_NOT_FOUND".to_string())
    );
    assert_eq!(
        refusal(api.blind_transfer(
            &call_a,
            "bt-bad-agent",
            pb::transfer_target::Target::Agent("9999".into())
        )),
        (tonic::Code::NotFound, "AGENT_NOT_FOUND".to_string())
    );
    let accepted = api
        .blind_transfer(
            &call_a,
            "bt-queue",
            pb::transfer_target::Target::Queue("sales".into()),
        )
        .expect("BlindTransfer to a queue");
    assert_eq!(
        accepted.call_id, call_a.call_id,
        "returns at once, same call"
    );
    finish(a, "transfer to a queue", &daemon);
    api.logout("1001");
    api.logout("1006");

    // (b) To an agent: 1002 answers, 1007 is named.
    register("1002", "agent_answer.xml", &mut phones);
    let b = caller(&daemon);
    let call_b = api.connected_call(&daemon, "1002");
    register("1007", "agent_answer_hangup.xml", &mut phones);
    api.blind_transfer(
        &call_b,
        "bt-agent",
        pb::transfer_target::Target::Agent("1007".into()),
    )
    .expect("BlindTransfer to an agent");
    finish(b, "transfer to an agent", &daemon);
    api.logout("1002");
    api.logout("1007");

    // (c) To an outside number through the trunk: the carrier answers, talks, hangs up.
    let carrier_dir = ScratchDir::new("transfer-carrier");
    let mut carrier = spawn_carrier(&carrier_dir, carrier_port);
    register("1003", "agent_answer.xml", &mut phones);
    let c = caller(&daemon);
    let call_c = api.connected_call(&daemon, "1003");
    api.blind_transfer(
        &call_c,
        "bt-number",
        pb::transfer_target::Target::Number("5550177".into()),
    )
    .expect("BlindTransfer to a number");
    finish(c, "transfer to a number", &daemon);
    let carrier_status = wait_with_deadline(&mut carrier, Duration::from_secs(20));
    assert!(
        carrier_status.is_some_and(|s| s.success()),
        "the carrier's call: {carrier_status:?}\n{}",
        common::sipp::report_of(carrier_dir.path())
    );

    // Refusals on calls that are gone.
    assert_eq!(
        refusal(api.blind_transfer(
            &pb::Call {
                call_id: "01a20b20-0000-7000-8000-000000000000".into(),
                ..call_a.clone()
            },
            "bt-unknown",
            pb::transfer_target::Target::Queue("sales".into()),
        )),
        (tonic::Code::NotFound, "CALL_NOT_FOUND".to_string())
    );
    assert_eq!(
        refusal(api.blind_transfer(
            &call_a,
            "bt-ended",
            pb::transfer_target::Target::Queue("sales".into()),
        )),
        (tonic::Code::FailedPrecondition, "CALL_ENDED".to_string())
    );

    // The journal: per call, CallTransferred with the request id naming the first agent's
    // leg; the target agent's screen-pop under the same call id, with the history.
    let events = all_events(daemon.grpc);
    for (call, request_id, target_agent) in [
        (&call_a, "bt-queue", Some("1006")),
        (&call_b, "bt-agent", Some("1007")),
        (&call_c, "bt-number", None),
    ] {
        let of_call: Vec<&pb::Event> = events
            .iter()
            .filter(|e| e.call_id == call.call_id)
            .collect();
        let first_leg = call
            .legs
            .iter()
            .find(|l| l.role() == pb::LegRole::Agent)
            .map(|l| l.leg_id.clone())
            .unwrap_or_default();
        let transferred = of_call
            .iter()
            .find_map(|e| match payload_of(e) {
                Some(Payload::CallTransferred(t)) => Some((e, t)),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no CallTransferred for {request_id}: {of_call:#?}"));
        assert_eq!(transferred.0.request_id, request_id);
        assert_eq!(transferred.1.old_leg_id, first_leg, "{request_id}");
        let record = transferred.1.transfer.clone().unwrap_or_default();
        assert_eq!(record.kind(), pb::TransferKind::Blind, "{request_id}");
        if let Some(agent) = target_agent {
            let pop = of_call
                .iter()
                .find_map(|e| match payload_of(e) {
                    Some(Payload::AgentAlerting(a)) if a.agent == agent => Some(a),
                    _ => None,
                })
                .unwrap_or_else(|| panic!("{agent} got no screen-pop for the call"));
            assert_eq!(pop.transfers.len(), 1, "{request_id}: {pop:#?}");
            assert_eq!(pop.transfers[0].from_leg_id, first_leg);
            assert!(
                of_call.iter().any(|e| matches!(
                    payload_of(e),
                    Some(Payload::CallConnected(c)) if c.agent == agent
                )),
                "{agent} answered the same call"
            );
        } else {
            assert!(
                !transferred.1.new_leg_id.is_empty(),
                "the far leg is named: {transferred:?}"
            );
        }
    }

    // One CDR per call, and a TRANSFER line for each in queue_log.
    let (cdr, queue_log) = records(&daemon, 3);
    for call in [&call_a, &call_b, &call_c] {
        assert_eq!(
            cdr.lines().filter(|l| l.contains(&call.call_id)).count(),
            1,
            "one CDR for {}\n{cdr}",
            call.call_id
        );
        assert!(
            queue_log
                .lines()
                .any(|l| l.contains(&call.call_id) && l.contains("|TRANSFER|")),
            "TRANSFER for {}\n{queue_log}",
            call.call_id
        );
    }
    for (mut child, _dir) in phones {
        let _ = child.kill();
        let _ = child.wait();
    }
}
