//! The layer driven on a simulated clock: every timer and transition of the four machines over
//! UDP and TCP, matching, CANCEL, overload. No sockets, no sleeps.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;
use rsip::headers::UntypedHeader;
use rsip::prelude::HeadersExt;
use rsip::{Header, Request, Response, SipMessage, StatusCode};

use super::*;
use crate::message::response_to;
use crate::{Peer, Transport};

const T1: Duration = Duration::from_millis(500);
const T2: Duration = Duration::from_secs(4);
const T4: Duration = Duration::from_secs(5);

fn peer(transport: Transport) -> Peer {
    Peer {
        transport,
        remote: SocketAddr::from(([192, 0, 2, 10], 5060)),
        local: SocketAddr::from(([192, 0, 2, 1], 5060)),
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A request as a trunk would send it. `to_tag` makes it in-dialog.
fn request(method: &str, branch: &str, cseq: u32, to_tag: Option<&str>) -> Request {
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

fn invite(branch: &str) -> Request {
    request("INVITE", branch, 1, None)
}

/// The response a far end sends to a request we sent.
fn answer(request: &Request, code: u16, to_tag: Option<&str>) -> Response {
    response_to(request, StatusCode::from(code), to_tag)
}

/// The first line of a transmitted message.
fn first_line(bytes: &Bytes) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

struct Harness {
    layer: TransactionLayer,
    t0: Instant,
    now: Instant,
    /// (time since t0, first line) of everything transmitted.
    sent: Vec<(Duration, String, Bytes)>,
    events: Vec<TransactionEvent>,
}

impl Harness {
    fn new() -> Self {
        Self::with_config(Config::default())
    }

    fn with_config(config: Config) -> Self {
        let t0 = Instant::now();
        Harness {
            layer: TransactionLayer::new(config),
            t0,
            now: t0,
            sent: Vec::new(),
            events: Vec::new(),
        }
    }

    fn drain(&mut self) {
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

    fn input(&mut self, input: Input) -> Result<Option<TransactionId>, TransactionError> {
        let result = self.layer.handle_input(self.now, input);
        self.drain();
        result
    }

    fn receive(&mut self, transport: Transport, message: impl Into<SipMessage>) {
        self.input(Input::Message {
            peer: peer(transport),
            message: message.into(),
        })
        .expect("message is matchable");
    }

    fn respond(&mut self, id: TransactionId, response: Response) {
        self.input(Input::Respond { id, response })
            .expect("response accepted");
    }

    fn send(&mut self, transport: Transport, request: Request) -> TransactionId {
        self.input(Input::SendRequest {
            peer: peer(transport),
            request,
        })
        .expect("request accepted")
        .expect("a client transaction id")
    }

    /// Advances the clock to `t0 + at`, firing every timer on the way at its own deadline.
    fn run_until(&mut self, at: Duration) {
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

    fn take_sent(&mut self) -> Vec<(Duration, String)> {
        self.sent.drain(..).map(|(t, line, _)| (t, line)).collect()
    }

    fn take_events(&mut self) -> Vec<TransactionEvent> {
        std::mem::take(&mut self.events)
    }

    /// The id of the single new-request event so far.
    fn new_request_id(&mut self) -> TransactionId {
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

fn times_of(sent: &[(Duration, String)], line: &str) -> Vec<Duration> {
    sent.iter()
        .filter(|(_, l)| l.starts_with(line))
        .map(|(t, _)| *t)
        .collect()
}

fn terminated(events: &[TransactionEvent], id: TransactionId) -> bool {
    events
        .iter()
        .any(|e| matches!(e, TransactionEvent::Terminated { id: i } if *i == id))
}

// ---------------------------------------------------------------- INVITE server

#[test]
fn server_invite_sends_100_trying_at_once_and_reports_the_request_once() {
    let mut h = Harness::new();
    h.receive(Transport::Udp, invite("z9hG4bK-a"));
    assert_eq!(h.take_sent(), vec![(ms(0), "SIP/2.0 100 Trying".into())]);
    let id = h.new_request_id();
    assert_eq!(h.layer.len(), 1);
    // A retransmission draws the 100 again and never reaches the TU.
    h.run_until(T1);
    h.receive(Transport::Udp, invite("z9hG4bK-a"));
    assert_eq!(h.take_sent(), vec![(T1, "SIP/2.0 100 Trying".into())]);
    assert!(h.take_events().is_empty());
    assert_eq!(h.layer.stats().retransmissions_absorbed, 1);
    // The TU's answer ends the 100s.
    h.respond(
        id,
        response_to(&invite("z9hG4bK-a"), StatusCode::Ringing, Some("sb1")),
    );
    assert_eq!(times_of(&h.take_sent(), "SIP/2.0 180"), vec![T1]);
}

#[test]
fn retransmitted_invite_gets_the_last_provisional() {
    let mut h = Harness::new();
    let inv = invite("z9hG4bK-a");
    h.receive(Transport::Udp, inv.clone());
    let id = h.new_request_id();
    h.respond(id, response_to(&inv, StatusCode::Ringing, Some("sb1")));
    h.take_sent();
    h.receive(Transport::Udp, inv);
    assert_eq!(h.take_sent(), vec![(ms(0), "SIP/2.0 180 Ringing".into())]);
}

#[test]
fn server_invite_retransmits_final_response_until_ack() {
    let mut h = Harness::new();
    let inv = invite("z9hG4bK-a");
    h.receive(Transport::Udp, inv.clone());
    let id = h.new_request_id();
    h.take_sent();
    h.respond(id, response_to(&inv, StatusCode::BusyHere, Some("sb1")));
    // Timer G: T1, 2·T1, 4·T1, then capped at T2.
    h.run_until(ms(500 + 1000 + 2000 + 4000 + 4000));
    let sent = h.take_sent();
    assert_eq!(
        times_of(&sent, "SIP/2.0 486"),
        vec![ms(0), ms(500), ms(1500), ms(3500), ms(7500), ms(11500)]
    );
    // A retransmitted INVITE in Completed is answered with the final too.
    h.receive(Transport::Udp, inv.clone());
    assert_eq!(times_of(&h.take_sent(), "SIP/2.0 486"), vec![ms(11500)]);
    // The ACK (same branch) stops it: Confirmed, ACK retransmissions absorbed, not to the TU.
    let mut ack = request("ACK", "z9hG4bK-a", 1, Some("sb1"));
    ack.uri = inv.uri.clone();
    h.receive(Transport::Udp, ack.clone());
    h.receive(Transport::Udp, ack);
    h.run_until(ms(11500) + T4 - ms(1));
    assert!(h.take_sent().is_empty());
    assert!(
        h.take_events().is_empty(),
        "ACK for a non-2xx is not the TU's"
    );
    // Timer I ends it.
    h.run_until(ms(11500) + T4);
    assert!(terminated(&h.take_events(), id));
    assert!(h.layer.is_empty());
}

#[test]
fn server_invite_gives_up_after_timer_h_without_ack() {
    let mut h = Harness::new();
    let inv = invite("z9hG4bK-a");
    h.receive(Transport::Udp, inv.clone());
    let id = h.new_request_id();
    h.respond(id, response_to(&inv, StatusCode::BusyHere, Some("sb1")));
    h.run_until(64 * T1 - ms(1));
    assert!(h.take_events().is_empty());
    h.run_until(64 * T1);
    let events = h.take_events();
    assert!(matches!(
        events.first(),
        Some(TransactionEvent::Timeout { id: i, timer: Timer::H }) if *i == id
    ));
    assert!(terminated(&events, id));
    assert!(h.layer.is_empty());
}

#[test]
fn server_invite_over_tcp_sends_the_final_once_and_ends_on_ack() {
    let mut h = Harness::new();
    let inv = invite("z9hG4bK-a");
    h.receive(Transport::Tcp, inv.clone());
    let id = h.new_request_id();
    h.respond(id, response_to(&inv, StatusCode::BusyHere, Some("sb1")));
    h.run_until(ms(20_000));
    assert_eq!(times_of(&h.take_sent(), "SIP/2.0 486"), vec![ms(0)]);
    h.receive(Transport::Tcp, request("ACK", "z9hG4bK-a", 1, Some("sb1")));
    // Timer I is zero on a reliable transport.
    assert!(terminated(&h.take_events(), id));
    assert!(h.layer.is_empty());
}

#[test]
fn uas_retransmits_2xx_until_the_ack_which_reaches_the_tu_once() {
    let mut h = Harness::new();
    let inv = invite("z9hG4bK-a");
    h.receive(Transport::Udp, inv.clone());
    let id = h.new_request_id();
    h.take_sent();
    h.respond(id, response_to(&inv, StatusCode::OK, Some("sb1")));
    h.run_until(ms(3600));
    assert_eq!(
        times_of(&h.take_sent(), "SIP/2.0 200"),
        vec![ms(0), ms(500), ms(1500), ms(3500)]
    );
    // The ACK for a 2xx has its own branch (§17.1.1.3); it is matched by dialog and CSeq.
    let ack = request("ACK", "z9hG4bK-ack", 1, Some("sb1"));
    h.receive(Transport::Udp, ack.clone());
    h.receive(Transport::Udp, ack);
    let events = h.take_events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(matches!(
        &events[0],
        TransactionEvent::Ack { invite: Some(i), .. } if *i == id
    ));
    h.run_until(64 * T1);
    assert!(h.take_sent().is_empty(), "no 2xx after the ACK");
    let events = h.take_events();
    assert!(terminated(&events, id));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, TransactionEvent::AckTimeout { .. }))
    );
}

#[test]
fn uas_2xx_retransmission_interval_caps_at_t2() {
    let mut h = Harness::new();
    let inv = invite("z9hG4bK-a");
    h.receive(Transport::Udp, inv.clone());
    let id = h.new_request_id();
    h.take_sent();
    h.respond(id, response_to(&inv, StatusCode::OK, Some("sb1")));
    h.run_until(ms(16_000));
    let times = times_of(&h.take_sent(), "SIP/2.0 200");
    let gaps: Vec<_> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps, vec![ms(500), ms(1000), ms(2000), T2, T2, T2]);
}

#[test]
fn unacked_2xx_reports_ack_timeout_after_64_t1() {
    let mut h = Harness::new();
    let inv = invite("z9hG4bK-a");
    h.receive(Transport::Tcp, inv.clone());
    let id = h.new_request_id();
    h.respond(id, response_to(&inv, StatusCode::OK, Some("sb1")));
    h.run_until(64 * T1 - ms(1));
    assert!(h.take_events().is_empty());
    h.run_until(64 * T1);
    let events = h.take_events();
    assert!(matches!(events.first(), Some(TransactionEvent::AckTimeout { id: i }) if *i == id));
    assert!(terminated(&events, id));
}

#[test]
fn accepted_state_absorbs_invite_retransmissions_until_timer_l() {
    let mut h = Harness::new();
    let inv = invite("z9hG4bK-a");
    h.receive(Transport::Tcp, inv.clone());
    let id = h.new_request_id();
    h.respond(id, response_to(&inv, StatusCode::OK, Some("sb1")));
    h.receive(
        Transport::Tcp,
        request("ACK", "z9hG4bK-ack", 1, Some("sb1")),
    );
    h.take_events();
    h.take_sent();
    h.run_until(ms(10_000));
    h.take_sent();
    h.receive(Transport::Tcp, inv.clone());
    assert!(
        h.take_sent().is_empty(),
        "RFC 6026: INVITE absorbed in Accepted"
    );
    assert!(h.take_events().is_empty());
    h.run_until(64 * T1);
    assert!(terminated(&h.take_events(), id));
    // After Timer L the same INVITE would be a new transaction (RFC 6026 §8.7 trade-off).
    h.receive(Transport::Tcp, inv);
    let _ = h.new_request_id();
}

#[test]
fn ack_after_timer_l_reaches_the_tu_without_a_transaction() {
    let mut h = Harness::new();
    h.receive(
        Transport::Udp,
        request("ACK", "z9hG4bK-late", 1, Some("sb1")),
    );
    let events = h.take_events();
    assert!(matches!(
        events.as_slice(),
        [TransactionEvent::Ack { invite: None, .. }]
    ));
}

#[test]
fn tu_may_send_2xx_again_in_accepted_but_no_other_final() {
    let mut h = Harness::new();
    let inv = invite("z9hG4bK-a");
    h.receive(Transport::Tcp, inv.clone());
    let id = h.new_request_id();
    h.respond(id, response_to(&inv, StatusCode::OK, Some("sb1")));
    h.respond(id, response_to(&inv, StatusCode::OK, Some("sb1")));
    let err = h.input(Input::Respond {
        id,
        response: response_to(&inv, StatusCode::BusyHere, Some("sb1")),
    });
    assert_eq!(err, Err(TransactionError::AlreadyFinal));
    assert_eq!(times_of(&h.take_sent(), "SIP/2.0 200").len(), 2);
}

// ---------------------------------------------------------------- CANCEL (server side)

#[test]
fn cancel_of_a_pending_invite_is_answered_200_and_reported_to_the_tu() {
    let mut h = Harness::new();
    let inv = invite("z9hG4bK-a");
    h.receive(Transport::Udp, inv.clone());
    let id = h.new_request_id();
    h.respond(id, response_to(&inv, StatusCode::Ringing, Some("sb1")));
    h.take_sent();
    h.receive(Transport::Udp, request("CANCEL", "z9hG4bK-a", 1, None));
    let sent = h.take_sent();
    assert_eq!(sent, vec![(ms(0), "SIP/2.0 200 OK".into())]);
    let events = h.take_events();
    assert!(matches!(
        events.as_slice(),
        [TransactionEvent::Cancelled { id: i, .. }] if *i == id
    ));
    // The TU answers 487, the ACK ends it.
    h.respond(
        id,
        response_to(&inv, StatusCode::RequestTerminated, Some("sb1")),
    );
    assert_eq!(times_of(&h.take_sent(), "SIP/2.0 487"), vec![ms(0)]);
    // A retransmitted CANCEL gets the same 200, not a second event.
    h.receive(Transport::Udp, request("CANCEL", "z9hG4bK-a", 1, None));
    assert_eq!(h.take_sent(), vec![(ms(0), "SIP/2.0 200 OK".into())]);
    assert!(h.take_events().is_empty());
}

#[test]
fn cancel_response_carries_the_to_tag_of_the_provisional() {
    let mut h = Harness::new();
    let inv = invite("z9hG4bK-a");
    h.receive(Transport::Udp, inv.clone());
    let id = h.new_request_id();
    h.respond(id, response_to(&inv, StatusCode::Ringing, Some("sb1")));
    h.sent.clear();
    h.receive(Transport::Udp, request("CANCEL", "z9hG4bK-a", 1, None));
    let (_, _, bytes) = h.sent.first().cloned().expect("200 to CANCEL");
    let response = Response::try_from(bytes.as_ref()).expect("our 200 parses");
    let tag = response.to_header().unwrap().tag().unwrap().unwrap();
    assert_eq!(tag.to_string(), "sb1");
}

#[test]
fn cancel_matching_no_invite_gets_481() {
    let mut h = Harness::new();
    h.receive(Transport::Udp, request("CANCEL", "z9hG4bK-none", 1, None));
    assert_eq!(times_of(&h.take_sent(), "SIP/2.0 481 "), vec![ms(0)]);
    assert!(
        h.take_events()
            .iter()
            .all(|e| !matches!(e, TransactionEvent::Cancelled { .. }))
    );
}

#[test]
fn cancel_after_the_final_response_gets_200_without_effect() {
    let mut h = Harness::new();
    let inv = invite("z9hG4bK-a");
    h.receive(Transport::Udp, inv.clone());
    let id = h.new_request_id();
    h.respond(id, response_to(&inv, StatusCode::OK, Some("sb1")));
    h.take_sent();
    h.receive(Transport::Udp, request("CANCEL", "z9hG4bK-a", 1, None));
    assert_eq!(h.take_sent(), vec![(ms(0), "SIP/2.0 200 OK".into())]);
    assert!(h.take_events().is_empty());
}

#[test]
fn cancel_from_another_sent_by_does_not_match() {
    let mut h = Harness::new();
    h.receive(Transport::Udp, invite("z9hG4bK-a"));
    h.new_request_id();
    h.take_sent();
    let mut cancel = request("CANCEL", "z9hG4bK-a", 1, None);
    cancel.headers.retain(|hd| !matches!(hd, Header::Via(_)));
    cancel.headers.push(Header::Via(rsip::headers::Via::new(
        "SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-a",
    )));
    h.receive(Transport::Udp, cancel);
    assert_eq!(times_of(&h.take_sent(), "SIP/2.0 481").len(), 1);
}

// ---------------------------------------------------------------- RFC 2543 fallback

#[test]
fn rfc2543_invite_is_matched_without_the_magic_cookie_and_acked() {
    let mut h = Harness::new();
    let inv = invite("old-branch-1");
    h.receive(Transport::Udp, inv.clone());
    let id = h.new_request_id();
    h.take_sent();
    h.receive(Transport::Udp, inv.clone());
    assert_eq!(h.take_sent(), vec![(ms(0), "SIP/2.0 100 Trying".into())]);
    assert!(h.take_events().is_empty());
    h.respond(id, response_to(&inv, StatusCode::BusyHere, Some("sb1")));
    h.take_sent();
    // The ACK carries our To tag, which the INVITE did not: still the same transaction.
    h.receive(
        Transport::Udp,
        request("ACK", "old-branch-1", 1, Some("sb1")),
    );
    h.run_until(ms(4000));
    assert!(h.take_sent().is_empty(), "Confirmed: Timer G stopped");
    h.run_until(T4);
    assert!(terminated(&h.take_events(), id));
}

#[test]
fn rfc2543_request_with_another_cseq_is_a_new_transaction() {
    let mut h = Harness::new();
    h.receive(Transport::Udp, request("OPTIONS", "old-1", 1, None));
    h.new_request_id();
    h.receive(Transport::Udp, request("OPTIONS", "old-1", 2, None));
    h.new_request_id();
}

// ---------------------------------------------------------------- non-INVITE server

#[test]
fn server_non_invite_absorbs_retransmissions_while_trying() {
    let mut h = Harness::new();
    let options = request("OPTIONS", "z9hG4bK-o", 1, None);
    h.receive(Transport::Udp, options.clone());
    h.new_request_id();
    h.receive(Transport::Udp, options.clone());
    h.receive(Transport::Udp, options);
    assert!(h.take_sent().is_empty(), "RFC 4320: no 100 for non-INVITE");
    assert!(h.take_events().is_empty());
}

#[test]
fn server_non_invite_resends_provisional_then_final_until_timer_j() {
    let mut h = Harness::new();
    let bye = request("BYE", "z9hG4bK-b", 2, Some("sb1"));
    h.receive(Transport::Udp, bye.clone());
    let id = h.new_request_id();
    h.respond(id, response_to(&bye, StatusCode::Trying, None));
    h.receive(Transport::Udp, bye.clone());
    assert_eq!(times_of(&h.take_sent(), "SIP/2.0 100"), vec![ms(0), ms(0)]);
    h.respond(id, response_to(&bye, StatusCode::OK, None));
    h.run_until(ms(10_000));
    h.receive(Transport::Udp, bye.clone());
    // No timer retransmits a non-INVITE response; only the request's retransmission does.
    assert_eq!(
        times_of(&h.take_sent(), "SIP/2.0 200"),
        vec![ms(0), ms(10_000)]
    );
    h.run_until(64 * T1);
    assert!(terminated(&h.take_events(), id));
    // After Timer J the request would be new again.
    h.receive(Transport::Udp, bye);
    h.new_request_id();
}

#[test]
fn server_non_invite_over_tcp_ends_with_its_final_response() {
    let mut h = Harness::new();
    let bye = request("BYE", "z9hG4bK-b", 2, Some("sb1"));
    h.receive(Transport::Tcp, bye.clone());
    let id = h.new_request_id();
    h.respond(id, response_to(&bye, StatusCode::OK, None));
    assert!(terminated(&h.take_events(), id), "Timer J is zero on TCP");
    assert!(h.layer.is_empty());
    assert_eq!(h.layer.poll_timeout(), None);
}

#[test]
fn unanswered_non_invite_is_dropped_without_408_after_64_t1() {
    let mut h = Harness::new();
    h.receive(Transport::Udp, request("INFO", "z9hG4bK-i", 3, Some("sb1")));
    let id = h.new_request_id();
    h.run_until(64 * T1);
    assert!(h.take_sent().is_empty(), "RFC 4320: never a 408");
    let events = h.take_events();
    assert!(matches!(
        events.first(),
        Some(TransactionEvent::Timeout { id: i, timer: Timer::Unanswered }) if *i == id
    ));
    assert!(terminated(&events, id));
}

// ---------------------------------------------------------------- INVITE client

fn our_invite(branch: &str) -> Request {
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

#[test]
fn client_invite_retransmits_on_timer_a_doubling_and_gives_up_after_timer_b() {
    let mut h = Harness::new();
    let id = h.send(Transport::Udp, our_invite("z9hG4bK-c1"));
    h.run_until(64 * T1 - ms(1));
    assert_eq!(
        times_of(&h.take_sent(), "INVITE"),
        vec![
            ms(0),
            ms(500),
            ms(1500),
            ms(3500),
            ms(7500),
            ms(15500),
            ms(31500)
        ]
    );
    assert!(h.take_events().is_empty());
    h.run_until(64 * T1);
    let events = h.take_events();
    assert!(matches!(
        events.first(),
        Some(TransactionEvent::Timeout { id: i, timer: Timer::B }) if *i == id
    ));
    assert!(terminated(&events, id));
    assert_eq!(h.layer.poll_timeout(), None);
}

#[test]
fn client_invite_over_tcp_is_sent_once() {
    let mut h = Harness::new();
    let id = h.send(Transport::Tcp, our_invite("z9hG4bK-c1"));
    h.run_until(64 * T1);
    assert_eq!(times_of(&h.take_sent(), "INVITE"), vec![ms(0)]);
    assert!(matches!(
        h.take_events().first(),
        Some(TransactionEvent::Timeout { id: i, timer: Timer::B }) if *i == id
    ));
}

#[test]
fn client_invite_provisional_stops_retransmissions_and_timer_b() {
    let mut h = Harness::new();
    let inv = our_invite("z9hG4bK-c1");
    let id = h.send(Transport::Udp, inv.clone());
    h.run_until(ms(600));
    h.receive(Transport::Udp, answer(&inv, 180, Some("ag1")));
    h.run_until(ms(120_000));
    assert_eq!(times_of(&h.take_sent(), "INVITE"), vec![ms(0), ms(500)]);
    let events = h.take_events();
    assert!(matches!(
        events.as_slice(),
        [TransactionEvent::Response { id: i, response }] if *i == id && response.status_code.code() == 180
    ));
}

#[test]
fn client_invite_acks_a_non_2xx_final_and_reacks_its_retransmissions() {
    let mut h = Harness::new();
    let inv = our_invite("z9hG4bK-c1");
    let id = h.send(Transport::Udp, inv.clone());
    h.sent.clear();
    let busy = answer(&inv, 486, Some("ag1"));
    h.receive(Transport::Udp, busy.clone());
    let (_, line, bytes) = h.sent.pop().expect("an ACK");
    assert_eq!(line, "ACK sip:agent1@192.0.2.10:5060 SIP/2.0");
    let ack = Request::try_from(bytes.as_ref()).expect("our ACK parses");
    // §17.1.1.3: same branch, CSeq number, Route; To from the response.
    assert_eq!(
        ack.transaction_id().unwrap().unwrap().to_string(),
        "z9hG4bK-c1"
    );
    assert_eq!(ack.cseq_header().unwrap().value(), "101 ACK");
    assert_eq!(
        ack.to_header().unwrap().tag().unwrap().unwrap().to_string(),
        "ag1"
    );
    assert!(ack.headers.iter().any(|hd| matches!(hd, Header::Route(_))));
    assert_eq!(
        ack.headers
            .iter()
            .filter(|hd| matches!(hd, Header::Via(_)))
            .count(),
        1
    );
    let events = h.take_events();
    assert!(matches!(
        events.as_slice(),
        [TransactionEvent::Response { response, .. }] if response.status_code.code() == 486
    ));
    // A retransmitted 486 is re-ACKed, not passed up; Timer D ends it after 32 s.
    h.run_until(ms(2000));
    h.receive(Transport::Udp, busy);
    assert_eq!(times_of(&h.take_sent(), "ACK"), vec![ms(2000)]);
    assert!(h.take_events().is_empty());
    h.run_until(ms(32_000) - ms(1));
    assert!(h.take_events().is_empty());
    h.run_until(ms(32_000));
    assert!(terminated(&h.take_events(), id));
}

#[test]
fn client_invite_over_tcp_ends_when_the_non_2xx_is_acked() {
    let mut h = Harness::new();
    let inv = our_invite("z9hG4bK-c1");
    let id = h.send(Transport::Tcp, inv.clone());
    h.receive(Transport::Tcp, answer(&inv, 603, Some("ag1")));
    assert!(terminated(&h.take_events(), id), "Timer D is zero on TCP");
    assert_eq!(times_of(&h.take_sent(), "ACK").len(), 1);
}

#[test]
fn accepted_state_passes_2xx_retransmissions_and_forks_until_timer_m() {
    let mut h = Harness::new();
    let inv = our_invite("z9hG4bK-c1");
    let id = h.send(Transport::Udp, inv.clone());
    h.receive(Transport::Udp, answer(&inv, 200, Some("ag1")));
    h.run_until(ms(1000));
    h.receive(Transport::Udp, answer(&inv, 200, Some("ag1")));
    h.receive(Transport::Udp, answer(&inv, 200, Some("fork2")));
    h.receive(Transport::Udp, answer(&inv, 180, Some("fork3")));
    let codes: Vec<_> = h
        .take_events()
        .into_iter()
        .filter_map(|e| match e {
            TransactionEvent::Response { id: i, response } if i == id => {
                Some(response.status_code.code())
            }
            _ => None,
        })
        .collect();
    assert_eq!(codes, vec![200, 200, 200]);
    assert_eq!(
        times_of(&h.take_sent(), "INVITE"),
        vec![ms(0)],
        "2xx stops Timer A"
    );
    assert_eq!(times_of(&h.take_sent(), "ACK"), vec![], "the TU ACKs a 2xx");
    h.run_until(64 * T1);
    assert!(terminated(&h.take_events(), id));
    // After Timer M a 2xx is stray.
    h.receive(Transport::Udp, answer(&inv, 200, Some("ag1")));
    assert!(matches!(
        h.take_events().as_slice(),
        [TransactionEvent::StrayResponse { .. }]
    ));
}

// ---------------------------------------------------------------- CANCEL (client side)

#[test]
fn cancel_waits_for_a_provisional_then_goes_with_the_invite_branch() {
    let mut h = Harness::new();
    let inv = our_invite("z9hG4bK-c1");
    let id = h.send(Transport::Udp, inv.clone());
    assert_eq!(h.input(Input::Cancel { id }), Ok(None), "deferred (§9.1)");
    h.sent.clear();
    h.receive(Transport::Udp, answer(&inv, 180, Some("ag1")));
    let (_, line, bytes) = h.sent.pop().expect("the CANCEL");
    assert_eq!(line, "CANCEL sip:agent1@192.0.2.10:5060 SIP/2.0");
    let cancel = Request::try_from(bytes.as_ref()).expect("our CANCEL parses");
    assert_eq!(
        cancel.transaction_id().unwrap().unwrap().to_string(),
        "z9hG4bK-c1"
    );
    assert_eq!(cancel.cseq_header().unwrap().value(), "101 CANCEL");
    assert_eq!(
        cancel.to_header().unwrap().tag().unwrap(),
        None,
        "To of the INVITE"
    );
    // The 200 to the CANCEL and the 487 are told apart by CSeq method.
    h.take_events();
    h.receive(Transport::Udp, answer(&cancel, 200, Some("ag1")));
    h.receive(Transport::Udp, answer(&inv, 487, Some("ag1")));
    let events = h.take_events();
    assert!(events.iter().any(|e| matches!(e,
        TransactionEvent::Response { id: i, response } if *i == id && response.status_code.code() == 487)));
    assert!(events.iter().any(|e| matches!(e,
        TransactionEvent::Response { id: i, response } if *i != id && response.status_code.code() == 200)));
}

#[test]
fn cancelled_invite_without_final_ends_64_t1_after_the_cancel() {
    let mut h = Harness::new();
    let inv = our_invite("z9hG4bK-c1");
    let id = h.send(Transport::Tcp, inv.clone());
    h.receive(Transport::Tcp, answer(&inv, 180, Some("ag1")));
    h.run_until(ms(60_000));
    let cancel_id = h.input(Input::Cancel { id }).unwrap();
    assert!(cancel_id.is_some());
    h.take_events();
    h.run_until(ms(60_000) + 64 * T1);
    let events = h.take_events();
    assert!(events.iter().any(|e| matches!(e,
        TransactionEvent::Timeout { id: i, timer: Timer::B } if *i == id)));
}

#[test]
fn cancel_after_the_final_response_is_too_late() {
    let mut h = Harness::new();
    let inv = our_invite("z9hG4bK-c1");
    let id = h.send(Transport::Udp, inv.clone());
    h.receive(Transport::Udp, answer(&inv, 200, Some("ag1")));
    assert_eq!(
        h.input(Input::Cancel { id }),
        Err(TransactionError::AlreadyFinal)
    );
}

// ---------------------------------------------------------------- non-INVITE client

#[test]
fn client_non_invite_retransmits_on_timer_e_doubling_to_t2_and_gives_up_after_timer_f() {
    let mut h = Harness::new();
    let id = h.send(Transport::Udp, request("OPTIONS", "z9hG4bK-n1", 1, None));
    h.run_until(64 * T1);
    let times = times_of(&h.take_sent(), "OPTIONS");
    assert_eq!(
        &times[..6],
        &[ms(0), ms(500), ms(1500), ms(3500), ms(7500), ms(11500)]
    );
    assert!(times.windows(2).skip(4).all(|w| w[1] - w[0] == T2));
    let events = h.take_events();
    assert!(matches!(
        events.first(),
        Some(TransactionEvent::Timeout { id: i, timer: Timer::F }) if *i == id
    ));
    assert!(terminated(&events, id));
}

#[test]
fn client_non_invite_after_a_provisional_retransmits_every_t2() {
    let mut h = Harness::new();
    let bye = request("BYE", "z9hG4bK-n1", 2, Some("ag1"));
    h.send(Transport::Udp, bye.clone());
    h.run_until(ms(100));
    h.receive(Transport::Udp, answer(&bye, 100, None));
    h.run_until(ms(20_000));
    let times = times_of(&h.take_sent(), "BYE");
    assert_eq!(times[..3], [ms(0), ms(500), ms(4500)]);
    assert!(times.windows(2).skip(1).all(|w| w[1] - w[0] == T2));
}

#[test]
fn client_non_invite_absorbs_final_retransmissions_until_timer_k() {
    let mut h = Harness::new();
    let bye = request("BYE", "z9hG4bK-n1", 2, Some("ag1"));
    let id = h.send(Transport::Udp, bye.clone());
    h.receive(Transport::Udp, answer(&bye, 200, None));
    h.receive(Transport::Udp, answer(&bye, 200, None));
    let responses = h
        .take_events()
        .iter()
        .filter(|e| matches!(e, TransactionEvent::Response { .. }))
        .count();
    assert_eq!(responses, 1);
    h.run_until(T4 - ms(1));
    assert!(h.take_sent().len() == 1, "only the original BYE");
    h.run_until(T4);
    assert!(terminated(&h.take_events(), id));
}

#[test]
fn client_non_invite_over_tcp_is_sent_once_and_ends_on_its_final() {
    let mut h = Harness::new();
    let bye = request("BYE", "z9hG4bK-n1", 2, Some("ag1"));
    let id = h.send(Transport::Tcp, bye.clone());
    h.run_until(ms(10_000));
    assert_eq!(times_of(&h.take_sent(), "BYE"), vec![ms(0)]);
    h.receive(Transport::Tcp, answer(&bye, 200, None));
    assert!(terminated(&h.take_events(), id), "Timer K is zero on TCP");
}

// ---------------------------------------------------------------- layer-wide

#[test]
fn transport_error_ends_every_transaction_of_that_peer() {
    let mut h = Harness::new();
    let a = h.send(Transport::Tcp, our_invite("z9hG4bK-c1"));
    h.receive(Transport::Udp, invite("z9hG4bK-s1"));
    let udp_server = h.new_request_id();
    h.input(Input::TransportError {
        peer: peer(Transport::Tcp),
    })
    .unwrap();
    let events = h.take_events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, TransactionEvent::TransportError { id } if *id == a))
    );
    assert!(terminated(&events, a));
    assert!(!terminated(&events, udp_server));
    assert_eq!(h.layer.len(), 1);
}

#[test]
fn new_invite_over_the_limit_gets_503_while_in_dialog_requests_still_pass() {
    let mut h = Harness::with_config(Config {
        max_transactions: 1,
        in_dialog_reserve: 1,
        ..Config::default()
    });
    h.receive(Transport::Udp, invite("z9hG4bK-1"));
    h.new_request_id();
    h.take_sent();
    h.receive(Transport::Udp, invite("z9hG4bK-2"));
    assert_eq!(times_of(&h.take_sent(), "SIP/2.0 503 "), vec![ms(0)]);
    assert!(matches!(
        h.take_events().as_slice(),
        [TransactionEvent::Overloaded { .. }]
    ));
    assert_eq!(h.layer.stats().overload_rejections, 1);
    // An in-dialog BYE uses the reserve.
    h.receive(Transport::Udp, request("BYE", "z9hG4bK-3", 2, Some("sb1")));
    h.new_request_id();
    // Now even in-dialog requests and our own are refused.
    assert_eq!(
        h.input(Input::SendRequest {
            peer: peer(Transport::Udp),
            request: request("OPTIONS", "z9hG4bK-4", 1, None),
        }),
        Err(TransactionError::Overloaded)
    );
}

#[test]
fn overload_503_carries_retry_after() {
    let mut h = Harness::with_config(Config {
        max_transactions: 0,
        in_dialog_reserve: 0,
        ..Config::default()
    });
    h.receive(Transport::Udp, invite("z9hG4bK-1"));
    let (_, _, bytes) = h.sent.pop().expect("a 503");
    let response = Response::try_from(bytes.as_ref()).unwrap();
    assert!(
        response
            .headers
            .iter()
            .any(|hd| matches!(hd, Header::RetryAfter(r) if r.value() == "5"))
    );
    assert!(h.layer.is_empty());
}

#[test]
fn tu_commands_that_cannot_work_are_refused() {
    let mut h = Harness::new();
    let send = |h: &mut Harness, request| {
        h.input(Input::SendRequest {
            peer: peer(Transport::Udp),
            request,
        })
    };
    assert!(matches!(
        send(&mut h, request("ACK", "z9hG4bK-1", 1, Some("x"))),
        Err(TransactionError::NotTransactional(_))
    ));
    assert_eq!(
        send(&mut h, request("OPTIONS", "nocookie", 1, None)),
        Err(TransactionError::BranchWithoutCookie)
    );
    assert!(send(&mut h, request("OPTIONS", "z9hG4bK-1", 1, None)).is_ok());
    assert_eq!(
        send(&mut h, request("OPTIONS", "z9hG4bK-1", 1, None)),
        Err(TransactionError::DuplicateBranch)
    );
    let unknown = h.input(Input::Respond {
        id: TransactionId(999),
        response: answer(&invite("z9hG4bK-x"), 200, None),
    });
    assert_eq!(unknown, Err(TransactionError::UnknownTransaction));
}

#[test]
fn message_without_via_is_refused_not_panicked_on() {
    let mut h = Harness::new();
    let mut req = request("OPTIONS", "z9hG4bK-1", 1, None);
    req.headers.retain(|hd| !matches!(hd, Header::Via(_)));
    let result = h.input(Input::Message {
        peer: peer(Transport::Udp),
        message: req.into(),
    });
    assert_eq!(result, Err(TransactionError::Unmatchable(KeyError::Via)));
    assert!(h.layer.is_empty());
}

#[test]
fn response_to_nothing_is_stray() {
    let mut h = Harness::new();
    h.receive(
        Transport::Udp,
        answer(&request("OPTIONS", "z9hG4bK-zz", 1, None), 200, None),
    );
    assert!(matches!(
        h.take_events().as_slice(),
        [TransactionEvent::StrayResponse { .. }]
    ));
    assert_eq!(h.layer.stats().stray_responses, 1);
}

#[test]
fn ack_stateless_goes_out_as_given() {
    let mut h = Harness::new();
    let ack = request("ACK", "z9hG4bK-ack", 101, Some("ag1"));
    h.input(Input::SendStateless {
        peer: peer(Transport::Udp),
        message: ack.into(),
    })
    .unwrap();
    assert_eq!(times_of(&h.take_sent(), "ACK"), vec![ms(0)]);
    assert!(h.layer.is_empty());
}

// ---------------------------------------------------------------- property

proptest! {
    /// Whatever the order, spacing and duplication of one request's retransmissions, the TU
    /// hears of it once, and every copy that arrives after the TU answered draws the last
    /// response (for an INVITE in Proceeding/Completed, or any non-INVITE).
    #[test]
    fn retransmissions_make_exactly_one_transaction_and_each_gets_the_last_response(
        is_invite in any::<bool>(),
        delays in proptest::collection::vec(0u64..2_500, 1..12),
        answer_after in 0usize..12,
        final_code in prop::sample::select(vec![200u16, 404, 486, 603]),
    ) {
        // UDP: the only transport that retransmits requests (over TCP, Timer J/I are zero).
        let transport = Transport::Udp;
        // An INVITE 2xx moves to Accepted, where copies are absorbed: use a non-2xx there.
        let code = if is_invite && final_code == 200 { 486 } else { final_code };
        let method = if is_invite { "INVITE" } else { "OPTIONS" };
        let req = request(method, "z9hG4bK-prop", 1, None);
        let mut h = Harness::new();
        let mut answered = false;
        let mut at = Duration::ZERO;
        for (i, delay) in delays.iter().enumerate() {
            // At most 30 s in all: inside Timer H and J, so the transaction is still there.
            at += ms(*delay);
            h.run_until(at);
            if i == answer_after.min(delays.len() - 1) && !answered && i > 0 {
                let id = h.new_request_id();
                h.respond(id, response_to(&req, StatusCode::from(code), Some("sb1")));
                answered = true;
                h.take_sent();
            }
            h.receive(transport, req.clone());
            let sent = h.take_sent();
            let expected = if answered {
                format!("SIP/2.0 {code}")
            } else if is_invite {
                "SIP/2.0 100".to_string()
            } else {
                String::new()
            };
            // Timer G copies of the final may interleave; every copy answering this arrival
            // is the last response.
            if expected.is_empty() {
                prop_assert!(sent.is_empty());
            } else {
                prop_assert!(!sent.is_empty());
                prop_assert!(sent.iter().all(|(_, line)| line.starts_with(&expected)), "{:?}", sent);
            }
        }
        let requests = h
            .events
            .iter()
            .filter(|e| matches!(e, TransactionEvent::Request { .. }))
            .count();
        prop_assert_eq!(requests, usize::from(!answered));
        prop_assert_eq!(h.layer.len(), 1);
    }
}

proptest! {
    /// Several requests (an INVITE, an OPTIONS, an in-dialog BYE) whose retransmissions arrive
    /// interleaved in any order and spacing, with the TU answering at random points: each is
    /// one transaction, and each copy is answered for its own transaction only, with that
    /// transaction's last response.
    #[test]
    fn interleaved_retransmissions_of_several_requests_stay_apart(
        script in proptest::collection::vec((0usize..3, 0u64..750, any::<bool>()), 1..40),
    ) {
        let requests = [
            (request("INVITE", "z9hG4bK-inv", 1, None), 486u16),
            (request("OPTIONS", "z9hG4bK-opt", 2, None), 200),
            (request("BYE", "z9hG4bK-bye", 3, Some("sb1")), 481),
        ];
        let mut h = Harness::new();
        let mut ids: [Option<TransactionId>; 3] = [None; 3];
        let mut answered = [false; 3];
        let mut new_requests = [0usize; 3];
        let mut at = Duration::ZERO;
        for (which, delay, answer_now) in script {
            at += ms(delay);
            h.run_until(at);
            h.sent.clear();
            let (req, code) = &requests[which];
            if answer_now && let Some(id) = ids[which] && !answered[which] {
                h.respond(id, response_to(req, StatusCode::from(*code), Some("sb1")));
                answered[which] = true;
                h.sent.clear();
            }
            h.receive(Transport::Udp, req.clone());
            for event in h.take_events() {
                if let TransactionEvent::Request { id, request, .. } = event {
                    let slot = requests
                        .iter()
                        .position(|(r, _)| r.transaction_id().ok() == Some(request.transaction_id().ok().flatten()))
                        .expect("one of ours");
                    new_requests[slot] += 1;
                    ids[slot] = Some(id);
                }
            }
            let expected = if answered[which] {
                Some(*code)
            } else if which == 0 {
                Some(100)
            } else {
                None
            };
            let sent: Vec<_> = h.sent.drain(..).map(|(_, _, bytes)| bytes).collect();
            match expected {
                None => prop_assert!(sent.is_empty(), "{:?}", sent),
                Some(code) => {
                    prop_assert_eq!(sent.len(), 1);
                    let response = Response::try_from(sent[0].as_ref()).expect("ours parses");
                    prop_assert_eq!(response.status_code.code(), code);
                    prop_assert_eq!(
                        response.transaction_id().ok().flatten(),
                        req.transaction_id().ok().flatten()
                    );
                }
            }
        }
        for (slot, count) in new_requests.iter().enumerate() {
            prop_assert!(*count <= 1, "request {slot} reached the TU {count} times");
            prop_assert_eq!(*count == 1, ids[slot].is_some());
        }
    }
}

#[test]
fn layer_generated_responses_carry_content_length_for_stream_transports() {
    let mut h = Harness::new();
    h.receive(Transport::Tcp, invite("z9hG4bK-a"));
    h.receive(Transport::Tcp, request("CANCEL", "z9hG4bK-zzz", 1, None));
    assert_eq!(h.sent.len(), 2);
    for (_, line, bytes) in &h.sent {
        let response = Response::try_from(bytes.as_ref()).expect("ours parses");
        assert!(
            response
                .headers
                .iter()
                .any(|hd| matches!(hd, Header::ContentLength(l) if l.value() == "0")),
            "{line}: {}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn ack_for_2xx_from_an_rfc2543_peer_without_from_tag_still_stops_retransmission() {
    let mut h = Harness::new();
    let strip_from_tag = |mut r: Request| {
        r.headers.retain(|hd| !matches!(hd, Header::From(_)));
        r.headers.push(Header::From(rsip::headers::From::new(
            "<sip:caller@trunk.example>",
        )));
        r
    };
    let inv = strip_from_tag(invite("old-branch"));
    h.receive(Transport::Udp, inv.clone());
    let id = h.new_request_id();
    h.respond(id, response_to(&inv, StatusCode::OK, Some("sb1")));
    h.receive(
        Transport::Udp,
        strip_from_tag(request("ACK", "old-ack", 1, Some("sb1"))),
    );
    assert!(matches!(
        h.take_events().as_slice(),
        [TransactionEvent::Ack { invite: Some(i), .. }] if *i == id
    ));
    h.sent.clear();
    h.run_until(ms(10_000));
    assert!(h.sent.is_empty());
}
