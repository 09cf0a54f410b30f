//! The call engine's own cost on the main path, without sockets, disk or media threads:
//! `cargo bench -p switchboard-benches --bench engine_path`.
//!
//! Each call: a trunk INVITE with SDP arrives while an agent is Ready → 100 + 200 with our SDP,
//! ENTERQUEUE, the `AgentAlerting` journal write (committed at once here: the store's own
//! bench measures commits) → the agent INVITE leaves → the phone's 200 → ACK, bridge, CONNECT
//! → the caller's BYE → 200, BYE to the phone, the CDR write. Wrap-up is 0, so the agent is
//! Ready for the next call.
//!
//! Printed: full calls per second on one core, and p50/p99/max of "INVITE in → agent INVITE
//! out" (the signalling part of the issue's "call arriving with a Ready agent → agent INVITE"
//! latency; add the journal commit measured by `crates/store/examples/finish_call_rate.rs`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rsip::SipMessage;
use rsip::headers::UntypedHeader;
use rsip::prelude::HeadersExt;
use switchboard_engine::{Engine, EngineOptions, LegAllocator, LegId, Output};
use switchboard_sip::digest::{compute_response, parse_credentials};
use switchboard_sip::message::{Limits, parse};
use switchboard_sip::{Peer, Transport};

const CONFIG: &str = r#"
[sip]
realm = "switchboard"
max_transactions = 1000000
[sip.registrar]
digest_algorithms = ["MD5"]
keepalive_interval_seconds = 0
[[trunk]]
name = "carrier"
sources = ["127.0.0.2/32"]
[skills]
support = "Support"
[agents]
login_on_register = true
[[agent]]
id = "1001"
password = "secret"
skills = { support = 5 }
[[queue]]
name = "support"
requirement = "support >= 1"
[[route]]
dnis = "201"
queue = "support"
"#;

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n\
                   m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";

struct Legs(u64);

impl LegAllocator for Legs {
    fn create_leg(&mut self, _near: Option<LegId>) -> Option<(LegId, SocketAddr)> {
        self.0 += 1;
        Some((LegId(self.0), SocketAddr::from(([127, 0, 0, 1], 30000))))
    }
}

fn peer(remote: &str) -> Peer {
    Peer {
        transport: Transport::Udp,
        remote: remote.parse().expect("address"),
        local: "127.0.0.1:5060".parse().expect("address"),
    }
}

/// Runs the engine until it has nothing left, committing store writes at once; returns the
/// SIP messages it sent, in order.
fn pump(engine: &mut Engine, now: Instant) -> Vec<SipMessage> {
    let mut sent = Vec::new();
    loop {
        let mut tickets = Vec::new();
        while let Some(out) = engine.poll_output() {
            match out {
                Output::Transmit { bytes, .. } => {
                    sent.push(parse(&bytes, &Limits::default()).expect("valid SIP"));
                }
                Output::Store { ticket, .. } => tickets.push(ticket),
                _ => {}
            }
        }
        if tickets.is_empty() {
            return sent;
        }
        for t in tickets {
            engine.handle_store(now, t, true);
        }
    }
}

fn deliver(engine: &mut Engine, now: Instant, from: &Peer, text: &str) -> Vec<SipMessage> {
    let message = parse(text.as_bytes(), &Limits::default()).expect("bench message parses");
    engine.handle_sip(now, *from, message);
    pump(engine, now)
}

fn register(engine: &mut Engine, now: Instant, phone: &Peer) {
    let reg = |auth: &str, cseq: u32| {
        format!(
            "REGISTER sip:127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {r};branch=z9hG4bKreg{cseq}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:1001@127.0.0.1>;tag=r1\r\nTo: <sip:1001@127.0.0.1>\r\n\
             Call-ID: reg-1001\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:1001@{r}>\r\nExpires: 3600\r\n\
             {auth}Content-Length: 0\r\n\r\n",
            r = phone.remote
        )
    };
    let sent = deliver(engine, now, phone, &reg("", 1));
    let www = sent
        .iter()
        .find_map(|m| match m {
            SipMessage::Response(r) => r.headers.iter().find_map(|h| match h {
                rsip::Header::WwwAuthenticate(w) => Some(w.value().to_string()),
                _ => None,
            }),
            _ => None,
        })
        .expect("challenge");
    let nonce = www
        .split("nonce=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("nonce");
    let draft = format!(
        "Digest username=\"1001\", realm=\"switchboard\", nonce=\"{nonce}\", uri=\"sip:127.0.0.1:5060\", \
         response=\"0\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"c1\""
    );
    let response = compute_response(
        &parse_credentials(&draft).expect("creds"),
        "secret",
        "REGISTER",
    );
    let auth = draft.replace("response=\"0\"", &format!("response=\"{response}\""));
    deliver(
        engine,
        now,
        phone,
        &reg(&format!("Authorization: {auth}\r\n"), 2),
    );
}

fn main() {
    let calls: usize = std::env::var("CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let config = switchboard_config::parse(CONFIG, Path::new("bench.toml")).expect("config");
    let t0 = Instant::now();
    let mut engine = Engine::new(
        Arc::new(config),
        HashMap::new(),
        EngineOptions {
            max_calls: 1_000_000,
            ..EngineOptions::default()
        },
        Box::new(Legs(0)),
        t0,
        SystemTime::now(),
    )
    .expect("engine");
    let trunk = peer("127.0.0.2:5080");
    let phone = peer("127.0.0.1:5071");
    register(&mut engine, t0, &phone);

    let mut to_invite = Vec::with_capacity(calls);
    let started = Instant::now();
    for i in 0..calls {
        // Simulated time moves 10 ms per call so transaction timers never pile up unfired.
        let now = t0 + Duration::from_millis(10 * i as u64);
        engine.handle_timeout(now);
        pump(&mut engine, now);
        let invite = format!(
            "INVITE sip:201@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5080;branch=z9hG4bKi{i}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:555{i}@127.0.0.2>;tag=t{i}\r\nTo: <sip:201@127.0.0.1>\r\n\
             Call-ID: c{i}\r\nCSeq: 1 INVITE\r\nContact: <sip:555{i}@127.0.0.2:5080>\r\n\
             Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
            SDP.len()
        );
        let begin = Instant::now();
        let sent = deliver(&mut engine, now, &trunk, &invite);
        to_invite.push(begin.elapsed());
        let ok = sent.iter().find_map(|m| match m {
            SipMessage::Response(r) if r.status_code.code() == 200 => Some(r.clone()),
            _ => None,
        });
        let agent_invite = sent.iter().find_map(|m| match m {
            SipMessage::Request(r) if r.method == rsip::Method::Invite => Some(r.clone()),
            _ => None,
        });
        let (Some(ok), Some(agent_invite)) = (ok, agent_invite) else {
            panic!("call {i}: no 200 or no agent INVITE");
        };
        // The phone answers.
        let mut answer = String::from("SIP/2.0 200 OK\r\n");
        for h in agent_invite.headers.iter() {
            match h {
                rsip::Header::Via(_)
                | rsip::Header::From(_)
                | rsip::Header::CallId(_)
                | rsip::Header::CSeq(_) => answer.push_str(&format!("{h}\r\n")),
                rsip::Header::To(to) => {
                    answer.push_str(&format!("To: {};tag=ph{i}\r\n", to.value()))
                }
                _ => {}
            }
        }
        let body = SDP.replace("127.0.0.2", "127.0.0.1");
        answer.push_str(&format!(
            "Contact: <sip:1001@{}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            phone.remote,
            body.len()
        ));
        deliver(&mut engine, now, &phone, &answer);
        // The caller ACKs our 200 and hangs up.
        let to = ok.to_header().expect("To").value().to_string();
        for (method, cseq) in [("ACK", 1), ("BYE", 2)] {
            let text = format!(
                "{method} sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5080;branch=z9hG4bK{method}{i}\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:555{i}@127.0.0.2>;tag=t{i}\r\nTo: {to}\r\n\
                 Call-ID: c{i}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n"
            );
            deliver(&mut engine, now, &trunk, &text);
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(engine.call_count(), 0, "every call ended");
    to_invite.sort();
    let pct = |p: f64| to_invite[((to_invite.len() as f64 - 1.0) * p) as usize];
    println!(
        "engine_path: {calls} full calls in {elapsed:.2?}: {:.0} calls/s on one core (message \
         parsing and serialising included, store commits and media excluded)",
        calls as f64 / elapsed.as_secs_f64()
    );
    println!(
        "trunk INVITE in → agent INVITE out (Ready agent, journal commit excluded): p50 {:?}  \
         p99 {:?}  max {:?}",
        pct(0.50),
        pct(0.99),
        to_invite.last().copied().unwrap_or_default()
    );
}
