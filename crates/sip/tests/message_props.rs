//! Property tests: serialise/parse round trip, and no input makes the receive path panic.

use proptest::prelude::*;
use rsip::headers::UntypedHeader;
use rsip::message::HasHeaders;
use rsip::{Header, Headers, Method, Request, SipMessage};
use switchboard_sip::message::{
    Limits, SipHeaders, datagram_frame, error_response, next_frame, parse, serialize,
};

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9.!%*_+`'~-]{0,15}"
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        prop::sample::select(Method::all()),
        // Extension methods: upper-case letters that are not a known method name.
        "[A-Z]{3,12}X".prop_filter_map("an extension token", |t| {
            t.parse::<Method>().ok().filter(Method::is_extension)
        }),
    ]
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,10}(\\.[a-z][a-z0-9]{0,6}){1,3}",
        (1u8..=254, 0u8..=255, 0u8..=255, 1u8..=254)
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
    ]
}

prop_compose! {
    fn request()(
        method in method(),
        user in "[a-z][a-z0-9._-]{0,10}",
        host in host(),
        port in prop::option::of(1024u16..65535),
        branch in "[A-Za-z0-9]{1,16}",
        from_tag in token(),
        to_tag in prop::option::of(token()),
        call_id in "[A-Za-z0-9.!%*_+`'~-]{1,24}(@[a-z0-9.]{1,12})?",
        seq in 0u32..(1 << 31),
        max_forwards in 0u8..=255,
        extra in prop::collection::vec(("X-[A-Za-z0-9-]{1,12}", "[ -~]{0,40}"), 0..4),
        body in prop::collection::vec(any::<u8>(), 0..300),
    ) -> Request {
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let uri = rsip::Uri::try_from(format!("sip:{user}@{host}{port}").as_str())
            .expect("generated URI parses");
        let to = match &to_tag {
            Some(tag) => format!("<sip:{user}@{host}>;tag={tag}"),
            None => format!("<sip:{user}@{host}>"),
        };
        let mut headers: Vec<Header> = vec![
            Header::Via(rsip::headers::Via::new(format!("SIP/2.0/UDP {host}{port};branch=z9hG4bK{branch}"))),
            Header::MaxForwards(rsip::headers::MaxForwards::new(max_forwards.to_string())),
            Header::From(rsip::headers::From::new(format!("\"Caller\" <sip:caller@{host}>;tag={from_tag}"))),
            Header::To(rsip::headers::To::new(to)),
            Header::CallId(rsip::headers::CallId::new(call_id)),
            Header::CSeq(rsip::headers::CSeq::new(format!("{seq} {method}"))),
        ];
        headers.extend(
            extra
                .into_iter()
                .map(|(name, value)| Header::Other(name, value.trim().to_string())),
        );
        headers.push(Header::ContentLength(rsip::headers::ContentLength::new(body.len().to_string())));
        Request { method, uri, version: rsip::Version::V2, headers: Headers::from(headers), body }
    }
}

proptest! {
    #[test]
    fn parse_of_serialize_is_identity_for_generated_requests(request in request()) {
        let message = SipMessage::Request(request);
        let wire = serialize(&message);
        let parsed = parse(&wire, &Limits::default());
        prop_assert_eq!(parsed.as_ref(), Ok(&message));
        // And the stream framer cuts exactly this message back out of a byte stream.
        let mut stream = wire.to_vec();
        stream.extend_from_slice(b"\r\n\r\n");
        let (frame, used) = next_frame(&stream, &Limits::default()).unwrap().unwrap();
        prop_assert_eq!(used, wire.len());
        prop_assert_eq!(frame, switchboard_sip::message::Frame::Message(&wire[..]));
    }

    #[test]
    fn generated_requests_read_their_typed_headers(request in request()) {
        let cseq = request.cseq().unwrap();
        prop_assert_eq!(cseq.method, request.method);
        prop_assert!(request.top_via().unwrap().branch().is_some());
        prop_assert!(request.from_tag().unwrap().is_some());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        receive_path(&bytes);
    }

    #[test]
    fn mutated_messages_never_panic(
        request in request(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut bytes = serialize(&SipMessage::Request(request)).to_vec();
        for (at, byte, kind) in edits {
            if bytes.is_empty() {
                break;
            }
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => { bytes.remove(i); }
            }
        }
        receive_path(&bytes);
    }
}

fn receive_path(bytes: &[u8]) {
    let limits = Limits::default();
    let _ = datagram_frame(bytes, &limits);
    let _ = next_frame(bytes, &limits);
    match parse(bytes, &limits) {
        Ok(message) => {
            // Whatever parsed must serialise and read without panicking too.
            let _ = serialize(&message);
            let _ = message.vias();
            let _ = message.contacts();
            let _ = message.routes();
        }
        Err(err) => {
            if let Some(response) = error_response(bytes, &err) {
                let _ = serialize(&SipMessage::Response(response));
            }
        }
    }
}

#[test]
fn header_value_order_survives_round_trip() {
    let raw = b"INVITE sip:a@b.example SIP/2.0\r\n\
        Via: SIP/2.0/UDP p1.example;branch=z9hG4bK1, SIP/2.0/UDP p2.example;branch=z9hG4bK2\r\n\
        Route: <sip:r1.example;lr>\r\nRoute: <sip:r2.example;lr>, <sip:r3.example;lr>\r\n\
        From: <sip:c@d>;tag=1\r\nTo: <sip:a@b.example>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\
        Content-Length: 0\r\n\r\n";
    let message = parse(raw, &Limits::default()).unwrap();
    let again = parse(&serialize(&message), &Limits::default()).unwrap();
    let hosts = |m: &SipMessage| -> Vec<String> {
        m.routes()
            .unwrap()
            .iter()
            .map(|r| r.uri.host_with_port.to_string())
            .collect()
    };
    assert_eq!(hosts(&again), ["r1.example", "r2.example", "r3.example"]);
    assert_eq!(again.vias().unwrap().len(), 2);
    assert_eq!(
        again.headers().iter().find_map(|h| match h {
            Header::Via(v) => Some(v.value().to_string()),
            _ => None,
        }),
        Some(
            "SIP/2.0/UDP p1.example;branch=z9hG4bK1, SIP/2.0/UDP p2.example;branch=z9hG4bK2".into()
        )
    );
}
