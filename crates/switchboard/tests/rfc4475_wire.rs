//! RFC 4475 torture messages sent to the running daemon, one UDP datagram per file, byte-exact
//! from `tests/data/sip/rfc4475/`.
//!
//! * §3.1.1 valid requests must get a final response other than 400 (404, 481, 501 … are fine);
//!   `dblreq.dat` must be answered for its REGISTER only, never for the INVITE trailing it.
//! * §3.1.1 valid responses match no transaction and are absorbed: no reply.
//! * §3.1.2 invalid requests get 400 (or the more specific code RFC 4475 names for the test, e.g.
//!   505 for `badvers.dat`) or are dropped — never 2xx; invalid responses are dropped.
//! * §3.2–3.4 ("torture above the parser") are sent too: `mcl01.dat` (two Content-Length values,
//!   a framing check the issue names) and `insuf.dat` (no Call-ID, From or To; RFC 3261 §8.1.1)
//!   are held to the invalid rule, responses get no reply, the rest only must not break the
//!   daemon.
//! * After all of them the daemon still answers OPTIONS with 200, and when an invalid message
//!   was dropped, a parse-error (or malformed/invalid/dropped) counter in `/metrics` shows it.
//!
//! The messages name foreign hosts in Via, Contact and Request-URI; the daemon must never send to
//! them. So the test re-executes itself under `unshare -rn` (a new user and network namespace
//! holding only loopback) and the inner run starts the daemon and does the work there. Inside,
//! the test owns every port: responses routed per RFC 3261 §18.2.2 go to the packet's source
//! address (`received`) and the Via sent-by port (5060 when absent, 5050/5070 in two files), so
//! the test listens on those ports over UDP and TCP (a Via naming TCP may be answered over TCP).
//! Replies are matched to files by Call-ID, else taken as the reply to the file just sent;
//! byte-identical repeats (final responses to INVITE, retransmitted for want of an ACK) are set
//! aside.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::sync::mpsc::{self, Sender};
use std::time::{Duration, Instant};

use common::Daemon;
use common::wire::{http_get, options_ping, status_code};

/// This test's name, for `--exact` when re-executing.
const TEST_NAME: &str = "rfc4475_torture_messages_over_udp_inside_a_loopback_only_namespace";
/// Ports the corpus' Via sent-by values route responses to.
const RESPONSE_PORTS: [u16; 3] = [5060, 5050, 5070];
/// How long a valid request may take to be answered.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for a reply to a message that may legitimately be dropped.
const DROP_WINDOW: Duration = Duration::from_millis(400);

/// What RFC 4475 (and the issue) expect of one message; see tests/data/sip/rfc4475/README.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// §3.1.1 request: a final response other than 400.
    ValidRequest,
    /// §3.1.1 response: absorbed, no reply.
    ValidResponse,
    /// §3.1.2 request (and framing defects from §3.3): 400, the code named here, or dropped.
    InvalidRequest(Option<u16>),
    /// §3.1.2 response: dropped, no reply.
    InvalidResponse,
    /// §3.2–3.4 request: any behaviour but a crash.
    SemanticRequest,
    /// §3.3 response: dropped, never forwarded.
    SemanticResponse,
}

/// Every file of the corpus with its class (README.md's table).
const CORPUS: &[(&str, Class)] = &[
    ("wsinv.dat", Class::ValidRequest),
    ("intmeth.dat", Class::ValidRequest),
    ("esc01.dat", Class::ValidRequest),
    ("escnull.dat", Class::ValidRequest),
    ("esc02.dat", Class::ValidRequest),
    ("lwsdisp.dat", Class::ValidRequest),
    ("longreq.dat", Class::ValidRequest),
    ("dblreq.dat", Class::ValidRequest),
    ("semiuri.dat", Class::ValidRequest),
    ("transports.dat", Class::ValidRequest),
    ("mpart01.dat", Class::ValidRequest),
    ("unreason.dat", Class::ValidResponse),
    ("noreason.dat", Class::ValidResponse),
    ("badinv01.dat", Class::InvalidRequest(None)),
    ("clerr.dat", Class::InvalidRequest(None)),
    ("ncl.dat", Class::InvalidRequest(None)),
    ("scalar02.dat", Class::InvalidRequest(None)),
    ("scalarlg.dat", Class::InvalidResponse),
    ("quotbal.dat", Class::InvalidRequest(None)),
    ("ltgtruri.dat", Class::InvalidRequest(None)),
    ("lwsruri.dat", Class::InvalidRequest(None)),
    ("lwsstart.dat", Class::InvalidRequest(None)),
    ("trws.dat", Class::InvalidRequest(None)),
    ("escruri.dat", Class::InvalidRequest(None)),
    ("baddate.dat", Class::InvalidRequest(None)),
    ("regbadct.dat", Class::InvalidRequest(None)),
    ("badaspec.dat", Class::InvalidRequest(None)),
    ("baddn.dat", Class::InvalidRequest(None)),
    // RFC 4475 §3.1.2.16: "SHOULD respond with a 505".
    ("badvers.dat", Class::InvalidRequest(Some(505))),
    ("mismatch01.dat", Class::InvalidRequest(None)),
    // RFC 4475 §3.1.2.18: an unknown method, so 501 fits as well as 400.
    ("mismatch02.dat", Class::InvalidRequest(Some(501))),
    ("bigcode.dat", Class::InvalidResponse),
    ("badbranch.dat", Class::SemanticRequest),
    // No Call-ID, From or To (RFC 3261 §8.1.1): nothing to build a transaction on.
    ("insuf.dat", Class::InvalidRequest(None)),
    ("unkscm.dat", Class::SemanticRequest),
    ("novelsc.dat", Class::SemanticRequest),
    ("unksm2.dat", Class::SemanticRequest),
    ("bext01.dat", Class::SemanticRequest),
    ("invut.dat", Class::SemanticRequest),
    ("regaut01.dat", Class::SemanticRequest),
    ("multi01.dat", Class::SemanticRequest),
    // Two Content-Length values: the framing check the issue asks for ("duplicate ... values").
    ("mcl01.dat", Class::InvalidRequest(None)),
    ("bcast.dat", Class::SemanticResponse),
    ("zeromf.dat", Class::SemanticRequest),
    ("cparam01.dat", Class::SemanticRequest),
    ("cparam02.dat", Class::SemanticRequest),
    ("regescrt.dat", Class::SemanticRequest),
    ("sdp01.dat", Class::SemanticRequest),
    ("inv2543.dat", Class::SemanticRequest),
];

/// The INVITE trailing `dblreq.dat`'s REGISTER in the same datagram (RFC 4475 §3.1.1.8): it must
/// be ignored, so no reply may carry its Call-ID.
const DBLREQ_TRAILING_CALL_ID: &str = "dblreq.0ha0isnda977644900765@192.0.2.15";

fn corpus_dir() -> PathBuf {
    common::repo_root().join("tests/data/sip/rfc4475")
}

#[test]
fn rfc4475_torture_messages_over_udp_inside_a_loopback_only_namespace() {
    if common::netns::in_loopback_namespace(TEST_NAME, "") {
        inner_run();
    }
}

/// One message seen by the test's listeners.
#[derive(Debug)]
struct Reply {
    bytes: Vec<u8>,
    via: String,
}

/// What came back for one corpus file.
#[derive(Debug, Default)]
struct Outcome {
    /// Status codes received (provisional included), in order.
    codes: Vec<u16>,
    /// The same, as printed: `*` marks a reply without a known Call-ID, attributed to the file
    /// sent last.
    shown: Vec<String>,
    /// Replies that are not responses (a request sent to us), described.
    other: Vec<String>,
}

impl Outcome {
    /// Files `reply` under this outcome.
    fn record(&mut self, reply: &Reply, by_call_id: bool) {
        let mark = if by_call_id { "" } else { "*" };
        match status_code(&reply.bytes) {
            Some(code) => {
                self.codes.push(code);
                self.shown.push(format!("{code}{mark}"));
            }
            None => self
                .other
                .push(format!("{} via {}", first_line(&reply.bytes), reply.via)),
        }
    }

    fn finals(&self) -> impl Iterator<Item = u16> + '_ {
        self.codes.iter().copied().filter(|c| *c >= 200)
    }
}

fn inner_run() {
    let (tx, rx) = mpsc::channel();
    let sender = listen(&tx);
    let daemon = Daemon::start();
    let target = daemon.sip;

    let names: Vec<&str> = CORPUS.iter().map(|(name, _)| *name).collect();
    let mut on_disk: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("reading the corpus dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".dat"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "every corpus file must be classified here");

    let call_ids: BTreeMap<String, &str> = CORPUS
        .iter()
        .filter_map(|(name, _)| {
            let bytes = read_message(name);
            header_value(&bytes, "call-id", "i").map(|id| (id, *name))
        })
        .collect();

    let mut outcomes: BTreeMap<&str, Outcome> = BTreeMap::new();
    let mut violations = Vec::new();
    // A final response to an INVITE is retransmitted until ACKed (Timer G, RFC 3261 §17.2.1);
    // the test sends no ACK, so byte-identical repeats are recognised and set aside, not taken
    // for a reply to whichever file is in flight.
    let mut seen: BTreeSet<Vec<u8>> = BTreeSet::new();
    let mut retransmissions = 0usize;
    for (name, class) in CORPUS {
        let bytes = read_message(name);
        sender
            .send_to(&bytes, target)
            .unwrap_or_else(|e| panic!("sending {name}: {e}"));
        let wait_for_final = *class == Class::ValidRequest;
        let deadline = Instant::now()
            + if wait_for_final {
                ANSWER_TIMEOUT
            } else {
                DROP_WINDOW
            };
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(reply) = rx.recv_timeout(left) else {
                break;
            };
            if !seen.insert(reply.bytes.clone()) {
                retransmissions += 1;
                continue;
            }
            let (owner, by_call_id) = attribute(&reply, &call_ids, name, &mut violations);
            outcomes
                .entry(owner)
                .or_default()
                .record(&reply, by_call_id);
            // A final response settles a request (later ones still count, by Call-ID); a
            // response under test, or a request that may be dropped, waits out its window.
            let settled = outcomes
                .get(name)
                .is_some_and(|o| o.finals().next().is_some());
            if settled && is_request(*class) {
                break;
            }
        }
    }
    // Stragglers (a late 400, a retransmitted final response) still count.
    while let Ok(reply) = rx.recv_timeout(DROP_WINDOW) {
        if !seen.insert(reply.bytes.clone()) {
            retransmissions += 1;
            continue;
        }
        let (owner, by_call_id) =
            attribute(&reply, &call_ids, "(after the last file)", &mut violations);
        outcomes
            .entry(owner)
            .or_default()
            .record(&reply, by_call_id);
    }

    println!(
        "{:<16} {:<26} replies (* = no known Call-ID, taken as the reply to the file just sent)",
        "file", "class"
    );
    println!("({retransmissions} retransmitted responses set aside)");
    let mut dropped_invalid = Vec::new();
    for (name, class) in CORPUS {
        let outcome = outcomes.remove(name).unwrap_or_default();
        if matches!(class, Class::InvalidRequest(_) | Class::InvalidResponse)
            && outcome.codes.is_empty()
        {
            dropped_invalid.push(*name);
        }
        println!(
            "{name:<16} {:<26} {} {}",
            format!("{class:?}"),
            outcome.shown.join(" "),
            outcome.other.join("; ")
        );
        if let Some(problem) = judge(*class, &outcome) {
            violations.push(format!(
                "{name}: {problem} (got [{}] {:?})",
                outcome.shown.join(" "),
                outcome.other
            ));
        }
    }
    for (owner, outcome) in &outcomes {
        violations.push(format!(
            "{owner}: unexpected replies [{}] {:?}",
            outcome.shown.join(" "),
            outcome.other
        ));
    }

    // "Malformed → 400 … otherwise dropped and counted in a metric" (the issue): when some
    // invalid message was dropped, /metrics must show a non-zero counter for it.
    if !dropped_invalid.is_empty() {
        match http_get(daemon.http, "/metrics", Duration::from_secs(5)) {
            Ok((200, body)) => {
                let counted = body.lines().filter(|l| !l.starts_with('#')).any(|line| {
                    let name = line.split(['{', ' ']).next().unwrap_or_default();
                    let value = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok());
                    ["parse", "malformed", "invalid", "drop"]
                        .iter()
                        .any(|word| name.contains(word))
                        && value.is_some_and(|v| v >= 1.0)
                });
                if !counted {
                    violations.push(format!(
                        "{dropped_invalid:?} were dropped but no parse/malformed/invalid/drop \
                         counter in /metrics is above zero:\n{body}"
                    ));
                }
            }
            other => violations.push(format!("GET /metrics: {other:?}")),
        }
    }

    let still_alive = options_ping(target, Duration::from_secs(3));
    if !matches!(still_alive, Ok(200)) {
        violations.push(format!(
            "OPTIONS after the corpus: {still_alive:?}, expected 200"
        ));
    }
    let mut daemon = daemon;
    if let Some(status) = daemon.exited() {
        violations.push(format!("the daemon exited: {status}"));
    }
    assert!(
        violations.is_empty(),
        "RFC 4475 wire test failed:\n  {}\n--- daemon log ---\n{}",
        violations.join("\n  "),
        common::tail(&daemon.log(), 12_000)
    );
}

/// True for the classes whose files are requests.
fn is_request(class: Class) -> bool {
    matches!(
        class,
        Class::ValidRequest | Class::InvalidRequest(_) | Class::SemanticRequest
    )
}

/// Checks one file's outcome against its class; `Some(reason)` when it breaks the expectation.
fn judge(class: Class, outcome: &Outcome) -> Option<String> {
    let finals: Vec<u16> = outcome.finals().collect();
    if !outcome.other.is_empty() {
        return Some("the daemon sent a request towards the test's ports".into());
    }
    match class {
        Class::ValidRequest => match finals.first() {
            None => Some("a valid request got no final response".into()),
            Some(400) => Some("a valid request was answered 400".into()),
            Some(_) => None,
        },
        Class::ValidResponse | Class::InvalidResponse | Class::SemanticResponse => {
            (!outcome.codes.is_empty()).then(|| "a response was answered".into())
        }
        Class::InvalidRequest(alternative) => finals
            .iter()
            .find(|&&code| code != 400 && Some(code) != alternative)
            .map(|code| format!("an invalid request was answered {code}, not 400 or dropped")),
        Class::SemanticRequest => None,
    }
}

/// The corpus file a reply belongs to, and whether its Call-ID said so: by its Call-ID when it
/// has a known one, else the file just sent. A reply carrying the Call-ID of `dblreq.dat`'s
/// trailing INVITE is a violation.
fn attribute<'a>(
    reply: &Reply,
    call_ids: &BTreeMap<String, &'a str>,
    current: &'a str,
    violations: &mut Vec<String>,
) -> (&'a str, bool) {
    match header_value(&reply.bytes, "call-id", "i") {
        Some(id) if id == DBLREQ_TRAILING_CALL_ID => {
            violations.push(format!(
                "dblreq.dat: the INVITE trailing the REGISTER was answered: {}",
                first_line(&reply.bytes)
            ));
            ("dblreq.dat", true)
        }
        Some(id) => call_ids
            .get(&id)
            .map_or((current, false), |&name| (name, true)),
        None => (current, false),
    }
}

fn read_message(name: &str) -> Vec<u8> {
    let path = corpus_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn first_line(message: &[u8]) -> String {
    let line = message.split(|&b| b == b'\n').next().unwrap_or_default();
    String::from_utf8_lossy(line).trim_end().to_owned()
}

/// The value of the first header named `name` (or its compact form), trimmed; headers only,
/// folded continuation lines ignored (enough for Call-ID and Content-Length).
fn header_value(message: &[u8], name: &str, compact: &str) -> Option<String> {
    let text = String::from_utf8_lossy(message);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    head.split("\r\n").skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        let key = key.trim_end_matches([' ', '\t']);
        (key.eq_ignore_ascii_case(name) || key.eq_ignore_ascii_case(compact))
            .then(|| value.trim().to_owned())
    })
}

/// Binds UDP and TCP on [`RESPONSE_PORTS`] (inside the namespace), forwarding everything
/// received to `tx`; returns the UDP socket on 5060, which sends the corpus.
fn listen(tx: &Sender<Reply>) -> UdpSocket {
    let mut sender = None;
    for port in RESPONSE_PORTS {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, port))
            .unwrap_or_else(|e| panic!("binding UDP {port} in the namespace: {e}"));
        if port == 5060 {
            sender = Some(udp.try_clone().expect("cloning the sending socket"));
        }
        let udp_tx = tx.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65_535];
            while let Ok((len, from)) = udp.recv_from(&mut buf) {
                let reply = Reply {
                    bytes: buf.get(..len).unwrap_or_default().to_vec(),
                    via: format!("UDP {from} -> {port}"),
                };
                if udp_tx.send(reply).is_err() {
                    break;
                }
            }
        });
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .unwrap_or_else(|e| panic!("binding TCP {port} in the namespace: {e}"));
        let tcp_tx = tx.clone();
        std::thread::spawn(move || {
            for stream in tcp.incoming() {
                let Ok(mut stream) = stream else { continue };
                let conn_tx = tcp_tx.clone();
                std::thread::spawn(move || {
                    let from = stream
                        .peer_addr()
                        .map_or_else(|_| "?".into(), |a: SocketAddr| a.to_string());
                    let mut pending = Vec::new();
                    let mut buf = [0u8; 16_384];
                    while let Ok(len) = stream.read(&mut buf) {
                        if len == 0 {
                            break;
                        }
                        pending.extend_from_slice(buf.get(..len).unwrap_or_default());
                        while let Some(message) = split_stream_message(&mut pending) {
                            let reply = Reply {
                                bytes: message,
                                via: format!("TCP {from} -> {port}"),
                            };
                            if conn_tx.send(reply).is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
    }
    sender.expect("5060 is among the response ports")
}

/// Takes one complete message off the front of a TCP stream buffer (RFC 3261 §18.3: framed by
/// Content-Length), skipping CRLF keep-alives.
fn split_stream_message(pending: &mut Vec<u8>) -> Option<Vec<u8>> {
    while pending.starts_with(b"\r\n") {
        pending.drain(..2);
    }
    let end = pending.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = pending.get(..end)?;
    let body_len: usize = header_value(head, "content-length", "l")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let total = end.checked_add(body_len)?;
    if pending.len() < total {
        return None;
    }
    Some(pending.drain(..total).collect())
}
