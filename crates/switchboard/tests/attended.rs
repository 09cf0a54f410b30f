//! Issue 6 end to end: offerless INVITEs and attended transfer from the phone, with SIPp peers.
//!
//! - A trunk INVITE without SDP gets our offer in the 200 and the call is queued once the ACK
//!   answers.
//! - Three SIPp instances: the customer (trunk) calls 201 and is answered by agent A (1001);
//!   A holds (re-INVITE sendonly), calls agent B (1002) through Switchboard (digest-
//!   authenticated INVITE), and sends REFER with Replaces naming that consultation; B
//!   auto-answers. The customer ends up talking to B, under the same call_id: checked in the
//!   daemon's Master.csv and queue_log. Skipped when `sipp` is missing outside CI.

mod common;

use std::fs;
use std::process::Child;
use std::time::{Duration, Instant};

use common::sipp::{SippTransport, report_of, require_sipp, run_sipp, spawn_phone};
use common::wire::http_get;
use common::{Daemon, ScratchDir, wait_with_deadline};

const SETTLE: Duration = Duration::from_secs(15);

/// Waits until the daemon's metrics show `n` registered agents.
fn wait_registered(daemon: &Daemon, n: usize) {
    let deadline = Instant::now() + SETTLE;
    let want = format!("switchboard_agents_registered {n}");
    loop {
        let metrics = http_get(daemon.http, "/metrics", Duration::from_secs(2))
            .map(|(_, body)| body)
            .unwrap_or_default();
        if metrics.lines().any(|l| l.trim() == want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never saw `{want}`\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The daemon's Master.csv and queue_log once `done` says they are complete.
fn records(daemon: &Daemon, done: impl Fn(&str, &str) -> bool) -> (String, String) {
    let data = daemon.dir().join("data");
    let deadline = Instant::now() + SETTLE;
    loop {
        let cdr = fs::read_to_string(data.join("cdr/Master.csv")).unwrap_or_default();
        let queue_log = fs::read_to_string(data.join("queue_log")).unwrap_or_default();
        if done(&cdr, &queue_log) {
            return (cdr, queue_log);
        }
        assert!(
            Instant::now() < deadline,
            "records incomplete\nMaster.csv:\n{cdr}\nqueue_log:\n{queue_log}\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Everything SIPp wrote in `dir`, whole (for assertions; failure output uses the tails).
fn full_trace(dir: &std::path::Path) -> String {
    fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| fs::read_to_string(e.path()).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default()
}

/// Master.csv's fields of one row (quoted CSV without embedded quotes in our values).
fn fields(row: &str) -> Vec<String> {
    row.split("\",\"")
        .map(|f| f.trim_matches('"').to_string())
        .collect()
}

#[test]
fn an_offerless_trunk_invite_gets_our_offer_and_is_queued_after_the_ack() {
    let test = "an_offerless_trunk_invite_gets_our_offer_and_is_queued_after_the_ack";
    if !require_sipp(test) {
        return;
    }
    let daemon = Daemon::start();
    let caller = run_sipp(
        &daemon,
        "caller_offerless.xml",
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
    let (cdr, queue_log) = records(&daemon, |cdr, log| {
        !cdr.is_empty() && log.contains("ABANDON")
    });
    let events: Vec<&str> = queue_log
        .lines()
        .filter_map(|l| l.split('|').nth(4))
        .collect();
    assert_eq!(events, ["ENTERQUEUE", "ABANDON"], "queue_log:\n{queue_log}");
    assert!(cdr.contains("\"5551234\""), "{cdr}");
}

#[test]
fn attended_transfer_from_the_phone_joins_the_customer_to_agent_b_under_the_same_call_id() {
    let test =
        "attended_transfer_from_the_phone_joins_the_customer_to_agent_b_under_the_same_call_id";
    if !require_sipp(test) {
        return;
    }
    let daemon = Daemon::start();
    let phones = ScratchDir::new("phones");
    let a_dir = phones.path().join("a");
    let b_dir = phones.path().join("b");
    fs::create_dir_all(&a_dir).expect("a dir");
    fs::create_dir_all(&b_dir).expect("b dir");
    let mut a: Child = spawn_phone(
        &daemon,
        &a_dir,
        "1001",
        "agent_register_stay.xml",
        "agent_attended_transfer.xml",
    );
    wait_registered(&daemon, 1);
    // The customer calls while only A is registered, so A gets the call.
    let customer = {
        std::thread::scope(|scope| {
            let handle = scope.spawn(|| {
                run_sipp(
                    &daemon,
                    "caller_transferred.xml",
                    SippTransport::Udp,
                    &["-s", "201"],
                )
            });
            // A answers at once; B registers before A's consultation call (1.5 s after hold).
            std::thread::sleep(Duration::from_millis(700));
            let b = spawn_phone(
                &daemon,
                &b_dir,
                "1002",
                "agent_register_stay.xml",
                "agent_answer.xml",
            );
            let run = handle.join().expect("customer thread");
            (run, b)
        })
    };
    let (customer, mut b) = customer;
    let a_status = wait_with_deadline(&mut a, Duration::from_secs(30));
    let b_status = wait_with_deadline(&mut b, Duration::from_secs(30));
    let context = || {
        format!(
            "--- customer ---\n{}\n--- A ---\n{}\n--- B ---\n{}\n--- daemon ---\n{}",
            customer.report,
            report_of(&a_dir),
            report_of(&b_dir),
            daemon.log()
        )
    };
    assert!(
        customer.succeeded(),
        "customer `{}` failed: {:?}\n{}",
        customer.command,
        customer.status,
        context()
    );
    assert!(
        a_status.is_some_and(|s| s.success()),
        "A's phone: {a_status:?}\n{}",
        context()
    );
    assert!(
        b_status.is_some_and(|s| s.success()),
        "B's phone: {b_status:?}\n{}",
        context()
    );
    // The phones' own traces: A's whole script ran (REFER accepted, NOTIFY with the sipfrag
    // 200, both dialogs hung up by the daemon) and neither phone aborted a call.
    let (a_report, b_report) = (full_trace(&a_dir), full_trace(&b_dir));
    for (name, report) in [("A", &a_report), ("B", &b_report)] {
        assert!(
            !report.contains("Aborting call"),
            "{name}'s phone aborted a call\n{}",
            context()
        );
    }
    assert!(
        a_report.contains("SIP/2.0 202")
            && a_report.contains("NOTIFY sip:")
            && a_report.matches("BYE sip:").count() >= 2,
        "A's phone did not see the transfer through\n{}",
        context()
    );
    assert!(
        b_report.contains("BYE sip:"),
        "B was released when the customer hung up\n{}",
        context()
    );
    // Two CDRs: the consultation (A → B, ended `transferred`) and the customer's call, whose
    // agent is now B.
    let (cdr, queue_log) = records(&daemon, |cdr, log| {
        cdr.lines().count() >= 2 && log.contains("COMPLETE") && log.contains("ATTENDEDTRANSFER")
    });
    let call_id = queue_log
        .lines()
        .find(|l| l.split('|').nth(4) == Some("ATTENDEDTRANSFER"))
        .and_then(|l| l.split('|').nth(1))
        .unwrap_or_default()
        .to_string();
    assert_eq!(call_id.len(), 36, "a call UUID: {queue_log}");
    let customer_row = cdr
        .lines()
        .find(|r| fields(r).get(1).is_some_and(|src| src == "5551234"))
        .unwrap_or_else(|| panic!("no customer CDR\n{cdr}"));
    assert!(
        customer_row.contains(&format!("\"{call_id}\"")),
        "the customer's CDR keeps the call_id (uniqueid): {customer_row}"
    );
    assert!(
        customer_row.contains("\"SIP/1002\""),
        "B is the customer's agent now: {customer_row}"
    );
    let consult_row = cdr
        .lines()
        .find(|r| fields(r).get(1).is_some_and(|src| src == "1001"))
        .unwrap_or_else(|| panic!("no consultation CDR\n{cdr}"));
    assert!(
        consult_row.contains("transferred"),
        "the consultation ended transferred: {consult_row}"
    );
    // queue_log: the customer's call, one call_id, from A's CONNECT to the transfer and B's
    // completion.
    let customer_lines: Vec<(&str, &str)> = queue_log
        .lines()
        .filter(|l| l.split('|').nth(1) == Some(call_id.as_str()))
        .filter_map(|l| Some((l.split('|').nth(3)?, l.split('|').nth(4)?)))
        .collect();
    assert_eq!(
        customer_lines,
        [
            ("NONE", "ENTERQUEUE"),
            ("1001", "CONNECT"),
            ("1001", "ATTENDEDTRANSFER"),
            ("1002", "COMPLETECALLER"),
        ],
        "queue_log:\n{queue_log}"
    );
}

/// The demo configuration's API token (all scopes).
const DEMO_TOKEN: &str = "demo-token-change-me";

/// One CallService command over gRPC on a throw-away runtime; the status on refusal.
fn call_service<T>(
    grpc: std::net::SocketAddr,
    make: impl FnOnce() -> T,
    send: impl AsyncFnOnce(
        &mut switchboard_api::pb::call_service_client::CallServiceClient<tonic::transport::Channel>,
        tonic::Request<T>,
    ) -> Result<(), tonic::Status>,
) -> Result<(), tonic::Status> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let mut client = switchboard_api::pb::call_service_client::CallServiceClient::connect(
            format!("http://{grpc}"),
        )
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let mut request = tonic::Request::new(make());
        let token = tonic::metadata::MetadataValue::try_from(format!("Bearer {DEMO_TOKEN}"))
            .expect("ascii");
        request.metadata_mut().insert("authorization", token);
        send(&mut client, request).await
    })
}

#[test]
fn api_consultation_then_complete_transfer_moves_the_customer_to_the_consulted_agent() {
    use switchboard_api::pb;
    let test = "api_consultation_then_complete_transfer_moves_the_customer_to_the_consulted_agent";
    if !require_sipp(test) {
        return;
    }
    let daemon = Daemon::start();
    let phones = ScratchDir::new("phones");
    let (a_dir, b_dir) = (phones.path().join("a"), phones.path().join("b"));
    fs::create_dir_all(&a_dir).expect("a dir");
    fs::create_dir_all(&b_dir).expect("b dir");
    let mut a = spawn_phone(
        &daemon,
        &a_dir,
        "1001",
        "agent_register_stay.xml",
        "agent_answer.xml",
    );
    wait_registered(&daemon, 1);
    let grpc = daemon.grpc;
    let (customer, mut b) = std::thread::scope(|scope| {
        let handle = scope.spawn(|| {
            run_sipp(
                &daemon,
                "caller_transferred.xml",
                SippTransport::Udp,
                &["-s", "201"],
            )
        });
        // The customer is connected to A (the only agent) before B registers.
        let (_, queue_log) = records(&daemon, |_, log| log.contains("|CONNECT|"));
        let call_id = queue_log
            .lines()
            .find(|l| l.split('|').nth(4) == Some("CONNECT"))
            .and_then(|l| l.split('|').nth(1))
            .unwrap_or_default()
            .to_string();
        let b = spawn_phone(
            &daemon,
            &b_dir,
            "1002",
            "agent_register_stay.xml",
            "agent_answer.xml",
        );
        wait_registered(&daemon, 2);
        let leg = format!("calls/{call_id}/legs/a");
        call_service(
            grpc,
            || pb::StartConsultationRequest {
                request_id: "consult-1".into(),
                leg: leg.clone(),
                target: Some(pb::TransferTarget {
                    target: Some(pb::transfer_target::Target::Agent("1002".into())),
                }),
                purpose: pb::ConsultPurpose::Transfer as i32,
            },
            async |c, r| c.start_consultation(r).await.map(|_| ()),
        )
        .expect("StartConsultation accepted");
        // B auto-answers; until then CompleteTransfer is refused (FAILED_PRECONDITION).
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let done = call_service(
                grpc,
                || pb::CompleteTransferRequest {
                    request_id: "xfer-1".into(),
                    consult_leg: leg.clone(),
                },
                async |c, r| c.complete_transfer(r).await.map(|_| ()),
            );
            match done {
                Ok(()) => break,
                Err(status) => {
                    assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
                    assert!(Instant::now() < deadline, "B never answered: {status:?}");
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        (handle.join().expect("customer thread"), b)
    });
    let a_status = wait_with_deadline(&mut a, Duration::from_secs(30));
    let b_status = wait_with_deadline(&mut b, Duration::from_secs(30));
    let context = || {
        format!(
            "--- customer ---\n{}\n--- A ---\n{}\n--- B ---\n{}\n--- daemon ---\n{}",
            customer.report,
            report_of(&a_dir),
            report_of(&b_dir),
            daemon.log()
        )
    };
    assert!(customer.succeeded(), "customer failed\n{}", context());
    assert!(
        a_status.is_some() && b_status.is_some(),
        "phones hung\n{}",
        context()
    );
    for (name, dir) in [("A", &a_dir), ("B", &b_dir)] {
        let trace = full_trace(dir);
        assert!(
            !trace.contains("Aborting call"),
            "{name} aborted\n{}",
            context()
        );
        assert!(
            trace.contains("BYE sip:"),
            "{name} was never released\n{}",
            context()
        );
    }
    let (cdr, queue_log) = records(&daemon, |cdr, log| {
        !cdr.is_empty() && log.contains("COMPLETE")
    });
    let lines: Vec<(&str, &str)> = queue_log
        .lines()
        .filter_map(|l| Some((l.split('|').nth(3)?, l.split('|').nth(4)?)))
        .collect();
    assert_eq!(
        lines,
        [
            ("NONE", "ENTERQUEUE"),
            ("1001", "CONNECT"),
            ("1001", "ATTENDEDTRANSFER"),
            ("1002", "COMPLETECALLER"),
        ],
        "queue_log:\n{queue_log}"
    );
    assert_eq!(cdr.lines().count(), 1, "one call, one CDR:\n{cdr}");
    assert!(cdr.contains("\"SIP/1002\""), "{cdr}");
}
