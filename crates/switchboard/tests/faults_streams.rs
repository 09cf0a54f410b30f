//! Issue 8, faults: stream peers that stop reading. A SIP client over TCP that keeps sending
//! but never reads its responses (then half-closes), and a gRPC subscriber that never reads its
//! event stream: the daemon's memory stays bounded, the stalled connection is closed in bounded
//! time, and everyone else (UDP calls, other subscribers) keeps being served.

mod common;

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::Daemon;
use common::phone::{AgentPhone, Caller, rss_kib};
use common::wire::{http_get, options_ping};

const WAIT: Duration = Duration::from_secs(10);

/// A TCP connection to `server` whose receive buffer is as small as the kernel allows, so the
/// daemon's responses back up at once when it is not read.
fn stalling_client(server: SocketAddr) -> TcpStream {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    socket.connect(&server.into()).expect("connect");
    socket.into()
}

/// `n` OPTIONS over TCP from `local`, concatenated.
fn options_batch(target: SocketAddr, local: SocketAddr, first: u32, n: u32) -> String {
    (first..first + n)
        .map(|i| {
            format!(
                "OPTIONS sip:{target};transport=tcp SIP/2.0\r\nVia: SIP/2.0/TCP {local};branch=z9hG4bK-st-{i}\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:stall@{local}>;tag=st{i}\r\nTo: <sip:{target}>\r\n\
                 Call-ID: stall-{i}@e2e\r\nCSeq: {i} OPTIONS\r\nContent-Length: 0\r\n\r\n"
            )
        })
        .collect()
}

/// The daemon's `switchboard_sip_tcp_connections` gauge.
fn tcp_connections(daemon: &Daemon) -> Option<f64> {
    let (_, body) = http_get(daemon.http, "/metrics", Duration::from_secs(2)).ok()?;
    body.lines()
        .find_map(|l| l.strip_prefix("switchboard_sip_tcp_connections "))
        .and_then(|v| v.trim().parse().ok())
}

#[test]
fn tcp_client_that_never_reads_then_half_closes_is_bounded_and_closed_while_udp_calls_go_on() {
    let daemon = Daemon::start();
    let pid = daemon.pid();
    let rss_before = rss_kib(pid);
    let mut client = stalling_client(daemon.sip);
    let local = client.local_addr().expect("local addr");
    client
        .set_write_timeout(Some(Duration::from_millis(200)))
        .expect("write timeout");

    // Send requests, never read a response, until our writes fail (the daemon closed the
    // connection it could not write to) or 60,000 requests are out.
    const BATCH: u32 = 200;
    let mut sent = 0;
    let started = Instant::now();
    while sent < 60_000 && started.elapsed() < Duration::from_secs(15) {
        let batch = options_batch(daemon.sip, local, sent, BATCH);
        match client.write_all(batch.as_bytes()) {
            Ok(()) => sent += BATCH,
            Err(_) => break,
        }
    }
    let rss_stalled = rss_kib(pid);
    eprintln!(
        "stalled TCP client: {sent} OPTIONS written without reading in {:?}; RSS {rss_before} KiB before, {rss_stalled} KiB stalled",
        started.elapsed()
    );
    assert!(
        rss_stalled < rss_before + 32 * 1024,
        "RSS grew from {rss_before} to {rss_stalled} KiB behind one stalled connection"
    );

    // Everyone else is served meanwhile: an OPTIONS ping and a whole bridged call over UDP.
    assert_eq!(options_ping(daemon.sip, WAIT).ok(), Some(200));
    let mut agent = AgentPhone::register(daemon.sip, "1001", "secret");
    let mut caller = Caller::dial(daemon.sip, "201").unwrap_or_else(|c| panic!("refused {c}"));
    caller.ack();
    let offered = agent.expect_invite(WAIT);
    agent.answer(&offered, "udp");
    agent.sip.expect_request("ACK", WAIT);
    assert_eq!(caller.hang_up(), 200);
    let bye = agent.sip.expect_request("BYE", WAIT);
    agent.sip.reply(&bye, 200, "OK", None, None);

    // The client half-closes (if the daemon has not closed already) and still never reads:
    // the daemon may not keep the connection, its queued responses and its task forever.
    let _ = client.shutdown(Shutdown::Write);
    let closing = Instant::now();
    let deadline = closing + Duration::from_secs(15);
    loop {
        if tcp_connections(&daemon) == Some(0.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the stalled, half-closed connection is still open after {:?} (gauge {:?})",
            closing.elapsed(),
            tcp_connections(&daemon)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "stalled, half-closed connection closed by the daemon {:?} after the half-close",
        closing.elapsed()
    );
    drop(client);
}
