//! From bytes to a validated `rsip::SipMessage`: framing checks, the fork's parser, then the
//! request checks RFC 3261 §8.2 and RFC 4475 §3.1.2 expect of a server.

use std::convert::TryFrom;

use super::error::ParseError;
use super::framing::Limits;
use super::raw;
use super::validate;

/// Parses one message (a UDP datagram payload or a frame from
/// [`next_frame`](super::next_frame)).
///
/// Before the fork's parser runs: size and header limits, and Content-Length against the body
/// (RFC 3261 §18.3): larger than the body is an error; smaller discards the extra octets (on a
/// stream, `next_frame` already cut the message exactly); absent means the body runs to the end
/// of the bytes. Several Content-Length values must agree, and each must be a decimal number.
///
/// After it, requests and responses are checked for the mandatory Via, From, To, Call-ID and
/// CSeq, single-valued headers appearing once, CSeq (number below 2^31, method equal to the
/// request method), Max-Forwards (0–255), Expires, Date, and well-formed name-addr values.
/// Any failure on a response becomes [`ParseError::InvalidResponse`] (drop, never answer).
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<rsip::SipMessage, ParseError> {
    if bytes.len() > limits.max_message {
        return Err(ParseError::MessageTooLarge {
            len: bytes.len(),
            max: limits.max_message,
        });
    }
    let bytes = bytes.get(raw::leading_crlf(bytes)..).unwrap_or(&[]);
    let is_response = bytes.starts_with(b"SIP/");
    parse_message(bytes, limits).map_err(|err| match err {
        ParseError::InvalidResponse(_) => err,
        other if is_response => ParseError::InvalidResponse(other.to_string()),
        other => other,
    })
}

fn parse_message(bytes: &[u8], limits: &Limits) -> Result<rsip::SipMessage, ParseError> {
    let head_len = raw::head_end(bytes).ok_or(ParseError::Truncated)?;
    let head_bytes = bytes.get(..head_len - 4).unwrap_or(&[]);
    let head = raw::split_head(head_bytes, limits.max_header_line)?;
    if head.fields.len() > limits.max_headers {
        return Err(ParseError::TooManyHeaders {
            max: limits.max_headers,
        });
    }

    let available = bytes.len() - head_len;
    let body_len = match raw::content_length(&head.fields)? {
        Some(declared) if declared > available => {
            return Err(ParseError::ContentLengthExceedsBody {
                declared,
                available,
            });
        }
        Some(declared) => declared,
        None => available,
    };
    let message = bytes.get(..head_len + body_len).unwrap_or(bytes);

    let request_method = if head.start_line.starts_with(b"SIP/") {
        check_status_line(head.start_line)?;
        None
    } else {
        Some(check_request_line(head.start_line)?)
    };
    // RFC 3261 §7.3.1: a fold (CRLF then SP/HT) is one SP in the value. The fork keeps folds
    // verbatim in header values, and a value holding CRLF would print as extra lines (a
    // whitespace-only fold line printed as an empty line ends the head early: a fuzz finding,
    // sip_datagram). Unfold the head before the fork sees it; folds are rare, so the copy is too.
    let unfolded = unfold(message, head_len);
    let message = unfolded.as_deref().unwrap_or(message);
    let parsed = rsip::SipMessage::try_from(message).map_err(|e| {
        match request_uri_scheme(head.start_line) {
            // rsip models sip/sips/tel URIs only; any other Request-URI is answered 416
            // (RFC 3261 §8.2.2.1, RFC 4475 §3.3.2) rather than 400.
            Some(scheme) if !is_supported_scheme(scheme) => {
                ParseError::UnsupportedUriScheme(scheme.to_string())
            }
            _ => ParseError::Syntax(e.to_string()),
        }
    })?;
    validate::headers(&head, request_method)?;
    if let rsip::SipMessage::Request(request) = &parsed {
        // Our own reading of the Request-Line and the fork's must agree on the method.
        if Some(request.method.as_str()) != request_method {
            return Err(ParseError::InvalidMethod);
        }
    }
    Ok(parsed)
}

/// `message` with every fold in its first `head_len` bytes (CRLF followed by SP or HT) replaced
/// by one SP, or `None` when the head has no fold.
fn unfold(message: &[u8], head_len: usize) -> Option<Vec<u8>> {
    let head = message.get(..head_len)?;
    let is_fold = |w: &[u8]| matches!(w, [b'\r', b'\n', b' ' | b'\t']);
    if !head.windows(3).any(is_fold) {
        return None;
    }
    let mut out = Vec::with_capacity(message.len());
    let mut i = 0;
    while let Some(&byte) = head.get(i) {
        if head.get(i..i + 3).is_some_and(is_fold) {
            out.push(b' ');
            i += 2;
        } else {
            out.push(byte);
            i += 1;
        }
    }
    out.extend_from_slice(message.get(head_len..).unwrap_or_default());
    Some(out)
}

/// `Method SP Request-URI SP SIP-Version`, single spaces (RFC 3261 §7.1; RFC 4475 §3.1.2.7–11).
fn check_request_line(line: &[u8]) -> Result<&str, ParseError> {
    let line = std::str::from_utf8(line).map_err(|_| ParseError::MalformedRequestLine)?;
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::MalformedRequestLine);
    };
    if method.is_empty() || uri.is_empty() || version.is_empty() {
        return Err(ParseError::MalformedRequestLine);
    }
    if rsip::common::method::ExtensionMethod::new(method).is_none() {
        return Err(ParseError::InvalidMethod);
    }
    check_version(version)?;
    check_request_uri(uri)?;
    Ok(method)
}

fn check_version(version: &str) -> Result<(), ParseError> {
    let is_sip = version
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"));
    if !is_sip {
        return Err(ParseError::MalformedRequestLine);
    }
    if version.get(4..) == Some("2.0") {
        Ok(())
    } else {
        Err(ParseError::UnsupportedVersion(version.to_string()))
    }
}

fn check_request_uri(uri: &str) -> Result<(), ParseError> {
    if uri.starts_with('<') {
        return Err(ParseError::InvalidRequestUri("enclosed in <>".into()));
    }
    if !uri.contains(':') {
        return Err(ParseError::InvalidRequestUri("no scheme".into()));
    }
    // Escaped headers are not allowed in a Request-URI (RFC 3261 §19.1.5, RFC 4475 §3.1.2.11).
    // A `?` in the user part is legal (RFC 4475 §3.1.1.2), so look after the last `@`.
    let host_part = uri.rsplit('@').next().unwrap_or(uri);
    if host_part.contains('?') {
        return Err(ParseError::InvalidRequestUri(
            "headers in Request-URI".into(),
        ));
    }
    Ok(())
}

fn request_uri_scheme(start_line: &[u8]) -> Option<&str> {
    let line = std::str::from_utf8(start_line).ok()?;
    let uri = line.split(' ').nth(1)?;
    uri.split_once(':').map(|(scheme, _)| scheme)
}

fn is_supported_scheme(scheme: &str) -> bool {
    ["sip", "sips", "tel"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
}

/// `SIP-Version SP Status-Code SP Reason-Phrase` with a 3-digit code 100–699 (RFC 3261 §7.2).
fn check_status_line(line: &[u8]) -> Result<(), ParseError> {
    let mut parts = line.splitn(3, |c| *c == b' ');
    let (Some(version), Some(code), Some(_reason)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::InvalidResponse("malformed Status-Line".into()));
    };
    if !version.eq_ignore_ascii_case(b"SIP/2.0") {
        return Err(ParseError::InvalidResponse("unsupported version".into()));
    }
    let valid_code = code.len() == 3
        && code.iter().all(u8::is_ascii_digit)
        && code.first().is_some_and(|c| (b'1'..=b'6').contains(c));
    if !valid_code {
        return Err(ParseError::InvalidResponse(
            "status code out of range".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{SipHeaders, error_response};

    fn options(extra: &str, body: &str) -> Vec<u8> {
        format!(
            "OPTIONS sip:sb@192.0.2.1 SIP/2.0\r\nv: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK7\r\n\
             f: <sip:a@192.0.2.9>;tag=1\r\nt: <sip:sb@192.0.2.1>\r\ni: abc@192.0.2.9\r\n\
             CSeq: 1 OPTIONS\r\n{extra}\r\n{body}"
        )
        .into_bytes()
    }

    #[test]
    fn a_bare_lf_in_the_head_is_refused_so_no_header_hides_in_another_line() {
        // Fuzz findings (sip_datagram, sip_stream): after `SIP/2.0 100 -\n` the fork read the
        // Via as part of the reason phrase while the byte scanner saw a Via header, so the
        // response passed validation and printed without a Via; a bare LF inside the head
        // folded Call-ID into the Via value the same way.
        let response = b"SIP/2.0 100 -\nVia: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2\r\n\
            Call-ID: x\r\nCSeq: 35 INVITE\r\nFrom: <sip:u@e.com>;tag=1\r\n\
            To: <sip:u@e.com>;tag=2\r\nContent-Length: 0\r\n\r\n";
        assert!(matches!(
            parse(response, &Limits::default()),
            Err(ParseError::InvalidResponse(_))
        ));
        let raw = String::from_utf8(options("l: 0\r\n", "")).unwrap();
        let folded = raw.replacen("z9hG4bK7\r\n", "z9hG4bK7\n", 1);
        let err = parse(folded.as_bytes(), &Limits::default()).unwrap_err();
        assert_eq!(err, ParseError::BareLineFeed);
        assert_eq!(
            error_response(folded.as_bytes(), &err).map(|r| r.status_code.code()),
            Some(400)
        );
    }

    #[test]
    fn folded_header_values_are_unfolded_so_printing_never_adds_lines() {
        // Fuzz finding (sip_datagram, from RFC 4475 wsinv): a Contact folded over a
        // whitespace-only line kept CRLF SP CRLF in its value; printed, that is an empty line
        // that ends the head early.
        let raw = String::from_utf8(options(
            "Contact: <sip:a@192.0.2.9>;p =\r\n \r\n   v\r\nSubject: one\r\n\ttwo\r\nl: 0\r\n",
            "",
        ))
        .unwrap();
        let message = parse(raw.as_bytes(), &Limits::default()).unwrap();
        let wire = crate::message::serialize(&message);
        let head = &wire[..wire.len() - 4];
        assert!(!head.windows(4).any(|w| w == b"\r\n\r\n"), "{wire:?}");
        assert!(
            !head.windows(3).any(|w| w == b"\r\n " || w == b"\r\n\t"),
            "{wire:?}"
        );
        let again = parse(&wire, &Limits::default()).unwrap();
        assert_eq!(crate::message::serialize(&again), wire);
        assert!(
            String::from_utf8_lossy(&wire).contains("Subject: one \ttwo\r\n"),
            "{wire:?}"
        );
    }

    #[test]
    fn udp_octets_beyond_content_length_are_discarded() {
        let message = parse(&options("l: 3\r\n", "abcdef"), &Limits::default()).unwrap();
        assert_eq!(message.body(), b"abc");
        assert_eq!(message.call_id().unwrap(), "abc@192.0.2.9");
    }

    #[test]
    fn extension_method_parses_for_a_501_and_too_long_one_is_400() {
        let raw = String::from_utf8(options("l: 0\r\n", "")).unwrap();
        let ext = raw.replace("OPTIONS", "FOOBAR");
        let Ok(rsip::SipMessage::Request(request)) = parse(ext.as_bytes(), &Limits::default())
        else {
            panic!("extension method parses");
        };
        assert_eq!(request.method.as_str(), "FOOBAR");
        let long = raw.replace("OPTIONS", &"X".repeat(65));
        let err = parse(long.as_bytes(), &Limits::default()).unwrap_err();
        assert_eq!(err, ParseError::InvalidMethod);
        assert_eq!(err.response(), Some((400, "Invalid Method")));
        // Case-sensitive: `options` is not OPTIONS, so the CSeq method does not match.
        let lower = raw.replacen("OPTIONS sip", "options sip", 1);
        assert_eq!(
            parse(lower.as_bytes(), &Limits::default()),
            Err(ParseError::CSeqMethodMismatch)
        );
    }

    #[test]
    fn header_limits_are_enforced() {
        let limits = Limits {
            max_headers: 6,
            max_header_line: 40,
            ..Limits::default()
        };
        assert_eq!(
            parse(&options("l: 0\r\nX-A: 1\r\n", ""), &limits),
            Err(ParseError::TooManyHeaders { max: 6 })
        );
        let long = format!("X-Long: {}\r\n", "y".repeat(40));
        assert_eq!(
            parse(
                &options(&long, ""),
                &Limits {
                    max_headers: 256,
                    ..limits
                }
            ),
            Err(ParseError::HeaderLineTooLong { max: 40 })
        );
    }

    #[test]
    fn broken_responses_are_dropped_not_answered() {
        let raw = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1 INVITE\r\n\r\n";
        let err = parse(raw, &Limits::default()).unwrap_err();
        assert!(matches!(err, ParseError::InvalidResponse(_)));
        assert_eq!(err.response(), None);
        assert!(error_response(raw, &err).is_none());
    }

    #[test]
    fn missing_via_cannot_be_routed() {
        let raw = String::from_utf8(options("l: 0\r\n", "")).unwrap();
        let no_via = raw.replace("v: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK7\r\n", "");
        let err = parse(no_via.as_bytes(), &Limits::default()).unwrap_err();
        assert_eq!(err, ParseError::MissingHeader("Via"));
        assert!(error_response(no_via.as_bytes(), &err).is_none());
    }
}
