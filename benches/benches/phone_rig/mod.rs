//! Scripted SIP phones for the daemon-driving benches, over plain UDP on loopback: a trunk
//! that places calls (INVITE with SDP, ACK, BYE) and a farm of agent phones that REGISTER with
//! digest authentication and answer the daemon's INVITEs. Each owns one socket; `pump` reads
//! what arrived, stamps it with the time `recv` returned, and answers as a phone would. No
//! retransmission (loopback loses nothing the benches care about; a lost message shows up as a
//! call that did not complete).
#![allow(dead_code, missing_docs, unreachable_pub)]

use std::collections::{HashMap, VecDeque};
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use switchboard_sip::digest::{Algorithm, DigestCredentials, compute_response};

/// A parsed SIP message: start line, headers in order (lowercased names), body.
pub struct Msg<'a> {
    pub start: &'a str,
    pub headers: Vec<(String, &'a str)>,
    pub body: &'a str,
}

fn full_name(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    match lower.as_str() {
        "i" => "call-id".into(),
        "v" => "via".into(),
        "f" => "from".into(),
        "t" => "to".into(),
        "m" => "contact".into(),
        "l" => "content-length".into(),
        "c" => "content-type".into(),
        _ => lower,
    }
}

impl<'a> Msg<'a> {
    pub fn parse(text: &'a str) -> Option<Msg<'a>> {
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
        let mut lines = head.split("\r\n");
        let start = lines.next()?;
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (full_name(n), v.trim()))
            .collect();
        Some(Msg {
            start,
            headers,
            body,
        })
    }

    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }

    pub fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| *v)
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        let rest = self.start.strip_prefix("SIP/2.0 ")?;
        rest.get(..3)?.parse().ok()
    }

    /// The method of a request.
    pub fn method(&self) -> Option<&'a str> {
        if self.start.starts_with("SIP/2.0") {
            return None;
        }
        self.start.split(' ').next()
    }

    /// The Request-URI's user part.
    pub fn request_user(&self) -> Option<&'a str> {
        let uri = self.start.split(' ').nth(1)?;
        let uri = uri.strip_prefix("sip:")?;
        uri.split('@').next()
    }

    pub fn call_id(&self) -> &'a str {
        self.header("call-id").unwrap_or("")
    }

    pub fn cseq_method(&self) -> &'a str {
        self.header("cseq")
            .and_then(|c| c.split_whitespace().nth(1))
            .unwrap_or("")
    }

    /// The remote RTP address in the SDP body (c= and m=audio).
    pub fn sdp_rtp(&self) -> Option<SocketAddr> {
        let mut ip = None;
        let mut port = None;
        for l in self.body.lines() {
            if let Some(c) = l.strip_prefix("c=IN IP4 ") {
                ip = c.trim().parse::<std::net::Ipv4Addr>().ok();
            }
            if let Some(m) = l.strip_prefix("m=audio ") {
                port = m
                    .split_whitespace()
                    .next()
                    .and_then(|p| p.parse::<u16>().ok());
            }
        }
        Some(SocketAddr::from((ip?, port?)))
    }

    /// The URI inside the Contact header.
    pub fn contact_uri(&self) -> Option<&'a str> {
        let c = self.header("contact")?;
        let start = c.find('<')? + 1;
        let end = c[start..].find('>')? + start;
        c.get(start..end)
    }
}

fn sdp(rtp_port: u16) -> String {
    format!(
        "v=0\r\no=bench 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {rtp_port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
    )
}

/// A response to `req` echoing its Via, From, To (with `to_tag` added when given), Call-ID and
/// CSeq (RFC 3261 §8.2.6.2).
fn response(
    req: &Msg<'_>,
    status: &str,
    to_tag: Option<&str>,
    contact: Option<SocketAddr>,
    body: &str,
) -> String {
    let mut r = format!("SIP/2.0 {status}\r\n");
    for v in req.all("via") {
        r.push_str(&format!("Via: {v}\r\n"));
    }
    r.push_str(&format!("From: {}\r\n", req.header("from").unwrap_or("")));
    let to = req.header("to").unwrap_or("");
    match to_tag {
        Some(tag) if !to.contains("tag=") => r.push_str(&format!("To: {to};tag={tag}\r\n")),
        _ => r.push_str(&format!("To: {to}\r\n")),
    }
    r.push_str(&format!("Call-ID: {}\r\n", req.call_id()));
    r.push_str(&format!("CSeq: {}\r\n", req.header("cseq").unwrap_or("")));
    if let Some(c) = contact {
        r.push_str(&format!("Contact: <sip:agent@{c}>\r\n"));
    }
    if body.is_empty() {
        r.push_str("Content-Length: 0\r\n\r\n");
    } else {
        r.push_str(&format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    }
    r
}

fn bind() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").expect("binding a loopback UDP socket");
    s.set_nonblocking(true).expect("non-blocking socket");
    s
}

/// Waits for a datagram until `deadline`; the payload length and when `recv` returned.
fn recv_until(sock: &UdpSocket, buf: &mut [u8], deadline: Instant) -> Option<(usize, Instant)> {
    loop {
        match sock.recv_from(buf) {
            Ok((n, _)) => return Some((n, Instant::now())),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                let now = Instant::now();
                if now >= deadline {
                    return None;
                }
                // Spin briefly, then sleep a little: the benches time to well under a
                // millisecond, so keep the wake-up latency small.
                std::thread::sleep(Duration::from_micros(50).min(deadline - now));
            }
            Err(_) => return None,
        }
    }
}

/// One INVITE the daemon sent to an agent.
#[derive(Clone, Debug)]
pub struct Offer {
    pub agent: String,
    pub sip_call_id: String,
    pub received: Instant,
    pub remote_rtp: Option<SocketAddr>,
    /// The RTP port the phone answered with (when it answered).
    pub local_rtp: Option<u16>,
}

/// How the agent phones treat INVITEs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerMode {
    /// 180 then 200 with SDP at once.
    Answer,
    /// 180 only (the bench measures the INVITE and lets it ring).
    Ring,
}

/// Agent phones behind one socket: every agent registers from it, so the daemon sends every
/// agent's INVITE here.
pub struct AgentFarm {
    sock: UdpSocket,
    server: SocketAddr,
    pub local: SocketAddr,
    buf: Vec<u8>,
    seq: u64,
    pub mode: AnswerMode,
    /// RTP ports to answer with, one per answered INVITE (the port 4 is used when empty).
    pub rtp_ports: VecDeque<u16>,
    pub offers: Vec<Offer>,
    /// Registered agents: user → when the authenticated REGISTER was sent.
    pub registered: HashMap<String, Instant>,
    pending_register: HashMap<String, (String, Instant)>,
    pub byes: usize,
}

impl AgentFarm {
    pub fn new(server: SocketAddr) -> Self {
        let sock = bind();
        let local = sock.local_addr().expect("local address");
        Self {
            sock,
            server,
            local,
            buf: vec![0; 65536],
            seq: 0,
            mode: AnswerMode::Answer,
            rtp_ports: VecDeque::new(),
            offers: Vec::new(),
            registered: HashMap::new(),
            pending_register: HashMap::new(),
            byes: 0,
        }
    }

    fn send(&self, text: &str) {
        let _ = self.sock.send_to(text.as_bytes(), self.server);
    }

    fn register_text(
        &mut self,
        user: &str,
        sip_call_id: &str,
        cseq: u32,
        auth: Option<&str>,
    ) -> String {
        self.seq += 1;
        let (server, local) = (self.server, self.local);
        format!(
            "REGISTER sip:{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-r{}-{user};rport\r\n\
             From: <sip:{user}@{server}>;tag=r{user}\r\nTo: <sip:{user}@{server}>\r\n\
             Call-ID: {sip_call_id}\r\nCSeq: {cseq} REGISTER\r\n\
             Contact: <sip:{user}@{local}>\r\nMax-Forwards: 70\r\nExpires: 3600\r\n{}\
             Content-Length: 0\r\n\r\n",
            self.seq,
            auth.map(|a| format!("Authorization: {a}\r\n"))
                .unwrap_or_default()
        )
    }

    /// Sends the first (unauthenticated) REGISTER for `user`; `pump` answers the 401 and
    /// notes when the authenticated one left.
    pub fn start_register(&mut self, user: &str) {
        // A fresh Call-ID per attempt (a restarted registration must not reuse a lower CSeq
        // under an old Call-ID, RFC 3261 §10.3 step 7).
        let sip_call_id = format!("reg-{user}-{}-{}", self.local.port(), self.seq);
        let text = self.register_text(user, &sip_call_id, 1, None);
        self.pending_register
            .insert(sip_call_id, (user.to_owned(), Instant::now()));
        self.send(&text);
    }

    /// Registers `users`, `window` at most for all of them: at most 32 in flight, and one
    /// without an answer for a second is started again (this phone does not retransmit).
    pub fn register_all(&mut self, users: &[String], window: Duration) -> Result<(), String> {
        let deadline = Instant::now() + window;
        let mut next = 0;
        while users.iter().any(|u| !self.registered.contains_key(u)) {
            if Instant::now() > deadline {
                return Err(format!(
                    "{} of {} agents registered",
                    self.registered.len(),
                    users.len()
                ));
            }
            while next < users.len() && self.pending_register.len() < 32 {
                self.start_register(&users[next]);
                next += 1;
            }
            self.pump(Instant::now() + Duration::from_millis(2));
            let stale: Vec<(String, String)> = self
                .pending_register
                .iter()
                .filter(|(_, (_, sent))| sent.elapsed() > Duration::from_secs(1))
                .map(|(id, (user, _))| (id.clone(), user.clone()))
                .collect();
            for (id, user) in stale {
                self.pending_register.remove(&id);
                self.start_register(&user);
            }
        }
        Ok(())
    }

    /// Handles whatever arrives until `deadline` (returns earlier after a quiet 0 ms poll when
    /// `deadline` is now).
    pub fn pump(&mut self, deadline: Instant) {
        let mut buf = std::mem::take(&mut self.buf);
        while let Some((n, at)) = recv_until(&self.sock, &mut buf, deadline) {
            let Ok(text) = std::str::from_utf8(&buf[..n]) else {
                continue;
            };
            self.handle(text, at);
        }
        self.buf = buf;
    }

    /// Waits until `count` offers have arrived in all, or `deadline`.
    pub fn wait_offers(&mut self, count: usize, deadline: Instant) -> bool {
        let mut buf = std::mem::take(&mut self.buf);
        while self.offers.len() < count {
            let Some((n, at)) = recv_until(&self.sock, &mut buf, deadline) else {
                break;
            };
            if let Ok(text) = std::str::from_utf8(&buf[..n]) {
                self.handle(text, at);
            }
        }
        self.buf = buf;
        self.offers.len() >= count
    }

    fn handle(&mut self, text: &str, at: Instant) {
        let Some(msg) = Msg::parse(text) else { return };
        match (msg.method(), msg.status()) {
            (Some("INVITE"), _) => {
                let agent = msg.request_user().unwrap_or("").to_owned();
                let tag = format!("a{}", self.offers.len());
                let mut offer = Offer {
                    agent,
                    sip_call_id: msg.call_id().to_owned(),
                    received: at,
                    remote_rtp: msg.sdp_rtp(),
                    local_rtp: None,
                };
                self.send(&response(
                    &msg,
                    "180 Ringing",
                    Some(&tag),
                    Some(self.local),
                    "",
                ));
                if self.mode == AnswerMode::Answer {
                    let port = self.rtp_ports.pop_front().unwrap_or(4);
                    offer.local_rtp = Some(port);
                    self.send(&response(
                        &msg,
                        "200 OK",
                        Some(&tag),
                        Some(self.local),
                        &sdp(port),
                    ));
                }
                self.offers.push(offer);
            }
            (Some("BYE"), _) => {
                self.byes += 1;
                self.send(&response(&msg, "200 OK", None, None, ""));
            }
            (Some("CANCEL"), _) | (Some("OPTIONS"), _) => {
                self.send(&response(&msg, "200 OK", None, None, ""));
            }
            (Some(_), _) => {}
            (None, Some(401)) if msg.cseq_method() == "REGISTER" => {
                let Some((user, _)) = self.pending_register.get(msg.call_id()).cloned() else {
                    return;
                };
                let Some(challenge) = msg.header("www-authenticate") else {
                    return;
                };
                let auth = authorization(challenge, &user, &format!("sip:{}", self.server));
                let sip_call_id = msg.call_id().to_owned();
                let text = self.register_text(&user, &sip_call_id, 2, Some(&auth));
                self.pending_register
                    .insert(sip_call_id, (user, Instant::now()));
                self.send(&text);
            }
            (None, Some(200)) if msg.cseq_method() == "REGISTER" => {
                if let Some((user, sent)) = self.pending_register.remove(msg.call_id()) {
                    self.registered.insert(user, sent);
                }
            }
            _ => {}
        }
    }
}

/// The digest `Authorization` value answering `challenge` (MD5, qop=auth when offered).
pub fn authorization(challenge: &str, user: &str, uri: &str) -> String {
    let param = |name: &str| -> Option<String> {
        let lower = challenge.to_ascii_lowercase();
        let at = lower.find(&format!("{name}="))? + name.len() + 1;
        let rest = &challenge[at..];
        if let Some(q) = rest.strip_prefix('"') {
            Some(q[..q.find('"')?].to_owned())
        } else {
            Some(rest.split(',').next()?.trim().to_owned())
        }
    };
    let realm = param("realm").unwrap_or_default();
    let nonce = param("nonce").unwrap_or_default();
    let opaque = param("opaque");
    let qop = param("qop").filter(|q| q.split(',').any(|t| t.trim() == "auth"));
    let algorithm = param("algorithm")
        .and_then(|a| Algorithm::from_token(&a))
        .unwrap_or(Algorithm::Md5);
    let creds = DigestCredentials {
        username: user.to_owned(),
        realm: realm.clone(),
        nonce: nonce.clone(),
        uri: uri.to_owned(),
        response: String::new(),
        algorithm,
        qop: qop.as_ref().map(|_| "auth".to_owned()),
        cnonce: qop.as_ref().map(|_| "bench0cnonce".to_owned()),
        nc: qop.as_ref().map(|_| 1),
        nc_text: qop.as_ref().map(|_| "00000001".to_owned()),
        opaque: opaque.clone(),
    };
    let response = compute_response(&creds, super::daemon_rig::AGENT_PASSWORD, "REGISTER");
    let mut v = format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
         response=\"{response}\", algorithm={}",
        algorithm.token()
    );
    if qop.is_some() {
        v.push_str(", qop=auth, cnonce=\"bench0cnonce\", nc=00000001");
    }
    if let Some(o) = opaque {
        v.push_str(&format!(", opaque=\"{o}\""));
    }
    v
}

/// One call the trunk placed.
#[derive(Clone, Debug)]
pub struct TrunkCall {
    pub sip_call_id: String,
    pub sent: Instant,
    /// The daemon's 200 OK: when it arrived, the dialog's To header and Contact URI, the
    /// daemon's RTP address.
    pub answered: Option<Instant>,
    pub to: String,
    pub contact: String,
    pub remote_rtp: Option<SocketAddr>,
    pub local_rtp: u16,
    pub bye_sent: bool,
    pub ended: bool,
    pub failed: Option<u16>,
    /// Any response to the INVITE arrived (no retransmission needed).
    pub responded: bool,
    /// The INVITE as sent, for retransmission.
    request: String,
}

/// A SIP trunk behind one socket placing calls to the daemon.
pub struct Trunk {
    sock: UdpSocket,
    server: SocketAddr,
    pub local: SocketAddr,
    buf: Vec<u8>,
    pub calls: Vec<TrunkCall>,
    index: HashMap<String, usize>,
}

impl Trunk {
    pub fn new(server: SocketAddr) -> Self {
        let sock = bind();
        let local = sock.local_addr().expect("local address");
        Self {
            sock,
            server,
            local,
            buf: vec![0; 65536],
            calls: Vec::new(),
            index: HashMap::new(),
        }
    }

    fn send(&self, text: &str) {
        let _ = self.sock.send_to(text.as_bytes(), self.server);
    }

    /// Sends an INVITE to `dnis` offering RTP on `rtp_port`; returns the call's index.
    pub fn invite(&mut self, dnis: &str, rtp_port: u16) -> usize {
        let k = self.calls.len();
        let (server, local) = (self.server, self.local);
        let sip_call_id = format!("call-{k}-{}", local.port());
        let body = sdp(rtp_port);
        let text = format!(
            "INVITE sip:{dnis}@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-i{k};rport\r\n\
             From: \"Caller {k}\" <sip:555{k:07}@{local}>;tag=c{k}\r\nTo: <sip:{dnis}@{server}>\r\n\
             Call-ID: {sip_call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:555{k:07}@{local}>\r\n\
             Max-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.index.insert(sip_call_id.clone(), k);
        self.calls.push(TrunkCall {
            sip_call_id,
            sent: Instant::now(),
            answered: None,
            to: String::new(),
            contact: String::new(),
            remote_rtp: None,
            local_rtp: rtp_port,
            bye_sent: false,
            ended: false,
            failed: None,
            responded: false,
            request: text.clone(),
        });
        self.send(&text);
        k
    }

    /// Places one call per `(dnis, rtp_port)` with at most 32 awaiting a first response, and
    /// retransmits an INVITE that got none within 500 ms (as Timer A would, RFC 3261 §17.1.1.2);
    /// waits until every call is answered or failed, `window` at most.
    pub fn invite_all(&mut self, calls: &[(String, u16)], window: Duration) -> Result<(), String> {
        let deadline = Instant::now() + window;
        let from = self.calls.len();
        let mut next = 0;
        loop {
            let unanswered = self.calls[from..].iter().filter(|c| !c.responded).count();
            if next == calls.len()
                && self.calls[from..]
                    .iter()
                    .all(|c| c.answered.is_some() || c.failed.is_some())
            {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} of {} calls answered",
                    self.calls[from..]
                        .iter()
                        .filter(|c| c.answered.is_some())
                        .count(),
                    calls.len()
                ));
            }
            if unanswered < 32 && next < calls.len() {
                let (dnis, port) = &calls[next];
                self.invite(dnis, *port);
                next += 1;
                continue;
            }
            self.pump(Instant::now() + Duration::from_millis(2));
            for c in &self.calls[from..] {
                if !c.responded && c.sent.elapsed() > Duration::from_millis(500) {
                    let _ = self.sock.send_to(c.request.as_bytes(), self.server);
                }
            }
            for c in &mut self.calls[from..] {
                if !c.responded && c.sent.elapsed() > Duration::from_millis(500) {
                    c.sent = Instant::now();
                }
            }
        }
        let failed = self.calls[from..]
            .iter()
            .filter(|c| c.failed.is_some())
            .count();
        if failed > 0 {
            return Err(format!("{failed} of {} calls failed", calls.len()));
        }
        Ok(())
    }

    /// Hangs call `k` up (BYE), if it was answered.
    pub fn bye(&mut self, k: usize) {
        let Some(call) = self.calls.get_mut(k) else {
            return;
        };
        if call.answered.is_none() || call.bye_sent || call.ended {
            return;
        }
        call.bye_sent = true;
        let (server, local) = (self.server, self.local);
        let uri = if call.contact.is_empty() {
            format!("sip:{server}")
        } else {
            call.contact.clone()
        };
        let text = format!(
            "BYE {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-b{k};rport\r\n\
             From: \"Caller {k}\" <sip:555{k:07}@{local}>;tag=c{k}\r\nTo: {}\r\n\
             Call-ID: {}\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
            call.to, call.sip_call_id
        );
        self.send(&text);
    }

    pub fn pump(&mut self, deadline: Instant) {
        let mut buf = std::mem::take(&mut self.buf);
        while let Some((n, at)) = recv_until(&self.sock, &mut buf, deadline) {
            if let Ok(text) = std::str::from_utf8(&buf[..n]) {
                self.handle(text, at);
            }
        }
        self.buf = buf;
    }

    /// Pumps until `pred` holds for the calls, or `deadline`.
    pub fn pump_until(&mut self, deadline: Instant, pred: impl Fn(&[TrunkCall]) -> bool) -> bool {
        let mut buf = std::mem::take(&mut self.buf);
        while !pred(&self.calls) {
            let Some((n, at)) = recv_until(&self.sock, &mut buf, deadline) else {
                break;
            };
            if let Ok(text) = std::str::from_utf8(&buf[..n]) {
                self.handle(text, at);
            }
        }
        self.buf = buf;
        pred(&self.calls)
    }

    fn handle(&mut self, text: &str, at: Instant) {
        let Some(msg) = Msg::parse(text) else { return };
        if let Some(method) = msg.method() {
            // The daemon hanging up (or probing): answer.
            if method == "BYE"
                && let Some(&k) = self.index.get(msg.call_id())
            {
                self.calls[k].ended = true;
            }
            if method != "ACK" {
                self.send(&response(&msg, "200 OK", None, None, ""));
            }
            return;
        }
        let Some(&k) = self.index.get(msg.call_id()) else {
            return;
        };
        let status = msg.status().unwrap_or(0);
        let local = self.local;
        let call = &mut self.calls[k];
        if msg.cseq_method() == "INVITE" {
            call.responded = true;
        }
        match (msg.cseq_method(), status) {
            ("INVITE", 200) => {
                if call.answered.is_none() {
                    call.answered = Some(at);
                    call.to = msg.header("to").unwrap_or("").to_owned();
                    call.contact = msg.contact_uri().unwrap_or("").to_owned();
                    call.remote_rtp = msg.sdp_rtp();
                }
                let uri = if call.contact.is_empty() {
                    format!("sip:{}", self.server)
                } else {
                    call.contact.clone()
                };
                let text = format!(
                    "ACK {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-a{k};rport\r\n\
                     From: \"Caller {k}\" <sip:555{k:07}@{local}>;tag=c{k}\r\nTo: {}\r\n\
                     Call-ID: {}\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
                    call.to, call.sip_call_id
                );
                self.send(&text);
            }
            ("INVITE", s) if s >= 300 => {
                call.failed = Some(s);
                // RFC 3261 §17.1.1.3: ACK a non-2xx final response (same branch).
                let text = format!(
                    "ACK sip:x@{} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-i{k};rport\r\n\
                     From: \"Caller {k}\" <sip:555{k:07}@{local}>;tag=c{k}\r\nTo: {}\r\n\
                     Call-ID: {}\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
                    self.server,
                    msg.header("to").unwrap_or(""),
                    call.sip_call_id
                );
                self.send(&text);
            }
            ("BYE", _) => call.ended = true,
            _ => {}
        }
    }
}
