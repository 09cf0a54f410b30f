//! Registrar configuration.

use std::collections::HashMap;
use std::time::Duration;

use crate::digest::Algorithm;

/// What to do with a REGISTER that would leave an AOR with more than
/// [`RegistrarConfig::max_contacts_per_aor`] bindings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactOverflow {
    /// Refuse the REGISTER with 403 "Too Many Contacts". 403 rather than 503: retrying will not
    /// help until a binding goes, and many phones treat 503 as "registrar down" and fail over.
    Reject,
    /// Drop the oldest bindings not named in the request (reason
    /// [`RemovalReason::Replaced`](super::RemovalReason::Replaced)). Suits phones that reboot
    /// onto a new port and would otherwise be locked out until their old binding expires.
    ReplaceOldest,
}

/// Configuration of a [`Registrar`](super::Registrar).
#[derive(Debug, Clone)]
pub struct RegistrarConfig {
    /// The digest realm challenged for (RFC 3261 §22.1), usually the SIP domain.
    pub realm: String,
    /// Users allowed to register: user part of the AOR (and digest username) → password.
    /// A user absent from this map does not exist.
    pub users: HashMap<String, String>,
    /// Answer 404 to a REGISTER for an unknown AOR before challenging (true), or challenge it like
    /// any other and fail its credentials (false: RFC 3261 §10.3 order, authentication before the
    /// AOR check, which keeps scanners from enumerating users; Asterisk's `alwaysauthreject`).
    pub reveal_unknown_users: bool,
    /// Digest algorithms offered, preferred first (RFC 8760 §2.4).
    pub algorithms: Vec<Algorithm>,
    /// Shortest registration accepted; shorter non-zero ones get 423 with Min-Expires (§10.3 step 7).
    pub min_expires: Duration,
    /// Longest registration granted; longer ones are shortened to this (§10.3 step 7 allows it).
    pub max_expires: Duration,
    /// Used when the request states no expiry at all (§10.3 step 7).
    pub default_expires: Duration,
    /// Most bindings one AOR may hold.
    pub max_contacts_per_aor: usize,
    /// What to do when a REGISTER would exceed `max_contacts_per_aor`.
    pub contact_overflow: ContactOverflow,
    /// How long a nonce stays fresh; an older one with correct credentials gets `stale=true`.
    pub nonce_lifetime: Duration,
    /// Most used nonces remembered for nonce-count replay checks.
    pub max_tracked_nonces: usize,
    /// Wrong passwords from one (username, source IP) within `lockout_window` before it is
    /// locked out; 0 disables lockout.
    pub lockout_threshold: u32,
    /// The window over which wrong passwords are counted.
    pub lockout_window: Duration,
    /// How long a locked-out (username, source IP) is answered 403 without checking credentials.
    pub lockout_duration: Duration,
    /// Interval between OPTIONS keep-alives to each binding; zero disables them.
    pub keepalive_interval: Duration,
    /// Consecutive failed keep-alives after which a binding is removed as unreachable.
    pub keepalive_failures: u32,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            realm: "switchboard".to_string(),
            users: HashMap::new(),
            reveal_unknown_users: true,
            algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
            // RFC 3261 §10.2.1.1 default registration interval is 3600 s; 60 s is the shortest a
            // registrar may demand while still allowing NAT keep-alive by re-REGISTER.
            min_expires: Duration::from_secs(60),
            max_expires: Duration::from_secs(3600),
            default_expires: Duration::from_secs(3600),
            max_contacts_per_aor: 5,
            contact_overflow: ContactOverflow::Reject,
            nonce_lifetime: Duration::from_secs(300),
            max_tracked_nonces: 10_000,
            lockout_threshold: 5,
            lockout_window: Duration::from_secs(300),
            lockout_duration: Duration::from_secs(900),
            keepalive_interval: Duration::from_secs(30),
            keepalive_failures: 3,
        }
    }
}
