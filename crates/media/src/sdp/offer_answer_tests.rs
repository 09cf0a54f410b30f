//! Tests of the sibling module.
use super::*;
use std::net::Ipv4Addr;

fn local() -> LocalMedia {
    LocalMedia::g711(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5)), 30000)
}

fn offer(body: &str) -> SdpOffer {
    SdpOffer(SessionDescription::parse(body.as_bytes()).unwrap())
}

fn audio(formats: &str, attrs: &str) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP {formats}\r\n{attrs}"
    )
}

#[test]
fn picks_the_offerers_first_supported_codec() {
    let o = offer(&audio("18 8 0", ""));
    let (_, n) = LocalSdp::new(1).answer(&o, &local()).unwrap();
    assert_eq!((n.codec, n.payload_type), (Codec::Pcma, 8));
    assert_eq!(n.remote_rtp, Some("192.0.2.1:4000".parse().unwrap()));
    assert_eq!(n.remote_rtcp, Some("192.0.2.1:4001".parse().unwrap()));
}

#[test]
fn telephone_event_payload_type_is_taken_from_the_offer() {
    let o = offer(&audio(
        "0 120",
        "a=rtpmap:120 telephone-event/8000\r\na=fmtp:120 0-16\r\n",
    ));
    let (a, n) = LocalSdp::new(1).answer(&o, &local()).unwrap();
    assert_eq!(n.telephone_event, Some(120));
    assert_eq!(a.0.media[0].formats, ["0", "120"]);
    assert_eq!(a.0.media[0].fmtp(120), Some("0-15"));
}

#[test]
fn wideband_telephone_event_is_not_matched_to_g711() {
    let o = offer(&audio("0 101", "a=rtpmap:101 telephone-event/48000\r\n"));
    let (_, n) = LocalSdp::new(1).answer(&o, &local()).unwrap();
    assert_eq!(n.telephone_event, None);
}

#[test]
fn no_common_codec_is_a_488() {
    let o = offer(&audio("18 9", ""));
    let e = LocalSdp::new(1).answer(&o, &local()).unwrap_err();
    assert_eq!(
        e,
        NegotiationError::NoCommonCodec {
            offered: "G729 G722".into()
        }
    );
    assert_eq!(e.status_code(), 488);
}

#[test]
fn dynamic_payload_type_for_pcmu_is_honoured() {
    let o = offer(&audio("96", "a=rtpmap:96 pcmu/8000\r\n"));
    let (a, n) = LocalSdp::new(1).answer(&o, &local()).unwrap();
    assert_eq!((n.codec, n.payload_type), (Codec::Pcmu, 96));
    assert_eq!(a.0.media[0].rtpmap(96).unwrap().encoding, "PCMU");
}

#[test]
fn sendonly_offer_is_hold_and_answered_recvonly() {
    let o = offer(&audio("0", "a=sendonly\r\n"));
    let (a, n) = LocalSdp::new(1).answer(&o, &local()).unwrap();
    assert!(n.held_by_remote);
    assert_eq!(n.local_direction, Direction::RecvOnly);
    assert_eq!(a.0.direction(0), Direction::RecvOnly);
}

#[test]
fn inactive_offer_is_answered_inactive() {
    let o = offer(&audio("0", "a=inactive\r\n"));
    let (a, n) = LocalSdp::new(1).answer(&o, &local()).unwrap();
    assert!(n.held_by_remote);
    assert_eq!(a.0.direction(0), Direction::Inactive);
}

#[test]
fn zero_address_is_rfc_2543_hold() {
    let o = offer(&audio("0", "").replace("c=IN IP4 192.0.2.1", "c=IN IP4 0.0.0.0"));
    let (a, n) = LocalSdp::new(1).answer(&o, &local()).unwrap();
    assert!(n.held_by_remote);
    assert_eq!(n.remote_rtp, None);
    assert_eq!(a.0.direction(0), Direction::RecvOnly);
}

#[test]
fn recvonly_offer_is_answered_sendonly_and_is_not_hold() {
    let o = offer(&audio("0", "a=recvonly\r\n"));
    let (_, n) = LocalSdp::new(1).answer(&o, &local()).unwrap();
    assert!(!n.held_by_remote);
    assert_eq!(n.local_direction, Direction::SendOnly);
}

#[test]
fn resume_after_hold_bumps_the_version_and_restores_sendrecv() {
    let mut sdp = LocalSdp::new(1000);
    let (a1, _) = sdp.answer(&offer(&audio("0", "")), &local()).unwrap();
    let (a2, held) = sdp
        .answer(&offer(&audio("0", "a=sendonly\r\n")), &local())
        .unwrap();
    let (a3, resumed) = sdp
        .answer(&offer(&audio("0", "a=sendrecv\r\n")), &local())
        .unwrap();
    let (a4, _) = sdp
        .answer(&offer(&audio("0", "a=sendrecv\r\n")), &local())
        .unwrap();
    assert!(held.held_by_remote && !resumed.held_by_remote);
    assert_eq!(resumed.local_direction, Direction::SendRecv);
    let versions: Vec<_> = [a1, a2, a3, a4]
        .iter()
        .map(|a| a.0.origin.session_version.clone())
        .collect();
    // Unchanged answers keep the version (RFC 3264 §8); changes increment it by one.
    assert_eq!(versions, ["1000", "1001", "1002", "1002"]);
}

#[test]
fn one_answer_line_per_offer_line_extra_audio_and_video_rejected() {
    let body = audio("0", "")
        + "m=video 5000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\nm=audio 6000 RTP/AVP 8\r\n";
    let (a, n) = LocalSdp::new(1).answer(&offer(&body), &local()).unwrap();
    assert_eq!(n.media_index, 0);
    let ports: Vec<u16> = a.0.media.iter().map(|m| m.port).collect();
    assert_eq!(ports, [30000, 0, 0]);
    assert_eq!(a.0.media[1].formats, ["96"]);
    assert_eq!(a.0.media[1].media, "video");
}

#[test]
fn secure_profile_alone_is_no_audio() {
    let body = audio("0", "").replace("RTP/AVP", "RTP/SAVP");
    assert_eq!(
        LocalSdp::new(1)
            .answer(&offer(&body), &local())
            .unwrap_err(),
        NegotiationError::NoAudio
    );
}

#[test]
fn answer_copies_the_offers_timing() {
    let body = audio("0", "").replace("t=0 0", "t=3000000000 0");
    let (a, _) = LocalSdp::new(1).answer(&offer(&body), &local()).unwrap();
    assert_eq!(a.0.timing.start, 3_000_000_000);
}

#[test]
fn our_offer_and_their_answer_negotiate() {
    let mut sdp = LocalSdp::new(5);
    let o = sdp.offer(&local(), Direction::SendRecv);
    assert_eq!(o.0.media[0].formats, ["0", "8", "101"]);
    let answer = SdpAnswer(
        SessionDescription::parse(
            audio("8 101", "a=rtpmap:101 telephone-event/8000\r\n").as_bytes(),
        )
        .unwrap(),
    );
    let n = accept_answer(&o, &answer).unwrap();
    assert_eq!((n.codec, n.telephone_event), (Codec::Pcma, Some(101)));
    assert_eq!(n.local_direction, Direction::SendRecv);
}

#[test]
fn our_hold_offer_answered_recvonly_leaves_us_sending_only() {
    let mut sdp = LocalSdp::new(5);
    let o = sdp.offer(&local(), Direction::SendOnly);
    let answer =
        SdpAnswer(SessionDescription::parse(audio("0", "a=recvonly\r\n").as_bytes()).unwrap());
    let n = accept_answer(&o, &answer).unwrap();
    assert_eq!(n.local_direction, Direction::SendOnly);
}

#[test]
fn answer_rejecting_audio_is_an_error() {
    let mut sdp = LocalSdp::new(5);
    let o = sdp.offer(&local(), Direction::SendRecv);
    let answer = SdpAnswer(
        SessionDescription::parse(audio("0", "").replace("4000", "0").as_bytes()).unwrap(),
    );
    assert_eq!(accept_answer(&o, &answer), Err(NegotiationError::Rejected));
}

#[test]
fn rtcp_attribute_overrides_the_default_port() {
    let o = offer(&audio("0", "a=rtcp:4999\r\n"));
    let (_, n) = LocalSdp::new(1).answer(&o, &local()).unwrap();
    assert_eq!(n.remote_rtcp, Some("192.0.2.1:4999".parse().unwrap()));
}

#[test]
fn an_rtcp_mux_offer_is_accepted_and_rtcp_goes_to_the_rtp_port() {
    let o = offer(&audio("0", "a=rtcp-mux\r\n"));
    let (a, n) = LocalSdp::new(1).answer(&o, &local()).unwrap();
    assert!(n.rtcp_mux);
    assert_eq!(n.remote_rtcp, n.remote_rtp);
    assert!(a.0.media[0].has_attribute("rtcp-mux"));
    // Without it, nothing changes.
    let (a, n) = LocalSdp::new(1)
        .answer(&offer(&audio("0", "")), &local())
        .unwrap();
    assert!(!n.rtcp_mux && !a.0.media[0].has_attribute("rtcp-mux"));
}

#[test]
fn accept_answer_reads_the_audio_line_answer_chose_whatever_its_case() {
    // Fuzz finding (sdp target): `answer` took `m=auDio` as audio, `accept_answer` did not, and
    // an SRTP line before it made them pick different m-lines.
    let o = offer(
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
         m=audio 5000 RTP/SAVP 0\r\nm=auDio 4000 RTP/AVP 0 120\r\n\
         a=rtpmap:120 telephone-event/8000\r\n",
    );
    let (answer, answered) = LocalSdp::new(1).answer(&o, &local()).unwrap();
    let accepted = accept_answer(&o, &answer).unwrap();
    assert_eq!(answered.media_index, 1);
    assert_eq!(accepted.media_index, 1);
    assert_eq!(accepted.codec, Codec::Pcmu);
}

#[test]
fn accept_answer_reads_the_audio_line_the_answer_accepted_when_the_first_is_rejected() {
    // Fuzz finding (sdp target): the first audio line has no G.711, so `answer` rejects it
    // (port 0) and takes the second; reading the answer must take the second too.
    let o = offer(
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
         m=audio 1111 RTP/AVP 9\r\nm=audio 2222 RTP/AVP 9 8\r\n",
    );
    let (answer, answered) = LocalSdp::new(1).answer(&o, &local()).unwrap();
    assert_eq!(answer.0.media[0].port, 0);
    let accepted = accept_answer(&o, &answer).unwrap();
    assert_eq!((answered.media_index, accepted.media_index), (1, 1));
    assert_eq!(accepted.codec, Codec::Pcma);
}
