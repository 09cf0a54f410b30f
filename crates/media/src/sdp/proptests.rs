//! Property tests: the parser never panics, and printing then parsing gives back the model.

use proptest::prelude::*;

use super::*;

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_.+-]{1,12}"
}

fn text() -> impl Strategy<Value = String> {
    "[ -~]{0,24}"
}

fn connection() -> impl Strategy<Value = Connection> {
    (token(), token()).prop_map(|(address_type, address)| Connection {
        address_type,
        address,
    })
}

fn bandwidth() -> impl Strategy<Value = Bandwidth> {
    (token(), any::<u64>()).prop_map(|(kind, value)| Bandwidth { kind, value })
}

fn attribute() -> impl Strategy<Value = Attribute> {
    // "x-" keeps clear of the attributes whose values the parser checks.
    (token(), proptest::option::of(text())).prop_map(|(name, value)| Attribute {
        name: format!("x-{name}"),
        value,
    })
}

fn lines(kinds: &'static [char], max: usize) -> impl Strategy<Value = Vec<OtherLine>> {
    proptest::collection::vec((proptest::sample::select(kinds), text()), 0..max).prop_map(
        |mut v| {
            // The printer groups lines by kind position; generate them already grouped.
            v.sort_by_key(|(k, _)| kinds.iter().position(|c| c == k));
            v.into_iter()
                .map(|(kind, value)| OtherLine { kind, value })
                .collect()
        },
    )
}

fn media() -> impl Strategy<Value = MediaDescription> {
    (
        token(),
        any::<u16>(),
        proptest::option::of(any::<u16>()),
        "[A-Z]{1,4}(/[A-Z]{1,5}){0,2}",
        proptest::collection::vec(token(), 1..6),
        lines(&['i', 'k'], 3),
        proptest::option::of(connection()),
        proptest::collection::vec(bandwidth(), 0..3),
        proptest::collection::vec(attribute(), 0..6),
    )
        .prop_map(
            |(
                media,
                port,
                port_count,
                protocol,
                formats,
                extra,
                connection,
                bandwidths,
                attributes,
            )| {
                MediaDescription {
                    media,
                    port,
                    port_count,
                    protocol,
                    formats,
                    extra,
                    connection,
                    bandwidths,
                    attributes,
                }
            },
        )
}

fn session() -> impl Strategy<Value = SessionDescription> {
    (
        (token(), token(), token(), connection()),
        text(),
        proptest::option::of(connection()),
        proptest::collection::vec(bandwidth(), 0..3),
        (any::<u64>(), any::<u64>()),
        lines(&['i', 'u', 'e', 'p', 't', 'r', 'z', 'k'], 4),
        proptest::collection::vec(attribute(), 0..4),
        proptest::collection::vec(media(), 0..4),
    )
        .prop_map(
            |(
                (username, session_id, session_version, address),
                session_name,
                connection,
                bandwidths,
                (start, stop),
                extra,
                attributes,
                media,
            )| {
                SessionDescription {
                    origin: Origin {
                        username,
                        session_id,
                        session_version,
                        address,
                    },
                    session_name,
                    connection,
                    bandwidths,
                    timing: Timing { start, stop },
                    extra,
                    attributes,
                    media,
                }
            },
        )
}

/// Lines that look like SDP, in any order, with arbitrary values: reaches deeper than bytes.
fn sdp_like() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        (
            proptest::sample::select(&['v', 'o', 's', 'c', 'b', 't', 'm', 'a', 'i', 'x'][..]),
            prop_oneof![
                text(),
                Just("0".to_owned()),
                Just("- 1 1 IN IP4 1.2.3.4".to_owned()),
                Just("IN IP4 0.0.0.0".to_owned()),
                Just("audio 4000 RTP/AVP 0 8 101".to_owned()),
                Just("rtpmap:101 telephone-event/8000".to_owned()),
                Just("rtcp:99999".to_owned()),
                Just("ptime:NaN".to_owned()),
                Just("sendonly".to_owned()),
            ],
        ),
        0..16,
    )
    .prop_map(|ls| {
        let mut s = String::from("v=0\r\n");
        for (k, v) in ls {
            s.push(k);
            s.push('=');
            s.push_str(&v);
            s.push_str("\r\n");
        }
        s
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = SessionDescription::parse(&bytes);
    }

    #[test]
    fn sdp_like_text_never_panics_and_negotiation_never_panics(body in sdp_like()) {
        if let Ok(sdp) = SessionDescription::parse(body.as_bytes()) {
            let local = LocalMedia::g711("203.0.113.5".parse().unwrap(), 30000);
            let offer = SdpOffer(sdp.clone());
            let _ = LocalSdp::new(1).answer(&offer, &local);
            let ours = LocalSdp::new(1).offer(&local, Direction::SendRecv);
            let _ = accept_answer(&ours, &SdpAnswer(sdp));
        }
    }

    #[test]
    fn parse_of_print_is_identity(sdp in session()) {
        let printed = sdp.to_string();
        let parsed = SessionDescription::parse(printed.as_bytes());
        prop_assert_eq!(parsed, Ok(sdp));
    }

    #[test]
    fn our_answers_parse_back_and_have_one_line_per_offer_line(sdp in session()) {
        let local = LocalMedia::g711("203.0.113.5".parse().unwrap(), 30000);
        if let Ok((answer, _)) = LocalSdp::new(1).answer(&SdpOffer(sdp.clone()), &local) {
            prop_assert_eq!(answer.0.media.len(), sdp.media.len());
            let printed = answer.0.to_string();
            prop_assert_eq!(SessionDescription::parse(printed.as_bytes()), Ok(answer.0));
        }
    }
}
