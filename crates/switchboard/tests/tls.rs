//! TLS end to end, with a certificate generated in the test: the daemon serves SIP over TLS
//! (`[sip.tls]`, RFC 3261 §26.2.1, RFC 5630) and the gRPC API over TLS (`[api.tls]`). A phone
//! registers over TLS with digest authentication and is answered on its connection; a CRM
//! client that trusts the certificate gets GetStatus, a plaintext one does not.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use common::digest::answer_challenge;
use common::{Daemon, ScratchDir, demo_config_with, free_port};
use switchboard_api::pb;
use switchboard_api::pb::admin_service_client::AdminServiceClient;
use switchboard_sip::message::{Frame, Limits, next_frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

/// The demo configuration's token and agent 1001's password (config/switchboard.toml).
const DEMO_TOKEN: &str = "demo-token-change-me";
const AGENT: &str = "1001";
const PASSWORD: &str = "secret";
const WAIT: Duration = Duration::from_secs(10);

struct TlsDaemon {
    daemon: Daemon,
    sip_tls: SocketAddr,
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    _config_dir: ScratchDir,
}

/// The daemon with the demo configuration plus `[sip.tls]` and `[api.tls]` using one
/// self-signed certificate for `localhost`.
fn start() -> TlsDaemon {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let dir = ScratchDir::new("tls-config");
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).expect("writing cert.pem");
    std::fs::write(&key_path, signing_key.serialize_pem()).expect("writing key.pem");
    let sip_tls = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port(false)));
    let extra = format!(
        "[sip.tls]\nlisten = \"{sip_tls}\"\ncert = \"{}\"\nkey = \"{}\"\n\n\
         [api.tls]\ncert = \"{}\"\nkey = \"{}\"\n",
        cert_path.display(),
        key_path.display(),
        cert_path.display(),
        key_path.display(),
    );
    let config = demo_config_with(dir.path(), &extra);
    let daemon = Daemon::start_with(&config, Ipv4Addr::LOCALHOST.into());
    TlsDaemon {
        daemon,
        sip_tls,
        cert_pem: cert.pem(),
        cert_der: cert.der().clone(),
        _config_dir: dir,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

async fn connect_sip(d: &TlsDaemon) -> TlsStream<TcpStream> {
    let mut roots = RootCertStore::empty();
    roots.add(d.cert_der.clone()).expect("trust anchor");
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(d.sip_tls)
        .await
        .expect("TCP to the TLS port");
    TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("TLS handshake with the daemon")
}

/// Sends `request` and reads one framed response.
async fn exchange(stream: &mut TlsStream<TcpStream>, request: &str) -> String {
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    let read = async {
        loop {
            if let Ok(Some((Frame::Message(message), _))) = next_frame(&buf, &Limits::default()) {
                return String::from_utf8_lossy(message).into_owned();
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "the daemon closed the TLS connection");
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(WAIT, read)
        .await
        .expect("a response within the deadline")
}

fn register(port: u16, cseq: u32, authorization: Option<&str>) -> String {
    let auth = authorization.map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
    format!(
        "REGISTER sip:switchboard SIP/2.0\r\n\
         Via: SIP/2.0/TLS 127.0.0.1:{port};branch=z9hG4bK-reg-{cseq};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{AGENT}@switchboard>;tag=tls-phone\r\n\
         To: <sip:{AGENT}@switchboard>\r\n\
         Call-ID: tls-register@127.0.0.1\r\n\
         CSeq: {cseq} REGISTER\r\n\
         Contact: <sip:{AGENT}@127.0.0.1:{port};transport=tls>\r\n\
         Expires: 300\r\n\
         {auth}Content-Length: 0\r\n\r\n"
    )
}

#[test]
fn a_phone_registers_over_tls_with_digest_and_is_answered_on_its_connection() {
    let d = start();
    runtime().block_on(async {
        let mut stream = connect_sip(&d).await;
        let port = stream.get_ref().0.local_addr().expect("local").port();

        let challenge = exchange(&mut stream, &register(port, 1, None)).await;
        assert!(challenge.starts_with("SIP/2.0 401 "), "{challenge}");
        assert!(challenge.contains("Via: SIP/2.0/TLS"), "{challenge}");

        let authorization =
            answer_challenge(&challenge, AGENT, PASSWORD, "REGISTER", "sip:switchboard");
        let ok = exchange(&mut stream, &register(port, 2, Some(&authorization))).await;
        assert!(ok.starts_with("SIP/2.0 200 "), "{ok}");
        assert!(
            ok.to_ascii_lowercase().contains(";transport=tls"),
            "the binding keeps its transport: {ok}"
        );

        // OPTIONS to the server itself (no user part): answered 200 with its capabilities.
        let server = d.sip_tls;
        let options = format!(
            "OPTIONS sip:{server};transport=tls SIP/2.0\r\n\
             Via: SIP/2.0/TLS 127.0.0.1:{port};branch=z9hG4bK-opt;rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{AGENT}@switchboard>;tag=o1\r\n\
             To: <sip:{server}>\r\n\
             Call-ID: tls-options@127.0.0.1\r\n\
             CSeq: 1 OPTIONS\r\n\
             Content-Length: 0\r\n\r\n"
        );
        let answer = exchange(&mut stream, &options).await;
        assert!(answer.starts_with("SIP/2.0 200 "), "{answer}");
    });
    let log = d.daemon.log();
    assert!(
        log.contains("sip_tls=Some("),
        "the start-up line names the TLS listener"
    );
}

/// A trunk INVITE for DNIS 201 (queue `support`) with a G.711 offer, over UDP.
fn trunk_invite(local: SocketAddr, target: SocketAddr) -> String {
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {} RTP/AVP 0 8\r\n",
        local.port() + 2
    );
    format!(
        "INVITE sip:201@{target} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-tls-trunk;rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:+15550100@127.0.0.1>;tag=trunk1\r\n\
         To: <sip:201@{target}>\r\n\
         Call-ID: tls-trunk-call@127.0.0.1\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:+15550100@{local}>\r\n\
         Content-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
}

#[test]
fn an_agent_registered_over_tls_is_rung_over_its_tls_connection() {
    let d = start();
    runtime().block_on(async {
        let mut stream = connect_sip(&d).await;
        let port = stream.get_ref().0.local_addr().expect("local").port();
        let challenge = exchange(&mut stream, &register(port, 1, None)).await;
        let authorization =
            answer_challenge(&challenge, AGENT, PASSWORD, "REGISTER", "sip:switchboard");
        let ok = exchange(&mut stream, &register(port, 2, Some(&authorization))).await;
        assert!(ok.starts_with("SIP/2.0 200 "), "{ok}");

        // A trunk call to the support queue: 1001 (Ready on register) is offered it.
        let trunk = tokio::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("udp");
        let local = trunk.local_addr().expect("local");
        trunk
            .send_to(trunk_invite(local, d.daemon.sip).as_bytes(), d.daemon.sip)
            .await
            .expect("send INVITE");
        let mut buf = Vec::new();
        let invite = tokio::time::timeout(WAIT, async {
            loop {
                if let Ok(Some((Frame::Message(m), used))) = next_frame(&buf, &Limits::default()) {
                    let text = String::from_utf8_lossy(m).into_owned();
                    buf.drain(..used);
                    if text.starts_with("INVITE ") {
                        return text;
                    }
                    continue;
                }
                let mut chunk = [0u8; 4096];
                let n = stream.read(&mut chunk).await.expect("read");
                assert!(n > 0, "the daemon closed the TLS connection");
                buf.extend_from_slice(&chunk[..n]);
            }
        })
        .await
        .expect("an INVITE for the agent on its TLS connection");
        assert!(invite.contains("Via: SIP/2.0/TLS "), "{invite}");
        assert!(
            invite.to_ascii_lowercase().contains(";transport=tls>"),
            "our Contact keeps the agent on TLS: {invite}"
        );
        assert!(
            invite.starts_with(&format!("INVITE sip:{AGENT}@127.0.0.1:{port}")),
            "{invite}"
        );
    });
}

#[test]
fn grpc_over_tls_serves_a_client_that_trusts_the_certificate_and_refuses_plaintext() {
    let d = start();
    runtime().block_on(async {
        let channel = Channel::from_shared(format!("https://localhost:{}", d.daemon.grpc.port()))
            .expect("uri")
            .tls_config(
                ClientTlsConfig::new()
                    .ca_certificate(Certificate::from_pem(&d.cert_pem))
                    .domain_name("localhost"),
            )
            .expect("TLS config")
            .connect_timeout(WAIT)
            .connect()
            .await
            .expect("TLS channel to the daemon's gRPC");
        let mut admin = AdminServiceClient::new(channel);
        let mut request = tonic::Request::new(pb::GetStatusRequest {});
        request.metadata_mut().insert(
            "authorization",
            MetadataValue::try_from(format!("Bearer {DEMO_TOKEN}")).expect("ascii"),
        );
        let status = admin
            .get_status(request)
            .await
            .expect("GetStatus over TLS")
            .into_inner();
        assert!(!status.config_digest.is_empty(), "{status:?}");

        // Plaintext HTTP/2 to the TLS port is not a gRPC conversation.
        let plain = async {
            let mut admin =
                AdminServiceClient::connect(format!("http://{}", d.daemon.grpc)).await?;
            admin
                .get_status(pb::GetStatusRequest {})
                .await
                .map_err(|status| Box::new(status) as Box<dyn std::error::Error>)?;
            Ok::<(), Box<dyn std::error::Error>>(())
        };
        let refused = tokio::time::timeout(WAIT, plain).await;
        assert!(
            !matches!(refused, Ok(Ok(()))),
            "a plaintext client was served"
        );
    });
}
