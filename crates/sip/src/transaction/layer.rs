//! [`TransactionLayer`]: the table of live transactions, message matching, and the one timer
//! wheel; the four machines do the RFC work (see the module docs of `transaction`).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use rsip::headers::UntypedHeader;
use rsip::prelude::HeadersExt;
use rsip::{Header, Method, Request, Response, SipMessage, StatusCode};

use super::client_invite::{CancelDecision, ClientInviteTransaction};
use super::client_non_invite::ClientNonInviteTransaction;
use super::key::{AckKey, ClientKey, ServerKey};
use super::machine::{Action, Ctx, Notice, Timer, to_bytes};
use super::server_invite::{ServerInviteState, ServerInviteTransaction};
use super::server_non_invite::ServerNonInviteTransaction;
use super::timers::{TimerHandle, TimerWheel};
use super::{
    Config, Input, Output, TransactionError, TransactionEvent, TransactionId, TransactionStats,
};
use crate::Peer;
use crate::message::response_to;

/// Wheel geometry: 10 ms ticks resolve T1/2 comfortably; 512 slots make one revolution 5.12 s,
/// so T1-scale retransmission timers need no extra rounds and 32 s timers need six.
const WHEEL_TICK: Duration = Duration::from_millis(10);
const WHEEL_SLOTS: usize = 512;

/// All live SIP transactions of one endpoint. See the [module docs](super) for the model.
#[derive(Debug)]
pub struct TransactionLayer {
    config: Config,
    next_id: u64,
    transactions: HashMap<TransactionId, Entry>,
    client_keys: HashMap<ClientKey, TransactionId>,
    server_keys: HashMap<ServerKey, TransactionId>,
    ack_keys: HashMap<AckKey, TransactionId>,
    wheel: TimerWheel<(TransactionId, Timer)>,
    outputs: VecDeque<Output>,
    scratch: Vec<Action>,
    stats: TransactionStats,
}

#[derive(Debug)]
struct Entry {
    peer: Peer,
    machine: Machine,
    timers: Vec<(Timer, TimerHandle)>,
    client_key: Option<ClientKey>,
    server_key: Option<ServerKey>,
    ack_key: Option<AckKey>,
    /// For an INVITE server transaction: the To tag of the TU's responses, reused for the 200
    /// to a CANCEL (§9.2) and to match an RFC 2543 ACK.
    to_tag: Option<String>,
}

#[derive(Debug)]
#[expect(
    clippy::enum_variant_names,
    reason = "the RFC 3261 names of the four machines"
)]
enum Machine {
    ClientInvite(Box<ClientInviteTransaction>),
    ClientNonInvite(ClientNonInviteTransaction),
    ServerInvite(ServerInviteTransaction),
    ServerNonInvite(ServerNonInviteTransaction),
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
        for (id, timer) in self.wheel.poll_expired(now) {
            let Some(entry) = self.transactions.get_mut(&id) else {
                continue; // the transaction ended; its handles were cancelled, but be safe
            };
            entry.timers.retain(|(t, _)| *t != timer);
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
    }

    /// The next output for the shell, in the order produced.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When `handle_timeout` should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.wheel.next_deadline()
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
        if self.transactions.len() >= self.hard_limit() {
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

    fn send_cancel(
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

    fn on_request(
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
                        .then(|| to_bytes(local_response(&request, StatusCode::Trying, None)));
                    Machine::ServerInvite(ServerInviteTransaction::start(trying, &mut ctx))
                } else {
                    Machine::ServerNonInvite(ServerNonInviteTransaction::start(&mut ctx))
                };
                self.server_keys.insert(key.clone(), id);
                self.insert(id, peer, machine, None, Some(key));
                self.outputs
                    .push_back(Output::Event(TransactionEvent::Request {
                        id,
                        peer,
                        request,
                    }));
                self.apply(now, id, &mut actions);
                self.scratch = actions;
                Ok(())
            }
        }
    }

    fn on_retransmission(&mut self, now: Instant, id: TransactionId) {
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
    fn on_ack(&mut self, now: Instant, peer: Peer, ack: Request) -> Result<(), TransactionError> {
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
    fn on_cancel(
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
        if self.transactions.len() >= self.hard_limit() {
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

    fn on_response(
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

    fn on_transport_error(&mut self, now: Instant, peer: Peer) {
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

    /// Whether a new server transaction for `request` fits. A new call (INVITE without a To
    /// tag) must leave `in_dialog_reserve` free for calls in progress.
    fn admit(&self, request: &Request) -> bool {
        let live = self.transactions.len();
        let initial_invite = request.method == Method::Invite
            && request
                .to_header()
                .ok()
                .and_then(|t| t.tag().ok().flatten())
                .is_none();
        if initial_invite {
            live < self.config.max_transactions
        } else {
            live < self.hard_limit()
        }
    }

    fn hard_limit(&self) -> usize {
        self.config
            .max_transactions
            .saturating_add(self.config.in_dialog_reserve)
    }

    /// 503 with Retry-After, statelessly: at the limit there is no room for a transaction, and
    /// a retransmission simply draws another 503 (RFC 3261 §21.5.4).
    fn refuse_overloaded(&mut self, peer: Peer, request: &Request) {
        self.stats.overload_rejections += 1;
        let mut response = local_response(request, StatusCode::ServiceUnavailable, None);
        response
            .headers
            .push(Header::RetryAfter(rsip::headers::RetryAfter::new(
                self.config.overload_retry_after.as_secs().to_string(),
            )));
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

    fn allocate_id(&mut self) -> TransactionId {
        let id = TransactionId(self.next_id);
        self.next_id += 1;
        id
    }

    fn insert(
        &mut self,
        id: TransactionId,
        peer: Peer,
        machine: Machine,
        client_key: Option<ClientKey>,
        server_key: Option<ServerKey>,
    ) {
        self.stats.created += 1;
        self.transactions.insert(
            id,
            Entry {
                peer,
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
    fn step(
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

    fn apply(&mut self, now: Instant, id: TransactionId, actions: &mut Vec<Action>) {
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
        if terminate {
            self.remove(id);
        }
    }

    fn remove(&mut self, id: TransactionId) {
        let Some(entry) = self.transactions.remove(&id) else {
            return;
        };
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
