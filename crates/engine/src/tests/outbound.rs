//! Outbound legs through the trunk: a DNIS routed to a URI, a digest challenge from the
//! carrier, busy and unanswered far ends, a blind REFER to an outside number.

use super::*;

/// The carrier: the trunk's `outbound` address (the test's SIPp UAS in the e2e tests).
fn carrier() -> Peer {
    Peer {
        transport: Transport::Udp,
        remote: "127.0.0.3:5070".parse().unwrap(),
        local: local(),
    }
}

fn config() -> String {
    CONFIG.replace("STRATEGY", "linear").replace(
        "sources = [\"127.0.0.2/32\"]",
        "sources = [\"127.0.0.2/32\"]\noutbound = \"127.0.0.3:5070\"\nusername = \"sb\"\n\
         password = \"carrier-pw\"\ncaller_id = \"2000\"\ndial_prefix = \"9\"",
    ) + "[[route]]\ndnis = \"203\"\nuri = \"sip:5551203@127.0.0.3:5070\"\n"
}

/// The last INVITE the carrier got, answered with `code` (SDP on a 2xx), `extra` headers added.
fn carrier_answers(h: &mut Harness, code: u16, extra: &str) {
    let invite = h
        .last_request_to(carrier().remote, Method::Invite)
        .expect("the carrier was invited");
    let mut text = format!("SIP/2.0 {code} Whatever\r\n");
    for header in invite.headers.iter() {
        match header {
            rsip::Header::Via(_)
            | rsip::Header::From(_)
            | rsip::Header::CallId(_)
            | rsip::Header::CSeq(_) => text.push_str(&format!("{header}\r\n")),
            rsip::Header::To(to) => text.push_str(&format!(
                "To: {};tag=carrier\r\n",
                rsip::headers::UntypedHeader::value(to)
            )),
            _ => {}
        }
    }
    text.push_str(extra);
    text.push_str(&format!("Contact: <sip:far@{}>\r\n", carrier().remote));
    if code == 200 {
        let body = SDP.replace("127.0.0.2", "127.0.0.3");
        text.push_str(&format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    } else {
        text.push_str("Content-Length: 0\r\n\r\n");
    }
    h.deliver(carrier(), &text);
}

/// A BYE from the carrier on its answered dialog.
fn carrier_byes(h: &mut Harness) {
    let ack = h
        .last_request_to(carrier().remote, Method::Ack)
        .expect("the carrier's 2xx was ACKed");
    let from = rsip::headers::UntypedHeader::value(ack.from_header().unwrap()).to_string();
    let to = rsip::headers::UntypedHeader::value(ack.to_header().unwrap()).to_string();
    let call_id = rsip::headers::UntypedHeader::value(ack.call_id_header().unwrap()).to_string();
    let bye = format!(
        "BYE sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKfarbye\r\n\
         Max-Forwards: 70\r\nFrom: {to}\r\nTo: {from}\r\nCall-ID: {call_id}\r\nCSeq: 7 BYE\r\n\
         Content-Length: 0\r\n\r\n",
        carrier().remote
    );
    h.deliver(carrier(), &bye);
}

fn header(request: &rsip::Request, name: &str) -> Option<String> {
    request.headers.iter().find_map(|h| {
        let text = h.to_string();
        let (n, v) = text.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

#[test]
fn dnis_routed_to_a_uri_is_dialled_through_the_trunk_answering_its_challenge_and_bridged() {
    let mut h = Harness::with(&config(), &[]);
    h.trunk_invite("203", "u");
    // Not answered while the far end rings: the caller hears its own ringback.
    assert_eq!(h.responses_to(trunk().remote), vec![100, 180]);
    assert!(
        !h.media
            .iter()
            .any(|m| matches!(m, MediaCommand::MusicOnHold { .. })),
        "no media before our answer"
    );
    let first = h.last_request_to(carrier().remote, Method::Invite).unwrap();
    assert_eq!(first.uri.to_string(), "sip:5551203@127.0.0.3:5070");
    // Forwarded: the customer's own number is presented.
    assert!(header(&first, "From").unwrap().contains("sip:5551234@"));
    let call_id = header(&first, "X-Switchboard-Call-Id").unwrap();
    carrier_answers(
        &mut h,
        407,
        "Proxy-Authenticate: Digest realm=\"carrier\", nonce=\"n1\", qop=\"auth\"\r\n",
    );
    let second = h.last_request_to(carrier().remote, Method::Invite).unwrap();
    assert_eq!(header(&second, "CSeq").unwrap(), "2 INVITE");
    assert_eq!(header(&second, "Call-ID"), header(&first, "Call-ID"));
    let auth = parse_credentials(&header(&second, "Proxy-Authorization").unwrap()).unwrap();
    assert_eq!(auth.username, "sb");
    assert_eq!(
        auth.response,
        compute_response(&auth, "carrier-pw", "INVITE"),
        "digest computed with the trunk's password"
    );
    carrier_answers(&mut h, 180, "");
    assert_eq!(h.responses_to(trunk().remote), vec![100, 180]);
    carrier_answers(&mut h, 200, "");
    assert!(h.last_request_to(carrier().remote, Method::Ack).is_some());
    assert_eq!(
        h.responses_to(trunk().remote),
        vec![100, 180, 200],
        "the caller is answered when the far end answers"
    );
    h.trunk_in_dialog("u", "ACK", 1);
    let bridged = h
        .media
        .iter()
        .any(|m| matches!(m, MediaCommand::Bridge { .. }));
    assert!(bridged, "caller and far leg bridged: {:?}", h.media);
    carrier_byes(&mut h);
    assert!(h.last_request_to(trunk().remote, Method::Bye).is_some());
    let cdr = h.cdr().unwrap();
    assert_eq!(cdr.call_id, call_id);
    assert_eq!(cdr.lastapp, "Dial");
    assert_eq!(cdr.lastdata, "sip:5551203@127.0.0.3:5070");
    assert!(
        cdr.dstchannel.starts_with("SIP/carrier-"),
        "{}",
        cdr.dstchannel
    );
    assert_eq!(cdr.disposition, Disposition::Answered);
    assert!(cdr.answer.is_some());
    assert_eq!(cdr.hangup_side, Some(HangupSide::Agent));
    assert_eq!(h.engine.call_count(), 0);
    assert!(h.engine.outbound.is_empty());
}

#[test]
fn a_busy_far_end_ends_the_forwarded_call_with_disposition_busy() {
    let mut h = Harness::with(&config(), &[]);
    h.trunk_invite("203", "b");
    carrier_answers(&mut h, 486, "");
    // Busy is passed back: never answered, never hung up with BYE.
    assert_eq!(h.responses_to(trunk().remote), vec![100, 180, 486]);
    assert!(h.last_request_to(trunk().remote, Method::Bye).is_none());
    let cdr = h.cdr().unwrap();
    assert_eq!(cdr.disposition, Disposition::Busy);
    assert_eq!(cdr.answer, None, "billsec 0");
    assert_eq!(cdr.end_reason, "dial-busy");
    assert!(h.engine.outbound.is_empty());
}

#[test]
fn an_unanswered_far_end_is_cancelled_after_the_ring_timeout() {
    let mut h = Harness::with(&config(), &[]);
    h.trunk_invite("203", "n");
    carrier_answers(&mut h, 180, "");
    h.advance(Duration::from_secs(59));
    assert!(
        h.last_request_to(carrier().remote, Method::Cancel)
            .is_none()
    );
    h.advance(Duration::from_secs(2));
    assert!(
        h.last_request_to(carrier().remote, Method::Cancel)
            .is_some()
    );
    let mut codes = h.responses_to(trunk().remote);
    codes.dedup(); // the 480 is retransmitted until the trunk ACKs it (Timer G)
    assert_eq!(codes, vec![100, 180, 480]);
    assert!(h.last_request_to(trunk().remote, Method::Bye).is_none());
    assert_eq!(h.cdr().unwrap().disposition, Disposition::NoAnswer);
    // The 487 to the CANCEL closes the leg without a second CDR.
    carrier_answers(&mut h, 487, "");
    assert!(h.engine.outbound.is_empty());
    let cdrs = h
        .writes
        .iter()
        .filter(|w| matches!(w, WriteOp::FinishCall { .. }))
        .count();
    assert_eq!(cdrs, 1);
}

#[test]
fn a_caller_who_cancels_while_the_far_end_rings_gets_487_and_the_far_leg_is_cancelled() {
    let mut h = Harness::with(&config(), &[]);
    h.trunk_invite("203", "x");
    carrier_answers(&mut h, 180, "");
    let cancel = "CANCEL sip:203@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5080;branch=z9hG4bKinvx\r\n\
                  Max-Forwards: 70\r\nFrom: \"Alice\" <sip:5551234@127.0.0.2>;tag=tx\r\nTo: <sip:203@127.0.0.1>\r\n\
                  Call-ID: call-x\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n";
    h.deliver(trunk(), cancel);
    let codes = h.responses_to(trunk().remote);
    assert!(codes.contains(&487), "487 to the INVITE: {codes:?}");
    assert!(
        h.last_request_to(carrier().remote, Method::Cancel)
            .is_some(),
        "the far leg is cancelled"
    );
    let cdr = h.cdr().unwrap();
    assert_eq!(cdr.disposition, Disposition::NoAnswer);
    assert_eq!(cdr.answer, None);
    assert_eq!(cdr.hangup_side, Some(HangupSide::Caller));
    carrier_answers(&mut h, 487, "");
    assert!(h.engine.outbound.is_empty());
    assert_eq!(h.engine.call_count(), 0);
}

#[test]
fn blind_refer_to_an_outside_number_dials_it_and_keeps_the_call_id() {
    let mut h = Harness::with(&config(), &[]);
    h.register("1001", 1);
    h.trunk_invite("201", "t");
    h.trunk_in_dialog("t", "ACK", 1);
    h.phone_answers(1, 200, "OK");
    let agent_invite = h.last_request_to(phone(1).remote, Method::Invite).unwrap();
    let call_id = header(&agent_invite, "X-Switchboard-Call-Id").unwrap();
    let ack = h.last_request_to(phone(1).remote, Method::Ack).unwrap();
    let to = rsip::headers::UntypedHeader::value(ack.to_header().unwrap()).to_string();
    let from = rsip::headers::UntypedHeader::value(ack.from_header().unwrap()).to_string();
    let dialog = rsip::headers::UntypedHeader::value(ack.call_id_header().unwrap()).to_string();
    let refer = format!(
        "REFER sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKref9\r\n\
         Max-Forwards: 70\r\nFrom: {to}\r\nTo: {from}\r\nCall-ID: {dialog}\r\nCSeq: 3 REFER\r\n\
         Contact: <sip:1001@{}>\r\nRefer-To: <sip:5559999@127.0.0.1>\r\nContent-Length: 0\r\n\r\n",
        phone(1).remote,
        phone(1).remote
    );
    h.deliver(phone(1), &refer);
    assert!(h.responses_to(phone(1).remote).contains(&202));
    assert!(h.last_request_to(phone(1).remote, Method::Bye).is_some());
    let out = h.last_request_to(carrier().remote, Method::Invite).unwrap();
    // The trunk's dial prefix goes before the number.
    assert_eq!(out.uri.to_string(), "sip:95559999@127.0.0.3:5070");
    assert_eq!(header(&out, "X-Switchboard-Call-Id").unwrap(), call_id);
    assert!(matches!(h.agent_state("1001"), AgentState::WrapUp { .. }));
    carrier_answers(&mut h, 200, "");
    assert_eq!(h.queue_log(), vec!["ENTERQUEUE", "CONNECT", "TRANSFER"]);
    assert!(
        h.log.iter().any(|l| l == "store:CallTransferred"),
        "{:?}",
        h.log
    );
    h.trunk_in_dialog("t", "BYE", 2);
    assert!(h.last_request_to(carrier().remote, Method::Bye).is_some());
    let cdr = h.cdr().unwrap();
    assert_eq!(cdr.call_id, call_id);
    assert_eq!(cdr.lastdata, "5559999");
    assert_eq!(cdr.agent.as_deref(), Some("1001"));
    assert_eq!(h.engine.call_count(), 0);
}

#[test]
fn refer_to_an_outside_number_without_an_outbound_trunk_is_still_404() {
    let mut h = Harness::new("linear");
    h.register("1001", 1);
    h.trunk_invite("201", "z");
    h.trunk_in_dialog("z", "ACK", 1);
    h.phone_answers(1, 200, "OK");
    let ack = h.last_request_to(phone(1).remote, Method::Ack).unwrap();
    let to = rsip::headers::UntypedHeader::value(ack.to_header().unwrap()).to_string();
    let from = rsip::headers::UntypedHeader::value(ack.from_header().unwrap()).to_string();
    let dialog = rsip::headers::UntypedHeader::value(ack.call_id_header().unwrap()).to_string();
    let refer = format!(
        "REFER sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKref8\r\n\
         Max-Forwards: 70\r\nFrom: {to}\r\nTo: {from}\r\nCall-ID: {dialog}\r\nCSeq: 3 REFER\r\n\
         Contact: <sip:1001@{}>\r\nRefer-To: <sip:5559999@127.0.0.1>\r\nContent-Length: 0\r\n\r\n",
        phone(1).remote,
        phone(1).remote
    );
    h.deliver(phone(1), &refer);
    assert!(h.responses_to(phone(1).remote).contains(&404));
    assert!(h.last_request_to(phone(1).remote, Method::Bye).is_none());
}

const C2D_ID: &str = "0190a0b0-0000-7000-8000-000000000001";

fn make_call(h: &mut Harness, destination: &str) -> Result<(), crate::CommandError> {
    let result = h.engine.handle_command(
        h.now,
        crate::EngineCommand::MakeCall(crate::MakeCall {
            call_id: C2D_ID.into(),
            agent: "1001".into(),
            destination: destination.into(),
            caller_id: None,
            data: [("ticket".to_string(), "T-42".to_string())].into(),
            request_id: "req-7".into(),
        }),
    );
    h.pump();
    result
}

#[test]
fn click_to_dial_rings_the_agent_first_then_the_customer_and_bridges_them() {
    let mut h = Harness::with(&config(), &[]);
    h.register("1001", 1);
    assert_eq!(make_call(&mut h, "5550100"), Ok(()));
    // The agent's phone rings first (after the screen-pop), the customer not yet.
    let invite = h.last_request_to(phone(1).remote, Method::Invite).unwrap();
    assert_eq!(header(&invite, "X-Switchboard-Call-Id").unwrap(), C2D_ID);
    assert!(header(&invite, "From").unwrap().contains("5550100"));
    assert!(
        h.last_request_to(carrier().remote, Method::Invite)
            .is_none()
    );
    let alerting = h
        .log
        .iter()
        .position(|l| l == "store:AgentAlerting")
        .unwrap();
    let ring = h.log.iter().position(|l| l == "sip:INVITE").unwrap();
    assert!(alerting < ring, "screen-pop before the ring: {:?}", h.log);
    h.phone_answers(1, 200, "OK");
    // Now the customer, presenting the trunk's caller id, with the dial prefix.
    let out = h.last_request_to(carrier().remote, Method::Invite).unwrap();
    assert_eq!(out.uri.to_string(), "sip:95550100@127.0.0.3:5070");
    assert!(header(&out, "From").unwrap().contains("sip:2000@"));
    assert_eq!(header(&out, "X-Switchboard-Call-Id").unwrap(), C2D_ID);
    assert!(matches!(h.agent_state("1001"), AgentState::OnCall { .. }));
    carrier_answers(&mut h, 200, "");
    assert!(h.last_request_to(carrier().remote, Method::Ack).is_some());
    // The customer hangs up: the agent gets BYE and goes to wrap-up / Ready.
    carrier_byes(&mut h);
    assert!(h.last_request_to(phone(1).remote, Method::Bye).is_some());
    let cdr = h.cdr().unwrap();
    assert_eq!(cdr.call_id, C2D_ID);
    assert_eq!(cdr.dst, "5550100");
    assert_eq!(cdr.agent.as_deref(), Some("1001"));
    assert_eq!(cdr.lastapp, "Dial");
    assert_eq!(cdr.disposition, Disposition::Answered);
    assert_eq!(cdr.hangup_side, Some(HangupSide::Caller));
    assert!(h.queue_log().is_empty(), "{:?}", h.queue_log());
    // Every event of the call carries the command's request_id.
    let tagged = h
        .writes
        .iter()
        .flat_map(|w| match w {
            WriteOp::Append(e) | WriteOp::Record { events: e, .. } => e.clone(),
            WriteOp::FinishCall { events, .. } => events.clone(),
            _ => Vec::new(),
        })
        .filter(|e| e.call_id.as_deref() == Some(C2D_ID))
        .map(|e| (e.kind.clone(), e.request_id.clone()))
        .collect::<Vec<_>>();
    assert!(tagged.len() >= 4, "{tagged:?}");
    assert!(
        tagged.iter().all(|(_, r)| r.as_deref() == Some("req-7")),
        "{tagged:?}"
    );
    assert_eq!(h.engine.call_count(), 0);
}

#[test]
fn click_to_dial_customer_busy_releases_the_agent_with_disposition_busy() {
    let mut h = Harness::with(&config(), &[]);
    h.register("1001", 1);
    make_call(&mut h, "5550101").unwrap();
    h.phone_answers(1, 200, "OK");
    carrier_answers(&mut h, 486, "");
    assert!(h.last_request_to(phone(1).remote, Method::Bye).is_some());
    assert_eq!(h.cdr().unwrap().disposition, Disposition::Busy);
    assert!(!matches!(h.agent_state("1001"), AgentState::OnCall { .. }));
}

#[test]
fn click_to_dial_is_refused_for_a_busy_or_unknown_agent_and_a_bad_number() {
    let mut h = Harness::with(&config(), &[]);
    assert!(matches!(
        make_call(&mut h, "5550100"),
        Err(crate::CommandError::AgentBusy(_))
    ));
    h.register("1001", 1);
    assert!(matches!(
        make_call(&mut h, "not a number"),
        Err(crate::CommandError::BadDestination(_))
    ));
    assert_eq!(h.engine.call_count(), 0);
    make_call(&mut h, "5550100").unwrap();
    assert!(matches!(
        make_call(&mut h, "5550100"),
        Err(crate::CommandError::Refused(_))
    ));
}

#[test]
fn api_blind_transfer_to_a_number_and_to_an_agent_keep_the_call_id() {
    let mut h = Harness::with(&config(), &[]);
    h.register("1001", 1);
    h.register("1002", 2);
    h.trunk_invite("201", "api");
    h.trunk_in_dialog("api", "ACK", 1);
    h.phone_answers(1, 200, "OK");
    let call_id = header(
        &h.last_request_to(phone(1).remote, Method::Invite).unwrap(),
        "X-Switchboard-Call-Id",
    )
    .unwrap();
    h.engine
        .handle_command(
            h.now,
            crate::EngineCommand::TransferToAgent {
                call_id: call_id.clone(),
                agent: "1002".into(),
            },
        )
        .unwrap();
    h.pump();
    assert!(h.last_request_to(phone(1).remote, Method::Bye).is_some());
    let invite = h.last_request_to(phone(2).remote, Method::Invite).unwrap();
    assert_eq!(header(&invite, "X-Switchboard-Call-Id").unwrap(), call_id);
    h.phone_answers(2, 200, "OK");
    h.engine
        .handle_command(
            h.now,
            crate::EngineCommand::TransferToNumber {
                call_id: call_id.clone(),
                destination: "5557777".into(),
            },
        )
        .unwrap();
    h.pump();
    assert!(h.last_request_to(phone(2).remote, Method::Bye).is_some());
    let out = h.last_request_to(carrier().remote, Method::Invite).unwrap();
    assert_eq!(header(&out, "X-Switchboard-Call-Id").unwrap(), call_id);
    assert_eq!(
        h.queue_log(),
        vec![
            "ENTERQUEUE",
            "CONNECT",
            "TRANSFER",
            "ENTERQUEUE",
            "CONNECT",
            "TRANSFER"
        ]
    );
}

fn caller_leg(h: &Harness) -> LegId {
    h.media
        .iter()
        .find_map(|c| match c {
            MediaCommand::SetMedia { leg, .. } => Some(*leg),
            _ => None,
        })
        .unwrap()
}

fn callback_writes(h: &Harness) -> (Vec<switchboard_store::CallbackEntry>, Vec<String>) {
    let mut saved = Vec::new();
    let mut removed = Vec::new();
    for w in &h.writes {
        match w {
            WriteOp::SaveCallback(e) => saved.push((**e).clone()),
            WriteOp::RemoveCallback(id) => removed.push(id.clone()),
            _ => {}
        }
    }
    (saved, removed)
}

#[test]
fn pressing_9_while_queued_becomes_a_callback_that_rings_the_agent_then_dials_the_caller() {
    let mut h = Harness::with(&config(), &[]);
    h.trunk_invite("201", "cb");
    h.trunk_in_dialog("cb", "ACK", 1);
    let leg = caller_leg(&h);
    h.advance(Duration::from_secs(4));
    h.press(leg, '9');
    // The caller is released, the entry persisted, the router keeps it.
    assert!(h.last_request_to(trunk().remote, Method::Bye).is_some());
    assert_eq!(h.queue_log(), vec!["ENTERQUEUE", "EXITWITHKEY"]);
    let (saved, removed) = callback_writes(&h);
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].number, "5551234");
    assert_eq!(saved[0].queue, "support");
    assert!(removed.is_empty());
    assert!(h.cdr().is_none(), "the call goes on as a callback");
    assert!(h.log.iter().any(|l| l == "store:CallbackRequested"));
    assert_eq!(h.engine.call_count(), 1);
    // A minute of no RTP on the released leg does not end it.
    h.engine.handle_media(h.now, MediaEvent::Inactive { leg });
    h.pump();
    assert_eq!(h.engine.call_count(), 1);
    // An agent becomes Ready: it is offered the callback, answers, then the caller is dialled.
    h.register("1001", 1);
    let invite = h.last_request_to(phone(1).remote, Method::Invite).unwrap();
    let call_id = header(&invite, "X-Switchboard-Call-Id").unwrap();
    assert_eq!(call_id, saved[0].id);
    assert!(
        h.last_request_to(carrier().remote, Method::Invite)
            .is_none()
    );
    h.phone_answers(1, 200, "OK");
    let out = h.last_request_to(carrier().remote, Method::Invite).unwrap();
    assert_eq!(out.uri.to_string(), "sip:95551234@127.0.0.3:5070");
    assert_eq!(header(&out, "X-Switchboard-Call-Id").unwrap(), call_id);
    carrier_answers(&mut h, 200, "");
    let (_, removed) = callback_writes(&h);
    assert_eq!(
        removed,
        vec![call_id.clone()],
        "no longer pending once answered"
    );
    carrier_byes(&mut h);
    assert!(h.last_request_to(phone(1).remote, Method::Bye).is_some());
    let cdr = h.cdr().unwrap();
    assert_eq!(cdr.call_id, call_id);
    assert_eq!(cdr.disposition, Disposition::Answered);
    assert_eq!(h.engine.call_count(), 0);
}

#[test]
fn an_unreached_callback_customer_releases_the_agent_and_the_entry_waits_again() {
    let mut h = Harness::with(&config(), &[]);
    h.trunk_invite("201", "un");
    h.trunk_in_dialog("un", "ACK", 1);
    let leg = caller_leg(&h);
    h.press(leg, '9');
    h.register("1001", 1);
    h.phone_answers(1, 200, "OK");
    carrier_answers(&mut h, 486, "");
    assert!(h.last_request_to(phone(1).remote, Method::Bye).is_some());
    assert!(h.cdr().is_none(), "the callback is retried, not ended");
    assert_eq!(h.engine.call_count(), 1);
    assert!(!matches!(h.agent_state("1001"), AgentState::OnCall { .. }));
}

#[test]
fn callbacks_persisted_before_a_restart_are_restored_and_placed() {
    let mut before = Harness::with(&config(), &[]);
    before.trunk_invite("201", "rs");
    before.trunk_in_dialog("rs", "ACK", 1);
    let leg = caller_leg(&before);
    before.advance(Duration::from_secs(30));
    before.press(leg, '9');
    let (saved, _) = callback_writes(&before);
    // The callback is no call in progress: a restart does not close it `restart`.
    assert!(
        before
            .writes
            .iter()
            .any(|w| matches!(w, WriteOp::CallFinished(id) if *id == saved[0].id))
    );
    // "Restart": a new engine, the store's pending callbacks handed in.
    let mut after = Harness::with(&config(), &[]);
    after.engine.restore_callbacks(after.now, saved.clone());
    after.pump();
    assert_eq!(after.engine.call_count(), 1);
    after.register("1001", 1);
    let invite = after
        .last_request_to(phone(1).remote, Method::Invite)
        .unwrap();
    assert_eq!(
        header(&invite, "X-Switchboard-Call-Id").unwrap(),
        saved[0].id
    );
    after.phone_answers(1, 200, "OK");
    let out = after
        .last_request_to(carrier().remote, Method::Invite)
        .unwrap();
    assert_eq!(out.uri.to_string(), "sip:95551234@127.0.0.3:5070");
}

#[test]
fn max_wait_overflow_to_a_uri_forwards_the_waiting_caller_through_the_trunk() {
    let config = config().replace(
        "record = true\n",
        "record = true\nmax_wait_seconds = 10\noverflow = { uri = \"sip:voicemail@127.0.0.3:5070\" }\n",
    );
    assert!(config.contains("max_wait_seconds = 10"));
    let mut h = Harness::with(&config, &[]);
    h.trunk_invite("201", "ov");
    h.trunk_in_dialog("ov", "ACK", 1);
    h.advance(Duration::from_secs(9));
    assert!(
        h.last_request_to(carrier().remote, Method::Invite)
            .is_none()
    );
    h.advance(Duration::from_secs(2));
    let out = h.last_request_to(carrier().remote, Method::Invite).unwrap();
    assert_eq!(out.uri.to_string(), "sip:voicemail@127.0.0.3:5070");
    assert_eq!(h.queue_log(), vec!["ENTERQUEUE", "EXITWITHTIMEOUT"]);
    carrier_answers(&mut h, 200, "");
    assert!(
        h.media
            .iter()
            .any(|m| matches!(m, MediaCommand::Bridge { .. }))
    );
    h.trunk_in_dialog("ov", "BYE", 2);
    assert!(h.last_request_to(carrier().remote, Method::Bye).is_some());
    let cdr = h.cdr().unwrap();
    assert_eq!(cdr.lastapp, "Dial");
    assert_eq!(cdr.queue.as_deref(), Some("support"));
    assert_eq!(cdr.disposition, Disposition::Answered);
}

#[test]
fn click_to_dial_presents_the_commands_caller_id_instead_of_the_trunks() {
    let mut h = Harness::with(&config(), &[]);
    h.register("1001", 1);
    h.engine
        .handle_command(
            h.now,
            crate::EngineCommand::MakeCall(crate::MakeCall {
                call_id: C2D_ID.into(),
                agent: "1001".into(),
                destination: "5550102".into(),
                caller_id: Some("+15559000".into()),
                data: Default::default(),
                request_id: String::new(),
            }),
        )
        .unwrap();
    h.pump();
    h.phone_answers(1, 200, "OK");
    let out = h.last_request_to(carrier().remote, Method::Invite).unwrap();
    assert!(
        header(&out, "From").unwrap().contains("sip:+15559000@"),
        "{out}"
    );
}

#[test]
fn a_silent_far_leg_ends_the_forwarded_call() {
    let mut h = Harness::with(&config(), &[]);
    h.trunk_invite("203", "q");
    carrier_answers(&mut h, 200, "");
    h.trunk_in_dialog("q", "ACK", 1);
    let far = h
        .media
        .iter()
        .find_map(|m| match m {
            MediaCommand::Bridge { agent, .. } => Some(*agent),
            _ => None,
        })
        .unwrap();
    h.engine
        .handle_media(h.now, MediaEvent::Inactive { leg: far });
    h.pump();
    assert!(h.last_request_to(carrier().remote, Method::Bye).is_some());
    assert!(h.last_request_to(trunk().remote, Method::Bye).is_some());
    assert_eq!(h.cdr().unwrap().end_reason, "media-timeout");
}

fn schedule(
    h: &mut Harness,
    id: &str,
    not_before: Option<SystemTime>,
) -> Result<(), crate::CommandError> {
    let r = h.engine.handle_command(
        h.now,
        crate::EngineCommand::ScheduleCallback(crate::ScheduleCallback {
            call_id: id.into(),
            queue: "support".into(),
            number: "5550199".into(),
            not_before,
        }),
    );
    h.pump();
    r
}

const WEB_CALLBACK: &str = "0192e4a0-0000-7000-8000-000000000001";

#[test]
fn a_callback_scheduled_without_a_caller_enters_its_queue_when_due_and_dials_the_number() {
    let mut h = Harness::with(&config(), &[]);
    h.register("1001", 1);
    let due = h.engine.wall(h.now) + Duration::from_secs(60);
    schedule(&mut h, WEB_CALLBACK, Some(due)).unwrap();
    let (saved, _) = callback_writes(&h);
    assert_eq!(saved.len(), 1, "persisted at once");
    assert_eq!(
        (saved[0].due, saved[0].call_id.as_deref()),
        (Some(due), None)
    );
    assert!(h.log.iter().any(|l| l == "store:CallbackRequested"));
    assert_eq!(h.engine.call_count(), 0, "not queued before its time");
    assert!(h.last_request_to(phone(1).remote, Method::Invite).is_none());
    assert!(
        h.engine
            .poll_timeout()
            .is_some_and(|t| t <= h.now + Duration::from_secs(60))
    );
    h.advance(Duration::from_secs(59));
    assert!(h.last_request_to(phone(1).remote, Method::Invite).is_none());
    h.advance(Duration::from_secs(1));
    assert_eq!(h.queue_log(), vec!["ENTERQUEUE"]);
    let invite = h
        .last_request_to(phone(1).remote, Method::Invite)
        .expect("the Ready agent is offered the callback when it is due");
    assert_eq!(
        header(&invite, "X-Switchboard-Call-Id").unwrap(),
        WEB_CALLBACK
    );
    h.phone_answers(1, 200, "OK");
    let out = h.last_request_to(carrier().remote, Method::Invite).unwrap();
    assert_eq!(out.uri.to_string(), "sip:95550199@127.0.0.3:5070");
    carrier_answers(&mut h, 200, "");
    let (_, removed) = callback_writes(&h);
    assert_eq!(removed, vec![WEB_CALLBACK.to_string()]);
}

#[test]
fn a_scheduled_callback_is_refused_for_a_bad_queue_or_number_and_cancelled_by_end_call() {
    let mut h = Harness::with(&config(), &[]);
    let refused = h.engine.handle_command(
        h.now,
        crate::EngineCommand::ScheduleCallback(crate::ScheduleCallback {
            call_id: WEB_CALLBACK.into(),
            queue: "nope".into(),
            number: "5550199".into(),
            not_before: None,
        }),
    );
    assert_eq!(
        refused,
        Err(crate::CommandError::UnknownQueue("nope".into()))
    );
    let due = h.engine.wall(h.now) + Duration::from_secs(600);
    schedule(&mut h, WEB_CALLBACK, Some(due)).unwrap();
    assert!(matches!(
        schedule(&mut h, WEB_CALLBACK, None),
        Err(crate::CommandError::Refused(_))
    ));
    h.engine
        .handle_command(
            h.now,
            crate::EngineCommand::Hangup {
                call_id: WEB_CALLBACK.into(),
            },
        )
        .unwrap();
    h.pump();
    let (_, removed) = callback_writes(&h);
    assert_eq!(removed, vec![WEB_CALLBACK.to_string()]);
    h.advance(Duration::from_secs(700));
    assert_eq!(h.engine.call_count(), 0, "cancelled: never queued");
    h.register("1001", 1);
    assert!(h.last_request_to(phone(1).remote, Method::Invite).is_none());
    // A callback with no time is queued at once.
    schedule(&mut h, "0192e4a0-0000-7000-8000-000000000002", None).unwrap();
    assert!(h.last_request_to(phone(1).remote, Method::Invite).is_some());
}

#[test]
fn a_scheduled_callback_restored_after_a_restart_still_waits_for_its_time() {
    let mut before = Harness::with(&config(), &[]);
    let due = before.engine.wall(before.now) + Duration::from_secs(120);
    schedule(&mut before, WEB_CALLBACK, Some(due)).unwrap();
    let (saved, _) = callback_writes(&before);
    let mut after = Harness::with(&config(), &[]);
    after.register("1001", 1);
    after.engine.restore_callbacks(after.now, saved);
    after.pump();
    assert_eq!(after.engine.call_count(), 0);
    after.advance(Duration::from_secs(120));
    assert_eq!(after.engine.call_count(), 1);
    assert!(
        after
            .last_request_to(phone(1).remote, Method::Invite)
            .is_some()
    );
}
