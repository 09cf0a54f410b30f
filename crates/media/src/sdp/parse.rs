//! The SDP parser (RFC 8866 §5, §9 grammar), strict where a field feeds negotiation and
//! tolerant where real devices differ harmlessly.
//!
//! Tolerated: LF without CR (§5 allows it on receipt), blank lines, several spaces between
//! fields, a missing `t=` (taken as `t=0 0`; it carries nothing for telephony), attributes we do
//! not know. Rejected, with the line number: anything not `<letter>=<value>`, an unknown type
//! letter (§5: "MUST … reject"), a missing or second `v=`/`o=`/`s=`, malformed `o=`, `c=`,
//! `b=`, `t=`, `m=` and malformed values of the attributes negotiation reads (`rtpmap`, `fmtp`,
//! `ptime`, `rtcp`). Never panics: every field is checked before use.

use thiserror::Error;

use super::description::{
    Attribute, Bandwidth, Connection, MediaDescription, Origin, OtherLine, RtpMap,
    SessionDescription, Timing,
};

/// Why a body is not a usable session description. The engine answers 400 (or 488 inside an
/// offer/answer exchange) and logs the line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("SDP line {line}: {kind}")]
pub struct SdpParseError {
    /// 1-based line number, 0 when the problem is the body as a whole.
    pub line: usize,
    /// What is wrong.
    pub kind: SdpErrorKind,
}

/// The kinds of [`SdpParseError`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SdpErrorKind {
    /// The body is not UTF-8.
    #[error("not UTF-8")]
    NotUtf8,
    /// The body has no lines.
    #[error("empty session description")]
    Empty,
    /// The first line is not `v=`.
    #[error("the first line must be v=0")]
    MissingVersion,
    /// `v=` other than 0.
    #[error("unsupported SDP version {0:?}")]
    UnsupportedVersion(String),
    /// A line that is not `<letter>=<value>`.
    #[error("line is not <type>=<value>")]
    MalformedLine,
    /// A type letter RFC 8866 does not define.
    #[error("unknown line type {0:?}")]
    UnknownType(char),
    /// A line type that only appears at session level, found inside a media section.
    #[error("{0}= is not allowed in a media section")]
    NotAllowedInMedia(char),
    /// A mandatory line is absent.
    #[error("missing {0}= line")]
    MissingLine(char),
    /// A line that may appear once appears again.
    #[error("second {0}= line")]
    DuplicateLine(char),
    /// Malformed `o=`.
    #[error("malformed o= line")]
    BadOrigin,
    /// Malformed `c=` (or the network type is not IN).
    #[error("malformed c= line")]
    BadConnection,
    /// Malformed `b=`.
    #[error("malformed b= line")]
    BadBandwidth,
    /// Malformed `t=`.
    #[error("malformed t= line")]
    BadTiming,
    /// Malformed `m=` (fewer than four fields).
    #[error("malformed m= line")]
    BadMedia,
    /// A port that is not a number from 0 to 65535.
    #[error("port {0:?} is not a number from 0 to 65535")]
    BadPort(String),
    /// A malformed value of an attribute negotiation relies on.
    #[error("malformed a={0} value")]
    BadAttribute(&'static str),
}

fn err(line: usize, kind: SdpErrorKind) -> SdpParseError {
    SdpParseError { line, kind }
}

impl SessionDescription {
    /// Parses a session description from a message body.
    pub fn parse(body: &[u8]) -> Result<SessionDescription, SdpParseError> {
        let text = std::str::from_utf8(body).map_err(|e| {
            let line = body
                .get(..e.valid_up_to())
                .map_or(0, |ok| ok.iter().filter(|b| **b == b'\n').count() + 1);
            err(line, SdpErrorKind::NotUtf8)
        })?;
        let mut lines = text
            .split('\n')
            .enumerate()
            .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
            .filter(|(_, l)| !l.is_empty())
            .map(|(n, l)| {
                let mut chars = l.chars();
                match (chars.next(), chars.next()) {
                    (Some(kind), Some('=')) if kind.is_ascii_lowercase() => Ok((n, kind, &l[2..])),
                    _ => Err(err(n, SdpErrorKind::MalformedLine)),
                }
            });

        let (n, kind, value) = lines.next().ok_or(err(0, SdpErrorKind::Empty))??;
        if kind != 'v' {
            return Err(err(n, SdpErrorKind::MissingVersion));
        }
        if value.trim() != "0" {
            return Err(err(n, SdpErrorKind::UnsupportedVersion(value.to_owned())));
        }

        let mut origin = None;
        let mut session_name = None;
        let mut connection = None;
        let mut bandwidths = Vec::new();
        let mut timing = None;
        let mut extra = Vec::new();
        let mut attributes = Vec::new();
        let mut media: Vec<MediaDescription> = Vec::new();
        let mut last_line = n;

        for line in lines {
            let (n, kind, value) = line?;
            last_line = n;
            if let Some(m) = media.last_mut() {
                match kind {
                    'm' => media.push(parse_media(n, value)?),
                    'c' if m.connection.is_some() => {
                        return Err(err(n, SdpErrorKind::DuplicateLine('c')));
                    }
                    'c' => m.connection = Some(parse_connection(n, value)?),
                    'b' => m.bandwidths.push(parse_bandwidth(n, value)?),
                    'a' => m.attributes.push(parse_attribute(n, value)?),
                    'i' | 'k' => m.extra.push(OtherLine {
                        kind,
                        value: value.to_owned(),
                    }),
                    'v' | 'o' | 's' | 'u' | 'e' | 'p' | 't' | 'r' | 'z' => {
                        return Err(err(n, SdpErrorKind::NotAllowedInMedia(kind)));
                    }
                    other => return Err(err(n, SdpErrorKind::UnknownType(other))),
                }
                continue;
            }
            match kind {
                'v' => return Err(err(n, SdpErrorKind::DuplicateLine('v'))),
                'o' if origin.is_some() => return Err(err(n, SdpErrorKind::DuplicateLine('o'))),
                'o' => origin = Some(parse_origin(n, value)?),
                's' if session_name.is_some() => {
                    return Err(err(n, SdpErrorKind::DuplicateLine('s')));
                }
                's' => session_name = Some(value.to_owned()),
                'c' if connection.is_some() => {
                    return Err(err(n, SdpErrorKind::DuplicateLine('c')));
                }
                'c' => connection = Some(parse_connection(n, value)?),
                'b' => bandwidths.push(parse_bandwidth(n, value)?),
                't' if timing.is_none() => timing = Some(parse_timing(n, value)?),
                't' | 'i' | 'u' | 'e' | 'p' | 'r' | 'z' | 'k' => extra.push(OtherLine {
                    kind,
                    value: value.to_owned(),
                }),
                'a' => attributes.push(parse_attribute(n, value)?),
                'm' => media.push(parse_media(n, value)?),
                other => return Err(err(n, SdpErrorKind::UnknownType(other))),
            }
        }
        Ok(SessionDescription {
            origin: origin.ok_or(err(last_line, SdpErrorKind::MissingLine('o')))?,
            session_name: session_name.ok_or(err(last_line, SdpErrorKind::MissingLine('s')))?,
            connection,
            bandwidths,
            timing: timing.unwrap_or_default(),
            extra,
            attributes,
            media,
        })
    }
}

fn parse_origin(n: usize, value: &str) -> Result<Origin, SdpParseError> {
    let f: Vec<&str> = value.split_whitespace().collect();
    let [
        username,
        session_id,
        session_version,
        "IN",
        address_type,
        address,
    ] = f[..]
    else {
        return Err(err(n, SdpErrorKind::BadOrigin));
    };
    Ok(Origin {
        username: username.to_owned(),
        session_id: session_id.to_owned(),
        session_version: session_version.to_owned(),
        address: Connection {
            address_type: address_type.to_owned(),
            address: address.to_owned(),
        },
    })
}

fn parse_connection(n: usize, value: &str) -> Result<Connection, SdpParseError> {
    let mut f = value.split_whitespace();
    match (f.next(), f.next(), f.next(), f.next()) {
        (Some("IN"), Some(t), Some(a), None) => Ok(Connection {
            address_type: t.to_owned(),
            address: a.to_owned(),
        }),
        _ => Err(err(n, SdpErrorKind::BadConnection)),
    }
}

fn parse_bandwidth(n: usize, value: &str) -> Result<Bandwidth, SdpParseError> {
    let (kind, v) = value
        .split_once(':')
        .ok_or(err(n, SdpErrorKind::BadBandwidth))?;
    let value = v
        .trim()
        .parse()
        .map_err(|_| err(n, SdpErrorKind::BadBandwidth))?;
    if kind.is_empty() || kind.contains(char::is_whitespace) {
        return Err(err(n, SdpErrorKind::BadBandwidth));
    }
    Ok(Bandwidth {
        kind: kind.to_owned(),
        value,
    })
}

fn parse_timing(n: usize, value: &str) -> Result<Timing, SdpParseError> {
    let mut f = value.split_whitespace();
    match (f.next(), f.next(), f.next()) {
        (Some(a), Some(b), None) => Ok(Timing {
            start: a.parse().map_err(|_| err(n, SdpErrorKind::BadTiming))?,
            stop: b.parse().map_err(|_| err(n, SdpErrorKind::BadTiming))?,
        }),
        _ => Err(err(n, SdpErrorKind::BadTiming)),
    }
}

fn parse_media(n: usize, value: &str) -> Result<MediaDescription, SdpParseError> {
    let mut f = value.split_whitespace();
    let (Some(media), Some(port), Some(protocol)) = (f.next(), f.next(), f.next()) else {
        return Err(err(n, SdpErrorKind::BadMedia));
    };
    let formats: Vec<String> = f.map(str::to_owned).collect();
    if formats.is_empty() {
        return Err(err(n, SdpErrorKind::BadMedia));
    }
    let (port, port_count) = match port.split_once('/') {
        Some((p, c)) => (p, Some(c)),
        None => (port, None),
    };
    let bad_port = || err(n, SdpErrorKind::BadPort(port.to_owned()));
    Ok(MediaDescription {
        media: media.to_owned(),
        port: port.parse().map_err(|_| bad_port())?,
        port_count: port_count
            .map(|c| c.parse().map_err(|_| bad_port()))
            .transpose()?,
        protocol: protocol.to_owned(),
        formats,
        extra: Vec::new(),
        connection: None,
        bandwidths: Vec::new(),
        attributes: Vec::new(),
    })
}

fn parse_attribute(n: usize, value: &str) -> Result<Attribute, SdpParseError> {
    let (name, value) = match value.split_once(':') {
        Some((name, v)) => (name, Some(v)),
        None => (value, None),
    };
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(err(n, SdpErrorKind::MalformedLine));
    }
    let bad = |what| err(n, SdpErrorKind::BadAttribute(what));
    match (name, value) {
        ("rtpmap", v) => {
            v.and_then(RtpMap::parse).ok_or(bad("rtpmap"))?;
        }
        ("fmtp", v) => {
            let v = v.ok_or(bad("fmtp"))?;
            if v.split_whitespace().next().is_none() {
                return Err(bad("fmtp"));
            }
        }
        ("ptime" | "maxptime", v) => {
            let ok = v
                .and_then(|v| v.trim().parse::<f64>().ok())
                .is_some_and(|ms| ms.is_finite() && ms > 0.0);
            if !ok {
                return Err(bad(if name == "ptime" { "ptime" } else { "maxptime" }));
            }
        }
        ("rtcp", v) => {
            let port = v.and_then(|v| v.split_whitespace().next());
            if port.and_then(|p| p.parse::<u16>().ok()).is_none() {
                return Err(bad("rtcp"));
            }
        }
        _ => {}
    }
    Ok(Attribute {
        name: name.to_owned(),
        value: value.map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdp::Direction;

    const ASTERISK: &str = "v=0\r\n\
o=- 1700000000 1700000000 IN IP4 192.0.2.10\r\n\
s=Asterisk\r\n\
c=IN IP4 192.0.2.10\r\n\
t=0 0\r\n\
m=audio 10000 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=maxptime:150\r\n\
a=sendrecv\r\n";

    #[test]
    fn parses_a_typical_offer() {
        let sdp = SessionDescription::parse(ASTERISK.as_bytes()).unwrap();
        assert_eq!(sdp.origin.username, "-");
        assert_eq!(sdp.origin.address.address, "192.0.2.10");
        assert_eq!(sdp.session_name, "Asterisk");
        assert_eq!(sdp.connection.as_ref().unwrap().address, "192.0.2.10");
        let m = &sdp.media[0];
        assert_eq!(
            (m.media.as_str(), m.port, m.protocol.as_str()),
            ("audio", 10000, "RTP/AVP")
        );
        assert_eq!(m.payload_types().collect::<Vec<_>>(), [0, 8, 101]);
        assert_eq!(m.rtpmap(101).unwrap().encoding, "telephone-event");
        assert_eq!(m.fmtp(101), Some("0-16"));
        assert_eq!(m.ptime(), Some(std::time::Duration::from_millis(20)));
        assert_eq!(sdp.direction(0), Direction::SendRecv);
    }

    #[test]
    fn printing_reproduces_the_canonical_input() {
        let sdp = SessionDescription::parse(ASTERISK.as_bytes()).unwrap();
        assert_eq!(sdp.to_string(), ASTERISK);
    }

    #[test]
    fn bare_lf_line_endings_are_accepted() {
        let lf = ASTERISK.replace("\r\n", "\n");
        assert_eq!(
            SessionDescription::parse(lf.as_bytes()).unwrap(),
            SessionDescription::parse(ASTERISK.as_bytes()).unwrap()
        );
    }

    #[test]
    fn static_payload_types_need_no_rtpmap() {
        let sdp = SessionDescription::parse(
            b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8 18\r\n",
        )
        .unwrap();
        assert_eq!(sdp.media[0].rtpmap(8).unwrap().encoding, "PCMA");
        assert_eq!(sdp.media[0].rtpmap(18).unwrap().encoding, "G729");
        assert_eq!(sdp.media[0].rtpmap(96), None);
    }

    #[test]
    fn rtcp_attribute_with_address_is_read() {
        let sdp = SessionDescription::parse(
            b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp:4005 IN IP4 198.51.100.1\r\n",
        )
        .unwrap();
        let (port, conn) = sdp.media[0].rtcp().unwrap();
        assert_eq!(port, 4005);
        assert_eq!(conn.unwrap().address, "198.51.100.1");
    }

    fn error_of(body: &str) -> SdpParseError {
        SessionDescription::parse(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        assert_eq!(error_of(""), err(0, SdpErrorKind::Empty));
        assert_eq!(error_of("o=x\r\n"), err(1, SdpErrorKind::MissingVersion));
        assert_eq!(
            error_of("v=1\r\n"),
            err(1, SdpErrorKind::UnsupportedVersion("1".into()))
        );
        assert_eq!(
            error_of("v=0\r\nhello\r\n"),
            err(2, SdpErrorKind::MalformedLine)
        );
        assert_eq!(
            error_of("v=0\r\no=- 1 1 IN IP4\r\n"),
            err(2, SdpErrorKind::BadOrigin)
        );
        assert_eq!(
            error_of("v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=ATM NSAP x\r\n"),
            err(4, SdpErrorKind::BadConnection)
        );
        assert_eq!(
            error_of("v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 70000 RTP/AVP 0\r\n"),
            err(5, SdpErrorKind::BadPort("70000".into()))
        );
        assert_eq!(
            error_of("v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP\r\n"),
            err(5, SdpErrorKind::BadMedia)
        );
        assert_eq!(
            error_of(
                "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n"
            ),
            err(6, SdpErrorKind::BadAttribute("rtpmap"))
        );
        assert_eq!(
            error_of(
                "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=ptime:abc\r\n"
            ),
            err(6, SdpErrorKind::BadAttribute("ptime"))
        );
        assert_eq!(
            error_of(
                "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\nt=0 0\r\n"
            ),
            err(6, SdpErrorKind::NotAllowedInMedia('t'))
        );
        assert_eq!(
            error_of("v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nx=1\r\n"),
            err(4, SdpErrorKind::UnknownType('x'))
        );
        assert_eq!(
            error_of("v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\ns=again\r\n"),
            err(4, SdpErrorKind::DuplicateLine('s'))
        );
        assert_eq!(
            error_of("v=0\r\ns=-\r\nt=0 0\r\n"),
            err(3, SdpErrorKind::MissingLine('o'))
        );
        assert_eq!(
            SessionDescription::parse(b"v=0\r\n\xff\r\n").unwrap_err(),
            err(2, SdpErrorKind::NotUtf8)
        );
    }

    #[test]
    fn missing_timing_defaults_to_permanent_session() {
        let sdp = SessionDescription::parse(b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\n").unwrap();
        assert_eq!(sdp.timing, Timing { start: 0, stop: 0 });
    }
}
