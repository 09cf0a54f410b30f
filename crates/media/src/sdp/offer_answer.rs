//! The offer/answer model (RFC 3264) for one anchored G.711 audio stream per leg.
//!
//! Switchboard anchors media: every leg negotiates with Switchboard itself, one audio stream,
//! PCMU or PCMA, plus telephone-event (RFC 4733) when the peer offers it.
//!
//! Answering ([`LocalSdp::answer`]):
//! - one m-line in the answer per m-line of the offer, in order (RFC 3264 §6); the first
//!   acceptable audio line is taken, every other line is rejected with port 0 and the offered
//!   format list (§6: a rejected stream keeps a format);
//! - the codec is the *offerer's* first format we support (§6.1: the offerer lists in order of
//!   preference), recognised by rtpmap name and clock, or by static payload type 0/8 without
//!   rtpmap; the answer lists only that codec, so the peer has one choice;
//! - telephone-event is answered with the payload type the offer used (not a fixed 101: pjsua
//!   offers 120, Polycom 127) and only the 8 kHz variant matches G.711;
//! - direction mirrors the offer (sendonly ↔ recvonly, §6.1), and an RFC 2543 hold (`c=` 0.0.0.0,
//!   §8.4) is answered as if the offer were sendonly;
//! - we send 20 ms frames and say `a=ptime:20`; an offer's different ptime is recorded in
//!   [`NegotiatedMedia::remote_ptime`] (RFC 8866 §6.4: a receiver preference, and every G.711
//!   device accepts 20 ms);
//! - no common codec, no audio or only secure profiles: [`NegotiationError`], which the engine
//!   maps to `488 Not Acceptable Here` ([`NegotiationError::status_code`]).
//!
//! Offering ([`LocalSdp::offer`]) serves the agent leg and a re-INVITE without SDP (we offer in
//! the 200, the peer answers in the ACK); [`accept_answer`] reads the peer's answer. The `o=`
//! line keeps one session id per dialog and increments its version only when the description
//! changes (§8, §5).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use thiserror::Error;

use super::description::{
    Attribute, Connection, Direction, MediaDescription, Origin, SessionDescription, Timing,
};
use crate::g711::Codec;

/// An offer, received or sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpOffer(pub SessionDescription);

/// An answer, received or sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpAnswer(pub SessionDescription);

/// What Switchboard can receive, and where, for one leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMedia {
    /// The address the leg's RTP socket is reachable on (the advertised media address).
    pub address: IpAddr,
    /// The leg's RTP port (RTCP on the next port, RFC 3550 §11).
    pub rtp_port: u16,
    /// The codecs we accept, in the order we offer them.
    pub codecs: Vec<Codec>,
    /// The payload type we use for telephone-event when *we* offer; `None` disables RFC 4733.
    pub telephone_event: Option<u8>,
    /// The packetisation we send and ask for.
    pub ptime: Duration,
}

impl LocalMedia {
    /// PCMU then PCMA, telephone-event on 101, 20 ms: what every phone and trunk speaks.
    pub fn g711(address: IpAddr, rtp_port: u16) -> LocalMedia {
        LocalMedia {
            address,
            rtp_port,
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            telephone_event: Some(101),
            ptime: Duration::from_millis(20),
        }
    }
}

/// The outcome of a negotiation: what the leg's RTP stream needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedMedia {
    /// Index of the m-line carrying the stream.
    pub media_index: usize,
    /// The voice codec.
    pub codec: Codec,
    /// Its payload type on this leg (0 or 8, or a dynamic number the peer chose).
    pub payload_type: u8,
    /// The telephone-event payload type, when both sides use RFC 4733.
    pub telephone_event: Option<u8>,
    /// Where to send RTP; `None` when the peer gave 0.0.0.0 or a host name (latching then
    /// learns the address from the first packet).
    pub remote_rtp: Option<SocketAddr>,
    /// Where to send RTCP: `a=rtcp` (RFC 3605) or the RTP port + 1.
    pub remote_rtcp: Option<SocketAddr>,
    /// What *we* do on this stream.
    pub local_direction: Direction,
    /// The peer holds the call: it will not receive (sendonly, inactive or 0.0.0.0).
    pub held_by_remote: bool,
    /// The packetisation the peer asked for, if it said.
    pub remote_ptime: Option<Duration>,
    /// RTCP shares the RTP port (RFC 5761): the offer carried `a=rtcp-mux` and the answer
    /// accepts it, so `remote_rtcp` is the RTP address and RTCP is sent and received on the
    /// RTP socket, told apart by packet type ([`crate::stream::is_rtcp`]).
    pub rtcp_mux: bool,
}

/// Why no media could be agreed. Every variant is answered `488 Not Acceptable Here`
/// (RFC 3261 §21.4.26) when it comes from an offer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NegotiationError {
    /// No audio m-line with a non-zero port and an RTP/AVP(F) profile.
    #[error("no usable audio stream offered")]
    NoAudio,
    /// Audio offered, but in none of our codecs.
    #[error("no common codec (offered {offered})")]
    NoCommonCodec {
        /// The offered encodings, for the log.
        offered: String,
    },
    /// An answer whose m-lines do not match our offer's (RFC 3264 §6).
    #[error("answer has {answer} m-lines, offer had {offer}")]
    MediaCountMismatch {
        /// m-lines in our offer.
        offer: usize,
        /// m-lines in the answer.
        answer: usize,
    },
    /// The answer rejected our audio stream (port 0).
    #[error("the answer rejected the audio stream")]
    Rejected,
}

impl NegotiationError {
    /// The SIP status for a failed offer: 488 Not Acceptable Here.
    pub const fn status_code(&self) -> u16 {
        488
    }
}

/// Our side of the SDP of one dialog: the `o=` line and the last description sent.
#[derive(Debug, Clone)]
pub struct LocalSdp {
    username: String,
    session_id: u64,
    version: u64,
    session_name: String,
    last: Option<SessionDescription>,
}

impl LocalSdp {
    /// Starts a dialog's SDP with a session id (the shell draws it from its seeded RNG or the
    /// clock, RFC 8866 §5.2 suggests an NTP timestamp).
    pub fn new(session_id: u64) -> LocalSdp {
        LocalSdp {
            username: "switchboard".to_owned(),
            session_id,
            version: session_id,
            session_name: "switchboard".to_owned(),
            last: None,
        }
    }

    /// The version the next unchanged description would carry.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Answers an offer (RFC 3264 §6).
    pub fn answer(
        &mut self,
        offer: &SdpOffer,
        local: &LocalMedia,
    ) -> Result<(SdpAnswer, NegotiatedMedia), NegotiationError> {
        let sdp = &offer.0;
        let mut chosen: Option<NegotiatedMedia> = None;
        let mut saw_audio = false;
        let mut offered = String::new();
        let mut media = Vec::with_capacity(sdp.media.len());
        for (index, m) in sdp.media.iter().enumerate() {
            let usable = chosen.is_none() && is_usable_audio(m);
            saw_audio |= usable;
            let picked = if usable {
                pick(sdp, index, local, &mut offered)
            } else {
                None
            };
            match picked {
                Some(n) => {
                    media.push(answer_media(m, &n, local));
                    chosen = Some(n);
                }
                None => media.push(rejected(m)),
            }
        }
        let negotiated = match chosen {
            Some(n) => n,
            None if saw_audio => return Err(NegotiationError::NoCommonCodec { offered }),
            None => return Err(NegotiationError::NoAudio),
        };
        let answer = self.describe(local.address, sdp.timing, media);
        Ok((SdpAnswer(answer), negotiated))
    }

    /// Makes an offer with one audio stream in `direction` (sendonly to put the peer on hold,
    /// sendrecv to resume).
    pub fn offer(&mut self, local: &LocalMedia, direction: Direction) -> SdpOffer {
        let mut formats: Vec<String> = local
            .codecs
            .iter()
            .map(|c| c.payload_type().to_string())
            .collect();
        let mut attributes: Vec<Attribute> = local
            .codecs
            .iter()
            .map(|c| {
                Attribute::value(
                    "rtpmap",
                    format!("{} {}/8000", c.payload_type(), c.encoding_name()),
                )
            })
            .collect();
        if let Some(pt) = local.telephone_event {
            formats.push(pt.to_string());
            attributes.push(Attribute::value(
                "rtpmap",
                format!("{pt} telephone-event/8000"),
            ));
            attributes.push(Attribute::value("fmtp", format!("{pt} 0-15")));
        }
        attributes.push(Attribute::value(
            "ptime",
            local.ptime.as_millis().to_string(),
        ));
        attributes.push(Attribute::property(direction.as_str()));
        let m = MediaDescription {
            media: "audio".to_owned(),
            port: local.rtp_port,
            port_count: None,
            protocol: "RTP/AVP".to_owned(),
            formats,
            extra: Vec::new(),
            connection: None,
            bandwidths: Vec::new(),
            attributes,
        };
        SdpOffer(self.describe(local.address, Timing::default(), vec![m]))
    }

    /// Wraps media lines in our session-level lines, bumping the version only on change.
    fn describe(
        &mut self,
        address: IpAddr,
        timing: Timing,
        media: Vec<MediaDescription>,
    ) -> SessionDescription {
        let mut sdp = SessionDescription {
            origin: Origin {
                username: self.username.clone(),
                session_id: self.session_id.to_string(),
                session_version: self.version.to_string(),
                address: Connection::ip(address),
            },
            session_name: self.session_name.clone(),
            connection: Some(Connection::ip(address)),
            bandwidths: Vec::new(),
            timing,
            extra: Vec::new(),
            attributes: Vec::new(),
            media,
        };
        if let Some(last) = &self.last
            && *last != sdp
        {
            self.version += 1;
            sdp.origin.session_version = self.version.to_string();
        }
        self.last = Some(sdp.clone());
        sdp
    }
}

/// Reads the peer's answer to our offer (RFC 3264 §7).
pub fn accept_answer(
    offer: &SdpOffer,
    answer: &SdpAnswer,
) -> Result<NegotiatedMedia, NegotiationError> {
    let (o, a) = (&offer.0, &answer.0);
    if o.media.len() != a.media.len() {
        return Err(NegotiationError::MediaCountMismatch {
            offer: o.media.len(),
            answer: a.media.len(),
        });
    }
    // The audio line the answerer took: the first usable one in the offer (the same test
    // `answer` applies: media type compared case-insensitively, RTP/AVP(F) only) that the answer
    // did not reject with port 0 (RFC 3264 §6: an answerer may take any one of several offered
    // audio lines). Fuzz findings (sdp target): an offer of `m=auDio`, and an offer whose first
    // audio line had no G.711, made `answer` and this function read different lines.
    let mut usable = o
        .media
        .iter()
        .enumerate()
        .filter(|(_, m)| is_usable_audio(m))
        .map(|(i, _)| i)
        .peekable();
    if usable.peek().is_none() {
        return Err(NegotiationError::NoAudio);
    }
    let index = usable
        .find(|&i| a.media.get(i).is_some_and(|m| m.port != 0))
        .ok_or(NegotiationError::Rejected)?;
    let (om, am) = (&o.media[index], &a.media[index]);
    if am.port == 0 {
        return Err(NegotiationError::Rejected);
    }
    let ours: Vec<Codec> = om
        .payload_types()
        .filter_map(|pt| codec_of(om, pt))
        .collect();
    let mut offered = String::new();
    let (codec, payload_type) = am
        .payload_types()
        .find_map(|pt| {
            let c = codec_of(am, pt);
            note_offered(&mut offered, am, pt);
            c.filter(|c| ours.contains(c)).map(|c| (c, pt))
        })
        .ok_or(NegotiationError::NoCommonCodec { offered })?;
    let offered_dtmf = telephone_event_of(om).is_some();
    let telephone_event = telephone_event_of(am).filter(|_| offered_dtmf);
    let their = effective_direction(a, index);
    let ours_dir = o.direction(index);
    let local_direction = match (
        ours_dir.sends() && their.receives(),
        ours_dir.receives() && their.sends(),
    ) {
        (true, true) => Direction::SendRecv,
        (true, false) => Direction::SendOnly,
        (false, true) => Direction::RecvOnly,
        (false, false) => Direction::Inactive,
    };
    let (remote_rtp, remote_rtcp) = remote_addresses(a, index);
    Ok(NegotiatedMedia {
        media_index: index,
        codec,
        payload_type,
        telephone_event,
        remote_rtp,
        remote_rtcp,
        local_direction,
        held_by_remote: !their.receives(),
        remote_ptime: am.ptime(),
        // We do not offer multiplexing (an answerer may only accept it, RFC 5761 §5.1.1).
        rtcp_mux: false,
    })
}

/// RTP/AVP and RTP/AVPF carry plain RTP; SAVP profiles need SRTP, which we do not do.
fn is_usable_audio(m: &MediaDescription) -> bool {
    m.media.eq_ignore_ascii_case("audio")
        && m.port != 0
        && (m.protocol.eq_ignore_ascii_case("RTP/AVP")
            || m.protocol.eq_ignore_ascii_case("RTP/AVPF"))
}

/// The G.711 codec a payload type names on this m-line (8 kHz mono only).
fn codec_of(m: &MediaDescription, pt: u8) -> Option<Codec> {
    let map = m.rtpmap(pt)?;
    if map.clock_rate != 8000 || map.channels != 1 {
        return None;
    }
    Codec::from_encoding_name(map.encoding)
}

fn telephone_event_of(m: &MediaDescription) -> Option<u8> {
    m.payload_types().find(|pt| {
        m.rtpmap(*pt).is_some_and(|map| {
            map.encoding.eq_ignore_ascii_case("telephone-event") && map.clock_rate == 8000
        })
    })
}

fn note_offered(offered: &mut String, m: &MediaDescription, pt: u8) {
    if !offered.is_empty() {
        offered.push(' ');
    }
    match m.rtpmap(pt) {
        Some(map) => offered.push_str(map.encoding),
        None => offered.push_str(&pt.to_string()),
    }
}

/// The direction an offer or answer states for media `index`, with an RFC 2543 `c=0.0.0.0`
/// hold read as sendonly (RFC 3264 §8.4: the peer will not receive).
fn effective_direction(sdp: &SessionDescription, index: usize) -> Direction {
    let d = sdp.direction(index);
    let unspecified = sdp
        .connection(index)
        .is_some_and(Connection::is_unspecified);
    match d {
        Direction::SendRecv if unspecified => Direction::SendOnly,
        Direction::RecvOnly if unspecified => Direction::Inactive,
        d => d,
    }
}

fn remote_addresses(
    sdp: &SessionDescription,
    index: usize,
) -> (Option<SocketAddr>, Option<SocketAddr>) {
    let Some(m) = sdp.media.get(index) else {
        return (None, None);
    };
    let ip = sdp
        .connection(index)
        .and_then(Connection::ip_addr)
        .filter(|ip| !ip.is_unspecified());
    let rtp = ip.map(|ip| SocketAddr::new(ip, m.port));
    let rtcp = match m.rtcp() {
        Some((port, Some(c))) => c
            .ip_addr()
            .or(ip)
            .filter(|ip| !ip.is_unspecified())
            .map(|ip| SocketAddr::new(ip, port)),
        Some((port, None)) => ip.map(|ip| SocketAddr::new(ip, port)),
        None => ip.map(|ip| SocketAddr::new(ip, m.port.wrapping_add(1))),
    };
    (rtp, rtcp)
}

/// Chooses codec and telephone-event on an acceptable audio m-line of an offer.
fn pick(
    sdp: &SessionDescription,
    index: usize,
    local: &LocalMedia,
    offered: &mut String,
) -> Option<NegotiatedMedia> {
    let m = sdp.media.get(index)?;
    let (codec, payload_type) = m.payload_types().find_map(|pt| {
        note_offered(offered, m, pt);
        codec_of(m, pt)
            .filter(|c| local.codecs.contains(c))
            .map(|c| (c, pt))
    })?;
    let telephone_event = telephone_event_of(m).filter(|_| local.telephone_event.is_some());
    let theirs = effective_direction(sdp, index);
    let (remote_rtp, mut remote_rtcp) = remote_addresses(sdp, index);
    // RFC 5761 §5.1.1: an offer with a=rtcp-mux is accepted by repeating it in the answer.
    let rtcp_mux = m.has_attribute("rtcp-mux");
    if rtcp_mux {
        remote_rtcp = remote_rtp;
    }
    Some(NegotiatedMedia {
        media_index: index,
        codec,
        payload_type,
        telephone_event,
        remote_rtp,
        remote_rtcp,
        local_direction: theirs.reversed(),
        held_by_remote: !theirs.receives(),
        remote_ptime: m.ptime(),
        rtcp_mux,
    })
}

fn answer_media(
    offer: &MediaDescription,
    n: &NegotiatedMedia,
    local: &LocalMedia,
) -> MediaDescription {
    let mut formats = vec![n.payload_type.to_string()];
    let mut attributes = vec![Attribute::value(
        "rtpmap",
        format!("{} {}/8000", n.payload_type, n.codec.encoding_name()),
    )];
    if let Some(pt) = n.telephone_event {
        formats.push(pt.to_string());
        attributes.push(Attribute::value(
            "rtpmap",
            format!("{pt} telephone-event/8000"),
        ));
        attributes.push(Attribute::value("fmtp", format!("{pt} 0-15")));
    }
    attributes.push(Attribute::value(
        "ptime",
        local.ptime.as_millis().to_string(),
    ));
    attributes.push(Attribute::property(n.local_direction.as_str()));
    if n.rtcp_mux {
        attributes.push(Attribute::property("rtcp-mux"));
    }
    MediaDescription {
        media: offer.media.clone(),
        port: local.rtp_port,
        port_count: None,
        protocol: offer.protocol.clone(),
        formats,
        extra: Vec::new(),
        connection: None,
        bandwidths: Vec::new(),
        attributes,
    }
}

fn rejected(offer: &MediaDescription) -> MediaDescription {
    MediaDescription {
        media: offer.media.clone(),
        port: 0,
        port_count: None,
        protocol: offer.protocol.clone(),
        formats: offer.formats.clone(),
        extra: Vec::new(),
        connection: None,
        bandwidths: Vec::new(),
        attributes: Vec::new(),
    }
}

#[cfg(test)]
#[path = "offer_answer_tests.rs"]
mod tests;
