//! Registrar behaviour on a simulated clock: no sockets, no sleeps. Client digest responses are
//! computed here from the RFC 7616 formulas with md-5/sha2 directly, not with the code under test.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use md5::Md5;
use rsip::headers::UntypedHeader;
use rsip::prelude::*;
use rsip::{Header, Request, Response};
use sha2::{Digest as _, Sha256};

use super::*;
use crate::{Peer, Transport};

mod auth;
mod bindings;
mod keepalive;
mod properties;

pub(super) const REALM: &str = "pbx.example";

pub(super) fn config() -> RegistrarConfig {
    let mut config = RegistrarConfig {
        realm: REALM.to_string(),
        keepalive_interval: Duration::ZERO,
        ..RegistrarConfig::default()
    };
    config.users.insert("1001".into(), "s3cret".into());
    config.users.insert("1002".into(), "hunter2".into());
    config
}

pub(super) fn peer(remote: &str) -> Peer {
    Peer {
        transport: Transport::Udp,
        remote: remote.parse::<SocketAddr>().unwrap(),
        local: "198.51.100.1:5060".parse().unwrap(),
    }
}

pub(super) fn status(response: &Response) -> u16 {
    response.status_code.code()
}

/// A phone as the registrar sees it: one Call-ID, CSeq counting up (RFC 3261 §10.2).
pub(super) struct Phone {
    pub(super) user: String,
    pub(super) auth_user: String,
    pub(super) password: String,
    pub(super) call_id: String,
    pub(super) cseq: u32,
    pub(super) contact: String,
    pub(super) peer: Peer,
    pub(super) cnonce_counter: u32,
}

impl Phone {
    pub(super) fn new(user: &str, password: &str, contact: &str, remote: &str) -> Phone {
        Phone {
            user: user.into(),
            auth_user: user.into(),
            password: password.into(),
            call_id: format!("reg-{user}-{remote}"),
            cseq: 0,
            contact: contact.into(),
            peer: peer(remote),
            cnonce_counter: 0,
        }
    }

    pub(super) fn request(&mut self, extra: &str) -> Request {
        self.cseq += 1;
        let raw = format!(
            "REGISTER sip:{REALM} SIP/2.0\r\n\
             Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK{cseq};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{user}@{REALM}>;tag=ph1\r\n\
             To: <sip:{user}@{REALM}>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} REGISTER\r\n\
             {extra}Content-Length: 0\r\n\r\n",
            cseq = self.cseq,
            user = self.user,
            call_id = self.call_id,
        );
        Request::try_from(raw.as_bytes()).expect("test REGISTER parses")
    }

    pub(super) fn contact_line(&self) -> String {
        if self.contact.is_empty() {
            String::new()
        } else {
            format!("Contact: {}\r\n", self.contact)
        }
    }

    /// REGISTER without credentials.
    pub(super) fn send_plain(
        &mut self,
        reg: &mut Registrar,
        now: Instant,
        extra: &str,
    ) -> Response {
        let extra = format!("{}{extra}", self.contact_line());
        let request = self.request(&extra);
        reg.handle_register(now, &request, self.peer)
    }

    /// REGISTER answering the challenge in `challenge` (the 401) with `algorithm`.
    pub(super) fn send_auth(
        &mut self,
        reg: &mut Registrar,
        now: Instant,
        challenge: &Response,
        algorithm: &str,
        extra: &str,
    ) -> Response {
        let nonce = challenge_param(challenge, algorithm, "nonce").expect("challenge has a nonce");
        self.cnonce_counter += 1;
        let auth = self.authorization(&nonce, algorithm, 1, &format!("cn{}", self.cnonce_counter));
        self.send_with_authorization(reg, now, &auth, extra)
    }

    pub(super) fn send_with_authorization(
        &mut self,
        reg: &mut Registrar,
        now: Instant,
        authorization: &str,
        extra: &str,
    ) -> Response {
        let extra = format!(
            "{}Authorization: {authorization}\r\n{extra}",
            self.contact_line()
        );
        let request = self.request(&extra);
        reg.handle_register(now, &request, self.peer)
    }

    pub(super) fn authorization(
        &self,
        nonce: &str,
        algorithm: &str,
        nc: u32,
        cnonce: &str,
    ) -> String {
        let h = |s: String| match algorithm {
            "MD5" => hex::encode(Md5::digest(s.as_bytes())),
            "SHA-256" => hex::encode(Sha256::digest(s.as_bytes())),
            other => panic!("test does not hash {other}"),
        };
        let uri = format!("sip:{REALM}");
        let nc = format!("{nc:08x}");
        let ha1 = h(format!("{}:{REALM}:{}", self.auth_user, self.password));
        let ha2 = h(format!("REGISTER:{uri}"));
        let response = h(format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"));
        format!(
            "Digest username=\"{}\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"{uri}\", \
             response=\"{response}\", algorithm={algorithm}, qop=auth, nc={nc}, cnonce=\"{cnonce}\"",
            self.auth_user
        )
    }

    /// The full dance: REGISTER, 401, REGISTER with credentials. Returns the final response.
    pub(super) fn register(&mut self, reg: &mut Registrar, now: Instant, extra: &str) -> Response {
        let challenge = self.send_plain(reg, now, extra);
        assert_eq!(status(&challenge), 401, "first REGISTER is challenged");
        self.send_auth(reg, now, &challenge, "MD5", extra)
    }
}

/// A parameter of the WWW-Authenticate header offering `algorithm`.
pub(super) fn challenge_param(response: &Response, algorithm: &str, name: &str) -> Option<String> {
    response.headers.iter().find_map(|h| match h {
        Header::WwwAuthenticate(w) if w.value().contains(&format!("algorithm={algorithm},")) => {
            let value = w.value();
            let start = value.find(&format!("{name}="))? + name.len() + 1;
            let rest = value.get(start..)?;
            Some(match rest.strip_prefix('"') {
                Some(quoted) => quoted.split('"').next()?.to_string(),
                None => rest.split(',').next()?.trim().to_string(),
            })
        }
        _ => None,
    })
}

pub(super) fn contacts(response: &Response) -> Vec<String> {
    response
        .contact_headers()
        .iter()
        .map(|c| c.value().to_string())
        .collect()
}

pub(super) fn drain_events(reg: &mut Registrar) -> Vec<RegistrarEvent> {
    std::iter::from_fn(|| reg.poll_output())
        .filter_map(|o| match o {
            RegistrarOutput::Event(e) => Some(e),
            RegistrarOutput::SendKeepalive(_) => None,
        })
        .collect()
}

pub(super) fn drain_probes(reg: &mut Registrar) -> Vec<KeepaliveProbe> {
    std::iter::from_fn(|| reg.poll_output())
        .filter_map(|o| match o {
            RegistrarOutput::SendKeepalive(p) => Some(p),
            RegistrarOutput::Event(_) => None,
        })
        .collect()
}

pub(super) fn alice() -> Phone {
    Phone::new(
        "1001",
        "s3cret",
        "<sip:1001@10.0.0.2:5060>",
        "203.0.113.7:40001",
    )
}
