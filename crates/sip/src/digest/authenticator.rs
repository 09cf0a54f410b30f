//! Challenging and verifying (RFC 3261 §22.4, RFC 7616 §3.3–§3.4).

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use sha2::{Digest as _, Sha256};

use super::nonce::{NonceReuse, constant_time_eq};
use super::{Algorithm, DigestCredentials, NonceCheck, NonceService};

/// The outcome of checking credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The response is right, the nonce fresh and its count new.
    Authenticated,
    /// The response is right but the nonce expired, or fell out of the replay table:
    /// re-challenge with `stale=true` (RFC 7616 §3.3) so the client retries without the user.
    Stale,
    /// The response does not match the password (or the user has none). A guess: count it.
    WrongPassword,
    /// The nonce (or opaque) was not issued by this server: re-challenge, not a password guess.
    BadNonce,
    /// Credentials for another realm: ignore them and challenge for ours.
    WrongRealm,
    /// An algorithm or qop this server did not offer.
    NotOffered,
    /// A correct response whose nonce count was already used: a replay (RFC 7616 §3.4.5).
    Replayed,
}

impl Verdict {
    /// Whether this verdict is evidence of a password guess, for brute-force protection.
    pub fn is_password_failure(self) -> bool {
        matches!(self, Verdict::WrongPassword)
    }
}

/// Issues digest challenges and verifies credentials for one realm.
///
/// Randomness (the nonce key, the opaque value and nonce salts) comes from a seeded RNG, so runs
/// are reproducible in tests; give it a seed from the OS in production.
#[derive(Debug)]
pub struct DigestAuthenticator {
    realm: String,
    algorithms: Vec<Algorithm>,
    nonces: NonceService,
    opaque: String,
    rng: StdRng,
}

impl DigestAuthenticator {
    /// An authenticator for `realm` offering `algorithms` (preferred first; empty means
    /// `[SHA-256, MD5]`), with nonces valid for `nonce_lifetime` and at most `max_tracked_nonces`
    /// used nonces remembered for replay protection.
    pub fn new(
        realm: &str,
        algorithms: &[Algorithm],
        nonce_lifetime: Duration,
        max_tracked_nonces: usize,
        seed: u64,
    ) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        let opaque = hex::encode(
            Sha256::digest([&key[..], b"opaque"].concat())
                .get(..16)
                .unwrap_or_default(),
        );
        let algorithms = if algorithms.is_empty() {
            vec![Algorithm::Sha256, Algorithm::Md5]
        } else {
            algorithms.to_vec()
        };
        DigestAuthenticator {
            realm: realm.to_string(),
            algorithms,
            nonces: NonceService::new(key, realm, nonce_lifetime, max_tracked_nonces),
            opaque,
            rng,
        }
    }

    /// The realm challenged for.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// `WWW-Authenticate` values for a 401, one per offered algorithm, preferred first
    /// (RFC 8760 §2.4). All share one nonce. `stale` marks a re-challenge after a stale nonce.
    pub fn challenge(&mut self, now: Instant, stale: bool) -> Vec<String> {
        let salt = self.rng.random::<u64>();
        let nonce = self.nonces.issue(now, salt);
        let realm = quote(&self.realm);
        self.algorithms
            .iter()
            .map(|algorithm| {
                let mut value = format!(
                    "Digest realm={realm}, nonce=\"{nonce}\", opaque=\"{}\", algorithm={algorithm}, qop=\"auth\"",
                    self.opaque
                );
                if stale {
                    value.push_str(", stale=true");
                }
                value
            })
            .collect()
    }

    /// Verifies `credentials` sent with a request whose method is `method`; `password` is the
    /// user's (`None` for an unknown user, which fails exactly like a wrong password so that
    /// responses do not reveal which users exist).
    pub fn verify(
        &mut self,
        now: Instant,
        method: &str,
        credentials: &DigestCredentials,
        password: Option<&str>,
    ) -> Verdict {
        if credentials.realm != self.realm {
            return Verdict::WrongRealm;
        }
        if !self.algorithms.contains(&credentials.algorithm) {
            return Verdict::NotOffered;
        }
        if credentials.qop.as_deref().is_some_and(|q| q != "auth") {
            return Verdict::NotOffered;
        }
        if credentials
            .opaque
            .as_ref()
            .is_some_and(|o| *o != self.opaque)
        {
            return Verdict::BadNonce;
        }
        let freshness = self.nonces.check(now, &credentials.nonce);
        if freshness == NonceCheck::Invalid {
            return Verdict::BadNonce;
        }
        let Some(password) = password else {
            return Verdict::WrongPassword;
        };
        let expected = compute_response(credentials, password, method);
        if !constant_time_eq(expected.as_bytes(), credentials.response.as_bytes()) {
            return Verdict::WrongPassword;
        }
        if freshness == NonceCheck::Stale {
            return Verdict::Stale;
        }
        // Without qop there is no nc: such a nonce may be used once (RFC 2069 clients re-register
        // through a fresh challenge; the alternative is an unlimited replay window).
        let nc = credentials.nc.unwrap_or(1);
        match self.nonces.record_use(now, &credentials.nonce, nc) {
            Ok(()) => Verdict::Authenticated,
            Err(NonceReuse::Replayed) => Verdict::Replayed,
            Err(NonceReuse::Forgotten) => Verdict::Stale,
        }
    }
}

/// The request digest a client holding `password` would send (RFC 7616 §3.4.1–§3.4.3, which for
/// MD5 and `qop=auth` is RFC 2617 §3.2.2, and without qop RFC 2069):
///
/// ```text
/// HA1 = H(username:realm:password)              (-sess: H(H(username:realm:password):nonce:cnonce))
/// HA2 = H(method:digest-uri)
/// response = H(HA1:nonce:nc:cnonce:qop:HA2)     (no qop: H(HA1:nonce:HA2))
/// ```
pub fn compute_response(credentials: &DigestCredentials, password: &str, method: &str) -> String {
    let h = |data: String| credentials.algorithm.hash_hex(data.as_bytes());
    let c = credentials;
    let cnonce = c.cnonce.as_deref().unwrap_or("");
    let mut ha1 = h(format!("{}:{}:{}", c.username, c.realm, password));
    if c.algorithm.is_session() {
        ha1 = h(format!("{ha1}:{}:{cnonce}", c.nonce));
    }
    let ha2 = h(format!("{method}:{}", c.uri));
    match &c.qop {
        Some(qop) => h(format!(
            "{ha1}:{}:{}:{cnonce}:{qop}:{ha2}",
            c.nonce,
            c.nc_text.as_deref().unwrap_or("")
        )),
        None => h(format!("{ha1}:{}:{ha2}", c.nonce)),
    }
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::parse_credentials;
    use md5::Md5;

    fn md5_hex(s: &str) -> String {
        hex::encode(Md5::digest(s.as_bytes()))
    }

    fn sha256_hex(s: &str) -> String {
        hex::encode(Sha256::digest(s.as_bytes()))
    }

    #[test]
    fn rfc2617_section_3_5_example_response() {
        let creds = parse_credentials(
            r#"Digest username="Mufasa", realm="testrealm@host.com",
               nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth,
               nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1""#,
        )
        .unwrap();
        assert_eq!(
            compute_response(&creds, "Circle Of Life", "GET"),
            "6629fae49393a05397450978507c4ef1"
        );
    }

    fn rfc7616_credentials(algorithm: &str) -> DigestCredentials {
        parse_credentials(&format!(
            r#"Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html",
               algorithm={algorithm}, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001,
               cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="x",
               opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#
        ))
        .unwrap()
    }

    #[test]
    fn rfc7616_section_3_9_1_md5_and_sha256_examples() {
        assert_eq!(
            compute_response(&rfc7616_credentials("MD5"), "Circle of Life", "GET"),
            "8ca523f5e9506fed4657c9700eebdbec"
        );
        assert_eq!(
            compute_response(&rfc7616_credentials("SHA-256"), "Circle of Life", "GET"),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn session_variant_hashes_nonce_and_cnonce_into_ha1() {
        let creds = rfc7616_credentials("SHA-256-sess");
        let ha1 = sha256_hex("Mufasa:http-auth@example.org:Circle of Life");
        let ha1 = sha256_hex(&format!(
            "{ha1}:{}:{}",
            creds.nonce,
            creds.cnonce.clone().unwrap()
        ));
        let ha2 = sha256_hex("GET:/dir/index.html");
        let expected = sha256_hex(&format!(
            "{ha1}:{}:00000001:{}:auth:{ha2}",
            creds.nonce,
            creds.cnonce.clone().unwrap()
        ));
        assert_eq!(compute_response(&creds, "Circle of Life", "GET"), expected);
    }

    #[test]
    fn response_without_qop_follows_rfc2069() {
        let creds = parse_credentials(
            r#"Digest username="u", realm="r", nonce="n", uri="sip:r", response="x""#,
        )
        .unwrap();
        let expected = md5_hex(&format!(
            "{}:n:{}",
            md5_hex("u:r:pw"),
            md5_hex("REGISTER:sip:r")
        ));
        assert_eq!(compute_response(&creds, "pw", "REGISTER"), expected);
    }

    #[test]
    fn challenges_offer_sha256_first_then_md5_with_one_nonce() {
        let mut auth = DigestAuthenticator::new("sb", &[], Duration::from_secs(30), 16, 1);
        let values = auth.challenge(Instant::now(), false);
        assert_eq!(values.len(), 2);
        assert!(values[0].contains("algorithm=SHA-256"));
        assert!(values[1].contains("algorithm=MD5"));
        assert!(
            values
                .iter()
                .all(|v| v.contains("qop=\"auth\"") && !v.contains("stale"))
        );
        assert!(auth.challenge(Instant::now(), true)[0].ends_with(", stale=true"));
    }

    #[test]
    fn realm_is_quoted_with_escapes() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
