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
    /// TCP with TLS on top (RFC 3261 §26.2.1, RFC 5630): framed and reliable like TCP; the Via
    /// says `SIP/2.0/TLS`.
    Tls,
}

impl Transport {
    /// Whether the transport is reliable (RFC 3261 §17: timers A, E, G only run on unreliable ones).
    pub fn is_reliable(self) -> bool {
        matches!(self, Transport::Tcp | Transport::Tls)
    }

    /// The token used in a Via header's sent-protocol (`SIP/2.0/UDP`).
    pub fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
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
/// RFC 3581 `rport`). For TCP and TLS, `(local, remote)` names the connection a response must reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    /// The transport the message used.
    pub transport: Transport,
    /// The remote socket address as seen on the wire.
    pub remote: SocketAddr,
    /// Our local socket address the message arrived on (or leaves from).
    pub local: SocketAddr,
}

impl Peer {
    /// Our Contact URI towards this peer (RFC 3261 §8.1.1.8): `sip:{user}@{local}`, plus
    /// `;transport=tcp` or `;transport=tls` on a stream, so the far end sends its in-dialog
    /// requests back over the transport it reached us by (RFC 3261 §19.1.1; RFC 5630 §3.1.3
    /// for `sip:` with TLS rather than `sips:`, which would promise TLS on every hop).
    pub fn contact_uri(&self, user: &str) -> String {
        match self.transport {
            Transport::Udp => format!("sip:{user}@{}", self.local),
            Transport::Tcp => format!("sip:{user}@{};transport=tcp", self.local),
            Transport::Tls => format!("sip:{user}@{};transport=tls", self.local),
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport, self.remote)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(transport: Transport) -> Peer {
        Peer {
            transport,
            remote: "192.0.2.7:40000".parse().unwrap(),
            local: "[2001:db8::1]:5061".parse().unwrap(),
        }
    }

    #[test]
    fn contact_uri_names_the_stream_transport_it_was_reached_by() {
        assert_eq!(
            peer(Transport::Udp).contact_uri("switchboard"),
            "sip:switchboard@[2001:db8::1]:5061"
        );
        assert_eq!(
            peer(Transport::Tcp).contact_uri("sb"),
            "sip:sb@[2001:db8::1]:5061;transport=tcp"
        );
        assert_eq!(
            peer(Transport::Tls).contact_uri("sb"),
            "sip:sb@[2001:db8::1]:5061;transport=tls"
        );
        assert!(Transport::Tls.is_reliable());
        assert_eq!(Transport::Tls.via_token(), "TLS");
    }
}
