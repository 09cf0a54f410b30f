//! The transaction user's dispatch: transaction-layer events to calls, legs, the registrar and
//! the out-of-dialog policy (the logic that used to be the daemon's `sip/service.rs`).

use std::time::{Duration, Instant};

use rsip::headers::UntypedHeader;
use rsip::prelude::HeadersExt;
use rsip::{Header, Method, Request, Response, StatusCode};
use switchboard_acd::RouterInput;
use switchboard_sip::Peer;
use switchboard_sip::dialog::DialogId;
use switchboard_sip::digest::{Verdict, parse_credentials};
use switchboard_sip::registrar::RegistrarEvent;
use switchboard_sip::transaction::{TransactionEvent, TransactionId};

use crate::engine::{ClientPurpose, Engine};
use crate::policy::{self, ACCEPT, ALLOW, Decision, SUPPORTED};

impl Engine {
    pub(crate) fn on_transaction_event(&mut self, now: Instant, event: TransactionEvent) {
        match event {
            TransactionEvent::Request { id, peer, request } => {
                self.on_request(now, id, peer, request);
            }
            TransactionEvent::Cancelled { id, .. } => self.on_caller_cancel(now, id),
            TransactionEvent::Ack {
                invite: Some(id),
                ack,
                ..
            } => {
                self.caller_invites.remove(&id);
                self.on_ack(now, &ack);
            }
            // An ACK the layer matched to no transaction (the 2xx's transaction gone, or a
            // TCP peer): it may still carry the answer to our offer.
            TransactionEvent::Ack {
                invite: None, ack, ..
            } => self.on_ack(now, &ack),
            TransactionEvent::Response { id, response } => match self.client_tx.get(&id) {
                Some(ClientPurpose::AgentInvite(offer)) => {
                    let offer = *offer;
                    // 2xx retransmissions keep coming on this id until Timer M: keep it.
                    if response.status_code.code() >= 300 {
                        self.client_tx.remove(&id);
                    }
                    self.on_agent_response(now, offer, response);
                }
                Some(ClientPurpose::Keepalive(binding)) => {
                    let binding = *binding;
                    if response.status_code.code() >= 200 {
                        self.client_tx.remove(&id);
                        // Any final response, even 404 or 405, proves the phone is there.
                        self.registrar.handle_keepalive_result(now, binding, true);
                    }
                }
                Some(ClientPurpose::Outbound(leg)) => {
                    let leg = *leg;
                    // 2xx retransmissions keep coming on this id until Timer M: keep it.
                    if response.status_code.code() >= 300 {
                        self.client_tx.remove(&id);
                    }
                    self.on_outbound_response(now, leg, response);
                }
                Some(ClientPurpose::Bye) if response.status_code.code() >= 200 => {
                    self.client_tx.remove(&id);
                }
                Some(ClientPurpose::Bye) => {}
                None => {}
            },
            TransactionEvent::StrayResponse { peer, response } => {
                self.on_stray_response(now, peer, response);
            }
            TransactionEvent::Timeout { id, .. } | TransactionEvent::TransportError { id } => {
                self.on_client_failure(now, id);
            }
            TransactionEvent::Terminated { id } if self.client_tx.contains_key(&id) => {
                self.on_client_failure(now, id);
            }
            TransactionEvent::Terminated { id } => {
                self.caller_invites.remove(&id);
            }
            TransactionEvent::AckTimeout { id } => self.on_ack_timeout(now, id),
            TransactionEvent::Overloaded { peer, method } => {
                metrics::counter!("switchboard_overload_rejections_total").increment(1);
                let log = &mut self.overload_log;
                if log
                    .last_warned
                    .is_none_or(|at| now.saturating_duration_since(at) >= Duration::from_secs(1))
                {
                    tracing::warn!(
                        %peer, %method, refused_since_last_warning = log.suppressed,
                        "refused with 503: transaction limit reached"
                    );
                    log.last_warned = Some(now);
                    log.suppressed = 0;
                } else {
                    log.suppressed += 1;
                }
            }
            _ => {}
        }
    }

    fn on_client_failure(&mut self, now: Instant, id: TransactionId) {
        match self.client_tx.remove(&id) {
            Some(ClientPurpose::AgentInvite(offer)) => self.on_agent_invite_failed(now, offer),
            Some(ClientPurpose::Keepalive(binding)) => {
                self.registrar.handle_keepalive_result(now, binding, false);
            }
            Some(ClientPurpose::Outbound(leg)) => self.on_outbound_failure(now, leg),
            Some(ClientPurpose::Bye) | None => {}
        }
    }

    fn on_request(&mut self, now: Instant, id: TransactionId, peer: Peer, request: Request) {
        metrics::counter!("switchboard_sip_requests_total", "method" => method_label(&request))
            .increment(1);
        if let Some(dialog) = DialogId::of_incoming(&request)
            && let Some(owner) = self.dialogs.get(&dialog).copied()
        {
            self.on_in_dialog(now, id, owner, request);
            return;
        }
        let decision = policy::decide(&request, peer.remote.ip(), &self.directory);
        // A registered agent phone sharing an address range with a trunk (one PBX host, or
        // loopback in tests) places agent calls, not trunk calls: its INVITE from the address
        // it registered from is authenticated and routed as the agent's (placed.rs).
        let decision = match decision {
            Decision::Invite {
                dnis,
                from_trunk: true,
            } if self.sent_by_registered_phone(&request, peer) => Decision::Invite {
                dnis,
                from_trunk: false,
            },
            Decision::Reject(StatusCode::NotFound)
                if request.method == Method::Invite
                    && self.sent_by_registered_phone(&request, peer) =>
            {
                Decision::Invite {
                    dnis: request.uri.user().unwrap_or_default().to_string(),
                    from_trunk: false,
                }
            }
            other => other,
        };
        let response = match decision {
            Decision::Ignore => return,
            Decision::Register => self.registrar.handle_register(now, &request, peer),
            Decision::Capabilities => {
                let mut response = self.response(&request, StatusCode::OK);
                response.headers.push(Header::Allow(ALLOW.into()));
                response.headers.push(Header::Accept(ACCEPT.into()));
                response
                    .headers
                    .push(Header::Supported(SUPPORTED.join(", ").into()));
                response.headers.push(Header::AcceptLanguage("en".into()));
                response
            }
            Decision::Reject(status) => {
                let not_implemented = status == StatusCode::NotImplemented;
                let mut response = self.response(&request, status);
                if not_implemented {
                    response.headers.push(Header::Allow(ALLOW.into()));
                }
                response
            }
            Decision::BadExtension(tag) => {
                let mut response = self.response(&request, StatusCode::BadExtension);
                response.headers.push(Header::Unsupported(tag.into()));
                response
            }
            Decision::Invite { dnis, from_trunk } => {
                if from_trunk {
                    self.on_trunk_invite(now, id, peer, request, &dnis);
                    return;
                }
                match self.authenticate_agent_invite(now, &request) {
                    Some(refusal) => refusal,
                    // An authenticated agent placing a call: a consultation (placed.rs).
                    None => {
                        self.on_agent_placed_invite(now, id, peer, request, &dnis);
                        return;
                    }
                }
            }
        };
        self.respond(now, id, response);
    }

    /// Whether `request` comes from the address an agent named in its From registered from.
    fn sent_by_registered_phone(&self, request: &Request, peer: Peer) -> bool {
        let Some(user) = request
            .from_header()
            .ok()
            .and_then(|f| f.uri().ok())
            .and_then(|u| u.user().map(str::to_string))
        else {
            return false;
        };
        self.registrar
            .bindings(&user)
            .any(|b| b.peer.remote == peer.remote)
    }

    /// INVITEs from anyone but a trunk must authenticate as an agent (407 challenge, RFC 3261
    /// §22.3) or are refused with 403. `None` means authenticated.
    fn authenticate_agent_invite(&mut self, now: Instant, request: &Request) -> Option<Response> {
        let from_user = request
            .from_header()
            .ok()
            .and_then(|f| f.uri().ok())
            .and_then(|u| u.user().map(str::to_string));
        let Some(agent) = from_user.filter(|u| self.passwords.contains_key(u)) else {
            return Some(self.response(request, StatusCode::Forbidden));
        };
        let credentials = request.headers.iter().find_map(|h| match h {
            Header::ProxyAuthorization(a) => Some(a.value().to_string()),
            _ => None,
        });
        let Some(credentials) = credentials.and_then(|c| parse_credentials(&c).ok()) else {
            let mut response = self.response(request, StatusCode::ProxyAuthenticationRequired);
            for challenge in self.invite_auth.challenge(now, false) {
                response
                    .headers
                    .push(Header::ProxyAuthenticate(challenge.into()));
            }
            return Some(response);
        };
        let password = self
            .passwords
            .get(&credentials.username)
            .map(String::as_str);
        match self
            .invite_auth
            .verify(now, "INVITE", &credentials, password)
        {
            Verdict::Authenticated if credentials.username == agent => None,
            Verdict::Stale | Verdict::BadNonce => {
                let mut response = self.response(request, StatusCode::ProxyAuthenticationRequired);
                for challenge in self.invite_auth.challenge(now, true) {
                    response
                        .headers
                        .push(Header::ProxyAuthenticate(challenge.into()));
                }
                Some(response)
            }
            _ => Some(self.response(request, StatusCode::Forbidden)),
        }
    }

    pub(crate) fn on_registration(&mut self, now: Instant, event: RegistrarEvent) {
        match &event {
            RegistrarEvent::AgentAvailable { user } => {
                metrics::gauge!("switchboard_agents_registered").increment(1.0);
                tracing::info!(agent = %user, "agent phone registered");
                self.registered.insert(user.clone());
                let login = self.config.agent(user).is_some_and(|a| a.login_on_register);
                if login {
                    self.route(
                        now,
                        RouterInput::AgentState {
                            agent: user.as_str().into(),
                            state: switchboard_acd::RequestedState::Ready,
                        },
                    );
                }
            }
            RegistrarEvent::AgentUnavailable { user } => {
                metrics::gauge!("switchboard_agents_registered").decrement(1.0);
                tracing::info!(agent = %user, "agent phone unavailable");
                self.registered.remove(user);
                // No phone, no offers: logged out (during a call, taken when the call ends).
                self.route(
                    now,
                    RouterInput::AgentState {
                        agent: user.as_str().into(),
                        state: switchboard_acd::RequestedState::LoggedOut,
                    },
                );
            }
            RegistrarEvent::LockedOut { user, source, .. } => {
                metrics::counter!("switchboard_sip_auth_lockouts_total").increment(1);
                tracing::warn!(%user, %source, "digest brute force: locked out");
            }
            other => tracing::debug!(event = ?other, "registration"),
        }
    }
}

fn method_label(request: &Request) -> &'static str {
    match request.method {
        Method::Invite => "INVITE",
        Method::Ack => "ACK",
        Method::Bye => "BYE",
        Method::Cancel => "CANCEL",
        Method::Options => "OPTIONS",
        Method::Register => "REGISTER",
        Method::Info => "INFO",
        Method::Refer => "REFER",
        Method::Notify => "NOTIFY",
        Method::Update => "UPDATE",
        Method::PRack => "PRACK",
        Method::Subscribe => "SUBSCRIBE",
        Method::Message => "MESSAGE",
        Method::Publish => "PUBLISH",
        #[allow(unreachable_patterns)]
        _ => "other",
    }
}
