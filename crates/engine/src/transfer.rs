//! Blind transfer from the agent's phone (RFC 3515 REFER, RFC 5589 §6): the customer's leg and
//! `call_id` stay; the agent's leg ends (the agent goes to wrap-up) and the customer goes to the
//! target: a queue, an agent (its personal queue `agent:<id>`), or a DNIS routed to either.
//! Attended transfer (REFER with Replaces, RFC 3891) and transfers to an outside number need
//! outbound legs without a queue; they are refused with 501 / 404 until then.

use std::time::Instant;

use rsip::headers::{self, UntypedHeader};
use rsip::{Header, Method, Request, StatusCode};
use switchboard_acd::{CallId, OfferId, RouterInput};
use switchboard_config::Target;
use switchboard_sip::dialog::{LocalVia, with_body};
use switchboard_sip::transaction::TransactionId;
use switchboard_store::{QueueLogLine, WriteOp};

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
            return self.refuse(now, id, request, StatusCode::NotFound);
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
        call.connected = None;
        call.connected_at = None;
        call.held = false;
        call.state = CallState::Queued;
        self.drop_agent_leg(now, offer);
        if let Some(line) = line {
            self.store(
                WriteOp::Record {
                    queue_log: vec![line],
                    events: Vec::new(),
                },
                AfterCommit::Nothing,
            );
        }
        self.enqueue(now, call_id, queue);
    }
}
