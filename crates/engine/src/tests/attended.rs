//! Calls placed from agent phones and attended transfer (REFER with Replaces).

use rsip::prelude::HeadersExt;
use rsip::{Method, SipMessage};
use switchboard_sip::digest::{compute_response, parse_credentials};

use super::*;

fn header_value<'a>(h: &impl rsip::headers::UntypedHeader<'a>) -> String {
    h.value().to_string()
}

/// Agent `agent` on phone `n` INVITEs `dialled` (Call-ID `cons-<id>`, From tag `a<id>`),
/// answering the 407 challenge. Returns the final status.
fn agent_dials(h: &mut Harness, agent: &str, n: u16, dialled: &str, id: &str) -> u16 {
    agent_dials_with(h, agent, n, dialled, id, "")
}

/// [`agent_dials`] with `extra` header lines (each ending in CRLF).
fn agent_dials_with(
    h: &mut Harness,
    agent: &str,
    n: u16,
    dialled: &str,
    id: &str,
    extra: &str,
) -> u16 {
    let peer = phone(n);
    let invite = |auth: &str, cseq: u32| {
        format!(
            "INVITE sip:{dialled}@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {r};branch=z9hG4bKcons{id}{cseq}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:{agent}@127.0.0.1>;tag=a{id}\r\nTo: <sip:{dialled}@127.0.0.1>\r\n\
             Call-ID: cons-{id}\r\nCSeq: {cseq} INVITE\r\nContact: <sip:{agent}@{r}>\r\n{extra}{auth}\
             Content-Type: application/sdp\r\nContent-Length: {len}\r\n\r\n{sdp}",
            r = peer.remote,
            len = SDP.len(),
            sdp = SDP
        )
    };
    h.deliver(peer, &invite("", 1));
    let challenge = h
        .sent_to(peer.remote)
        .into_iter()
        .rev()
        .find_map(|m| match m {
            SipMessage::Response(r) if r.status_code.code() == 407 => Some(r),
            _ => None,
        })
        .expect("407 challenge");
    // ACK the 407 (same transaction).
    h.deliver(
        peer,
        &format!(
            "ACK sip:{dialled}@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {r};branch=z9hG4bKcons{id}1\r\n\
             Max-Forwards: 70\r\nFrom: <sip:{agent}@127.0.0.1>;tag=a{id}\r\nTo: {to}\r\n\
             Call-ID: cons-{id}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
            r = peer.remote,
            to = header_value(challenge.to_header().unwrap())
        ),
    );
    let www = challenge
        .headers
        .iter()
        .find_map(|h| match h {
            rsip::Header::ProxyAuthenticate(w) => Some(header_value(w)),
            _ => None,
        })
        .expect("Proxy-Authenticate");
    let nonce = www
        .split("nonce=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let draft = format!(
        "Digest username=\"{agent}\", realm=\"switchboard\", nonce=\"{nonce}\", uri=\"sip:{dialled}@127.0.0.1:5060\", \
         response=\"0\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"c{id}\""
    );
    let creds = parse_credentials(&draft).unwrap();
    let response = compute_response(&creds, "secret", "INVITE");
    let auth = draft.replace("response=\"0\"", &format!("response=\"{response}\""));
    h.deliver(
        peer,
        &invite(&format!("Proxy-Authorization: {auth}\r\n"), 2),
    );
    let last = h.responses_to(peer.remote).last().copied().unwrap_or(0);
    if last == 200 {
        // The phone ACKs our 200.
        let ok = consult_ok(h, n, id);
        h.deliver(
            peer,
            &format!(
                "ACK sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {r};branch=z9hG4bKconsack{id}\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:{agent}@127.0.0.1>;tag=a{id}\r\nTo: {to}\r\n\
                 Call-ID: cons-{id}\r\nCSeq: 2 ACK\r\nContent-Length: 0\r\n\r\n",
                r = peer.remote,
                to = header_value(ok.to_header().unwrap())
            ),
        );
    }
    last
}

/// Our 200 to the consultation INVITE `cons-<id>`.
fn consult_ok(h: &Harness, n: u16, id: &str) -> rsip::Response {
    h.sent_to(phone(n).remote)
        .into_iter()
        .find_map(|m| match m {
            SipMessage::Response(r)
                if r.status_code.code() == 200
                    && r.call_id_header()
                        .is_ok_and(|c| header_value(c) == format!("cons-{id}")) =>
            {
                Some(r)
            }
            _ => None,
        })
        .expect("the consultation was answered")
}

/// The phone's view of its dialog with us on the call the engine INVITEd it to
/// (`From`/`To` as the phone sends them, and the Call-ID).
fn agent_dialog(h: &Harness, n: u16, nth_invite: usize) -> (String, String, String) {
    let invites: Vec<rsip::Request> = h
        .sent_to(phone(n).remote)
        .into_iter()
        .filter_map(|m| match m {
            SipMessage::Request(r) if r.method == Method::Invite => Some(r),
            _ => None,
        })
        .fold(Vec::new(), |mut v, r| {
            let id = header_value(r.call_id_header().unwrap());
            if !v
                .iter()
                .any(|x: &rsip::Request| header_value(x.call_id_header().unwrap()) == id)
            {
                v.push(r);
            }
            v
        });
    let invite = &invites[nth_invite];
    let from = format!("{};tag=ph{n}", header_value(invite.to_header().unwrap()));
    let to = header_value(invite.from_header().unwrap());
    (from, to, header_value(invite.call_id_header().unwrap()))
}

/// Phone `n` sends REFER on its customer dialog with Replaces naming consultation `cons-<id>`.
fn refer_with_replaces(h: &mut Harness, n: u16, target: &str, id: &str) {
    let (from, to, call_id) = agent_dialog(h, n, 0);
    let ok = consult_ok(h, n, id);
    let our_tag = ok.to_header().unwrap().tag().unwrap().unwrap().to_string();
    let refer = format!(
        "REFER sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {r};branch=z9hG4bKrefer{id}\r\n\
         Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: 9 REFER\r\n\
         Contact: <sip:100{n}@{r}>\r\n\
         Refer-To: <sip:{target}@127.0.0.1?Replaces=cons-{id}%3Bto-tag%3D{our_tag}%3Bfrom-tag%3Da{id}>\r\n\
         Referred-By: <sip:100{n}@127.0.0.1>\r\nContent-Length: 0\r\n\r\n",
        r = phone(n).remote
    );
    h.deliver(phone(n), &refer);
}

/// Phone `n` holds the customer: re-INVITE sendonly on its customer dialog.
fn hold(h: &mut Harness, n: u16) {
    let (from, to, call_id) = agent_dialog(h, n, 0);
    let body = SDP.replace("127.0.0.2", "127.0.0.1") + "a=sendonly\r\n";
    let text = format!(
        "INVITE sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {r};branch=z9hG4bKhold{n}\r\n\
         Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: 5 INVITE\r\n\
         Contact: <sip:100{n}@{r}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
        body.len(),
        r = phone(n).remote
    );
    h.deliver(phone(n), &text);
}

fn cdrs(h: &Harness) -> Vec<switchboard_store::Cdr> {
    h.writes
        .iter()
        .filter_map(|w| match w {
            WriteOp::FinishCall { cdr, .. } => Some((**cdr).clone()),
            _ => None,
        })
        .collect()
}

fn event_kinds(h: &Harness) -> Vec<String> {
    h.log
        .iter()
        .filter_map(|l| l.strip_prefix("store:").map(str::to_string))
        .collect()
}

/// Customer on `x` connected to 1001 (phone 1); 1002 (phone 2) registered and Ready.
fn connected_customer() -> Harness {
    let mut h = Harness::new("linear");
    h.register("1001", 1);
    h.trunk_invite("201", "x");
    h.trunk_in_dialog("x", "ACK", 1);
    h.phone_answers(1, 200, "OK");
    h.register("1002", 2);
    assert!(matches!(h.agent_state("1001"), AgentState::OnCall { .. }));
    assert_eq!(h.agent_state("1002"), AgentState::Ready);
    h
}

#[test]
fn an_agent_dialling_another_agent_rings_that_agent_through_switchboard() {
    let mut h = connected_customer();
    assert_eq!(agent_dials(&mut h, "1001", 1, "1002", "c1"), 200);
    // The consultation rings 1002 with 1001 as the caller.
    let invite = h
        .last_request_to(phone(2).remote, Method::Invite)
        .expect("1002 rung");
    assert!(header_value(invite.from_header().unwrap()).contains("1001"));
    h.phone_answers(2, 200, "OK");
    assert!(matches!(h.agent_state("1002"), AgentState::OnCall { .. }));
    // The customer's call is untouched.
    assert!(h.last_request_to(trunk().remote, Method::Bye).is_none());
}

#[test]
fn agent_calls_to_a_queue_or_route_are_routed_and_unknown_numbers_get_404() {
    let mut h = connected_customer();
    assert_eq!(agent_dials(&mut h, "1001", 1, "support", "q1"), 200);
    assert!(h.last_request_to(phone(2).remote, Method::Invite).is_some());
    let mut h = connected_customer();
    assert_eq!(agent_dials(&mut h, "1001", 1, "201", "r1"), 200);
    assert!(h.last_request_to(phone(2).remote, Method::Invite).is_some());
    assert_eq!(agent_dials(&mut h, "1001", 1, "0015551234", "n1"), 404);
    assert_eq!(agent_dials(&mut h, "1001", 1, "1001", "s1"), 403);
}

#[test]
fn an_unauthenticated_invite_from_an_agent_phone_is_challenged_and_a_stranger_refused() {
    let mut h = connected_customer();
    let text = format!(
        "INVITE sip:1002@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {r};branch=z9hG4bKstr\r\n\
         Max-Forwards: 70\r\nFrom: <sip:9999@127.0.0.1>;tag=s\r\nTo: <sip:1002@127.0.0.1>\r\n\
         Call-ID: stranger\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
        r = phone(7).remote
    );
    h.deliver(phone(7), &text);
    assert_eq!(h.responses_to(phone(7).remote).last(), Some(&403));
}

#[test]
fn attended_transfer_by_refer_with_replaces_joins_the_customer_to_the_consulted_agent() {
    let mut h = connected_customer();
    let customer_leg = LegId(1);
    hold(&mut h, 1);
    assert!(
        h.media
            .iter()
            .any(|c| matches!(c, MediaCommand::MusicOnHold { leg, .. } if *leg == customer_leg)),
        "held customer hears music"
    );
    assert_eq!(agent_dials(&mut h, "1001", 1, "1002", "t1"), 200);
    h.phone_answers(2, 200, "OK");
    let call_id = h.cdr().map(|c| c.call_id);
    assert_eq!(call_id, None, "no call ended yet");
    refer_with_replaces(&mut h, 1, "1002", "t1");
    assert!(h.responses_to(phone(1).remote).contains(&202));
    let notify = h
        .last_request_to(phone(1).remote, Method::Notify)
        .expect("NOTIFY");
    assert!(String::from_utf8_lossy(&notify.body).starts_with("SIP/2.0 200"));
    // A's two dialogs get BYE: the customer one and the consultation.
    let byes: Vec<String> = h
        .sent_to(phone(1).remote)
        .into_iter()
        .filter_map(|m| match m {
            SipMessage::Request(r) if r.method == Method::Bye => {
                Some(header_value(r.call_id_header().unwrap()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(byes.len(), 2, "{byes:?}");
    assert!(byes.contains(&"cons-t1".to_string()));
    // The customer stays, now bridged to B's leg.
    assert!(h.last_request_to(trunk().remote, Method::Bye).is_none());
    let b_leg = h
        .media
        .iter()
        .rev()
        .find_map(|c| match c {
            MediaCommand::Bridge { caller, agent } if *caller == customer_leg => Some(*agent),
            _ => None,
        })
        .expect("customer bridged again");
    assert_ne!(b_leg, LegId(2), "not A's old leg");
    // `support` records: the customer-B pair is recorded from the transfer on.
    assert!(
        h.media
            .iter()
            .any(|c| matches!(c, MediaCommand::Record { caller, agent, name }
            if *caller == customer_leg && *agent == b_leg && name.ends_with(&format!("-{b_leg}")))),
        "{:?}",
        h.media
    );
    assert!(matches!(h.agent_state("1001"), AgentState::WrapUp { .. }));
    assert!(matches!(h.agent_state("1002"), AgentState::OnCall { .. }));
    let kinds = event_kinds(&h);
    assert!(kinds.iter().any(|k| k == "CallTransferred"), "{kinds:?}");
    // The consultation call is over (CDR `transferred`), the customer's is not.
    let ended = cdrs(&h);
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].end_reason, "transferred");
    assert_eq!(ended[0].src, "1001");
    // The customer hangs up: one CDR for the customer's call with B as the agent; B wraps up.
    h.trunk_in_dialog("x", "BYE", 3);
    let ended = cdrs(&h);
    assert_eq!(ended.len(), 2);
    let customer = &ended[1];
    assert_eq!(customer.agent.as_deref(), Some("1002"));
    assert_eq!(customer.queue.as_deref(), Some("support"));
    assert_ne!(customer.call_id, ended[0].call_id);
    assert!(h.last_request_to(phone(2).remote, Method::Bye).is_some());
    let b = h.agent_state("1002");
    assert!(!matches!(b, AgentState::OnCall { .. }), "B released: {b:?}");
    let log = h.queue_log();
    assert!(log.contains(&"ATTENDEDTRANSFER".to_string()), "{log:?}");
    assert_eq!(log.last().map(String::as_str), Some("COMPLETECALLER"));
}

#[test]
fn the_transfer_event_names_the_old_and_new_legs_and_keeps_the_call_id() {
    let mut h = connected_customer();
    agent_dials(&mut h, "1001", 1, "1002", "t2");
    h.phone_answers(2, 200, "OK");
    refer_with_replaces(&mut h, 1, "1002", "t2");
    let transferred = h
        .writes
        .iter()
        .flat_map(|w| match w {
            WriteOp::Record { events, .. } => events.clone(),
            _ => Vec::new(),
        })
        .find(|e| e.kind == "CallTransferred")
        .expect("a CallTransferred event");
    let event =
        <switchboard_proto::pb::Event as prost::Message>::decode(transferred.payload.as_slice())
            .unwrap();
    let Some(switchboard_proto::pb::event::Payload::CallTransferred(t)) = event.payload else {
        panic!("payload");
    };
    assert_eq!(t.old_leg_id, "leg2");
    assert_eq!(t.new_leg_id, "leg4");
    let customer_call = h
        .writes
        .iter()
        .find_map(|w| match w {
            WriteOp::SaveCall { call, .. } if call.src == "5551234" => Some(call.call_id.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(event.call_id, customer_call);
}

#[test]
fn refer_with_replaces_before_the_target_answers_sends_the_customer_to_the_target() {
    let mut h = connected_customer();
    agent_dials(&mut h, "1001", 1, "1002", "t3");
    h.phone_answers(2, 180, "Ringing");
    // 1002 is ringing; A completes the transfer anyway (a "blonde" transfer).
    refer_with_replaces(&mut h, 1, "1002", "t3");
    assert!(h.responses_to(phone(1).remote).contains(&202));
    assert!(matches!(h.agent_state("1001"), AgentState::WrapUp { .. }));
    assert!(h.last_request_to(trunk().remote, Method::Bye).is_none());
    // The consultation's INVITE was cancelled; the customer now rings 1002.
    assert!(h.last_request_to(phone(2).remote, Method::Cancel).is_some());
    h.advance(Duration::from_millis(10));
    let customer_invites = h
        .sent_to(phone(2).remote)
        .into_iter()
        .filter(|m| matches!(m, SipMessage::Request(r) if r.method == Method::Invite && r.headers.iter().any(|hd| hd.to_string().contains("5551234"))))
        .count();
    assert!(customer_invites >= 1, "1002 rung for the customer");
    assert!(h.queue_log().contains(&"TRANSFER".to_string()));
}

#[test]
fn refer_with_replaces_naming_an_unknown_dialog_gets_481_and_changes_nothing() {
    let mut h = connected_customer();
    agent_dials(&mut h, "1001", 1, "1002", "t4");
    h.phone_answers(2, 200, "OK");
    let (from, to, call_id) = agent_dialog(&h, 1, 0);
    let refer = format!(
        "REFER sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {r};branch=z9hG4bKrefbad\r\n\
         Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: 9 REFER\r\n\
         Refer-To: <sip:1002@127.0.0.1?Replaces=nope%3Bto-tag%3Dx%3Bfrom-tag%3Dy>\r\nContent-Length: 0\r\n\r\n",
        r = phone(1).remote
    );
    h.deliver(phone(1), &refer);
    assert_eq!(h.responses_to(phone(1).remote).last(), Some(&481));
    assert!(matches!(h.agent_state("1001"), AgentState::OnCall { .. }));
    assert!(h.last_request_to(phone(1).remote, Method::Bye).is_none());
}

#[test]
fn the_customer_hanging_up_during_the_consultation_leaves_the_consultation_up() {
    let mut h = connected_customer();
    hold(&mut h, 1);
    agent_dials(&mut h, "1001", 1, "1002", "t5");
    h.phone_answers(2, 200, "OK");
    h.trunk_in_dialog("x", "BYE", 3);
    let ended = cdrs(&h);
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].src, "5551234");
    // A and B still talk; a REFER now has no customer to transfer.
    assert!(matches!(h.agent_state("1002"), AgentState::OnCall { .. }));
    assert!(
        h.sent_to(phone(2).remote)
            .iter()
            .all(|m| !matches!(m, SipMessage::Request(r) if r.method == Method::Bye))
    );
}

/// Phone `n` hangs up its consultation `cons-<id>`.
fn hang_up_consultation(h: &mut Harness, agent: &str, n: u16, id: &str) {
    let ok = consult_ok(h, n, id);
    let text = format!(
        "BYE sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {r};branch=z9hG4bKconsbye{id}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:{agent}@127.0.0.1>;tag=a{id}\r\nTo: {to}\r\n\
         Call-ID: cons-{id}\r\nCSeq: 3 BYE\r\nContent-Length: 0\r\n\r\n",
        r = phone(n).remote,
        to = header_value(ok.to_header().unwrap())
    );
    h.deliver(phone(n), &text);
}

#[test]
fn a_consultation_the_target_never_answers_ends_when_the_agent_hangs_it_up_and_the_customer_stays()
{
    let mut h = connected_customer();
    hold(&mut h, 1);
    agent_dials(&mut h, "1001", 1, "1002", "t6");
    assert!(event_kinds(&h).contains(&"ConsultationStarted".to_string()));
    h.phone_answers(2, 180, "Ringing");
    // 1002 never answers; after a while 1001 gives up.
    h.advance(Duration::from_secs(10));
    hang_up_consultation(&mut h, "1001", 1, "t6");
    assert!(h.last_request_to(phone(2).remote, Method::Cancel).is_some());
    assert!(event_kinds(&h).contains(&"ConsultationEnded".to_string()));
    let ended = cdrs(&h);
    assert_eq!(ended.len(), 1, "only the consultation ended");
    assert_eq!(ended[0].src, "1001");
    assert!(matches!(h.agent_state("1001"), AgentState::OnCall { .. }));
    assert!(h.last_request_to(trunk().remote, Method::Bye).is_none());
}

#[test]
fn a_consultation_target_that_rejects_leaves_the_consultation_waiting_and_the_customer_with_a() {
    let mut h = connected_customer();
    agent_dials(&mut h, "1001", 1, "1002", "t7");
    h.phone_answers(2, 486, "Busy Here");
    // The consultation waits in 1002's personal queue (1002 RONA/NotReady); the customer is
    // still with 1001 and a REFER now is a blonde transfer into that queue.
    assert!(matches!(h.agent_state("1001"), AgentState::OnCall { .. }));
    assert!(h.last_request_to(trunk().remote, Method::Bye).is_none());
    hang_up_consultation(&mut h, "1001", 1, "t7");
    let log = h.queue_log();
    assert!(log.contains(&"RINGNOANSWER".to_string()), "{log:?}");
    assert!(log.contains(&"ABANDON".to_string()), "{log:?}");
}

/// The Replaces value naming phone `n`'s customer dialog as the phone sees it.
fn replaces_of_customer_dialog(h: &Harness, n: u16) -> String {
    let (from, to, call_id) = agent_dialog(h, n, 0);
    let tag = |s: &str| s.split(";tag=").nth(1).unwrap_or_default().to_string();
    format!("{call_id};to-tag={};from-tag={}", tag(&to), tag(&from))
}

#[test]
fn an_invite_with_replaces_from_the_agents_other_device_takes_over_its_call() {
    let mut h = connected_customer();
    let replaces = replaces_of_customer_dialog(&h, 1);
    // 1001's softphone (phone 3) takes the call over from its desk phone (phone 1).
    let status = agent_dials_with(
        &mut h,
        "1001",
        3,
        "switchboard",
        "m1",
        &format!("Replaces: {replaces}\r\n"),
    );
    assert_eq!(status, 200);
    let bye = h
        .last_request_to(phone(1).remote, Method::Bye)
        .expect("the old device is released");
    assert!(
        bye.headers
            .iter()
            .any(|hd| matches!(hd, rsip::Header::Reason(_)))
    );
    let new_leg = h.media.iter().rev().find_map(|c| match c {
        MediaCommand::Bridge { caller, agent } if *caller == LegId(1) => Some(*agent),
        _ => None,
    });
    assert_eq!(
        new_leg,
        Some(LegId(3)),
        "the customer is bridged to the new device"
    );
    assert!(h.media.contains(&MediaCommand::CloseLeg { leg: LegId(2) }));
    assert!(matches!(h.agent_state("1001"), AgentState::OnCall { .. }));
    assert!(h.last_request_to(trunk().remote, Method::Bye).is_none());
    // The customer hangs up: BYE goes to the new device.
    h.trunk_in_dialog("x", "BYE", 3);
    let byes_to_new = h
        .sent_to(phone(3).remote)
        .into_iter()
        .filter(|m| matches!(m, SipMessage::Request(r) if r.method == Method::Bye))
        .count();
    assert_eq!(byes_to_new, 1);
    assert_eq!(h.cdr().unwrap().agent.as_deref(), Some("1001"));
}

#[test]
fn an_invite_with_replaces_for_another_agents_call_or_no_dialog_is_refused() {
    let mut h = connected_customer();
    let replaces = replaces_of_customer_dialog(&h, 1);
    let taken = agent_dials_with(
        &mut h,
        "1002",
        2,
        "switchboard",
        "m2",
        &format!("Replaces: {replaces}\r\n"),
    );
    assert_eq!(taken, 403);
    let unknown = agent_dials_with(
        &mut h,
        "1001",
        3,
        "switchboard",
        "m3",
        "Replaces: nope;to-tag=a;from-tag=b\r\n",
    );
    assert_eq!(unknown, 481);
    let early = agent_dials_with(
        &mut h,
        "1001",
        3,
        "switchboard",
        "m4",
        &format!("Replaces: {replaces};early-only\r\n"),
    );
    assert_eq!(early, 486);
    assert!(h.last_request_to(phone(1).remote, Method::Bye).is_none());
}

#[test]
fn a_registered_phone_on_a_trunk_address_places_agent_calls_not_trunk_calls() {
    let config = CONFIG
        .replace("STRATEGY", "linear")
        .replace("127.0.0.2/32", "127.0.0.0/8");
    let mut h = Harness::with(&config, &[]);
    h.register("1001", 1);
    h.register("1002", 2);
    // Challenged (407) like any agent INVITE, then routed to 1002 as 1001's call.
    assert_eq!(agent_dials(&mut h, "1001", 1, "1002", "z1"), 200);
    let invite = h.last_request_to(phone(2).remote, Method::Invite).unwrap();
    assert!(header_value(invite.from_header().unwrap()).contains("1001"));
}
