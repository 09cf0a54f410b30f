//! The caller's leg: a trunk INVITE is routed by DNIS, answered with our SDP (media anchored)
//! and sent to its queue or IVR flow; in-dialog requests from either leg land here too.

use std::time::Instant;

use rsip::headers::UntypedHeader as _;
use rsip::prelude::HeadersExt;
use rsip::{Header, Method, Request, SipMessage, StatusCode};
use switchboard_acd::{CallId, RouterInput};
use switchboard_config::Target;
use switchboard_media::sdp::{Direction, LocalMedia, LocalSdp, SdpOffer, SessionDescription};
use switchboard_sip::Peer;
use switchboard_sip::dialog::{Dialog, LocalVia, response_with_body};
use switchboard_sip::transaction::TransactionId;
use switchboard_store::{CallInProgress, HangupSide, QueueLogLine, WriteOp};

use crate::call::{Call, CallState, CallerLeg, Ending, QueueStay};
use crate::engine::{AfterCommit, DialogOwner, Engine};
use crate::events;
use crate::ids::{uuid_text, uuid_v7};
use crate::output::{LegId, MediaCommand};

impl Engine {
    /// Issue 6 §1–2: route, answer with our SDP, then queue or IVR.
    pub(crate) fn on_trunk_invite(
        &mut self,
        now: Instant,
        id: TransactionId,
        peer: Peer,
        request: Request,
        dnis: &str,
    ) {
        if self.refuse_if_overloaded(now, id, &request) {
            return;
        }
        let Some((context, queue)) = self.trunk_target(now, id, &request, dnis) else {
            return;
        };
        self.answer_new_call(now, id, peer, request, dnis, context, queue, None);
    }

    /// Overload: established calls keep their service, new ones are told to come back (503
    /// with Retry-After). `true` when the INVITE was refused.
    pub(crate) fn refuse_if_overloaded(
        &mut self,
        now: Instant,
        id: TransactionId,
        request: &Request,
    ) -> bool {
        if self.calls.len() < self.options.max_calls {
            return false;
        }
        metrics::counter!("switchboard_overload_rejections_total").increment(1);
        let mut response = self.response(request, StatusCode::ServiceUnavailable);
        let retry = self.config.sip.retry_after.as_secs().max(1);
        response
            .headers
            .push(Header::Other("Retry-After".into(), retry.to_string()));
        self.respond(now, id, response);
        true
    }

    /// Where a trunk's DNIS goes: `(context, queue)` (no queue: the IVR flow `context`), or
    /// `None` once the INVITE is refused.
    fn trunk_target(
        &mut self,
        now: Instant,
        id: TransactionId,
        request: &Request,
        dnis: &str,
    ) -> Option<(String, Option<String>)> {
        let target = self.config.route(dnis).map(|r| r.target.clone());
        let (context, queue) = match &target {
            // Forwarded out through the trunk once answered here (media anchored).
            Some(Target::Uri(uri)) => (uri.as_str().to_string(), None),
            Some(Target::Queue(q)) => (q.as_str().to_string(), Some(q.as_str().to_string())),
            Some(Target::Ivr(flow)) if self.flows.contains_key(flow.as_str()) => {
                (flow.as_str().to_string(), None)
            }
            Some(Target::Agent(agent)) => {
                let queue = crate::acd_map::personal_queue(agent.as_str());
                (queue.clone(), Some(queue))
            }
            // A DNIS that is an agent id (the policy lets trunks dial agents): that agent.
            None if self.config.agent(dnis).is_some() => {
                let queue = crate::acd_map::personal_queue(dnis);
                (queue.clone(), Some(queue))
            }
            Some(Target::Ivr(_)) => {
                // A route to a flow that did not load.
                let mut response = self.response(request, StatusCode::TemporarilyUnavailable);
                response.headers.push(Header::Other(
                    "Warning".into(),
                    "399 switchboard \"route target not available\"".into(),
                ));
                self.respond(now, id, response);
                return None;
            }
            None => {
                let response = self.response(request, StatusCode::NotFound);
                self.respond(now, id, response);
                return None;
            }
        };
        Some((context, queue))
    }

    /// Answers a new call's INVITE with our SDP (or our offer when it had none) and starts its
    /// queue or IVR flow. `placed_by` is the agent whose phone placed it (a consultation call).
    #[allow(clippy::too_many_arguments)] // one call's whole identity, used once each
    pub(crate) fn answer_new_call(
        &mut self,
        now: Instant,
        id: TransactionId,
        peer: Peer,
        request: Request,
        dnis: &str,
        context: String,
        queue: Option<String>,
        placed_by: Option<String>,
    ) {
        // Offer in the INVITE (RFC 3264 §5), or none: then our 2xx carries the offer and the
        // ACK the answer (RFC 3261 §13.2.1, see `offerless.rs`). A body that is not SDP is 488.
        let offer = if request.body.is_empty() {
            None
        } else {
            match SessionDescription::parse(&request.body) {
                Ok(sdp) => Some(SdpOffer(sdp)),
                Err(_) => {
                    let response = self.response(&request, StatusCode::NotAcceptableHere);
                    self.respond(now, id, response);
                    return;
                }
            }
        };
        // A consultation leg goes on the media worker of the placing agent's current call, so
        // that the customer can later be bridged to whoever answers it.
        let near = placed_by
            .as_deref()
            .and_then(|agent| self.connected_call_of(agent))
            .and_then(|call| self.calls.get(&call))
            .map(|call| call.caller.leg);
        let Some((leg, rtp)) = self.legs.create_leg(near) else {
            let mut response = self.response(&request, StatusCode::ServiceUnavailable);
            response
                .headers
                .push(Header::Other("Retry-After".into(), "5".into()));
            self.respond(now, id, response);
            return;
        };
        let mut sdp = LocalSdp::new(rand::Rng::random::<u32>(&mut self.rng).into());
        let local = LocalMedia::g711(rtp.ip(), rtp.port());
        let negotiation = match &offer {
            Some(offer) => sdp
                .answer(offer, &local)
                .map(|(answer, media)| (answer.0, Some(media), None)),
            None => {
                let ours = sdp.offer(&local, Direction::SendRecv);
                Ok((ours.0.clone(), None, Some(ours)))
            }
        };
        let (body, negotiated, pending_offer) = match negotiation {
            Ok(triple) => triple,
            Err(err) => {
                tracing::info!(%peer, error = %err, "no common codec: 488");
                self.media(MediaCommand::CloseLeg { leg });
                let response = self.response(&request, StatusCode::NotAcceptableHere);
                self.respond(now, id, response);
                return;
            }
        };
        let mut response = self.response(&request, StatusCode::OK);
        response.headers.push(Header::Contact(
            format!("<{}>", peer.contact_uri("switchboard")).into(),
        ));
        let session_timer = crate::session_timer::negotiate(now, &request, &mut response);
        let response =
            response_with_body(response, "application/sdp", body.to_string().into_bytes());
        let dialog = match Dialog::uas(&request, &response) {
            Ok(dialog) => dialog,
            Err(err) => {
                self.media(MediaCommand::CloseLeg { leg });
                let response = self.response(&request, err.response());
                self.respond(now, id, response);
                return;
            }
        };
        let wall = self.wall(now);
        let call_id = uuid_v7(wall, &mut self.rng);
        let text_id = uuid_text(call_id);
        let src = request
            .from_header()
            .ok()
            .and_then(|f| f.uri().ok())
            .and_then(|u| u.user().map(str::to_string))
            .unwrap_or_default();
        let display = request
            .from_header()
            .ok()
            .and_then(|f| f.display_name().ok().flatten())
            .unwrap_or_default();
        let trunk = match &placed_by {
            Some(agent) => agent.clone(),
            None => self
                .config
                .trunk_for(peer.remote.ip())
                .map(|t| t.name.as_str().to_string())
                .unwrap_or_default(),
        };
        self.dialogs
            .insert(dialog.id().clone(), DialogOwner::Caller(call_id));
        let late = self.answers_late(dnis, placed_by.as_deref(), negotiated.is_some());
        let pending_answer = if late {
            Some(self.ring_caller(now, id, request, response))
        } else {
            self.respond(now, id, response);
            self.caller_invites.insert(id, call_id);
            None
        };
        if let Some(media) = negotiated {
            self.media(MediaCommand::SetMedia { leg, media });
        }
        let awaiting_answer = pending_offer.is_some();
        let call = Call {
            display: display.trim_matches('"').to_string(),
            session_timer,
            placed_by,
            ..Call::new(
                call_id,
                text_id.clone(),
                CallerLeg {
                    leg,
                    rtp,
                    peer,
                    dialog: Some(dialog),
                    sdp,
                    pending_offer,
                    bye_reason: None,
                    pending_answer,
                },
                src.clone(),
                // rsip keeps a quoted display name's quotes: one pair in the clid, as Asterisk.
                format!("\"{}\" <{src}>", display.trim_matches('"')),
                dnis.to_string(),
                trunk,
                context,
                wall,
                CallState::Ivr,
            )
        };
        tracing::info!(call = %text_id, dnis, "call answered");
        let progress = self.in_progress(&call, "answered");
        self.calls.insert(call_id, call);
        self.store(
            WriteOp::SaveCall {
                call: Box::new(progress),
                now: wall,
            },
            AfterCommit::Nothing,
        );
        let event = self
            .calls
            .get(&call_id)
            .map(|c| events::call_started(c, wall));
        self.journal(event.into_iter().collect());
        if awaiting_answer {
            // No media before the answer: the queue or IVR starts with the ACK.
            if let Some(call) = self.calls.get_mut(&call_id) {
                call.start_after_ack = Some(queue);
            }
            return;
        }
        self.begin_call(now, call_id, queue);
    }

    /// Starts an answered call on its way: forwarded out when its DNIS routes to a URI (only
    /// trunk calls; an agent's own calls reach agents and queues), else its queue or IVR flow.
    pub(crate) fn begin_call(&mut self, now: Instant, call_id: u128, queue: Option<String>) {
        let forward = self
            .calls
            .get(&call_id)
            .filter(|c| c.placed_by.is_none())
            .and_then(|c| match self.config.route(&c.dnis).map(|r| &r.target) {
                Some(Target::Uri(uri)) => Some(uri.as_str().to_string()),
                _ => None,
            });
        match (forward, queue) {
            (Some(uri), _) => self.forward(now, call_id, &uri),
            (None, Some(queue)) => self.enqueue(now, call_id, &queue),
            (None, None) => self.start_ivr(now, call_id),
        }
    }

    /// The store's row for a call in progress (closed `restart` if we crash).
    pub(crate) fn in_progress(&self, call: &Call, state: &str) -> CallInProgress {
        let mut row = CallInProgress::new(call.text_id.clone(), call.started, state);
        row.accountcode = call.trunk.clone();
        row.src = call.src.clone();
        row.dst = call.dnis.clone();
        row.dcontext = call.context.clone();
        row.clid = call.clid.clone();
        row.channel = format!("SIP/{}-{}", call.trunk, call.caller.leg);
        row.answered = call
            .caller
            .pending_answer
            .is_none()
            .then_some(call.answered);
        row.lastapp = if call.queue.is_some() { "Queue" } else { "IVR" }.into();
        row.lastdata = call.context.clone();
        row.queue = call.queue.as_ref().map(|q| switchboard_store::QueueStay {
            queue: q.queue.clone(),
            entered: self.wall(q.entered),
            orig_position: q.orig_position,
            position: q.position,
            connected: call.connected_at.map(|(_, wall)| wall),
        });
        row.agent = call.agent.clone();
        row.recording_path = call.recording_path.clone();
        row.data = serde_json::to_string(&call.data).unwrap_or_default();
        row
    }

    /// Issue 6 §3: into the queue with its priority; music on hold until an agent answers.
    pub(crate) fn enqueue(&mut self, now: Instant, call_id: u128, queue: &str) {
        let personal = queue
            .strip_prefix("agent:")
            .is_some_and(|id| self.config.agent(id).is_some());
        let (priority, record, survey, moh) = match self.config.queue(queue) {
            Some(spec) => (
                i32::from(spec.priority),
                spec.record,
                spec.survey,
                spec.music_on_hold.clone(),
            ),
            // An agent's personal queue: no recording or survey of its own.
            None if personal => (0, false, false, "default".to_string()),
            None => {
                self.end_call(
                    now,
                    call_id,
                    Ending {
                        side: HangupSide::System,
                        reason: "no-queue",
                    },
                );
                return;
            }
        };
        let wall = self.wall(now);
        let Some(call) = self.calls.get_mut(&call_id) else {
            return;
        };
        call.state = CallState::Queued;
        call.router_call = call_id;
        call.context = queue.to_string();
        call.record = record;
        call.survey = survey;
        call.first_queued.get_or_insert(now);
        let priority = priority.max(call.priority);
        call.priority = priority;
        call.queue = Some(QueueStay {
            queue: queue.to_string(),
            entered: now,
            orig_position: 1,
            position: 1,
        });
        let leg = call.caller.leg;
        self.media(MediaCommand::MusicOnHold { leg, class: moh });
        // Position and ENTERQUEUE are written once the router has placed the call (its
        // `Queued` decision), or at once if it is offered straight away.
        let accepted = self.route(
            now,
            RouterInput::CallArrived {
                call: CallId(call_id),
                queue: queue.into(),
                priority,
                requirement: None,
            },
        );
        let position = self
            .router
            .position(CallId(call_id))
            .map_or(1, |p| u32::try_from(p).unwrap_or(u32::MAX));
        let Some(call) = self.calls.get_mut(&call_id) else {
            return;
        };
        if let Some(stay) = call.queue.as_mut() {
            stay.orig_position = position;
            stay.position = position;
        }
        let line = QueueLogLine::enter_queue(wall, &call.text_id, queue, "", &call.src, position);
        let event = events::call_queued(call, wall, position);
        let click_to_dial = call.dial_customer.is_some() && !call.callback;
        let Some(progress) = self
            .calls
            .get(&call_id)
            .map(|c| self.in_progress(c, "queued"))
        else {
            return;
        };
        self.store(
            WriteOp::Record {
                // An originated call passes the agent's personal queue: no queue call.
                queue_log: if click_to_dial {
                    Vec::new()
                } else {
                    vec![line]
                },
                events: vec![event],
            },
            AfterCommit::Nothing,
        );
        if click_to_dial && let Some(call) = self.calls.get_mut(&call_id) {
            // The stay is the router's business only; no CONNECT/COMPLETE lines either.
            call.queue = None;
        }
        // A callback waiting without its customer is kept in the callbacks table, not as a call
        // in progress (a restart restores it instead of closing it).
        let waiting_callback = self
            .calls
            .get(&call_id)
            .is_some_and(|c| c.callback && c.caller.dialog.is_none());
        if !waiting_callback {
            self.store(
                WriteOp::SaveCall {
                    call: Box::new(progress),
                    now: wall,
                },
                AfterCommit::Nothing,
            );
        }
        if !accepted {
            self.end_call(
                now,
                call_id,
                Ending {
                    side: HangupSide::System,
                    reason: "queue-refused",
                },
            );
        }
    }

    /// A request inside a dialog we hold.
    pub(crate) fn on_in_dialog(
        &mut self,
        now: Instant,
        id: TransactionId,
        owner: DialogOwner,
        request: Request,
    ) {
        let owner = match owner {
            DialogOwner::Outbound(leg) => {
                return self.on_outbound_in_dialog(now, id, leg, &request);
            }
            other => other,
        };
        let check = match owner {
            DialogOwner::Outbound(_) => None,
            DialogOwner::Caller(call) => self
                .calls
                .get_mut(&call)
                .and_then(|c| c.caller.dialog.as_mut())
                .map(|d| d.on_request(&request)),
            DialogOwner::Agent(offer) => self
                .agent_legs
                .get_mut(&offer)
                .and_then(|a| a.dialog.as_mut())
                .map(|d| d.on_request(&request)),
        };
        match check {
            None => {
                let response = self.response(&request, StatusCode::CallTransactionDoesNotExist);
                self.respond(now, id, response);
                return;
            }
            Some(Err(err)) => {
                let response = self.response(&request, err.response());
                self.respond(now, id, response);
                return;
            }
            Some(Ok(())) => {}
        }
        match request.method {
            Method::Bye => {
                let response =
                    switchboard_sip::message::response_to(&request, StatusCode::OK, None);
                match owner {
                    DialogOwner::Caller(call) => {
                        // Answered once the CDR is committed (AfterCommit::ReleaseLegs); the
                        // layer absorbs the BYE's retransmissions meanwhile (§17.2.2).
                        self.caller_byes.insert(call, (id, response));
                        self.end_call(
                            now,
                            call,
                            Ending {
                                side: HangupSide::Caller,
                                reason: "normal",
                            },
                        );
                        // A call that wrote no CDR now (already ending) is answered at once.
                        if let Some((id, response)) = self.caller_byes.remove(&call) {
                            self.respond(now, id, response);
                        }
                    }
                    DialogOwner::Agent(offer) => {
                        self.respond(now, id, response);
                        self.agent_hung_up(now, offer);
                    }
                    DialogOwner::Outbound(_) => {} // handled by on_outbound_in_dialog
                }
            }
            Method::Invite => {
                if let DialogOwner::Caller(call) = owner {
                    self.refresh_session(now, call, &request);
                }
                self.on_reinvite(now, id, owner, &request);
            }
            Method::Refer => match owner {
                DialogOwner::Agent(offer) => self.on_agent_refer(now, id, offer, &request),
                DialogOwner::Caller(_) | DialogOwner::Outbound(_) => {
                    // The customer's side does not transfer the agent.
                    let response = switchboard_sip::message::response_to(
                        &request,
                        StatusCode::Forbidden,
                        None,
                    );
                    self.respond(now, id, response);
                }
            },
            Method::Info => {
                // SIP INFO application/dtmf-relay (`Signal=5`), parsed by the media crate.
                let digit = switchboard_media::dtmf::InfoDtmf::parse(&request.body)
                    .ok()
                    .map(|info| info.digit.as_char());
                let response =
                    switchboard_sip::message::response_to(&request, StatusCode::OK, None);
                self.respond(now, id, response);
                if let (Some(digit), DialogOwner::Caller(call)) = (digit, owner)
                    && let Some(leg) = self.calls.get(&call).map(|c| c.caller.leg)
                {
                    self.on_digit(now, leg, digit);
                }
            }
            Method::Update => {
                if let DialogOwner::Caller(call) = owner {
                    self.refresh_session(now, call, &request);
                }
                let mut response =
                    switchboard_sip::message::response_to(&request, StatusCode::OK, None);
                if let DialogOwner::Caller(call) = owner
                    && let Some(timer) = self.calls.get(&call).and_then(|c| c.session_timer)
                {
                    response.headers.push(Header::SessionExpires(
                        rsip::headers::SessionExpires::new(format!(
                            "{};refresher=uac",
                            timer.interval.as_secs()
                        )),
                    ));
                }
                self.respond(now, id, response);
            }
            Method::Options | Method::Notify => {
                let response =
                    switchboard_sip::message::response_to(&request, StatusCode::OK, None);
                self.respond(now, id, response);
            }
            _ => {
                let mut response = switchboard_sip::message::response_to(
                    &request,
                    StatusCode::NotImplemented,
                    None,
                );
                response
                    .headers
                    .push(Header::Allow(crate::policy::ALLOW.into()));
                self.respond(now, id, response);
            }
        }
    }

    /// A re-INVITE on either leg (session refresh, codec change, hold): answered from that
    /// leg's own media. Hold (RFC 3264 §8.4: `sendonly`/`inactive` offered) gives the other side
    /// of a bridged call music on hold; resume stops the music.
    fn on_reinvite(
        &mut self,
        now: Instant,
        id: TransactionId,
        owner: DialogOwner,
        request: &Request,
    ) {
        if request.body.is_empty() {
            // RFC 3261 §14.2: we offer in the 200, the phone answers in the ACK.
            self.on_offerless_reinvite(now, id, owner, request);
            return;
        }
        let parsed = SessionDescription::parse(&request.body)
            .ok()
            .filter(|_| !request.body.is_empty());
        let (result, leg, peer, call_id) = match owner {
            DialogOwner::Caller(call_id) => {
                let Some(call) = self.calls.get_mut(&call_id) else {
                    return;
                };
                let local = LocalMedia::g711(call.caller.rtp.ip(), call.caller.rtp.port());
                let result = parsed.map(|sdp| call.caller.sdp.answer(&SdpOffer(sdp), &local));
                (result, call.caller.leg, call.caller.peer, call_id)
            }
            DialogOwner::Agent(offer) => {
                let Some(leg) = self.agent_legs.get_mut(&offer) else {
                    return;
                };
                let local = LocalMedia::g711(leg.rtp.ip(), leg.rtp.port());
                let result = parsed.map(|sdp| leg.sdp.answer(&SdpOffer(sdp), &local));
                (result, leg.leg, leg.peer, leg.call)
            }
            DialogOwner::Outbound(_) => return, // handled by on_outbound_in_dialog
        };
        let Some(Ok((answer, media))) = result else {
            // An offer we cannot parse, or nothing in common.
            let response =
                switchboard_sip::message::response_to(request, StatusCode::NotAcceptableHere, None);
            self.respond(now, id, response);
            return;
        };
        let held = media.held_by_remote;
        let mut response = switchboard_sip::message::response_to(request, StatusCode::OK, None);
        response.headers.push(Header::Contact(
            format!("<{}>", peer.contact_uri("switchboard")).into(),
        ));
        let response = response_with_body(
            response,
            "application/sdp",
            answer.0.to_string().into_bytes(),
        );
        self.respond(now, id, response);
        self.media(MediaCommand::SetMedia { leg, media });
        self.hold_changed(call_id, leg, held);
    }

    /// `leg` put the other side of its bridged call on hold, or took it off.
    pub(crate) fn hold_changed(&mut self, call_id: u128, leg: LegId, held: bool) {
        let Some(call) = self.calls.get_mut(&call_id) else {
            return;
        };
        let Some(agent_leg) = call
            .connected
            .and_then(|offer| self.agent_legs.get(&offer))
            .map(|a| a.leg)
        else {
            return;
        };
        if call.held == held {
            return;
        }
        call.held = held;
        let caller_leg = call.caller.leg;
        let other = if leg == caller_leg {
            agent_leg
        } else {
            caller_leg
        };
        let class = call
            .queue
            .as_ref()
            .and_then(|q| self.config.queue(&q.queue))
            .map_or_else(|| "default".to_string(), |q| q.music_on_hold.clone());
        if held {
            tracing::info!(call = %call.text_id, "on hold");
            self.media(MediaCommand::MusicOnHold { leg: other, class });
        } else {
            // The bridge stayed up; ending the music lets the other side's audio through.
            tracing::info!(call = %call.text_id, "resumed");
            self.media(MediaCommand::Stop { leg: other });
        }
    }

    /// CANCEL of a caller INVITE. Every INVITE is answered (or refused) in the handler that
    /// receives it, so none is ever pending when a CANCEL arrives: the layer answers the CANCEL
    /// 200 and our 2xx stands (RFC 3261 §9.2; the caller then hangs up with BYE, which is an
    /// abandon while queued). Nothing to do here until answering is deferred (early media).
    pub(crate) fn on_caller_cancel(&mut self, now: Instant, id: TransactionId) {
        if self.on_late_cancel(now, id) {
            return;
        }
        tracing::debug!(%id, "CANCEL after our answer: no effect (RFC 3261 §9.2)");
    }

    /// Our 200 to the caller was never ACKed (§13.3.1.4): end the call with BYE.
    pub(crate) fn on_ack_timeout(&mut self, now: Instant, id: TransactionId) {
        if let Some(call) = self.caller_invites.remove(&id) {
            tracing::info!(%id, "our 2xx was never ACKed: hanging up");
            self.end_call(
                now,
                call,
                Ending {
                    side: HangupSide::System,
                    reason: "no-ack",
                },
            );
        }
    }

    /// Sends BYE on the caller's dialog.
    pub(crate) fn bye_caller(&mut self, now: Instant, call_id: u128) {
        // Never answered (a forwarded call whose far end did not): a final response instead.
        if self.refuse_caller(now, call_id) {
            return;
        }
        let Some(call) = self.calls.get_mut(&call_id) else {
            return;
        };
        let peer = call.caller.peer;
        let via = LocalVia {
            transport: peer.transport,
            sent_by: peer.local.to_string(),
        };
        let Some(dialog) = call.caller.dialog.as_mut() else {
            return; // not dialled yet, or already gone
        };
        let mut bye = dialog.bye(&via, &mut self.rng);
        if let Some(reason) = call.caller.bye_reason.take() {
            bye.headers.push(Header::Reason(reason.into()));
        }
        dialog.terminate();
        self.send_request(now, peer, bye, crate::engine::ClientPurpose::Bye);
    }

    /// ACK for a 2xx we must acknowledge (ours to send, §13.2.2.4).
    pub(crate) fn send_ack(&mut self, now: Instant, peer: Peer, ack: Request) {
        self.send_stateless(now, peer, SipMessage::Request(ack));
    }
}
