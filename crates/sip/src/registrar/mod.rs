//! Registrar and location service (RFC 3261 §10.3) for agent phones.
//!
//! [`Registrar`] answers REGISTER requests, keeps the bindings (which contact reaches which
//! agent, and from which address the phone registered), expires them, probes them with OPTIONS
//! keep-alives, and reports facts as [`RegistrarEvent`]s: bindings added, refreshed and removed,
//! and an agent becoming available (first binding) or unavailable (last binding gone).
//!
//! It is sans-IO, with the four-method shape every Switchboard core has:
//!
//! - [`Registrar::handle_register`] takes a parsed REGISTER and its source [`Peer`] and returns
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
//! use switchboard_sip::registrar::{Registrar, RegistrarConfig, RegistrarOutput};
//!
//! let mut config = RegistrarConfig::default();
//! config.users.insert("1001".into(), "secret".into());
//! let mut registrar = Registrar::new(config, 42);
//! let now = Instant::now();
//! // On a REGISTER: let response = registrar.handle_register(now, &request, peer);
//! registrar.handle_timeout(now + Duration::from_secs(30));
//! while let Some(output) = registrar.poll_output() {
//!     match output {
//!         RegistrarOutput::Event(event) => println!("{event:?}"),
//!         RegistrarOutput::SendKeepalive(probe) => { /* send probe.request to probe.peer */ }
//!     }
//! }
//! assert_eq!(registrar.poll_timeout(), None); // nothing registered, nothing to wait for
//! ```

mod binding;
mod config;
mod contact;
mod keepalive;
mod lockout;
#[cfg(test)]
mod tests;

pub use binding::{
    Binding, BindingId, KeepaliveProbe, RegistrarEvent, RegistrarOutput, RegistrarStats,
    RemovalReason,
};
pub use config::{ContactOverflow, RegistrarConfig};

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rsip::headers::{self, UntypedHeader};
use rsip::prelude::*;
use rsip::{Header, Method, Request, Response, StatusCode};

use crate::Peer;
use crate::digest::{
    DigestAuthenticator, DigestCredentials, DigestError, Verdict, parse_credentials,
};
use crate::message::response_to;
use contact::{RequestedContact, RequestedContacts, same_contact};
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

/// Why a REGISTER is refused; each knows its response (STYLE §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rejection {
    /// 400, with the problem in a Warning header (RFC 3261 §20.43, code 399).
    BadRequest(&'static str),
    MethodNotAllowed,
    Challenge {
        stale: bool,
    },
    Forbidden,
    NotFound,
    IntervalTooBrief,
    /// §10.3 step 7: same Call-ID, CSeq not higher. The RFC says only "the request fails";
    /// 500 is what Kamailio and OpenSIPS answer, and phones retry it with a new CSeq.
    OutOfOrder,
    TooManyContacts,
}

impl Rejection {
    fn status(self) -> StatusCode {
        match self {
            Rejection::BadRequest(_) => StatusCode::BadRequest,
            Rejection::MethodNotAllowed => StatusCode::MethodNotAllowed,
            Rejection::Challenge { .. } => StatusCode::Unauthorized,
            Rejection::Forbidden | Rejection::TooManyContacts => StatusCode::Forbidden,
            Rejection::NotFound => StatusCode::NotFound,
            Rejection::IntervalTooBrief => StatusCode::IntervalTooBrief,
            Rejection::OutOfOrder => StatusCode::ServerInternalError,
        }
    }
}

impl Registrar {
    /// A registrar with `config`; `seed` seeds the RNG behind nonce keys, To tags and keep-alive
    /// identifiers (take it from the OS in production, fix it in tests).
    pub fn new(config: RegistrarConfig, seed: u64) -> Self {
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

    /// Handles a REGISTER received from `peer` and returns the response to send.
    pub fn handle_register(&mut self, now: Instant, request: &Request, peer: Peer) -> Response {
        self.stats.registers_received += 1;
        // Bindings past their time are gone whether or not the timer has fired yet.
        self.expire_due(now);
        let result = self.register(now, request, peer);
        let to_tag = format!("{:08x}", self.rng.random::<u32>());
        let mut response = match result {
            Ok(user) => {
                self.stats.registrations_ok += 1;
                let mut response = response_to(request, StatusCode::OK, Some(&to_tag));
                for entry in self.aors.get(&user).into_iter().flatten() {
                    let remaining = entry.binding.expires_at.saturating_duration_since(now);
                    response
                        .headers
                        .push(Header::Contact(headers::Contact::new(format!(
                            "{};expires={}",
                            entry.binding.contact_header,
                            ceil_secs(remaining)
                        ))));
                }
                response
            }
            Err(rejection) => {
                let mut response = response_to(request, rejection.status(), Some(&to_tag));
                match rejection {
                    Rejection::Challenge { stale } => {
                        self.stats.challenges_sent += 1;
                        for value in self.auth.challenge(now, stale) {
                            response.headers.push(Header::WwwAuthenticate(
                                headers::WwwAuthenticate::new(value),
                            ));
                        }
                    }
                    Rejection::IntervalTooBrief => {
                        response
                            .headers
                            .push(Header::MinExpires(headers::MinExpires::new(
                                self.config.min_expires.as_secs().to_string(),
                            )))
                    }
                    Rejection::MethodNotAllowed => response
                        .headers
                        .push(Header::Allow(headers::Allow::new("REGISTER"))),
                    Rejection::BadRequest(problem) => {
                        response
                            .headers
                            .push(Header::Warning(headers::Warning::new(format!(
                                "399 switchboard \"{problem}\""
                            ))))
                    }
                    _ => {}
                }
                response
            }
        };
        response
            .headers
            .push(Header::ContentLength(headers::ContentLength::new("0")));
        response
    }

    /// Reports the outcome of the keep-alive sent for `binding`: `ok` when the phone answered
    /// anything, false on a transaction timeout or transport error. After
    /// [`RegistrarConfig::keepalive_failures`] failures in a row the binding is removed as
    /// [`RemovalReason::Unreachable`]. Results for bindings that no longer exist are ignored.
    pub fn handle_keepalive_result(&mut self, now: Instant, binding: BindingId, ok: bool) {
        let _ = now;
        let Some(user) = self.owners.get(&binding).cloned() else {
            return;
        };
        let threshold = self.config.keepalive_failures.max(1);
        let Some(entry) = self
            .aors
            .get_mut(&user)
            .and_then(|entries| entries.iter_mut().find(|e| e.binding.id == binding))
        else {
            return;
        };
        let state = &mut entry.keepalive;
        if ok {
            state.failures = 0;
            state.in_flight = false;
            return;
        }
        if !state.in_flight {
            return; // already counted as lost by handle_timeout
        }
        state.in_flight = false;
        state.failures += 1;
        self.stats.keepalive_failures += 1;
        if state.failures >= threshold {
            self.remove_with_announcement(&user, binding, RemovalReason::Unreachable);
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

    fn register(
        &mut self,
        now: Instant,
        request: &Request,
        peer: Peer,
    ) -> Result<String, Rejection> {
        if request.method != Method::Register {
            return Err(Rejection::MethodNotAllowed);
        }
        let to = request
            .to_header()
            .ok()
            .and_then(|h| h.typed().ok())
            .ok_or(Rejection::BadRequest("Malformed To"))?;
        let user = to
            .uri
            .user()
            .filter(|u| !u.is_empty())
            .ok_or(Rejection::BadRequest("To URI has no user"))?
            .to_string();
        let sip_call_id = request
            .call_id_header()
            .map(|h| h.value().to_string())
            .map_err(|_| Rejection::BadRequest("Missing Call-ID"))?;
        let cseq = request
            .cseq_header()
            .ok()
            .and_then(|h| h.typed().ok())
            .ok_or(Rejection::BadRequest("Malformed CSeq"))?
            .seq;

        // §10.3 step 3: authenticate.
        let credentials = self.credentials(request)?;
        let source = peer.remote.ip();
        let guessed = credentials
            .as_ref()
            .map_or(user.as_str(), |c| c.username.as_str());
        if self.lockouts.is_locked(now, guessed, source) {
            self.stats.rejected_locked_out += 1;
            return Err(Rejection::Forbidden);
        }
        if self.config.reveal_unknown_users && !self.config.users.contains_key(&user) {
            return Err(Rejection::NotFound);
        }
        let Some(credentials) = credentials else {
            return Err(Rejection::Challenge { stale: false });
        };
        let password = self
            .config
            .users
            .get(&credentials.username)
            .map(String::as_str);
        match self.auth.verify(
            now,
            request.method.to_string().as_str(),
            &credentials,
            password,
        ) {
            Verdict::Authenticated => {}
            Verdict::Stale => {
                self.stats.stale_nonces += 1;
                return Err(Rejection::Challenge { stale: true });
            }
            Verdict::WrongPassword => {
                self.stats.auth_failures += 1;
                if let Some(until) =
                    self.lockouts
                        .record_failure(now, &credentials.username, source)
                {
                    self.stats.lockouts += 1;
                    self.outputs
                        .push_back(RegistrarOutput::Event(RegistrarEvent::LockedOut {
                            user: credentials.username.clone(),
                            source,
                            until,
                        }));
                    return Err(Rejection::Forbidden);
                }
                return Err(Rejection::Challenge { stale: false });
            }
            Verdict::Replayed => {
                self.stats.replays_rejected += 1;
                return Err(Rejection::Challenge { stale: false });
            }
            Verdict::BadNonce | Verdict::WrongRealm | Verdict::NotOffered => {
                return Err(Rejection::Challenge { stale: false });
            }
        }
        self.lockouts.clear(&credentials.username, source);
        // §10.3 step 4: an authenticated user may only bind its own AOR.
        if credentials.username != user {
            return Err(Rejection::Forbidden);
        }
        // §10.3 step 5 (reached only with reveal_unknown_users off, for a user removed meanwhile).
        if !self.config.users.contains_key(&user) {
            return Err(Rejection::NotFound);
        }

        let requested =
            contact::requested_contacts(request).map_err(|e| Rejection::BadRequest(e.reason()))?;
        let header_expires =
            contact::expires_header(request).map_err(|e| Rejection::BadRequest(e.reason()))?;
        let order = Order {
            sip_call_id: &sip_call_id,
            cseq,
        };
        match requested {
            RequestedContacts::Query => {}
            RequestedContacts::Wildcard => self.remove_all(&user, order)?,
            RequestedContacts::List(list) => {
                self.update(now, &user, list, header_expires, order, peer)?
            }
        }
        Ok(user)
    }

    /// The digest credentials for our realm, if any. Credentials for other realms and schemes
    /// are ignored (answered with a challenge); unreadable ones get 400.
    fn credentials(&self, request: &Request) -> Result<Option<DigestCredentials>, Rejection> {
        let mut unreadable = false;
        for header in request.headers.iter() {
            let Header::Authorization(value) = header else {
                continue;
            };
            match parse_credentials(value.value()) {
                Ok(c) if c.realm == self.auth.realm() => return Ok(Some(c)),
                Ok(_) | Err(DigestError::NotDigest | DigestError::UnsupportedAlgorithm(_)) => {}
                Err(_) => unreadable = true,
            }
        }
        if unreadable {
            Err(Rejection::BadRequest("Malformed Authorization"))
        } else {
            Ok(None)
        }
    }

    /// §10.3 steps 6–8 for a list of contacts, all or nothing.
    fn update(
        &mut self,
        now: Instant,
        user: &str,
        list: Vec<RequestedContact>,
        header_expires: Option<u64>,
        order: Order<'_>,
        peer: Peer,
    ) -> Result<(), Rejection> {
        let min = self.config.min_expires.as_secs();
        let max = self.config.max_expires.as_secs();
        let default = self.config.default_expires.as_secs();

        // Step 6: each contact's expiry, its own parameter first, then the Expires header.
        let mut plan: Vec<(rsip::typed::Contact, u64)> = Vec::with_capacity(list.len());
        for requested in list {
            let secs = requested.expires.or(header_expires).unwrap_or(default);
            if secs != 0 && secs < min {
                return Err(Rejection::IntervalTooBrief);
            }
            let secs = secs.min(max);
            // The same contact twice in one request: the last mention wins.
            plan.retain(|(c, _)| !same_contact(&c.uri, &requested.contact.uri));
            plan.push((requested.contact, secs));
        }

        let existing: &[Entry] = self.aors.get(user).map_or(&[], Vec::as_slice);
        let matched = |uri: &rsip::Uri| {
            existing
                .iter()
                .find(|e| same_contact(&e.binding.contact, uri))
        };
        // Step 7: a binding changed by a REGISTER of the same Call-ID needs a higher CSeq.
        for (contact, _) in &plan {
            if matched(&contact.uri).is_some_and(|e| !order.may_change(&e.binding)) {
                return Err(Rejection::OutOfOrder);
            }
        }
        let untouched: Vec<(Instant, BindingId)> = existing
            .iter()
            .filter(|e| {
                !plan
                    .iter()
                    .any(|(c, _)| same_contact(&c.uri, &e.binding.contact))
            })
            .map(|e| (e.binding.registered_at, e.binding.id))
            .collect();
        let staying = plan.iter().filter(|(_, secs)| *secs > 0).count();
        let limit = self.config.max_contacts_per_aor.max(1);
        if staying > limit {
            return Err(Rejection::TooManyContacts);
        }
        let overflow = (untouched.len() + staying).saturating_sub(limit);
        let mut displaced = Vec::new();
        if overflow > 0 {
            if self.config.contact_overflow == ContactOverflow::Reject {
                return Err(Rejection::TooManyContacts);
            }
            let mut oldest = untouched;
            oldest.sort();
            displaced.extend(oldest.into_iter().take(overflow).map(|(_, id)| id));
        }

        // Checks passed: apply.
        let was_available = self.is_available(user);
        for id in displaced {
            self.remove(user, id, RemovalReason::Replaced);
        }
        for (contact, secs) in plan {
            let existing_id = self
                .bindings(user)
                .find(|b| same_contact(&b.contact, &contact.uri))
                .map(|b| b.id);
            match (existing_id, secs) {
                (Some(id), 0) => self.remove(user, id, RemovalReason::Unregistered),
                (Some(id), secs) => self.refresh(now, user, id, contact, secs, order, peer),
                (None, 0) => {}
                (None, secs) => self.add(now, user, contact, secs, order, peer),
            }
        }
        self.announce_availability(user, was_available);
        Ok(())
    }

    /// `Contact: *` with `Expires: 0` (§10.3 step 6): every binding of the AOR goes, subject to
    /// the same ordering rule.
    fn remove_all(&mut self, user: &str, order: Order<'_>) -> Result<(), Rejection> {
        if self.bindings(user).any(|b| !order.may_change(b)) {
            return Err(Rejection::OutOfOrder);
        }
        let was_available = self.is_available(user);
        let ids: Vec<_> = self.bindings(user).map(|b| b.id).collect();
        for id in ids {
            self.remove(user, id, RemovalReason::Unregistered);
        }
        self.announce_availability(user, was_available);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn refresh(
        &mut self,
        now: Instant,
        user: &str,
        id: BindingId,
        contact: rsip::typed::Contact,
        secs: u64,
        order: Order<'_>,
        peer: Peer,
    ) {
        let Some(entry) = self
            .aors
            .get_mut(user)
            .and_then(|entries| entries.iter_mut().find(|e| e.binding.id == id))
        else {
            return;
        };
        let binding = &mut entry.binding;
        binding.contact = contact.uri.clone();
        binding.contact_header = contact;
        binding.peer = peer;
        binding.expires_at = now + Duration::from_secs(secs);
        binding.sip_call_id = order.sip_call_id.to_string();
        binding.cseq = order.cseq;
        // The REGISTER just came through, so the NAT path is fresh: start counting anew.
        entry.keepalive.failures = 0;
        let event = RegistrarEvent::BindingRefreshed(binding.clone());
        self.outputs.push_back(RegistrarOutput::Event(event));
    }

    fn add(
        &mut self,
        now: Instant,
        user: &str,
        contact: rsip::typed::Contact,
        secs: u64,
        order: Order<'_>,
        peer: Peer,
    ) {
        let id = BindingId(self.next_id);
        self.next_id += 1;
        let binding = Binding {
            id,
            user: user.to_string(),
            contact: contact.uri.clone(),
            contact_header: contact,
            peer,
            expires_at: now + Duration::from_secs(secs),
            registered_at: now,
            sip_call_id: order.sip_call_id.to_string(),
            cseq: order.cseq,
        };
        let keepalive = KeepaliveState {
            next_at: now + self.config.keepalive_interval,
            in_flight: false,
            failures: 0,
        };
        self.outputs
            .push_back(RegistrarOutput::Event(RegistrarEvent::BindingAdded(
                binding.clone(),
            )));
        self.owners.insert(id, user.to_string());
        self.aors
            .entry(user.to_string())
            .or_default()
            .push(Entry { binding, keepalive });
    }

    /// Removes one binding and reports it; availability is announced by the caller.
    fn remove(&mut self, user: &str, id: BindingId, reason: RemovalReason) {
        let Some(entries) = self.aors.get_mut(user) else {
            return;
        };
        let Some(index) = entries.iter().position(|e| e.binding.id == id) else {
            return;
        };
        let entry = entries.remove(index);
        if entries.is_empty() {
            self.aors.remove(user);
        }
        self.owners.remove(&id);
        match reason {
            RemovalReason::Expired => self.stats.bindings_expired += 1,
            RemovalReason::Unreachable => self.stats.bindings_unreachable += 1,
            _ => {}
        }
        self.outputs
            .push_back(RegistrarOutput::Event(RegistrarEvent::BindingRemoved {
                binding: entry.binding,
                reason,
            }));
    }

    fn remove_with_announcement(&mut self, user: &str, id: BindingId, reason: RemovalReason) {
        let was_available = self.is_available(user);
        self.remove(user, id, reason);
        self.announce_availability(user, was_available);
    }

    fn announce_availability(&mut self, user: &str, was_available: bool) {
        let user_owned = user.to_string();
        let event = match (was_available, self.is_available(user)) {
            (false, true) => RegistrarEvent::AgentAvailable { user: user_owned },
            (true, false) => RegistrarEvent::AgentUnavailable { user: user_owned },
            _ => return,
        };
        self.outputs.push_back(RegistrarOutput::Event(event));
    }

    fn expire_due(&mut self, now: Instant) {
        let due: Vec<(String, BindingId)> = self
            .aors
            .iter()
            .flat_map(|(user, entries)| {
                entries
                    .iter()
                    .filter(|e| e.binding.expires_at <= now)
                    .map(|e| (user.clone(), e.binding.id))
            })
            .collect();
        for (user, id) in due {
            self.remove_with_announcement(&user, id, RemovalReason::Expired);
        }
    }

    fn run_keepalives(&mut self, now: Instant) {
        let interval = self.config.keepalive_interval;
        if interval.is_zero() {
            return;
        }
        let threshold = self.config.keepalive_failures.max(1);
        let mut unreachable = Vec::new();
        for (user, entries) in &mut self.aors {
            for entry in entries.iter_mut().filter(|e| e.keepalive.next_at <= now) {
                let state = &mut entry.keepalive;
                if state.in_flight {
                    // No result within a whole interval: the probe is lost, count it failed.
                    state.in_flight = false;
                    state.failures += 1;
                    self.stats.keepalive_failures += 1;
                    if state.failures >= threshold {
                        unreachable.push((user.clone(), entry.binding.id));
                        continue;
                    }
                }
                state.in_flight = true;
                state.next_at = now + interval;
                self.stats.keepalives_sent += 1;
                let request = keepalive::options_request(&entry.binding, &mut self.rng);
                self.outputs
                    .push_back(RegistrarOutput::SendKeepalive(KeepaliveProbe {
                        binding: entry.binding.id,
                        user: user.clone(),
                        peer: entry.binding.peer,
                        request,
                    }));
            }
        }
        for (user, id) in unreachable {
            self.remove_with_announcement(&user, id, RemovalReason::Unreachable);
        }
    }
}

/// The Call-ID and CSeq of the REGISTER being applied (§10.3 step 7).
#[derive(Debug, Clone, Copy)]
struct Order<'a> {
    sip_call_id: &'a str,
    cseq: u32,
}

impl Order<'_> {
    /// A binding last set by another Call-ID may always change; one set by this Call-ID only by
    /// a higher CSeq.
    fn may_change(&self, binding: &Binding) -> bool {
        binding.sip_call_id != self.sip_call_id || self.cseq > binding.cseq
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}
