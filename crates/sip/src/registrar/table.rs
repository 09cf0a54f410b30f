//! The location service's binding table: adding, refreshing, removing and expiring bindings,
//! and announcing when an agent becomes available or unavailable.

use std::time::{Duration, Instant};

use super::contact::{RequestedContact, same_contact};
use super::register::Rejection;
use super::{
    Binding, BindingId, ContactOverflow, Entry, KeepaliveState, Registrar, RegistrarEvent,
    RegistrarOutput, RemovalReason,
};
use crate::Peer;

/// Most contacts one REGISTER may name. Matching is quadratic in this number, and no phone sends
/// more than a handful; a request listing thousands is an attack on CPU, refused before any work.
const MAX_CONTACTS_PER_REQUEST: usize = 32;

impl Registrar {
    /// §10.3 steps 6–8 for a list of contacts, all or nothing.
    pub(super) fn update(
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
        if list.len() > MAX_CONTACTS_PER_REQUEST {
            return Err(Rejection::TooManyContacts);
        }

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
    pub(super) fn remove_all(&mut self, user: &str, order: Order<'_>) -> Result<(), Rejection> {
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
    pub(super) fn refresh(
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
        binding.user_agent = order.user_agent.map(str::to_string);
        // The REGISTER just came through, so the NAT path is fresh: start counting anew.
        entry.keepalive.failures = 0;
        let event = RegistrarEvent::BindingRefreshed(binding.clone());
        self.outputs.push_back(RegistrarOutput::Event(event));
    }

    pub(super) fn add(
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
            user_agent: order.user_agent.map(str::to_string),
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
    pub(super) fn remove(&mut self, user: &str, id: BindingId, reason: RemovalReason) {
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

    pub(super) fn remove_with_announcement(
        &mut self,
        user: &str,
        id: BindingId,
        reason: RemovalReason,
    ) {
        let was_available = self.is_available(user);
        self.remove(user, id, reason);
        self.announce_availability(user, was_available);
    }

    pub(super) fn announce_availability(&mut self, user: &str, was_available: bool) {
        let user_owned = user.to_string();
        let event = match (was_available, self.is_available(user)) {
            (false, true) => RegistrarEvent::AgentAvailable { user: user_owned },
            (true, false) => RegistrarEvent::AgentUnavailable { user: user_owned },
            _ => return,
        };
        self.outputs.push_back(RegistrarOutput::Event(event));
    }

    pub(super) fn expire_due(&mut self, now: Instant) {
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
}

/// The Call-ID and CSeq of the REGISTER being applied (§10.3 step 7), and its User-Agent.
#[derive(Debug, Clone, Copy)]
pub(super) struct Order<'a> {
    pub(super) sip_call_id: &'a str,
    pub(super) cseq: u32,
    pub(super) user_agent: Option<&'a str>,
}

impl Order<'_> {
    /// A binding last set by another Call-ID may always change; one set by this Call-ID only by
    /// a higher CSeq.
    fn may_change(&self, binding: &Binding) -> bool {
        binding.sip_call_id != self.sip_call_id || self.cseq > binding.cseq
    }
}
