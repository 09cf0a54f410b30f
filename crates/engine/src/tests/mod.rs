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
                        if let WriteOp::Append(events)
                        | WriteOp::Record { events, .. }
                        | WriteOp::FinishCall { events, .. } = &op
                        {
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
                SipMessage::Response(r)
                    if r.status_code.code() == 200
                        && r.call_id_header().is_ok_and(|c| {
                            rsip::headers::UntypedHeader::value(c) == format!("call-{id}")
                        }) =>
                {
                    Some(r)
                }
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
        self.phone_answers_tagged(n, code, reason, &format!("ph{n}"));
    }

    /// The phone's response to the engine's INVITE, under its own `to_tag`.
    fn phone_answers_tagged(&mut self, n: u16, code: u16, reason: &str, to_tag: &str) {
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
                        "To: {};tag={to_tag}\r\n",
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

mod attended;
mod consultation;
mod control;
mod features;
mod offerless;
mod outbound;
mod path;
mod properties;
mod query;
