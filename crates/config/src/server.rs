//! `[server]`: where the daemon listens and keeps its data.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// The `[server]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// SIP over UDP and TCP, both on this address. Default `127.0.0.1:5060`.
    pub sip_listen: SocketAddr,
    /// The gRPC CTI API. Default `127.0.0.1:50051`.
    pub grpc_listen: SocketAddr,
    /// HTTP for `/metrics` (Prometheus) and `/healthz`. Default `127.0.0.1:9464`.
    pub http_listen: SocketAddr,
    /// Recordings, the journal and CDR database. Relative paths are taken from the daemon's
    /// working directory. Default `./data`.
    pub data_dir: PathBuf,
    /// Log verbosity when `RUST_LOG` is not set (`RUST_LOG` wins). Default `info`.
    pub log_level: LogLevel,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let loopback = |port| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        ServerConfig {
            sip_listen: loopback(5060),
            grpc_listen: loopback(50051),
            http_listen: loopback(9464),
            data_dir: PathBuf::from("./data"),
            log_level: LogLevel::Info,
        }
    }
}

/// Log verbosity, as `tracing` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LogLevel {
    /// Nothing.
    Off,
    /// Only what needs an operator.
    Error,
    /// Misbehaving peers as well.
    Warn,
    /// One line per call and agent state change.
    #[default]
    Info,
    /// SIP message summaries.
    Debug,
    /// Everything, packets included.
    Trace,
}

impl LogLevel {
    /// The names accepted in the file, as `tracing`'s `EnvFilter` spells them.
    pub const NAMES: &'static [&'static str] = &["off", "error", "warn", "info", "debug", "trace"];

    /// The level's name, usable as an `EnvFilter` directive.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Off => "off",
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        [
            LogLevel::Off,
            LogLevel::Error,
            LogLevel::Warn,
            LogLevel::Info,
            LogLevel::Debug,
            LogLevel::Trace,
        ]
        .into_iter()
        .find(|level| level.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
