//! INVITE server transaction: Timers G, H, I, L, the 2xx retransmission, CANCEL, RFC 2543.

use rsip::headers::UntypedHeader;
use rsip::prelude::HeadersExt;
use rsip::{Header, Response, StatusCode};

use super::*;
use crate::Transport;
use crate::message::response_to;
use crate::transaction::*;

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

#[test]
fn trying_copies_the_timestamp_and_has_no_to_tag() {
    let mut h = Harness::new();
    let mut inv = invite("z9hG4bK-ts");
    inv.headers
        .push(Header::Timestamp(rsip::headers::Timestamp::new("54")));
    h.receive(Transport::Udp, inv);
    let (_, _, bytes) = h.sent.pop().expect("a 100");
    let trying = Response::try_from(bytes.as_ref()).expect("our 100 parses");
    assert_eq!(trying.status_code.code(), 100);
    assert!(
        trying
            .headers
            .iter()
            .any(|hd| matches!(hd, Header::Timestamp(t) if t.value() == "54"))
    );
    assert_eq!(trying.to_header().unwrap().tag().unwrap(), None);
}

#[test]
fn config_can_leave_the_100_to_the_tu() {
    let mut h = Harness::with_config(Config {
        send_100_trying: false,
        ..Config::default()
    });
    let inv = invite("z9hG4bK-a");
    h.receive(Transport::Udp, inv.clone());
    let id = h.new_request_id();
    assert!(h.take_sent().is_empty());
    h.receive(Transport::Udp, inv.clone());
    assert!(h.take_sent().is_empty(), "nothing to resend yet");
    h.respond(id, response_to(&inv, StatusCode::Ringing, Some("sb1")));
    assert_eq!(times_of(&h.take_sent(), "SIP/2.0 180").len(), 1);
}
