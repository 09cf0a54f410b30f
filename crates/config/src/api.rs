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
    /// The screen-pop's head start over the agent's INVITE once every live subscriber's
    /// transport took `AgentAlerting` (`screen_pop_lead_ms`, 0..=1000, default 15): the server
    /// cannot see the client read the event, only the HTTP/2 transport take it.
    pub screen_pop_lead: std::time::Duration,
    /// Longest an agent's INVITE is held for the screen-pop (`screen_pop_max_hold_ms`,
    /// 0..=5000, default 50; 0 never holds): a subscriber that does not read holds no call
    /// longer than this.
    pub screen_pop_max_hold: std::time::Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            tokens: Vec::new(),
            tls: None,
            max_streams: 256,
            screen_pop_lead: std::time::Duration::from_millis(15),
            screen_pop_max_hold: std::time::Duration::from_millis(50),
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
