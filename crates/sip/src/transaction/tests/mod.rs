//! The layer driven on a simulated clock: every timer and transition of the four machines over
//! UDP and TCP, matching, CANCEL, overload. No sockets, no sleeps. This file holds the harness;
//! the tests are grouped by machine in the sibling files.

mod client;
mod layer;
mod server_invite;
mod server_non_invite;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rsip::{Request, Response, SipMessage, StatusCode};

use super::*;
use crate::message::response_to;
use crate::{Peer, Transport};

pub(super) const T1: Duration = Duration::from_millis(500);
pub(super) const T2: Duration = Duration::from_secs(4);
pub(super) const T4: Duration = Duration::from_secs(5);

pub(super) fn peer(transport: Transport) -> Peer {
    Peer {
        transport,
        remote: SocketAddr::from(([192, 0, 2, 10], 5060)),
        local: SocketAddr::from(([192, 0, 2, 1], 5060)),
    }
}

pub(super) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A request as a trunk would send it. `to_tag` makes it in-dialog.
pub(super) fn request(method: &str, branch: &str, cseq: u32, to_tag: Option<&str>) -> Request {
    let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    let raw = format!(
        "{method} sip:queue@sb.example SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.10:5060;branch={branch}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:caller@trunk.example>;tag=from1\r\n\
         To: <sip:queue@sb.example>{to_tag}\r\n\
         Call-ID: call-1@trunk.example\r\n\
         CSeq: {cseq} {method}\r\n\
         Contact: <sip:caller@192.0.2.10:5060>\r\n\
         Content-Length: 0\r\n\r\n"
    );
    Request::try_from(raw.as_bytes()).expect("test request parses")
}

pub(super) fn invite(branch: &str) -> Request {
    request("INVITE", branch, 1, None)
}

/// The response a far end sends to a request we sent.
pub(super) fn answer(request: &Request, code: u16, to_tag: Option<&str>) -> Response {
    response_to(request, StatusCode::from(code), to_tag)
}

/// The first line of a transmitted message.
pub(super) fn first_line(bytes: &Bytes) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

pub(super) struct Harness {
    pub(super) layer: TransactionLayer,
    pub(super) t0: Instant,
    pub(super) now: Instant,
    /// (time since t0, first line) of everything transmitted.
    pub(super) sent: Vec<(Duration, String, Bytes)>,
    pub(super) events: Vec<TransactionEvent>,
}

impl Harness {
    pub(super) fn new() -> Self {
        Self::with_config(Config::default())
    }

    pub(super) fn with_config(config: Config) -> Self {
        let t0 = Instant::now();
        Harness {
            layer: TransactionLayer::new(config),
            t0,
            now: t0,
            sent: Vec::new(),
            events: Vec::new(),
        }
    }

    pub(super) fn drain(&mut self) {
        while let Some(output) = self.layer.poll_output() {
            match output {
                Output::Transmit { bytes, .. } => {
                    self.sent
                        .push((self.now - self.t0, first_line(&bytes), bytes))
                }
                Output::Event(event) => self.events.push(event),
            }
        }
    }

    pub(super) fn input(
        &mut self,
        input: Input,
    ) -> Result<Option<TransactionId>, TransactionError> {
        let result = self.layer.handle_input(self.now, input);
        self.drain();
        result
    }

    pub(super) fn receive(&mut self, transport: Transport, message: impl Into<SipMessage>) {
        self.input(Input::Message {
            peer: peer(transport),
            message: message.into(),
        })
        .expect("message is matchable");
    }

    pub(super) fn respond(&mut self, id: TransactionId, response: Response) {
        self.input(Input::Respond { id, response })
            .expect("response accepted");
    }

    pub(super) fn send(&mut self, transport: Transport, request: Request) -> TransactionId {
        self.input(Input::SendRequest {
            peer: peer(transport),
            request,
        })
        .expect("request accepted")
        .expect("a client transaction id")
    }

    /// Advances the clock to `t0 + at`, firing every timer on the way at its own deadline.
    pub(super) fn run_until(&mut self, at: Duration) {
        let target = self.t0 + at;
        while let Some(deadline) = self.layer.poll_timeout() {
            if deadline > target {
                break;
            }
            self.now = self.now.max(deadline);
            self.layer.handle_timeout(self.now);
            self.drain();
        }
        self.now = target;
    }

    pub(super) fn take_sent(&mut self) -> Vec<(Duration, String)> {
        self.sent.drain(..).map(|(t, line, _)| (t, line)).collect()
    }

    pub(super) fn take_events(&mut self) -> Vec<TransactionEvent> {
        std::mem::take(&mut self.events)
    }

    /// The id of the single new-request event so far.
    pub(super) fn new_request_id(&mut self) -> TransactionId {
        let ids: Vec<_> = self
            .events
            .iter()
            .filter_map(|e| match e {
                TransactionEvent::Request { id, .. } => Some(*id),
                _ => None,
            })
            .collect();
        assert_eq!(ids.len(), 1, "exactly one new request: {:?}", self.events);
        self.events.clear();
        ids[0]
    }
}

pub(super) fn times_of(sent: &[(Duration, String)], line: &str) -> Vec<Duration> {
    sent.iter()
        .filter(|(_, l)| l.starts_with(line))
        .map(|(t, _)| *t)
        .collect()
}

pub(super) fn terminated(events: &[TransactionEvent], id: TransactionId) -> bool {
    events
        .iter()
        .any(|e| matches!(e, TransactionEvent::Terminated { id: i } if *i == id))
}

pub(super) fn our_invite(branch: &str) -> Request {
    let raw = format!(
        "INVITE sip:agent1@192.0.2.10:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch={branch};rport\r\n\
         Max-Forwards: 70\r\n\
         Route: <sip:proxy.example;lr>\r\n\
         From: <sip:queue@sb.example>;tag=sbtag\r\n\
         To: <sip:agent1@sb.example>\r\n\
         Call-ID: leg-2@sb.example\r\n\
         CSeq: 101 INVITE\r\n\
         Contact: <sip:sb@192.0.2.1:5060>\r\n\
         Content-Length: 0\r\n\r\n"
    );
    Request::try_from(raw.as_bytes()).expect("test INVITE parses")
}
