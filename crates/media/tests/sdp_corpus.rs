//! Offers in the style of the devices Switchboard meets (Asterisk chan_pjsip, FreeSWITCH,
//! Cisco CUCM trunks and IOS gateways, Polycom VVX, Yealink T4x, pjsua 2.x, a WebRTC browser),
//! written from their documentation and typical traces, each with the answer we must give:
//! `tests/data/sdp/NAME.offer.sdp` → `NAME.answer.sdp`, or `NAME.error` for a 488.
//!
//! The answers are golden files: reviewed by hand once, then compared byte for byte. Run with
//! `SDP_CORPUS_BLESS=1` to rewrite them after an intended change, and review the diff.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use switchboard_media::g711::Codec;
use switchboard_media::sdp::{
    Direction, LocalMedia, LocalSdp, NegotiatedMedia, SdpOffer, SessionDescription,
};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/sdp")
}

fn local() -> LocalMedia {
    LocalMedia::g711(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5)), 30000)
}

fn negotiate(name: &str) -> Result<(String, NegotiatedMedia), String> {
    let bytes = std::fs::read(data_dir().join(format!("{name}.offer.sdp"))).unwrap();
    let offer = SessionDescription::parse(&bytes).map_err(|e| format!("parse: {e}"))?;
    LocalSdp::new(1_732_400_000)
        .answer(&SdpOffer(offer), &local())
        .map(|(a, n)| (a.0.to_string(), n))
        .map_err(|e| format!("{} {e}", e.status_code()))
}

#[test]
fn every_offer_gets_its_golden_answer() {
    let bless = std::env::var_os("SDP_CORPUS_BLESS").is_some();
    let mut names: Vec<String> = std::fs::read_dir(data_dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".offer.sdp").map(str::to_owned)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 12, "corpus went missing: {names:?}");
    for name in names {
        let (file, got) = match negotiate(&name) {
            Ok((answer, _)) => (format!("{name}.answer.sdp"), answer),
            Err(e) => (format!("{name}.error"), format!("{e}\n")),
        };
        let path = data_dir().join(&file);
        if bless {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{name}: no {file}; got:\n{got}"));
        assert_eq!(got, expected, "{name}");
    }
}

/// What each answer must mean, beyond its bytes.
#[test]
fn negotiated_media_per_device() {
    struct Case {
        name: &'static str,
        codec: Codec,
        payload_type: u8,
        telephone_event: Option<u8>,
        remote: Option<&'static str>,
        remote_rtcp: Option<&'static str>,
        direction: Direction,
        held: bool,
    }
    let cases = [
        Case {
            name: "asterisk-pjsip",
            codec: Codec::Pcmu,
            payload_type: 0,
            telephone_event: Some(101),
            remote: Some("192.0.2.10:15342"),
            remote_rtcp: Some("192.0.2.10:15343"),
            direction: Direction::SendRecv,
            held: false,
        },
        Case {
            name: "asterisk-hold-sendonly",
            codec: Codec::Pcmu,
            payload_type: 0,
            telephone_event: Some(101),
            remote: Some("192.0.2.10:15342"),
            remote_rtcp: Some("192.0.2.10:15343"),
            direction: Direction::RecvOnly,
            held: true,
        },
        Case {
            // Opus and G.722 first: we take the first G.711, and FreeSWITCH's a=rtcp.
            name: "freeswitch",
            codec: Codec::Pcmu,
            payload_type: 0,
            telephone_event: Some(101),
            remote: Some("192.0.2.20:24570"),
            remote_rtcp: Some("192.0.2.20:24571"),
            direction: Direction::SendRecv,
            held: false,
        },
        Case {
            name: "freeswitch-inactive",
            codec: Codec::Pcmu,
            payload_type: 0,
            telephone_event: Some(101),
            remote: Some("192.0.2.20:24570"),
            remote_rtcp: Some("192.0.2.20:24571"),
            direction: Direction::Inactive,
            held: true,
        },
        Case {
            // Media address differs from the o= address: c= wins.
            name: "cisco-cucm-trunk",
            codec: Codec::Pcma,
            payload_type: 8,
            telephone_event: Some(101),
            remote: Some("192.0.2.40:16384"),
            remote_rtcp: Some("192.0.2.40:16385"),
            direction: Direction::SendRecv,
            held: false,
        },
        Case {
            // G.729 first, Cisco NSE (X-NSE) ignored.
            name: "cisco-ios-gateway",
            codec: Codec::Pcmu,
            payload_type: 0,
            telephone_event: Some(101),
            remote: Some("192.0.2.50:17202"),
            remote_rtcp: Some("192.0.2.50:17203"),
            direction: Direction::SendRecv,
            held: false,
        },
        Case {
            // RFC 2543 hold: c=0.0.0.0, no direction attribute.
            name: "cisco-ios-gateway-hold-0000",
            codec: Codec::Pcmu,
            payload_type: 0,
            telephone_event: Some(101),
            remote: None,
            remote_rtcp: None,
            direction: Direction::RecvOnly,
            held: true,
        },
        Case {
            // Telephone-event on 127; session-level a=sendrecv.
            name: "polycom-vvx",
            codec: Codec::Pcmu,
            payload_type: 0,
            telephone_event: Some(127),
            remote: Some("192.0.2.60:2222"),
            remote_rtcp: Some("192.0.2.60:2223"),
            direction: Direction::SendRecv,
            held: false,
        },
        Case {
            // Session-level a=sendonly applies to the media.
            name: "polycom-vvx-hold",
            codec: Codec::Pcmu,
            payload_type: 0,
            telephone_event: Some(127),
            remote: Some("192.0.2.60:2222"),
            remote_rtcp: Some("192.0.2.60:2223"),
            direction: Direction::RecvOnly,
            held: true,
        },
        Case {
            // A-law first (European provisioning); fmtp before rtpmap is fine.
            name: "yealink-t4x",
            codec: Codec::Pcma,
            payload_type: 8,
            telephone_event: Some(101),
            remote: Some("192.0.2.70:11796"),
            remote_rtcp: Some("192.0.2.70:11797"),
            direction: Direction::SendRecv,
            held: false,
        },
        Case {
            name: "yealink-video",
            codec: Codec::Pcmu,
            payload_type: 0,
            telephone_event: Some(101),
            remote: Some("192.0.2.71:11800"),
            remote_rtcp: Some("192.0.2.71:11801"),
            direction: Direction::SendRecv,
            held: false,
        },
        Case {
            // pjsua: telephone-event/48000 on 101 (for opus) and /8000 on 120: we take 120.
            name: "pjsua",
            codec: Codec::Pcma,
            payload_type: 8,
            telephone_event: Some(120),
            remote: Some("127.0.0.1:4000"),
            remote_rtcp: Some("127.0.0.1:4001"),
            direction: Direction::SendRecv,
            held: false,
        },
        Case {
            name: "pjsua-hold",
            codec: Codec::Pcmu,
            payload_type: 0,
            telephone_event: Some(120),
            remote: Some("127.0.0.1:4000"),
            remote_rtcp: Some("127.0.0.1:4001"),
            direction: Direction::RecvOnly,
            held: true,
        },
    ];
    for c in cases {
        let (_, n) = negotiate(c.name).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert_eq!(n.codec, c.codec, "{}", c.name);
        assert_eq!(n.payload_type, c.payload_type, "{}", c.name);
        assert_eq!(n.telephone_event, c.telephone_event, "{}", c.name);
        assert_eq!(
            n.remote_rtp,
            c.remote.map(|a| a.parse().unwrap()),
            "{}",
            c.name
        );
        assert_eq!(
            n.remote_rtcp,
            c.remote_rtcp.map(|a| a.parse().unwrap()),
            "{}",
            c.name
        );
        assert_eq!(n.local_direction, c.direction, "{}", c.name);
        assert_eq!(n.held_by_remote, c.held, "{}", c.name);
    }
}

#[test]
fn offers_we_cannot_serve_are_488() {
    for name in ["cisco-g729-only", "webrtc-srtp-only"] {
        let e = negotiate(name).unwrap_err();
        assert!(e.starts_with("488 "), "{name}: {e}");
    }
}
