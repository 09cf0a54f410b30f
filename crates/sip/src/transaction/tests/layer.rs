//! Layer-wide behaviour: transport errors, overload, bad input, stray messages, properties.

use std::time::Duration;

use proptest::prelude::*;
use rsip::headers::UntypedHeader;
use rsip::prelude::HeadersExt;
use rsip::{Header, Request, Response, StatusCode};

use super::*;
use crate::Transport;
use crate::message::response_to;
use crate::transaction::*;

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
fn answered_transactions_lingering_for_retransmissions_do_not_count_as_load() {
    // Completed non-INVITE transactions stay up to Timer J (64·T1 on UDP) only to absorb
    // retransmissions; counting them would cap a registrar at max / 32 s.
    let mut h = Harness::with_config(Config {
        max_transactions: 2,
        in_dialog_reserve: 0,
        ..Config::default()
    });
    for n in 0..10 {
        let options = request("OPTIONS", &format!("z9hG4bK-o{n}"), 1, None);
        h.receive(Transport::Udp, options.clone());
        let id = h.new_request_id();
        h.respond(id, response_to(&options, StatusCode::OK, Some("sb1")));
    }
    assert_eq!(h.layer.len(), 10, "all ten linger in Completed");
    assert_eq!(h.layer.pending(), 0);
    h.take_sent();
    h.receive(Transport::Udp, invite("z9hG4bK-i1"));
    h.new_request_id();
    assert_eq!(h.layer.pending(), 1);
    assert_eq!(h.layer.stats().overload_rejections, 0);
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

#[test]
fn a_late_timeout_call_fires_each_due_timer_once() {
    // The shell slept through everything: one handle_timeout long after Timers A and B.
    let mut h = Harness::new();
    let id = h.send(Transport::Udp, our_invite("z9hG4bK-late"));
    h.sent.clear();
    h.now = h.t0 + 64 * T1 + ms(1000);
    h.layer.handle_timeout(h.now);
    h.drain();
    assert_eq!(
        times_of(&h.take_sent(), "INVITE").len(),
        1,
        "one Timer A catch-up"
    );
    let events = h.take_events();
    let timeouts = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                TransactionEvent::Timeout {
                    timer: Timer::B,
                    ..
                }
            )
        })
        .count();
    assert_eq!(timeouts, 1);
    assert!(terminated(&events, id));
    assert_eq!(
        h.layer.poll_timeout(),
        None,
        "no timer outlives its transaction"
    );
}

#[test]
fn spurious_timeout_calls_change_nothing() {
    let mut h = Harness::new();
    h.send(Transport::Udp, our_invite("z9hG4bK-s"));
    h.sent.clear();
    for step in 0..50 {
        h.now = h.t0 + ms(step * 9);
        h.layer.handle_timeout(h.now);
        h.drain();
    }
    assert!(h.take_sent().is_empty(), "nothing before Timer A at 500 ms");
    assert!(h.take_events().is_empty());
}

proptest! {
    /// Whatever a peer puts in the headers the layer reads (Via, CSeq, From, To, Call-ID), a
    /// message that parses is matched, answered or refused, never a panic; and the layer's
    /// tables stay consistent (every live transaction has a timer or awaits the TU).
    #[test]
    fn hostile_header_values_never_panic_the_layer(
        method in prop::sample::select(vec!["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS"]),
        via in prop_oneof![
            "[ -~]{0,40}",
            "SIP/2\\.0/(UDP|TCP) [a-z0-9.:]{1,20}(;branch=[a-zA-Z0-9.!%*_+-]{0,20})?",
        ],
        cseq in prop_oneof!["[ -~]{0,12}", "[0-9]{0,11} ?(INVITE|ACK|CANCEL|BYE|FOO)?"],
        from in prop_oneof!["[ -~]{0,30}", "<sip:[a-z]{1,5}@[a-z.]{1,10}>(;tag=[a-z0-9]{0,8})?"],
        to in prop_oneof!["[ -~]{0,30}", "<sip:[a-z]{1,5}@[a-z.]{1,10}>(;tag=[a-z0-9]{0,8})?"],
        status in 100u16..700,
        as_response in any::<bool>(),
    ) {
        let head = if as_response {
            format!("SIP/2.0 {status} X")
        } else {
            format!("{method} sip:x@sb.example SIP/2.0")
        };
        let raw = format!(
            "{head}\r\nVia: {via}\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: c\r\n\
             CSeq: {cseq}\r\nContent-Length: 0\r\n\r\n"
        );
        let Ok(message) = rsip::SipMessage::try_from(raw.as_bytes()) else {
            return Ok(());
        };
        let mut h = Harness::new();
        let _ = h.input(Input::Message { peer: peer(Transport::Udp), message: message.clone() });
        let _ = h.input(Input::Message { peer: peer(Transport::Udp), message });
        h.run_until(ms(40_000));
        prop_assert!(h.layer.len() <= 2);
    }
}
