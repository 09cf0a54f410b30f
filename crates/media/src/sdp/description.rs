//! The SDP data model (RFC 8866, which obsoletes RFC 4566) and its printer.
//!
//! The model keeps every line it parsed, in order, so a description we relay or log reads as
//! it arrived; attributes stay generic `name[:value]` pairs with typed accessors on top
//! ([`MediaDescription::rtpmaps`], [`MediaDescription::direction`], …), so an attribute we do not
//! know is carried, never rejected. Printing follows the RFC 8866 §5 line order and ends every
//! line with CRLF.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// A whole session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// `o=` (RFC 8866 §5.2).
    pub origin: Origin,
    /// `s=` (§5.3).
    pub session_name: String,
    /// `c=` at session level (§5.7), the default for media without their own.
    pub connection: Option<Connection>,
    /// `b=` lines at session level (§5.8).
    pub bandwidths: Vec<Bandwidth>,
    /// The first `t=` (§5.9). RFC 3264 §6: an answer copies the offer's.
    pub timing: Timing,
    /// Session-level lines we do not interpret (`i= u= e= p= r= z= k=`, further `t=`), in order.
    pub extra: Vec<OtherLine>,
    /// Session-level `a=` lines (§5.13).
    pub attributes: Vec<Attribute>,
    /// The `m=` sections (§5.14), in order.
    pub media: Vec<MediaDescription>,
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The user name, `-` when there is none.
    pub username: String,
    /// The session id: a numeric string, kept as text so no value a device sends is refused.
    pub session_id: String,
    /// The version, incremented by its owner on every change (RFC 3264 §8).
    pub session_version: String,
    /// Network and address of the originator.
    pub address: Connection,
}

/// `c=IN <addrtype> <address>` (also the address part of `o=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// `IP4` or `IP6` (or another token, carried as-is).
    pub address_type: String,
    /// The address (possibly a host name, or with a multicast `/ttl` suffix), as written.
    pub address: String,
}

impl Connection {
    /// An `IN IP4`/`IN IP6` connection for `ip`.
    pub fn ip(ip: IpAddr) -> Connection {
        Connection {
            address_type: match ip {
                IpAddr::V4(_) => "IP4",
                IpAddr::V6(_) => "IP6",
            }
            .to_owned(),
            address: ip.to_string(),
        }
    }

    /// The address as an IP, if it is a literal one.
    pub fn ip_addr(&self) -> Option<IpAddr> {
        self.address.parse().ok()
    }

    /// `c=IN IP4 0.0.0.0` (or `::`): the RFC 2543 way to put a call on hold (RFC 3264 §8.4).
    pub fn is_unspecified(&self) -> bool {
        self.ip_addr().is_some_and(|ip| ip.is_unspecified())
    }
}

/// `b=<bwtype>:<bandwidth>` (§5.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    /// `AS`, `CT`, `TIAS`, `RR`, `RS`…
    pub kind: String,
    /// The value (kbit/s for AS and CT, bit/s for TIAS).
    pub value: u64,
}

/// `t=<start-time> <stop-time>` (§5.9); `0 0` for a permanent session, what telephony uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timing {
    /// NTP seconds, 0 for unbounded.
    pub start: u64,
    /// NTP seconds, 0 for unbounded.
    pub stop: u64,
}

/// A line carried without interpretation: its type letter and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherLine {
    /// The type letter (`i`, `u`, `e`, `p`, `r`, `z`, `k`, `t`).
    pub kind: char,
    /// Everything after `=`.
    pub value: String,
}

impl OtherLine {
    /// Lines printed before `c=` (§5 order: i, u, e, p); the others go after `t=`.
    fn before_connection(&self) -> bool {
        matches!(self.kind, 'i' | 'u' | 'e' | 'p')
    }
}

/// `a=<name>` or `a=<name>:<value>` (§5.13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The attribute name (`rtpmap`, `sendonly`…).
    pub name: String,
    /// The value after the first colon, `None` for a property attribute.
    pub value: Option<String>,
}

impl Attribute {
    /// A property attribute (`a=sendrecv`).
    pub fn property(name: &str) -> Attribute {
        Attribute {
            name: name.to_owned(),
            value: None,
        }
    }

    /// A value attribute (`a=ptime:20`).
    pub fn value(name: &str, value: impl Into<String>) -> Attribute {
        Attribute {
            name: name.to_owned(),
            value: Some(value.into()),
        }
    }
}

/// One `m=` section with its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// `audio`, `video`, `application`, …
    pub media: String,
    /// The transport port; 0 means the stream is rejected or disabled (RFC 3264 §6, §8.2).
    pub port: u16,
    /// The `/<number of ports>` suffix, when present.
    pub port_count: Option<u16>,
    /// `RTP/AVP`, `RTP/SAVP`, `UDP/TLS/RTP/SAVPF`…
    pub protocol: String,
    /// The format list: RTP payload type numbers for RTP protocols.
    pub formats: Vec<String>,
    /// Media-level lines we do not interpret (`i=`, `k=`), in order.
    pub extra: Vec<OtherLine>,
    /// `c=` for this media, overriding the session's.
    pub connection: Option<Connection>,
    /// `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `a=` lines, in order.
    pub attributes: Vec<Attribute>,
}

/// Stream direction (RFC 3264 §5.1, §6.1); `sendrecv` when no attribute says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Both ways.
    #[default]
    SendRecv,
    /// The describer only sends (a phone putting the call on hold, sending its own MOH).
    SendOnly,
    /// The describer only receives.
    RecvOnly,
    /// Neither way (hold from both sides).
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction named by an attribute, if it is one.
    pub fn from_attribute(name: &str) -> Option<Direction> {
        match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    /// The same stream seen from the other end (RFC 3264 §6.1: sendonly is answered with
    /// recvonly, recvonly with sendonly).
    pub const fn reversed(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }

    /// Whether the describer sends media.
    pub const fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether the describer receives media.
    pub const fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }
}

/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]` (§6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpMap<'a> {
    /// The payload type.
    pub payload_type: u8,
    /// The encoding name, as written (compare case-insensitively).
    pub encoding: &'a str,
    /// The RTP clock rate.
    pub clock_rate: u32,
    /// The channel count, for audio; 1 when absent.
    pub channels: u8,
}

impl<'a> RtpMap<'a> {
    /// Parses an rtpmap value; `None` when malformed.
    pub fn parse(value: &'a str) -> Option<RtpMap<'a>> {
        let (pt, rest) = value.split_once(' ')?;
        let payload_type: u8 = pt.trim().parse().ok().filter(|pt| *pt < 128)?;
        let mut parts = rest.trim().split('/');
        let encoding = parts.next().filter(|e| !e.is_empty())?;
        let clock_rate = parts.next()?.parse().ok()?;
        let channels = match parts.next() {
            Some(c) => c.parse().ok()?,
            None => 1,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(RtpMap {
            payload_type,
            encoding,
            clock_rate,
            channels,
        })
    }
}

/// The static payload types of RFC 3551 Table 4 that a telephone may offer without rtpmap.
pub(crate) fn static_rtpmap(payload_type: u8) -> Option<RtpMap<'static>> {
    let (encoding, clock_rate) = match payload_type {
        0 => ("PCMU", 8000),
        3 => ("GSM", 8000),
        4 => ("G723", 8000),
        8 => ("PCMA", 8000),
        9 => ("G722", 8000),
        13 => ("CN", 8000),
        18 => ("G729", 8000),
        _ => return None,
    };
    Some(RtpMap {
        payload_type,
        encoding,
        clock_rate,
        channels: 1,
    })
}

impl MediaDescription {
    /// Values of the attributes called `name`.
    pub fn attribute_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.attributes
            .iter()
            .filter(move |a| a.name == name)
            .filter_map(|a| a.value.as_deref())
    }

    /// Whether a property attribute `name` is present.
    pub fn has_attribute(&self, name: &str) -> bool {
        self.attributes.iter().any(|a| a.name == name)
    }

    /// The explicit direction attribute of this media, if any.
    pub fn direction_attribute(&self) -> Option<Direction> {
        self.attributes
            .iter()
            .find_map(|a| Direction::from_attribute(&a.name))
    }

    /// The well-formed rtpmaps.
    pub fn rtpmaps(&self) -> impl Iterator<Item = RtpMap<'_>> {
        self.attribute_values("rtpmap").filter_map(RtpMap::parse)
    }

    /// The rtpmap of a payload type: its `a=rtpmap`, else the RFC 3551 static assignment.
    pub fn rtpmap(&self, payload_type: u8) -> Option<RtpMap<'_>> {
        self.rtpmaps()
            .find(|m| m.payload_type == payload_type)
            .or_else(|| static_rtpmap(payload_type))
    }

    /// The `a=fmtp` parameters of a payload type.
    pub fn fmtp(&self, payload_type: u8) -> Option<&str> {
        self.attribute_values("fmtp").find_map(|v| {
            let (pt, params) = v.split_once(' ').unwrap_or((v, ""));
            (pt.parse::<u8>().ok() == Some(payload_type)).then_some(params.trim())
        })
    }

    /// `a=ptime` (§6.4), the packetisation the describer wants to receive.
    pub fn ptime(&self) -> Option<Duration> {
        self.attribute_values("ptime")
            .find_map(|v| v.trim().parse::<f64>().ok())
            .filter(|ms| ms.is_finite() && *ms > 0.0 && *ms < 1000.0)
            .map(|ms| Duration::from_micros((ms * 1000.0) as u64))
    }

    /// `a=rtcp:<port> [IN IP4 <addr>]` (RFC 3605): the RTCP port and optional address.
    pub fn rtcp(&self) -> Option<(u16, Option<Connection>)> {
        let v = self.attribute_values("rtcp").next()?;
        let mut parts = v.split_whitespace();
        let port = parts.next()?.parse().ok()?;
        let conn = match (parts.next(), parts.next(), parts.next()) {
            (Some("IN"), Some(t), Some(a)) => Some(Connection {
                address_type: t.to_owned(),
                address: a.to_owned(),
            }),
            _ => None,
        };
        Some((port, conn))
    }

    /// The payload types of the format list (non-numeric formats skipped).
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| f.parse().ok())
    }
}

impl SessionDescription {
    /// The effective direction of media `index`: its own attribute, else the session's
    /// (RFC 3264 §5.1), else sendrecv.
    pub fn direction(&self, index: usize) -> Direction {
        self.media
            .get(index)
            .and_then(MediaDescription::direction_attribute)
            .or_else(|| {
                self.attributes
                    .iter()
                    .find_map(|a| Direction::from_attribute(&a.name))
            })
            .unwrap_or_default()
    }

    /// The effective connection of media `index`: its own `c=`, else the session's.
    pub fn connection(&self, index: usize) -> Option<&Connection> {
        self.media
            .get(index)
            .and_then(|m| m.connection.as_ref())
            .or(self.connection.as_ref())
    }
}

fn write_connection(f: &mut fmt::Formatter<'_>, c: &Connection) -> fmt::Result {
    write!(f, "c=IN {} {}\r\n", c.address_type, c.address)
}

fn write_attributes(f: &mut fmt::Formatter<'_>, attrs: &[Attribute]) -> fmt::Result {
    for a in attrs {
        match &a.value {
            Some(v) => write!(f, "a={}:{}\r\n", a.name, v)?,
            None => write!(f, "a={}\r\n", a.name)?,
        }
    }
    Ok(())
}

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        write!(
            f,
            "v=0\r\no={} {} {} IN {} {}\r\ns={}\r\n",
            o.username,
            o.session_id,
            o.session_version,
            o.address.address_type,
            o.address.address,
            self.session_name
        )?;
        for l in self.extra.iter().filter(|l| l.before_connection()) {
            write!(f, "{}={}\r\n", l.kind, l.value)?;
        }
        if let Some(c) = &self.connection {
            write_connection(f, c)?;
        }
        for b in &self.bandwidths {
            write!(f, "b={}:{}\r\n", b.kind, b.value)?;
        }
        write!(f, "t={} {}\r\n", self.timing.start, self.timing.stop)?;
        for l in self.extra.iter().filter(|l| !l.before_connection()) {
            write!(f, "{}={}\r\n", l.kind, l.value)?;
        }
        write_attributes(f, &self.attributes)?;
        for m in &self.media {
            write!(f, "{m}")?;
        }
        Ok(())
    }
}

impl fmt::Display for MediaDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {}", self.media, self.port)?;
        if let Some(n) = self.port_count {
            write!(f, "/{n}")?;
        }
        write!(f, " {}", self.protocol)?;
        for fmt in &self.formats {
            write!(f, " {fmt}")?;
        }
        f.write_str("\r\n")?;
        for l in self.extra.iter().filter(|l| l.kind == 'i') {
            write!(f, "i={}\r\n", l.value)?;
        }
        if let Some(c) = &self.connection {
            write_connection(f, c)?;
        }
        for b in &self.bandwidths {
            write!(f, "b={}:{}\r\n", b.kind, b.value)?;
        }
        for l in self.extra.iter().filter(|l| l.kind != 'i') {
            write!(f, "{}={}\r\n", l.kind, l.value)?;
        }
        write_attributes(f, &self.attributes)
    }
}
