//! Why a message was refused, and the stateless response that reports it.

use rsip::headers::UntypedHeader;
use rsip::{Header, Response, StatusCode};

use super::raw::{self, Known};

/// Why bytes from the network are not an acceptable SIP message.
///
/// [`ParseError::response`] says whether the sender gets an answer; [`error_response`] builds it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// A UDP datagram larger than [`Limits::max_datagram`](super::Limits): dropped.
    #[error("datagram of {len} bytes exceeds the {max}-byte limit")]
    DatagramTooLarge {
        /// Datagram size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A message (or a stream's unframed head) larger than `Limits::max_message`.
    #[error("message of at least {len} bytes exceeds the {max}-byte limit")]
    MessageTooLarge {
        /// Bytes seen so far.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// No empty line ends the header section.
    #[error("the header section does not end with an empty line")]
    Truncated,
    /// More header fields than `Limits::max_headers`.
    #[error("more than {max} header fields")]
    TooManyHeaders {
        /// The limit.
        max: usize,
    },
    /// A header line longer than `Limits::max_header_line`.
    #[error("a header line exceeds {max} bytes")]
    HeaderLineTooLong {
        /// The limit.
        max: usize,
    },
    /// A header line that is not `name: value` (or a fold with nothing to continue).
    #[error("malformed header line")]
    MalformedHeader,
    /// A line of the head ends in LF without CR. RFC 3261 §7 ends every line with CRLF; the
    /// fork's parser and the byte scanner would cut such a line in different places (a fuzz
    /// finding: a Via after `SIP/2.0 100 -\n` was seen by one and not the other).
    #[error("a line ends in a bare LF")]
    BareLineFeed,
    /// A stream message without Content-Length (RFC 3261 §18.3 requires one on streams).
    #[error("Content-Length is required on a stream transport")]
    MissingContentLength,
    /// Content-Length is not a non-negative decimal number.
    #[error("invalid Content-Length {0:?}")]
    InvalidContentLength(String),
    /// Two Content-Length headers with different values.
    #[error("conflicting Content-Length values {first} and {second}")]
    ConflictingContentLength {
        /// First value seen.
        first: usize,
        /// The differing value.
        second: usize,
    },
    /// Content-Length announces more octets than the message carries.
    #[error("Content-Length {declared} exceeds the {available} body bytes present")]
    ContentLengthExceedsBody {
        /// The announced length.
        declared: usize,
        /// Body bytes actually present.
        available: usize,
    },
    /// The Request-Line is not `Method SP Request-URI SP SIP-Version` with single spaces.
    #[error("malformed Request-Line")]
    MalformedRequestLine,
    /// The method token is not a token or is longer than `rsip::ExtensionMethod::MAX_LEN`.
    #[error("invalid method token")]
    InvalidMethod,
    /// The Request-URI is malformed (`<>`-enclosed, embedded LWS, escaped headers, ...).
    #[error("malformed Request-URI: {0}")]
    InvalidRequestUri(String),
    /// The Request-URI has a scheme this server does not handle (RFC 3261 §8.2.2.1: 416).
    #[error("unsupported Request-URI scheme {0:?}")]
    UnsupportedUriScheme(String),
    /// A SIP version other than 2.0 (answered with 505, RFC 3261 §21.5.6).
    #[error("unsupported SIP version {0:?}")]
    UnsupportedVersion(String),
    /// The fork's parser refused the message.
    #[error("syntax error: {0}")]
    Syntax(String),
    /// A mandatory header is missing (RFC 3261 §8.1.1).
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// A header that must appear once appears several times (RFC 4475 §3.3.8).
    #[error("duplicate {0} header")]
    DuplicateHeader(&'static str),
    /// A header value does not follow its grammar.
    #[error("invalid {name} header: {detail}")]
    InvalidHeader {
        /// Canonical header name.
        name: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// The CSeq method differs from the request method (RFC 3261 §8.1.1.5).
    #[error("CSeq method does not match the request method")]
    CSeqMethodMismatch,
    /// A response that is malformed: never answered (RFC 3261 §18.1.2, RFC 4475 §3.1.2.19).
    #[error("invalid response: {0}")]
    InvalidResponse(String),
}

impl ParseError {
    /// The status and reason phrase to answer with, or `None` when the message must be dropped
    /// (and counted) instead. A response is never answered; callers go through
    /// [`error_response`], which also checks that the raw message is a request.
    pub fn response(&self) -> Option<(u16, &'static str)> {
        use ParseError::*;
        Some(match self {
            DatagramTooLarge { .. } | InvalidResponse(_) => return None,
            MessageTooLarge { .. } => (513, "Message Too Large"),
            Truncated => (400, "Truncated Message"),
            TooManyHeaders { .. } => (400, "Too Many Headers"),
            HeaderLineTooLong { .. } => (400, "Header Line Too Long"),
            MalformedHeader => (400, "Malformed Header"),
            BareLineFeed => (400, "Bare LF"),
            MissingContentLength => (400, "Missing Content-Length"),
            InvalidContentLength(_) => (400, "Invalid Content-Length"),
            ConflictingContentLength { .. } => (400, "Conflicting Content-Length"),
            ContentLengthExceedsBody { .. } => (400, "Content-Length Mismatch"),
            MalformedRequestLine => (400, "Malformed Request-Line"),
            InvalidMethod => (400, "Invalid Method"),
            InvalidRequestUri(_) => (400, "Malformed Request-URI"),
            UnsupportedUriScheme(_) => (416, "Unsupported URI Scheme"),
            UnsupportedVersion(_) => (505, "Version Not Supported"),
            Syntax(_) => (400, "Bad Request"),
            MissingHeader(name) => (400, missing_phrase(name)),
            DuplicateHeader(_) => (400, "Duplicate Single-Valued Header"),
            InvalidHeader { name, .. } => (400, invalid_phrase(name)),
            CSeqMethodMismatch => (400, "CSeq Method Mismatch"),
        })
    }
}

fn missing_phrase(name: &str) -> &'static str {
    match name {
        "Via" => "Missing Via",
        "From" => "Missing From",
        "To" => "Missing To",
        "Call-ID" => "Missing Call-ID",
        "CSeq" => "Missing CSeq",
        _ => "Missing Mandatory Header",
    }
}

fn invalid_phrase(name: &str) -> &'static str {
    match name {
        "Via" => "Invalid Via",
        "From" => "Invalid From",
        "To" => "Invalid To",
        "Contact" => "Invalid Contact",
        "Call-ID" => "Invalid Call-ID",
        "CSeq" => "Invalid CSeq",
        "Max-Forwards" => "Invalid Max-Forwards",
        "Expires" => "Invalid Expires",
        "Date" => "Invalid Date",
        _ => "Invalid Header",
    }
}

/// Builds the stateless answer to a request that failed to parse: the status from
/// [`ParseError::response`] with its specific reason phrase (e.g. `400 Content-Length
/// Mismatch`, carried as `StatusCode::Other(400, phrase)`), and Via (all, in order), From, To,
/// Call-ID and CSeq copied from the raw header lines (RFC 3261 §8.2.6.2), best effort.
///
/// `None` when no response may or can be sent: the error says drop, the raw message is a
/// response (never answer a response), or there is no Via to route it by. The To header is
/// copied without adding a tag; the caller adds one if it keeps state.
pub fn error_response(raw: &[u8], err: &ParseError) -> Option<Response> {
    let (code, reason) = err.response()?;
    let raw = raw.get(raw::leading_crlf(raw)..).unwrap_or(&[]);
    if raw.starts_with(b"SIP/") {
        return None;
    }
    let head = match raw::head_end(raw) {
        Some(end) => raw.get(..end - 4).unwrap_or(raw),
        None => raw,
    };
    let fields = head_fields(head);
    let mut response = Response {
        status_code: StatusCode::with_reason(code, reason),
        ..Response::default()
    };
    let mut has_via = false;
    for (known, value) in fields {
        let header = match known {
            Known::Via => {
                has_via = true;
                Header::Via(rsip::headers::Via::new(value))
            }
            Known::From => Header::From(rsip::headers::From::new(value)),
            Known::To => Header::To(rsip::headers::To::new(value)),
            Known::CallId => Header::CallId(rsip::headers::CallId::new(value)),
            Known::CSeq => Header::CSeq(rsip::headers::CSeq::new(value)),
            Known::ContentLength | Known::MaxForwards => continue,
        };
        response.headers.push(header);
    }
    if !has_via {
        return None;
    }
    response
        .headers
        .push(Header::ContentLength(rsip::headers::ContentLength::new(
            "0",
        )));
    Some(response)
}

/// The routing headers of a head, tolerating malformed lines: a line that does not split is
/// skipped rather than failing the whole extraction.
fn head_fields(head: &[u8]) -> Vec<(Known, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(Known, String)> = None;
    for line in head.split(|c| *c == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first().is_some_and(|c| *c == b' ' || *c == b'\t') {
            if let Some((_, value)) = pending.as_mut() {
                value.push(' ');
                value.push_str(String::from_utf8_lossy(line).trim());
            }
            continue;
        }
        out.extend(pending.take());
        let Some(colon) = line.iter().position(|c| *c == b':') else {
            continue;
        };
        let name = String::from_utf8_lossy(line.get(..colon).unwrap_or(&[]));
        let field = raw::RawField::named(name.trim().as_bytes(), &[]);
        if let Some(known) = field.known() {
            let value = String::from_utf8_lossy(line.get(colon + 1..).unwrap_or(&[]));
            pending = Some((known, value.trim().to_string()));
        }
    }
    out.extend(pending);
    out.retain(|(_, value)| !value.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsip::prelude::HeadersExt;

    const CLERR: &[u8] = b"INVITE sip:user@example.com SIP/2.0\r\n\
        Max-Forwards: 80\r\n\
        To: sip:j.user@example.com\r\n\
        f: sip:caller@example.net;tag=93942939o2\r\n\
        Call-ID: clerr.0ha0isndaksdjweiafasdk3\r\n\
        CSeq: 8 INVITE\r\n\
        Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523\r\n\
        Via: SIP/2.0/UDP host6.example.com\r\n ;branch=z9hG4bK-1\r\n\
        Content-Length: 9999\r\n\r\nv=0\r\n";

    #[test]
    fn error_response_copies_routing_headers_and_carries_the_reason() {
        let err = ParseError::ContentLengthExceedsBody {
            declared: 9999,
            available: 5,
        };
        let response = error_response(CLERR, &err).expect("a request with Via is answered");
        assert_eq!(response.status_code.code(), 400);
        assert_eq!(response.status_code.reason(), "Content-Length Mismatch");
        let vias: Vec<_> = response
            .headers
            .iter()
            .filter_map(|h| match h {
                Header::Via(v) => Some(v.value().to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(
            vias,
            [
                "SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523",
                "SIP/2.0/UDP host6.example.com ;branch=z9hG4bK-1"
            ]
        );
        assert_eq!(
            response.from_header().unwrap().value(),
            "sip:caller@example.net;tag=93942939o2"
        );
        assert_eq!(response.cseq_header().unwrap().value(), "8 INVITE");
        assert!(
            response
                .to_string()
                .starts_with("SIP/2.0 400 Content-Length Mismatch\r\n")
        );
    }

    #[test]
    fn responses_and_requests_without_via_are_not_answered() {
        let err = ParseError::MissingHeader("Via");
        assert!(
            error_response(b"OPTIONS sip:a SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n", &err).is_none()
        );
        assert!(error_response(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\n\r\n", &err).is_none());
        assert!(error_response(CLERR, &ParseError::DatagramTooLarge { len: 1, max: 0 }).is_none());
    }

    #[test]
    fn version_errors_answer_505() {
        assert_eq!(
            ParseError::UnsupportedVersion("SIP/7.0".into()).response(),
            Some((505, "Version Not Supported"))
        );
    }
}
