//! Switchboard fork regressions: IPv6 references (RFC 3261 §25.1, RFC 5118) and Via LWS.

use rsip::prelude::*;
use std::convert::TryFrom;

#[test]
fn ipv6_uris_parse_and_print_with_brackets() {
    for text in [
        "sip:[::1]",
        "sip:[::1]:5060",
        "sip:1001@[2001:db8::1]:5062;transport=TCP",
    ] {
        let uri = rsip::Uri::try_from(text).expect(text);
        assert_eq!(uri.to_string(), text);
    }
    let uri = rsip::Uri::try_from("sip:[2001:db8::9]:5070").unwrap();
    assert_eq!(
        uri.host_with_port.host,
        rsip::Host::IpAddr("2001:db8::9".parse().unwrap())
    );
    assert_eq!(uri.host_with_port.port.map(u16::from), Some(5070));
}

#[test]
fn malformed_ipv6_references_are_errors_not_panics() {
    for text in ["sip:[::1", "sip:[zz::1]", "sip:[::1]x", "sip:[]"] {
        assert!(rsip::Uri::try_from(text).is_err(), "{} should fail", text);
    }
}

#[test]
fn request_with_ipv6_via_and_uris_parses() {
    let raw = "OPTIONS sip:[::1]:5060 SIP/2.0\r\nVia: SIP/2.0/UDP [::1]:40279;branch=z9hG4bKx1\r\n\
               From: <sip:1001@[::1]>;tag=a\r\nTo: <sip:[::1]:5060>\r\nCall-ID: c\r\n\
               CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    let request = rsip::Request::try_from(raw).unwrap();
    let via = request.via_header().unwrap().typed().unwrap();
    assert_eq!(via.uri.host_with_port.to_string(), "[::1]:40279");
}

#[test]
fn via_with_whitespace_around_the_slashes_reads_typed() {
    // RFC 4475 §3.1.1.1 (wsinv): SLASH = SWS "/" SWS.
    let via = rsip::headers::Via::new("SIP  /   2.0 /UDP    192.0.2.2;branch=390skdjuw");
    let typed = via.typed().unwrap();
    assert_eq!(typed.transport, rsip::Transport::Udp);
    assert_eq!(typed.uri.host_with_port.to_string(), "192.0.2.2");
    assert_eq!(
        typed.branch().map(|b| b.to_string()),
        Some("390skdjuw".to_string())
    );
    assert!(rsip::headers::Via::new("SIP/2.0/UDP").typed().is_err());
    assert!(rsip::headers::Via::new("SIP/x.0/UDP h").typed().is_err());
}

#[test]
fn accepted_is_202() {
    // RFC 3515 §2.4.2: REFER is answered 202 Accepted.
    assert_eq!(rsip::StatusCode::Accepted.code(), 202);
    assert_eq!(rsip::StatusCode::from(202), rsip::StatusCode::Accepted);
    assert_eq!(rsip::StatusCode::Accepted.to_string(), "202 Accepted");
}
