//! Header checks a server applies before trusting a message (RFC 3261 §8.1.1, §8.2, §20,
//! §25.1; the defects of RFC 4475 §3.1.2 and §3.3.8).
//!
//! Works on the raw, unfolded header values so white space the fork's parser would normalise
//! away (`< sip:x >`, RFC 4475 §3.1.2.14) is still visible.

use super::error::ParseError;
use super::raw::{Known, RawHead};

/// Largest CSeq sequence number: "MUST be less than 2**31" (RFC 3261 §8.1.1.5).
const MAX_CSEQ: u64 = (1 << 31) - 1;

/// Checks the header section. `request_method` is the Request-Line method (None for a response).
pub(crate) fn headers(head: &RawHead<'_>, request_method: Option<&str>) -> Result<(), ParseError> {
    let mut counts = [0usize; Known::ALL.len()];
    for known in head.fields.iter().filter_map(|f| f.known()) {
        if let Some(count) = counts.get_mut(known.index()) {
            *count += 1;
        }
    }
    let count = |known: Known| counts.get(known.index()).copied().unwrap_or(0);
    for known in [
        Known::Via,
        Known::From,
        Known::To,
        Known::CallId,
        Known::CSeq,
    ] {
        if count(known) == 0 {
            return Err(ParseError::MissingHeader(known.name()));
        }
    }
    for known in [
        Known::From,
        Known::To,
        Known::CallId,
        Known::CSeq,
        Known::MaxForwards,
    ] {
        if count(known) > 1 {
            return Err(ParseError::DuplicateHeader(known.name()));
        }
    }
    for field in &head.fields {
        let known = field.known();
        if known.is_none() && !is_checked_other(field.name) {
            continue; // nothing to check: skip the unfolding copy
        }
        let value = field.unfolded();
        match known {
            Some(Known::Via) => via(&value)?,
            Some(Known::From) => name_addr(&value).map_err(|d| invalid("From", d))?,
            Some(Known::To) => name_addr(&value).map_err(|d| invalid("To", d))?,
            Some(Known::CallId) => call_id(&value)?,
            Some(Known::CSeq) => cseq(&value, request_method)?,
            Some(Known::MaxForwards) => max_forwards(&value)?,
            Some(Known::ContentLength) => {}
            None => other(field.name, &value)?,
        }
    }
    Ok(())
}

fn invalid(name: &'static str, detail: impl Into<String>) -> ParseError {
    ParseError::InvalidHeader {
        name,
        detail: detail.into(),
    }
}

fn is_checked_other(name: &[u8]) -> bool {
    [&b"Contact"[..], b"m", b"Expires", b"Date"]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n))
}

fn other(name: &[u8], value: &str) -> Result<(), ParseError> {
    if name.eq_ignore_ascii_case(b"Contact") || name.eq_ignore_ascii_case(b"m") {
        if value == "*" {
            return Ok(());
        }
        for item in split_outside(value, b',') {
            name_addr(item).map_err(|d| invalid("Contact", d))?;
        }
    } else if name.eq_ignore_ascii_case(b"Expires") {
        // delta-seconds; RFC 3261 §20.19 (RFC 4475 §3.1.2.4 overlarge value).
        if !is_u32(value) {
            return Err(invalid("Expires", "not delta-seconds below 2^32"));
        }
    } else if name.eq_ignore_ascii_case(b"Date") {
        // rfc1123-date always ends in "GMT" (RFC 3261 §20.17, RFC 4475 §3.1.2.12).
        if !value.ends_with("GMT") {
            return Err(invalid("Date", "time zone must be GMT"));
        }
    }
    Ok(())
}

fn is_u32(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|c| c.is_ascii_digit()) && value.parse::<u32>().is_ok()
}

fn call_id(value: &str) -> Result<(), ParseError> {
    if value.is_empty() || value.contains(char::is_whitespace) {
        return Err(invalid("Call-ID", "empty or contains white space"));
    }
    Ok(())
}

fn cseq(value: &str, request_method: Option<&str>) -> Result<(), ParseError> {
    let mut parts = value.split_whitespace();
    let (Some(number), Some(method), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid("CSeq", "not `number method`"));
    };
    let in_range = number.bytes().all(|c| c.is_ascii_digit())
        && number.parse::<u64>().is_ok_and(|n| n <= MAX_CSEQ);
    if !in_range {
        return Err(invalid("CSeq", "sequence number is not below 2^31"));
    }
    if rsip::common::method::ExtensionMethod::new(method).is_none() {
        return Err(invalid("CSeq", "method is not a token"));
    }
    match request_method {
        // Methods compare case-sensitively (RFC 3261 §7.1).
        Some(request_method) if request_method != method => Err(ParseError::CSeqMethodMismatch),
        _ => Ok(()),
    }
}

fn max_forwards(value: &str) -> Result<(), ParseError> {
    let ok = !value.is_empty()
        && value.bytes().all(|c| c.is_ascii_digit())
        && value.parse::<u16>().is_ok_and(|n| n <= 255);
    if ok {
        Ok(())
    } else {
        Err(invalid("Max-Forwards", "not a number 0-255"))
    }
}

/// `via-parm *(COMMA via-parm)`, each `sent-protocol LWS sent-by *(SEMI via-params)`: no empty
/// elements or parameters (RFC 4475 §3.1.2.1 `;;,;,,`).
fn via(value: &str) -> Result<(), ParseError> {
    for item in split_outside(value, b',') {
        let mut params = split_outside(item, b';').into_iter();
        let sent = params.next().unwrap_or("").trim();
        if sent.is_empty() {
            return Err(invalid("Via", "empty value"));
        }
        let protocol_parts: Vec<&str> = sent.splitn(3, '/').map(str::trim).collect();
        let has_sent_by = protocol_parts
            .get(2)
            .is_some_and(|rest| rest.split_whitespace().count() >= 2);
        if protocol_parts.len() != 3 || !has_sent_by {
            return Err(invalid(
                "Via",
                "expected protocol/version/transport sent-by",
            ));
        }
        if params.any(|p| p.trim().is_empty()) {
            return Err(invalid("Via", "empty parameter"));
        }
    }
    Ok(())
}

/// `(name-addr / addr-spec) *(SEMI generic-param)` (RFC 3261 §20.10, §25.1).
pub(crate) fn name_addr(value: &str) -> Result<(), &'static str> {
    if !quotes_balanced(value) {
        return Err("unterminated quoted string");
    }
    let params = match find_outside_quotes(value, b'<') {
        Some(open) => {
            let display = value.get(..open).unwrap_or("").trim();
            check_display_name(display)?;
            let after_open = value.get(open + 1..).unwrap_or("");
            let close = after_open.find('>').ok_or("missing >")?;
            let uri = after_open.get(..close).unwrap_or("");
            if uri.is_empty() || uri.contains(char::is_whitespace) {
                return Err("white space inside <>");
            }
            let rest = after_open.get(close + 1..).unwrap_or("").trim_start();
            if !rest.is_empty() && !rest.starts_with(';') {
                return Err("text after >");
            }
            rest
        }
        None => {
            let end = value.find(';').unwrap_or(value.len());
            let uri = value.get(..end).unwrap_or("").trim();
            // An addr-spec holding `,`, `?` or `;` must be in <> (RFC 3261 §20.10).
            if uri.is_empty() || uri.contains(|c: char| c.is_whitespace() || c == '?' || c == ',') {
                return Err("addr-spec with reserved characters must be enclosed in <>");
            }
            value.get(end..).unwrap_or("")
        }
    };
    let mut parts = split_outside(params, b';').into_iter();
    if parts.next().is_some_and(|first| !first.trim().is_empty()) {
        return Err("text before parameters");
    }
    if parts.any(|p| p.trim().is_empty()) {
        return Err("empty parameter");
    }
    Ok(())
}

/// `display-name = *(token LWS) / quoted-string` (RFC 3261 §25.1, RFC 4475 §3.1.2.15).
fn check_display_name(display: &str) -> Result<(), &'static str> {
    if display.is_empty() {
        return Ok(());
    }
    if display.starts_with('"') {
        // The whole value's quotes are balanced (checked first), so the string closes here.
        return if display.len() >= 2 && display.ends_with('"') {
            Ok(())
        } else {
            Err("malformed quoted display name")
        };
    }
    if display
        .bytes()
        .all(|c| super::raw::is_token(c) || c == b' ' || c == b'\t')
    {
        Ok(())
    } else {
        Err("display name with non-token characters must be quoted")
    }
}

// The scanners below walk bytes, not chars: every delimiter is ASCII and UTF-8 continuation
// bytes never equal an ASCII byte, so byte offsets are always char boundaries here.

fn quotes_balanced(value: &str) -> bool {
    let mut in_quotes = false;
    let mut escaped = false;
    for c in value.bytes() {
        if escaped {
            escaped = false;
        } else if in_quotes && c == b'\\' {
            escaped = true;
        } else if c == b'"' {
            in_quotes = !in_quotes;
        }
    }
    !in_quotes
}

fn find_outside_quotes(value: &str, wanted: u8) -> Option<usize> {
    let mut in_quotes = false;
    let mut escaped = false;
    for (at, c) in value.bytes().enumerate() {
        if escaped {
            escaped = false;
        } else if in_quotes && c == b'\\' {
            escaped = true;
        } else if c == b'"' {
            in_quotes = !in_quotes;
        } else if c == wanted && !in_quotes {
            return Some(at);
        }
    }
    None
}

/// Splits at the ASCII `sep` outside quoted strings and `<...>`.
pub(crate) fn split_outside(value: &str, sep: u8) -> Vec<&str> {
    let mut out = Vec::new();
    let mut in_quotes = false;
    let mut escaped = false;
    let mut angle = false;
    let mut start = 0;
    for (at, c) in value.bytes().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            b'\\' if in_quotes => escaped = true,
            b'"' => in_quotes = !in_quotes,
            b'<' if !in_quotes => angle = true,
            b'>' if !in_quotes => angle = false,
            c if c == sep && !in_quotes && !angle => {
                out.push(value.get(start..at).unwrap_or(""));
                start = at + 1;
            }
            _ => {}
        }
    }
    out.push(value.get(start..).unwrap_or(""));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_addr_accepts_rfc4475_valid_forms() {
        for ok in [
            "sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n",
            "\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>  ;  tag = 98asjd8",
            "caller<sip:caller@example.com>;tag=323",
            "token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;tag=_token",
            "<sip:a@b>",
        ] {
            assert_eq!(name_addr(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn name_addr_rejects_rfc4475_invalid_forms() {
        for bad in [
            "\"Mr. J. User <sip:j.user@example.com>",
            "\"Watson, Thomas\" < sip:t.watson@example.org >",
            "Watson, Thomas <sip:t.watson@example.org>",
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            "\"Joe\" <sip:joe@example.org>;;;;",
        ] {
            assert!(name_addr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn via_rejects_empty_parameters_and_accepts_lws() {
        assert!(via("SIP/2.0/UDP 192.0.2.15;;,;,,").is_err());
        assert!(via("SIP  /   2.0 /UDP    192.0.2.2;branch=390skdjuw").is_ok());
        assert!(via("SIP/2.0/UDP a;branch=1, SIP/2.0/TCP b").is_ok());
    }

    #[test]
    fn cseq_bounds_and_method() {
        assert!(cseq("36893488147419103232 REGISTER", Some("REGISTER")).is_err());
        assert!(cseq("2147483648 INVITE", Some("INVITE")).is_err());
        assert_eq!(cseq("2147483647 INVITE", Some("INVITE")), Ok(()));
        assert_eq!(
            cseq("8 INVITE", Some("OPTIONS")),
            Err(ParseError::CSeqMethodMismatch)
        );
        assert!(max_forwards("300").is_err());
        assert!(max_forwards("0068").is_ok());
    }
}
