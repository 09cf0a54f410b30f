//! Hostile input against the running daemon, over the wire: digest brute force ends in a
//! lockout that the metrics show, an agent cannot bind another agent's AOR, and oversize or
//! header-bloated messages are refused cheaply with the RFC's codes while the daemon keeps
//! serving.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream, UdpSocket};
use std::time::Duration;

use common::Daemon;
use common::digest::answer_challenge;
use common::wire::{http_get, options_ping, status_code, udp_final_response};

const WAIT: Duration = Duration::from_secs(5);
/// config/switchboard.toml: `[sip.registrar] auth_failures_before_lockout = 5`, and the demo
/// agents' password.
const LOCKOUT_AFTER: usize = 5;
const PASSWORD: &str = "secret";

/// A REGISTER binding `aor`'s address, with `authorization` if given.
fn register(aor: &str, cseq: u32, authorization: Option<&str>) -> String {
    let auth = authorization.map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
    format!(
        "REGISTER sip:switchboard SIP/2.0\r\n\
         Via: SIP/2.0/UDP {{local}};branch=z9hG4bK-sec-{aor}-{cseq};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{aor}@switchboard>;tag=sec{aor}\r\n\
         To: <sip:{aor}@switchboard>\r\n\
         Call-ID: security-{aor}@127.0.0.1\r\n\
         CSeq: {cseq} REGISTER\r\n\
         Contact: <sip:{aor}@{{local}}>\r\n\
         {auth}Content-Length: 0\r\n\r\n"
    )
}

fn code(response: &Option<String>) -> Option<u16> {
    response.as_deref().and_then(|r| status_code(r.as_bytes()))
}

fn metric(daemon: &Daemon, name: &str) -> f64 {
    let (status, body) = http_get(daemon.http, "/metrics", WAIT).expect("/metrics");
    assert_eq!(status, 200);
    body.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn digest_brute_force_is_locked_out_and_counted_and_a_stolen_identity_cannot_bind_another_aor() {
    let daemon = Daemon::start();
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("udp");
    let send = |request: &str| udp_final_response(&socket, daemon.sip, request, WAIT).expect("udp");

    // 1001's right password, but a REGISTER for 1002's AOR: RFC 3261 §10.3 step 4.
    let challenge = send(&register("1002", 1, None));
    assert_eq!(code(&challenge), Some(401));
    let as_1001 = answer_challenge(
        challenge.as_deref().unwrap_or_default(),
        "1001",
        PASSWORD,
        "REGISTER",
        "sip:switchboard",
    );
    assert_eq!(code(&send(&register("1002", 2, Some(&as_1001)))), Some(403));

    // Guessing 1003's password: challenged again each time, then locked out.
    let mut challenge = send(&register("1003", 1, None));
    let mut codes = Vec::new();
    for attempt in 0..LOCKOUT_AFTER {
        let guess = answer_challenge(
            challenge.as_deref().unwrap_or_default(),
            "1003",
            &format!("guess-{attempt}"),
            "REGISTER",
            "sip:switchboard",
        );
        let cseq = u32::try_from(attempt).unwrap_or(0) + 2;
        challenge = send(&register("1003", cseq, Some(&guess)));
        codes.push(code(&challenge));
    }
    let mut expected = vec![Some(401); LOCKOUT_AFTER - 1];
    expected.push(Some(403));
    assert_eq!(codes, expected);
    // Locked: even the right password is refused from this source now.
    let fresh = send(&register("1003", 20, None));
    assert_eq!(code(&fresh), Some(403), "no new challenge while locked");
    assert_eq!(metric(&daemon, "switchboard_sip_auth_lockouts_total"), 1.0);

    // The real 1001 still registers.
    let challenge = send(&register("1001", 1, None));
    let right = answer_challenge(
        challenge.as_deref().unwrap_or_default(),
        "1001",
        PASSWORD,
        "REGISTER",
        "sip:switchboard",
    );
    assert_eq!(code(&send(&register("1001", 2, Some(&right)))), Some(200));
}

#[test]
fn header_bloat_and_oversize_messages_are_refused_and_the_daemon_keeps_serving() {
    let daemon = Daemon::start();
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("udp");
    let options = |extra: &str| {
        format!(
            "OPTIONS sip:{{target}} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {{local}};branch=z9hG4bK-bloat-{};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:bloat@{{local}}>;tag=b1\r\n\
             To: <sip:{{target}}>\r\n\
             Call-ID: bloat-{}@127.0.0.1\r\n\
             CSeq: 1 OPTIONS\r\n\
             {extra}Content-Length: 0\r\n\r\n",
            extra.len(),
            extra.len()
        )
    };
    // 300 header fields (the demo allows 256).
    let many: String = (0..300).map(|i| format!("X-Pad-{i}: {i}\r\n")).collect();
    let answer = udp_final_response(&socket, daemon.sip, &options(&many), WAIT).expect("udp");
    assert!(
        answer
            .as_deref()
            .is_some_and(|a| a.starts_with("SIP/2.0 400 Too Many Headers")),
        "{answer:?}"
    );
    // One header line past the 8 KiB line limit.
    let long = format!("Subject: {}\r\n", "a".repeat(9_000));
    let answer = udp_final_response(&socket, daemon.sip, &options(&long), WAIT).expect("udp");
    assert!(
        answer
            .as_deref()
            .is_some_and(|a| a.starts_with("SIP/2.0 400 Header Line Too Long")),
        "{answer:?}"
    );
    // Over TCP, a Content-Length past max_message_bytes: 513, and the stream is closed
    // without the daemon waiting for (or buffering) the announced body.
    let mut tcp = TcpStream::connect(daemon.sip).expect("tcp");
    tcp.set_read_timeout(Some(WAIT)).expect("timeout");
    let local = tcp.local_addr().expect("local").to_string();
    let head = options("")
        .replace("{local}", &local)
        .replace("{target}", &daemon.sip.to_string())
        .replace("Content-Length: 0", "Content-Length: 1000000");
    tcp.write_all(head.as_bytes()).expect("write");
    let mut reply = Vec::new();
    let _ = tcp.read_to_end(&mut reply);
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("SIP/2.0 513 "), "{reply:?}");
    // Still serving.
    assert_eq!(options_ping(daemon.sip, WAIT).expect("ping"), 200);
    assert!(metric(&daemon, "switchboard_sip_parse_errors_total") >= 3.0);
}
