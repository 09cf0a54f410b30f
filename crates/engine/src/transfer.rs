//! Blind transfer from the agent's phone (RFC 3515 REFER, RFC 5589 §6): the customer's leg and
//! `call_id` stay; the agent's leg ends (the agent goes to wrap-up) and the customer goes to the
//! target: a queue, an agent (its personal queue `agent:<id>`), or a DNIS routed to either.
//! A target that is no queue, agent or routed DNIS but a number or a foreign SIP URI is dialled
//! out through the outbound trunk ([`crate::outbound`]). Attended transfer (REFER with
//! Replaces, RFC 3891) is refused with 501 here.

use std::time::Instant;

use rsip::headers::{self, UntypedHeader};
use rsip::{Header, Method, Request, StatusCode};
use switchboard_acd::{CallId, OfferId, RouterInput};
use switchboard_config::Target;
use switchboard_sip::dialog::{LocalVia, with_body};
use switchboard_sip::transaction::TransactionId;
use switchboard_store::{QueueLogLine, WriteOp};

use switchboard_proto::pb;

use crate::call::CallState;
use crate::engine::{AfterCommit, ClientPurpose, Engine};

impl Engine {
    /// A REFER on an agent's dialog.
    pub(crate) fn on_agent_refer(
        &mut self,
        now: Instant,
        id: TransactionId,
        offer: OfferId,
        request: &Request,
    ) {
        let refer_to = request.headers.iter().find_map(|h| match h {
            Header::ReferTo(value) => Some(value.value().to_string()),
            _ => None,
        });
        let Some(call_id) = self.agent_legs.get(&offer).map(|l| l.call).filter(|c| {
            self.calls
                .get(c)
                .is_some_and(|c| c.connected == Some(offer))
        }) else {
            return self.refuse(now, id, request, StatusCode::CallTransactionDoesNotExist);
        };
        let Some(refer_to) = refer_to else {
            return self.refuse(now, id, request, StatusCode::BadRequest);
        };
        if refer_to.to_ascii_lowercase().contains("replaces") {
            return self.on_attended_refer(now, id, call_id, offer, request, &refer_to);
        }
        let user = refer_to
            .split_once("sip:")
            .or_else(|| refer_to.split_once("sips:"))
            .map(|(_, rest)| rest)
            .and_then(|rest| rest.split(['@', '>', ';']).next())
            .unwrap_or_default()
            .to_string();
        let queue = match self.config.route(&user).map(|r| &r.target) {
            Some(Target::Queue(q)) => Some(q.as_str().to_string()),
            Some(Target::Agent(a)) => Some(crate::acd_map::personal_queue(a.as_str())),
            _ if self.config.agent(&user).is_some() => Some(crate::acd_map::personal_queue(&user)),
            _ => self
                .config
                .queue(&user)
                .map(|q| q.name.as_str().to_string()),
        };
        let Some(queue) = queue else {
            // Not ours: an outside number (or a URI elsewhere) through the trunk.
            let destination = outside_destination(&refer_to, &user);
            let dialable = destination.as_ref().is_some_and(|d| {
                self.config
                    .default_outbound_trunk()
                    .and_then(|t| t.outbound.as_ref())
                    .is_some_and(|o| o.request_uri(d).is_some())
            });
            let Some(destination) = destination.filter(|_| dialable) else {
                return self.refuse(now, id, request, StatusCode::NotFound);
            };
            let accepted =
                switchboard_sip::message::response_to(request, StatusCode::Accepted, None);
            self.respond(now, id, accepted);
            self.notify_refer_outcome(now, offer);
            self.transfer_out(now, call_id, offer, &destination);
            return;
        };
        // RFC 3515 §2.4.2: 202 Accepted.
        let accepted = switchboard_sip::message::response_to(request, StatusCode::Accepted, None);
        self.respond(now, id, accepted);
        self.notify_refer_outcome(now, offer);
        self.transfer_to_queue(now, call_id, offer, &user, &queue);
    }

    pub(crate) fn refuse(
        &mut self,
        now: Instant,
        id: TransactionId,
        request: &Request,
        status: StatusCode,
    ) {
        let response = switchboard_sip::message::response_to(request, status, None);
        self.respond(now, id, response);
    }

    /// RFC 3515 §2.4.5: the implicit subscription ends with a final sipfrag. The transfer is
    /// ours to carry out (the customer stays anchored here), so it succeeds at once.
    pub(crate) fn notify_refer_outcome(&mut self, now: Instant, offer: OfferId) {
        let Some(leg) = self.agent_legs.get_mut(&offer) else {
            return;
        };
        let peer = leg.peer;
        let Some(dialog) = leg.dialog.as_mut() else {
            return;
        };
        let via = LocalVia {
            transport: peer.transport,
            sent_by: peer.local.to_string(),
        };
        let mut notify = dialog.request(Method::Notify, &via, &mut self.rng);
        notify
            .headers
            .push(Header::Event(headers::Event::new("refer")));
        notify
            .headers
            .push(Header::SubscriptionState(headers::SubscriptionState::new(
                "terminated;reason=noresource",
            )));
        let notify = with_body(
            notify,
            "message/sipfrag;version=2.0",
            b"SIP/2.0 200 OK\r\n".to_vec(),
        );
        self.send_request(now, peer, notify, ClientPurpose::Bye);
    }

    /// The agent leg ends with a TRANSFER line; the customer joins `queue` again (music on
    /// hold, a new ENTERQUEUE) keeping its call id.
    pub(crate) fn transfer_to_queue(
        &mut self,
        now: Instant,
        call_id: u128,
        offer: OfferId,
        extension: &str,
        queue: &str,
    ) {
        let wall = self.wall(now);
        // A consultation of this call ends first (its consulted leg has nobody to go back to).
        self.end_consultation_with_call(now, call_id);
        self.bye_agent(now, offer);
        let router_call = self.calls.get(&call_id).map_or(call_id, |c| c.router_call);
        self.route(
            now,
            RouterInput::CallEnded {
                call: CallId(router_call),
            },
        );
        let Some(call) = self.calls.get_mut(&call_id) else {
            return;
        };
        let line = match (&call.queue, call.connected_at, &call.agent) {
            (Some(stay), Some((at, _)), Some(agent)) => Some(QueueLogLine::transfer(
                wall,
                &call.text_id,
                &stay.queue,
                agent,
                extension,
                queue,
                at.saturating_duration_since(stay.entered),
                now.saturating_duration_since(at),
                stay.orig_position,
            )),
            _ => None,
        };
        tracing::info!(call = %call.text_id, to = queue, "blind transfer");
        let old_leg = self
            .agent_legs
            .get(&offer)
            .map(|l| l.leg.to_string())
            .unwrap_or_default();
        let target = match queue.strip_prefix("agent:") {
            Some(agent) => pb::transfer_target::Target::Agent(agent.to_string()),
            None => pb::transfer_target::Target::Queue(queue.to_string()),
        };
        let Some(call) = self.calls.get_mut(&call_id) else {
            return;
        };
        let event = crate::events::call_blind_transferred(call, &old_leg, "", target, wall);
        call.connected = None;
        call.connected_at = None;
        call.held = false;
        call.state = CallState::Queued;
        self.drop_agent_leg(now, offer);
        self.store(
            WriteOp::Record {
                queue_log: line.into_iter().collect(),
                events: vec![event],
            },
            AfterCommit::Nothing,
        );
        self.enqueue(now, call_id, queue);
    }

    /// Blind transfer to an outside number: the agent leg ends with a TRANSFER line (context
    /// `outbound`, as a dialplan context would read), the customer's leg and `call_id` stay
    /// and a far leg is dialled through the trunk; `CallTransferred` names both legs.
    pub(crate) fn transfer_out(
        &mut self,
        now: Instant,
        call_id: u128,
        offer: OfferId,
        destination: &str,
    ) {
        let wall = self.wall(now);
        self.bye_agent(now, offer);
        self.route(
            now,
            RouterInput::CallEnded {
                call: CallId(call_id),
            },
        );
        let old_leg = self
            .agent_legs
            .get(&offer)
            .map(|l| l.leg.to_string())
            .unwrap_or_default();
        let Some(call) = self.calls.get_mut(&call_id) else {
            return;
        };
        let line = match (&call.queue, call.connected_at, &call.agent) {
            (Some(stay), Some((at, _)), Some(agent)) => Some(QueueLogLine::transfer(
                wall,
                &call.text_id,
                &stay.queue,
                agent,
                destination,
                "outbound",
                at.saturating_duration_since(stay.entered),
                now.saturating_duration_since(at),
                stay.orig_position,
            )),
            _ => None,
        };
        tracing::info!(call = %call.text_id, to = destination, "blind transfer out");
        call.connected = None;
        call.connected_at = None;
        call.held = false;
        self.drop_agent_leg(now, offer);
        self.forward(now, call_id, destination);
        let new_leg = self
            .calls
            .get(&call_id)
            .and_then(|c| c.far)
            .and_then(|id| self.outbound.get(&id))
            .map(|l| l.leg.to_string())
            .unwrap_or_default();
        let Some(call) = self.calls.get_mut(&call_id) else {
            return; // the dial failed and the call ended
        };
        let event = crate::events::call_blind_transferred(
            call,
            &old_leg,
            &new_leg,
            pb::transfer_target::Target::Number(destination.to_string()),
            wall,
        );
        self.store(
            WriteOp::Record {
                queue_log: line.into_iter().collect(),
                events: vec![event],
            },
            AfterCommit::Nothing,
        );
    }
}

/// What to dial for a REFER target that is not ours: the number (user part of digits, `+`,
/// `*`, `#`) when the URI points at us or names just a number, else the whole `sip:` URI.
fn outside_destination(refer_to: &str, user: &str) -> Option<String> {
    let uri = refer_to
        .trim()
        .trim_start_matches('<')
        .split(['>', '?'])
        .next()
        .unwrap_or_default()
        .trim();
    let number = !user.is_empty()
        && user
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '*' | '#'));
    if number {
        return Some(user.to_string());
    }
    (uri.starts_with("sip:") || uri.starts_with("sips:")).then(|| uri.to_string())
}
