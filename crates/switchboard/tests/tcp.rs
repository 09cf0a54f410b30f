//! SIP over TCP on the daemon's SIP port: stream framing by Content-Length (RFC 3261 §18.3) and
//! CRLF keep-alives (RFC 5626 §3.5.1).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::Daemon;
use common::wire::status_code;

const WAIT: Duration = Duration::from_secs(5);

/// An OPTIONS over TCP from `local`, numbered `n`, with a body so framing needs Content-Length.
fn options(target: SocketAddr, local: SocketAddr, n: u32) -> String {
    let body = format!("probe {n}\r\n");
    format!(
        "OPTIONS sip:{target};transport=tcp SIP/2.0\r\n\
         Via: SIP/2.0/TCP {local};branch=z9hG4bK-tcp-{n}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:e2e@{local}>;tag=tcp{n}\r\n\
         To: <sip:{target}>\r\n\
         Call-ID: tcp-{n}@e2e\r\n\
         CSeq: {n} OPTIONS\r\n\
         Content-Type: text/plain\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Reads from `stream` until `enough` says the bytes so far suffice, or [`WAIT`] passes.
fn read_until(stream: &mut TcpStream, enough: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let deadline = Instant::now() + WAIT;
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    while !enough(&got) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        stream
            .set_read_timeout(Some(left))
            .expect("setting a read timeout");
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(buf.get(..n).unwrap_or_default()),
        }
    }
    got
}

/// The responses in a TCP byte stream, split at each status line.
fn responses(stream: &[u8]) -> Vec<(u16, String)> {
    let text = String::from_utf8_lossy(stream);
    text.split("SIP/2.0 ")
        .skip(1)
        .filter_map(|part| {
            let message = format!("SIP/2.0 {part}");
            let code = status_code(message.as_bytes())?;
            let call_id = message
                .lines()
                .find_map(|l| l.strip_prefix("Call-ID:").or_else(|| l.strip_prefix("i:")))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default();
            Some((code, call_id))
        })
        .collect()
}

#[test]
fn tcp_requests_pipelined_in_one_write_and_split_across_writes_are_each_answered() {
    let daemon = Daemon::start();
    let mut stream = TcpStream::connect_timeout(&daemon.sip, WAIT).expect("connecting over TCP");
    stream.set_nodelay(true).expect("TCP_NODELAY");
    let local = stream.local_addr().expect("local address");
    // Two whole requests in one write, then a third cut inside its body, sent in two writes.
    let pipelined = options(daemon.sip, local, 1) + &options(daemon.sip, local, 2);
    stream
        .write_all(pipelined.as_bytes())
        .expect("writing two requests");
    let third = options(daemon.sip, local, 3);
    let (first_half, second_half) = third.split_at(third.len() - 4);
    stream
        .write_all(first_half.as_bytes())
        .expect("writing the first part");
    stream.flush().expect("flushing");
    // The daemon must wait for the rest of the body rather than answer a truncated request.
    let early = read_until(&mut stream, |got| responses(got).len() >= 2);
    stream
        .write_all(second_half.as_bytes())
        .expect("writing the rest");
    let mut all = early;
    all.extend(read_until(&mut stream, |got| !responses(got).is_empty()));
    let got = responses(&all);
    let mut call_ids: Vec<&str> = got.iter().map(|(_, id)| id.as_str()).collect();
    call_ids.sort_unstable();
    assert_eq!(
        call_ids,
        ["tcp-1@e2e", "tcp-2@e2e", "tcp-3@e2e"],
        "expected one response per request, got {got:?}"
    );
    assert!(
        got.iter().all(|(code, _)| *code == 200),
        "every OPTIONS should get 200, got {got:?}"
    );
}

#[test]
fn tcp_double_crlf_keepalive_gets_a_crlf_pong() {
    let daemon = Daemon::start();
    let mut stream = TcpStream::connect_timeout(&daemon.sip, WAIT).expect("connecting over TCP");
    stream.write_all(b"\r\n\r\n").expect("sending the ping");
    let pong = read_until(&mut stream, |got| got.len() >= 2);
    assert_eq!(
        pong, b"\r\n",
        "RFC 5626 §3.5.1: a CRLFCRLF ping gets a CRLF pong"
    );
    // The connection still carries SIP afterwards.
    let local = stream.local_addr().expect("local address");
    stream
        .write_all(options(daemon.sip, local, 7).as_bytes())
        .expect("writing an OPTIONS");
    let reply = read_until(&mut stream, |got| !responses(got).is_empty());
    assert_eq!(
        responses(&reply).first().map(|(code, _)| *code),
        Some(200),
        "OPTIONS after the keep-alive: {:?}",
        String::from_utf8_lossy(&reply)
    );
}
