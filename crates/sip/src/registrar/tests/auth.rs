//! Authentication and authorisation of REGISTER: digest flows, lockout, replays, 403/404.

use super::*;

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

#[test]
fn client_without_qop_authenticates_once_per_nonce() {
    let (mut reg, t0) = (Registrar::new(config(), 27), Instant::now());
    let mut phone = alice();
    let challenge = phone.send_plain(&mut reg, t0, "");
    let nonce = challenge_param(&challenge, "MD5", "nonce").unwrap();
    // RFC 2069 form, as old phones send it: response = MD5(HA1:nonce:HA2), no qop/nc/cnonce.
    let md5 = |s: String| hex::encode(Md5::digest(s.as_bytes()));
    let ha1 = md5(format!("1001:{REALM}:s3cret"));
    let ha2 = md5(format!("REGISTER:sip:{REALM}"));
    let response = md5(format!("{ha1}:{nonce}:{ha2}"));
    let auth = format!(
        "Digest username=\"1001\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"sip:{REALM}\", response=\"{response}\""
    );
    assert_eq!(
        status(&phone.send_with_authorization(&mut reg, t0, &auth, "")),
        200
    );
    // Without a nonce count the nonce cannot be told apart from a replay: it is good once.
    assert_eq!(
        status(&phone.send_with_authorization(&mut reg, t0, &auth, "")),
        401
    );
}

#[test]
fn algorithm_not_offered_is_challenged_not_counted() {
    let mut cfg = config();
    cfg.algorithms = vec![crate::digest::Algorithm::Sha256];
    let (mut reg, t0) = (Registrar::new(cfg, 28), Instant::now());
    let mut phone = alice();
    let challenge = phone.send_plain(&mut reg, t0, "");
    let nonce = challenge_param(&challenge, "SHA-256", "nonce").unwrap();
    let auth = phone.authorization(&nonce, "MD5", 1, "c");
    assert_eq!(
        status(&phone.send_with_authorization(&mut reg, t0, &auth, "")),
        401
    );
    assert_eq!(reg.stats().auth_failures, 0);
}
