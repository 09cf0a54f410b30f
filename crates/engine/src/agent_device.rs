//! Where an agent's phone is. In order: the contact it registered last (RFC 3261 §10), the
//! device named when it was logged in through the API, or the static `contact` of its
//! configuration (an agent behind a PBX, Asterisk's static queue member `SIP/peer`).
//!
//! A device that did not register is reached over UDP at the host and port of its URI, which
//! must be an IP address: the engine does no DNS (RFC 3263) lookups, like the outbound trunk.

use std::net::{IpAddr, SocketAddr};

use switchboard_sip::{Peer, Transport};

use crate::engine::Engine;

/// Why a device URI cannot be rung.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum DeviceError {
    /// Not a `sip:` URI rsip can read.
    #[error("{0:?} is not a SIP URI")]
    Unreadable(String),
    /// The host is a name: it would need DNS.
    #[error("{0:?}: the host must be an IP address (no DNS lookups)")]
    NeedsDns(String),
    /// `sips:` or `;transport=tcp|tls`: an unregistered device is rung over UDP only.
    #[error("{0:?}: an unregistered device is reached over UDP only")]
    StreamOnly(String),
}

/// A device URI checked for ringing: the Request-URI to send and where to send it.
pub(crate) fn device_target(text: &str) -> Result<(rsip::Uri, SocketAddr), DeviceError> {
    let uri = rsip::Uri::try_from(text).map_err(|_| DeviceError::Unreadable(text.to_owned()))?;
    if !matches!(uri.scheme, Some(rsip::Scheme::Sip)) {
        return Err(DeviceError::StreamOnly(text.to_owned()));
    }
    let udp = uri.params.iter().all(|p| match p {
        rsip::Param::Transport(t) => matches!(t, rsip::Transport::Udp),
        _ => true,
    });
    if !udp {
        return Err(DeviceError::StreamOnly(text.to_owned()));
    }
    let ip = match &uri.host_with_port.host {
        rsip::Host::IpAddr(ip) => *ip,
        rsip::Host::Domain(name) => name
            .to_string()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .map_err(|_| DeviceError::NeedsDns(text.to_owned()))?,
    };
    let port = uri
        .host_with_port
        .port
        .as_ref()
        .map_or(5060, |p| *p.value());
    Ok((uri, SocketAddr::new(ip, port)))
}

impl Engine {
    /// The Request-URI and peer to INVITE `agent` at, if it has a device.
    pub(crate) fn agent_device(&self, agent: &str) -> Option<(rsip::Uri, Peer)> {
        if let Some(binding) = self
            .registrar
            .bindings(agent)
            .max_by_key(|b| b.registered_at)
        {
            return Some((binding.contact.clone(), binding.peer));
        }
        let text = self.login_devices.get(agent).cloned().or_else(|| {
            self.config
                .agent(agent)?
                .contact
                .as_ref()
                .map(|c| c.as_str().to_owned())
        })?;
        let (uri, remote) = device_target(&text).ok()?;
        let peer = Peer {
            transport: Transport::Udp,
            remote,
            local: self.config.server.sip_listen,
        };
        Some((uri, peer))
    }

    /// Whether `agent` can be rung at all.
    pub(crate) fn has_device(&self, agent: &str) -> bool {
        self.agent_device(agent).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_with_an_ip_host_is_rung_at_its_port_or_5060() {
        let (uri, addr) = device_target("sip:1001@127.0.0.1:5072").unwrap();
        assert_eq!(addr, "127.0.0.1:5072".parse().unwrap());
        assert_eq!(uri.to_string(), "sip:1001@127.0.0.1:5072");
        let (_, addr) = device_target("sip:1001@10.0.0.7").unwrap();
        assert_eq!(addr, "10.0.0.7:5060".parse().unwrap());
        let (_, addr) = device_target("sip:1001@[::1]:5080").unwrap();
        assert_eq!(addr, "[::1]:5080".parse().unwrap());
    }

    #[test]
    fn device_that_needs_dns_or_a_stream_transport_is_refused() {
        assert!(matches!(
            device_target("sip:1001@pbx.example.com"),
            Err(DeviceError::NeedsDns(_))
        ));
        assert!(matches!(
            device_target("sip:1001@127.0.0.1;transport=tcp"),
            Err(DeviceError::StreamOnly(_))
        ));
        assert!(matches!(
            device_target("sips:1001@127.0.0.1"),
            Err(DeviceError::StreamOnly(_))
        ));
        assert!(matches!(
            device_target("mailto:x@y"),
            Err(DeviceError::Unreadable(_)) | Err(DeviceError::StreamOnly(_))
        ));
    }
}
