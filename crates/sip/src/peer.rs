//! Where a message came from or goes to: the transport and the remote address.

use std::fmt;
use std::net::SocketAddr;

/// The transport a SIP message travels on (RFC 3261 §18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// One message per datagram; requests and responses are retransmitted by the transaction layer.
    Udp,
    /// A byte stream framed by Content-Length (RFC 3261 §18.3); reliable, so no retransmissions.
    Tcp,
}

impl Transport {
    /// Whether the transport is reliable (RFC 3261 §17: timers A, E, G only run on unreliable ones).
    pub fn is_reliable(self) -> bool {
        matches!(self, Transport::Tcp)
    }

    /// The token used in a Via header's sent-protocol (`SIP/2.0/UDP`).
    pub fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.via_token())
    }
}

/// The far end of a message: which transport and which address.
///
/// For UDP, `remote` is the datagram's source (responses go back there, RFC 3261 §18.2.2 with
/// RFC 3581 `rport`). For TCP, `(local, remote)` names the connection a response must reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    /// The transport the message used.
    pub transport: Transport,
    /// The remote socket address as seen on the wire.
    pub remote: SocketAddr,
    /// Our local socket address the message arrived on (or leaves from).
    pub local: SocketAddr,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport, self.remote)
    }
}
