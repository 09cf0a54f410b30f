//! A scriptable SIP endpoint over UDP for the fault tests: an agent phone that registers with
//! digest and answers (or misbehaves: answers twice, never sends RTP, vanishes), and a trunk
//! caller that dials, ACKs (or does not), re-INVITEs and hangs up. Each step is one call so a
//! test reads as the script of a misbehaving peer; SIPp cannot express "send a second 200 with
//! another to-tag" or "stop reading" as plainly.
//!
//! Each has an RTP socket whose port goes in its SDP; `super::tagged_rtp` sends and counts tagged
//! packets on it.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use switchboard_sip::digest::{Algorithm, DigestCredentials, compute_response};

static NEXT_ID: AtomicU32 = AtomicU32::new(1);

fn unique() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        NEXT_ID.fetch_add(1, Ordering::Relaxed)
    )
}

/// One SIP message as received: the start line, the headers in order (compact names expanded,
/// names lowercased) and the body.
#[derive(Debug, Clone)]
pub(crate) struct Msg {
    /// `INVITE sip:… SIP/2.0` or `SIP/2.0 200 OK`.
    pub(crate) start: String,
    /// `(lowercased name, value)` in order.
    pub(crate) headers: Vec<(String, String)>,
    /// Everything after the blank line.
    pub(crate) body: String,
}

impl Msg {
    /// Parses a datagram; `None` when it is not a SIP message.
    pub(crate) fn parse(bytes: &[u8]) -> Option<Msg> {
        let text = String::from_utf8_lossy(bytes);
        let (head, body) = text.split_once("\r\n\r\n")?;
        let mut lines = head.split("\r\n");
        let start = lines.next()?.to_owned();
        let headers = lines
            .filter_map(|l| {
                let (name, value) = l.split_once(':')?;
                let name = match name.trim().to_ascii_lowercase().as_str() {
                    "i" => "call-id".to_owned(),
                    "f" => "from".to_owned(),
                    "t" => "to".to_owned(),
                    "v" => "via".to_owned(),
                    "m" => "contact".to_owned(),
                    "l" => "content-length".to_owned(),
                    "c" => "content-type".to_owned(),
                    other => other.to_owned(),
                };
                Some((name, value.trim().to_owned()))
            })
            .collect();
        Some(Msg {
            start,
            headers,
            body: body.to_owned(),
        })
    }

    /// The first value of header `name` (lowercase).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name`.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The request method, for a request.
    pub(crate) fn method(&self) -> Option<&str> {
        if self.start.starts_with("SIP/2.0") {
            return None;
        }
        self.start.split_whitespace().next()
    }

    /// The status code, for a response.
    pub(crate) fn code(&self) -> Option<u16> {
        let mut parts = self.start.split_whitespace();
        if parts.next()? != "SIP/2.0" {
            return None;
        }
        parts.next()?.parse().ok()
    }

    /// The CSeq method (`INVITE` in `1 INVITE`).
    pub(crate) fn cseq_method(&self) -> Option<&str> {
        self.header("cseq")?.split_whitespace().nth(1)
    }

    /// The `tag` parameter of header `name` (`from` or `to`).
    pub(crate) fn tag(&self, name: &str) -> Option<String> {
        tag_of(self.header(name)?)
    }

    /// The address of the first audio stream of the SDP body (`c=` and `m=audio`).
    pub(crate) fn sdp_audio(&self) -> Option<SocketAddr> {
        let ip = self
            .body
            .lines()
            .find_map(|l| l.strip_prefix("c=IN IP4 "))?
            .trim();
        let port = self
            .body
            .lines()
            .find_map(|l| l.strip_prefix("m=audio "))?
            .split_whitespace()
            .next()?;
        format!("{ip}:{port}").parse().ok()
    }

    /// The URI in the Contact header.
    pub(crate) fn contact_uri(&self) -> Option<String> {
        let contact = self.header("contact")?;
        let start = contact.find('<')? + 1;
        let end = contact.find('>')?;
        contact.get(start..end).map(str::to_owned)
    }
}

/// The `tag` parameter of a From/To value.
fn tag_of(value: &str) -> Option<String> {
    let after = value.rsplit_once('>').map_or(value, |(_, p)| p);
    after
        .split(';')
        .find_map(|p| p.trim().strip_prefix("tag=").map(|t| t.trim().to_owned()))
}

/// A UDP SIP socket on 127.0.0.1 talking to one server.
#[derive(Debug)]
pub(crate) struct SipSocket {
    socket: UdpSocket,
    /// Our address (Via, Contact).
    pub(crate) local: SocketAddr,
    /// The daemon's SIP address.
    pub(crate) server: SocketAddr,
    /// Every message received, in order, for failure messages and later checks.
    pub(crate) seen: Vec<Msg>,
}

impl SipSocket {
    /// Binds an ephemeral loopback port.
    pub(crate) fn bind(server: SocketAddr) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("binding a SIP socket");
        let local = socket.local_addr().expect("local addr");
        Self {
            socket,
            local,
            server,
            seen: Vec::new(),
        }
    }

    /// Sends `text` to the server.
    pub(crate) fn send(&self, text: &str) {
        self.socket
            .send_to(text.as_bytes(), self.server)
            .expect("sending SIP");
    }

    /// The next message before `deadline`, or `None`. OPTIONS keep-alives are answered 200 and
    /// skipped.
    pub(crate) fn recv(&mut self, deadline: Instant) -> Option<Msg> {
        let mut buf = vec![0u8; 65_535];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.socket
                .set_read_timeout(Some(left))
                .expect("read timeout");
            let len = match self.socket.recv(&mut buf) {
                Ok(len) => len,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return None;
                }
                Err(e) => panic!("receiving SIP: {e}"),
            };
            let Some(msg) = Msg::parse(buf.get(..len).unwrap_or_default()) else {
                continue;
            };
            self.seen.push(msg.clone());
            if msg.method() == Some("OPTIONS") {
                self.reply(&msg, 200, "OK", None, None);
                continue;
            }
            return Some(msg);
        }
    }

    /// Waits up to `timeout` for a message `wanted` accepts; everything else is kept in
    /// [`SipSocket::seen`] and skipped.
    pub(crate) fn expect(
        &mut self,
        timeout: Duration,
        what: &str,
        wanted: impl Fn(&Msg) -> bool,
    ) -> Msg {
        let deadline = Instant::now() + timeout;
        while let Some(msg) = self.recv(deadline) {
            if wanted(&msg) {
                return msg;
            }
        }
        panic!(
            "{}: no {what} within {timeout:?}; received:\n{}",
            self.local,
            self.transcript()
        );
    }

    /// Waits up to `timeout` for a request with `method`.
    pub(crate) fn expect_request(&mut self, method: &str, timeout: Duration) -> Msg {
        self.expect(timeout, method, |m| m.method() == Some(method))
    }

    /// Start lines of everything received, for failure messages.
    pub(crate) fn transcript(&self) -> String {
        self.seen
            .iter()
            .map(|m| format!("  {} [{}]\n", m.start, m.header("cseq").unwrap_or("")))
            .collect()
    }

    /// Answers `request` with `code`; `to_tag` is added to To when it has none; `sdp_port`
    /// adds an SDP answer with audio on that port.
    pub(crate) fn reply(
        &self,
        request: &Msg,
        code: u16,
        reason: &str,
        to_tag: Option<&str>,
        sdp_port: Option<u16>,
    ) {
        let mut out = format!("SIP/2.0 {code} {reason}\r\n");
        for via in request.all("via") {
            out.push_str(&format!("Via: {via}\r\n"));
        }
        let to = request.header("to").unwrap_or_default();
        let to = match to_tag {
            Some(tag) if tag_of(to).is_none() => format!("{to};tag={tag}"),
            _ => to.to_owned(),
        };
        out.push_str(&format!(
            "From: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {}\r\nContact: <sip:phone@{}>\r\n",
            request.header("from").unwrap_or_default(),
            request.header("call-id").unwrap_or_default(),
            request.header("cseq").unwrap_or_default(),
            self.local
        ));
        let body = sdp_port.map(|p| sdp(self.local, p)).unwrap_or_default();
        if !body.is_empty() {
            out.push_str("Content-Type: application/sdp\r\n");
        }
        out.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        self.send(&out);
    }
}

/// A PCMU SDP body with audio at `ip_of:port`.
fn sdp(ip_of: SocketAddr, port: u16) -> String {
    let ip = ip_of.ip();
    format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
    )
}

/// An agent phone: a SIP socket registered as an agent, and an RTP socket.
#[derive(Debug)]
pub(crate) struct AgentPhone {
    /// Its SIP socket.
    pub(crate) sip: SipSocket,
    /// Its RTP socket (the port in its SDP answers).
    pub(crate) rtp: UdpSocket,
    /// The agent id it registered as.
    pub(crate) agent: String,
}

/// One INVITE the phone received and how it answered.
#[derive(Debug, Clone)]
pub(crate) struct Offered {
    /// The INVITE.
    pub(crate) invite: Msg,
    /// Where the daemon wants this leg's RTP.
    pub(crate) media: SocketAddr,
}

impl AgentPhone {
    /// Registers `agent` with `password` (digest, MD5) for an hour.
    pub(crate) fn register(server: SocketAddr, agent: &str, password: &str) -> Self {
        let mut sip = SipSocket::bind(server);
        let rtp = UdpSocket::bind("127.0.0.1:0").expect("binding an RTP socket");
        let call_id = format!("reg-{}", unique());
        let uri = format!("sip:{server}");
        let local = sip.local;
        let request = |cseq: u32, auth: &str| {
            format!(
                "REGISTER {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-r{cseq}-{call_id};rport\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:{agent}@{server}>;tag=r{call_id}\r\nTo: <sip:{agent}@{server}>\r\n\
                 Call-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:{agent}@{local}>\r\n\
                 Expires: 3600\r\n{auth}Content-Length: 0\r\n\r\n"
            )
        };
        // A daemon still working through an overload answers 503 with Retry-After: the phone
        // tries again, as a real one does (RFC 3261 §21.5.4), for up to 15 s.
        let mut cseq = 1;
        let give_up = Instant::now() + Duration::from_secs(15);
        let challenge = loop {
            sip.send(&request(cseq, ""));
            let reply = sip.expect(Duration::from_secs(5), "401 or 503", |m| {
                m.cseq_method() == Some("REGISTER") && matches!(m.code(), Some(401 | 503))
            });
            if reply.code() == Some(401) {
                break reply;
            }
            assert!(
                Instant::now() < give_up,
                "REGISTER still refused with 503 after 15 s: {reply:?}"
            );
            std::thread::sleep(Duration::from_millis(500));
            cseq += 1;
        };
        let www = challenge
            .all("www-authenticate")
            .into_iter()
            .find(|v| !v.contains("SHA-256"))
            .unwrap_or_else(|| panic!("no MD5 challenge: {challenge:?}"))
            .to_owned();
        let param = |name: &str| -> Option<String> {
            let at = www.find(&format!("{name}="))? + name.len() + 1;
            let rest = www.get(at..)?;
            Some(if let Some(quoted) = rest.strip_prefix('"') {
                quoted.split('"').next()?.to_owned()
            } else {
                rest.split(',').next()?.trim().to_owned()
            })
        };
        let mut credentials = DigestCredentials {
            username: agent.to_owned(),
            realm: param("realm").unwrap_or_default(),
            nonce: param("nonce").unwrap_or_default(),
            uri: uri.clone(),
            response: String::new(),
            algorithm: Algorithm::Md5,
            qop: param("qop").map(|_| "auth".to_owned()),
            cnonce: Some("faults".to_owned()),
            nc: Some(1),
            nc_text: Some("00000001".to_owned()),
            opaque: param("opaque"),
        };
        credentials.response = compute_response(&credentials, password, "REGISTER");
        let mut auth = format!(
            "Authorization: Digest username=\"{agent}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", \
             response=\"{}\", algorithm=MD5",
            credentials.realm, credentials.nonce, credentials.response
        );
        if credentials.qop.is_some() {
            auth.push_str(", qop=auth, nc=00000001, cnonce=\"faults\"");
        }
        if let Some(opaque) = &credentials.opaque {
            auth.push_str(&format!(", opaque=\"{opaque}\""));
        }
        auth.push_str("\r\n");
        sip.send(&request(cseq + 1, &auth));
        let ok = sip.expect(Duration::from_secs(5), "REGISTER final", |m| {
            m.cseq_method() == Some("REGISTER") && m.code().is_some_and(|c| c >= 200)
        });
        assert_eq!(ok.code(), Some(200), "REGISTER refused: {ok:?}");
        Self {
            sip,
            rtp,
            agent: agent.to_owned(),
        }
    }

    /// Waits for the daemon's INVITE.
    pub(crate) fn expect_invite(&mut self, timeout: Duration) -> Offered {
        let invite = self.sip.expect_request("INVITE", timeout);
        let media = invite
            .sdp_audio()
            .unwrap_or_else(|| panic!("INVITE without an SDP offer: {invite:?}"));
        Offered { invite, media }
    }

    /// Waits for the daemon's INVITE for a call from `caller` (its From), skipping others
    /// (offers of calls that have since gone, still in the socket's buffer).
    pub(crate) fn expect_invite_from(&mut self, caller: &str, timeout: Duration) -> Offered {
        let needle = format!("sip:{caller}@");
        let invite = self.sip.expect(timeout, "INVITE from the caller", |m| {
            m.method() == Some("INVITE") && m.header("from").is_some_and(|f| f.contains(&needle))
        });
        let media = invite
            .sdp_audio()
            .unwrap_or_else(|| panic!("INVITE without an SDP offer: {invite:?}"));
        Offered { invite, media }
    }

    /// Answers `offered` 200 with our SDP under `to_tag`.
    pub(crate) fn answer(&self, offered: &Offered, to_tag: &str) {
        let port = self.rtp.local_addr().expect("rtp addr").port();
        self.sip
            .reply(&offered.invite, 200, "OK", Some(to_tag), Some(port));
    }

    /// The RTP socket's address.
    pub(crate) fn rtp_addr(&self) -> SocketAddr {
        self.rtp.local_addr().expect("rtp addr")
    }
}

/// A trunk caller's dialog: INVITE sent from 127.0.0.1 (the demo trunk), answered by the daemon.
#[derive(Debug)]
pub(crate) struct Caller {
    /// Its SIP socket.
    pub(crate) sip: SipSocket,
    /// Its RTP socket.
    pub(crate) rtp: UdpSocket,
    /// SIP Call-ID.
    pub(crate) call_id: String,
    from_tag: String,
    /// The caller's number (From user part; the CDR's src).
    number: String,
    /// The daemon's tag, from its 200.
    pub(crate) to_tag: String,
    dnis: String,
    /// Where the daemon wants the caller's RTP.
    pub(crate) media: SocketAddr,
    remote_target: String,
    cseq: u32,
    /// Re-INVITEs sent, by CSeq, for retransmission (Timer A).
    reinvites: std::collections::BTreeMap<u32, String>,
}

impl Caller {
    /// Sends INVITE to `dnis` and waits for the daemon's final response. Returns the caller
    /// (not yet ACKed: call [`Caller::ack`]) or the refusing status code.
    pub(crate) fn dial(server: SocketAddr, dnis: &str) -> Result<Caller, u16> {
        Self::dial_from(server, dnis, "5550100")
    }

    /// [`Caller::dial`], trying again while the daemon answers 503 (Retry-After) for up to
    /// `limit`, as a real peer does after an overload; other refusals are returned at once.
    pub(crate) fn dial_when_served(
        server: SocketAddr,
        dnis: &str,
        limit: Duration,
    ) -> Result<Caller, u16> {
        let give_up = Instant::now() + limit;
        loop {
            match Self::dial(server, dnis) {
                Err(503) if Instant::now() < give_up => {
                    std::thread::sleep(Duration::from_millis(500));
                }
                other => return other,
            }
        }
    }

    /// [`Caller::dial`] from the caller number `number`.
    pub(crate) fn dial_from(server: SocketAddr, dnis: &str, number: &str) -> Result<Caller, u16> {
        let mut sip = SipSocket::bind(server);
        let rtp = UdpSocket::bind("127.0.0.1:0").expect("binding an RTP socket");
        let id = unique();
        let call_id = format!("fault-{id}@e2e");
        let from_tag = format!("c{id}");
        let body = sdp(sip.local, rtp.local_addr().expect("rtp addr").port());
        let invite = format!(
            "INVITE sip:{dnis}@{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-i-{id};rport\r\n\
             Max-Forwards: 70\r\nFrom: \"Caller\" <sip:{number}@{local}>;tag={from_tag}\r\n\
             To: <sip:{dnis}@{server}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n\
             Contact: <sip:{number}@{local}>\r\nContent-Type: application/sdp\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len(),
            local = sip.local
        );
        sip.send(&invite);
        let last = sip.expect(Duration::from_secs(10), "INVITE final", |m| {
            m.cseq_method() == Some("INVITE") && m.code().is_some_and(|c| c >= 200)
        });
        if last.code() != Some(200) {
            return Err(last.code().unwrap_or(0));
        }
        Ok(Caller {
            to_tag: last.tag("to").unwrap_or_default(),
            media: last
                .sdp_audio()
                .unwrap_or_else(|| panic!("200 without SDP: {last:?}")),
            remote_target: last
                .contact_uri()
                .unwrap_or_else(|| format!("sip:{dnis}@{server}")),
            sip,
            rtp,
            call_id,
            from_tag,
            number: number.to_owned(),
            dnis: dnis.to_owned(),
            cseq: 1,
            reinvites: std::collections::BTreeMap::new(),
        })
    }

    fn in_dialog(&self, method: &str, cseq: u32, branch: &str, extra: &str, body: &str) -> String {
        let local = self.sip.local;
        let server = self.sip.server;
        format!(
            "{method} {target} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-{branch};rport\r\n\
             Max-Forwards: 70\r\nFrom: \"Caller\" <sip:{number}@{local}>;tag={from}\r\n\
             To: <sip:{dnis}@{server}>;tag={to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n\
             Contact: <sip:{number}@{local}>\r\n{extra}Content-Length: {}\r\n\r\n{body}",
            body.len(),
            target = self.remote_target,
            from = self.from_tag,
            number = self.number,
            dnis = self.dnis,
            to = self.to_tag,
            call_id = self.call_id,
        )
    }

    /// ACKs the daemon's 2xx for the INVITE with CSeq `cseq`.
    pub(crate) fn ack_cseq(&self, cseq: u32) {
        let branch = format!("a{cseq}-{}", unique());
        self.sip.send(&self.in_dialog("ACK", cseq, &branch, "", ""));
    }

    /// ACKs the initial INVITE's 2xx.
    pub(crate) fn ack(&self) {
        self.ack_cseq(1);
    }

    /// Sends a re-INVITE (same SDP, a new o= version) without waiting; returns its CSeq.
    pub(crate) fn send_reinvite(&mut self) -> u32 {
        self.cseq += 1;
        let cseq = self.cseq;
        let port = self.rtp.local_addr().expect("rtp addr").port();
        let body = sdp(self.sip.local, port).replace("o=- 1 1", &format!("o=- 1 {cseq}"));
        let branch = format!("ri{cseq}-{}", unique());
        let text = self.in_dialog(
            "INVITE",
            cseq,
            &branch,
            "Content-Type: application/sdp\r\n",
            &body,
        );
        self.sip.send(&text);
        self.reinvites.insert(cseq, text);
        cseq
    }

    /// Sends the re-INVITE with `cseq` again, unchanged (RFC 3261 §17.1.1.2, Timer A).
    pub(crate) fn resend_reinvite(&self, cseq: u32) {
        if let Some(text) = self.reinvites.get(&cseq) {
            self.sip.send(text);
        }
    }

    /// Sends BYE, resent every T1 = 500 ms (RFC 3261 §17.1.2.2, Timer E, not doubled here)
    /// until its final response arrives (at most 8 s); returns the status code.
    pub(crate) fn hang_up(&mut self) -> u16 {
        self.cseq += 1;
        let cseq = self.cseq;
        let branch = format!("b{cseq}-{}", unique());
        let bye = self.in_dialog("BYE", cseq, &branch, "", "");
        let deadline = Instant::now() + Duration::from_secs(8);
        while Instant::now() < deadline {
            self.sip.send(&bye);
            let timer_e = (Instant::now() + Duration::from_millis(500)).min(deadline);
            while let Some(m) = self.sip.recv(timer_e) {
                if m.cseq_method() == Some("BYE")
                    && let Some(code) = m.code().filter(|c| *c >= 200)
                {
                    return code;
                }
            }
        }
        panic!(
            "{}: no final response to BYE; received:\n{}",
            self.sip.local,
            self.sip.transcript()
        );
    }

    /// Waits for the daemon's BYE and answers it 200.
    pub(crate) fn expect_bye(&mut self, timeout: Duration) -> Msg {
        let bye = self.sip.expect_request("BYE", timeout);
        self.sip.reply(&bye, 200, "OK", None, None);
        bye
    }
}
