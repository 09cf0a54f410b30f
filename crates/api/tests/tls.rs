//! TLS from `[api.tls]`: the server presents the configured certificate and a client trusting
//! its CA reads the journal; a plaintext client is refused.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use common::*;
use switchboard_api::pb::event_service_client::EventServiceClient;
use switchboard_api::{ApiServer, ApiSettings, JournalPool, TlsFiles, pb};
use switchboard_store::{Store, StoreConfig};
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

#[tokio::test]
async fn tls_server_serves_a_client_that_trusts_its_ca() {
    let tls_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tls");
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        &StoreConfig::new(dir.path().join("sb.db")),
        SystemTime::now(),
    )
    .unwrap();
    let pool = JournalPool::open(&store, 1).unwrap();
    let (live, _) = tokio::sync::broadcast::channel(16);
    let engine = Arc::new(FakeEngine {
        store: Mutex::new(store),
        live: live.clone(),
        state: Default::default(),
    });
    engine.emit(vec![call_event("c1", "support", "1001", 1)]);
    let mut settings = ApiSettings::new(tokens());
    settings.tls = Some(TlsFiles {
        cert: tls_dir.join("server.pem"),
        key: tls_dir.join("server-key.pem"),
    });
    let server = ApiServer::new(&settings, engine, pool, live);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(server.serve_with_listener(listener, std::future::pending()));

    let ca = Certificate::from_pem(std::fs::read(tls_dir.join("ca.pem")).unwrap());
    let channel = Channel::from_shared(format!("https://localhost:{port}"))
        .unwrap()
        .tls_config(
            ClientTlsConfig::new()
                .ca_certificate(ca)
                .domain_name("localhost"),
        )
        .unwrap()
        .connect()
        .await
        .expect("TLS handshake");
    let info = EventServiceClient::with_interceptor(channel, bearer(READ_TOKEN))
        .get_journal_info(pb::GetJournalInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.head_seq, 1);

    // A plaintext HTTP/2 client gets no gRPC answer from the TLS port.
    let plain = Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect()
        .await;
    if let Ok(plain) = plain {
        let result = EventServiceClient::with_interceptor(plain, bearer(READ_TOKEN))
            .get_journal_info(pb::GetJournalInfoRequest {})
            .await;
        assert!(result.is_err());
    }
}
