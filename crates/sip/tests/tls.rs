//! SIP over TLS through the transport shell (RFC 3261 §26.2.1, RFC 5630), with a certificate
//! generated in the test: a client that trusts it sends OPTIONS and gets the core's answer on
//! the same connection; a client that does not, or speaks plain SIP to the TLS port, gets
//! nothing delivered.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use switchboard_sip::Transport;
use switchboard_sip::message::{SipHeaders, response_to, serialize};
use switchboard_sip::transport::{self, TlsListenerConfig, TransportConfig, load_server_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const WAIT: Duration = Duration::from_secs(5);

struct Pki {
    cert_der: CertificateDer<'static>,
    dir: tempfile::TempDir,
}

/// A self-signed certificate for `localhost`, written as PEM files for the listener.
fn make_pki() -> Pki {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), signing_key.serialize_pem()).unwrap();
    Pki {
        cert_der: cert.der().clone(),
        dir,
    }
}

fn client(trusted: &CertificateDer<'static>) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    roots.add(trusted.clone()).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

async fn start(
    pki: &Pki,
) -> (
    transport::TransportHandle,
    transport::InboundQueues,
    CancellationToken,
) {
    let server_config = load_server_config(
        &pki.dir.path().join("cert.pem"),
        &pki.dir.path().join("key.pem"),
    )
    .unwrap();
    let mut config = TransportConfig::new("127.0.0.1:0".parse().unwrap());
    config.tls = Some(TlsListenerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        server_config,
    });
    let shutdown = CancellationToken::new();
    let (handle, rx) = transport::start(config, &TaskTracker::new(), shutdown.clone())
        .await
        .unwrap();
    (handle, rx, shutdown)
}

fn options(local_port: u16) -> String {
    format!(
        "OPTIONS sip:switchboard@localhost SIP/2.0\r\n\
         Via: SIP/2.0/TLS 127.0.0.1:{local_port};branch=z9hG4bK-tls-1;rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sips:1001@localhost>;tag=t1\r\n\
         To: <sips:switchboard@localhost>\r\n\
         Call-ID: tls-options-1\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

#[tokio::test]
async fn options_over_tls_reaches_the_core_and_the_answer_returns_on_the_same_connection() {
    let pki = make_pki();
    let (handle, mut rx, shutdown) = start(&pki).await;
    let tls_addr = handle.tls_local_addr().unwrap();
    assert_ne!(tls_addr.port(), handle.local_addr().port());

    let tcp = TcpStream::connect(tls_addr).await.unwrap();
    let local_port = tcp.local_addr().unwrap().port();
    let mut stream = client(&pki.cert_der)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    // A keep-alive ping first (RFC 5626 §4.4.1), then the request.
    stream.write_all(b"\r\n\r\n").await.unwrap();
    stream
        .write_all(options(local_port).as_bytes())
        .await
        .unwrap();

    let inbound = tokio::time::timeout(WAIT, rx.new_requests.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(inbound.peer.transport, Transport::Tls);
    assert_eq!(inbound.peer.local, tls_addr);
    let rsip::SipMessage::Request(request) = inbound.message else {
        panic!("not a request");
    };
    assert_eq!(request.call_id().unwrap(), "tls-options-1");
    assert!(request.top_via().is_ok());

    let mut pong = [0u8; 2];
    tokio::time::timeout(WAIT, stream.read_exact(&mut pong))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&pong, b"\r\n");

    let response = response_to(&request, rsip::StatusCode::OK, Some("sb1"));
    let bytes: Bytes = serialize(&response.into());
    handle.send(&inbound.peer, bytes.clone()).unwrap();
    let mut got = vec![0u8; bytes.len()];
    tokio::time::timeout(WAIT, stream.read_exact(&mut got))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8(got).unwrap();
    assert!(text.starts_with("SIP/2.0 200 OK\r\n"), "{text}");
    assert!(text.contains("Via: SIP/2.0/TLS 127.0.0.1:"), "{text}");
    // RFC 3581 rport, stamped on receipt, names the client's end of the TLS connection.
    assert!(text.contains(&format!(";rport={local_port}")), "{text}");

    // The connection is known only as TLS: a TCP send to the same address finds nothing.
    let tcp_peer = switchboard_sip::Peer {
        transport: Transport::Tcp,
        ..inbound.peer
    };
    assert!(handle.send(&tcp_peer, bytes).is_err());
    shutdown.cancel();
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_certificate_or_speaks_plain_sip_delivers_nothing() {
    let pki = make_pki();
    let (handle, mut rx, shutdown) = start(&pki).await;
    let tls_addr = handle.tls_local_addr().unwrap();

    // Trusting another certificate: the client refuses the handshake.
    let other = make_pki();
    let tcp = TcpStream::connect(tls_addr).await.unwrap();
    let refused = client(&other.cert_der)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await;
    assert!(refused.is_err());

    // Plain SIP to the TLS port: not a ClientHello, the server drops the connection.
    let mut plain = TcpStream::connect(tls_addr).await.unwrap();
    plain.write_all(options(5060).as_bytes()).await.unwrap();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(WAIT, plain.read(&mut buf))
        .await
        .unwrap();
    // Closed (0 bytes), reset, or a TLS alert record (content type 21) — never a SIP answer.
    if let Ok(n) = read
        && n > 0
    {
        assert_eq!(buf[0], 21, "{:?}", &buf[..n]);
    }
    assert!(
        rx.new_requests.try_recv().is_err() && rx.in_progress.try_recv().is_err(),
        "nothing reached the core"
    );
    shutdown.cancel();
}

#[test]
fn missing_or_garbage_pem_files_are_refused_with_the_path() {
    let keys = make_pki();
    let cert = keys.dir.path().join("cert.pem");
    let garbage = keys.dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a pem file").unwrap();
    let err = load_server_config(&cert, &keys.dir.path().join("absent.pem")).unwrap_err();
    assert!(err.to_string().contains("absent.pem"), "{err}");
    let err = load_server_config(&garbage, &keys.dir.path().join("key.pem")).unwrap_err();
    assert!(err.to_string().contains("garbage.pem"), "{err}");
}
