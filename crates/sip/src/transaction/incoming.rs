//! What arrives from the network: requests matched to server transactions (or starting new
//! ones), ACK and CANCEL with their special matching (§17.2.3, §9.2, §13.3.1.4), responses
//! matched to client transactions (§17.1.3), transport errors, and the overload gate.

use std::time::Instant;

use rsip::headers::UntypedHeader;
use rsip::prelude::HeadersExt;
use rsip::{Header, Method, Request, Response, StatusCode};

use super::TransactionLayer;
use super::key::{AckKey, ClientKey, ServerKey};
use super::layer::{Entry, Machine};
use super::machine::{Ctx, to_bytes};
use super::server_invite::{ServerInviteState, ServerInviteTransaction};
use super::server_non_invite::ServerNonInviteTransaction;
use super::{Output, TransactionError, TransactionEvent, TransactionId};
use crate::Peer;
use crate::message::response_to;

impl TransactionLayer {
    pub(super) fn on_request(
        &mut self,
        now: Instant,
        peer: Peer,
        request: Request,
    ) -> Result<(), TransactionError> {
        match request.method {
            Method::Ack => self.on_ack(now, peer, request),
            Method::Cancel => self.on_cancel(now, peer, request),
            _ => {
                let key = ServerKey::of_request(&request)?;
                if let Some(&id) = self.server_keys.get(&key) {
                    self.on_retransmission(now, id);
                    return Ok(());
                }
                if !self.admit(&request) {
                    self.refuse_overloaded(peer, &request);
                    return Ok(());
                }
                let id = self.allocate_id();
                let mut actions = std::mem::take(&mut self.scratch);
                let mut ctx = Ctx {
                    config: &self.config,
                    reliable: peer.transport.is_reliable(),
                    actions: &mut actions,
                };
                let machine = if request.method == Method::Invite {
                    let trying = self
                        .config
                        .send_100_trying
                        .then(|| to_bytes(trying(&request)));
                    Machine::ServerInvite(ServerInviteTransaction::start(trying, &mut ctx))
                } else {
                    Machine::ServerNonInvite(ServerNonInviteTransaction::start(&mut ctx))
                };
                self.server_keys.insert(key.clone(), id);
                self.insert(id, peer, machine, None, Some(key));
                // The 100 goes out before the TU hears of the request.
                self.apply(now, id, &mut actions);
                self.scratch = actions;
                self.outputs
                    .push_back(Output::Event(TransactionEvent::Request {
                        id,
                        peer,
                        request,
                    }));
                Ok(())
            }
        }
    }

    pub(super) fn on_retransmission(&mut self, now: Instant, id: TransactionId) {
        self.stats.retransmissions_absorbed += 1;
        self.step(now, id, |machine, ctx| match machine {
            Machine::ServerInvite(m) => {
                m.on_retransmission(ctx);
            }
            Machine::ServerNonInvite(m) => {
                m.on_retransmission(ctx);
            }
            _ => {}
        });
    }

    /// An ACK: for a non-2xx final it matches the INVITE transaction by branch (§17.2.3); for
    /// a 2xx it is a new transaction and is matched by dialog and CSeq (§13.3.1.4).
    pub(super) fn on_ack(
        &mut self,
        now: Instant,
        peer: Peer,
        ack: Request,
    ) -> Result<(), TransactionError> {
        let mut target = None;
        if let Ok(key) = ServerKey::of_request(&ack) {
            target = self.server_keys.get(&key).copied();
            if target.is_none() && key.is_rfc2543() {
                // RFC 2543: the ACK carries our To tag, the INVITE had none (or the dialog's).
                let ack_tag = ack
                    .to_header()
                    .ok()
                    .and_then(|t| t.tag().ok().flatten())
                    .map(|t| t.to_string());
                target = self
                    .server_keys
                    .get(&key.with_to_tag(None))
                    .copied()
                    .filter(|id| {
                        self.transactions
                            .get(id)
                            .is_some_and(|e| e.to_tag.is_some() && e.to_tag == ack_tag)
                    });
            }
        }
        if target.is_none() {
            target = AckKey::of_ack(&ack).and_then(|k| self.ack_keys.get(&k).copied());
        }
        let Some(id) = target.filter(|id| {
            matches!(
                self.transactions.get(id).map(|e| &e.machine),
                Some(Machine::ServerInvite(_))
            )
        }) else {
            self.outputs.push_back(Output::Event(TransactionEvent::Ack {
                invite: None,
                peer,
                ack,
            }));
            return Ok(());
        };
        self.step(now, id, |machine, ctx| {
            if let Machine::ServerInvite(m) = machine {
                m.on_ack(ack, ctx);
            }
        });
        Ok(())
    }

    /// A CANCEL is its own non-INVITE server transaction, answered by the layer (§9.2).
    pub(super) fn on_cancel(
        &mut self,
        now: Instant,
        peer: Peer,
        cancel: Request,
    ) -> Result<(), TransactionError> {
        let key = ServerKey::of_request(&cancel)?;
        if let Some(&id) = self.server_keys.get(&key) {
            self.on_retransmission(now, id);
            return Ok(());
        }
        if self.pending >= self.hard_limit() || self.transactions.len() >= self.memory_limit() {
            self.refuse_overloaded(peer, &cancel);
            return Ok(());
        }
        let invite_id = self
            .server_keys
            .get(&ServerKey::of_invite_for(&cancel)?)
            .copied();
        let invite = invite_id.and_then(|id| match self.transactions.get(&id) {
            Some(Entry {
                machine: Machine::ServerInvite(m),
                to_tag,
                ..
            }) => Some((id, m.state(), to_tag.clone())),
            _ => None,
        });
        let response = match &invite {
            None => local_response(&cancel, StatusCode::CallTransactionDoesNotExist, None),
            Some((_, _, to_tag)) => local_response(&cancel, StatusCode::OK, to_tag.as_deref()),
        };
        let id = self.allocate_id();
        let mut actions = std::mem::take(&mut self.scratch);
        let mut ctx = Ctx {
            config: &self.config,
            reliable: peer.transport.is_reliable(),
            actions: &mut actions,
        };
        let mut machine = ServerNonInviteTransaction::start(&mut ctx);
        let code = response.status_code.code();
        machine.respond(code, to_bytes(&response), &mut ctx)?;
        self.server_keys.insert(key.clone(), id);
        self.insert(id, peer, Machine::ServerNonInvite(machine), None, Some(key));
        self.apply(now, id, &mut actions);
        self.scratch = actions;
        if let Some((invite_id, ServerInviteState::Proceeding, _)) = invite {
            self.outputs
                .push_back(Output::Event(TransactionEvent::Cancelled {
                    id: invite_id,
                    peer,
                    cancel,
                }));
        }
        Ok(())
    }

    pub(super) fn on_response(
        &mut self,
        now: Instant,
        peer: Peer,
        response: Response,
    ) -> Result<(), TransactionError> {
        let key = ClientKey::of_response(&response)?;
        let Some(&id) = self.client_keys.get(&key) else {
            self.stats.stray_responses += 1;
            self.outputs
                .push_back(Output::Event(TransactionEvent::StrayResponse {
                    peer,
                    response,
                }));
            return Ok(());
        };
        self.step(now, id, |machine, ctx| match machine {
            Machine::ClientInvite(m) => m.on_response(response, ctx),
            Machine::ClientNonInvite(m) => m.on_response(response, ctx),
            _ => {}
        });
        // §9.1: a CANCEL asked for before any provisional goes out with the first one.
        let pending = match self.transactions.get_mut(&id) {
            Some(Entry {
                machine: Machine::ClientInvite(m),
                ..
            }) => m.take_pending_cancel(),
            _ => false,
        };
        if pending {
            // A failure here (the limit) leaves Timer B to end the INVITE.
            let _ = self.send_cancel(now, id);
        }
        Ok(())
    }

    pub(super) fn on_transport_error(&mut self, now: Instant, peer: Peer) {
        let mut ids: Vec<TransactionId> = self
            .transactions
            .iter()
            .filter(|(_, e)| e.peer == peer)
            .map(|(id, _)| *id)
            .collect();
        ids.sort();
        for id in ids {
            self.step(now, id, |machine, ctx| match machine {
                Machine::ClientInvite(m) => m.on_transport_error(ctx),
                Machine::ClientNonInvite(m) => m.on_transport_error(ctx),
                Machine::ServerInvite(m) => m.on_transport_error(ctx),
                Machine::ServerNonInvite(m) => m.on_transport_error(ctx),
            });
        }
    }

    /// Whether a new server transaction for `request` fits. Load is what still awaits a final
    /// response: a transaction past it only absorbs retransmissions until Timer J/I/L ends it
    /// (up to 64·T1), so counting those would cap the sustained rate at `max / 32 s`. A new
    /// call (INVITE without a To tag) must leave `in_dialog_reserve` free for calls in
    /// progress; the total of live transactions is bounded too, for memory.
    pub(super) fn admit(&self, request: &Request) -> bool {
        if self.transactions.len() >= self.memory_limit() {
            return false;
        }
        let initial_invite = request.method == Method::Invite
            && request
                .to_header()
                .ok()
                .and_then(|t| t.tag().ok().flatten())
                .is_none();
        if initial_invite {
            self.pending < self.config.max_transactions
        } else {
            self.pending < self.hard_limit()
        }
    }

    pub(super) fn hard_limit(&self) -> usize {
        self.config
            .max_transactions
            .saturating_add(self.config.in_dialog_reserve)
    }

    /// Live transactions of any state, lingering ones included: 64 × the pending limit, so at
    /// the limit's full rate the 32 s linger of completed transactions still fits.
    pub(super) fn memory_limit(&self) -> usize {
        self.hard_limit().saturating_mul(64)
    }

    /// 503 with Retry-After, statelessly: at the limit there is no room for a transaction, and
    /// a retransmission simply draws another 503 (RFC 3261 §21.5.4).
    pub(super) fn refuse_overloaded(&mut self, peer: Peer, request: &Request) {
        self.stats.overload_rejections += 1;
        let response = crate::message::overloaded(request, self.config.overload_retry_after);
        self.outputs.push_back(Output::Transmit {
            peer,
            bytes: to_bytes(&response),
        });
        self.outputs
            .push_back(Output::Event(TransactionEvent::Overloaded {
                peer,
                method: request.method,
            }));
    }
}

/// A response the layer itself generates (100, 200 or 481 to CANCEL, 503): the §8.2.6 copy of
/// the request's headers plus `Content-Length: 0`, which a stream transport needs (§18.3).
fn local_response(request: &Request, status: StatusCode, to_tag: Option<&str>) -> Response {
    let mut response = response_to(request, status, to_tag);
    response
        .headers
        .push(Header::ContentLength(rsip::headers::ContentLength::new(
            "0",
        )));
    response
}

/// 100 Trying (§8.2.6.1): no To tag, and the request's Timestamp copied so the client can
/// measure the round trip.
fn trying(request: &Request) -> Response {
    let mut response = local_response(request, StatusCode::Trying, None);
    if let Some(timestamp) = request
        .headers
        .iter()
        .find(|h| matches!(h, Header::Timestamp(_)))
    {
        response.headers.push(timestamp.clone());
    }
    response
}
