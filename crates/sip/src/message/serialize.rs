//! From `rsip::SipMessage` to wire bytes.

use bytes::{BufMut, Bytes, BytesMut};
use rsip::{Header, SipMessage};

/// Serialises `message` for the wire: start line, headers in order, a Content-Length equal to
/// the body length (any Content-Length already present is replaced, in place of the first one,
/// RFC 3261 §20.14), an empty line, then the body bytes untouched (rsip's `Display` would
/// lossily re-encode a binary body as UTF-8).
pub fn serialize(message: &SipMessage) -> Bytes {
    let (headers, body) = match message {
        SipMessage::Request(r) => (&r.headers, &r.body),
        SipMessage::Response(r) => (&r.headers, &r.body),
    };
    let mut out = BytesMut::with_capacity(512 + body.len());
    let start_line = match message {
        SipMessage::Request(r) => format!("{} {} {}\r\n", r.method, r.uri, r.version),
        SipMessage::Response(r) => format!("{} {}\r\n", r.version, r.status_code),
    };
    out.put_slice(start_line.as_bytes());
    let content_length = format!("Content-Length: {}\r\n", body.len());
    let mut wrote_length = false;
    for header in headers.iter() {
        if matches!(header, Header::ContentLength(_)) {
            if !wrote_length {
                out.put_slice(content_length.as_bytes());
                wrote_length = true;
            }
            continue;
        }
        out.put_slice(header.to_string().as_bytes());
        out.put_slice(b"\r\n");
    }
    if !wrote_length {
        out.put_slice(content_length.as_bytes());
    }
    out.put_slice(b"\r\n");
    out.put_slice(body);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Limits, parse};

    #[test]
    fn content_length_is_rewritten_to_the_body_length() {
        let raw = b"MESSAGE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
            From: <sip:c@d>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 MESSAGE\r\n\
            Content-Length: 3\r\n\r\n\x00\xff\x01";
        let mut message = parse(raw, &Limits::default()).unwrap();
        message.body_mut().push(0x80);
        let wire = serialize(&message);
        assert!(wire.ends_with(b"Content-Length: 4\r\n\r\n\x00\xff\x01\x80"));
        let reparsed = parse(&wire, &Limits::default()).unwrap();
        assert_eq!(reparsed.body(), &[0x00, 0xff, 0x01, 0x80]);
    }
}
