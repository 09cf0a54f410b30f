//! SIP message layer targets: UDP datagrams and TCP/TLS byte streams through framing, parsing,
//! the typed header reads and the stateless error answer.

use rsip::SipMessage;
use switchboard_sip::message::{
    Frame, Limits, SipHeaders, datagram_frame, error_response, next_frame, parse, serialize,
};

/// Small limits so the fuzzer reaches the "too large" and "too many headers" refusals with
/// inputs it can actually grow to.
fn limits() -> Limits {
    Limits {
        max_datagram: 4_096,
        max_message: 4_096,
        max_headers: 32,
        max_header_line: 512,
    }
}

/// One UDP datagram: [`datagram_frame`] then [`receive`].
pub fn sip_datagram(data: &[u8]) {
    let limits = limits();
    match datagram_frame(data, &limits) {
        Ok(Frame::Message(bytes)) => receive(bytes, &limits),
        Ok(Frame::KeepAlive) | Err(_) => {}
    }
}

/// A TCP/TLS byte stream: cut frames with [`next_frame`] until it needs more bytes or refuses
/// the stream, the way the transport's read loop does. Each step must make progress.
pub fn sip_stream(data: &[u8]) {
    let limits = limits();
    let mut rest = data;
    loop {
        match next_frame(rest, &limits) {
            Ok(Some((frame, consumed))) => {
                assert!(
                    consumed > 0 && consumed <= rest.len(),
                    "next_frame consumed {consumed} of {}",
                    rest.len()
                );
                if let Frame::Message(bytes) = frame {
                    receive(bytes, &limits);
                }
                rest = rest.get(consumed..).unwrap_or_default();
            }
            Ok(None) => {
                // Needing more bytes is only honest below the message limit.
                assert!(
                    rest.len() <= limits.max_message + 4,
                    "waiting on {} bytes",
                    rest.len()
                );
                break;
            }
            Err(error) => {
                let _ = error_response(rest, &error);
                break;
            }
        }
    }
}

/// Parses one framed message. Accepted: every typed header read returns (either way), and the
/// printed form parses again and prints the same. Refused: the stateless answer, if any, is a
/// response that prints and parses back.
fn receive(bytes: &[u8], limits: &Limits) {
    match parse(bytes, limits) {
        Ok(message) => {
            read_typed_headers(&message);
            let wire = serialize(&message);
            let again = match parse(&wire, &Limits::default()) {
                Ok(again) => again,
                Err(error) => panic!(
                    "printed message does not parse again ({error}):\n{}",
                    String::from_utf8_lossy(&wire)
                ),
            };
            assert_eq!(
                serialize(&again),
                wire,
                "printing is not stable across a re-parse"
            );
        }
        Err(error) => {
            // The answer copies Via, From, To, Call-ID and CSeq as received (RFC 3261
            // §8.2.6.2), so it may carry the very header that was refused; it must still be one
            // well-framed message with the status the error names.
            if let Some(response) = error_response(bytes, &error) {
                let wire = serialize(&SipMessage::Response(response));
                match next_frame(&wire, &Limits::default()) {
                    Ok(Some((Frame::Message(m), used))) => {
                        assert_eq!((m.len(), used), (wire.len(), wire.len()), "answer framing");
                    }
                    other => panic!("our {error} answer does not frame: {other:?}"),
                }
                let code = error.response().map(|(code, _)| code);
                let status = wire.get(8..11).and_then(|c| std::str::from_utf8(c).ok());
                assert_eq!(status.and_then(|c| c.parse().ok()), code, "answer status");
            }
        }
    }
}

fn read_typed_headers(message: &SipMessage) {
    let _ = message.vias();
    let _ = message.top_via();
    let _ = message.from_addr();
    let _ = message.to_addr();
    let _ = message.from_tag();
    let _ = message.to_tag();
    let _ = message.call_id();
    let _ = message.cseq();
    let _ = message.contacts();
    let _ = message.max_forwards();
    let _ = message.expires();
    let _ = message.routes();
    let _ = message.record_routes();
    let _ = message.refer_to();
    let _ = message.replaces();
    let _ = message.session_expires();
}
