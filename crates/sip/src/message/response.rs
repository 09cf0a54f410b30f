//! Building a response to a request (RFC 3261 §8.2.6).

use rsip::headers::UntypedHeader;
use rsip::{Header, Request, Response, StatusCode};

/// Builds a response to `request` with `status`, copying what RFC 3261 §8.2.6.2 says a response
/// carries: every Via (in order), From, To, Call-ID and CSeq. When `to_tag` is given and the To
/// header has no tag yet, the tag is added (a UAS adds one to every response but 100, §8.2.6.2).
pub fn response_to(request: &Request, status: StatusCode, to_tag: Option<&str>) -> Response {
    let mut response = Response {
        status_code: status,
        version: request.version.clone(),
        ..Response::default()
    };
    for header in request.headers.iter() {
        match header {
            Header::Via(_) | Header::From(_) | Header::CallId(_) | Header::CSeq(_) => {
                response.headers.push(header.clone())
            }
            Header::To(to) => {
                let value = match to_tag {
                    Some(tag) if !has_tag_param(to.value()) => format!("{};tag={tag}", to.value()),
                    _ => to.value().to_string(),
                };
                response
                    .headers
                    .push(Header::To(rsip::headers::To::new(value)));
            }
            _ => {}
        }
    }
    response
}

/// `503 Service Unavailable` with `Retry-After` (RFC 3261 §21.5.4) and `Content-Length: 0`,
/// sent statelessly when a new request cannot be taken for load: by the transport when the
/// core's queue is full, by the transaction layer at its limit.
pub fn overloaded(request: &Request, retry_after: std::time::Duration) -> Response {
    let mut response = response_to(request, StatusCode::ServiceUnavailable, None);
    response
        .headers
        .push(Header::RetryAfter(rsip::headers::RetryAfter::new(
            retry_after.as_secs().to_string(),
        )));
    response
        .headers
        .push(Header::ContentLength(rsip::headers::ContentLength::new(
            "0",
        )));
    response
}

fn has_tag_param(to_value: &str) -> bool {
    // Parameters follow the closing `>` of a name-addr, or the whole value for an addr-spec.
    let params = match to_value.rfind('>') {
        Some(end) => &to_value[end..],
        None => to_value,
    };
    params.split(';').skip(1).any(|p| {
        p.trim()
            .get(..3)
            .is_some_and(|n| n.eq_ignore_ascii_case("tag"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsip::headers::UntypedHeader;
    use rsip::prelude::HeadersExt;

    fn options() -> Request {
        let raw = "OPTIONS sip:sb@127.0.0.1 SIP/2.0\r\n\
            Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n\
            Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-0\r\n\
            Max-Forwards: 70\r\n\
            From: <sip:a@127.0.0.1>;tag=abc\r\n\
            To: <sip:sb@127.0.0.1>\r\n\
            Call-ID: c1@127.0.0.1\r\n\
            CSeq: 1 OPTIONS\r\n\
            Content-Length: 0\r\n\r\n";
        Request::try_from(raw.as_bytes()).expect("test request parses")
    }

    #[test]
    fn response_copies_dialog_headers_and_adds_to_tag() {
        let response = response_to(&options(), StatusCode::OK, Some("sb1"));
        let vias: Vec<_> = response
            .headers
            .iter()
            .filter(|h| matches!(h, Header::Via(_)))
            .collect();
        assert_eq!(vias.len(), 2);
        assert_eq!(response.call_id_header().unwrap().value(), "c1@127.0.0.1");
        assert_eq!(
            response.to_header().unwrap().value(),
            "<sip:sb@127.0.0.1>;tag=sb1"
        );
        assert!(
            !response
                .headers
                .iter()
                .any(|h| matches!(h, Header::MaxForwards(_)))
        );
    }

    #[test]
    fn overloaded_is_503_with_retry_after_and_empty_body() {
        let response = overloaded(&options(), std::time::Duration::from_secs(7));
        assert_eq!(response.status_code.code(), 503);
        assert!(
            response
                .headers
                .iter()
                .any(|h| matches!(h, Header::RetryAfter(r) if r.value() == "7"))
        );
        assert!(
            response
                .headers
                .iter()
                .any(|h| matches!(h, Header::ContentLength(l) if l.value() == "0"))
        );
    }

    #[test]
    fn existing_to_tag_is_kept() {
        assert!(has_tag_param("<sip:x@y>;tag=1"));
        assert!(has_tag_param("sip:x@y; TAG=1"));
        assert!(!has_tag_param("<sip:x@y;tagx=1>"));
    }
}
