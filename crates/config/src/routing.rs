//! `[[trunk]]`, `[[route]]` and `[[ivr]]`: where calls come from and where a dialled number
//! sends them.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::names::{AgentId, IvrName, QueueName, SipUri, TrunkName};

/// A `[[trunk]]`: a SIP peer (carrier, SBC, PBX) allowed to send INVITEs, identified by its
/// source address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trunk {
    /// The name, used in logs, CDRs and metrics labels.
    pub name: TrunkName,
    /// Networks INVITEs from this trunk may come from (IPv4 and IPv6).
    pub sources: Vec<IpNet>,
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
