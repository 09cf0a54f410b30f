//! [`TransactionLayer`]: the table of live transactions, the TU's commands, and the one timer
//! wheel; `incoming.rs` matches what arrives, the four machines do the RFC work (see the
//! module docs of `transaction`).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use rsip::prelude::HeadersExt;
use rsip::{Method, Request, Response, SipMessage};

use super::client_invite::{CancelDecision, ClientInviteTransaction};
use super::client_non_invite::ClientNonInviteTransaction;
use super::key::{AckKey, ClientKey, ServerKey};
use super::machine::{Action, Ctx, Notice, Timer, to_bytes};
use super::server_invite::ServerInviteTransaction;
use super::server_non_invite::ServerNonInviteTransaction;
use super::timers::{TimerHandle, TimerWheel};
use super::{
    Config, Input, Output, TransactionError, TransactionEvent, TransactionId, TransactionStats,
};
use crate::Peer;

/// Wheel geometry: 10 ms ticks resolve T1/2 comfortably; 512 slots make one revolution 5.12 s,
/// so T1-scale retransmission timers need no extra rounds and 32 s timers need six.
const WHEEL_TICK: Duration = Duration::from_millis(10);
const WHEEL_SLOTS: usize = 512;

/// All live SIP transactions of one endpoint. See the [module docs](super) for the model.
#[derive(Debug)]
pub struct TransactionLayer {
    pub(super) config: Config,
    pub(super) next_id: u64,
    pub(super) transactions: HashMap<TransactionId, Entry>,
    pub(super) client_keys: HashMap<ClientKey, TransactionId>,
    pub(super) server_keys: HashMap<ServerKey, TransactionId>,
    pub(super) ack_keys: HashMap<AckKey, TransactionId>,
    pub(super) wheel: TimerWheel<(TransactionId, Timer)>,
    /// Transactions still awaiting their final response (admission control counts these).
    pub(super) pending: usize,
    pub(super) outputs: VecDeque<Output>,
    pub(super) scratch: Vec<Action>,
    pub(super) stats: TransactionStats,
}

#[derive(Debug)]
pub(super) struct Entry {
    pub(super) peer: Peer,
    pub(super) machine: Machine,
    pub(super) timers: Vec<(Timer, TimerHandle)>,
    pub(super) client_key: Option<ClientKey>,
    pub(super) server_key: Option<ServerKey>,
    pub(super) ack_key: Option<AckKey>,
    /// Counted in `TransactionLayer::pending` until its final response.
    pub(super) pending: bool,
    /// For an INVITE server transaction: the To tag of the TU's responses, reused for the 200
    /// to a CANCEL (§9.2) and to match an RFC 2543 ACK.
    pub(super) to_tag: Option<String>,
}

#[derive(Debug)]
#[expect(
    clippy::enum_variant_names,
    reason = "the RFC 3261 names of the four machines"
)]
pub(super) enum Machine {
    ClientInvite(Box<ClientInviteTransaction>),
    ClientNonInvite(ClientNonInviteTransaction),
    ServerInvite(ServerInviteTransaction),
    ServerNonInvite(ServerNonInviteTransaction),
}

impl Machine {
    fn is_pending(&self) -> bool {
        match self {
            Machine::ClientInvite(m) => m.is_pending(),
            Machine::ClientNonInvite(m) => m.is_pending(),
            Machine::ServerInvite(m) => m.is_pending(),
            Machine::ServerNonInvite(m) => m.is_pending(),
        }
    }
}

impl TransactionLayer {
    /// An empty layer.
    pub fn new(config: Config) -> Self {
        TransactionLayer {
            config,
            next_id: 0,
            transactions: HashMap::new(),
            client_keys: HashMap::new(),
            server_keys: HashMap::new(),
            ack_keys: HashMap::new(),
            wheel: TimerWheel::new(WHEEL_TICK, WHEEL_SLOTS),
            pending: 0,
            outputs: VecDeque::new(),
            scratch: Vec::new(),
            stats: TransactionStats::default(),
        }
    }

    /// Takes one input. Returns the id of the client transaction a `SendRequest` or `Cancel`
    /// created; `None` otherwise. A message that cannot be matched is dropped with an error the
    /// shell only counts; a TU command that cannot be carried out changes nothing.
    pub fn handle_input(
        &mut self,
        now: Instant,
        input: Input,
    ) -> Result<Option<TransactionId>, TransactionError> {
        match input {
            Input::Message { peer, message } => {
                match message {
                    SipMessage::Request(request) => self.on_request(now, peer, request)?,
                    SipMessage::Response(response) => self.on_response(now, peer, response)?,
                }
                Ok(None)
            }
            Input::TransportError { peer } => {
                self.on_transport_error(now, peer);
                Ok(None)
            }
            Input::Respond { id, response } => self.respond(now, id, response).map(|()| None),
            Input::SendRequest { peer, request } => self.send_request(now, peer, request).map(Some),
            Input::Cancel { id } => self.cancel(now, id),
            Input::SendStateless { peer, message } => {
                self.outputs.push_back(Output::Transmit {
                    peer,
                    bytes: to_bytes(&message),
                });
                Ok(None)
            }
        }
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        for (handle, (id, timer)) in self.wheel.poll_expired(now) {
            let Some(entry) = self.transactions.get_mut(&id) else {
                continue; // the transaction ended earlier in this batch
            };
            // A timer disarmed or re-armed by an earlier timer of this batch is no longer the
            // one that fired: skip it.
            let Some(pos) = entry
                .timers
                .iter()
                .position(|&(t, h)| t == timer && h == handle)
            else {
                continue;
            };
            entry.timers.swap_remove(pos);
            if matches!(timer, Timer::A | Timer::E | Timer::G | Timer::Retransmit2xx) {
                self.stats.retransmissions_sent += 1;
            }
            self.step(now, id, |machine, ctx| match machine {
                Machine::ClientInvite(m) => m.on_timer(timer, ctx),
                Machine::ClientNonInvite(m) => m.on_timer(timer, ctx),
                Machine::ServerInvite(m) => m.on_timer(timer, ctx),
                Machine::ServerNonInvite(m) => m.on_timer(timer, ctx),
            });
        }
        // After a burst the maps keep room for all of its transactions: give it back once
        // they are mostly empty (rehashing is O(len)).
        shrink_if_sparse(&mut self.transactions);
        shrink_if_sparse(&mut self.client_keys);
        shrink_if_sparse(&mut self.server_keys);
        shrink_if_sparse(&mut self.ack_keys);
    }

    /// The next output for the shell, in the order produced.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When `handle_timeout` should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.wheel.next_deadline()
    }

    /// How many live transactions still await their final response.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// How many transactions are live.
    pub fn len(&self) -> usize {
        self.transactions.len()
    }

    /// Whether no transaction is live.
    pub fn is_empty(&self) -> bool {
        self.transactions.is_empty()
    }

    /// Counters since creation.
    pub fn stats(&self) -> &TransactionStats {
        &self.stats
    }

    /// TU: answer server transaction `id` (see [`Input::Respond`]).
    pub fn respond(
        &mut self,
        now: Instant,
        id: TransactionId,
        response: Response,
    ) -> Result<(), TransactionError> {
        let entry = self
            .transactions
            .get_mut(&id)
            .ok_or(TransactionError::UnknownTransaction)?;
        let code = response.status_code.code();
        let bytes = to_bytes(&response);
        let reliable = entry.peer.transport.is_reliable();
        let mut actions = std::mem::take(&mut self.scratch);
        let mut ctx = Ctx {
            config: &self.config,
            reliable,
            actions: &mut actions,
        };
        let result = match &mut entry.machine {
            Machine::ServerInvite(m) => m.respond(code, bytes, &mut ctx),
            Machine::ServerNonInvite(m) => m.respond(code, bytes, &mut ctx),
            _ => Err(TransactionError::UnknownTransaction),
        };
        if result.is_ok() && matches!(entry.machine, Machine::ServerInvite(_)) {
            if let Some(tag) = response
                .to_header()
                .ok()
                .and_then(|t| t.tag().ok().flatten())
            {
                entry.to_tag = Some(tag.to_string());
            }
            if (200..300).contains(&code)
                && entry.ack_key.is_none()
                && let Some(key) = AckKey::of_response(&response)
            {
                self.ack_keys.insert(key.clone(), id);
                entry.ack_key = Some(key);
            }
        }
        self.apply(now, id, &mut actions);
        self.scratch = actions;
        result
    }

    /// TU: send `request` to `peer` on a new client transaction (see [`Input::SendRequest`]).
    pub fn send_request(
        &mut self,
        now: Instant,
        peer: Peer,
        request: Request,
    ) -> Result<TransactionId, TransactionError> {
        if request.method == Method::Ack {
            return Err(TransactionError::NotTransactional(request.method));
        }
        let key = ClientKey::of_request(&request)?;
        if !key.is_rfc3261() {
            return Err(TransactionError::BranchWithoutCookie);
        }
        if self.client_keys.contains_key(&key) {
            return Err(TransactionError::DuplicateBranch);
        }
        if self.pending >= self.hard_limit() || self.transactions.len() >= self.memory_limit() {
            return Err(TransactionError::Overloaded);
        }
        let id = self.allocate_id();
        let mut actions = std::mem::take(&mut self.scratch);
        let mut ctx = Ctx {
            config: &self.config,
            reliable: peer.transport.is_reliable(),
            actions: &mut actions,
        };
        let machine = if request.method == Method::Invite {
            Machine::ClientInvite(Box::new(ClientInviteTransaction::start(request, &mut ctx)))
        } else {
            Machine::ClientNonInvite(ClientNonInviteTransaction::start(&request, &mut ctx))
        };
        self.client_keys.insert(key.clone(), id);
        self.insert(id, peer, machine, Some(key), None);
        self.apply(now, id, &mut actions);
        self.scratch = actions;
        Ok(id)
    }

    /// TU: cancel client INVITE `id` (see [`Input::Cancel`]).
    pub fn cancel(
        &mut self,
        now: Instant,
        id: TransactionId,
    ) -> Result<Option<TransactionId>, TransactionError> {
        let Some(Entry {
            machine: Machine::ClientInvite(invite),
            ..
        }) = self.transactions.get_mut(&id)
        else {
            return Err(TransactionError::UnknownTransaction);
        };
        match invite.request_cancel() {
            CancelDecision::SendNow => self.send_cancel(now, id).map(Some),
            CancelDecision::Deferred => Ok(None),
            CancelDecision::TooLate => Err(TransactionError::AlreadyFinal),
        }
    }

    pub(super) fn send_cancel(
        &mut self,
        now: Instant,
        invite_id: TransactionId,
    ) -> Result<TransactionId, TransactionError> {
        let Some(Entry {
            machine: Machine::ClientInvite(invite),
            peer,
            ..
        }) = self.transactions.get(&invite_id)
        else {
            return Err(TransactionError::UnknownTransaction);
        };
        let (cancel, peer) = (invite.build_cancel(), *peer);
        let cancel_id = self.send_request(now, peer, cancel)?;
        self.step(now, invite_id, |machine, ctx| {
            if let Machine::ClientInvite(m) = machine {
                m.cancel_sent(ctx);
            }
        });
        Ok(cancel_id)
    }

    pub(super) fn allocate_id(&mut self) -> TransactionId {
        let id = TransactionId(self.next_id);
        self.next_id += 1;
        id
    }

    pub(super) fn insert(
        &mut self,
        id: TransactionId,
        peer: Peer,
        machine: Machine,
        client_key: Option<ClientKey>,
        server_key: Option<ServerKey>,
    ) {
        self.stats.created += 1;
        let pending = machine.is_pending();
        self.pending += usize::from(pending);
        self.transactions.insert(
            id,
            Entry {
                peer,
                pending,
                machine,
                timers: Vec::new(),
                client_key,
                server_key,
                ack_key: None,
                to_tag: None,
            },
        );
    }

    /// Runs one machine step and carries out what it asked.
    pub(super) fn step(
        &mut self,
        now: Instant,
        id: TransactionId,
        f: impl FnOnce(&mut Machine, &mut Ctx<'_>),
    ) {
        let Some(entry) = self.transactions.get_mut(&id) else {
            return;
        };
        let mut actions = std::mem::take(&mut self.scratch);
        let mut ctx = Ctx {
            config: &self.config,
            reliable: entry.peer.transport.is_reliable(),
            actions: &mut actions,
        };
        f(&mut entry.machine, &mut ctx);
        self.apply(now, id, &mut actions);
        self.scratch = actions;
    }

    pub(super) fn apply(&mut self, now: Instant, id: TransactionId, actions: &mut Vec<Action>) {
        let mut terminate = false;
        for action in actions.drain(..) {
            let Some(entry) = self.transactions.get_mut(&id) else {
                break;
            };
            match action {
                Action::Send(bytes) => self.outputs.push_back(Output::Transmit {
                    peer: entry.peer,
                    bytes,
                }),
                Action::Notify(notice) => {
                    let event = match notice {
                        Notice::Response(response) => TransactionEvent::Response { id, response },
                        Notice::Ack(ack) => TransactionEvent::Ack {
                            invite: Some(id),
                            peer: entry.peer,
                            ack,
                        },
                        Notice::Timeout(timer) => TransactionEvent::Timeout { id, timer },
                        Notice::AckTimeout => TransactionEvent::AckTimeout { id },
                        Notice::TransportError => TransactionEvent::TransportError { id },
                    };
                    self.outputs.push_back(Output::Event(event));
                }
                Action::Arm(timer, after) => {
                    if let Some(pos) = entry.timers.iter().position(|(t, _)| *t == timer) {
                        let (_, handle) = entry.timers.swap_remove(pos);
                        self.wheel.cancel(handle);
                    }
                    let handle = self.wheel.insert(now + after, (id, timer));
                    entry.timers.push((timer, handle));
                }
                Action::Disarm(timer) => {
                    if let Some(pos) = entry.timers.iter().position(|(t, _)| *t == timer) {
                        let (_, handle) = entry.timers.swap_remove(pos);
                        self.wheel.cancel(handle);
                    }
                }
                Action::Terminate => terminate = true,
            }
        }
        if let Some(entry) = self.transactions.get_mut(&id)
            && entry.pending
            && !entry.machine.is_pending()
        {
            entry.pending = false;
            self.pending -= 1;
        }
        if terminate {
            self.remove(id);
        }
    }

    pub(super) fn remove(&mut self, id: TransactionId) {
        let Some(entry) = self.transactions.remove(&id) else {
            return;
        };
        self.pending -= usize::from(entry.pending);
        for (_, handle) in entry.timers {
            self.wheel.cancel(handle);
        }
        if let Some(key) = entry.client_key {
            self.client_keys.remove(&key);
        }
        if let Some(key) = entry.server_key {
            self.server_keys.remove(&key);
        }
        if let Some(key) = entry.ack_key {
            self.ack_keys.remove(&key);
        }
        self.outputs
            .push_back(Output::Event(TransactionEvent::Terminated { id }));
    }
}

/// Shrinks `map` when it uses less than an eighth of its room.
fn shrink_if_sparse<K: Eq + std::hash::Hash, V>(map: &mut HashMap<K, V>) {
    if map.capacity() > 64 && map.len() < map.capacity() / 8 {
        map.shrink_to_fit();
    }
}
