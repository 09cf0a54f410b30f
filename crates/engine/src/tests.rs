//! The call path on the sans-IO core: simulated trunk and agent phones exchange SIP text with
//! the engine on a simulated clock; store writes are "committed" by the test.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rsip::prelude::HeadersExt;
use rsip::{Method, SipMessage};
use switchboard_acd::AgentState;
use switchboard_sip::digest::{compute_response, parse_credentials};
use switchboard_sip::message::{Limits, parse};
use switchboard_sip::{Peer, Transport};
use switchboard_store::{Disposition, HangupSide, WriteOp};

use crate::{Engine, EngineOptions, LegAllocator, LegId, MediaCommand, MediaEvent, Output};

/// Legs with ports counted up from 30000 (no sockets: the core only needs an address).
struct CountingLegs(u64);

impl LegAllocator for CountingLegs {
    fn create_leg(&mut self, _near: Option<LegId>) -> Option<(LegId, SocketAddr)> {
        self.0 += 1;
        let port = 30000 + 2 * u16::try_from(self.0).ok()?;
        Some((LegId(self.0), SocketAddr::from(([127, 0, 0, 1], port))))
    }
}

const CONFIG: &str = r#"
[server]
sip_listen = "127.0.0.1:5060"
[sip]
realm = "switchboard"
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
[[agent]]
id = "1002"
password = "secret"
skills = { support = 5 }
[[queue]]
name = "support"
strategy = "STRATEGY"
requirement = "support >= 1"
ring_timeout_seconds = 15
wrap_up_seconds = 5
record = true
[[route]]
dnis = "201"
queue = "support"
"#;

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n\
                   m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";

struct Harness {
    engine: Engine,
    now: Instant,
    /// Everything the engine sent, parsed, with the remote it went to.
    sent: Vec<(SocketAddr, SipMessage)>,
    /// Store writes in order, committed at once.
    writes: Vec<WriteOp>,
    /// Interleaved log of outputs, for ordering checks: "store:<kind>" or "sip:<method>".
    log: Vec<String>,
    /// Media commands in order.
    media: Vec<MediaCommand>,
}

fn local() -> SocketAddr {
    "127.0.0.1:5060".parse().unwrap()
}
fn trunk() -> Peer {
    Peer {
        transport: Transport::Udp,
        remote: "127.0.0.2:5080".parse().unwrap(),
        local: local(),
    }
}
fn phone(n: u16) -> Peer {
    Peer {
        transport: Transport::Udp,
        remote: SocketAddr::from(([127, 0, 0, 1], 5070 + n)),
        local: local(),
    }
}

impl Harness {
    fn new(strategy: &str) -> Self {
        Self::with(&CONFIG.replace("STRATEGY", strategy), &[])
    }

    /// A harness with `config` and the repository's IVR flows named in `flows`.
    fn with(config: &str, flows: &[&str]) -> Self {
        let config = switchboard_config::parse(config, Path::new("t.toml")).unwrap();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/ivr");
        let flows = flows
            .iter()
            .map(|name| {
                let flow = switchboard_ivr::load(&dir.join(format!("{name}.toml"))).unwrap();
                ((*name).to_string(), Arc::new(flow))
            })
            .collect();
        let t0 = Instant::now();
        let engine = Engine::new(
            Arc::new(config),
            flows,
            EngineOptions::default(),
            Box::new(CountingLegs(0)),
            t0,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        )
        .unwrap();
        Harness {
            engine,
            now: t0,
            sent: Vec::new(),
            writes: Vec::new(),
            log: Vec::new(),
            media: Vec::new(),
        }
    }

    /// Ends every playback the engine started and has not seen end (the media plane's part).
    fn finish_playbacks(&mut self) {
        loop {
            let plays: Vec<_> = self
                .media
                .drain(..)
                .filter_map(|c| match c {
                    MediaCommand::Play { leg, playback, .. } => Some((leg, playback)),
                    _ => None,
                })
                .collect();
            if plays.is_empty() {
                return;
            }
            for (leg, playback) in plays {
                self.engine
                    .handle_media(self.now, MediaEvent::PlaybackFinished { leg, playback });
                self.pump();
            }
        }
    }

    fn prompts_played(&self) -> Vec<String> {
        self.media
            .iter()
            .flat_map(|c| match c {
                MediaCommand::Play { prompts, .. } => prompts.clone(),
                _ => Vec::new(),
            })
            .collect()
    }

    fn press(&mut self, leg: LegId, digit: char) {
        self.engine
            .handle_media(self.now, MediaEvent::Dtmf { leg, digit });
        self.pump();
    }

    fn pump(&mut self) {
        loop {
            let mut tickets = Vec::new();
            while let Some(out) = self.engine.poll_output() {
                match out {
                    Output::Transmit { peer, bytes } => {
                        let msg = parse(&bytes, &Limits::default()).expect("we send valid SIP");
                        self.log.push(match &msg {
                            SipMessage::Request(r) => format!("sip:{}", r.method),
                            SipMessage::Response(r) => format!("sip:{}", r.status_code.code()),
                        });
                        self.sent.push((peer.remote, msg));
                    }
                    Output::Store { ticket, op } => {
                        if let WriteOp::Append(events) | WriteOp::Record { events, .. } = &op {
                            for e in events {
                                self.log.push(format!("store:{}", e.kind));
                            }
                        }
                        self.writes.push(op);
                        tickets.push(ticket);
                    }
                    Output::Media(command) => self.media.push(command),
                }
            }
            if tickets.is_empty() {
                return;
            }
            for t in tickets {
                self.engine.handle_store(self.now, t, true);
            }
        }
    }

    fn deliver(&mut self, peer: Peer, text: &str) {
        let msg = parse(text.as_bytes(), &Limits::default()).expect("test message parses");
        self.engine.handle_sip(self.now, peer, msg);
        self.pump();
    }

    fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        while let Some(t) = self.engine.poll_timeout().filter(|t| *t <= end) {
            self.now = t.max(self.now);
            self.engine.handle_timeout(self.now);
            self.pump();
        }
        self.now = end;
        self.engine.handle_timeout(end);
        self.pump();
    }

    /// Messages sent to `to` since index `from`.
    fn sent_to(&self, to: SocketAddr) -> Vec<SipMessage> {
        self.sent
            .iter()
            .filter(|(r, _)| *r == to)
            .map(|(_, m)| m.clone())
            .collect()
    }

    fn last_request_to(&self, to: SocketAddr, method: Method) -> Option<rsip::Request> {
        self.sent_to(to).into_iter().rev().find_map(|m| match m {
            SipMessage::Request(r) if r.method == method => Some(r),
            _ => None,
        })
    }

    fn responses_to(&self, to: SocketAddr) -> Vec<u16> {
        self.sent_to(to)
            .into_iter()
            .filter_map(|m| match m {
                SipMessage::Response(r) => Some(r.status_code.code()),
                _ => None,
            })
            .collect()
    }

    fn queue_log(&self) -> Vec<String> {
        self.writes
            .iter()
            .flat_map(|w| match w {
                WriteOp::Record { queue_log, .. } | WriteOp::FinishCall { queue_log, .. } => {
                    queue_log.iter().map(|l| l.event().to_string()).collect()
                }
                _ => Vec::new(),
            })
            .collect()
    }

    fn cdr(&self) -> Option<switchboard_store::Cdr> {
        self.writes.iter().find_map(|w| match w {
            WriteOp::FinishCall { cdr, .. } => Some((**cdr).clone()),
            _ => None,
        })
    }

    /// REGISTER with a digest answer to the challenge.
    fn register(&mut self, agent: &str, n: u16) {
        let peer = phone(n);
        let reg = |auth: &str, cseq: u32| {
            format!(
                "REGISTER sip:127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {r};branch=z9hG4bKreg{agent}{cseq}\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:{agent}@127.0.0.1>;tag=r{agent}\r\nTo: <sip:{agent}@127.0.0.1>\r\n\
                 Call-ID: reg-{agent}\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:{agent}@{r}>\r\nExpires: 600\r\n\
                 {auth}Content-Length: 0\r\n\r\n",
                r = peer.remote
            )
        };
        self.deliver(peer, &reg("", 1));
        let challenge = self
            .sent_to(peer.remote)
            .into_iter()
            .rev()
            .find_map(|m| match m {
                SipMessage::Response(r) if r.status_code.code() == 401 => Some(r),
                _ => None,
            })
            .expect("401 challenge");
        let www = challenge
            .headers
            .iter()
            .find_map(|h| match h {
                rsip::Header::WwwAuthenticate(w) => {
                    Some(rsip::headers::UntypedHeader::value(w).to_string())
                }
                _ => None,
            })
            .expect("WWW-Authenticate");
        let nonce = www
            .split("nonce=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap()
            .to_string();
        let draft = format!(
            "Digest username=\"{agent}\", realm=\"switchboard\", nonce=\"{nonce}\", uri=\"sip:127.0.0.1:5060\", \
             response=\"0\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"c{agent}\""
        );
        let creds = parse_credentials(&draft).unwrap();
        let response = compute_response(&creds, "secret", "REGISTER");
        let auth = draft.replace("response=\"0\"", &format!("response=\"{response}\""));
        self.deliver(peer, &reg(&format!("Authorization: {auth}\r\n"), 2));
        assert_eq!(
            self.responses_to(peer.remote).last(),
            Some(&200),
            "registered"
        );
    }

    fn trunk_invite(&mut self, dnis: &str, id: &str) {
        self.trunk_invite_with(dnis, id, "");
    }

    fn trunk_invite_with(&mut self, dnis: &str, id: &str, extra: &str) {
        let text = format!(
            "INVITE sip:{dnis}@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5080;branch=z9hG4bKinv{id}\r\n\
             Max-Forwards: 70\r\nFrom: \"Alice\" <sip:5551234@127.0.0.2>;tag=t{id}\r\nTo: <sip:{dnis}@127.0.0.1>\r\n\
             Call-ID: call-{id}\r\nCSeq: 1 INVITE\r\nContact: <sip:5551234@127.0.0.2:5080>\r\n{extra}\
             Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
            SDP.len()
        );
        self.deliver(trunk(), &text);
    }

    /// The trunk's in-dialog request (ACK or BYE) on the call answered with `ok`.
    fn trunk_in_dialog(&mut self, id: &str, method: &str, cseq: u32) {
        let ok = self
            .sent_to(trunk().remote)
            .into_iter()
            .find_map(|m| match m {
                SipMessage::Response(r) if r.status_code.code() == 200 => Some(r),
                _ => None,
            })
            .expect("the trunk call was answered");
        let to = rsip::headers::UntypedHeader::value(ok.to_header().unwrap()).to_string();
        let text = format!(
            "{method} sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5080;branch=z9hG4bK{method}{id}{cseq}\r\n\
             Max-Forwards: 70\r\nFrom: \"Alice\" <sip:5551234@127.0.0.2>;tag=t{id}\r\nTo: {to}\r\n\
             Call-ID: call-{id}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n"
        );
        self.deliver(trunk(), &text);
    }

    /// The phone's response to the engine's INVITE.
    fn phone_answers(&mut self, n: u16, code: u16, reason: &str) {
        let peer = phone(n);
        let invite = self
            .last_request_to(peer.remote, Method::Invite)
            .expect("the phone was invited");
        let mut text = format!("SIP/2.0 {code} {reason}\r\n");
        for h in invite.headers.iter() {
            match h {
                rsip::Header::Via(_)
                | rsip::Header::From(_)
                | rsip::Header::CallId(_)
                | rsip::Header::CSeq(_) => {
                    text.push_str(&format!("{h}\r\n"));
                }
                rsip::Header::To(to) => {
                    text.push_str(&format!(
                        "To: {};tag=ph{n}\r\n",
                        rsip::headers::UntypedHeader::value(to)
                    ));
                }
                _ => {}
            }
        }
        text.push_str(&format!("Contact: <sip:100{n}@{}>\r\n", peer.remote));
        if code == 200 {
            let body = SDP.replace("127.0.0.2", "127.0.0.1");
            text.push_str(&format!(
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ));
        } else {
            text.push_str("Content-Length: 0\r\n\r\n");
        }
        self.deliver(peer, &text);
    }

    fn agent_state(&self, agent: &str) -> AgentState {
        self.engine.router().agent(agent).unwrap().state
    }
}

#[test]
fn trunk_call_to_201_rings_the_registered_agent_bridges_and_writes_the_cdr() {
    let mut h = Harness::new("longest-idle");
    h.register("1001", 1);
    assert_eq!(h.agent_state("1001"), AgentState::Ready);
    h.trunk_invite("201", "a");
    // 100 Trying from the layer, then our 200 with SDP (media anchored).
    assert_eq!(h.responses_to(trunk().remote), vec![100, 200]);
    let invite = h
        .last_request_to(phone(1).remote, Method::Invite)
        .expect("the agent's phone is invited");
    assert_eq!(
        invite.uri.to_string(),
        format!("sip:1001@{}", phone(1).remote)
    );
    let from = rsip::headers::UntypedHeader::value(invite.from_header().unwrap()).to_string();
    assert!(
        from.starts_with("\"5551234\""),
        "caller's number as display: {from}"
    );
    assert!(
        invite
            .headers
            .iter()
            .any(|h| matches!(h, rsip::Header::Other(n, _) if n == "X-Switchboard-Call-Id"))
    );
    // The screen-pop is journaled before the INVITE leaves.
    let alert = h
        .log
        .iter()
        .position(|l| l == "store:AgentAlerting")
        .unwrap();
    let sent = h.log.iter().position(|l| l == "sip:INVITE").unwrap();
    assert!(alert < sent, "{:?}", h.log);
    h.trunk_in_dialog("a", "ACK", 1);
    h.advance(Duration::from_secs(2));
    h.phone_answers(1, 200, "OK");
    assert!(
        h.last_request_to(phone(1).remote, Method::Ack).is_some(),
        "agent 2xx ACKed"
    );
    assert!(matches!(h.agent_state("1001"), AgentState::OnCall { .. }));
    h.advance(Duration::from_secs(30));
    h.trunk_in_dialog("a", "BYE", 2);
    assert!(
        h.last_request_to(phone(1).remote, Method::Bye).is_some(),
        "agent released"
    );
    assert!(matches!(h.agent_state("1001"), AgentState::WrapUp { .. }));
    assert_eq!(
        h.queue_log(),
        vec!["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
    );
    let cdr = h.cdr().expect("CDR written");
    assert_eq!(cdr.disposition, Disposition::Answered);
    assert_eq!(cdr.agent.as_deref(), Some("1001"));
    assert_eq!(cdr.src, "5551234");
    assert_eq!(cdr.dst, "201");
    assert_eq!(cdr.hangup_side, Some(HangupSide::Caller));
    assert_eq!(cdr.billsec(), 32);
    assert!(cdr.recording_path.is_some(), "queue records");
    h.advance(Duration::from_secs(6));
    assert_eq!(h.agent_state("1001"), AgentState::Ready, "wrap-up over");
    assert_eq!(h.engine.call_count(), 0);
}

#[test]
fn agent_hangup_releases_the_caller_with_bye_and_logs_completeagent() {
    let mut h = Harness::new("longest-idle");
    h.register("1001", 1);
    h.trunk_invite("201", "b");
    h.trunk_in_dialog("b", "ACK", 1);
    h.phone_answers(1, 200, "OK");
    let ok = h.last_request_to(phone(1).remote, Method::Ack).unwrap();
    let to = rsip::headers::UntypedHeader::value(ok.to_header().unwrap()).to_string();
    let from = rsip::headers::UntypedHeader::value(ok.from_header().unwrap()).to_string();
    let call_id = rsip::headers::UntypedHeader::value(ok.call_id_header().unwrap()).to_string();
    // The phone's BYE: its From is our To and the other way round.
    let bye = format!(
        "BYE sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKbye1\r\n\
         Max-Forwards: 70\r\nFrom: {to}\r\nTo: {from}\r\nCall-ID: {call_id}\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
        phone(1).remote
    );
    h.deliver(phone(1), &bye);
    assert_eq!(h.responses_to(phone(1).remote).last(), Some(&200));
    assert!(
        h.last_request_to(trunk().remote, Method::Bye).is_some(),
        "caller released"
    );
    assert_eq!(
        h.queue_log(),
        vec!["ENTERQUEUE", "CONNECT", "COMPLETEAGENT"]
    );
    assert_eq!(h.cdr().unwrap().hangup_side, Some(HangupSide::Agent));
}

#[test]
fn caller_hanging_up_while_queued_is_an_abandon() {
    let mut h = Harness::new("longest-idle");
    h.trunk_invite("201", "c");
    h.trunk_in_dialog("c", "ACK", 1);
    h.advance(Duration::from_secs(12));
    h.trunk_in_dialog("c", "BYE", 2);
    assert_eq!(h.queue_log(), vec!["ENTERQUEUE", "ABANDON"]);
    let cdr = h.cdr().unwrap();
    assert_eq!(cdr.disposition, Disposition::NoAnswer);
    assert_eq!(cdr.end_reason, "abandon");
    assert_eq!(cdr.wait_seconds, Some(12));
    assert_eq!(h.engine.call_count(), 0);
}

#[test]
fn caller_hanging_up_while_the_agent_rings_cancels_the_agent_and_frees_it() {
    let mut h = Harness::new("longest-idle");
    h.register("1001", 1);
    h.trunk_invite("201", "d");
    h.phone_answers(1, 180, "Ringing");
    h.trunk_in_dialog("d", "BYE", 2);
    assert!(
        h.last_request_to(phone(1).remote, Method::Cancel).is_some(),
        "CANCEL to the ringing phone"
    );
    assert_eq!(h.queue_log(), vec!["ENTERQUEUE", "ABANDON"]);
    assert_eq!(h.agent_state("1001"), AgentState::Ready);
    // The phone confirms with 487; nothing changes, nobody is stuck Reserved.
    h.phone_answers(1, 487, "Request Terminated");
    assert_eq!(h.agent_state("1001"), AgentState::Ready);
}

#[test]
fn ring_timeout_cancels_the_phone_and_offers_the_next_agent() {
    let mut h = Harness::new("linear");
    h.register("1001", 1);
    h.register("1002", 2);
    h.trunk_invite("201", "e");
    let first = if h.last_request_to(phone(1).remote, Method::Invite).is_some() {
        1
    } else {
        2
    };
    let second = 3 - first;
    h.phone_answers(first, 180, "Ringing");
    h.advance(Duration::from_secs(16));
    assert!(
        h.last_request_to(phone(first).remote, Method::Cancel)
            .is_some(),
        "RONA CANCEL"
    );
    assert!(matches!(
        h.agent_state(&format!("100{first}")),
        AgentState::NotReady(_)
    ));
    assert!(
        h.last_request_to(phone(second).remote, Method::Invite)
            .is_some(),
        "next agent rung"
    );
    assert!(h.queue_log().contains(&"RINGNOANSWER".to_string()));
    h.phone_answers(second, 200, "OK");
    assert!(matches!(
        h.agent_state(&format!("100{second}")),
        AgentState::OnCall { .. }
    ));
}

#[test]
fn busy_agent_is_handled_as_rona_and_unreachable_as_failed() {
    let mut h = Harness::new("linear");
    h.register("1001", 1);
    h.trunk_invite("201", "f");
    h.phone_answers(1, 486, "Busy Here");
    assert!(matches!(h.agent_state("1001"), AgentState::NotReady(_)));
    assert!(h.queue_log().contains(&"RINGNOANSWER".to_string()));
    assert_eq!(h.engine.call_count(), 1, "the caller keeps waiting");
}

#[test]
fn ring_all_second_answer_gets_ack_and_bye() {
    let mut h = Harness::new("ring-all");
    h.register("1001", 1);
    h.register("1002", 2);
    h.trunk_invite("201", "g");
    assert!(h.last_request_to(phone(1).remote, Method::Invite).is_some());
    assert!(h.last_request_to(phone(2).remote, Method::Invite).is_some());
    // Provisionals first: a CANCEL waits for one (RFC 3261 §9.1).
    h.phone_answers(1, 180, "Ringing");
    h.phone_answers(2, 180, "Ringing");
    h.phone_answers(1, 200, "OK");
    assert!(
        h.last_request_to(phone(2).remote, Method::Cancel).is_some(),
        "loser cancelled"
    );
    // Both answered at once: the late 200 is ACKed and hung up.
    h.phone_answers(2, 200, "OK");
    assert!(h.last_request_to(phone(2).remote, Method::Ack).is_some());
    assert!(h.last_request_to(phone(2).remote, Method::Bye).is_some());
    assert!(matches!(h.agent_state("1001"), AgentState::OnCall { .. }));
    assert!(!matches!(
        h.agent_state("1002"),
        AgentState::Reserved { .. } | AgentState::OnCall { .. }
    ));
}

#[test]
fn unknown_dnis_gets_404_and_no_call() {
    let mut h = Harness::new("linear");
    h.trunk_invite("999", "h");
    assert_eq!(h.responses_to(trunk().remote).last(), Some(&404));
    assert_eq!(h.engine.call_count(), 0);
}

#[test]
fn invites_over_the_call_limit_get_503_with_retry_after() {
    let text = CONFIG.replace("STRATEGY", "linear");
    let config = switchboard_config::parse(&text, Path::new("t.toml")).unwrap();
    let t0 = Instant::now();
    let mut h = Harness::new("linear");
    h.engine = Engine::new(
        Arc::new(config),
        HashMap::new(),
        EngineOptions {
            max_calls: 1,
            ..EngineOptions::default()
        },
        Box::new(CountingLegs(0)),
        t0,
        SystemTime::UNIX_EPOCH,
    )
    .unwrap();
    h.now = t0;
    h.trunk_invite("201", "i1");
    h.trunk_invite("201", "i2");
    let last = h
        .sent_to(trunk().remote)
        .into_iter()
        .rev()
        .find_map(|m| match m {
            SipMessage::Response(r) if r.status_code.code() >= 200 => Some(r),
            _ => None,
        })
        .unwrap();
    assert_eq!(last.status_code.code(), 503);
    assert!(last.to_string().contains("Retry-After: "), "{last}");
    assert_eq!(
        h.engine.call_count(),
        1,
        "the established call keeps its service"
    );
}

const IVR_CONFIG: &str = r#"
[sip]
realm = "switchboard"
[sip.registrar]
digest_algorithms = ["MD5"]
keepalive_interval_seconds = 0
[[trunk]]
name = "carrier"
sources = ["127.0.0.2/32"]
[skills]
support = "Support"
sales = "Sales"
[agents]
login_on_register = true
[[agent]]
id = "1001"
password = "secret"
skills = { support = 5, sales = 5 }
[[queue]]
name = "support"
requirement = "support >= 1"
wrap_up_seconds = 5
survey = true
[[queue]]
name = "sales"
requirement = "sales >= 1"
[[ivr]]
name = "main"
[[route]]
dnis = "200"
ivr = "main"
[[route]]
dnis = "201"
queue = "support"
[[route]]
dnis = "202"
queue = "sales"
"#;

#[test]
fn dnis_200_runs_the_main_menu_and_digit_1_queues_for_sales_with_menu_in_the_screen_pop() {
    let mut h = Harness::with(IVR_CONFIG, &["main", "survey"]);
    h.trunk_invite("200", "m");
    assert_eq!(h.responses_to(trunk().remote), vec![100, 200]);
    let caller = h
        .media
        .iter()
        .find_map(|c| match c {
            MediaCommand::SetMedia { leg, .. } => Some(*leg),
            _ => None,
        })
        .unwrap();
    assert_eq!(h.prompts_played(), vec!["welcome"]);
    h.finish_playbacks();
    h.press(caller, '1');
    let queued = h
        .writes
        .iter()
        .find_map(|w| match w {
            WriteOp::Record { queue_log, .. } if !queue_log.is_empty() => {
                Some(queue_log[0].to_line())
            }
            _ => None,
        })
        .expect("ENTERQUEUE");
    assert!(queued.contains("|sales|NONE|ENTERQUEUE|"), "{queued}");
    h.register("1001", 1);
    let alerting = h
        .writes
        .iter()
        .find_map(|w| match w {
            WriteOp::Append(events) => events.iter().find(|e| e.kind == "AgentAlerting").cloned(),
            _ => None,
        })
        .expect("screen-pop");
    let payload = String::from_utf8(alerting.payload).unwrap();
    assert!(payload.contains(r#""menu":"sales""#), "{payload}");
    assert!(h.last_request_to(phone(1).remote, Method::Invite).is_some());
}

#[test]
fn silent_caller_in_the_main_menu_goes_to_support_after_the_digit_timeouts() {
    let mut h = Harness::with(IVR_CONFIG, &["main"]);
    h.trunk_invite("200", "n");
    for _ in 0..4 {
        h.finish_playbacks();
        h.advance(Duration::from_secs(6));
    }
    assert!(
        h.queue_log().first().is_some_and(|e| e == "ENTERQUEUE"),
        "{:?}",
        h.queue_log()
    );
    let line = h
        .writes
        .iter()
        .find_map(|w| match w {
            WriteOp::Record { queue_log, .. } if !queue_log.is_empty() => {
                Some(queue_log[0].to_line())
            }
            _ => None,
        })
        .unwrap();
    assert!(line.contains("|support|"), "{line}");
}

#[test]
fn agent_hangup_on_a_survey_queue_asks_the_caller_and_the_digit_goes_into_the_cdr() {
    let mut h = Harness::with(IVR_CONFIG, &["main", "survey"]);
    h.register("1001", 1);
    h.trunk_invite("201", "s");
    h.trunk_in_dialog("s", "ACK", 1);
    h.phone_answers(1, 200, "OK");
    let caller = h
        .media
        .iter()
        .find_map(|c| match c {
            MediaCommand::SetMedia { leg, .. } => Some(*leg),
            _ => None,
        })
        .unwrap();
    h.media.clear();
    let ack = h.last_request_to(phone(1).remote, Method::Ack).unwrap();
    let to = rsip::headers::UntypedHeader::value(ack.to_header().unwrap()).to_string();
    let from = rsip::headers::UntypedHeader::value(ack.from_header().unwrap()).to_string();
    let call_id = rsip::headers::UntypedHeader::value(ack.call_id_header().unwrap()).to_string();
    let bye = format!(
        "BYE sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKbyes\r\n\
         Max-Forwards: 70\r\nFrom: {to}\r\nTo: {from}\r\nCall-ID: {call_id}\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
        phone(1).remote
    );
    h.deliver(phone(1), &bye);
    // The agent is released at once (wrap-up); the caller stays for the survey.
    assert!(matches!(h.agent_state("1001"), AgentState::WrapUp { .. }));
    assert!(h.last_request_to(trunk().remote, Method::Bye).is_none());
    assert_eq!(h.prompts_played(), vec!["survey-rate-1-5"]);
    h.finish_playbacks();
    h.press(caller, '4');
    h.finish_playbacks();
    assert!(
        h.last_request_to(trunk().remote, Method::Bye).is_some(),
        "caller released after the survey"
    );
    let cdr = h.cdr().unwrap();
    assert_eq!(cdr.survey_score, Some(4));
    assert_eq!(cdr.hangup_side, Some(HangupSide::Agent));
    assert_eq!(
        h.queue_log(),
        vec!["ENTERQUEUE", "CONNECT", "COMPLETEAGENT"]
    );
}

#[test]
fn agent_hold_by_reinvite_sendonly_gives_the_caller_music_and_resume_stops_it() {
    let mut h = Harness::new("linear");
    h.register("1001", 1);
    h.trunk_invite("201", "hold");
    h.trunk_in_dialog("hold", "ACK", 1);
    h.phone_answers(1, 200, "OK");
    let caller = h
        .media
        .iter()
        .find_map(|c| match c {
            MediaCommand::SetMedia { leg, .. } => Some(*leg),
            _ => None,
        })
        .unwrap();
    let ack = h.last_request_to(phone(1).remote, Method::Ack).unwrap();
    let to = rsip::headers::UntypedHeader::value(ack.to_header().unwrap()).to_string();
    let from = rsip::headers::UntypedHeader::value(ack.from_header().unwrap()).to_string();
    let call_id = rsip::headers::UntypedHeader::value(ack.call_id_header().unwrap()).to_string();
    let reinvite = |cseq: u32, direction: &str| {
        let body = format!("{}a={direction}\r\n", SDP.replace("127.0.0.2", "127.0.0.1"));
        format!(
            "INVITE sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKre{cseq}\r\n\
             Max-Forwards: 70\r\nFrom: {to}\r\nTo: {from}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} INVITE\r\n\
             Contact: <sip:1001@{}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            phone(1).remote,
            phone(1).remote,
            body.len()
        )
    };
    h.media.clear();
    h.deliver(phone(1), &reinvite(10, "sendonly"));
    let ok = h
        .sent_to(phone(1).remote)
        .into_iter()
        .rev()
        .find_map(|m| match m {
            SipMessage::Response(r) if r.status_code.code() == 200 => Some(r),
            _ => None,
        })
        .unwrap();
    let answer = String::from_utf8(ok.body.clone()).unwrap();
    assert!(
        answer.contains("a=recvonly"),
        "RFC 3264 §8.4 answer to sendonly: {answer}"
    );
    assert!(
        h.media
            .iter()
            .any(|c| matches!(c, MediaCommand::MusicOnHold { leg, .. } if *leg == caller)),
        "the caller hears music: {:?}",
        h.media
    );
    h.media.clear();
    h.deliver(phone(1), &reinvite(11, "sendrecv"));
    assert!(
        h.media
            .iter()
            .any(|c| matches!(c, MediaCommand::Stop { leg } if *leg == caller))
    );
    assert!(matches!(h.agent_state("1001"), AgentState::OnCall { .. }));
}

#[test]
fn blind_transfer_by_refer_keeps_the_caller_and_call_id_and_queues_it_for_the_target() {
    let mut h = Harness::with(IVR_CONFIG, &[]);
    h.register("1001", 1);
    h.trunk_invite("201", "x");
    h.trunk_in_dialog("x", "ACK", 1);
    h.phone_answers(1, 200, "OK");
    let ack = h.last_request_to(phone(1).remote, Method::Ack).unwrap();
    let to = rsip::headers::UntypedHeader::value(ack.to_header().unwrap()).to_string();
    let from = rsip::headers::UntypedHeader::value(ack.from_header().unwrap()).to_string();
    let call_id = rsip::headers::UntypedHeader::value(ack.call_id_header().unwrap()).to_string();
    let refer = format!(
        "REFER sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKref1\r\n\
         Max-Forwards: 70\r\nFrom: {to}\r\nTo: {from}\r\nCall-ID: {call_id}\r\nCSeq: 3 REFER\r\n\
         Contact: <sip:1001@{}>\r\nRefer-To: <sip:202@127.0.0.1>\r\nContent-Length: 0\r\n\r\n",
        phone(1).remote,
        phone(1).remote
    );
    h.deliver(phone(1), &refer);
    assert!(
        h.responses_to(phone(1).remote).contains(&202),
        "{:?}",
        h.responses_to(phone(1).remote)
    );
    let notify = h
        .last_request_to(phone(1).remote, Method::Notify)
        .expect("NOTIFY");
    assert!(String::from_utf8_lossy(&notify.body).starts_with("SIP/2.0 200"));
    assert!(
        h.last_request_to(phone(1).remote, Method::Bye).is_some(),
        "agent leg released"
    );
    assert!(
        h.last_request_to(trunk().remote, Method::Bye).is_none(),
        "customer stays"
    );
    assert!(matches!(h.agent_state("1001"), AgentState::WrapUp { .. }));
    assert_eq!(
        h.queue_log(),
        vec!["ENTERQUEUE", "CONNECT", "TRANSFER", "ENTERQUEUE"]
    );
    // Wrap-up over: 1001 (sales 5) takes the transferred call from the sales queue.
    h.advance(Duration::from_secs(6));
    // Distinct INVITEs (UDP retransmissions share a Call-ID).
    let invites: std::collections::BTreeSet<String> = h
        .sent_to(phone(1).remote)
        .into_iter()
        .filter_map(|m| match m {
            SipMessage::Request(r) if r.method == Method::Invite => {
                Some(rsip::headers::UntypedHeader::value(r.call_id_header().unwrap()).to_string())
            }
            _ => None,
        })
        .collect();
    assert_eq!(invites.len(), 2);
    h.phone_answers(1, 200, "OK");
    h.trunk_in_dialog("x", "BYE", 2);
    assert_eq!(
        h.queue_log(),
        vec![
            "ENTERQUEUE",
            "CONNECT",
            "TRANSFER",
            "ENTERQUEUE",
            "CONNECT",
            "COMPLETECALLER"
        ]
    );
    let cdrs = h
        .writes
        .iter()
        .filter(|w| matches!(w, WriteOp::FinishCall { .. }))
        .count();
    assert_eq!(cdrs, 1, "one call, one CDR");
    assert_eq!(h.cdr().unwrap().queue.as_deref(), Some("sales"));
}

#[test]
fn api_commands_set_agent_state_and_hang_up_a_waiting_call() {
    use crate::{CommandError, EngineCommand};
    let mut h = Harness::new("linear");
    h.register("1001", 1);
    h.engine
        .handle_command(
            h.now,
            EngineCommand::SetAgentState {
                agent: "1001".into(),
                state: switchboard_acd::RequestedState::NotReady("lunch".into()),
            },
        )
        .unwrap();
    h.pump();
    assert!(matches!(h.agent_state("1001"), AgentState::NotReady(_)));
    h.trunk_invite("201", "api");
    assert!(
        h.last_request_to(phone(1).remote, Method::Invite).is_none(),
        "not ready: no offer"
    );
    let call_id = h.cdr().map(|c| c.call_id);
    assert!(call_id.is_none());
    let started = h
        .writes
        .iter()
        .find_map(|w| match w {
            WriteOp::Append(events) => events.iter().find(|e| e.kind == "CallStarted").cloned(),
            _ => None,
        })
        .unwrap();
    let call_id = started.call_id.unwrap();
    assert_eq!(
        h.engine.handle_command(
            h.now,
            EngineCommand::Hangup {
                call_id: "nope".into()
            }
        ),
        Err(CommandError::UnknownCall("nope".into()))
    );
    h.engine
        .handle_command(
            h.now,
            EngineCommand::Hangup {
                call_id: call_id.clone(),
            },
        )
        .unwrap();
    h.pump();
    assert!(h.last_request_to(trunk().remote, Method::Bye).is_some());
    let cdr = h.cdr().unwrap();
    assert_eq!(cdr.call_id, call_id);
    assert_eq!(cdr.end_reason, "api-hangup");
    assert_eq!(h.engine.call_count(), 0);
}

#[test]
fn an_agent_whose_registration_expires_is_logged_out_and_gets_no_offer() {
    let mut h = Harness::new("linear");
    h.register("1001", 1);
    assert_eq!(h.agent_state("1001"), AgentState::Ready);
    // The REGISTER asked for 600 s; nothing refreshes it.
    h.advance(Duration::from_secs(601));
    assert_eq!(h.agent_state("1001"), AgentState::LoggedOut);
    h.trunk_invite("201", "exp");
    assert!(h.last_request_to(phone(1).remote, Method::Invite).is_none());
    assert_eq!(h.engine.call_count(), 1, "the caller waits in the queue");
    // The phone registers again: the waiting call is offered at once.
    h.register("1001", 1);
    assert!(h.last_request_to(phone(1).remote, Method::Invite).is_some());
}

#[test]
fn a_caller_session_never_refreshed_is_ended_and_the_agent_released() {
    let mut h = Harness::new("linear");
    h.register("1001", 1);
    h.trunk_invite_with("201", "st", "Session-Expires: 120\r\nSupported: timer\r\n");
    let ok = h
        .sent_to(trunk().remote)
        .into_iter()
        .find_map(|m| match m {
            SipMessage::Response(r) if r.status_code.code() == 200 => Some(r),
            _ => None,
        })
        .unwrap();
    let text = ok.to_string();
    assert!(
        text.contains("Session-Expires: 120;refresher=uac"),
        "{text}"
    );
    assert!(text.contains("Require: timer"), "{text}");
    h.trunk_in_dialog("st", "ACK", 1);
    h.phone_answers(1, 200, "OK");
    // A refresh (UPDATE) at 60 s keeps the call up past the first expiry.
    h.advance(Duration::from_secs(60));
    h.trunk_in_dialog("st", "UPDATE", 2);
    h.advance(Duration::from_secs(60));
    assert_eq!(
        h.engine.call_count(),
        1,
        "refreshed at 60 s: alive at 120 s"
    );
    // Then silence: 120 s - 32 s after the refresh the call is ended (RFC 4028 §10).
    h.advance(Duration::from_secs(30));
    assert_eq!(h.engine.call_count(), 0);
    assert!(h.last_request_to(trunk().remote, Method::Bye).is_some());
    assert!(h.last_request_to(phone(1).remote, Method::Bye).is_some());
    assert!(!matches!(h.agent_state("1001"), AgentState::OnCall { .. }));
    assert_eq!(h.cdr().unwrap().end_reason, "session-expired");
}
