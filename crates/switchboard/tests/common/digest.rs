//! A phone's side of digest authentication (RFC 7616) for the end-to-end tests: read the
//! challenge in a 401, answer it with a username and password.

use switchboard_sip::digest::{compute_response, parse_credentials};

/// The `Authorization` value answering the first `WWW-Authenticate` challenge in `response`
/// (a whole SIP response as text) as `user` with `password`, for a `method` to `uri`.
pub(crate) fn answer_challenge(
    response: &str,
    user: &str,
    password: &str,
    method: &str,
    uri: &str,
) -> String {
    let challenge = response
        .lines()
        .find_map(|l| l.strip_prefix("WWW-Authenticate: "))
        .unwrap_or_else(|| panic!("no WWW-Authenticate challenge in:\n{response}"));
    let param = |name: &str| {
        let start = challenge.find(&format!("{name}="))? + name.len() + 1;
        let rest = challenge.get(start..)?;
        Some(match rest.strip_prefix('"') {
            Some(quoted) => quoted.get(..quoted.find('"')?)?.to_owned(),
            None => rest
                .get(..rest.find(',').unwrap_or(rest.len()))?
                .trim()
                .to_owned(),
        })
    };
    let [realm, nonce, opaque, algorithm] =
        ["realm", "nonce", "opaque", "algorithm"].map(|p| param(p).expect(p));
    let value = |digest: &str| {
        format!(
            "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
             response=\"{digest}\", algorithm={algorithm}, qop=auth, nc=00000001, \
             cnonce=\"c0ffee\", opaque=\"{opaque}\""
        )
    };
    let credentials = parse_credentials(&value("0")).expect("our own credentials parse");
    value(&compute_response(&credentials, password, method))
}
