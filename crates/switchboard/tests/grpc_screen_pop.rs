//! End to end: a CRM subscribed over gRPC gets the `AgentAlerting` screen-pop for a trunk call
//! before the agent's phone gets the INVITE, then exactly one `AgentAlertingEnded` for it.
//! The INVITE's arrival time is SIPp's own (`-trace_msg` stamps every message with epoch
//! seconds); the event's is taken when the client reads it.

mod common;

use std::fs::{self, File};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::sipp::{SippTransport, require_sipp, run_sipp};
use common::wire::http_get;
use common::{Daemon, ScratchDir, free_port, sipp_scenario, wait_with_deadline};
use switchboard_api::pb;
use switchboard_api::pb::event::Payload;
use switchboard_api::pb::event_service_client::EventServiceClient;
use tonic::metadata::MetadataValue;

const DEMO_TOKEN: &str = "demo-token-change-me";

/// Every journaled event the client read, with when it read it (seconds since the epoch).
fn subscribe(grpc: std::net::SocketAddr, out: mpsc::Sender<(f64, pb::Event)>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let Ok(mut client) = EventServiceClient::connect(format!("http://{grpc}")).await else {
            return;
        };
        let mut request = tonic::Request::new(pb::SubscribeRequest {
            start: Some(pb::subscribe_request::Start::AfterSeq(0)),
            client_name: "crm".into(),
            ..Default::default()
        });
        let token = MetadataValue::try_from(format!("Bearer {DEMO_TOKEN}")).expect("ascii");
        request.metadata_mut().insert("authorization", token);
        let Ok(response) = client.subscribe(request).await else {
            return;
        };
        let mut stream = response.into_inner();
        while let Ok(Some(message)) = stream.message().await {
            let at = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or_default();
            if let Some(pb::subscribe_response::Kind::Event(event)) = message.kind
                && out.send((at, event)).is_err()
            {
                return;
            }
        }
    });
}

/// When SIPp received the first INVITE: the stamp of the separator line before it in the
/// `-trace_msg` log (`----- 2026-11-23 20:47:42.348856`, local time: SIPp runs with TZ=UTC).
fn invite_received_at(messages: &str) -> Option<f64> {
    let mut stamp = None;
    for line in messages.lines() {
        if line.starts_with("----------") {
            let mut fields = line.split_whitespace().skip(1);
            stamp = fields
                .next()
                .zip(fields.next())
                .and_then(|(date, time)| utc_seconds(date, time));
        } else if line.starts_with("INVITE sip:") {
            return stamp;
        }
    }
    None
}

/// `YYYY-MM-DD`, `HH:MM:SS.ffffff` (UTC) as seconds since the epoch (days from the civil
/// date, Howard Hinnant's algorithm).
fn utc_seconds(date: &str, time: &str) -> Option<f64> {
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':');
    let (hh, mm) = (
        t.next()?.parse::<f64>().ok()?,
        t.next()?.parse::<f64>().ok()?,
    );
    let ss = t.next()?.parse::<f64>().ok()?;
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days as f64 * 86_400.0 + hh * 3600.0 + mm * 60.0 + ss)
}

/// What one trunk call to 201 answered by agent 1001 looked like: the events the client read
/// (with when), and when the agent's phone got the INVITE. `None` without SIPp.
fn one_call(test: &str) -> Option<(Vec<(f64, pb::Event)>, f64)> {
    if !require_sipp(test) {
        return None;
    }
    let daemon = Daemon::start();
    let (tx, rx) = mpsc::channel();
    let grpc = daemon.grpc;
    std::thread::spawn(move || subscribe(grpc, tx));

    let agent_dir = ScratchDir::new("agent");
    let agent_port = free_port(true).to_string();
    let out = File::create(agent_dir.path().join("screen.txt")).expect("agent screen file");
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
            "-trace_msg",
        ])
        .env("TZ", "UTC")
        .current_dir(agent_dir.path())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("spawning the agent's sipp");
    let deadline = Instant::now() + Duration::from_secs(15);
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
        assert!(Instant::now() < deadline, "agent 1001 never registered");
        std::thread::sleep(Duration::from_millis(50));
    }

    let caller = run_sipp(
        &daemon,
        "caller_queue.xml",
        SippTransport::Udp,
        &["-s", "201"],
    );
    assert!(caller.succeeded(), "caller failed:\n{}", caller.report);
    let _ = wait_with_deadline(&mut agent, Duration::from_secs(40));

    // Read events until the call ends.
    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !events
        .iter()
        .any(|(_, e): &(f64, pb::Event)| e.kind == "CallEnded")
    {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(event) => events.push(event),
            Err(_) => panic!("no CallEnded over gRPC; got {events:#?}"),
        }
    }
    let messages = fs::read_dir(agent_dir.path())
        .expect("agent dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with("_messages.log"))
        .map(|e| fs::read_to_string(e.path()).unwrap_or_default())
        .collect::<String>();
    let Some(invited_at) = invite_received_at(&messages) else {
        panic!(
            "the agent's INVITE not in SIPp's log\n{}",
            common::tail(&messages, 3000)
        );
    };
    Some((events, invited_at))
}

fn alerting(events: &[(f64, pb::Event)]) -> (f64, pb::Event) {
    events
        .iter()
        .find(|(_, e)| e.kind == "AgentAlerting")
        .cloned()
        .expect("AgentAlerting over gRPC")
}

#[test]
fn crm_gets_the_screen_pop_with_caller_and_dnis_then_exactly_one_alerting_ended() {
    let Some((events, _)) =
        one_call("crm_gets_the_screen_pop_with_caller_and_dnis_then_exactly_one_alerting_ended")
    else {
        return;
    };
    let (_, alerting) = alerting(&events);
    let Some(Payload::AgentAlerting(pop)) = &alerting.payload else {
        panic!("AgentAlerting without its payload: {alerting:?}");
    };
    assert_eq!(pop.agent, "1001");
    assert_eq!(pop.dialed_number, "201");
    assert!(pop.caller.as_ref().is_some_and(|c| !c.number.is_empty()));
    let ended: Vec<_> = events
        .iter()
        .filter(|(_, e)| e.kind == "AgentAlertingEnded" && e.call_id == alerting.call_id)
        .collect();
    assert_eq!(ended.len(), 1, "exactly one AgentAlertingEnded: {ended:#?}");
    assert!(ended[0].1.seq > alerting.seq);
    let seqs: Vec<u64> = events.iter().map(|(_, e)| e.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "gap-free: {seqs:?}"
    );
}

/// Issue 7: the screen-pop at the CRM before the INVITE at the phone. The engine holds the
/// agent's INVITE until `AgentAlerting` is committed, published, and taken by the HTTP/2
/// transport of every live subscriber (the API's screen-pop gate, at most 50 ms).
#[test]
fn crm_reads_agent_alerting_before_the_agent_gets_the_invite() {
    let Some((events, invited_at)) =
        one_call("crm_reads_agent_alerting_before_the_agent_gets_the_invite")
    else {
        return;
    };
    let (alerted_at, _) = alerting(&events);
    assert!(
        alerted_at < invited_at,
        "screen-pop read at {alerted_at:.6}, INVITE at the phone at {invited_at:.6}"
    );
}
