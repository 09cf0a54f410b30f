//! TCP: accept connections (TLS ones arrive here after their handshake, see `tls.rs`), frame messages by Content-Length (RFC 3261 §18.3), answer RFC 5626
//! double-CRLF pings with a CRLF pong, and keep each connection's writer queue bounded.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use dashmap::DashMap;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{Disposition, Queues, TransportConfig, dispose, refuse};
use crate::message::{Frame, next_frame};
use crate::{Peer, Transport};

/// Bytes queued to one connection before it counts as congested.
const WRITE_QUEUE_MESSAGES: usize = 256;

/// A write that makes no progress for this long means the peer stopped reading (or vanished
/// without a RST): the connection is closed and its queued messages dropped. Without it a peer
/// that never reads, then half-closes, held its connection, task and permit forever (e2e test
/// faults_streams.rs); a live peer takes a SIP message (64 KiB at most) far faster.
const WRITE_STALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// How long a connection the peer half-closed stays open for our answers to what it sent (the
/// core answers in milliseconds; a final response that takes longer, to an INVITE, is lost to
/// a peer that half-closes anyway). Without it, answers the core produced after the peer's FIN
/// were dropped (1 run in 6 of faults_streams.rs lost one); with it, a half-closed peer that
/// does not read holds its connection this long at most.
const HALF_CLOSE_LINGER: std::time::Duration = std::time::Duration::from_secs(4);

pub(super) async fn accept_loop(
    listener: TcpListener,
    local: SocketAddr,
    config: Arc<TransportConfig>,
    tx: Queues,
    connections: Arc<DashMap<SocketAddr, mpsc::Sender<Bytes>>>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(config.max_tcp_connections));
    loop {
        let (stream, remote) = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = listener.accept() => match r {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "TCP accept failed");
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics::counter!("switchboard_sip_tcp_refused_total").increment(1);
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let peer = Peer {
            transport: Transport::Tcp,
            remote,
            local,
        };
        let (config, tx, connections, shutdown) = (
            config.clone(),
            tx.clone(),
            connections.clone(),
            shutdown.clone(),
        );
        tracker.spawn(async move {
            let (reader, writer) = stream.into_split();
            let conn = Connection {
                peer,
                config,
                tx,
                connections,
                shutdown,
                gauge: "switchboard_sip_tcp_connections",
            };
            serve(reader, writer, conn).await;
            drop(permit);
        });
    }
}

/// What a stream connection's serving task needs besides its two halves.
pub(super) struct Connection {
    pub(super) peer: Peer,
    pub(super) config: Arc<TransportConfig>,
    pub(super) tx: Queues,
    /// The connection table of this transport: the entry for `peer.remote` is this
    /// connection's writer queue while it is open.
    pub(super) connections: Arc<DashMap<SocketAddr, mpsc::Sender<Bytes>>>,
    pub(super) shutdown: CancellationToken,
    /// Gauge of open connections of this transport.
    pub(super) gauge: &'static str,
}

/// Serves one stream connection, plain TCP or TLS: frames and delivers what it reads, writes
/// what the core sends through a bounded queue, closes on idle, framing error or shutdown.
pub(super) async fn serve<R, W>(mut reader: R, mut writer: W, conn: Connection)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let Connection {
        peer,
        config,
        tx,
        connections,
        shutdown,
        gauge,
    } = conn;
    metrics::gauge!(gauge).increment(1.0);
    let (out_tx, mut out_rx) = mpsc::channel::<Bytes>(WRITE_QUEUE_MESSAGES);
    connections.insert(peer.remote, out_tx.clone());
    let writer_gone = CancellationToken::new();
    let gone = writer_gone.clone();
    let writer_task = tokio::spawn(async move {
        while let Some(bytes) = out_rx.recv().await {
            match tokio::time::timeout(WRITE_STALL_TIMEOUT, writer.write_all(&bytes)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => break,
                Err(_) => {
                    metrics::counter!("switchboard_sip_tcp_write_stalls_total").increment(1);
                    tracing::info!(%peer, "TCP peer stopped reading: closing the connection");
                    break;
                }
            }
            // TLS buffers records: flush so each message leaves now (a no-op on plain TCP).
            if writer.flush().await.is_err() {
                break;
            }
        }
        // The reader stops too: a connection we cannot write to is of no use.
        gone.cancel();
        let _ = tokio::time::timeout(WRITE_STALL_TIMEOUT, writer.shutdown()).await;
    });

    let mut buf = BytesMut::with_capacity(4096);
    let mut half_closed = false;
    'conn: loop {
        let read = tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = writer_gone.cancelled() => break,
            _ = tokio::time::sleep(config.tcp_idle_timeout) => break,
            r = reader.read_buf(&mut buf) => r,
        };
        match read {
            Ok(0) => {
                half_closed = true;
                break;
            }
            Err(_) => break, // reset
            Ok(_) => {}
        }
        loop {
            let (reply, used) = match next_frame(&buf, &config.limits) {
                Ok(None) => break,
                Ok(Some((Frame::KeepAlive, used))) => {
                    // RFC 5626 §4.4.1: a double-CRLF ping gets a single-CRLF pong.
                    (Some(Bytes::from_static(b"\r\n")), used)
                }
                Ok(Some((Frame::Message(message), used))) => {
                    match dispose(message, peer, &config, &tx) {
                        Disposition::Reply(bytes) => (Some(bytes), used),
                        Disposition::Delivered | Disposition::Dropped => (None, used),
                    }
                }
                Err(err) => {
                    // A stream cannot be resynchronised after a framing error: answer if we
                    // can, then close (RFC 3261 §18.3).
                    if let Disposition::Reply(bytes) = refuse(&buf, &err, peer) {
                        let _ = out_tx.try_send(bytes);
                    }
                    break 'conn;
                }
            };
            buf.advance(used);
            if let Some(bytes) = reply {
                let _ = out_tx.try_send(bytes);
            }
        }
    }
    if half_closed {
        // The peer is done sending, not necessarily done reading (a half-close, RFC 793):
        // answers to what it sent may still come from the core, so the connection stays
        // writable a little longer, unless the writer fails first.
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = writer_gone.cancelled() => {}
            _ = tokio::time::sleep(HALF_CLOSE_LINGER) => {}
        }
    }
    connections.remove_if(&peer.remote, |_, sender| sender.same_channel(&out_tx));
    drop(out_tx);
    let _ = writer_task.await;
    metrics::gauge!(gauge).decrement(1.0);
}
