//! Starting the gRPC server: the five switchboard.v1 services behind the auth layer, plus
//! `grpc.health.v1` and server reflection, over plain TCP or TLS.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use switchboard_store::Retention;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Identity, Server, ServerTlsConfig};

use crate::auth::{ApiToken, AuthLayer, Scope, TokenTable};
use crate::journal::JournalPool;
use crate::pb;
use crate::seam::{Engine, LiveEvents};
use crate::service::Shared;
use crate::service::admin::Admin;
use crate::service::agents::Agents;
use crate::service::calls::Calls;
use crate::service::events::Events;
use crate::service::queues::Queues;
use crate::subscriptions::Registry;

/// HTTP/2 pings from the server (research cti-api.md §9.5: about 20 s, 10 s timeout), so a dead
/// client's stream is noticed even when it sends nothing.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(20);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Default cap on open event streams.
pub const DEFAULT_MAX_STREAMS: usize = 256;

/// Largest request message a client may send, in bytes (tonic's default is 4 MiB). The
/// largest legitimate request carries call data of at most [`CALL_DATA_LIMIT`](crate::CALL_DATA_LIMIT)
/// plus names; anything bigger is refused before it is decoded (`OUT_OF_RANGE`), so a client
/// cannot make the server buffer megabytes per call.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// A certificate chain and key in PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

/// How the API is served.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Bearer tokens and their scopes.
    pub tokens: Vec<ApiToken>,
    /// TLS, or plain TCP when `None`.
    pub tls: Option<TlsFiles>,
    /// The journal's retention, reported by GetJournalInfo.
    pub retention: Retention,
    /// Cap on open event streams.
    pub max_streams: usize,
}

impl ApiSettings {
    /// Settings from the `[api]` section of the configuration (retention comes from the store's
    /// settings: set it after).
    pub fn from_config(config: &switchboard_config::ApiConfig) -> Self {
        use switchboard_config::ApiScope;
        let tokens = config
            .tokens
            .iter()
            .map(|t| ApiToken {
                name: t.name.clone(),
                secret: t.secret.clone(),
                scopes: t
                    .scopes
                    .iter()
                    .map(|s| match s {
                        ApiScope::EventsRead => Scope::EventsRead,
                        ApiScope::CallsWrite => Scope::CallsWrite,
                        ApiScope::AgentsWrite => Scope::AgentsWrite,
                        ApiScope::Admin => Scope::Admin,
                    })
                    .collect(),
            })
            .collect();
        Self {
            tokens,
            tls: config.tls.as_ref().map(|t| TlsFiles {
                cert: t.cert.clone(),
                key: t.key.clone(),
            }),
            retention: Retention::default(),
            max_streams: config.max_streams,
        }
    }

    /// Settings with `tokens`, no TLS, no retention, the default stream cap.
    pub fn new(tokens: Vec<ApiToken>) -> Self {
        Self {
            tokens,
            tls: None,
            retention: Retention::default(),
            max_streams: DEFAULT_MAX_STREAMS,
        }
    }
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// A TLS file could not be read.
    #[error("{path}: {source}")]
    TlsFile {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The listen address could not be bound.
    #[error("bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The transport failed (bad TLS material, socket error).
    #[error("grpc transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The reflection service could not load the descriptors.
    #[error("reflection: {0}")]
    Reflection(String),
}

/// Tells when a published event has left for every live subscriber that takes it (issue 7:
/// the `AgentAlerting` screen-pop reaches the CRM before the agent's phone rings). The call
/// engine holds an agent's INVITE on [`ScreenPopGate::delivered`], with its own time limit.
#[derive(Clone)]
pub struct ScreenPopGate(Arc<Registry>);

impl ScreenPopGate {
    /// Resolves once every open stream that is live (not replaying from the journal) and whose
    /// filter takes `event` has handed the event `seq` to its HTTP/2 transport; at once when
    /// there is no such stream; `lead` later when some stream took it (the client's time to
    /// read it).
    pub fn delivered(
        &self,
        seq: u64,
        event: switchboard_store::NewEvent,
        lead: std::time::Duration,
    ) -> impl Future<Output = ()> + Send + 'static {
        self.0.delivered(seq, event, lead)
    }
}

/// The API server, ready to serve.
pub struct ApiServer {
    shared: Shared,
    tokens: Arc<TokenTable>,
    tls: Option<TlsFiles>,
}

impl ApiServer {
    /// A server over `engine`, reading events from `pool` and live ones from `live`.
    pub fn new(
        settings: &ApiSettings,
        engine: Arc<dyn Engine>,
        pool: Arc<JournalPool>,
        live: LiveEvents,
    ) -> Self {
        Self {
            shared: Shared {
                engine,
                pool,
                live,
                registry: Registry::new(settings.max_streams),
                retention: settings.retention,
                started_at: SystemTime::now(),
                recent: Arc::default(),
            },
            tokens: Arc::new(TokenTable::new(&settings.tokens)),
            tls: settings.tls.clone(),
        }
    }

    /// The screen-pop gate over this server's event streams (hand it to the call engine
    /// before serving).
    pub fn screen_pop_gate(&self) -> ScreenPopGate {
        ScreenPopGate(self.shared.registry.clone())
    }

    /// Binds `addr` and serves until `shutdown` resolves.
    pub async fn serve(
        self,
        addr: SocketAddr,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ServeError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Bind { addr, source })?;
        self.serve_with_listener(listener, shutdown).await
    }

    /// Serves on an already bound listener (tests bind `127.0.0.1:0`) until `shutdown`.
    pub async fn serve_with_listener(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ServeError> {
        let (health, health_service) = tonic_health::server::health_reporter();
        health
            .set_serving::<pb::event_service_server::EventServiceServer<Events>>()
            .await;
        health
            .set_serving::<pb::call_service_server::CallServiceServer<Calls>>()
            .await;
        health
            .set_serving::<pb::agent_service_server::AgentServiceServer<Agents>>()
            .await;
        health
            .set_serving::<pb::queue_service_server::QueueServiceServer<Queues>>()
            .await;
        health
            .set_serving::<pb::admin_service_server::AdminServiceServer<Admin>>()
            .await;
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()
            .map_err(|e| ServeError::Reflection(e.to_string()))?;
        let mut builder = Server::builder()
            .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
            .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT));
        if let Some(tls) = &self.tls {
            let read = |path: &PathBuf| {
                std::fs::read(path).map_err(|source| ServeError::TlsFile {
                    path: path.clone(),
                    source,
                })
            };
            let identity = Identity::from_pem(read(&tls.cert)?, read(&tls.key)?);
            builder = builder.tls_config(ServerTlsConfig::new().identity(identity))?;
        }
        let s = &self.shared;
        builder
            .layer(AuthLayer::new(self.tokens.clone()))
            .add_service(health_service)
            .add_service(reflection)
            .add_service(
                pb::event_service_server::EventServiceServer::new(Events(s.clone()))
                    .max_decoding_message_size(MAX_REQUEST_BYTES),
            )
            .add_service(
                pb::call_service_server::CallServiceServer::new(Calls(s.clone()))
                    .max_decoding_message_size(MAX_REQUEST_BYTES),
            )
            .add_service(
                pb::agent_service_server::AgentServiceServer::new(Agents(s.clone()))
                    .max_decoding_message_size(MAX_REQUEST_BYTES),
            )
            .add_service(
                pb::queue_service_server::QueueServiceServer::new(Queues(s.clone()))
                    .max_decoding_message_size(MAX_REQUEST_BYTES),
            )
            .add_service(
                pb::admin_service_server::AdminServiceServer::new(Admin(s.clone()))
                    .max_decoding_message_size(MAX_REQUEST_BYTES),
            )
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
            .await?;
        Ok(())
    }
}
