//! INVITE and non-INVITE client transactions: Timers A, B, D, E, F, K, M and CANCEL.

use rsip::headers::UntypedHeader;
use rsip::prelude::HeadersExt;
use rsip::{Header, Request};

use super::*;
use crate::Transport;
use crate::transaction::*;

// ---------------------------------------------------------------- INVITE client

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

#[test]
fn client_invite_goes_from_proceeding_to_accepted_on_2xx() {
    let mut h = Harness::new();
    let inv = our_invite("z9hG4bK-c9");
    let id = h.send(Transport::Udp, inv.clone());
    h.receive(Transport::Udp, answer(&inv, 183, Some("ag1")));
    h.receive(Transport::Udp, answer(&inv, 180, Some("ag1")));
    h.receive(Transport::Udp, answer(&inv, 200, Some("ag1")));
    let codes: Vec<_> = h
        .take_events()
        .into_iter()
        .filter_map(|e| match e {
            TransactionEvent::Response { response, .. } => Some(response.status_code.code()),
            _ => None,
        })
        .collect();
    assert_eq!(codes, vec![183, 180, 200]);
    // Accepted ignores a late provisional and a non-2xx (RFC 6026 §8.4).
    h.receive(Transport::Udp, answer(&inv, 180, Some("ag1")));
    h.receive(Transport::Udp, answer(&inv, 486, Some("ag2")));
    assert!(h.take_events().is_empty());
    assert!(times_of(&h.take_sent(), "ACK").is_empty());
    h.run_until(64 * T1);
    assert!(terminated(&h.take_events(), id));
}

#[test]
fn transport_error_during_a_client_non_invite_is_reported() {
    let mut h = Harness::new();
    let id = h.send(Transport::Tcp, request("OPTIONS", "z9hG4bK-t", 1, None));
    h.input(Input::TransportError {
        peer: peer(Transport::Tcp),
    })
    .unwrap();
    let events = h.take_events();
    assert!(matches!(events.first(), Some(TransactionEvent::TransportError { id: i }) if *i == id));
    assert!(terminated(&events, id));
    assert_eq!(h.layer.poll_timeout(), None);
}
