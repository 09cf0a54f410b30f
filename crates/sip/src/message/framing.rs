//! Cutting messages out of datagrams and byte streams (RFC 3261 §18.3, RFC 5626 §3.5.1).

use super::error::ParseError;
use super::raw;

/// Size limits applied before and during parsing; anything larger is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest UDP datagram accepted (bigger ones are dropped unanswered).
    pub max_datagram: usize,
    /// Largest message (head and body) accepted on any transport.
    pub max_message: usize,
    /// Most header fields in one message (a fold does not start a new field).
    pub max_headers: usize,
    /// Longest physical header line, in bytes, CRLF excluded.
    pub max_header_line: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_datagram: 65_535,
            max_message: 65_535,
            max_headers: 256,
            max_header_line: 8_192,
        }
    }
}

/// One unit cut from a transport's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A whole message (start line, head and exactly Content-Length body bytes); feed it to
    /// [`parse`](super::parse).
    Message(&'a [u8]),
    /// An RFC 5626 §3.5.1 keep-alive ping (CRLF CRLF): answer with a CRLF pong.
    KeepAlive,
}

/// Cuts the next frame from a stream (TCP/TLS) buffer, the mini-redis way: `Ok(None)` means
/// "need more bytes", `Ok(Some((frame, consumed)))` gives the frame and how many bytes of `buf`
/// to discard. Content-Length is mandatory on streams (RFC 3261 §18.3).
///
/// A lone leading CRLF (a keep-alive pong, or the stray CRLF RFC 3261 §7.5 says to ignore) is
/// skipped and counted in `consumed`; CRLF CRLF is a [`Frame::KeepAlive`] ping.
///
/// An `Err` means the stream can no longer be framed: send
/// [`error_response`](super::error_response) if there is one, then close the connection.
pub fn next_frame<'a>(
    buf: &'a [u8],
    limits: &Limits,
) -> Result<Option<(Frame<'a>, usize)>, ParseError> {
    let mut skipped = 0;
    loop {
        let rest = buf.get(skipped..).unwrap_or(&[]);
        match rest {
            [b'\r', b'\n', b'\r', b'\n', ..] => return Ok(Some((Frame::KeepAlive, skipped + 4))),
            // Could be the first half of a ping: wait for two more bytes.
            [b'\r', b'\n'] | [b'\r', b'\n', b'\r'] | [b'\r'] => return Ok(None),
            [b'\r', b'\n', ..] => skipped += 2,
            _ => break,
        }
    }
    let rest = buf.get(skipped..).unwrap_or(&[]);
    let Some(head_len) = raw::head_end(rest) else {
        if rest.len() > limits.max_message {
            return Err(ParseError::MessageTooLarge {
                len: rest.len(),
                max: limits.max_message,
            });
        }
        return Ok(None);
    };
    let head = raw::split_head(
        rest.get(..head_len - 4).unwrap_or(&[]),
        limits.max_header_line,
    )?;
    let body_len = raw::content_length(&head.fields)?.ok_or(ParseError::MissingContentLength)?;
    let total = head_len.saturating_add(body_len);
    if total > limits.max_message {
        return Err(ParseError::MessageTooLarge {
            len: total,
            max: limits.max_message,
        });
    }
    match rest.get(..total) {
        Some(message) => Ok(Some((Frame::Message(message), skipped + total))),
        None => Ok(None),
    }
}

/// Classifies one UDP datagram: too large → [`ParseError::DatagramTooLarge`] (drop it), only
/// CRLFs → [`Frame::KeepAlive`], otherwise the message bytes (leading CRLFs removed). Body
/// framing (Content-Length against the datagram) is checked by [`parse`](super::parse).
pub fn datagram_frame<'a>(datagram: &'a [u8], limits: &Limits) -> Result<Frame<'a>, ParseError> {
    if datagram.len() > limits.max_datagram {
        return Err(ParseError::DatagramTooLarge {
            len: datagram.len(),
            max: limits.max_datagram,
        });
    }
    let skip = raw::leading_crlf(datagram);
    match datagram.get(skip..) {
        Some(rest) if !rest.is_empty() => Ok(Frame::Message(rest)),
        _ => Ok(Frame::KeepAlive),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 4\r\n\r\nbody";

    #[test]
    fn stream_frames_whole_messages_and_waits_for_partial_ones() {
        let mut buf = OPTIONS.to_vec();
        buf.extend_from_slice(b"OPTIONS sip:a@b SIP/2.0\r\nl: 2\r\n\r\nx");
        let limits = Limits::default();
        let (frame, used) = next_frame(&buf, &limits).unwrap().unwrap();
        assert_eq!(frame, Frame::Message(OPTIONS));
        assert_eq!(used, OPTIONS.len());
        // The second message is one body byte short.
        assert_eq!(next_frame(&buf[used..], &limits).unwrap(), None);
    }

    #[test]
    fn crlf_crlf_is_a_ping_and_single_crlf_is_skipped() {
        let limits = Limits::default();
        assert_eq!(
            next_frame(b"\r\n\r\nOPTIONS", &limits).unwrap(),
            Some((Frame::KeepAlive, 4))
        );
        assert_eq!(next_frame(b"\r\n", &limits).unwrap(), None);
        let mut buf = b"\r\n".to_vec();
        buf.extend_from_slice(OPTIONS);
        assert_eq!(
            next_frame(&buf, &limits).unwrap(),
            Some((Frame::Message(OPTIONS), OPTIONS.len() + 2))
        );
    }

    #[test]
    fn stream_requires_content_length_and_bounds_size() {
        let limits = Limits {
            max_message: 64,
            ..Limits::default()
        };
        assert_eq!(
            next_frame(b"OPTIONS sip:a@b SIP/2.0\r\n\r\n", &limits),
            Err(ParseError::MissingContentLength)
        );
        assert!(matches!(
            next_frame(b"OPTIONS sip:a@b SIP/2.0\r\nl: 1000\r\n\r\n", &limits),
            Err(ParseError::MessageTooLarge { .. })
        ));
        assert!(matches!(
            next_frame(&[b'A'; 65], &limits),
            Err(ParseError::MessageTooLarge { len: 65, .. })
        ));
    }

    #[test]
    fn oversized_datagrams_are_dropped() {
        let limits = Limits::default();
        let big = vec![b'A'; 65_536];
        let err = datagram_frame(&big, &limits).unwrap_err();
        assert_eq!(err.response(), None);
        assert_eq!(
            datagram_frame(b"\r\n\r\n", &limits).unwrap(),
            Frame::KeepAlive
        );
        assert_eq!(
            datagram_frame(b"\r\nOPTIONS", &limits).unwrap(),
            Frame::Message(b"OPTIONS")
        );
    }
}
