//! Bearer-token authentication and per-method scopes, as a tower layer in front of every
//! service (research cti-api.md §9.8).
//!
//! `authorization: Bearer <secret>` is looked up among the configured tokens by the SHA-256 of
//! the secret (the table holds no plaintext; digests are compared whole). No header, a
//! malformed one or an unknown secret: `UNAUTHENTICATED`. A known token without the method's
//! scope: `PERMISSION_DENIED`. `grpc.health.v1` needs no token; reflection needs `admin`. The
//! authenticated [`Principal`] goes into the request's extensions for the handlers (the
//! events' actor, ListSubscriptions).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use sha2::{Digest, Sha256};
use tonic::Status;

use crate::error::ApiError;

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Subscribe, read the journal, read calls, agents and queues.
    EventsRead,
    /// Call control.
    CallsWrite,
    /// Agent state changes.
    AgentsWrite,
    /// AdminService and reflection.
    Admin,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 4] = [
        Scope::EventsRead,
        Scope::CallsWrite,
        Scope::AgentsWrite,
        Scope::Admin,
    ];

    /// The name used in configuration and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::EventsRead => "events:read",
            Scope::CallsWrite => "calls:write",
            Scope::AgentsWrite => "agents:write",
            Scope::Admin => "admin",
        }
    }

    /// The scope with this name.
    pub fn from_name(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A configured token.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Its name (the actor id in events, the principal in ListSubscriptions).
    pub name: String,
    /// The bearer secret.
    pub secret: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never log credentials.
        f.debug_struct("ApiToken")
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// Who is calling, as authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The token's name.
    pub name: String,
    /// Its scopes.
    pub scopes: Vec<Scope>,
}

/// The configured tokens, by secret digest.
#[derive(Clone, Debug, Default)]
pub struct TokenTable {
    by_digest: HashMap<[u8; 32], Principal>,
}

impl TokenTable {
    /// A table of `tokens`.
    pub fn new(tokens: &[ApiToken]) -> Self {
        let by_digest = tokens
            .iter()
            .map(|t| {
                (
                    digest(&t.secret),
                    Principal {
                        name: t.name.clone(),
                        scopes: t.scopes.clone(),
                    },
                )
            })
            .collect();
        Self { by_digest }
    }

    /// Checks an `authorization` header value for `needed` (None: any valid token).
    pub fn authorize(
        &self,
        header: Option<&str>,
        needed: Option<Scope>,
    ) -> Result<Principal, ApiError> {
        let header = header.ok_or(ApiError::Unauthenticated("missing bearer token"))?;
        let secret = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or(ApiError::Unauthenticated(
                "authorization is not a bearer token",
            ))?;
        let principal = self
            .by_digest
            .get(&digest(secret.trim()))
            .ok_or(ApiError::Unauthenticated("unknown bearer token"))?;
        match needed {
            Some(scope) if !principal.scopes.contains(&scope) => Err(ApiError::PermissionDenied {
                token: principal.name.clone(),
                scope: scope.as_str(),
            }),
            _ => Ok(principal.clone()),
        }
    }
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// What a method needs: `None` for exempt methods (health), `Some(None)` for any valid token,
/// `Some(Some(scope))` for a scope.
pub fn required_scope(path: &str) -> Option<Option<Scope>> {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let service = parts.next().unwrap_or("");
    let method = parts.next().unwrap_or("");
    let read = method.starts_with("Get") || method.starts_with("List");
    let scope = match service {
        "grpc.health.v1.Health" => return None,
        "grpc.reflection.v1.ServerReflection" | "grpc.reflection.v1alpha.ServerReflection" => {
            Scope::Admin
        }
        "switchboard.v1.EventService" | "switchboard.v1.QueueService" => Scope::EventsRead,
        "switchboard.v1.CallService" if read => Scope::EventsRead,
        "switchboard.v1.CallService" => Scope::CallsWrite,
        "switchboard.v1.AgentService" if read => Scope::EventsRead,
        "switchboard.v1.AgentService" => Scope::AgentsWrite,
        "switchboard.v1.AdminService" => Scope::Admin,
        _ => return Some(None),
    };
    Some(Some(scope))
}

/// The tower layer that checks tokens before any service runs.
#[derive(Clone, Debug)]
pub struct AuthLayer {
    tokens: Arc<TokenTable>,
}

impl AuthLayer {
    /// A layer checking against `tokens`.
    pub fn new(tokens: Arc<TokenTable>) -> Self {
        Self { tokens }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            tokens: self.tokens.clone(),
        }
    }
}

/// The service [`AuthLayer`] wraps around the router.
#[derive(Clone, Debug)]
pub struct AuthService<S> {
    inner: S,
    tokens: Arc<TokenTable>,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B> tower::Service<http::Request<B>> for AuthService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        if let Some(needed) = required_scope(request.uri().path()) {
            let header = request
                .headers()
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            match self.tokens.authorize(header, needed) {
                Ok(principal) => {
                    request.extensions_mut().insert(principal);
                }
                Err(error) => {
                    let response = Status::from(error).into_http();
                    return Box::pin(async move { Ok(response) });
                }
            }
        }
        // The clone that was polled ready serves this call; keep a fresh clone for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(inner.call(request))
    }
}

/// The principal the layer put on a request (empty name if the layer was not in front).
pub(crate) fn principal_of<T>(request: &tonic::Request<T>) -> Principal {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .unwrap_or(Principal {
            name: String::new(),
            scopes: Vec::new(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> TokenTable {
        TokenTable::new(&[
            ApiToken {
                name: "crm".into(),
                secret: "s3cret".into(),
                scopes: vec![Scope::EventsRead, Scope::CallsWrite],
            },
            ApiToken {
                name: "ops".into(),
                secret: "0ps".into(),
                scopes: vec![Scope::Admin],
            },
        ])
    }

    #[test]
    fn write_methods_need_write_scopes_and_reads_need_events_read() {
        assert_eq!(
            required_scope("/switchboard.v1.CallService/GetCall"),
            Some(Some(Scope::EventsRead))
        );
        assert_eq!(
            required_scope("/switchboard.v1.CallService/BlindTransfer"),
            Some(Some(Scope::CallsWrite))
        );
        assert_eq!(
            required_scope("/switchboard.v1.AgentService/SetAgentState"),
            Some(Some(Scope::AgentsWrite))
        );
        assert_eq!(required_scope("/grpc.health.v1.Health/Check"), None);
        assert_eq!(
            required_scope("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
            Some(Some(Scope::Admin))
        );
        assert_eq!(required_scope("/nope.Svc/X"), Some(None));
    }

    #[test]
    fn missing_malformed_and_unknown_tokens_are_unauthenticated() {
        let t = table();
        for header in [None, Some("Basic abc"), Some("Bearer wrong")] {
            let err = t.authorize(header, Some(Scope::EventsRead)).unwrap_err();
            assert_eq!(err.code(), tonic::Code::Unauthenticated, "{header:?}");
        }
    }

    #[test]
    fn known_token_without_scope_is_permission_denied() {
        let err = table()
            .authorize(Some("Bearer 0ps"), Some(Scope::CallsWrite))
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::PermissionDenied);
        let ok = table()
            .authorize(Some("Bearer s3cret"), Some(Scope::CallsWrite))
            .unwrap();
        assert_eq!(ok.name, "crm");
    }
}
