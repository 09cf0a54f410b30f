//! RFC 4733 from a real, independent peer: SIPp (Debian `sip-tester`) places a call to a tiny
//! UAS in this test, which answers with SDP pointing at an engine leg; SIPp then replays the
//! DTMF captures it ships (`dtmf_2833_{1,5,9}.pcap`: payload type 101, three redundant end
//! packets per key) to that leg, and the engine must report 1, 5, 9 once each.
//!
//! Needs `/usr/bin/sipp` and root (SIPp replays pcaps through a raw socket); without them the
//! test says so on stderr and passes vacuously.

mod wire;

use std::net::UdpSocket;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use switchboard_media::engine::EngineEvent;
use switchboard_media::sdp::{LocalMedia, LocalSdp, SdpOffer, SessionDescription};
use wire::*;

const SIPP: &str = "/usr/bin/sipp";
const PCAP: &str = "/usr/share/sip-tester/dtmf_2833_1.pcap";

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The header lines of `msg` named `name` (case-insensitive), in order.
fn headers<'a>(msg: &'a str, name: &str) -> Vec<&'a str> {
    msg.split("\r\n")
        .take_while(|l| !l.is_empty())
        .filter(|l| {
            l.split_once(':')
                .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        })
        .collect()
}

/// A response to `request` echoing its dialog headers (RFC 3261 §8.2.6.2).
fn response(request: &str, status: &str, to_tag: &str, body: Option<&str>) -> String {
    let mut r = format!("SIP/2.0 {status}\r\n");
    for v in headers(request, "Via") {
        r.push_str(v);
        r.push_str("\r\n");
    }
    for name in ["From", "Call-ID", "CSeq"] {
        for h in headers(request, name) {
            r.push_str(h);
            r.push_str("\r\n");
        }
    }
    for to in headers(request, "To") {
        r.push_str(to);
        if !to.contains(";tag=") {
            r.push_str(&format!(";tag={to_tag}"));
        }
        r.push_str("\r\n");
    }
    r.push_str("Contact: <sip:uas@127.0.0.1>\r\n");
    match body {
        Some(b) => r.push_str(&format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{b}",
            b.len()
        )),
        None => r.push_str("Content-Length: 0\r\n\r\n"),
    }
    r
}

#[test]
fn digits_replayed_by_sipp_as_rfc4733_are_detected_once_each() {
    let is_root = std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    });
    if !Path::new(SIPP).exists() || !Path::new(PCAP).exists() || !is_root {
        eprintln!("skipped: needs {SIPP}, {PCAP} and root");
        return;
    }
    let dir = temp_dir("sipp");
    let mut t = TestEngine::start(config(41600..=41699, &dir));
    let h = t.handle();
    let leg = h.create_leg(None).unwrap();

    let uas = UdpSocket::bind("127.0.0.1:0").unwrap();
    uas.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sipp_dtmf_uac.xml");
    let mut sipp = Command::new(SIPP)
        .arg(uas.local_addr().unwrap().to_string())
        .args(["-sf", scenario.to_str().unwrap()])
        .args(["-i", "127.0.0.1", "-mi", "127.0.0.1"])
        .args(["-p", &free_udp_port().to_string()])
        .args(["-mp", &free_udp_port().to_string()])
        .args(["-m", "1", "-timeout", "20s", "-timeout_error", "-nostdin"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // The UAS: answer the INVITE from our leg's port, take the ACK, answer the BYE.
    let mut buf = [0u8; 4096];
    let mut answered: Option<String> = None;
    let mut bye_answered = false;
    let deadline = Instant::now() + Duration::from_secs(15);
    while !bye_answered && Instant::now() < deadline {
        let Ok((n, from)) = uas.recv_from(&mut buf) else {
            continue;
        };
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        if msg.starts_with("INVITE ") {
            let reply = answered.get_or_insert_with(|| {
                let body = msg.split_once("\r\n\r\n").map_or("", |(_, b)| b);
                let offer = SdpOffer(SessionDescription::parse(body.as_bytes()).unwrap());
                let local = LocalMedia::g711("127.0.0.1".parse().unwrap(), leg.rtp.port());
                let (answer, media) = LocalSdp::new(1).answer(&offer, &local).unwrap();
                h.set_media(leg.id, media).unwrap();
                response(&msg, "200 OK", "uas1", Some(&answer.0.to_string()))
            });
            uas.send_to(reply.as_bytes(), from).unwrap();
        } else if msg.starts_with("BYE ") {
            let reply = response(&msg, "200 OK", "uas1", None);
            uas.send_to(reply.as_bytes(), from).unwrap();
            bye_answered = true;
        }
    }
    let status = sipp.wait().unwrap();
    assert!(answered.is_some(), "SIPp never sent an INVITE");
    assert!(bye_answered, "SIPp never hung up");
    assert!(status.success(), "SIPp failed: {status}");

    let mut digits = String::new();
    while digits.len() < 3 {
        if let EngineEvent::Dtmf { digit, .. } = t.wait_for(Duration::from_secs(3), |e| {
            matches!(e, EngineEvent::Dtmf { .. })
        }) {
            digits.push(digit.digit.as_char());
        }
    }
    assert_eq!(digits, "159");
    h.close_leg(leg.id).unwrap();
    let closed = t.wait_for(Duration::from_secs(3), |e| {
        matches!(e, EngineEvent::LegClosed { .. })
    });
    assert_eq!(
        t.seen
            .iter()
            .filter(|e| matches!(e, EngineEvent::Dtmf { .. }))
            .count(),
        3,
        "each key press reported once despite its three end packets"
    );
    let EngineEvent::LegClosed { stats, .. } = closed else {
        unreachable!()
    };
    // 3 × 10 packets, two of each ten being repeated end packets (RFC 4733 §2.5.1.4).
    assert!(stats.unwrap().packets_received >= 24);
}
