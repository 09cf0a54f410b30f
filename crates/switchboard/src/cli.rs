//! Command-line flags. Each one overrides the matching key of the configuration file.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Switchboard: a standalone ACD/CTI telephony engine.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "switchboard", version, about)]
pub(crate) struct Args {
    /// Configuration file (TOML).
    #[arg(long, value_name = "FILE", default_value = "config/switchboard.toml")]
    pub(crate) config: PathBuf,
    /// SIP listen address, UDP and TCP on the same port (overrides `server.sip_listen`).
    #[arg(long, value_name = "ADDR:PORT")]
    pub(crate) sip_listen: Option<SocketAddr>,
    /// SIP-over-TLS listen address (overrides `sip.tls.listen`; needs `[sip.tls]` for the
    /// certificate and key).
    #[arg(long, value_name = "ADDR:PORT")]
    pub(crate) sip_tls_listen: Option<SocketAddr>,
    /// gRPC API listen address (overrides `server.grpc_listen`).
    #[arg(long, value_name = "ADDR:PORT")]
    pub(crate) grpc_listen: Option<SocketAddr>,
    /// HTTP listen address for /metrics and /healthz (overrides `server.http_listen`).
    #[arg(long, value_name = "ADDR:PORT")]
    pub(crate) http_listen: Option<SocketAddr>,
    /// Data directory: SQLite store, CDRs, queue_log, recordings (overrides `server.data_dir`).
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Validate the configuration, print a one-line summary and exit (0 when valid).
    #[arg(long)]
    pub(crate) check_config: bool,
}
