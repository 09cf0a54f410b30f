//! Bindings and the facts the registrar reports about them.

use std::net::IpAddr;
use std::time::Instant;

use crate::Peer;

/// Identifies one binding for as long as it exists (never reused by a registrar).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BindingId(pub u64);

/// One contact registered for an AOR (RFC 3261 §10.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The binding's id.
    pub id: BindingId,
    /// The user part of the AOR (the agent's SIP user).
    pub user: String,
    /// The Contact URI: the Request-URI of requests sent to this phone.
    pub contact: rsip::Uri,
    /// The Contact as registered (URI and header parameters such as `+sip.instance`), without
    /// `expires`; echoed in 200 responses.
    pub contact_header: rsip::typed::Contact,
    /// Where the REGISTER came from. Requests to the phone go here, not to the Contact's host,
    /// which behind NAT is a private address (RFC 3581 spirit; RFC 5626 §5.3 formalises it).
    pub peer: Peer,
    /// When the binding lapses unless refreshed.
    pub expires_at: Instant,
    /// When it was first registered.
    pub registered_at: Instant,
    /// The Call-ID of the REGISTER that last changed it (§10.3 step 7 ordering).
    pub sip_call_id: String,
    /// The CSeq number of that REGISTER.
    pub cseq: u32,
    /// The phone's User-Agent header, if it sent one (for the agent desktop and diagnostics).
    pub user_agent: Option<String>,
}

/// Why a binding went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovalReason {
    /// The phone removed it (expires 0, or `Contact: *`).
    Unregistered,
    /// It was not refreshed in time.
    Expired,
    /// OPTIONS keep-alives failed the configured number of times in a row.
    Unreachable,
    /// Displaced by a newer binding under [`ContactOverflow::ReplaceOldest`](super::ContactOverflow).
    Replaced,
    /// The user was removed from the configuration.
    UserRemoved,
}

/// A fact about registrations, for the engine and the event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistrarEvent {
    /// A new binding.
    BindingAdded(Binding),
    /// An existing binding was re-registered (new expiry, maybe a new source address).
    BindingRefreshed(Binding),
    /// A binding is gone.
    BindingRemoved {
        /// The binding as it was.
        binding: Binding,
        /// Why.
        reason: RemovalReason,
    },
    /// The user's first binding appeared: the agent's phone can be reached.
    AgentAvailable {
        /// The AOR user.
        user: String,
    },
    /// The user's last binding went: the agent's phone cannot be reached.
    AgentUnavailable {
        /// The AOR user.
        user: String,
    },
    /// Too many wrong passwords for `user` from `source`: refused until `until`.
    LockedOut {
        /// The digest username being guessed.
        user: String,
        /// The address the guesses came from.
        source: IpAddr,
        /// When the lockout ends.
        until: Instant,
    },
}

/// A keep-alive the shell should send: an OPTIONS request to a registered phone.
///
/// Send `request` through a client non-INVITE transaction to `peer` and report back with
/// [`Registrar::handle_keepalive_result`](super::Registrar::handle_keepalive_result): any final
/// response, even 4xx/5xx, means the phone is alive; a transaction timeout (408) or transport
/// error means it is not.
#[derive(Debug, Clone)]
pub struct KeepaliveProbe {
    /// The binding probed.
    pub binding: BindingId,
    /// Its AOR user.
    pub user: String,
    /// Where to send it (the binding's source address).
    pub peer: Peer,
    /// The OPTIONS request, with fresh Call-ID, branch and From tag.
    pub request: rsip::Request,
}

/// What the registrar asks of its driver.
#[derive(Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "a few outputs per registration or keep-alive, never per packet: boxing buys nothing"
)]
pub enum RegistrarOutput {
    /// Something happened to a registration.
    Event(RegistrarEvent),
    /// Send a keep-alive.
    SendKeepalive(KeepaliveProbe),
}

/// Plain counters, read by the shell and exported as metrics (STYLE §9).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RegistrarStats {
    /// REGISTER requests handled.
    pub registers_received: u64,
    /// REGISTERs answered 200 (including queries and removals).
    pub registrations_ok: u64,
    /// 401 challenges sent (first contact, stale or failed).
    pub challenges_sent: u64,
    /// Wrong passwords (or credentials for unknown users).
    pub auth_failures: u64,
    /// Correct credentials on an expired nonce (answered `stale=true`).
    pub stale_nonces: u64,
    /// Correct responses with an already used nonce count.
    pub replays_rejected: u64,
    /// Lockouts started.
    pub lockouts: u64,
    /// REGISTERs refused because their (username, source) was locked out.
    pub rejected_locked_out: u64,
    /// Bindings removed because they were not refreshed.
    pub bindings_expired: u64,
    /// Bindings removed because keep-alives failed.
    pub bindings_unreachable: u64,
    /// Keep-alive OPTIONS asked for.
    pub keepalives_sent: u64,
    /// Keep-alives that failed.
    pub keepalive_failures: u64,
}
