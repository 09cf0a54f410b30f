//! Dialog creation, route sets, CSeq handling and request builders.
use super::*;
use crate::message::response_to;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn via() -> LocalVia {
    LocalVia {
        transport: Transport::Udp,
        sent_by: "192.0.2.1:5060".into(),
    }
}

fn parse_request(raw: &str) -> Request {
    Request::try_from(raw.replace('\n', "\r\n").as_bytes()).expect("test request parses")
}

/// A trunk's INVITE through two record-routing proxies (three Record-Route values).
fn trunk_invite() -> Request {
    parse_request(
        "INVITE sip:queue@sb.example SIP/2.0\n\
         Via: SIP/2.0/UDP 198.51.100.2:5060;branch=z9hG4bK-p2\n\
         Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bK-p1\n\
         Record-Route: <sip:p2.example;lr>, <sip:p1b.example;lr>\n\
         Record-Route: <sip:p1.example;lr>\n\
         From: \"Caller\" <sip:caller@trunk.example>;tag=caller1\n\
         To: <sip:queue@sb.example>\n\
         Call-ID: c-77@trunk.example\n\
         CSeq: 10 INVITE\n\
         Contact: <sip:caller@203.0.113.5:5060>\n\
         Content-Length: 0\n\n",
    )
}

fn our_200(invite: &Request) -> Response {
    let mut ok = response_to(invite, StatusCode::OK, Some("sbtag"));
    ok.headers.push(Header::Contact(rsip::headers::Contact::new(
        "<sip:sb@192.0.2.1:5060>",
    )));
    ok
}

fn uas_dialog() -> Dialog {
    let invite = trunk_invite();
    Dialog::uas(&invite, &our_200(&invite)).expect("dialog from INVITE and 200")
}

fn routes(request: &Request) -> Vec<String> {
    request
        .headers
        .iter()
        .filter_map(|h| match h {
            Header::Route(r) => Some(r.value().to_string()),
            _ => None,
        })
        .collect()
}

fn in_dialog(method: &str, cseq: u32, contact: Option<&str>) -> Request {
    let contact = contact
        .map(|c| format!("Contact: <{c}>\n"))
        .unwrap_or_default();
    parse_request(&format!(
        "{method} sip:sb@192.0.2.1:5060 SIP/2.0\n\
         Via: SIP/2.0/UDP 198.51.100.2:5060;branch=z9hG4bK-x{cseq}\n\
         From: <sip:caller@trunk.example>;tag=caller1\n\
         To: <sip:queue@sb.example>;tag=sbtag\n\
         Call-ID: c-77@trunk.example\n\
         CSeq: {cseq} {method}\n\
         {contact}Content-Length: 0\n\n"
    ))
}

#[test]
fn uas_dialog_keeps_record_route_in_order_and_targets_the_contact() {
    let mut dialog = uas_dialog();
    assert_eq!(
        dialog.id(),
        &DialogId {
            sip_call_id: "c-77@trunk.example".into(),
            local_tag: "sbtag".into(),
            remote_tag: "caller1".into(),
        }
    );
    assert_eq!(dialog.state(), DialogState::Confirmed);
    let mut rng = StdRng::seed_from_u64(7);
    let bye = dialog.bye(&via(), &mut rng);
    assert_eq!(bye.uri.to_string(), "sip:caller@203.0.113.5:5060");
    assert_eq!(
        routes(&bye),
        vec![
            "<sip:p2.example;lr>",
            "<sip:p1b.example;lr>",
            "<sip:p1.example;lr>"
        ]
    );
    // From is our To (with our tag), To is their From.
    assert_eq!(
        bye.from_header()
            .unwrap()
            .tag()
            .unwrap()
            .unwrap()
            .to_string(),
        "sbtag"
    );
    assert_eq!(
        bye.to_header().unwrap().tag().unwrap().unwrap().to_string(),
        "caller1"
    );
    assert_eq!(dialog.next_hop().to_string(), "sip:p2.example;lr");
}

#[test]
fn uac_dialog_reverses_record_route() {
    let invite = parse_request(
        "INVITE sip:agent1@192.0.2.50 SIP/2.0\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-i1\n\
         From: <sip:queue@sb.example>;tag=ours\n\
         To: <sip:agent1@sb.example>\n\
         Call-ID: leg-9@sb.example\n\
         CSeq: 101 INVITE\n\
         Contact: <sip:sb@192.0.2.1:5060>\n\
         Content-Length: 0\n\n",
    );
    let mut ok = response_to(&invite, StatusCode::OK, Some("agent"));
    ok.headers
        .push(Header::RecordRoute(rsip::headers::RecordRoute::new(
            "<sip:near-agent.example;lr>, <sip:near-us.example;lr>",
        )));
    ok.headers.push(Header::Contact(rsip::headers::Contact::new(
        "<sip:agent1@192.0.2.50:5062>",
    )));
    let mut dialog = Dialog::uac(&invite, &ok).unwrap();
    assert_eq!(dialog.role(), Role::Uac);
    let mut rng = StdRng::seed_from_u64(1);
    let bye = dialog.bye(&via(), &mut rng);
    assert_eq!(
        routes(&bye),
        vec!["<sip:near-us.example;lr>", "<sip:near-agent.example;lr>"]
    );
    assert_eq!(bye.uri.to_string(), "sip:agent1@192.0.2.50:5062");
    assert_eq!(bye.cseq_header().unwrap().value(), "102 BYE");
}

#[test]
fn ack_for_2xx_carries_the_invite_cseq_and_its_own_branch() {
    let invite = parse_request(
        "INVITE sip:agent1@192.0.2.50 SIP/2.0\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-i1\n\
         From: <sip:queue@sb.example>;tag=ours\n\
         To: <sip:agent1@sb.example>\n\
         Call-ID: leg-9@sb.example\n\
         CSeq: 101 INVITE\n\
         Content-Length: 0\n\n",
    );
    let mut ok = response_to(&invite, StatusCode::OK, Some("agent"));
    ok.headers.push(Header::Contact(rsip::headers::Contact::new(
        "<sip:agent1@192.0.2.50>",
    )));
    let mut dialog = Dialog::uac(&invite, &ok).unwrap();
    let mut rng = StdRng::seed_from_u64(3);
    let ack = dialog.ack(&via(), &mut rng);
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.cseq_header().unwrap().value(), "101 ACK");
    let branch = ack.transaction_id().unwrap().unwrap().to_string();
    assert!(branch.starts_with("z9hG4bK") && branch != "z9hG4bK-i1");
    // A re-INVITE moves the ACK's CSeq with it; an INFO does not.
    let _ = dialog.reinvite(&via(), &mut rng);
    let _ = dialog.request(Method::Info, &via(), &mut rng);
    assert_eq!(
        dialog.ack(&via(), &mut rng).cseq_header().unwrap().value(),
        "102 ACK"
    );
    assert_eq!(dialog.local_seq(), Some(103));
}

#[test]
fn strict_route_goes_in_the_request_uri_and_the_target_at_the_end() {
    let mut invite = trunk_invite();
    invite
        .headers
        .retain(|h| !matches!(h, Header::RecordRoute(_)));
    invite
        .headers
        .push(Header::RecordRoute(rsip::headers::RecordRoute::new(
            "<sip:strict.example>, <sip:loose.example;lr>",
        )));
    let mut dialog = Dialog::uas(&invite, &our_200(&invite)).unwrap();
    let bye = dialog.bye(&via(), &mut StdRng::seed_from_u64(0));
    assert_eq!(bye.uri.to_string(), "sip:strict.example");
    assert_eq!(
        routes(&bye),
        vec!["<sip:loose.example;lr>", "<sip:caller@203.0.113.5:5060>"]
    );
}

#[test]
fn local_cseq_starts_random_below_2_pow_31_and_increments() {
    let mut dialog = uas_dialog();
    assert_eq!(dialog.local_seq(), None, "§12.1.1: empty for the UAS");
    let mut rng = StdRng::seed_from_u64(42);
    let first = dialog.request(Method::Info, &via(), &mut rng);
    let n = first.cseq_header().unwrap().seq().unwrap();
    assert!(n > 0 && n < 1 << 31);
    let second = dialog.request(Method::Notify, &via(), &mut rng);
    assert_eq!(second.cseq_header().unwrap().seq().unwrap(), n + 1);
    assert_eq!(
        second.cseq_header().unwrap().value(),
        format!("{} NOTIFY", n + 1)
    );
    // NOTIFY carries our Contact; INFO does not need it.
    assert!(
        second
            .headers
            .iter()
            .any(|h| matches!(h, Header::Contact(_)))
    );
    assert!(
        !first
            .headers
            .iter()
            .any(|h| matches!(h, Header::Contact(_)))
    );
}

#[test]
fn remote_cseq_lower_than_the_last_is_rejected_with_500() {
    let mut dialog = uas_dialog();
    assert_eq!(dialog.on_request(&in_dialog("ACK", 10, None)), Ok(()));
    assert_eq!(dialog.on_request(&in_dialog("INFO", 11, None)), Ok(()));
    let err = dialog
        .on_request(&in_dialog("INFO", 9, None))
        .expect_err("out of order");
    assert_eq!(
        err,
        DialogError::CSeqOutOfOrder {
            received: 9,
            last: 11
        }
    );
    assert_eq!(err.response(), StatusCode::ServerInternalError);
    assert_eq!(dialog.remote_seq(), Some(11));
}

#[test]
fn target_refresh_replaces_the_remote_target_other_requests_do_not() {
    let mut dialog = uas_dialog();
    dialog
        .on_request(&in_dialog("INFO", 11, Some("sip:caller@203.0.113.9")))
        .unwrap();
    assert_eq!(
        dialog.remote_target().to_string(),
        "sip:caller@203.0.113.5:5060"
    );
    dialog
        .on_request(&in_dialog("INVITE", 12, Some("sip:caller@203.0.113.9")))
        .unwrap();
    assert_eq!(dialog.remote_target().to_string(), "sip:caller@203.0.113.9");
    dialog
        .on_request(&in_dialog("UPDATE", 13, Some("sip:caller@203.0.113.10")))
        .unwrap();
    assert_eq!(
        dialog.remote_target().to_string(),
        "sip:caller@203.0.113.10"
    );
}

#[test]
fn bye_ends_the_dialog_and_other_dialogs_requests_are_481() {
    let mut dialog = uas_dialog();
    let mut foreign = in_dialog("BYE", 11, None);
    foreign.headers.retain(|h| !matches!(h, Header::CallId(_)));
    foreign
        .headers
        .push(Header::CallId(rsip::headers::CallId::new("other")));
    let err = dialog.on_request(&foreign).unwrap_err();
    assert_eq!(err.response(), StatusCode::CallTransactionDoesNotExist);
    dialog.on_request(&in_dialog("BYE", 11, None)).unwrap();
    assert_eq!(dialog.state(), DialogState::Terminated);
}

#[test]
fn early_uac_dialog_is_confirmed_by_2xx_with_a_fresh_route_set_or_ended_by_a_failure() {
    let invite = parse_request(
        "INVITE sip:agent1@192.0.2.50 SIP/2.0\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-i1\n\
         From: <sip:queue@sb.example>;tag=ours\n\
         To: <sip:agent1@sb.example>\n\
         Call-ID: leg-9@sb.example\n\
         CSeq: 101 INVITE\n\
         Content-Length: 0\n\n",
    );
    let mut ringing = response_to(&invite, StatusCode::Ringing, Some("agent"));
    ringing
        .headers
        .push(Header::Contact(rsip::headers::Contact::new(
            "<sip:agent1@192.0.2.50>",
        )));
    ringing
        .headers
        .push(Header::RecordRoute(rsip::headers::RecordRoute::new(
            "<sip:early.example;lr>",
        )));
    let mut dialog = Dialog::uac(&invite, &ringing).unwrap();
    assert_eq!(dialog.state(), DialogState::Early);
    let mut ok = response_to(&invite, StatusCode::OK, Some("agent"));
    ok.headers.push(Header::Contact(rsip::headers::Contact::new(
        "<sip:agent1@192.0.2.51>",
    )));
    ok.headers
        .push(Header::RecordRoute(rsip::headers::RecordRoute::new(
            "<sip:b.example;lr>, <sip:a.example;lr>",
        )));
    dialog.on_invite_response(&ok).unwrap();
    assert_eq!(dialog.state(), DialogState::Confirmed);
    assert_eq!(dialog.remote_target().to_string(), "sip:agent1@192.0.2.51");
    let names: Vec<_> = dialog.route_set().iter().map(|r| r.to_string()).collect();
    assert_eq!(names, vec!["<sip:a.example;lr>", "<sip:b.example;lr>"]);

    let mut early = Dialog::uac(&invite, &ringing).unwrap();
    early
        .on_invite_response(&response_to(&invite, StatusCode::BusyHere, Some("agent")))
        .unwrap();
    assert_eq!(early.state(), DialogState::Terminated);
}

#[test]
fn dialog_needs_tags_on_both_sides() {
    let invite = trunk_invite();
    let untagged = response_to(&invite, StatusCode::OK, None);
    assert_eq!(
        Dialog::uas(&invite, &untagged).unwrap_err(),
        DialogError::Tag("To")
    );
}

#[test]
fn tags_and_branches_are_deterministic_for_a_seed() {
    let mut a = StdRng::seed_from_u64(9);
    let mut b = StdRng::seed_from_u64(9);
    assert_eq!(new_tag(&mut a), new_tag(&mut b));
    let branch = new_branch(&mut a);
    assert_eq!(branch, new_branch(&mut b));
    assert!(branch.starts_with(MAGIC_COOKIE) && branch.len() == 7 + 16);
    assert_ne!(new_tag(&mut a), new_tag(&mut a));
}

#[test]
fn built_request_round_trips_and_carries_a_body() {
    let mut dialog = uas_dialog();
    let mut rng = StdRng::seed_from_u64(5);
    let sdp = b"v=0\r\n".to_vec();
    let reinvite = with_body(
        dialog.reinvite(&via(), &mut rng),
        "application/sdp",
        sdp.clone(),
    );
    let parsed = Request::try_from(reinvite.to_string().as_bytes()).expect("parses back");
    assert_eq!(parsed.method, Method::Invite);
    assert_eq!(parsed.body, sdp);
    assert_eq!(
        parsed
            .headers
            .iter()
            .filter(|h| matches!(h, Header::ContentLength(l) if l.value() == "5"))
            .count(),
        1
    );
    assert!(
        parsed
            .headers
            .iter()
            .any(|h| matches!(h, Header::Contact(_)))
    );
}
