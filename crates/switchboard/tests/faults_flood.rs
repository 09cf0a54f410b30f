//! Issue 8, faults: an INVITE flood. While one call is bridged with RTP both ways, a flooder
//! sends INVITEs from many source ports at a rate far above what the daemon can answer (the
//! test daemon is a debug build), each a call attempt that hangs up as soon as it is answered.
//! Checked: every refusal is 503 with Retry-After; the established call keeps its media (loss
//! measured on the bridged RTP, < 0.1 %) and ends normally with its CDR; RSS stays bounded;
//! after the flood a new call reaches an agent. Figures are printed (`--nocapture`).
//!
//! `FAULTS_FLOOD_RATE` (INVITEs per second, default 2000) and `FAULTS_FLOOD_SECONDS` (default
//! 5) change the flood.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::phone::{AgentPhone, Caller, Msg};
use common::tagged_rtp::{RtpCounter, RtpSender, rss_kib};
use common::{Daemon, ScratchDir, config_with, wait_no_calls};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const WAIT: Duration = Duration::from_secs(10);
/// Source ports the flood comes from.
const FLOOD_SOCKETS: usize = 32;
/// Packets at the start of each RTP stream left out of the loss figure (the bridge is set up
/// by the media thread just after the agent's 200 is handled).
const WARM_UP: u32 = 25;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the flooder saw.
#[derive(Debug, Default)]
struct FloodReport {
    sent: u64,
    /// First final response per INVITE, by status code.
    finals: BTreeMap<u16, u64>,
    /// 503s without a Retry-After header.
    without_retry_after: u64,
    /// BYEs for answered attempts that got their 200.
    byes_completed: u64,
    /// Answered attempts whose BYE never got a final response.
    byes_unanswered: u64,
}

/// The state of one flood call attempt on a flood socket.
#[derive(Debug)]
enum Attempt {
    Sent,
    /// Answered; our BYE (text kept for retransmission) awaits its final response.
    Hanging(String),
    Done,
}

/// A 200 for an attempt: ACK + BYE built from the response's dialog identifiers.
fn ack_and_bye(response: &Msg, local: SocketAddr, n: u64) -> (String, String) {
    let target = response
        .contact_uri()
        .unwrap_or_else(|| "sip:201@127.0.0.1".into());
    let from = response.header("from").unwrap_or_default();
    let to = response.header("to").unwrap_or_default();
    let call_id = response.header("call-id").unwrap_or_default();
    let request = |method: &str, cseq: u32| {
        format!(
            "{method} {target} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-fl{method}{n};rport\r\n\
             Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\n\
             CSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n"
        )
    };
    (request("ACK", 1), request("BYE", 2))
}

/// Floods `server` with INVITEs to `dnis` at `rate` per second for `duration` from
/// [`FLOOD_SOCKETS`] ports; each answered attempt is ACKed and hung up (BYE retransmitted until
/// answered). Returns once the flood is sent and the stragglers had `drain` to finish.
fn flood(
    server: SocketAddr,
    dnis: &str,
    rate: u64,
    duration: Duration,
    drain: Duration,
) -> FloodReport {
    let sockets: Vec<Arc<UdpSocket>> = (0..FLOOD_SOCKETS)
        .map(|_| {
            let s = UdpSocket::bind("127.0.0.1:0").expect("flood socket");
            s.set_read_timeout(Some(Duration::from_millis(100)))
                .expect("timeout");
            Arc::new(s)
        })
        .collect();
    let report = Arc::new(Mutex::new(FloodReport::default()));
    let attempts: Arc<Mutex<HashMap<String, Attempt>>> = Arc::new(Mutex::new(HashMap::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = sockets
        .iter()
        .enumerate()
        .map(|(i, socket)| {
            let (socket, report, attempts, stop) =
                (socket.clone(), report.clone(), attempts.clone(), stop.clone());
            std::thread::spawn(move || {
                let local = socket.local_addr().expect("addr");
                let mut buf = vec![0u8; 65_535];
                let mut n = (i as u64) << 32;
                let mut retransmit_at = Instant::now() + Duration::from_millis(500);
                while !stop.load(Ordering::Relaxed) {
                    if Instant::now() >= retransmit_at {
                        let pending: Vec<String> = attempts
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .iter()
                            .filter_map(|(id, a)| match a {
                                Attempt::Hanging(bye) if id.starts_with(&format!("flood-{i}-")) => {
                                    Some(bye.clone())
                                }
                                _ => None,
                            })
                            .collect();
                        for bye in pending {
                            let _ = socket.send_to(bye.as_bytes(), server);
                        }
                        retransmit_at = Instant::now() + Duration::from_millis(500);
                    }
                    let Ok(len) = socket.recv(&mut buf) else {
                        continue;
                    };
                    let Some(msg) = Msg::parse(buf.get(..len).unwrap_or_default()) else {
                        continue;
                    };
                    if let Some(method) = msg.method() {
                        // A BYE from the daemon (an attempt it ended itself): answer it.
                        if method == "BYE" {
                            let reply = format!(
                                "SIP/2.0 200 OK\r\nVia: {}\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {}\r\nContent-Length: 0\r\n\r\n",
                                msg.header("via").unwrap_or_default(),
                                msg.header("from").unwrap_or_default(),
                                msg.header("to").unwrap_or_default(),
                                msg.header("call-id").unwrap_or_default(),
                                msg.header("cseq").unwrap_or_default(),
                            );
                            let _ = socket.send_to(reply.as_bytes(), server);
                        }
                        continue;
                    }
                    let Some(code) = msg.code().filter(|c| *c >= 200) else {
                        continue;
                    };
                    let call_id = msg.header("call-id").unwrap_or_default().to_owned();
                    let mut attempts = attempts.lock().unwrap_or_else(|p| p.into_inner());
                    let mut report = report.lock().unwrap_or_else(|p| p.into_inner());
                    match (msg.cseq_method(), attempts.get(&call_id)) {
                        (Some("INVITE"), Some(Attempt::Sent)) => {
                            *report.finals.entry(code).or_insert(0) += 1;
                            if code == 503 && msg.header("retry-after").is_none() {
                                report.without_retry_after += 1;
                            }
                            if code == 200 {
                                n += 1;
                                let (ack, bye) = ack_and_bye(&msg, local, n);
                                let _ = socket.send_to(ack.as_bytes(), server);
                                let _ = socket.send_to(bye.as_bytes(), server);
                                attempts.insert(call_id, Attempt::Hanging(bye));
                            } else {
                                attempts.insert(call_id, Attempt::Done);
                            }
                        }
                        (Some("INVITE"), Some(Attempt::Hanging(_))) if code == 200 => {
                            // A retransmitted 200: ACK it again (the BYE follows on its timer).
                            n += 1;
                            let (ack, _) = ack_and_bye(&msg, local, n);
                            let _ = socket.send_to(ack.as_bytes(), server);
                        }
                        (Some("BYE"), Some(Attempt::Hanging(_))) => {
                            report.byes_completed += 1;
                            attempts.insert(call_id, Attempt::Done);
                        }
                        _ => {}
                    }
                }
            })
        })
        .collect();

    // The sender: paced in 5 ms slices, round-robin over the sockets.
    let started = Instant::now();
    let slice = Duration::from_millis(5);
    let mut sent: u64 = 0;
    while started.elapsed() < duration {
        let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
        while sent < due {
            let i = (sent % FLOOD_SOCKETS as u64) as usize;
            let socket = &sockets[i];
            let local = socket.local_addr().expect("addr");
            let call_id = format!("flood-{i}-{sent}");
            let sdp = format!(
                "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {} RTP/AVP 0\r\n",
                local.port() + 1
            );
            let invite = format!(
                "INVITE sip:{dnis}@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-fl{sent};rport\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:5559{sent}@127.0.0.1>;tag=fl{sent}\r\nTo: <sip:{dnis}@{server}>\r\n\
                 Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:5559@{local}>\r\n\
                 Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
                sdp.len()
            );
            attempts
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(call_id, Attempt::Sent);
            let _ = socket.send_to(invite.as_bytes(), server);
            sent += 1;
        }
        std::thread::sleep(slice);
    }
    // Drain: answers still coming, BYEs retransmitted until answered.
    let drain_end = Instant::now() + drain;
    while Instant::now() < drain_end {
        let hanging = attempts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|a| matches!(a, Attempt::Hanging(_)))
            .count();
        if hanging == 0 && started.elapsed() > duration + Duration::from_secs(2) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        let _ = reader.join();
    }
    let mut report = std::mem::take(&mut *report.lock().unwrap_or_else(|p| p.into_inner()));
    report.sent = sent;
    report.byes_unanswered = attempts
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .filter(|a| matches!(a, Attempt::Hanging(_)))
        .count() as u64;
    report
}

/// Loss on one direction of the bridged call: counters in `WARM_UP..last` not received.
fn loss(received: &[u32], sent: u64) -> (u64, u64) {
    // The last few packets may still be in flight when the counter stops.
    let last = (sent as u32).saturating_sub(5);
    let expected = u64::from(last.saturating_sub(WARM_UP));
    let got = received
        .iter()
        .filter(|c| (WARM_UP..last).contains(*c))
        .count() as u64;
    let missing: Vec<u32> = (WARM_UP..last)
        .filter(|c| received.binary_search(c).is_err())
        .collect();
    if !missing.is_empty() {
        eprintln!("missing RTP counters (of {WARM_UP}..{last}): {missing:?}");
    }
    (expected, expected.saturating_sub(got))
}

/// The agents on the bridged calls that run through the flood (all have `sales`).
const BRIDGED_AGENTS: [&str; 5] = ["1006", "1007", "1008", "1009", "1010"];

/// One call bridged before the flood, with RTP both ways.
struct Established {
    caller: Caller,
    agent: AgentPhone,
    at_agent: Option<RtpCounter>,
    at_caller: Option<RtpCounter>,
    from_caller: Option<RtpSender>,
    from_agent: Option<RtpSender>,
}

impl Established {
    /// Registers `agent` (the only Ready one), places a call it answers, starts RTP both ways
    /// and waits until it flows.
    fn set_up(daemon: &Daemon, agent: &str) -> Self {
        let mut phone = AgentPhone::register(daemon.sip, agent, "secret");
        let caller = Caller::dial(daemon.sip, "202").unwrap_or_else(|c| panic!("refused {c}"));
        caller.ack();
        let offered = phone.expect_invite(WAIT);
        phone.answer(&offered, "established");
        phone.sip.expect_request("ACK", WAIT);
        let at_agent = RtpCounter::start(&phone.rtp, 1);
        let at_caller = RtpCounter::start(&caller.rtp, 2);
        let from_caller = RtpSender::start(&caller.rtp, caller.media, 1);
        let from_agent = RtpSender::start(&phone.rtp, offered.media, 2);
        let deadline = Instant::now() + WAIT;
        while at_agent.received() < 10 || at_caller.received() < 10 {
            assert!(
                Instant::now() < deadline,
                "the bridged call carries no audio"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            caller,
            agent: phone,
            at_agent: Some(at_agent),
            at_caller: Some(at_caller),
            from_caller: Some(from_caller),
            from_agent: Some(from_agent),
        }
    }

    /// Stops the RTP; returns (packets expected, lost) over both directions.
    fn stop_media(&mut self) -> (u64, u64) {
        let sent_caller = self.from_caller.take().map_or(0, RtpSender::stop);
        let sent_agent = self.from_agent.take().map_or(0, RtpSender::stop);
        std::thread::sleep(Duration::from_millis(100));
        let (ea, la) = loss(
            &self
                .at_agent
                .take()
                .map(RtpCounter::stop)
                .unwrap_or_default(),
            sent_caller,
        );
        let (ec, lc) = loss(
            &self
                .at_caller
                .take()
                .map(RtpCounter::stop)
                .unwrap_or_default(),
            sent_agent,
        );
        (ea + ec, la + lc)
    }
}

#[test]
fn invite_flood_gets_503_with_retry_after_while_a_bridged_call_keeps_its_media() {
    let rate = env_or("FAULTS_FLOOD_RATE", 2000);
    let seconds = env_or("FAULTS_FLOOD_SECONDS", 5);
    let dir = ScratchDir::new("flood-config");
    let config = config_with(
        dir.path(),
        &[
            (
                "keepalive_interval_seconds = 30",
                "keepalive_interval_seconds = 0",
            ),
            // Every flood call that wins a 200 holds RTP ports until its BYE and their rest after
            // it: the harness's shared 200-port blocks (30000-32599) run dry, so this test keeps
            // the demo's 10,000 ports (other test daemons are moved off them by the harness).
            (
                "rtp_port_min = 20000\nrtp_port_max = 29999",
                "rtp_port_min = 20000\nrtp_port_max = 29997",
            ),
            (
                "name = \"sales\"\nrequirement = \"sales >= 1\"\nwrap_up_seconds = 5",
                "name = \"sales\"\nrequirement = \"sales >= 1\"\nwrap_up_seconds = 1",
            ),
        ],
    );
    let daemon = Daemon::start_with(&config, LOCALHOST);
    let pid = daemon.pid();

    // The established calls: callers on 202 bridged to agents 1006..1010, RTP both ways.
    let mut established: Vec<Established> = BRIDGED_AGENTS
        .iter()
        .map(|agent| Established::set_up(&daemon, agent))
        .collect();
    let rss_before = rss_kib(pid);

    // The flood, to the queue with no free agent (the one agent is on the call), with RSS
    // sampled meanwhile.
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while sampling.load(Ordering::Relaxed) {
                peak = peak.max(rss_kib(pid));
                std::thread::sleep(Duration::from_millis(50));
            }
            peak
        })
    };
    let flood_started = Instant::now();
    let flooder = {
        let sip = daemon.sip;
        std::thread::spawn(move || {
            flood(
                sip,
                "202",
                rate,
                Duration::from_secs(seconds),
                Duration::from_secs(15),
            )
        })
    };

    // The established call ends normally in the middle of the flood: its media measured
    // until then, its BYE answered (resent every 500 ms like any UAC) and passed to the agent.
    // (The sleep paces the scenario; nothing waits on it.)
    std::thread::sleep(Duration::from_millis(seconds * 1000 * 3 / 5));
    let (mut expected, mut lost) = (0, 0);
    for call in &mut established {
        let (e, l) = call.stop_media();
        expected += e;
        lost += l;
    }
    let hanging_up = Instant::now();
    let bye_sent_into_flood = flood_started.elapsed();
    let mut bye_took = Duration::ZERO;
    for call in &mut established {
        let started = Instant::now();
        assert_eq!(call.caller.hang_up(), 200, "BYE of an established call");
        bye_took = bye_took.max(started.elapsed());
        let bye = call.agent.sip.expect_request("BYE", WAIT);
        call.agent.sip.reply(&bye, 200, "OK", None, None);
    }
    let all_byes_took = hanging_up.elapsed();

    let report = flooder.join().expect("the flooder");
    let flood_took = flood_started.elapsed();
    sampling.store(false, Ordering::Relaxed);
    let rss_peak = sampler.join().unwrap_or(0);
    let rss_after = rss_kib(pid);

    let answered = report.finals.get(&200).copied().unwrap_or(0);
    let refused = report.finals.get(&503).copied().unwrap_or(0);
    let finals: u64 = report.finals.values().sum();
    eprintln!(
        "flood: {} INVITEs at {rate}/s for {seconds} s from {FLOOD_SOCKETS} ports ({flood_took:?} with drain); \
         finals {:?}; no final {}; 503 without Retry-After {}; BYEs completed {}, unanswered {}",
        report.sent,
        report.finals,
        report.sent - finals,
        report.without_retry_after,
        report.byes_completed,
        report.byes_unanswered
    );
    eprintln!(
        "{} bridged calls' RTP during the flood (both ways): {lost} lost of {expected}",
        established.len()
    );
    eprintln!("RSS: {rss_before} KiB before, {rss_peak} KiB peak, {rss_after} KiB after");
    eprintln!(
        "established call's BYE sent {bye_sent_into_flood:?} into the flood: slowest 200 after {bye_took:?}, \
         all {} hung up in {all_byes_took:?}",
        established.len()
    );
    assert!(
        bye_sent_into_flood < Duration::from_secs(seconds),
        "the test hung up after the flood ended ({bye_sent_into_flood:?})"
    );
    // A call in progress keeps its signalling: the core reads in-dialog requests before new
    // ones, so its BYE is answered at once (measured 76–208 ms for the slowest of five; 0.7–3.9 s
    // with one shared queue). Bounded loosely here: on a machine busy with other work the UDP
    // receive loop itself falls behind, the kernel drops datagrams (the BYE among them) and
    // the UAC's Timer E retransmission carries it (1.9 s seen with a soak running alongside).
    assert!(
        bye_took < Duration::from_secs(4),
        "the BYE took {bye_took:?} in the flood"
    );

    assert!(refused > 0, "the flood was never refused: {report:?}");
    assert_eq!(report.without_retry_after, 0, "{report:?}");
    assert!(
        report.finals.keys().all(|c| [200, 503].contains(c)),
        "only 200 or 503: {report:?}"
    );
    // Every answered attempt was hung up and the daemon answered the BYE.
    assert_eq!(report.byes_unanswered, 0, "{report:?}");
    assert_eq!(report.byes_completed, answered, "{report:?}");
    // The established calls kept their media: < 0.1 % loss.
    assert!(expected > 1000, "{expected} packets measured");
    assert!(
        lost * 1000 < expected,
        "RTP loss on the bridged calls: {lost} of {expected}"
    );
    assert!(
        rss_peak < 512 * 1024,
        "RSS peaked at {rss_peak} KiB during the flood"
    );

    // Their CDRs: answered by the agents, from the test callers' number.
    let (cdr, _) = daemon.records(1, WAIT);
    let rows = cdr
        .lines()
        .filter(|l| l.contains("\"5550100\"") && l.contains("\"ANSWERED\""))
        .count();
    assert_eq!(
        rows,
        established.len(),
        "CDR rows of the established calls\n{}",
        common::tail(&cdr, 4000)
    );

    // Service resumes: a new call reaches an agent again (Ready after its wrap-up; offers of
    // flood calls it got meanwhile went with their callers).
    // A real peer honours Retry-After: the flood's answered calls may still hold resources
    // (media ports resting after their BYE) for a few seconds, so retry for up to 15 s.
    let mut next = Caller::dial_when_served(daemon.sip, "202", Duration::from_secs(15))
        .unwrap_or_else(|c| panic!("refused {c} after the flood\n{}", daemon.log()));
    next.ack();
    let agent = &mut established[0].agent;
    let offered = agent.expect_invite_from("5550100", WAIT);
    agent.answer(&offered, "after");
    agent.sip.expect_request("ACK", WAIT);
    assert_eq!(next.hang_up(), 200);
    let bye = agent.sip.expect_request("BYE", WAIT);
    agent.sip.reply(&bye, 200, "OK", None, None);
    // No call leaked from the flood: every answered attempt was hung up and is gone.
    wait_no_calls(&daemon, WAIT);
}
