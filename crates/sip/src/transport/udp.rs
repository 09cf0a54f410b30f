//! The UDP receive loop: one datagram, one message (RFC 3261 §18.3).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use super::{Disposition, Queues, TransportConfig, dispose, refuse};
use crate::message::{Frame, datagram_frame};
use crate::{Peer, Transport};

pub(super) async fn receive_loop(
    socket: Arc<UdpSocket>,
    local: SocketAddr,
    config: Arc<TransportConfig>,
    tx: Queues,
    shutdown: CancellationToken,
) {
    // One byte more than the limit, so an oversize datagram is seen as oversize, not truncated.
    let mut buf = vec![0u8; config.limits.max_datagram + 1];
    loop {
        let (len, remote) = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = socket.recv_from(&mut buf) => match r {
                Ok(r) => r,
                Err(e) => {
                    // ICMP port unreachable surfaces here on some systems; keep serving.
                    tracing::debug!(error = %e, "UDP receive error");
                    continue;
                }
            },
        };
        metrics::counter!("switchboard_sip_datagrams_received_total").increment(1);
        let peer = Peer {
            transport: Transport::Udp,
            remote,
            local,
        };
        let datagram = buf.get(..len).unwrap_or_default();
        let disposition = match datagram_frame(datagram, &config.limits) {
            // RFC 5626 §4.4.1 uses STUN on UDP; a bare CRLF ping is answered by nothing.
            Ok(Frame::KeepAlive) => continue,
            Ok(Frame::Message(message)) => dispose(message, peer, &config, &tx),
            Err(err) => refuse(datagram, &err, peer),
        };
        if let Disposition::Reply(bytes) = disposition {
            // RFC 3261 §18.2.2 + RFC 3581: answer to the source address of the packet.
            let _ = socket.try_send_to(&bytes, remote);
        }
    }
}
