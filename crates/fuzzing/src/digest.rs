//! Digest target: an `Authorization` header value through the credential parser, the
//! authenticator and the registrar (RFC 3261 §22, RFC 7616).

use std::net::SocketAddr;
use std::time::Instant;

use rsip::SipMessage;
use switchboard_sip::digest::{DigestAuthenticator, Verdict, compute_response, parse_credentials};
use switchboard_sip::message::{Limits, parse};
use switchboard_sip::registrar::{Registrar, RegistrarConfig};
use switchboard_sip::{Peer, Transport};

const REALM: &str = "switchboard";
const PASSWORD: &str = "s3cret-fuzz";

/// The input as an `Authorization` value. Credentials that parse never authenticate against a
/// nonce the server did not issue; given our nonce, realm and opaque and the right response they
/// authenticate exactly once (a second use is a replay). The same value on a REGISTER through
/// the registrar never gets a 200, however often it is sent.
pub fn digest_authorization(data: &[u8]) {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let now = Instant::now();
    if let Ok(credentials) = parse_credentials(value) {
        let mut auth =
            DigestAuthenticator::new(REALM, &[], std::time::Duration::from_secs(60), 64, 1);
        let verdict = auth.verify(now, "REGISTER", &credentials, Some(PASSWORD));
        assert_ne!(
            verdict,
            Verdict::Authenticated,
            "a forged nonce was accepted"
        );

        let challenge = auth.challenge(now, false);
        let first = challenge.first().map(String::as_str).unwrap_or_default();
        let mut forged = credentials.clone();
        forged.realm = REALM.to_owned();
        forged.nonce = quoted(first, "nonce=\"").unwrap_or_default().to_owned();
        if forged.opaque.is_some() {
            forged.opaque = quoted(first, "opaque=\"").map(str::to_owned);
        }
        forged.response = compute_response(&forged, PASSWORD, "REGISTER");
        let algorithm = format!("algorithm={},", forged.algorithm);
        let offered = challenge.iter().any(|c| c.contains(&algorithm));
        let expected = if !offered || forged.qop.as_deref().is_some_and(|q| q != "auth") {
            Verdict::NotOffered
        } else {
            Verdict::Authenticated
        };
        assert_eq!(
            auth.verify(now, "REGISTER", &forged, Some(PASSWORD)),
            expected
        );
        if expected == Verdict::Authenticated {
            assert_eq!(
                auth.verify(now, "REGISTER", &forged, Some(PASSWORD)),
                Verdict::Replayed
            );
            assert_eq!(
                auth.verify(now, "REGISTER", &forged, Some("wrong")),
                Verdict::WrongPassword
            );
        }
    }
    if value.contains(['\r', '\n']) {
        return;
    }
    register_with(now, value);
}

fn quoted<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let start = text.find(prefix)? + prefix.len();
    let len = text.get(start..)?.find('"')?;
    text.get(start..start + len)
}

fn register_with(now: Instant, authorization: &str) {
    let text = format!(
        "REGISTER sip:switchboard SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bK-fuzz\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@switchboard>;tag=f1\r\n\
         To: <sip:alice@switchboard>\r\n\
         Call-ID: fuzz-register\r\n\
         CSeq: 1 REGISTER\r\n\
         Contact: <sip:alice@192.0.2.20:5060>\r\n\
         Authorization: {authorization}\r\n\
         Content-Length: 0\r\n\r\n"
    );
    let Ok(SipMessage::Request(request)) = parse(text.as_bytes(), &Limits::default()) else {
        return;
    };
    let mut config = RegistrarConfig {
        realm: REALM.to_owned(),
        lockout_threshold: 2,
        ..RegistrarConfig::default()
    };
    config.users.insert("alice".to_owned(), PASSWORD.to_owned());
    let mut registrar = Registrar::new(config, 3);
    let peer = Peer {
        transport: Transport::Udp,
        remote: SocketAddr::from(([192, 0, 2, 20], 5060)),
        local: SocketAddr::from(([192, 0, 2, 1], 5060)),
    };
    for _ in 0..4 {
        let response = registrar.handle_register(now, &request, peer);
        assert_ne!(
            response.status_code.code(),
            200,
            "a REGISTER with credentials for no nonce we issued was accepted"
        );
    }
    assert_eq!(registrar.binding_count(), 0);
}
