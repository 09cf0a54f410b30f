//! Offerless INVITEs and re-INVITEs: our offer in the 200, the answer in the ACK.

use rsip::prelude::HeadersExt;
use rsip::{Method, SipMessage};

use super::*;

/// A trunk INVITE with no body.
fn offerless_invite(h: &mut Harness, dnis: &str, id: &str) {
    let text = format!(
        "INVITE sip:{dnis}@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5080;branch=z9hG4bKinv{id}\r\n\
         Max-Forwards: 70\r\nFrom: \"Alice\" <sip:5551234@127.0.0.2>;tag=t{id}\r\nTo: <sip:{dnis}@127.0.0.1>\r\n\
         Call-ID: call-{id}\r\nCSeq: 1 INVITE\r\nContact: <sip:5551234@127.0.0.2:5080>\r\nContent-Length: 0\r\n\r\n"
    );
    h.deliver(trunk(), &text);
}

/// The last 2xx the trunk got for `call-<id>` with the given CSeq method.
fn last_ok(h: &Harness, id: &str) -> rsip::Response {
    h.sent_to(trunk().remote)
        .into_iter()
        .rev()
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
        .expect("a 200 for the call")
}

/// An in-dialog request from the trunk with `body` as SDP (empty: no body).
fn trunk_request(
    h: &mut Harness,
    id: &str,
    method: &str,
    cseq: u32,
    cseq_method: &str,
    body: &str,
) {
    let ok = last_ok(h, id);
    let to = rsip::headers::UntypedHeader::value(ok.to_header().unwrap()).to_string();
    let content = if body.is_empty() {
        "Content-Length: 0\r\n\r\n".to_string()
    } else {
        format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let text = format!(
        "{method} sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5080;branch=z9hG4bK{method}{id}{cseq}\r\n\
         Max-Forwards: 70\r\nFrom: \"Alice\" <sip:5551234@127.0.0.2>;tag=t{id}\r\nTo: {to}\r\n\
         Call-ID: call-{id}\r\nCSeq: {cseq} {cseq_method}\r\nContact: <sip:5551234@127.0.0.2:5080>\r\n{content}"
    );
    h.deliver(trunk(), &text);
}

fn answer_sdp() -> String {
    // An answer to our offer: one audio stream, PCMU chosen.
    "v=0\r\no=- 7 7 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n\
     m=audio 4100 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
        .to_string()
}

fn set_media_count(h: &Harness) -> usize {
    h.media
        .iter()
        .filter(|c| matches!(c, MediaCommand::SetMedia { .. }))
        .count()
}

#[test]
fn an_offerless_invite_gets_our_offer_in_the_200_and_queues_once_the_ack_answers() {
    let mut h = Harness::new("longest-idle");
    offerless_invite(&mut h, "201", "o1");
    let ok = last_ok(&h, "o1");
    let body = String::from_utf8_lossy(&ok.body).to_string();
    assert!(body.contains("m=audio 300"), "our offer: {body}");
    assert!(body.contains("a=sendrecv"), "{body}");
    assert!(
        body.contains("RTP/AVP 0 8 101") || body.contains("RTP/AVP 8 0 101"),
        "all our codecs offered: {body}"
    );
    // Nothing starts before the answer: no queue, no music, no media.
    assert!(h.queue_log().is_empty());
    assert_eq!(set_media_count(&h), 0);
    trunk_request(&mut h, "o1", "ACK", 1, "ACK", &answer_sdp());
    assert_eq!(set_media_count(&h), 1, "media set from the ACK's answer");
    let remote = h.media.iter().find_map(|c| match c {
        MediaCommand::SetMedia { media, .. } => media.remote_rtp,
        _ => None,
    });
    assert_eq!(remote, Some("127.0.0.2:4100".parse().unwrap()));
    assert_eq!(h.queue_log(), vec!["ENTERQUEUE"]);
    assert!(
        h.media
            .iter()
            .any(|c| matches!(c, MediaCommand::MusicOnHold { .. }))
    );
    // A retransmitted ACK changes nothing.
    trunk_request(&mut h, "o1", "ACK", 1, "ACK", &answer_sdp());
    assert_eq!(h.queue_log(), vec!["ENTERQUEUE"]);
}

#[test]
fn an_ack_without_an_answer_ends_the_offerless_call_with_bye_and_reason() {
    let mut h = Harness::new("longest-idle");
    offerless_invite(&mut h, "201", "o2");
    trunk_request(&mut h, "o2", "ACK", 1, "ACK", "");
    let bye = h
        .last_request_to(trunk().remote, Method::Bye)
        .expect("BYE to the caller");
    let reason = bye.headers.iter().find_map(|hd| match hd {
        rsip::Header::Reason(value) => Some(rsip::headers::UntypedHeader::value(value).to_string()),
        _ => None,
    });
    assert!(
        reason.as_deref().is_some_and(|r| r.contains("cause=488")),
        "{reason:?}"
    );
    let cdr = h.cdr().expect("a CDR for the failed call");
    assert_eq!(cdr.end_reason, "no-sdp-answer");
    assert!(h.queue_log().is_empty(), "never queued");
}

#[test]
fn an_ack_with_an_answer_that_rejects_our_audio_ends_the_call() {
    let mut h = Harness::new("longest-idle");
    offerless_invite(&mut h, "201", "o3");
    let rejected = answer_sdp().replace("m=audio 4100", "m=audio 0");
    trunk_request(&mut h, "o3", "ACK", 1, "ACK", &rejected);
    assert!(h.last_request_to(trunk().remote, Method::Bye).is_some());
    assert_eq!(h.cdr().unwrap().end_reason, "no-sdp-answer");
}

#[test]
fn an_offerless_reinvite_on_the_caller_leg_gets_our_session_as_offer_with_a_newer_version() {
    let mut h = Harness::new("longest-idle");
    h.trunk_invite("201", "o4");
    h.trunk_in_dialog("o4", "ACK", 1);
    let first = String::from_utf8_lossy(&last_ok(&h, "o4").body).to_string();
    let version = |sdp: &str| -> u64 {
        sdp.lines()
            .find_map(|l| l.strip_prefix("o="))
            .and_then(|o| o.split(' ').nth(2))
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    trunk_request(&mut h, "o4", "INVITE", 2, "INVITE", "");
    let offer = String::from_utf8_lossy(&last_ok(&h, "o4").body).to_string();
    assert_ne!(offer, first);
    assert!(version(&offer) > version(&first), "{first}\n---\n{offer}");
    assert!(offer.contains("a=sendrecv"));
    let before = set_media_count(&h);
    trunk_request(&mut h, "o4", "ACK", 2, "ACK", &answer_sdp());
    assert_eq!(set_media_count(&h), before + 1, "the ACK's answer applied");
    assert!(h.last_request_to(trunk().remote, Method::Bye).is_none());
}

#[test]
fn an_offerless_reinvite_from_the_agent_phone_is_answered_in_its_ack() {
    let mut h = Harness::new("longest-idle");
    h.register("1001", 1);
    h.trunk_invite("201", "o5");
    h.trunk_in_dialog("o5", "ACK", 1);
    h.phone_answers(1, 200, "OK");
    let ack = h.last_request_to(phone(1).remote, Method::Ack).unwrap();
    let to = rsip::headers::UntypedHeader::value(ack.to_header().unwrap()).to_string();
    let from = rsip::headers::UntypedHeader::value(ack.from_header().unwrap()).to_string();
    let call_id = rsip::headers::UntypedHeader::value(ack.call_id_header().unwrap()).to_string();
    let request = |method: &str, cseq: u32, body: &str| {
        let content = if body.is_empty() {
            "Content-Length: 0\r\n\r\n".to_string()
        } else {
            format!(
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
        };
        format!(
            "{method} sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {r};branch=z9hG4bKp{method}{cseq}\r\n\
             Max-Forwards: 70\r\nFrom: {to}\r\nTo: {from}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n\
             Contact: <sip:1001@{r}>\r\n{content}",
            r = phone(1).remote
        )
    };
    h.deliver(phone(1), &request("INVITE", 5, ""));
    let ok = h
        .sent_to(phone(1).remote)
        .into_iter()
        .rev()
        .find_map(|m| match m {
            SipMessage::Response(r) if r.status_code.code() == 200 => Some(r),
            _ => None,
        })
        .unwrap();
    assert!(String::from_utf8_lossy(&ok.body).contains("m=audio"));
    // The phone answers sendonly (it holds the customer): the customer hears music.
    let hold = answer_sdp().replace("127.0.0.2", "127.0.0.1") + "a=sendonly\r\n";
    h.deliver(phone(1), &request("ACK", 5, &hold));
    assert!(
        h.media
            .iter()
            .any(|c| matches!(c, MediaCommand::MusicOnHold { leg, .. } if *leg == LegId(1))),
        "{:?}",
        h.media
    );
}
