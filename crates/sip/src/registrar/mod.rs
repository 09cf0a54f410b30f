//! Registrar and location service (RFC 3261 §10.3) for agent phones.
//!
//! [`Registrar`] answers REGISTER requests, keeps the bindings (which contact reaches which
//! agent, and from which address the phone registered), expires them, probes them with OPTIONS
//! keep-alives, and reports facts as [`RegistrarEvent`]s: bindings added, refreshed and removed,
//! and an agent becoming available (first binding) or unavailable (last binding gone).
//!
//! It is sans-IO, with the four-method shape every Switchboard core has:
//!
//! - [`Registrar::handle_register`] takes a parsed REGISTER and its source [`Peer`](crate::Peer) and returns
//!   the response to send through the server transaction;
//!   [`Registrar::handle_keepalive_result`] takes the outcome of a keep-alive;
//! - [`Registrar::handle_timeout`] expires bindings and schedules keep-alives;
//! - [`Registrar::poll_output`] yields events and keep-alives to send;
//! - [`Registrar::poll_timeout`] tells when `handle_timeout` is next needed.
//!
//! Processing follows §10.3: authentication (digest, [`crate::digest`]) and authorisation (the
//! authenticated user may only bind its own AOR), then the Contact/Expires rules, the Call-ID/CSeq
//! ordering rule of step 7, all-or-nothing, and a 200 listing every current binding with its
//! remaining time. Not done here: §10.3 step 1 (the Request-URI domain; the shell routes
//! REGISTERs here), step 2 (Require; the message layer answers 420), RFC 5626 outbound/`reg-id`,
//! RFC 3327 Path, GRUU.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use switchboard_sip::registrar::{Registrar, RegistrarConfig, RegistrarEvent, RegistrarOutput};
//! use switchboard_sip::{Peer, Transport};
//!
//! let mut config = RegistrarConfig::default();
//! config.users.insert("1001".into(), "secret".into());
//! let mut registrar = Registrar::new(config, 42); // seed from the OS in production
//!
//! // The shell hands over each REGISTER its server transaction received...
//! let register = rsip::Request::try_from(
//!     "REGISTER sip:switchboard SIP/2.0\r\n\
//!      Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1;rport\r\n\
//!      From: <sip:1001@switchboard>;tag=1\r\nTo: <sip:1001@switchboard>\r\n\
//!      Call-ID: r1\r\nCSeq: 1 REGISTER\r\nContact: <sip:1001@10.0.0.2>\r\n\
//!      Content-Length: 0\r\n\r\n".as_bytes(),
//! ).unwrap();
//! let peer = Peer {
//!     transport: Transport::Udp,
//!     remote: "203.0.113.7:40001".parse().unwrap(),
//!     local: "198.51.100.1:5060".parse().unwrap(),
//! };
//! let now = Instant::now();
//! let response = registrar.handle_register(now, &register, peer);
//! assert_eq!(response.status_code.code(), 401); // ...and sends back the response it gets.
//!
//! // Then, after every input: drain outputs, and sleep until poll_timeout.
//! while let Some(output) = registrar.poll_output() {
//!     match output {
//!         RegistrarOutput::Event(RegistrarEvent::AgentAvailable { user }) => { /* tell the ACD */ }
//!         RegistrarOutput::Event(_) => {}
//!         RegistrarOutput::SendKeepalive(probe) => {
//!             // Send probe.request to probe.peer in a client transaction, then later:
//!             registrar.handle_keepalive_result(now, probe.binding, true);
//!         }
//!     }
//! }
//! if let Some(deadline) = registrar.poll_timeout() {
//!     registrar.handle_timeout(deadline);
//! }
//! ```

mod binding;
mod config;
mod contact;
mod keepalive;
mod lockout;
mod register;
mod table;
#[cfg(test)]
mod tests;

pub use binding::{
    Binding, BindingId, KeepaliveProbe, RegistrarEvent, RegistrarOutput, RegistrarStats,
    RemovalReason,
};
pub use config::{ContactOverflow, RegistrarConfig};

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::digest::DigestAuthenticator;
use lockout::Lockouts;

/// The registrar and location service. See the [module docs](self).
#[derive(Debug)]
pub struct Registrar {
    config: RegistrarConfig,
    auth: DigestAuthenticator,
    lockouts: Lockouts,
    /// AOR user → its bindings, oldest first.
    aors: HashMap<String, Vec<Entry>>,
    /// Binding → AOR user, for keep-alive results.
    owners: HashMap<BindingId, String>,
    outputs: VecDeque<RegistrarOutput>,
    rng: StdRng,
    next_id: u64,
    stats: RegistrarStats,
}

#[derive(Debug)]
struct Entry {
    binding: Binding,
    keepalive: KeepaliveState,
}

#[derive(Debug, Clone, Copy)]
struct KeepaliveState {
    next_at: Instant,
    in_flight: bool,
    failures: u32,
}

impl Registrar {
    /// A registrar with `config`; `seed` seeds the RNG behind nonce keys, To tags and keep-alive
    /// identifiers (take it from the OS in production, fix it in tests).
    ///
    /// Inconsistent expiry bounds are made consistent rather than refused: `max_expires` is raised
    /// to `min_expires` and `default_expires` is clamped between them (a default below the
    /// minimum would answer 423 to every phone that states no expiry).
    pub fn new(mut config: RegistrarConfig, seed: u64) -> Self {
        config.max_expires = config.max_expires.max(config.min_expires);
        config.default_expires = config
            .default_expires
            .clamp(config.min_expires, config.max_expires);
        let mut rng = StdRng::seed_from_u64(seed);
        let auth = DigestAuthenticator::new(
            &config.realm,
            &config.algorithms,
            config.nonce_lifetime,
            config.max_tracked_nonces,
            rng.random(),
        );
        let lockouts = Lockouts::new(
            config.lockout_threshold,
            config.lockout_window,
            config.lockout_duration,
        );
        Registrar {
            config,
            auth,
            lockouts,
            aors: HashMap::new(),
            owners: HashMap::new(),
            outputs: VecDeque::new(),
            rng,
            next_id: 0,
            stats: RegistrarStats::default(),
        }
    }

    /// Expires bindings whose time has come and sends keep-alives that are due. Harmless when
    /// nothing is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.expire_due(now);
        self.run_keepalives(now);
    }

    /// The next event or keep-alive to act on.
    pub fn poll_output(&mut self) -> Option<RegistrarOutput> {
        self.outputs.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next needed: the earliest binding expiry
    /// or keep-alive. Computed by a scan, which for the few thousand phones of a contact centre
    /// costs less than keeping a timer structure in step with every refresh.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let keepalive = !self.config.keepalive_interval.is_zero();
        self.aors
            .values()
            .flatten()
            .flat_map(|e| {
                [
                    Some(e.binding.expires_at),
                    keepalive.then_some(e.keepalive.next_at),
                ]
            })
            .flatten()
            .min()
    }

    /// The current bindings of `user`, oldest first.
    pub fn bindings(&self, user: &str) -> impl Iterator<Item = &Binding> + '_ {
        self.aors
            .get(user)
            .into_iter()
            .flatten()
            .map(|e| &e.binding)
    }

    /// One binding by id.
    pub fn binding(&self, id: BindingId) -> Option<&Binding> {
        let user = self.owners.get(&id)?;
        self.bindings(user).find(|b| b.id == id)
    }

    /// Whether `user` has at least one binding (its phone can be called).
    pub fn is_available(&self, user: &str) -> bool {
        self.aors
            .get(user)
            .is_some_and(|entries| !entries.is_empty())
    }

    /// How many bindings exist in all.
    pub fn binding_count(&self) -> usize {
        self.owners.len()
    }

    /// The counters.
    pub fn stats(&self) -> RegistrarStats {
        self.stats
    }

    /// Adds a user or changes its password (configuration reload). Existing bindings stay.
    pub fn set_user(&mut self, user: &str, password: &str) {
        self.config
            .users
            .insert(user.to_string(), password.to_string());
    }

    /// Removes a user (configuration reload); its bindings go with reason
    /// [`RemovalReason::UserRemoved`].
    pub fn remove_user(&mut self, user: &str) {
        self.config.users.remove(user);
        let ids: Vec<_> = self.bindings(user).map(|b| b.id).collect();
        for id in ids {
            self.remove_with_announcement(user, id, RemovalReason::UserRemoved);
        }
    }
}
