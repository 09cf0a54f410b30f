//! Reading the `Authorization` header value (RFC 3261 §25.1 `credentials`, RFC 7616 §3.4).
//!
//! Written by hand rather than with rsip's tokenizer because the value comes straight from the
//! network: quoted strings may hold commas and backslash escapes, parameter names are
//! case-insensitive, unknown parameters must be ignored, and nothing may panic.

use super::{Algorithm, DigestError};

/// Digest credentials from an `Authorization` (or `Proxy-Authorization`) header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestCredentials {
    /// `username`.
    pub username: String,
    /// `realm`.
    pub realm: String,
    /// `nonce`, as the server issued it.
    pub nonce: String,
    /// `uri`: the digest-uri the response was computed over.
    pub uri: String,
    /// `response`: the request digest, hex (lowercased here; RFC 7616 asks for lowercase hex).
    pub response: String,
    /// `algorithm`; absent means MD5 (RFC 7616 §3.4).
    pub algorithm: Algorithm,
    /// `qop` as sent, lowercased (`auth`); `None` for an RFC 2069-style response.
    pub qop: Option<String>,
    /// `cnonce`; present whenever `qop` is.
    pub cnonce: Option<String>,
    /// `nc`, the nonce count; present whenever `qop` is.
    pub nc: Option<u32>,
    /// `nc` exactly as sent (it enters the hash as text).
    pub nc_text: Option<String>,
    /// `opaque`, to be echoed unchanged.
    pub opaque: Option<String>,
}

/// Longest header value accepted; real credentials are a few hundred bytes.
const MAX_VALUE_LEN: usize = 8 * 1024;

/// Parses an `Authorization` header value such as
/// `Digest username="alice", realm="sb", nonce="…", uri="sip:sb", response="…"`.
pub fn parse_credentials(value: &str) -> Result<DigestCredentials, DigestError> {
    if value.len() > MAX_VALUE_LEN {
        return Err(DigestError::Malformed(MAX_VALUE_LEN));
    }
    let value = value.trim_start();
    let scheme_end = value
        .find(|c: char| c.is_ascii_whitespace())
        .unwrap_or(value.len());
    let (scheme, rest) = value.split_at(scheme_end);
    if !scheme.eq_ignore_ascii_case("digest") {
        return Err(DigestError::NotDigest);
    }
    let offset = scheme_end;

    let mut fields = Fields::default();
    for param in Params::new(rest) {
        let (name, value) = param.map_err(|e| match e {
            ParamError::Malformed(at) => DigestError::Malformed(offset + at),
            ParamError::Unterminated => DigestError::UnterminatedQuote,
        })?;
        let slot = match name.to_ascii_lowercase().as_str() {
            "username" => &mut fields.username,
            "realm" => &mut fields.realm,
            "nonce" => &mut fields.nonce,
            "uri" => &mut fields.uri,
            "response" => &mut fields.response,
            "algorithm" => &mut fields.algorithm,
            "qop" => &mut fields.qop,
            "cnonce" => &mut fields.cnonce,
            "nc" => &mut fields.nc,
            "opaque" => &mut fields.opaque,
            _ => continue, // RFC 7616 §3.4: unknown directives are ignored.
        };
        if slot.is_some() {
            return Err(DigestError::DuplicateParam(name.to_ascii_lowercase()));
        }
        *slot = Some(value);
    }
    fields.finish()
}

#[derive(Default)]
struct Fields {
    username: Option<String>,
    realm: Option<String>,
    nonce: Option<String>,
    uri: Option<String>,
    response: Option<String>,
    algorithm: Option<String>,
    qop: Option<String>,
    cnonce: Option<String>,
    nc: Option<String>,
    opaque: Option<String>,
}

impl Fields {
    fn finish(self) -> Result<DigestCredentials, DigestError> {
        let algorithm = match self.algorithm {
            None => Algorithm::Md5,
            Some(token) => {
                Algorithm::from_token(&token).ok_or(DigestError::UnsupportedAlgorithm(token))?
            }
        };
        let qop = self.qop.map(|q| q.to_ascii_lowercase());
        let nc = match &self.nc {
            None => None,
            Some(text) => Some(parse_nc(text)?),
        };
        if qop.is_some() {
            // RFC 7616 §3.4: with qop, cnonce and nc MUST be sent.
            if self.cnonce.is_none() {
                return Err(DigestError::MissingParam("cnonce"));
            }
            if nc.is_none() {
                return Err(DigestError::MissingParam("nc"));
            }
        }
        Ok(DigestCredentials {
            username: self.username.ok_or(DigestError::MissingParam("username"))?,
            realm: self.realm.ok_or(DigestError::MissingParam("realm"))?,
            nonce: self.nonce.ok_or(DigestError::MissingParam("nonce"))?,
            uri: self.uri.ok_or(DigestError::MissingParam("uri"))?,
            response: self
                .response
                .ok_or(DigestError::MissingParam("response"))?
                .to_ascii_lowercase(),
            algorithm,
            qop,
            cnonce: self.cnonce,
            nc,
            nc_text: self.nc,
            opaque: self.opaque,
        })
    }
}

fn parse_nc(text: &str) -> Result<u32, DigestError> {
    // RFC 7616 §3.4: nc is exactly 8LHEX.
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(DigestError::InvalidNonceCount);
    }
    u32::from_str_radix(text, 16).map_err(|_| DigestError::InvalidNonceCount)
}

enum ParamError {
    Malformed(usize),
    Unterminated,
}

/// Iterates `name=value` pairs of an auth-param list (RFC 7235 §2.1 grammar, which RFC 3261 §25.1
/// also allows: `token` or `quoted-string` values, commas between pairs, optional whitespace).
/// Empty list elements (`a=1,,b=2`) are skipped, as RFC 7230 §7 asks of recipients.
struct Params<'a> {
    input: &'a str,
    pos: usize,
    failed: bool,
}

impl<'a> Params<'a> {
    fn new(input: &'a str) -> Self {
        Params {
            input,
            pos: 0,
            failed: false,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.input.as_bytes().get(self.pos).copied()
    }

    fn skip_ws_and_commas(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n' | b',')) {
            self.pos += 1;
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.pos += 1;
        }
    }

    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(is_token_byte) {
            self.pos += 1;
        }
        // Token bytes are ASCII, so both ends are char boundaries.
        self.input.get(start..self.pos).unwrap_or("")
    }

    fn quoted(&mut self) -> Result<String, ParamError> {
        self.pos += 1; // the opening quote
        let mut out = String::new();
        let rest = self.input.get(self.pos..).unwrap_or("");
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                // quoted-pair: the next character stands for itself (RFC 3261 §25.1).
                '\\' => match chars.next() {
                    Some((_, escaped)) => out.push(escaped),
                    None => return Err(ParamError::Unterminated),
                },
                c => out.push(c),
            }
        }
        Err(ParamError::Unterminated)
    }

    fn next_param(&mut self) -> Option<Result<(&'a str, String), ParamError>> {
        self.skip_ws_and_commas();
        self.peek()?;
        let name = self.token();
        if name.is_empty() {
            return Some(Err(ParamError::Malformed(self.pos)));
        }
        self.skip_ws();
        if self.peek() != Some(b'=') {
            return Some(Err(ParamError::Malformed(self.pos)));
        }
        self.pos += 1;
        self.skip_ws();
        let value = if self.peek() == Some(b'"') {
            match self.quoted() {
                Ok(v) => v,
                Err(e) => return Some(Err(e)),
            }
        } else {
            let token = self.token();
            if token.is_empty() {
                return Some(Err(ParamError::Malformed(self.pos)));
            }
            token.to_string()
        };
        self.skip_ws();
        match self.peek() {
            None | Some(b',') => Some(Ok((name, value))),
            Some(_) => Some(Err(ParamError::Malformed(self.pos))),
        }
    }
}

impl<'a> Iterator for Params<'a> {
    type Item = Result<(&'a str, String), ParamError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let item = self.next_param();
        if matches!(item, Some(Err(_))) {
            self.failed = true;
        }
        item
    }
}

/// RFC 3261 §25.1 `token` characters (plus `/`, `:`, `@`, which phones put unquoted in `uri` and
/// `nonce` values even though the grammar wants them quoted).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'!'
                | b'%'
                | b'*'
                | b'_'
                | b'+'
                | b'`'
                | b'\''
                | b'~'
                | b'/'
                | b':'
                | b'@'
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_rfc2617_example_credentials() {
        let creds = parse_credentials(
            r#"Digest username="Mufasa",
                 realm="testrealm@host.com",
                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 uri="/dir/index.html",
                 qop=auth,
                 nc=00000001,
                 cnonce="0a4f113b",
                 response="6629fae49393a05397450978507c4ef1",
                 opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        )
        .unwrap();
        assert_eq!(creds.username, "Mufasa");
        assert_eq!(creds.realm, "testrealm@host.com");
        assert_eq!(creds.algorithm, Algorithm::Md5);
        assert_eq!(creds.qop.as_deref(), Some("auth"));
        assert_eq!(creds.nc, Some(1));
        assert_eq!(creds.nc_text.as_deref(), Some("00000001"));
        assert_eq!(
            creds.opaque.as_deref(),
            Some("5ccc069c403ebaf9f0171e9517f40e41")
        );
    }

    #[test]
    fn quoted_values_keep_commas_and_unescape_backslashes() {
        let creds = parse_credentials(
            r#"digest USERNAME="a\"b, c", Realm=sb, nonce="n,1", uri="sip:sb", response="AB12""#,
        )
        .unwrap();
        assert_eq!(creds.username, "a\"b, c");
        assert_eq!(creds.realm, "sb");
        assert_eq!(creds.nonce, "n,1");
        assert_eq!(creds.response, "ab12");
    }

    #[test]
    fn unknown_parameters_and_empty_elements_are_ignored() {
        let creds = parse_credentials(
            r#"Digest username="u",,realm="r", userhash=false, nonce="n", uri="sip:r", response="x", foo="bar,baz""#,
        )
        .unwrap();
        assert_eq!(creds.username, "u");
    }

    #[test]
    fn rejects_what_is_not_digest_credentials() {
        assert_eq!(
            parse_credentials("Basic YWxhZGRpbjpvcGVuc2VzYW1l"),
            Err(DigestError::NotDigest)
        );
        assert_eq!(
            parse_credentials(r#"Digest username="u", realm="r", nonce="n", uri="x""#),
            Err(DigestError::MissingParam("response"))
        );
        assert_eq!(
            parse_credentials(r#"Digest username="u", username="v""#),
            Err(DigestError::DuplicateParam("username".into()))
        );
        assert_eq!(
            parse_credentials(r#"Digest username="u"#),
            Err(DigestError::UnterminatedQuote)
        );
        assert!(matches!(
            parse_credentials(r#"Digest username="u" realm="r""#),
            Err(DigestError::Malformed(_))
        ));
        assert_eq!(
            parse_credentials(
                r#"Digest username="u", realm="r", nonce="n", uri="x", response="y", qop=auth, cnonce="c", nc=1"#
            ),
            Err(DigestError::InvalidNonceCount)
        );
        assert_eq!(
            parse_credentials(
                r#"Digest username="u", realm="r", nonce="n", uri="x", response="y", qop=auth, nc=00000001"#
            ),
            Err(DigestError::MissingParam("cnonce"))
        );
        assert_eq!(
            parse_credentials(
                r#"Digest username="u", realm="r", nonce="n", uri="x", response="y", algorithm=SHA-512-256"#
            ),
            Err(DigestError::UnsupportedAlgorithm("SHA-512-256".into()))
        );
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(s in any::<String>()) {
            let _ = parse_credentials(&s);
            let _ = parse_credentials(&format!("Digest {s}"));
        }

        #[test]
        fn digest_shaped_input_never_panics(
            s in r#"Digest ( |,|=|"|\\|[a-z]{1,6}|é|[0-9]{1,9})*"#
        ) {
            let _ = parse_credentials(&s);
        }
    }
}
