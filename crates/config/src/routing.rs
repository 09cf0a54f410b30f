//! `[[trunk]]`, `[[route]]` and `[[ivr]]`: where calls come from and where a dialled number
//! sends them.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

use crate::names::{AgentId, DigestPassword, IvrName, QueueName, SipUri, TrunkName};

/// A `[[trunk]]`: a SIP peer (carrier, SBC, PBX) allowed to send INVITEs, identified by its
/// source address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trunk {
    /// The name, used in logs, CDRs and metrics labels.
    pub name: TrunkName,
    /// Networks INVITEs from this trunk may come from (IPv4 and IPv6).
    pub sources: Vec<IpNet>,
    /// Outbound dialing through this trunk (click-to-dial, callbacks, routes and transfers to
    /// numbers or URIs); `None`: the trunk only sends us calls.
    pub outbound: Option<OutboundTrunk>,
}

/// How calls leave through a trunk: the INVITE goes to `proxy` (RFC 3261 §8.1.2: an outbound
/// proxy; the Request-URI names the destination at the trunk's host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundTrunk {
    /// Where the INVITEs are sent, IP:port (the core resolves no names).
    pub proxy: SocketAddr,
    /// Digest credentials for 401/407 challenges from the carrier (RFC 3261 §22.2), when it
    /// asks for them.
    pub credentials: Option<TrunkCredentials>,
    /// The number presented as the caller (From user part) on calls we originate; a
    /// callback or click-to-dial presents this, a forwarded customer call its own number.
    pub caller_id: Option<String>,
    /// Prepended to a dialled number (not to a full URI), e.g. `"0"` for an outside line or
    /// `"+1"` for national numbers.
    pub dial_prefix: String,
    /// This trunk carries outbound calls that name no trunk. At most one trunk says so; when
    /// none does, the first trunk with `outbound` is the default.
    pub default: bool,
}

/// A username and password for digest challenges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkCredentials {
    /// The digest username.
    pub username: String,
    /// The password (redacted in `Debug`).
    pub password: DigestPassword,
}

impl OutboundTrunk {
    /// The Request-URI for `destination`: a `sip:`/`sips:` URI is used as it is; a number
    /// (digits, `+`, `*`, `#`) gets the dial prefix and the proxy's address as host. `None`
    /// for anything else (it would not be a valid user part).
    pub fn request_uri(&self, destination: &str) -> Option<String> {
        let destination = destination.trim();
        if let Some(uri) = SipUri::parse(destination) {
            return Some(uri.as_str().to_owned());
        }
        let valid = !destination.is_empty()
            && destination.len() <= 64
            && destination
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '+' | '*' | '#'));
        // A `+` only leads (E.164); `#` travels escaped in a user part (RFC 3261 §25.1).
        let valid = valid && destination.get(1..).is_some_and(|rest| !rest.contains('+'));
        valid.then(|| {
            let number = format!("{}{destination}", self.dial_prefix).replace('#', "%23");
            format!("sip:{number}@{}", self.proxy)
        })
    }
}

impl Trunk {
    /// Whether `source` lies in one of the trunk's networks.
    pub fn admits(&self, source: IpAddr) -> bool {
        self.sources.iter().any(|net| net.contains(&source))
    }

    /// The longest prefix among the trunk's networks containing `source`.
    pub(crate) fn longest_match(&self, source: IpAddr) -> Option<u8> {
        self.sources
            .iter()
            .filter(|net| net.contains(&source))
            .map(IpNet::prefix_len)
            .max()
    }
}

/// Where a call is sent: the target of a route or of a queue's overflow.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// Into a queue.
    Queue(QueueName),
    /// Into an IVR flow.
    Ivr(IvrName),
    /// Straight to one agent.
    Agent(AgentId),
    /// Out to a SIP URI (another PBX, voicemail).
    Uri(SipUri),
}

/// A `[[route]]`: calls to this DNIS (the dialled number, the Request-URI user part) go to
/// `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The dialled number, matched exactly.
    pub dnis: String,
    /// Where matching calls go.
    pub target: Target,
}

/// An `[[ivr]]` flow. Its nodes come with the flow language; for now a flow is declared by name
/// so routes and overflows can refer to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvrFlow {
    /// The name.
    pub name: IvrName,
}
