//! Interim framing and parsing glue until the message layer's framing lands: a thin wrapper
//! over the rsip fork with size limits and stream framing by Content-Length.

use rsip::SipMessage;

/// Size and count limits applied to every message.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest UDP datagram accepted.
    pub max_datagram: usize,
    /// Largest message on a stream.
    pub max_message: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_datagram: 65_535,
            max_message: 65_535,
        }
    }
}

/// Why a message was refused.
#[derive(Debug, thiserror::Error)]
pub(super) enum ParseError {
    /// Larger than the limit.
    #[error("message of {0} bytes exceeds the limit")]
    TooLarge(usize),
    /// The rsip parser refused it.
    #[error("unparsable message: {0}")]
    Syntax(String),
    /// Stream without a usable Content-Length.
    #[error("missing or invalid Content-Length on a stream")]
    ContentLength,
}

/// One unit read from a stream.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Frame {
    /// A whole message of this many bytes.
    Message(usize),
    /// An RFC 5626 double-CRLF keep-alive ping.
    KeepAlive,
}

pub(super) fn parse(bytes: &[u8], limits: &Limits) -> Result<SipMessage, ParseError> {
    if bytes.len() > limits.max_datagram {
        return Err(ParseError::TooLarge(bytes.len()));
    }
    SipMessage::try_from(bytes).map_err(|e| ParseError::Syntax(e.to_string()))
}

pub(super) fn error_response(_raw: &[u8], _err: &ParseError) -> Option<rsip::Response> {
    None
}

/// Finds the next frame at the start of `buf`: `(frame, bytes consumed)` or `None` for "need more".
pub(super) fn next_frame(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(Frame, usize)>, ParseError> {
    if buf.starts_with(b"\r\n\r\n") {
        return Ok(Some((Frame::KeepAlive, 4)));
    }
    if buf == b"\r\n" {
        return Ok(None);
    }
    if buf.starts_with(b"\r\n") {
        return Ok(Some((Frame::KeepAlive, 2)));
    }
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > limits.max_message {
            return Err(ParseError::TooLarge(buf.len()));
        }
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| ParseError::ContentLength)?;
    let length = head
        .split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| {
            let name = name.trim();
            name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l")
        })
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .ok_or(ParseError::ContentLength)?;
    let total = end + 4 + length;
    if total > limits.max_message {
        return Err(ParseError::TooLarge(total));
    }
    if buf.len() < total {
        return Ok(None);
    }
    Ok(Some((Frame::Message(total), total)))
}
