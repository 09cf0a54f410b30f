//! The engine core: one owner for everything that decides (DESIGN.md "A call's path").
//!
//! [`Engine`] holds the SIP transaction layer and registrar (the TU that used to live in the
//! daemon's `sip/service.rs`), the dialogs of every call (B2BUA), the ACD [`Router`] and the
//! IVR sessions. Because one value owns all of them, an agent answering, a caller hanging up
//! and a ring timeout can never race: each input is handled to the end before the next.
//!
//! Sans-IO, four methods plus typed inputs (STYLE.md §1): `handle_sip`, `handle_media`,
//! `handle_store`, `handle_transport_error`, `handle_timeout`, `poll_output`, `poll_timeout`.
//! Wall-clock time (CDRs, queue_log) is derived from one anchor given at construction plus the
//! monotonic `now`, so the core never reads a clock.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rsip::{Header, Request, Response, SipMessage, StatusCode};
use switchboard_acd::{OfferId, Router, RouterInput, RouterOptions};
use switchboard_config::{Config, DigestAlgorithm};
use switchboard_ivr::Flow;
use switchboard_sip::Peer;
use switchboard_sip::dialog::DialogId;
use switchboard_sip::digest::{Algorithm, DigestAuthenticator};
use switchboard_sip::message::response_to;
use switchboard_sip::registrar::{
    BindingId, ContactOverflow, Registrar, RegistrarConfig, RegistrarOutput,
};
use switchboard_sip::transaction::{
    self, Input, Output as LayerOutput, TransactionId, TransactionLayer,
};
use switchboard_store::{NewEvent, WriteOp};

use crate::acd_map;
use crate::call::{AgentLeg, Call};
use crate::output::{LegAllocator, LegId, MediaCommand, MediaEvent, Output, Ticket};
use crate::policy::Directory;

/// Limits and locations the engine needs besides the configuration.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Calls in progress above which a new INVITE gets 503 with Retry-After.
    pub max_calls: usize,
    /// Where recordings are written.
    pub recordings_dir: PathBuf,
    /// Seed for tags, branches, call ids and the router's random strategies.
    pub seed: u64,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            max_calls: 1000,
            recordings_dir: PathBuf::from("recordings"),
            seed: 0,
        }
    }
}

/// Why the engine could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The router refused the configuration's queues or agents.
    #[error("routing configuration refused: {0}")]
    Router(#[from] switchboard_acd::RouterError),
}

/// What a client transaction of ours is for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ClientPurpose {
    /// The INVITE ringing an agent.
    AgentInvite(OfferId),
    /// A BYE (its outcome changes nothing).
    Bye,
    /// A registrar keep-alive OPTIONS.
    Keepalive(BindingId),
    /// An INVITE out through a trunk.
    Outbound(crate::outbound::OutboundId),
}

/// Which leg a dialog is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DialogOwner {
    Caller(u128),
    Agent(OfferId),
    /// A far leg (forwarded call) dialled through a trunk.
    Outbound(crate::outbound::OutboundId),
}

/// What to do once a store write is committed.
#[derive(Debug)]
pub(crate) enum AfterCommit {
    /// Nothing (the events are published by the shell).
    Nothing,
    /// `AgentAlerting` is durable: send the agent INVITE.
    SendAgentInvite(OfferId),
    /// The CDR is durable: free the call's media, and answer the caller's BYE if it ended
    /// the call (the 200 waits for the commit, so a crash between the two cannot turn a call
    /// the caller saw end into one closed `restart`).
    ReleaseLegs {
        /// The call's media legs.
        legs: Vec<LegId>,
        /// The BYE transaction and its 200.
        bye: Option<(TransactionId, Response)>,
    },
}

/// The call engine core. See the module docs.
pub struct Engine {
    pub(crate) config: Arc<Config>,
    pub(crate) flows: HashMap<String, Arc<Flow>>,
    pub(crate) options: EngineOptions,
    pub(crate) layer: TransactionLayer,
    pub(crate) registrar: Registrar,
    pub(crate) router: Router,
    pub(crate) invite_auth: DigestAuthenticator,
    pub(crate) passwords: HashMap<String, String>,
    pub(crate) directory: Directory,
    server_header: String,
    pub(crate) rng: StdRng,
    anchor: (Instant, SystemTime),
    pub(crate) legs: Box<dyn LegAllocator>,
    pub(crate) calls: HashMap<u128, Call>,
    pub(crate) agent_legs: HashMap<OfferId, AgentLeg>,
    /// Legs dialled out through a trunk.
    pub(crate) outbound: HashMap<crate::outbound::OutboundId, crate::outbound::OutboundLeg>,
    pub(crate) next_outbound: crate::outbound::OutboundId,
    pub(crate) client_tx: HashMap<TransactionId, ClientPurpose>,
    pub(crate) dialogs: HashMap<DialogId, DialogOwner>,
    pub(crate) tickets: HashMap<Ticket, AfterCommit>,
    next_ticket: u64,
    pub(crate) outputs: VecDeque<Output>,
    /// Agents whose phone is registered (the router hears Ready / LoggedOut from these).
    pub(crate) registered: HashSet<String>,
    /// Caller INVITE server transactions whose 2xx awaits its ACK.
    pub(crate) caller_invites: HashMap<TransactionId, u128>,
    /// The 200 for a caller's BYE, held until the call's CDR is committed (by call).
    pub(crate) caller_byes: HashMap<u128, (TransactionId, Response)>,
    /// Agents set NotReady because *our* media ports ran out while offering them a call, with
    /// when to make them Ready again and the state that retry expects (see
    /// `Engine::media_retries`).
    pub(crate) media_retries: HashMap<String, (Instant, switchboard_acd::AgentState)>,
    /// Devices named when agents were logged in through the API (`agent_device.rs`), until
    /// they log out.
    pub(crate) login_devices: HashMap<String, String>,
    /// Callbacks without a caller waiting for their `not_before` time
    /// (`scheduled_callback.rs`): when, the call id, the persisted entry.
    pub(crate) scheduled_callbacks: Vec<(Instant, u128, switchboard_store::CallbackEntry)>,
    /// A connected call's COMPLETECALLER/COMPLETEAGENT line, written with its CDR.
    pub(crate) pending: HashMap<u128, switchboard_store::QueueLogLine>,
    /// The state each agent was last journaled in: the `previous` of its next
    /// `AgentStateChanged` (the router reports only the new state).
    pub(crate) journaled_agent_states: HashMap<String, switchboard_proto::pb::AgentState>,
    /// Overload warnings are rate-limited (one a second, with the count in between): a flood
    /// must not turn into a flood of log lines.
    pub(crate) overload_log: OverloadLog,
    /// API consultations in progress, by their router id (`consultation.rs`).
    pub(crate) consultations: HashMap<u128, crate::consultation::Consultation>,
    /// The last ended calls, readable for a while (issue 7: `CALL_ENDED` for late commands).
    pub(crate) ended: VecDeque<switchboard_proto::pb::Call>,
    /// When each agent entered its current state (wall clock).
    pub(crate) agent_since: HashMap<String, SystemTime>,
    /// The API command being carried out: its `request_id` goes on every event it causes.
    pub(crate) request_id: Option<String>,
    /// Each agent's last answered call (text id): the call its wrap-up is for.
    pub(crate) last_call_of: HashMap<String, String>,
    /// The agent leg of each journaled `AgentAlerting` (call, agent), until its one
    /// `AgentAlertingEnded`: both name the leg.
    pub(crate) alerting_legs: HashMap<(u128, String), LegId>,
    /// Queues whose statistics are to be pushed as `QueueStatsUpdated`.
    pub(crate) stats_push: crate::queue_stats::StatsPush,
}

/// When the last overload warning was logged and how many refusals came since.
#[derive(Debug, Default)]
pub(crate) struct OverloadLog {
    pub(crate) last_warned: Option<Instant>,
    pub(crate) suppressed: u64,
}

impl Engine {
    /// Builds the engine for `config` at `now` (`wall` is the wall clock at `now`). `flows`
    /// are the loaded IVR flows by name.
    pub fn new(
        config: Arc<Config>,
        flows: HashMap<String, Arc<Flow>>,
        options: EngineOptions,
        legs: Box<dyn LegAllocator>,
        now: Instant,
        wall: SystemTime,
    ) -> Result<Engine, EngineError> {
        let sip = &config.sip;
        let mut seeds = StdRng::seed_from_u64(options.seed);
        let passwords: HashMap<String, String> = config
            .agents()
            .iter()
            .map(|a| (a.id.as_str().to_string(), a.password.expose().to_string()))
            .collect();
        let algorithms: Vec<Algorithm> = sip
            .registrar
            .digest_algorithms
            .iter()
            .map(|a| match a {
                DigestAlgorithm::Md5 => Algorithm::Md5,
                DigestAlgorithm::Sha256 => Algorithm::Sha256,
            })
            .collect();
        let reg = &sip.registrar;
        let registrar_config = RegistrarConfig {
            realm: sip.realm.clone(),
            users: passwords.clone(),
            algorithms: algorithms.clone(),
            min_expires: reg.min_expires,
            max_expires: reg.max_expires,
            default_expires: reg.default_expires,
            max_contacts_per_aor: reg.max_contacts_per_agent,
            // As the configuration documents it: a phone that re-registers from a new port (a
            // reboot, a NAT rebinding) replaces its oldest binding instead of being refused.
            contact_overflow: ContactOverflow::ReplaceOldest,
            nonce_lifetime: reg.nonce_lifetime,
            lockout_threshold: reg.auth_failures_before_lockout.unwrap_or(0),
            lockout_duration: reg.lockout,
            keepalive_interval: reg.keepalive_interval.unwrap_or_default(),
            keepalive_failures: reg.keepalive_failures,
            ..RegistrarConfig::default()
        };
        let layer_config = transaction::Config {
            t1: sip.t1,
            t2: sip.t2,
            t4: sip.t4,
            max_transactions: sip.max_transactions,
            overload_retry_after: sip.retry_after,
            ..transaction::Config::default()
        };
        let directory = Directory {
            trunk_sources: config
                .trunks()
                .iter()
                .flat_map(|t| t.sources.iter().copied())
                .collect(),
            agents: passwords.keys().cloned().collect(),
            routes: config.routes().iter().map(|r| r.dnis.clone()).collect(),
        };
        let mut router = Router::new(
            now,
            wall,
            RouterOptions {
                seed: seeds.random(),
                ..RouterOptions::default()
            },
        );
        router.handle_input(now, RouterInput::Configure(acd_map::config_update(&config)))?;
        let mut engine = Engine {
            layer: TransactionLayer::new(layer_config),
            registrar: Registrar::new(registrar_config, seeds.random()),
            invite_auth: DigestAuthenticator::new(
                &sip.realm,
                &algorithms,
                reg.nonce_lifetime,
                10_000,
                seeds.random(),
            ),
            passwords,
            directory,
            server_header: sip.user_agent.clone(),
            rng: StdRng::seed_from_u64(seeds.random()),
            anchor: (now, wall),
            legs,
            router,
            config,
            flows,
            options,
            calls: HashMap::new(),
            agent_legs: HashMap::new(),
            outbound: HashMap::new(),
            next_outbound: 1,
            client_tx: HashMap::new(),
            dialogs: HashMap::new(),
            tickets: HashMap::new(),
            next_ticket: 1,
            outputs: VecDeque::new(),
            registered: HashSet::new(),
            pending: HashMap::new(),
            journaled_agent_states: HashMap::new(),
            caller_invites: HashMap::new(),
            caller_byes: HashMap::new(),
            media_retries: HashMap::new(),
            login_devices: HashMap::new(),
            scheduled_callbacks: Vec::new(),
            overload_log: OverloadLog::default(),
            consultations: HashMap::new(),
            ended: VecDeque::new(),
            agent_since: HashMap::new(),
            request_id: None,
            last_call_of: HashMap::new(),
            alerting_legs: HashMap::new(),
            stats_push: Default::default(),
        };
        engine.stats_baseline(now);
        Ok(engine)
    }

    // ---- the four methods ----

    /// A parsed SIP message from `peer`.
    pub fn handle_sip(&mut self, now: Instant, peer: Peer, message: SipMessage) {
        if let Err(err) = self
            .layer
            .handle_input(now, Input::Message { peer, message })
        {
            metrics::counter!("switchboard_sip_unmatchable_total").increment(1);
            tracing::debug!(%peer, error = %err, "message dropped by the transaction layer");
        }
        self.drain(now);
    }

    /// The transport could not send to `peer` (TCP connection gone): its transactions fail.
    pub fn handle_transport_error(&mut self, now: Instant, peer: Peer) {
        let _ = self.layer.handle_input(now, Input::TransportError { peer });
        self.drain(now);
    }

    /// Something the media plane reports.
    pub fn handle_media(&mut self, now: Instant, event: MediaEvent) {
        self.on_media(now, event);
        self.drain(now);
    }

    /// The store committed (or failed) the write `ticket`.
    pub fn handle_store(&mut self, now: Instant, ticket: Ticket, ok: bool) {
        match self.tickets.remove(&ticket) {
            Some(AfterCommit::SendAgentInvite(offer)) => {
                // Without a durable screen-pop there is no offer (issue 6: journaled BEFORE
                // the INVITE); a failed write fails the offer instead.
                if ok {
                    self.send_agent_invite(now, offer);
                } else {
                    tracing::warn!(?offer, "AgentAlerting not journaled: offer failed");
                    self.offer_failed(now, offer);
                }
            }
            Some(AfterCommit::ReleaseLegs { legs, bye }) => {
                if !ok {
                    tracing::error!("a CDR write failed; releasing the call's media anyway");
                }
                if let Some((id, response)) = bye {
                    self.respond(now, id, response);
                }
                for leg in legs {
                    self.outputs
                        .push_back(Output::Media(MediaCommand::CloseLeg { leg }));
                }
            }
            Some(AfterCommit::Nothing) | None => {
                if !ok {
                    tracing::error!(?ticket, "journal write failed");
                }
            }
        }
        self.drain(now);
    }

    /// Fires whatever is due: SIP timers, registration expiry, ring timeouts, wrap-up ends,
    /// IVR digit timeouts.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.layer.handle_timeout(now);
        self.registrar.handle_timeout(now);
        self.router.handle_timeout(now);
        self.ivr_timeouts(now);
        self.session_timeouts(now);
        self.media_retries(now);
        self.outbound_timeouts(now);
        self.scheduled_callback_timeouts(now);
        self.drain(now);
        self.release_idle_capacity();
    }

    /// A burst of calls leaves the per-call maps with room for all of them (a `Call` is about
    /// 2.5 KiB inline, an agent leg 1.8 KiB): once they are mostly empty, that room goes back
    /// to the allocator (and from there to the OS: the daemon trims its heap after bursts).
    fn release_idle_capacity(&mut self) {
        shrink_if_sparse(&mut self.calls);
        shrink_if_sparse(&mut self.agent_legs);
        shrink_if_sparse(&mut self.dialogs);
        shrink_if_sparse(&mut self.tickets);
        shrink_if_sparse(&mut self.outbound);
        shrink_if_sparse(&mut self.client_tx);
        shrink_if_sparse(&mut self.caller_invites);
    }

    /// The next thing for the shell to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When to call [`Engine::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.layer.poll_timeout(),
            self.registrar.poll_timeout(),
            self.router.poll_timeout(),
            self.ivr_deadline(),
            self.session_deadline(),
            self.media_retries.values().map(|(at, _)| *at).min(),
            self.outbound_deadline(),
            self.scheduled_callback_deadline(),
            self.stats_push.deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ---- read access for the shell and tests ----

    /// Calls in progress.
    pub fn call_count(&self) -> usize {
        self.calls.len()
    }

    /// The router (agent states, queue statistics).
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The registrar (bindings).
    pub fn registrar(&self) -> &Registrar {
        &self.registrar
    }

    // ---- internals shared by the other modules ----

    pub(crate) fn wall(&self, now: Instant) -> SystemTime {
        self.anchor.1 + now.saturating_duration_since(self.anchor.0)
    }

    /// Queues a store write and remembers what to do after its commit.
    pub(crate) fn store(&mut self, mut op: WriteOp, after: AfterCommit) {
        if let Some(request_id) = &self.request_id {
            // Issue 7: every event a command causes carries its request_id.
            if let WriteOp::Append(events)
            | WriteOp::Record { events, .. }
            | WriteOp::FinishCall { events, .. } = &mut op
            {
                for event in events.iter_mut() {
                    event.request_id.get_or_insert_with(|| request_id.clone());
                }
            }
        }
        let ticket = Ticket(self.next_ticket);
        self.next_ticket += 1;
        self.tickets.insert(ticket, after);
        self.outputs.push_back(Output::Store { ticket, op });
    }

    /// Journals events (published by the shell after the commit).
    pub(crate) fn journal(&mut self, events: Vec<NewEvent>) {
        if !events.is_empty() {
            self.store(WriteOp::Append(events), AfterCommit::Nothing);
        }
    }

    pub(crate) fn media(&mut self, command: MediaCommand) {
        self.outputs.push_back(Output::Media(command));
    }

    /// Feeds the router, logging a refusal (a stale offer id after a race is expected).
    pub(crate) fn route(&mut self, now: Instant, input: RouterInput) -> bool {
        match self.router.handle_input(now, input) {
            Ok(()) => true,
            Err(err) => {
                tracing::debug!(error = %err, "router refused an input");
                false
            }
        }
    }

    pub(crate) fn respond(&mut self, now: Instant, id: TransactionId, response: Response) {
        let response = self.finish(response);
        if let Err(err) = self.layer.respond(now, id, response) {
            tracing::debug!(%id, error = %err, "response not sent");
        }
    }

    pub(crate) fn send_request(
        &mut self,
        now: Instant,
        peer: Peer,
        request: Request,
        purpose: ClientPurpose,
    ) -> Option<TransactionId> {
        match self.layer.send_request(now, peer, request) {
            Ok(id) => {
                self.client_tx.insert(id, purpose);
                Some(id)
            }
            Err(err) => {
                tracing::debug!(%peer, error = %err, "request not sent");
                None
            }
        }
    }

    pub(crate) fn send_stateless(&mut self, now: Instant, peer: Peer, message: SipMessage) {
        let _ = self
            .layer
            .handle_input(now, Input::SendStateless { peer, message });
    }

    /// A response with a fresh To tag (§8.2.6.2).
    pub(crate) fn response(&mut self, request: &Request, status: StatusCode) -> Response {
        let tag = switchboard_sip::dialog::new_tag(&mut self.rng);
        response_to(request, status, Some(&tag))
    }

    /// Adds the headers every response of ours carries.
    fn finish(&self, mut response: Response) -> Response {
        response
            .headers
            .push(Header::Server(self.server_header.clone().into()));
        if !response
            .headers
            .iter()
            .any(|h| matches!(h, Header::ContentLength(_)))
        {
            response.headers.push(Header::ContentLength(0.into()));
        }
        response
    }

    /// Drains the transaction layer and the registrar until neither has anything left (one's
    /// output is often the other's input), then the router's decisions.
    pub(crate) fn drain(&mut self, now: Instant) {
        loop {
            let mut progressed = false;
            while let Some(output) = self.layer.poll_output() {
                progressed = true;
                match output {
                    LayerOutput::Transmit { peer, bytes } => {
                        self.outputs.push_back(Output::Transmit { peer, bytes });
                    }
                    LayerOutput::Event(event) => self.on_transaction_event(now, event),
                }
            }
            while let Some(output) = self.registrar.poll_output() {
                progressed = true;
                match output {
                    RegistrarOutput::Event(event) => self.on_registration(now, event),
                    RegistrarOutput::SendKeepalive(probe) => {
                        if self
                            .send_request(
                                now,
                                probe.peer,
                                probe.request,
                                ClientPurpose::Keepalive(probe.binding),
                            )
                            .is_none()
                        {
                            self.registrar
                                .handle_keepalive_result(now, probe.binding, false);
                        }
                    }
                }
            }
            while let Some(decision) = self.router.poll_output() {
                progressed = true;
                self.on_decision(now, decision);
            }
            if !progressed {
                break;
            }
        }
        // After the input's own events: the statistics they changed.
        self.push_stats(now);
    }

    fn on_media(&mut self, now: Instant, event: MediaEvent) {
        match event {
            MediaEvent::Dtmf { leg, digit } => self.on_digit(now, leg, digit),
            MediaEvent::PlaybackFinished { leg, playback } => {
                self.on_playback_finished(now, leg, playback);
            }
            MediaEvent::Inactive { leg } => self.on_media_inactive(now, leg),
        }
    }

    pub(crate) fn call_of_leg(&self, leg: LegId) -> Option<(u128, bool)> {
        if let Some(call) = self.calls.values().find(|c| c.caller.leg == leg) {
            return Some((call.id, true));
        }
        if let Some(far) = self
            .outbound
            .values()
            .find(|l| l.leg == leg && l.role == crate::outbound::Role::Far)
        {
            return Some((far.call, false));
        }
        self.agent_legs
            .values()
            .find(|a| a.leg == leg)
            .map(|a| (a.call, false))
    }
}

/// Gives a map's room back when it uses less than an eighth of it (rehashing is O(len), and
/// after a shrink it takes a new burst to get there again).
fn shrink_if_sparse<K: Eq + std::hash::Hash, V>(map: &mut HashMap<K, V>) {
    if map.capacity() > 64 && map.len() < map.capacity() / 8 {
        map.shrink_to_fit();
    }
}
