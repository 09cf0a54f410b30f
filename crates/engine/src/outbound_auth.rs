//! Answering a trunk's digest challenge (RFC 3261 §22.2, RFC 7616 §3.4 client side): parse a
//! `WWW-Authenticate` / `Proxy-Authenticate` value and build the `Authorization` value for one
//! request. The hashing is the sip crate's [`compute_response`], the one the server side checks
//! with.

use switchboard_sip::digest::{Algorithm, DigestCredentials, compute_response};

/// Longest challenge read; real ones are a few hundred bytes.
const MAX_CHALLENGE: usize = 4096;

/// A parsed digest challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub(crate) realm: String,
    pub(crate) nonce: String,
    pub(crate) opaque: Option<String>,
    pub(crate) algorithm: Algorithm,
    /// `auth` was offered (RFC 7616 §3.3 `qop-options`); `auth-int` alone is not supported.
    pub(crate) qop_auth: bool,
}

impl Challenge {
    /// Reads `Digest realm="…", nonce="…", qop="auth,auth-int", algorithm=MD5, opaque="…"`.
    /// `None` for another scheme, a missing realm or nonce, an unknown algorithm, or a qop
    /// list without `auth`.
    pub(crate) fn parse(value: &str) -> Option<Challenge> {
        if value.len() > MAX_CHALLENGE {
            return None;
        }
        let value = value.trim_start();
        let (scheme, rest) = value.split_once(|c: char| c.is_ascii_whitespace())?;
        if !scheme.eq_ignore_ascii_case("digest") {
            return None;
        }
        let (mut realm, mut nonce, mut opaque, mut algorithm, mut qop) =
            (None, None, None, None, None);
        for (name, value) in params(rest)? {
            match name.to_ascii_lowercase().as_str() {
                "realm" => realm = Some(value),
                "nonce" => nonce = Some(value),
                "opaque" => opaque = Some(value),
                "algorithm" => algorithm = Some(value),
                "qop" => qop = Some(value),
                _ => {} // stale, domain, charset, userhash: nothing to do for one request
            }
        }
        let algorithm = match algorithm {
            None => Algorithm::Md5,
            Some(token) => Algorithm::from_token(&token)?,
        };
        let qop_auth = match qop {
            None => false,
            Some(list) => {
                if !list
                    .split(',')
                    .any(|q| q.trim().eq_ignore_ascii_case("auth"))
                {
                    return None;
                }
                true
            }
        };
        Some(Challenge {
            realm: realm?,
            nonce: nonce?,
            opaque,
            algorithm,
            qop_auth,
        })
    }

    /// The `Authorization` value for `method` on `uri` (nonce count 1: a fresh nonce per
    /// challenge).
    pub(crate) fn authorization(
        &self,
        username: &str,
        password: &str,
        method: &str,
        uri: &str,
        cnonce: &str,
    ) -> String {
        let credentials = DigestCredentials {
            username: username.to_owned(),
            realm: self.realm.clone(),
            nonce: self.nonce.clone(),
            uri: uri.to_owned(),
            response: String::new(),
            algorithm: self.algorithm,
            qop: self.qop_auth.then(|| "auth".to_owned()),
            cnonce: self.qop_auth.then(|| cnonce.to_owned()),
            nc: self.qop_auth.then_some(1),
            nc_text: self.qop_auth.then(|| "00000001".to_owned()),
            opaque: self.opaque.clone(),
        };
        let response = compute_response(&credentials, password, method);
        let mut out = format!(
            "Digest username={}, realm={}, nonce={}, uri={}, response=\"{response}\", algorithm={}",
            quote(username),
            quote(&self.realm),
            quote(&self.nonce),
            quote(uri),
            self.algorithm.token()
        );
        if self.qop_auth {
            out.push_str(&format!(
                ", qop=auth, nc=00000001, cnonce={}",
                quote(cnonce)
            ));
        }
        if let Some(opaque) = &self.opaque {
            out.push_str(&format!(", opaque={}", quote(opaque)));
        }
        out
    }
}

/// `name=value` pairs separated by commas; values are tokens or quoted strings with `\`
/// escapes. `None` on an unterminated quote.
fn params(text: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars
            .peek()
            .is_some_and(|c| c.is_ascii_whitespace() || *c == ',')
        {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(out);
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' {
                break;
            }
            name.push(c);
            chars.next();
        }
        if chars.next() != Some('=') {
            continue; // a bare token: ignore it
        }
        while chars.peek().is_some_and(char::is_ascii_whitespace) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '\\' => value.push(chars.next()?),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
            value = value.trim().to_owned();
        }
        out.push((name.trim().to_owned(), value));
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
    use switchboard_sip::digest::parse_credentials;

    #[test]
    fn answers_an_md5_qop_auth_challenge_the_server_side_verifies() {
        let c = Challenge::parse(
            r#"Digest realm="carrier", nonce="abc\"def", qop="auth,auth-int", opaque="xyz""#,
        )
        .unwrap();
        assert_eq!(c.nonce, "abc\"def");
        assert!(c.qop_auth);
        let value = c.authorization("sb", "pw", "INVITE", "sip:555@192.0.2.1", "cn0");
        let parsed = parse_credentials(&value).unwrap();
        assert_eq!(parsed.username, "sb");
        assert_eq!(parsed.opaque.as_deref(), Some("xyz"));
        assert_eq!(parsed.response, compute_response(&parsed, "pw", "INVITE"));
        assert_ne!(
            parsed.response,
            compute_response(&parsed, "other", "INVITE")
        );
    }

    #[test]
    fn rfc2069_style_challenge_without_qop() {
        let c = Challenge::parse("Digest realm=r, nonce=n, algorithm=SHA-256").unwrap();
        assert!(!c.qop_auth);
        let parsed =
            parse_credentials(&c.authorization("u", "p", "INVITE", "sip:x@h", "c")).unwrap();
        assert_eq!(parsed.qop, None);
        assert_eq!(parsed.algorithm, Algorithm::Sha256);
        assert_eq!(parsed.response, compute_response(&parsed, "p", "INVITE"));
    }

    #[test]
    fn refuses_other_schemes_missing_nonce_and_broken_quotes() {
        assert_eq!(Challenge::parse("Basic realm=\"x\""), None);
        assert_eq!(Challenge::parse("Digest realm=\"x\""), None);
        assert_eq!(Challenge::parse("Digest realm=\"x, nonce=\"y\""), None);
        assert_eq!(
            Challenge::parse("Digest realm=x, nonce=y, qop=auth-int"),
            None
        );
        assert_eq!(
            Challenge::parse("Digest realm=x, nonce=y, algorithm=SHA-512"),
            None
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_any_challenge(text in ".{0,300}") {
            let _ = Challenge::parse(&text);
        }
    }
}
