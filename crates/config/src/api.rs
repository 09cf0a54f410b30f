//! `[api]`: the gRPC CTI API's bearer tokens, TLS and stream cap.

use std::fmt;
use std::path::PathBuf;

/// The `[api]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// `[[api.token]]` entries. None configured: every API call is refused (UNAUTHENTICATED),
    /// health checks excepted.
    pub tokens: Vec<ApiTokenConfig>,
    /// `[api.tls]`: serve TLS with these PEM files; `None`: plain TCP (loopback only, please).
    pub tls: Option<ApiTls>,
    /// Cap on open event streams (`max_streams`, default 256).
    pub max_streams: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            tokens: Vec::new(),
            tls: None,
            max_streams: 256,
        }
    }
}

/// One `[[api.token]]`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiTokenConfig {
    /// The token's name: the actor in events, the principal in ListSubscriptions.
    pub name: String,
    /// The bearer secret clients send (`authorization: Bearer <secret>`), at least 16
    /// characters.
    pub secret: String,
    /// What it may do.
    pub scopes: Vec<ApiScope>,
}

impl fmt::Debug for ApiTokenConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secret stays out of logs.
        f.debug_struct("ApiTokenConfig")
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// `[api.tls]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTls {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// A token scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ApiScope {
    /// `events:read`: Subscribe, journal reads, reading calls, agents, queues.
    EventsRead,
    /// `calls:write`: call control.
    CallsWrite,
    /// `agents:write`: agent login, logout, state, wrap-up.
    AgentsWrite,
    /// `admin`: AdminService and reflection.
    Admin,
}

impl ApiScope {
    /// The names accepted in the file.
    pub const NAMES: &'static [&'static str] =
        &["events:read", "calls:write", "agents:write", "admin"];

    /// The scope's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::EventsRead => "events:read",
            ApiScope::CallsWrite => "calls:write",
            ApiScope::AgentsWrite => "agents:write",
            ApiScope::Admin => "admin",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        [
            ApiScope::EventsRead,
            ApiScope::CallsWrite,
            ApiScope::AgentsWrite,
            ApiScope::Admin,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}
