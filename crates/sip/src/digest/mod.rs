//! Server-side HTTP digest authentication for SIP (RFC 3261 §22, RFC 7616, RFC 8760).
//!
//! [`DigestAuthenticator`] issues challenges (one `WWW-Authenticate` value per offered algorithm,
//! the preferred one first, as RFC 8760 §2.4 asks) and verifies the `Authorization` credentials a
//! client sends back. It keeps no per-challenge state: a nonce carries its own issue time and a
//! keyed hash, so any nonce the server issued can be checked for authenticity and age without a
//! table. Only nonces that have been *used* are remembered, with their highest nonce-count, to
//! reject replays (RFC 7616 §3.4.5); that table is bounded (see [`NonceService`]).
//!
//! The `uri` directive is not compared with the Request-URI (RFC 7616 §3.4.6 says SHOULD): an
//! SBC or proxy in front of the registrar may rewrite the Request-URI while the phone's
//! digest-uri stays as it was. A captured response still cannot be reused for another request:
//! it is bound to its nonce, nonce counts must increase, and a nonce without qop is good once.
//!
//! [`DigestAuthenticator::challenge`] returns header *values*: the registrar puts them in
//! `WWW-Authenticate` (401); a caller authenticating INVITEs as a proxy would use
//! `Proxy-Authenticate` (407) and read `Proxy-Authorization` (RFC 3261 §22.3).
//!
//! Not implemented: `qop=auth-int` (never offered; SIP bodies are rarely protected this way and
//! phones do not use it), `userhash` (RFC 7616 §3.4.4), SHA-512-256 (RFC 8760 allows it; no phone
//! in the field sends it).

mod algorithm;
mod authenticator;
mod credentials;
mod nonce;

pub use algorithm::Algorithm;
pub use authenticator::{DigestAuthenticator, Verdict, compute_response};
pub use credentials::{DigestCredentials, parse_credentials};
pub use nonce::{NonceCheck, NonceService};

/// Why an `Authorization` header value could not be read as digest credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The scheme is not `Digest` (for example `Basic`, which SIP forbids, RFC 3261 §22.1).
    #[error("authorization scheme is not Digest")]
    NotDigest,
    /// The parameter list is not `name=value` pairs separated by commas at the given byte offset.
    #[error("malformed digest parameters at byte {0}")]
    Malformed(usize),
    /// A quoted string is not closed.
    #[error("unterminated quoted string")]
    UnterminatedQuote,
    /// A mandatory parameter is absent (`username`, `realm`, `nonce`, `uri`, `response`, or `cnonce`
    /// and `nc` when `qop` is present).
    #[error("missing digest parameter {0}")]
    MissingParam(&'static str),
    /// A parameter appears twice; RFC 7616 §3.4 allows each at most once, and picking one would be a guess.
    #[error("duplicate digest parameter {0}")]
    DuplicateParam(String),
    /// The `algorithm` is not one this server knows.
    #[error("unsupported digest algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// The `nc` value is not 8 hexadecimal digits (RFC 7616 §3.4).
    #[error("invalid nonce count")]
    InvalidNonceCount,
}
