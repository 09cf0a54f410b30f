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
use crate::Transport;

const REALM: &str = "pbx.example";

fn config() -> RegistrarConfig {
    let mut config = RegistrarConfig {
        realm: REALM.to_string(),
        keepalive_interval: Duration::ZERO,
        ..RegistrarConfig::default()
    };
    config.users.insert("1001".into(), "s3cret".into());
    config.users.insert("1002".into(), "hunter2".into());
    config
}

fn peer(remote: &str) -> Peer {
    Peer {
        transport: Transport::Udp,
        remote: remote.parse::<SocketAddr>().unwrap(),
        local: "198.51.100.1:5060".parse().unwrap(),
    }
}

fn status(response: &Response) -> u16 {
    response.status_code.code()
}

/// A phone as the registrar sees it: one Call-ID, CSeq counting up (RFC 3261 §10.2).
struct Phone {
    user: String,
    auth_user: String,
    password: String,
    call_id: String,
    cseq: u32,
    contact: String,
    peer: Peer,
    cnonce_counter: u32,
}

impl Phone {
    fn new(user: &str, password: &str, contact: &str, remote: &str) -> Phone {
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

    fn request(&mut self, extra: &str) -> Request {
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

    fn contact_line(&self) -> String {
        if self.contact.is_empty() {
            String::new()
        } else {
            format!("Contact: {}\r\n", self.contact)
        }
    }

    /// REGISTER without credentials.
    fn send_plain(&mut self, reg: &mut Registrar, now: Instant, extra: &str) -> Response {
        let extra = format!("{}{extra}", self.contact_line());
        let request = self.request(&extra);
        reg.handle_register(now, &request, self.peer)
    }

    /// REGISTER answering the challenge in `challenge` (the 401) with `algorithm`.
    fn send_auth(
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

    fn send_with_authorization(
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

    fn authorization(&self, nonce: &str, algorithm: &str, nc: u32, cnonce: &str) -> String {
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
    fn register(&mut self, reg: &mut Registrar, now: Instant, extra: &str) -> Response {
        let challenge = self.send_plain(reg, now, extra);
        assert_eq!(status(&challenge), 401, "first REGISTER is challenged");
        self.send_auth(reg, now, &challenge, "MD5", extra)
    }
}

/// A parameter of the WWW-Authenticate header offering `algorithm`.
fn challenge_param(response: &Response, algorithm: &str, name: &str) -> Option<String> {
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

fn contacts(response: &Response) -> Vec<String> {
    response
        .contact_headers()
        .iter()
        .map(|c| c.value().to_string())
        .collect()
}

fn drain_events(reg: &mut Registrar) -> Vec<RegistrarEvent> {
    std::iter::from_fn(|| reg.poll_output())
        .filter_map(|o| match o {
            RegistrarOutput::Event(e) => Some(e),
            RegistrarOutput::SendKeepalive(_) => None,
        })
        .collect()
}

fn drain_probes(reg: &mut Registrar) -> Vec<KeepaliveProbe> {
    std::iter::from_fn(|| reg.poll_output())
        .filter_map(|o| match o {
            RegistrarOutput::SendKeepalive(p) => Some(p),
            RegistrarOutput::Event(_) => None,
        })
        .collect()
}

fn alice() -> Phone {
    Phone::new(
        "1001",
        "s3cret",
        "<sip:1001@10.0.0.2:5060>",
        "203.0.113.7:40001",
    )
}

#[test]
fn md5_challenge_then_credentials_registers_the_contact() {
    let (mut reg, t0) = (Registrar::new(config(), 1), Instant::now());
    let mut phone = alice();
    let challenge = phone.send_plain(&mut reg, t0, "Expires: 600\r\n");
    assert_eq!(status(&challenge), 401);
    assert_eq!(
        challenge
            .headers
            .iter()
            .filter(|h| matches!(h, Header::WwwAuthenticate(_)))
            .count(),
        2
    );
    assert!(challenge_param(&challenge, "MD5", "opaque").is_some());
    assert!(!reg.is_available("1001"));

    let ok = phone.send_auth(&mut reg, t0, &challenge, "MD5", "Expires: 600\r\n");
    assert_eq!(status(&ok), 200);
    assert_eq!(contacts(&ok), vec!["<sip:1001@10.0.0.2:5060>;expires=600"]);
    assert!(ok.to_header().unwrap().value().contains(";tag="));
    let events = drain_events(&mut reg);
    assert!(matches!(&events[0], RegistrarEvent::BindingAdded(b) if b.user == "1001"));
    assert_eq!(
        events[1],
        RegistrarEvent::AgentAvailable {
            user: "1001".into()
        }
    );
    let binding = reg.bindings("1001").next().unwrap();
    assert_eq!(
        binding.peer, phone.peer,
        "the binding remembers where the REGISTER came from"
    );
    assert_eq!(binding.contact.to_string(), "sip:1001@10.0.0.2:5060");
    assert_eq!(reg.stats().registrations_ok, 1);
}

#[test]
fn sha256_challenge_is_offered_first_and_accepted() {
    let (mut reg, t0) = (Registrar::new(config(), 2), Instant::now());
    let mut phone = alice();
    let challenge = phone.send_plain(&mut reg, t0, "");
    let first = challenge
        .headers
        .iter()
        .find_map(|h| match h {
            Header::WwwAuthenticate(w) => Some(w.value().to_string()),
            _ => None,
        })
        .unwrap();
    assert!(
        first.contains("algorithm=SHA-256"),
        "RFC 8760: preferred algorithm first"
    );
    let ok = phone.send_auth(&mut reg, t0, &challenge, "SHA-256", "");
    assert_eq!(status(&ok), 200);
    assert!(reg.is_available("1001"));
}

#[test]
fn wrong_password_is_challenged_again_then_locked_out() {
    let mut cfg = config();
    cfg.lockout_threshold = 3;
    let (mut reg, t0) = (Registrar::new(cfg, 3), Instant::now());
    let mut thief = Phone::new("1001", "guess", "<sip:1001@10.9.9.9>", "192.0.2.66:5060");
    let mut challenge = thief.send_plain(&mut reg, t0, "");
    for attempt in 1..=2 {
        let response = thief.send_auth(&mut reg, t0, &challenge, "MD5", "");
        assert_eq!(
            status(&response),
            401,
            "attempt {attempt} is challenged again, never 200"
        );
        challenge = response;
    }
    let locked = thief.send_auth(&mut reg, t0, &challenge, "MD5", "");
    assert_eq!(status(&locked), 403);
    assert!(
        drain_events(&mut reg)
            .iter()
            .any(|e| matches!(e, RegistrarEvent::LockedOut { user, .. } if user == "1001"))
    );
    // Even the right password is refused from that source while locked...
    thief.password = "s3cret".into();
    assert_eq!(status(&thief.send_plain(&mut reg, t0, "")), 403);
    // ...but the real phone elsewhere still registers.
    let mut phone = alice();
    assert_eq!(status(&phone.register(&mut reg, t0, "")), 200);
    let stats = reg.stats();
    assert_eq!(
        (
            stats.auth_failures,
            stats.lockouts,
            stats.rejected_locked_out
        ),
        (3, 1, 1)
    );
    // After the lockout the right password works from there too.
    let later = t0 + reg.config.lockout_duration;
    assert_eq!(status(&thief.register(&mut reg, later, "")), 200);
}

#[test]
fn stale_nonce_with_right_password_gets_stale_true() {
    let (mut reg, t0) = (Registrar::new(config(), 4), Instant::now());
    let mut phone = alice();
    let challenge = phone.send_plain(&mut reg, t0, "");
    let late = t0 + reg.config.nonce_lifetime + Duration::from_secs(1);
    let response = phone.send_auth(&mut reg, late, &challenge, "MD5", "");
    assert_eq!(status(&response), 401);
    assert_eq!(
        challenge_param(&response, "MD5", "stale").as_deref(),
        Some("true")
    );
    assert_eq!(
        status(&phone.send_auth(&mut reg, late, &response, "MD5", "")),
        200
    );
    // A stale nonce with a wrong password is an ordinary failure, not stale.
    let mut thief = Phone::new("1001", "guess", "<sip:1001@10.9.9.9>", "192.0.2.66:5060");
    let later = late + reg.config.nonce_lifetime + Duration::from_secs(1);
    let response = thief.send_auth(&mut reg, later, &challenge, "MD5", "");
    assert_eq!(challenge_param(&response, "MD5", "stale"), None);
}

#[test]
fn replayed_nonce_count_is_refused() {
    let (mut reg, t0) = (Registrar::new(config(), 5), Instant::now());
    let mut phone = alice();
    let challenge = phone.send_plain(&mut reg, t0, "");
    let nonce = challenge_param(&challenge, "MD5", "nonce").unwrap();
    let auth = phone.authorization(&nonce, "MD5", 1, "abc");
    assert_eq!(
        status(&phone.send_with_authorization(&mut reg, t0, &auth, "")),
        200
    );
    // The very same credentials again (a captured packet, CSeq bumped by the attacker).
    let replay = phone.send_with_authorization(&mut reg, t0, &auth, "");
    assert_eq!(status(&replay), 401);
    assert_eq!(reg.stats().replays_rejected, 1);
    // The phone's own next request on that nonce, with nc=2, is fine (RFC 7616 §3.4).
    let next = phone.authorization(&nonce, "MD5", 2, "abd");
    assert_eq!(
        status(&phone.send_with_authorization(&mut reg, t0, &next, "")),
        200
    );
}

#[test]
fn forged_nonce_is_challenged_without_counting_a_failure() {
    let (mut reg, t0) = (Registrar::new(config(), 6), Instant::now());
    let mut phone = alice();
    let auth = phone.authorization(&"0".repeat(64), "MD5", 1, "x");
    assert_eq!(
        status(&phone.send_with_authorization(&mut reg, t0, &auth, "")),
        401
    );
    assert_eq!(reg.stats().auth_failures, 0);
}

#[test]
fn garbage_authorization_is_a_bad_request() {
    let (mut reg, t0) = (Registrar::new(config(), 7), Instant::now());
    let mut phone = alice();
    let response = phone.send_with_authorization(&mut reg, t0, "Digest username=\"1001", "");
    assert_eq!(status(&response), 400);
}

#[test]
fn unknown_user_is_not_found() {
    let (mut reg, t0) = (Registrar::new(config(), 8), Instant::now());
    let mut stranger = Phone::new("9999", "x", "<sip:9999@10.0.0.9>", "203.0.113.9:5060");
    assert_eq!(status(&stranger.send_plain(&mut reg, t0, "")), 404);
}

#[test]
fn hidden_unknown_user_is_challenged_and_never_accepted() {
    let mut cfg = config();
    cfg.reveal_unknown_users = false;
    let (mut reg, t0) = (Registrar::new(cfg, 9), Instant::now());
    let mut stranger = Phone::new("9999", "x", "<sip:9999@10.0.0.9>", "203.0.113.9:5060");
    let challenge = stranger.send_plain(&mut reg, t0, "");
    assert_eq!(status(&challenge), 401);
    assert_eq!(
        status(&stranger.send_auth(&mut reg, t0, &challenge, "MD5", "")),
        401
    );
    assert_eq!(reg.stats().auth_failures, 1);
}

#[test]
fn credentials_of_one_user_cannot_register_another_users_aor() {
    let (mut reg, t0) = (Registrar::new(config(), 10), Instant::now());
    let mut hijack = Phone::new(
        "1002",
        "s3cret",
        "<sip:1002@10.0.0.66>",
        "203.0.113.66:5060",
    );
    hijack.auth_user = "1001".into();
    let response = hijack.register(&mut reg, t0, "");
    assert_eq!(status(&response), 403);
    assert!(!reg.is_available("1002"));
}

#[test]
fn contact_expires_parameter_wins_over_expires_header() {
    let (mut reg, t0) = (Registrar::new(config(), 11), Instant::now());
    let mut phone = alice();
    phone.contact = "<sip:1001@10.0.0.2:5060>;expires=120, <sip:1001@10.0.0.2:5070>".into();
    let ok = phone.register(&mut reg, t0, "Expires: 900\r\n");
    assert_eq!(
        contacts(&ok),
        vec![
            "<sip:1001@10.0.0.2:5060>;expires=120",
            "<sip:1001@10.0.0.2:5070>;expires=900"
        ]
    );
}

#[test]
fn no_expiry_anywhere_means_the_default_and_too_long_is_clamped() {
    let (mut reg, t0) = (Registrar::new(config(), 12), Instant::now());
    let mut phone = alice();
    let ok = phone.register(&mut reg, t0, "");
    assert_eq!(contacts(&ok), vec!["<sip:1001@10.0.0.2:5060>;expires=3600"]);
    let ok = phone.register(&mut reg, t0, "Expires: 86400\r\n");
    assert_eq!(contacts(&ok), vec!["<sip:1001@10.0.0.2:5060>;expires=3600"]);
}

#[test]
fn too_brief_expiry_gets_423_with_min_expires() {
    let (mut reg, t0) = (Registrar::new(config(), 13), Instant::now());
    let mut phone = alice();
    let response = phone.register(&mut reg, t0, "Expires: 30\r\n");
    assert_eq!(status(&response), 423);
    assert_eq!(response.min_expires_header().unwrap().value(), "60");
    assert!(!reg.is_available("1001"));
}

#[test]
fn expires_zero_unregisters_and_the_agent_becomes_unavailable() {
    let (mut reg, t0) = (Registrar::new(config(), 14), Instant::now());
    let mut phone = alice();
    phone.register(&mut reg, t0, "");
    drain_events(&mut reg);
    let ok = phone.register(&mut reg, t0 + Duration::from_secs(5), "Expires: 0\r\n");
    assert_eq!(status(&ok), 200);
    assert!(contacts(&ok).is_empty());
    let events = drain_events(&mut reg);
    assert!(matches!(
        &events[0],
        RegistrarEvent::BindingRemoved {
            reason: RemovalReason::Unregistered,
            ..
        }
    ));
    assert_eq!(
        events[1],
        RegistrarEvent::AgentUnavailable {
            user: "1001".into()
        }
    );
}

#[test]
fn contact_expires_zero_removes_only_that_contact() {
    let (mut reg, t0) = (Registrar::new(config(), 15), Instant::now());
    let mut phone = alice();
    phone.contact = "<sip:1001@10.0.0.2:5060>, <sip:1001@10.0.0.3:5060>".into();
    phone.register(&mut reg, t0, "");
    phone.contact = "<sip:1001@10.0.0.3:5060>;expires=0".into();
    let ok = phone.register(&mut reg, t0, "Expires: 600\r\n");
    assert_eq!(contacts(&ok), vec!["<sip:1001@10.0.0.2:5060>;expires=3600"]);
    assert!(reg.is_available("1001"));
}

#[test]
fn wildcard_with_expires_zero_removes_every_binding() {
    let (mut reg, t0) = (Registrar::new(config(), 16), Instant::now());
    let mut phone = alice();
    phone.contact = "<sip:1001@10.0.0.2:5060>, <sip:1001@10.0.0.3:5060>".into();
    phone.register(&mut reg, t0, "");
    assert_eq!(reg.bindings("1001").count(), 2);
    phone.contact = "*".into();
    assert_eq!(
        status(&phone.register(&mut reg, t0, "")),
        400,
        "wildcard needs Expires: 0"
    );
    assert_eq!(reg.bindings("1001").count(), 2);
    let ok = phone.register(&mut reg, t0, "Expires: 0\r\n");
    assert_eq!(status(&ok), 200);
    assert_eq!(reg.bindings("1001").count(), 0);
    assert!(
        drain_events(&mut reg).contains(&RegistrarEvent::AgentUnavailable {
            user: "1001".into()
        })
    );
}

#[test]
fn several_contacts_up_to_the_limit_then_403() {
    let mut cfg = config();
    cfg.max_contacts_per_aor = 2;
    let (mut reg, t0) = (Registrar::new(cfg, 17), Instant::now());
    let mut desk = alice();
    let mut softphone = Phone::new(
        "1001",
        "s3cret",
        "<sip:1001@10.0.0.50:5080>",
        "203.0.113.50:5080",
    );
    let mut mobile = Phone::new(
        "1001",
        "s3cret",
        "<sip:1001@10.0.0.60:5090>",
        "203.0.113.60:5090",
    );
    assert_eq!(status(&desk.register(&mut reg, t0, "")), 200);
    let ok = softphone.register(&mut reg, t0, "");
    assert_eq!(
        contacts(&ok).len(),
        2,
        "the 200 lists all bindings of the AOR"
    );
    assert_eq!(status(&mobile.register(&mut reg, t0, "")), 403);
    assert_eq!(reg.bindings("1001").count(), 2);
    // A refresh of an existing contact is not an extra one.
    assert_eq!(status(&desk.register(&mut reg, t0, "")), 200);
}

#[test]
fn replace_oldest_policy_displaces_the_oldest_binding() {
    let mut cfg = config();
    cfg.max_contacts_per_aor = 1;
    cfg.contact_overflow = ContactOverflow::ReplaceOldest;
    let (mut reg, t0) = (Registrar::new(cfg, 18), Instant::now());
    let mut before_reboot = alice();
    before_reboot.register(&mut reg, t0, "");
    let mut after_reboot = Phone::new(
        "1001",
        "s3cret",
        "<sip:1001@10.0.0.2:5062>",
        "203.0.113.7:40002",
    );
    assert_eq!(
        status(&after_reboot.register(&mut reg, t0 + Duration::from_secs(1), "")),
        200
    );
    let contacts: Vec<_> = reg
        .bindings("1001")
        .map(|b| b.contact.to_string())
        .collect();
    assert_eq!(contacts, vec!["sip:1001@10.0.0.2:5062"]);
    let events = drain_events(&mut reg);
    assert!(events.iter().any(|e| matches!(
        e,
        RegistrarEvent::BindingRemoved {
            reason: RemovalReason::Replaced,
            ..
        }
    )));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, RegistrarEvent::AgentUnavailable { .. })),
        "no flap"
    );
}

#[test]
fn binding_expiry_makes_the_agent_unavailable() {
    let (mut reg, t0) = (Registrar::new(config(), 19), Instant::now());
    let mut phone = alice();
    phone.register(&mut reg, t0, "Expires: 120\r\n");
    drain_events(&mut reg);
    assert_eq!(reg.poll_timeout(), Some(t0 + Duration::from_secs(120)));
    reg.handle_timeout(t0 + Duration::from_secs(119));
    assert!(reg.is_available("1001"));
    reg.handle_timeout(t0 + Duration::from_secs(120));
    let events = drain_events(&mut reg);
    assert!(matches!(
        &events[0],
        RegistrarEvent::BindingRemoved {
            reason: RemovalReason::Expired,
            ..
        }
    ));
    assert_eq!(
        events[1],
        RegistrarEvent::AgentUnavailable {
            user: "1001".into()
        }
    );
    assert_eq!(reg.poll_timeout(), None);
    assert_eq!(reg.stats().bindings_expired, 1);
}

#[test]
fn refresh_moves_expiry_and_reports_refreshed_with_remaining_time() {
    let (mut reg, t0) = (Registrar::new(config(), 20), Instant::now());
    let mut phone = alice();
    phone.register(&mut reg, t0, "Expires: 120\r\n");
    drain_events(&mut reg);
    phone.peer = peer("203.0.113.7:40999"); // the NAT picked a new port
    let ok = phone.register(&mut reg, t0 + Duration::from_secs(100), "Expires: 120\r\n");
    assert_eq!(contacts(&ok), vec!["<sip:1001@10.0.0.2:5060>;expires=120"]);
    let events = drain_events(&mut reg);
    assert!(matches!(&events[..], [RegistrarEvent::BindingRefreshed(b)] if b.peer == phone.peer));
    reg.handle_timeout(t0 + Duration::from_secs(200));
    assert!(reg.is_available("1001"));
    // A query (no Contact) lists the binding with what is left of it.
    phone.contact = String::new();
    let query = phone.register(&mut reg, t0 + Duration::from_secs(210), "");
    assert_eq!(
        contacts(&query),
        vec!["<sip:1001@10.0.0.2:5060>;expires=10"]
    );
}

#[test]
fn same_call_id_with_lower_cseq_fails_and_changes_nothing() {
    let (mut reg, t0) = (Registrar::new(config(), 21), Instant::now());
    let mut phone = alice();
    phone.register(&mut reg, t0, "Expires: 600\r\n");
    // An old REGISTER delivered late: same Call-ID, lower CSeq, wants to unregister.
    let challenge = phone.send_plain(&mut reg, t0, "");
    phone.cseq = 0;
    let late = phone.send_auth(&mut reg, t0, &challenge, "MD5", "Expires: 0\r\n");
    assert_eq!(status(&late), 500);
    assert!(reg.is_available("1001"));
    // Another Call-ID may change the binding whatever its CSeq (§10.3 step 7).
    let mut other = alice();
    other.call_id = "another-call-id".into();
    assert_eq!(status(&other.register(&mut reg, t0, "Expires: 0\r\n")), 200);
    assert!(!reg.is_available("1001"));
}

#[test]
fn keepalive_failures_make_the_binding_unreachable_and_the_agent_unavailable() {
    let mut cfg = config();
    cfg.keepalive_interval = Duration::from_secs(30);
    cfg.keepalive_failures = 2;
    let (mut reg, t0) = (Registrar::new(cfg, 22), Instant::now());
    let mut phone = alice();
    phone.register(&mut reg, t0, "");
    drain_events(&mut reg);
    assert_eq!(reg.poll_timeout(), Some(t0 + Duration::from_secs(30)));

    let t1 = t0 + Duration::from_secs(30);
    reg.handle_timeout(t1);
    let probes = drain_probes(&mut reg);
    assert_eq!(probes.len(), 1);
    let probe = &probes[0];
    assert_eq!(
        probe.peer, phone.peer,
        "probes go where the REGISTER came from"
    );
    assert_eq!(probe.request.method, rsip::Method::Options);
    assert_eq!(probe.request.uri.to_string(), "sip:1001@10.0.0.2:5060");
    assert!(
        probe
            .request
            .via_header()
            .unwrap()
            .value()
            .contains("branch=z9hG4bK")
    );
    let printed = probe.request.to_string();
    assert!(
        Request::try_from(printed.as_bytes()).is_ok(),
        "the OPTIONS prints and parses"
    );
    reg.handle_keepalive_result(t1, probe.binding, true);

    let t2 = t1 + Duration::from_secs(30);
    reg.handle_timeout(t2);
    let probe = drain_probes(&mut reg).remove(0);
    reg.handle_keepalive_result(t2, probe.binding, false);
    assert!(reg.is_available("1001"), "one failure is not enough");

    let t3 = t2 + Duration::from_secs(30);
    reg.handle_timeout(t3);
    let probe = drain_probes(&mut reg).remove(0);
    reg.handle_keepalive_result(t3, probe.binding, false);
    let events = drain_events(&mut reg);
    assert!(matches!(
        &events[0],
        RegistrarEvent::BindingRemoved {
            reason: RemovalReason::Unreachable,
            ..
        }
    ));
    assert_eq!(
        events[1],
        RegistrarEvent::AgentUnavailable {
            user: "1001".into()
        }
    );
    assert_eq!(reg.stats().bindings_unreachable, 1);
}

#[test]
fn lost_keepalive_results_count_as_failures() {
    let mut cfg = config();
    cfg.keepalive_interval = Duration::from_secs(30);
    cfg.keepalive_failures = 1;
    let (mut reg, t0) = (Registrar::new(cfg, 23), Instant::now());
    alice().register(&mut reg, t0, "");
    reg.handle_timeout(t0 + Duration::from_secs(30));
    assert_eq!(drain_probes(&mut reg).len(), 1);
    // The shell never reports back; a whole interval later the probe counts as failed.
    reg.handle_timeout(t0 + Duration::from_secs(60));
    assert!(!reg.is_available("1001"));
}

#[test]
fn keepalive_interval_zero_sends_nothing() {
    let (mut reg, t0) = (Registrar::new(config(), 24), Instant::now());
    alice().register(&mut reg, t0, "Expires: 3600\r\n");
    reg.handle_timeout(t0 + Duration::from_secs(600));
    assert!(drain_probes(&mut reg).is_empty());
    assert_eq!(reg.poll_timeout(), Some(t0 + Duration::from_secs(3600)));
}

#[test]
fn removing_a_user_drops_its_bindings() {
    let (mut reg, t0) = (Registrar::new(config(), 25), Instant::now());
    alice().register(&mut reg, t0, "");
    drain_events(&mut reg);
    reg.remove_user("1001");
    assert!(!reg.is_available("1001"));
    assert_eq!(reg.binding_count(), 0);
    assert!(
        drain_events(&mut reg).contains(&RegistrarEvent::AgentUnavailable {
            user: "1001".into()
        })
    );
}

#[test]
fn registrations_are_deterministic_for_a_seed() {
    let run = |seed| {
        let (mut reg, t0) = (Registrar::new(config(), seed), Instant::now());
        let challenge = alice().send_plain(&mut reg, t0, "");
        challenge_param(&challenge, "MD5", "opaque").unwrap()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

#[test]
fn non_register_methods_are_refused_with_405() {
    let (mut reg, t0) = (Registrar::new(config(), 26), Instant::now());
    let raw = "OPTIONS sip:pbx.example SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK1\r\n\
               From: <sip:1001@pbx.example>;tag=a\r\nTo: <sip:1001@pbx.example>\r\nCall-ID: x\r\n\
               CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    let request = Request::try_from(raw.as_bytes()).unwrap();
    assert_eq!(
        status(&reg.handle_register(t0, &request, peer("203.0.113.1:5060"))),
        405
    );
}
