//! SIP over TLS (RFC 3261 §26.2.1, RFC 5630): a TCP listener whose connections complete a TLS
//! handshake (rustls: TLS 1.2 and 1.3, no client certificates) and are then served exactly like
//! TCP connections, framed by Content-Length with a bounded writer queue.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dashmap::DashMap;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::TransportConfig;
use super::tcp::{Connection, serve};
use crate::{Peer, Transport};

/// A peer that connects and never finishes its handshake holds a connection slot at most this
/// long (a slow-loris guard; a real handshake on loopback or a LAN takes milliseconds).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads a PEM certificate chain and private key into a rustls server configuration (ring
/// provider, safe default protocol versions, no client authentication).
pub fn load_server_config(cert: &Path, key: &Path) -> io::Result<Arc<ServerConfig>> {
    let pem_error = |path: &Path, e: tokio_rustls::rustls::pki_types::pem::Error| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| pem_error(cert, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(cert, e))?;
    if chain.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: no certificate", cert.display()),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| pem_error(key, e))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok(Arc::new(config))
}

/// What the TLS accept loop shares with every connection it accepts.
pub(super) struct Listener {
    pub(super) listener: TcpListener,
    pub(super) local: SocketAddr,
    pub(super) acceptor: TlsAcceptor,
    pub(super) config: Arc<TransportConfig>,
    pub(super) tx: super::Queues,
    pub(super) connections: Arc<DashMap<SocketAddr, mpsc::Sender<Bytes>>>,
    pub(super) tracker: TaskTracker,
    pub(super) shutdown: CancellationToken,
}

pub(super) async fn accept_loop(l: Listener) {
    // Handshakes count against the same cap as served connections.
    let permits = Arc::new(Semaphore::new(l.config.max_tcp_connections));
    loop {
        let (stream, remote) = tokio::select! {
            _ = l.shutdown.cancelled() => return,
            r = l.listener.accept() => match r {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "TLS accept failed");
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics::counter!("switchboard_sip_tls_refused_total").increment(1);
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let conn = Connection {
            peer: Peer {
                transport: Transport::Tls,
                remote,
                local: l.local,
            },
            config: l.config.clone(),
            tx: l.tx.clone(),
            connections: l.connections.clone(),
            shutdown: l.shutdown.clone(),
            gauge: "switchboard_sip_tls_connections",
        };
        let acceptor = l.acceptor.clone();
        l.tracker.spawn(async move {
            let handshake = tokio::select! {
                _ = conn.shutdown.cancelled() => return,
                r = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)) => r,
            };
            match handshake {
                Ok(Ok(tls)) => {
                    let (reader, writer) = tokio::io::split(tls);
                    serve(reader, writer, conn).await;
                }
                Ok(Err(e)) => {
                    metrics::counter!("switchboard_sip_tls_handshake_failures_total").increment(1);
                    tracing::debug!(%remote, error = %e, "TLS handshake failed");
                }
                Err(_) => {
                    metrics::counter!("switchboard_sip_tls_handshake_failures_total").increment(1);
                    tracing::debug!(%remote, "TLS handshake timed out");
                }
            }
            drop(permit);
        });
    }
}
