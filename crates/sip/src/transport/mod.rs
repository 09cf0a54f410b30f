//! The SIP transport shell: UDP and TCP listeners on one address (RFC 3261 §18), optionally a
//! TLS listener on another (RFC 3261 §26.2.1, RFC 5630), the only part of this crate that does
//! I/O.
//!
//! Receive tasks frame and parse messages, stamp `received`/`rport` into the top Via of
//! requests, and hand each message ([`Inbound`]) to the core task. Malformed input is answered
//! `400` straight from here when the error can be routed, otherwise dropped and counted
//! (`switchboard_sip_parse_errors_total`). There is one bounded channel to the core per
//! kind: [`InboundQueues::in_progress`] for responses and requests of dialogs and transactions
//! under way (ACK, BYE, re-INVITE, CANCEL), [`InboundQueues::new_requests`] for requests that
//! start something (a new INVITE, REGISTER, OPTIONS). When the new-request channel is full the
//! request is refused `503` with `Retry-After`; when the other one is full the message is
//! dropped and counted (UDP peers retransmit), so the core never queues without bound. The core
//! drains the in-progress channel first: a flood of new INVITEs can neither crowd out nor delay
//! the BYE of an established call behind it.
//!
//! The UDP socket asks for a [`TransportConfig::udp_receive_buffer`] of 4 MiB (capped by the
//! kernel at `net.core.rmem_max`): with Linux's 208 KiB default a burst of a few hundred
//! datagrams (a re-INVITE storm, an INVITE flood) overflowed it in the e2e fault tests, and the
//! kernel drops without looking at what it drops.
//!
//! Sending is synchronous and never waits for a slow peer: [`TransportHandle::send`] uses
//! `try_send_to` on UDP and a bounded per-connection queue on TCP and TLS.

mod received;
mod tcp;
mod tls;
mod udp;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dashmap::DashMap;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::message::{self, Limits};
use crate::{Peer, Transport};

pub use received::stamp_received;
pub use tls::load_server_config;

/// The optional SIP-over-TLS listener.
#[derive(Debug, Clone)]
pub struct TlsListenerConfig {
    /// Address of the TLS listener (its own port; 5061 by convention).
    pub listen: SocketAddr,
    /// The server's certificate and key, from [`load_server_config`].
    pub server_config: Arc<tokio_rustls::rustls::ServerConfig>,
}

/// Settings of the transport shell.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Address for both the UDP socket and the TCP listener.
    pub listen: SocketAddr,
    /// Size and count limits applied to every message.
    pub limits: Limits,
    /// Capacity of the channel to the core task.
    pub inbound_capacity: usize,
    /// Most TCP connections served at once; further connections are closed on accept.
    pub max_tcp_connections: usize,
    /// A TCP connection with no bytes in either direction for this long is closed.
    pub tcp_idle_timeout: Duration,
    /// Seconds put in `Retry-After` when a new INVITE is refused for overload.
    pub retry_after_seconds: u32,
    /// `SO_RCVBUF` asked for the UDP socket, bytes (the kernel caps it at `rmem_max`).
    pub udp_receive_buffer: usize,
    /// A TLS listener beside UDP and TCP, or none.
    pub tls: Option<TlsListenerConfig>,
}

impl TransportConfig {
    /// Defaults for `listen`.
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            limits: Limits::default(),
            inbound_capacity: 4096,
            max_tcp_connections: 4096,
            tcp_idle_timeout: Duration::from_secs(600),
            retry_after_seconds: 5,
            udp_receive_buffer: 4 * 1024 * 1024,
            tls: None,
        }
    }
}

/// The receiving ends of the channels to the core task.
#[derive(Debug)]
pub struct InboundQueues {
    /// Responses, and requests within a dialog or a transaction under way (ACK, CANCEL):
    /// calls in progress. Read this one first.
    pub in_progress: mpsc::Receiver<Inbound>,
    /// Requests that start something new: a new INVITE, REGISTER, OPTIONS, …
    pub new_requests: mpsc::Receiver<Inbound>,
}

/// The sending ends, one per [`InboundQueues`] channel.
#[derive(Debug, Clone)]
struct Queues {
    in_progress: mpsc::Sender<Inbound>,
    new_requests: mpsc::Sender<Inbound>,
}

/// A parsed message handed to the core task.
#[derive(Debug)]
pub struct Inbound {
    /// Where it came from.
    pub peer: Peer,
    /// The message; requests already carry `received`/`rport` in their top Via.
    pub message: rsip::SipMessage,
    /// When the receive task read it (for queueing-delay metrics).
    pub received_at: Instant,
}

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    /// The UDP socket buffer is full; the datagram was dropped (the transaction layer
    /// retransmits on UDP).
    #[error("UDP send buffer full")]
    WouldBlock,
    /// No open TCP or TLS connection to that peer (Switchboard reuses the connection a phone
    /// opened).
    #[error("no connection to {0}")]
    NoConnection(SocketAddr),
    /// The connection's write queue is full: the peer is not reading.
    #[error("write queue to {0} is full")]
    ConnectionCongested(SocketAddr),
    /// Any other socket error.
    #[error("send failed: {0}")]
    Io(String),
}

/// Cloneable handle for sending messages; cheap to call from the core task.
#[derive(Clone, Debug)]
pub struct TransportHandle {
    udp: Arc<UdpSocket>,
    tcp: Arc<DashMap<SocketAddr, mpsc::Sender<Bytes>>>,
    tls: Arc<DashMap<SocketAddr, mpsc::Sender<Bytes>>>,
    local: SocketAddr,
    tls_local: Option<SocketAddr>,
}

impl TransportHandle {
    /// The bound local address (useful when listening on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The bound TLS listener address, when TLS is on.
    pub fn tls_local_addr(&self) -> Option<SocketAddr> {
        self.tls_local
    }

    /// Sends `bytes` to `peer` without waiting.
    pub fn send(&self, peer: &Peer, bytes: Bytes) -> Result<(), SendError> {
        match peer.transport {
            Transport::Udp => match self.udp.try_send_to(&bytes, peer.remote) {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Err(SendError::WouldBlock),
                Err(e) => Err(SendError::Io(e.to_string())),
            },
            Transport::Tcp | Transport::Tls => {
                let table = match peer.transport {
                    Transport::Tls => &self.tls,
                    _ => &self.tcp,
                };
                let Some(conn) = table.get(&peer.remote) else {
                    return Err(SendError::NoConnection(peer.remote));
                };
                conn.try_send(bytes).map_err(|e| match e {
                    mpsc::error::TrySendError::Full(_) => {
                        SendError::ConnectionCongested(peer.remote)
                    }
                    mpsc::error::TrySendError::Closed(_) => SendError::NoConnection(peer.remote),
                })
            }
        }
    }

    /// A peer for sending over UDP from our listening socket to `remote`.
    pub fn udp_peer(&self, remote: SocketAddr) -> Peer {
        Peer {
            transport: Transport::Udp,
            remote,
            local: self.local,
        }
    }
}

/// Binds UDP and TCP on `config.listen` (and TLS on `config.tls`, if set) and starts the receive
/// tasks on `tracker`.
///
/// Returns the send handle and the receiving ends of the core's channels (each of
/// `config.inbound_capacity`). The tasks stop when `shutdown` is cancelled.
pub async fn start(
    config: TransportConfig,
    tracker: &TaskTracker,
    shutdown: CancellationToken,
) -> std::io::Result<(TransportHandle, InboundQueues)> {
    let udp = Arc::new(bind_udp(config.listen, config.udp_receive_buffer)?);
    let local = udp.local_addr()?;
    // Same port for TCP, also when the caller asked for port 0.
    let tcp_listener = TcpListener::bind(local).await?;
    let tls_listener = match &config.tls {
        Some(tls) => Some(TcpListener::bind(tls.listen).await?),
        None => None,
    };
    let tls_local = match &tls_listener {
        Some(listener) => Some(listener.local_addr()?),
        None => None,
    };
    let (in_progress, in_progress_rx) = mpsc::channel(config.inbound_capacity);
    let (new_requests, new_requests_rx) = mpsc::channel(config.inbound_capacity);
    let tx = Queues {
        in_progress,
        new_requests,
    };
    let rx = InboundQueues {
        in_progress: in_progress_rx,
        new_requests: new_requests_rx,
    };
    let handle = TransportHandle {
        udp: udp.clone(),
        tcp: Arc::new(DashMap::new()),
        tls: Arc::new(DashMap::new()),
        local,
        tls_local,
    };
    let acceptor = config
        .tls
        .as_ref()
        .map(|tls| tokio_rustls::TlsAcceptor::from(tls.server_config.clone()));
    let config = Arc::new(config);
    if let (Some(listener), Some(local), Some(acceptor)) = (tls_listener, tls_local, acceptor) {
        tracker.spawn(tls::accept_loop(tls::Listener {
            listener,
            local,
            acceptor,
            config: config.clone(),
            tx: tx.clone(),
            connections: handle.tls.clone(),
            tracker: tracker.clone(),
            shutdown: shutdown.clone(),
        }));
    }

    tracker.spawn(udp::receive_loop(
        udp,
        local,
        config.clone(),
        tx.clone(),
        shutdown.clone(),
    ));
    tracker.spawn(tcp::accept_loop(
        tcp_listener,
        local,
        config,
        tx,
        handle.tcp.clone(),
        tracker.clone(),
        shutdown,
    ));
    Ok((handle, rx))
}

/// Binds the UDP socket with a receive buffer of `receive_buffer` bytes (best effort: the
/// kernel caps it, and a refusal only leaves the default).
fn bind_udp(listen: SocketAddr, receive_buffer: usize) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(
        Domain::for_address(listen),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    if let Err(e) = socket.set_recv_buffer_size(receive_buffer) {
        tracing::warn!(error = %e, receive_buffer, "could not size the SIP UDP receive buffer");
    }
    socket.set_nonblocking(true)?;
    socket.bind(&listen.into())?;
    tracing::debug!(
        asked = receive_buffer,
        got = socket.recv_buffer_size().unwrap_or(0),
        "SIP UDP receive buffer"
    );
    UdpSocket::from_std(socket.into())
}

/// What the receive side did with one message; shared by UDP, TCP and TLS.
enum Disposition {
    /// Passed to the core.
    Delivered,
    /// Answer these bytes to the sender (400 for malformed, 503 for overload).
    Reply(Bytes),
    /// Nothing to send.
    Dropped,
}

/// Parses one framed message from `peer` and hands it to the core, or decides the reply.
fn dispose(raw: &[u8], peer: Peer, config: &TransportConfig, tx: &Queues) -> Disposition {
    let received_at = Instant::now();
    let mut message = match message::parse(raw, &config.limits) {
        Ok(message) => message,
        Err(err) => return refuse(raw, &err, peer),
    };
    if let rsip::SipMessage::Request(request) = &mut message {
        stamp_top_via(&mut request.headers, peer.remote);
    }
    // A request that starts something new; ACK and CANCEL belong to a transaction under way.
    let is_new = matches!(&message, rsip::SipMessage::Request(r)
        if !has_to_tag(r) && !matches!(r.method, rsip::Method::Ack | rsip::Method::Cancel));
    let queue = if is_new {
        &tx.new_requests
    } else {
        &tx.in_progress
    };
    match queue.try_send(Inbound {
        peer,
        message,
        received_at,
    }) {
        Ok(()) => Disposition::Delivered,
        Err(mpsc::error::TrySendError::Full(inbound)) => {
            metrics::counter!("switchboard_overload_rejections_total").increment(1);
            match inbound.message {
                // RFC 3261 §21.5.4: 503 with Retry-After for a request we cannot take now.
                rsip::SipMessage::Request(request) if is_new => {
                    Disposition::Reply(message::serialize(
                        &message::overloaded(
                            &request,
                            std::time::Duration::from_secs(config.retry_after_seconds.into()),
                        )
                        .into(),
                    ))
                }
                _ => Disposition::Dropped,
            }
        }
        Err(mpsc::error::TrySendError::Closed(_)) => Disposition::Dropped,
    }
}

/// Counts a malformed message and builds the 400 (or 505, 416) when it can be routed.
fn refuse(raw: &[u8], err: &message::ParseError, peer: Peer) -> Disposition {
    metrics::counter!("switchboard_sip_parse_errors_total").increment(1);
    tracing::debug!(%peer, error = %err, "malformed SIP message");
    match message::error_response(raw, err) {
        Some(mut response) => {
            complete_stateless(&mut response, peer.remote);
            Disposition::Reply(message::serialize(&response.into()))
        }
        None => Disposition::Dropped,
    }
}

/// A stateless final response still carries a To tag (RFC 3261 §8.2.6.2) and the top Via the
/// request would have had after `received`/`rport` stamping.
fn complete_stateless(response: &mut rsip::Response, source: SocketAddr) {
    use rsip::headers::UntypedHeader;
    stamp_top_via(&mut response.headers, source);
    for header in response.headers.iter_mut() {
        if let rsip::Header::To(to) = header
            && !to.value().to_ascii_lowercase().contains(";tag=")
        {
            *to =
                rsip::headers::To::new(format!("{};tag=sb{:x}", to.value(), rand::random::<u64>()));
        }
    }
}

/// Stamps `received`/`rport` into the first Via of `headers` (a request's, or the copy in a
/// stateless response to it).
fn stamp_top_via(headers: &mut rsip::Headers, source: SocketAddr) {
    use rsip::headers::UntypedHeader;
    if let Some(rsip::Header::Via(via)) = headers
        .iter_mut()
        .find(|h| matches!(h, rsip::Header::Via(_)))
        && let Some(stamped) = stamp_received(via.value(), source)
    {
        *via = rsip::headers::Via::new(stamped);
    }
}

fn has_to_tag(request: &rsip::Request) -> bool {
    use rsip::prelude::HeadersExt;
    request
        .to_header()
        .ok()
        .and_then(|to| to.tag().ok().flatten())
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> Peer {
        let remote: SocketAddr = "127.0.0.2:5060".parse().unwrap();
        Peer {
            transport: Transport::Udp,
            remote,
            local: "127.0.0.1:5060".parse().unwrap(),
        }
    }

    fn request(method: &str, to_tag: &str, n: usize) -> Vec<u8> {
        format!(
            "{method} sip:201@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK-{n}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.2>;tag=a\r\nTo: <sip:201@127.0.0.1>{to_tag}\r\n\
             Call-ID: c{n}@t\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
        )
        .into_bytes()
    }

    fn code(disposition: &Disposition) -> Option<u16> {
        match disposition {
            Disposition::Reply(bytes) => std::str::from_utf8(bytes)
                .ok()?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok(),
            _ => None,
        }
    }

    #[test]
    fn a_full_new_request_queue_refuses_503_while_calls_in_progress_still_get_through() {
        let mut config = TransportConfig::new("127.0.0.1:5060".parse().unwrap());
        config.inbound_capacity = 4;
        let (in_progress, mut in_progress_rx) = mpsc::channel(config.inbound_capacity);
        let (new_requests, _new_rx) = mpsc::channel(config.inbound_capacity);
        let tx = Queues {
            in_progress,
            new_requests,
        };
        for n in 0..4 {
            let d = dispose(&request("INVITE", "", n), peer(), &config, &tx);
            assert!(matches!(d, Disposition::Delivered));
        }
        // The new-request queue is full: a new INVITE, an OPTIONS are refused 503 + Retry-After...
        let refused = dispose(&request("INVITE", "", 4), peer(), &config, &tx);
        assert_eq!(code(&refused), Some(503));
        let Disposition::Reply(bytes) = &refused else {
            unreachable!()
        };
        assert!(String::from_utf8_lossy(bytes).contains("Retry-After: 5"));
        assert_eq!(
            code(&dispose(&request("OPTIONS", "", 5), peer(), &config, &tx)),
            Some(503)
        );
        // ...while a BYE, an ACK and a re-INVITE of calls in progress still go through, on the
        // queue the core reads first.
        for (method, n) in [("BYE", 6), ("ACK", 7), ("INVITE", 8)] {
            let d = dispose(&request(method, ";tag=b", n), peer(), &config, &tx);
            assert!(matches!(d, Disposition::Delivered), "{method}");
        }
        let mut got = Vec::new();
        while let Ok(inbound) = in_progress_rx.try_recv() {
            if let rsip::SipMessage::Request(r) = inbound.message {
                got.push(r.method.to_string());
            }
        }
        assert_eq!(got, ["BYE", "ACK", "INVITE"]);
    }
}
