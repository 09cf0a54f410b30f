//! The SIP core task: owns the transaction layer and the registrar, answers what the policy
//! decides, and publishes registration events inside the process.
//!
//! One task, no locks: the transport hands it parsed messages over a bounded channel; it
//! drives the sans-IO cores with the clock and sends through the non-blocking transport handle.

use std::collections::HashMap;
use std::time::Instant;

use rand::RngCore;
use rand::rngs::StdRng;
use rsip::headers::UntypedHeader;
use rsip::prelude::HeadersExt;
use rsip::{Header, Request, Response, StatusCode};
use switchboard_sip::digest::{DigestAuthenticator, Verdict, parse_credentials};
use switchboard_sip::message::response_to;
use switchboard_sip::registrar::{BindingId, Registrar, RegistrarEvent, RegistrarOutput};
use switchboard_sip::transaction::{
    Input, Output, TransactionEvent, TransactionId, TransactionLayer,
};
use switchboard_sip::transport::{Inbound, TransportHandle};
use switchboard_sip::{Peer, Transport};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use super::policy::{self, ACCEPT, ALLOW, Decision, Directory, SUPPORTED};

/// Everything the core task owns.
pub(crate) struct SipService {
    pub(super) layer: TransactionLayer,
    pub(super) registrar: Registrar,
    /// Challenges INVITEs from agents' phones (Proxy-Authenticate, RFC 3261 §22.3).
    pub(super) invite_auth: DigestAuthenticator,
    pub(super) passwords: HashMap<String, String>,
    pub(super) directory: Directory,
    pub(super) transport: TransportHandle,
    pub(super) server_header: String,
    pub(super) events: broadcast::Sender<RegistrarEvent>,
    pub(super) rng: StdRng,
    /// Keep-alive OPTIONS in flight: client transaction → binding probed.
    pub(super) keepalives: HashMap<TransactionId, BindingId>,
}

impl SipService {
    /// Runs until `shutdown` is cancelled or the transport goes away.
    pub(crate) async fn run(
        mut self,
        mut inbound: mpsc::Receiver<Inbound>,
        shutdown: CancellationToken,
    ) {
        loop {
            self.drain(Instant::now());
            let deadline = earliest(self.layer.poll_timeout(), self.registrar.poll_timeout());
            tokio::select! {
                _ = shutdown.cancelled() => break,
                message = inbound.recv() => {
                    let Some(Inbound { peer, message, .. }) = message else { break };
                    let now = Instant::now();
                    if let Err(err) = self.layer.handle_input(now, Input::Message { peer, message }) {
                        metrics::counter!("switchboard_sip_unmatchable_total").increment(1);
                        tracing::debug!(%peer, error = %err, "message dropped by the transaction layer");
                    }
                }
                _ = sleep_until(deadline) => {
                    let now = Instant::now();
                    self.layer.handle_timeout(now);
                    self.registrar.handle_timeout(now);
                }
            }
        }
    }

    /// Drains both cores until neither has anything left: one core's output is often the
    /// other's input (a keep-alive probe becomes a client transaction, its result a binding
    /// update).
    fn drain(&mut self, now: Instant) {
        loop {
            let mut progressed = false;
            while let Some(output) = self.layer.poll_output() {
                progressed = true;
                match output {
                    Output::Transmit { peer, bytes } => {
                        if let Err(err) = self.transport.send(&peer, bytes) {
                            metrics::counter!("switchboard_sip_send_errors_total").increment(1);
                            tracing::debug!(%peer, error = %err, "send failed");
                            if peer.transport == Transport::Tcp {
                                let _ =
                                    self.layer.handle_input(now, Input::TransportError { peer });
                            }
                        }
                    }
                    Output::Event(event) => self.on_transaction_event(now, event),
                }
            }
            while let Some(output) = self.registrar.poll_output() {
                progressed = true;
                match output {
                    RegistrarOutput::Event(event) => self.publish(event),
                    RegistrarOutput::SendKeepalive(probe) => {
                        match self.layer.send_request(now, probe.peer, probe.request) {
                            Ok(id) => {
                                self.keepalives.insert(id, probe.binding);
                            }
                            Err(err) => {
                                tracing::debug!(binding = ?probe.binding, error = %err, "keep-alive not sent");
                                self.registrar
                                    .handle_keepalive_result(now, probe.binding, false);
                            }
                        }
                    }
                }
            }
            if !progressed {
                break;
            }
        }
    }

    fn on_transaction_event(&mut self, now: Instant, event: TransactionEvent) {
        match event {
            TransactionEvent::Request { id, peer, request } => {
                metrics::counter!("switchboard_sip_requests_total", "method" => method_label(&request))
                    .increment(1);
                if let Some(response) = self.answer(now, &request, peer)
                    && let Err(err) = self.layer.respond(now, id, response)
                {
                    tracing::debug!(%peer, error = %err, "response not sent");
                }
            }
            TransactionEvent::Cancelled { id, .. } => {
                // No call engine holds INVITEs open yet, so a CANCEL finds them answered; if one
                // is still pending, end it as RFC 3261 §9.2 asks.
                let _ = id;
            }
            TransactionEvent::Response { id, response } => {
                if response.status_code.code() >= 200
                    && let Some(binding) = self.keepalives.remove(&id)
                {
                    // Any final response, even 404 or 405, proves the phone is there.
                    self.registrar.handle_keepalive_result(now, binding, true);
                }
            }
            TransactionEvent::Timeout { id, .. } | TransactionEvent::TransportError { id } => {
                if let Some(binding) = self.keepalives.remove(&id) {
                    self.registrar.handle_keepalive_result(now, binding, false);
                }
            }
            TransactionEvent::Terminated { id } => {
                if let Some(binding) = self.keepalives.remove(&id) {
                    self.registrar.handle_keepalive_result(now, binding, false);
                }
            }
            TransactionEvent::Overloaded { peer, method } => {
                metrics::counter!("switchboard_overload_rejections_total").increment(1);
                tracing::warn!(%peer, %method, "refused with 503: transaction limit reached");
            }
            TransactionEvent::Ack { .. } | TransactionEvent::StrayResponse { .. } => {}
            TransactionEvent::AckTimeout { .. } => {}
            _ => {}
        }
    }

    /// The final response to a new request, per [`policy::decide`].
    fn answer(&mut self, now: Instant, request: &Request, peer: Peer) -> Option<Response> {
        let response = match policy::decide(request, peer.remote.ip(), &self.directory) {
            Decision::Ignore => return None,
            Decision::Register => self.registrar.handle_register(now, request, peer),
            Decision::Capabilities => {
                let mut response = self.response(request, StatusCode::OK);
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
                let mut response = self.response(request, status);
                if not_implemented {
                    response.headers.push(Header::Allow(ALLOW.into()));
                }
                response
            }
            Decision::BadExtension(tag) => {
                let mut response = self.response(request, StatusCode::BadExtension);
                response.headers.push(Header::Unsupported(tag.into()));
                response
            }
            Decision::Invite { dnis, from_trunk } => {
                self.answer_invite(now, request, &dnis, from_trunk)
            }
        };
        Some(self.finish(response))
    }

    /// INVITEs: trunks are trusted by source address; anyone else must authenticate as an
    /// agent (407 challenge, RFC 3261 §22.3) or is refused with 403.
    fn answer_invite(
        &mut self,
        now: Instant,
        request: &Request,
        dnis: &str,
        from_trunk: bool,
    ) -> Response {
        if !from_trunk {
            let from_user = request
                .from_header()
                .ok()
                .and_then(|f| f.uri().ok())
                .and_then(|u| u.user().map(str::to_string));
            let Some(agent) = from_user.filter(|u| self.passwords.contains_key(u)) else {
                return self.response(request, StatusCode::Forbidden);
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
                return response;
            };
            let password = self
                .passwords
                .get(&credentials.username)
                .map(String::as_str);
            match self
                .invite_auth
                .verify(now, "INVITE", &credentials, password)
            {
                Verdict::Authenticated if credentials.username == agent => {}
                Verdict::Stale | Verdict::BadNonce => {
                    let mut response =
                        self.response(request, StatusCode::ProxyAuthenticationRequired);
                    for challenge in self.invite_auth.challenge(now, true) {
                        response
                            .headers
                            .push(Header::ProxyAuthenticate(challenge.into()));
                    }
                    return response;
                }
                _ => return self.response(request, StatusCode::Forbidden),
            }
        }
        // Routing a call to its IVR, queue or agent is the call engine's work, which this build
        // does not contain yet: say so rather than pretend.
        tracing::info!(
            dnis,
            from_trunk,
            "INVITE accepted by policy; no call engine in this build"
        );
        let mut response = self.response(request, StatusCode::TemporarilyUnavailable);
        response.headers.push(Header::Other(
            "Warning".into(),
            "399 switchboard \"call engine not available in this build\"".into(),
        ));
        response
    }

    /// A response with a fresh To tag (every final response to a request outside a dialog
    /// needs one, RFC 3261 §8.2.6.2).
    fn response(&mut self, request: &Request, status: StatusCode) -> Response {
        let tag = format!("{:016x}", self.rng.next_u64());
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

    fn publish(&mut self, event: RegistrarEvent) {
        match &event {
            RegistrarEvent::AgentAvailable { user } => {
                metrics::gauge!("switchboard_agents_registered").increment(1.0);
                tracing::info!(agent = %user, "agent phone registered");
            }
            RegistrarEvent::AgentUnavailable { user } => {
                metrics::gauge!("switchboard_agents_registered").decrement(1.0);
                tracing::info!(agent = %user, "agent phone unavailable");
            }
            RegistrarEvent::LockedOut { user, source, .. } => {
                metrics::counter!("switchboard_sip_auth_lockouts_total").increment(1);
                tracing::warn!(%user, %source, "digest brute force: locked out");
            }
            other => tracing::debug!(event = ?other, "registration"),
        }
        // No receiver yet is fine: the call engine subscribes when it exists.
        let _ = self.events.send(event);
    }
}

fn method_label(request: &Request) -> &'static str {
    use rsip::Method;
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

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await,
        None => std::future::pending().await,
    }
}
