//! SIP in the daemon: the transport shell from `switchboard-sip` plus the core task that owns
//! the transaction layer and the registrar.

mod policy;
mod service;

use std::collections::HashMap;
use std::net::SocketAddr;

use rand::SeedableRng;
use rand::rngs::StdRng;
use switchboard_config::{Config, DigestAlgorithm};
use switchboard_sip::digest::{Algorithm, DigestAuthenticator};
use switchboard_sip::registrar::{ContactOverflow, Registrar, RegistrarConfig, RegistrarEvent};
use switchboard_sip::transaction::{self, TransactionLayer};
use switchboard_sip::transport::{self, TransportConfig, TransportHandle};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use self::policy::Directory;
use self::service::SipService;

/// Capacity of the in-process registration event channel; a lagging subscriber loses the
/// oldest events and is told how many (tokio broadcast semantics).
const REGISTRATION_EVENTS: usize = 1024;

/// What the rest of the daemon keeps of the SIP side.
pub(crate) struct SipHandle {
    transport: TransportHandle,
    registrations: broadcast::Sender<RegistrarEvent>,
}

impl SipHandle {
    /// The bound SIP address (UDP and TCP).
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.transport.local_addr()
    }

    /// Registration events (agent available / unavailable, bindings), for the call engine.
    #[allow(dead_code)] // the call engine subscribes once it exists
    pub(crate) fn registrations(&self) -> broadcast::Receiver<RegistrarEvent> {
        self.registrations.subscribe()
    }
}

/// Binds the SIP listeners and starts the core task.
pub(crate) async fn start(
    config: &Config,
    tracker: &TaskTracker,
    shutdown: CancellationToken,
) -> std::io::Result<SipHandle> {
    let sip = &config.sip;
    let mut transport_config = TransportConfig::new(config.server.sip_listen);
    transport_config.limits.max_datagram = sip.max_message_bytes;
    transport_config.limits.max_message = sip.max_message_bytes;
    transport_config.limits.max_headers = sip.max_headers;
    transport_config.inbound_capacity = sip.max_pending_invites;
    transport_config.retry_after_seconds = sip.retry_after.as_secs().try_into().unwrap_or(u32::MAX);
    let (transport, inbound) =
        transport::start(transport_config, tracker, shutdown.clone()).await?;

    let passwords: HashMap<String, String> = config
        .agents()
        .iter()
        .map(|a| (a.id.as_str().to_string(), a.password.expose().to_string()))
        .collect();
    let algorithms: Vec<Algorithm> = sip
        .registrar
        .digest_algorithms
        .iter()
        .map(|a| match a {
            DigestAlgorithm::Md5 => Algorithm::Md5,
            DigestAlgorithm::Sha256 => Algorithm::Sha256,
        })
        .collect();
    let reg = &sip.registrar;
    let registrar_config = RegistrarConfig {
        realm: sip.realm.clone(),
        users: passwords.clone(),
        algorithms: algorithms.clone(),
        min_expires: reg.min_expires,
        max_expires: reg.max_expires,
        default_expires: reg.default_expires,
        max_contacts_per_aor: reg.max_contacts_per_agent,
        // As the configuration documents it: a phone that re-registers from a new port (a
        // reboot, a NAT rebinding) replaces its oldest binding instead of being refused.
        contact_overflow: ContactOverflow::ReplaceOldest,
        nonce_lifetime: reg.nonce_lifetime,
        lockout_threshold: reg.auth_failures_before_lockout.unwrap_or(0),
        lockout_duration: reg.lockout,
        keepalive_interval: reg.keepalive_interval.unwrap_or_default(),
        keepalive_failures: reg.keepalive_failures,
        ..RegistrarConfig::default()
    };
    let layer_config = transaction::Config {
        t1: sip.t1,
        t2: sip.t2,
        t4: sip.t4,
        max_transactions: sip.max_transactions,
        overload_retry_after: sip.retry_after,
        ..transaction::Config::default()
    };
    let mut seeds = StdRng::from_os_rng();
    let (registrations, _) = broadcast::channel(REGISTRATION_EVENTS);
    let directory = Directory {
        trunk_sources: config
            .trunks()
            .iter()
            .flat_map(|t| t.sources.iter().copied())
            .collect(),
        agents: passwords.keys().cloned().collect(),
        routes: config.routes().iter().map(|r| r.dnis.clone()).collect(),
    };
    let service = SipService {
        layer: TransactionLayer::new(layer_config),
        registrar: Registrar::new(registrar_config, rand::RngCore::next_u64(&mut seeds)),
        invite_auth: DigestAuthenticator::new(
            &sip.realm,
            &algorithms,
            reg.nonce_lifetime,
            10_000,
            rand::RngCore::next_u64(&mut seeds),
        ),
        passwords,
        directory,
        transport: transport.clone(),
        server_header: sip.user_agent.clone(),
        events: registrations.clone(),
        rng: StdRng::seed_from_u64(rand::RngCore::next_u64(&mut seeds)),
        keepalives: HashMap::new(),
    };
    tracker.spawn(service.run(inbound, shutdown));
    Ok(SipHandle {
        transport,
        registrations,
    })
}
