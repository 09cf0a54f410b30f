//! OPTIONS keep-alive requests towards registered phones (RFC 3261 §11 used as a liveness probe,
//! as Kamailio's `nathelper` and Asterisk's `qualify` do).

use rand::Rng;
use rsip::headers::{self, UntypedHeader};
use rsip::{Header, Method, Request, Version};

use std::time::Instant;

use super::{Binding, BindingId, KeepaliveProbe, Registrar, RegistrarOutput, RemovalReason};

/// Builds an out-of-dialog OPTIONS for `binding`: Request-URI is the Contact, the Via names the
/// local address the REGISTER arrived on (so the phone's response and its NAT mapping line up),
/// and Call-ID, branch and From tag are fresh from `rng`.
pub(crate) fn options_request(binding: &Binding, rng: &mut impl Rng) -> Request {
    let local = binding.peer.local;
    let branch: u64 = rng.random();
    let tag: u32 = rng.random();
    let call_id: u128 = rng.random();
    let headers: Vec<Header> = vec![
        // RFC 3261 §8.1.1.7 magic cookie; `rport` (RFC 3581) so the answer comes back through NAT.
        Header::Via(headers::Via::new(format!(
            "SIP/2.0/{} {local};branch=z9hG4bK{branch:016x};rport",
            binding.peer.transport
        ))),
        Header::MaxForwards(headers::MaxForwards::new("70")),
        Header::From(headers::From::new(format!(
            "<sip:switchboard@{local}>;tag={tag:08x}"
        ))),
        Header::To(headers::To::new(format!("<{}>", binding.contact))),
        Header::CallId(headers::CallId::new(format!(
            "{call_id:032x}@{}",
            local.ip()
        ))),
        Header::CSeq(headers::CSeq::new("1 OPTIONS")),
        Header::ContentLength(headers::ContentLength::new("0")),
    ];
    Request {
        method: Method::Options,
        uri: binding.contact.clone(),
        version: Version::V2,
        headers: headers.into(),
        body: Vec::new(),
    }
}

impl Registrar {
    /// Reports the outcome of the keep-alive sent for `binding`: `ok` when the phone answered
    /// anything, false on a transaction timeout or transport error. After
    /// [`RegistrarConfig::keepalive_failures`](super::RegistrarConfig::keepalive_failures) failures in a row the binding is removed as
    /// [`RemovalReason::Unreachable`]. Results for bindings that no longer exist are ignored.
    /// (`now` is not needed today; it keeps the handler shape of every core input.)
    pub fn handle_keepalive_result(&mut self, _now: Instant, binding: BindingId, ok: bool) {
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

    pub(super) fn run_keepalives(&mut self, now: Instant) {
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
                let request = options_request(&entry.binding, &mut self.rng);
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
