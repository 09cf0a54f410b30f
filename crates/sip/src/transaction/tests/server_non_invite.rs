//! Non-INVITE server transaction: Timer J, RFC 4320, the Unanswered guard.

use rsip::StatusCode;

use super::*;
use crate::Transport;
use crate::message::response_to;
use crate::transaction::*;

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
