//! Who may ask the daemon for what, over the wire: INVITEs from outside the trunk allow-list
//! (the demo allows 127.0.0.0/8) are refused or challenged, never routed; requests for a user
//! that does not exist get 404.
//!
//! A source outside 127.0.0.0/8 needs a second local address: those tests run in a network
//! namespace of their own (see `common::in_loopback_namespace`) where 192.0.2.99 (TEST-NET-1,
//! RFC 5737) is added to loopback, and send from it.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::Daemon;
use common::netns::in_loopback_namespace;
use common::wire::udp_request;

/// A source address outside every demo trunk, added to loopback inside the namespace.
const OUTSIDER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 99));
const ADD_OUTSIDER: &str = "ip addr add 192.0.2.99/32 dev lo";
const TRUNK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const ANSWER: Duration = Duration::from_secs(5);

/// An INVITE for DNIS 201 (the demo routes it to queue `support`) from `from_user`, no
/// credentials, no body.
fn invite(from_user: &str, call_id: &str) -> String {
    format!(
        "INVITE sip:201@{{target}} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {{local}};branch=z9hG4bK-{call_id};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{from_user}@example.com>;tag=caller-{call_id}\r\n\
         To: <sip:201@{{target}}>\r\n\
         Call-ID: {call_id}@e2e\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:{from_user}@{{local}}>\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// The final status code among `codes`, with the whole list for failure messages.
fn final_code(codes: &[u16]) -> Option<u16> {
    codes.iter().copied().find(|c| *c >= 200)
}

#[test]
fn invite_from_outside_the_trunk_allow_list_without_credentials_gets_403() {
    if !in_loopback_namespace(
        "invite_from_outside_the_trunk_allow_list_without_credentials_gets_403",
        ADD_OUTSIDER,
    ) {
        return;
    }
    let daemon = Daemon::start();
    let codes = udp_request(
        OUTSIDER,
        daemon.sip,
        &invite("stranger", "outsider-403"),
        ANSWER,
    )
    .expect("sending the INVITE");
    assert_eq!(
        final_code(&codes),
        Some(403),
        "an INVITE from {OUTSIDER}, neither trunk nor agent, got {codes:?}"
    );
}

#[test]
fn invite_from_outside_the_allow_list_naming_an_agent_is_challenged_not_routed() {
    if !in_loopback_namespace(
        "invite_from_outside_the_allow_list_naming_an_agent_is_challenged_not_routed",
        ADD_OUTSIDER,
    ) {
        return;
    }
    let daemon = Daemon::start();
    let codes = udp_request(
        OUTSIDER,
        daemon.sip,
        &invite("1001", "outsider-agent"),
        ANSWER,
    )
    .expect("sending the INVITE");
    // An agent may authenticate (401/407 challenge) or be refused (403); anything else means
    // the call went on to routing without credentials.
    let code = final_code(&codes);
    assert!(
        matches!(code, Some(401 | 403 | 407)),
        "an unauthenticated INVITE from {OUTSIDER} claiming agent 1001 got {codes:?}"
    );
}

/// The contrast for the two tests above: the same INVITE from a trunk address is routed, so
/// their 403/407 comes from the source check and not from refusing every INVITE.
#[test]
fn invite_from_a_trunk_address_is_routed_without_credentials() {
    let daemon = Daemon::start();
    let codes = udp_request(TRUNK, daemon.sip, &invite("caller", "trunk-call"), ANSWER)
        .expect("sending the INVITE");
    let code = final_code(&codes);
    assert!(
        code.is_some_and(|c| !matches!(c, 400 | 401 | 403 | 407)),
        "an INVITE from trunk address {TRUNK} got {codes:?}; expected it routed"
    );
    assert_eq!(
        codes.first(),
        Some(&100),
        "no 100 Trying before the final response (RFC 3261 §17.2.1)"
    );
}

#[test]
fn register_for_an_unknown_user_gets_404() {
    let daemon = Daemon::start();
    let request = "REGISTER sip:{target} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-reg-9999;rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:9999@{target}>;tag=reg9999\r\n\
         To: <sip:9999@{target}>\r\n\
         Call-ID: reg-9999@e2e\r\n\
         CSeq: 1 REGISTER\r\n\
         Contact: <sip:9999@{local}>\r\n\
         Expires: 60\r\n\
         Content-Length: 0\r\n\r\n";
    let codes = udp_request(TRUNK, daemon.sip, request, ANSWER).expect("sending the REGISTER");
    assert_eq!(
        final_code(&codes),
        Some(404),
        "REGISTER for 9999 got {codes:?}"
    );
}

#[test]
fn options_for_an_unknown_user_gets_404_and_for_an_agent_200() {
    let daemon = Daemon::start();
    let options = |user: &str| {
        format!(
            "OPTIONS sip:{user}@{{target}} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {{local}};branch=z9hG4bK-opt-{user};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:e2e@{{local}}>;tag=opt{user}\r\n\
             To: <sip:{user}@{{target}}>\r\n\
             Call-ID: opt-{user}@e2e\r\n\
             CSeq: 1 OPTIONS\r\n\
             Content-Length: 0\r\n\r\n"
        )
    };
    let unknown = udp_request(TRUNK, daemon.sip, &options("9999"), ANSWER).expect("OPTIONS 9999");
    assert_eq!(
        final_code(&unknown),
        Some(404),
        "OPTIONS for 9999 got {unknown:?}"
    );
    let agent = udp_request(TRUNK, daemon.sip, &options("1001"), ANSWER).expect("OPTIONS 1001");
    assert_eq!(
        final_code(&agent),
        Some(200),
        "OPTIONS for agent 1001 got {agent:?}"
    );
}
