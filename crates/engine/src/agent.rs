//! The agent side (issue 6 §4–5): the router's decisions become INVITEs to registered phones,
//! CANCELs, and a bridge when one answers.

use std::time::Instant;

use rsip::headers::{self, UntypedHeader};
use rsip::{Header, Method, Request, Response, Version};
use switchboard_acd::{CallId, CancelReason, Decision, LeaveReason, Offer, OfferId, RouterInput};
use switchboard_media::sdp::Direction;
use switchboard_media::sdp::{LocalMedia, LocalSdp, SdpAnswer, SessionDescription, accept_answer};
use switchboard_proto::pb;
use switchboard_sip::Peer;
use switchboard_sip::dialog::{Dialog, LocalVia, new_branch, new_tag, with_body};
use switchboard_store::{HangupSide, QueueLogLine, WriteOp};

use crate::call::{AgentLeg, AgentLegState, CallState, Ending};
use crate::engine::{AfterCommit, ClientPurpose, DialogOwner, Engine};
use crate::events;
use crate::output::MediaCommand;

/// How long an agent stays NotReady after an offer failed for want of a media port on our
/// side before it is made Ready again (and offered the waiting call if ports are free by then).
const MEDIA_RETRY: std::time::Duration = std::time::Duration::from_secs(2);

impl Engine {
    pub(crate) fn on_decision(&mut self, now: Instant, decision: Decision) {
        match decision {
            Decision::Offer(offer) => self.on_offer(now, offer),
            Decision::CancelOffer { offer, reason, .. } => self.cancel_offer(now, offer, reason),
            Decision::Queued {
                call,
                position,
                ewt,
                ..
            }
            | Decision::Announce {
                call,
                position,
                ewt,
                ..
            } => {
                if let Some(c) = self.calls.get_mut(&call.0)
                    && let Some(stay) = c.queue.as_mut()
                {
                    stay.position = u32::try_from(position).unwrap_or(u32::MAX);
                }
                // Position announcements: the prompt library speaks the number; music resumes.
                // Only to a caller on the line (not a callback or click-to-dial waiting).
                if let Some(c) = self.calls.get_mut(&call.0)
                    && c.state == CallState::Queued
                    && c.connected.is_none()
                    && c.caller.dialog.is_some()
                {
                    let playback =
                        crate::output::PlaybackRef(c.next_playback | crate::ivr::ANNOUNCEMENT_BIT);
                    c.next_playback += 1;
                    let leg = c.caller.leg;
                    self.media(MediaCommand::Play {
                        leg,
                        playback,
                        prompts: announcement(position, ewt),
                    });
                }
            }
            Decision::Leave {
                call,
                reason,
                overflow,
                ..
            } => {
                let wall = self.wall(now);
                if let Some(c) = self.calls.get(&call.0)
                    && let Some(stay) = &c.queue
                    && reason == LeaveReason::MaxWait
                {
                    let line = QueueLogLine::exit_with_timeout(
                        wall,
                        &c.text_id,
                        &stay.queue,
                        stay.position,
                        stay.orig_position,
                        now.saturating_duration_since(stay.entered),
                    );
                    self.store(
                        WriteOp::Record {
                            queue_log: vec![line],
                            events: Vec::new(),
                        },
                        AfterCommit::Nothing,
                    );
                }
                // Overflow into an IVR flow: the caller leaves the queue for the flow.
                if let Some(switchboard_acd::OverflowTarget::Route(route)) = &overflow
                    && let Some(flow) = route.strip_prefix("ivr:")
                    && self.flows.contains_key(flow)
                    && let Some(c) = self.calls.get_mut(&call.0)
                {
                    c.context = flow.to_string();
                    c.state = CallState::Ivr;
                    self.start_ivr(now, call.0);
                    return;
                }
                // Overflow to an agent: that agent's personal queue.
                if let Some(switchboard_acd::OverflowTarget::Route(route)) = &overflow
                    && let Some(agent) = route.strip_prefix("agent:")
                    && self.config.agent(agent).is_some()
                    && self.calls.contains_key(&call.0)
                {
                    let queue = crate::acd_map::personal_queue(agent);
                    self.enqueue(now, call.0, &queue);
                    return;
                }
                // Overflow to a URI: forwarded out through the trunk.
                if let Some(switchboard_acd::OverflowTarget::Route(route)) = &overflow
                    && let Some(uri) = route.strip_prefix("uri:")
                    && self.calls.contains_key(&call.0)
                {
                    let uri = uri.to_string();
                    self.forward(now, call.0, &uri);
                    return;
                }
                let reason = match reason {
                    LeaveReason::MaxWait => "queue-timeout",
                    LeaveReason::JoinEmpty => "queue-empty",
                    LeaveReason::QueueFull => "queue-full",
                    LeaveReason::LeaveEmpty => "queue-emptied",
                    LeaveReason::CallbackAttemptsExhausted => "callback-exhausted",
                    LeaveReason::QueueRemoved => "queue-removed",
                    LeaveReason::OverflowLoop => "overflow-loop",
                };
                self.end_call(
                    now,
                    call.0,
                    Ending {
                        side: HangupSide::System,
                        reason,
                    },
                );
            }
            Decision::AgentStateChanged { agent, state } => {
                let wall = self.wall(now);
                let previous = self
                    .journaled_agent_states
                    .insert(agent.as_str().to_owned(), events::wire_agent_state(&state))
                    .unwrap_or(pb::AgentState::Unspecified);
                self.agent_since.insert(agent.as_str().to_owned(), wall);
                self.journal(vec![events::agent_state(
                    agent.as_str(),
                    previous,
                    &state,
                    wall,
                )]);
            }
            Decision::Overflowed { call, to, .. } => {
                if let Some(c) = self.calls.get_mut(&call.0)
                    && let Some(stay) = c.queue.as_mut()
                {
                    stay.queue = to.as_str().to_string();
                }
            }
            Decision::StatsChanged { queue } => self.stats_changed(queue.as_str()),
            Decision::IntervalClosed(_) => {}
        }
    }

    /// Makes agents set NotReady by a media-port shortage Ready again once their retry is due,
    /// if nothing else changed their state meanwhile (a supervisor, a logout, a registration
    /// lost).
    pub(crate) fn media_retries(&mut self, now: Instant) {
        let due: Vec<(String, switchboard_acd::AgentState)> = self
            .media_retries
            .iter()
            .filter(|(_, (at, _))| *at <= now)
            .map(|(agent, (_, state))| (agent.clone(), state.clone()))
            .collect();
        for (agent, expected) in due {
            self.media_retries.remove(&agent);
            if self
                .router
                .agent(&agent)
                .is_some_and(|v| v.state == expected)
            {
                tracing::info!(%agent, "agent Ready again after a media-port shortage");
                self.route(
                    now,
                    RouterInput::AgentState {
                        agent: agent.as_str().into(),
                        state: switchboard_acd::RequestedState::Ready,
                    },
                );
            }
        }
    }

    /// Issue 6 §4: journal the screen-pop, then (after the commit) INVITE the phone.
    fn on_offer(&mut self, now: Instant, offer: Offer) {
        // A consultation's offer is made under its own router id for the customer's call.
        let consult = self
            .consultations
            .get(&offer.call.0)
            .map(|c| (offer.call.0, c.call));
        let call_id = consult.map_or(offer.call.0, |(_, call)| call);
        if let Some((router_id, _)) = consult {
            self.consultation_offered(router_id, offer.offer);
        }
        let binding = self.agent_device(offer.agent.as_str());
        let (Some((contact, peer)), Some(call)) = (binding, self.calls.get(&call_id)) else {
            // No phone to ring (or the call vanished): the router puts the call back.
            self.route(now, RouterInput::OfferFailed { offer: offer.offer });
            return;
        };
        let near = Some(call.caller.leg);
        let Some((leg, rtp)) = self.legs.create_leg(near) else {
            // Our own RTP ports ran out (a flood, or another process holding the range): the
            // router sets the agent NotReady as for a phone that failed, which would keep it
            // out of service for good; the phone is not at fault, so it is made Ready again
            // after MEDIA_RETRY unless its state changed meanwhile.
            self.route(now, RouterInput::OfferFailed { offer: offer.offer });
            if let Some(view) = self.router.agent(offer.agent.as_str()) {
                self.media_retries.insert(
                    offer.agent.as_str().to_string(),
                    (now + MEDIA_RETRY, view.state),
                );
            }
            return;
        };
        let wall = self.wall(now);
        let waited = call
            .queue
            .as_ref()
            .map(|q| now.saturating_duration_since(q.entered))
            .unwrap_or_default();
        let mut alerting = events::agent_alerting(call, offer.agent.as_str(), wall, waited);
        events::set_leg(&mut alerting, leg);
        self.alerting_legs
            .insert((call_id, offer.agent.as_str().to_owned()), leg);
        let caller_number = call.src.clone();
        let text_id = call.text_id.clone();
        let mut sdp = LocalSdp::new(rand::Rng::random::<u32>(&mut self.rng).into());
        let sdp_offer = sdp.offer(&LocalMedia::g711(rtp.ip(), rtp.port()), Direction::SendRecv);
        let invite = self.agent_invite(
            &contact,
            peer,
            offer.agent.as_str(),
            &caller_number,
            &text_id,
            &sdp_offer.0.to_string(),
        );
        self.agent_legs.insert(
            offer.offer,
            AgentLeg {
                offer: offer.offer,
                call: call_id,
                agent: offer.agent.as_str().to_string(),
                leg,
                peer,
                invite,
                tx: None,
                dialog: None,
                sdp_offer,
                sdp,
                rtp,
                rang_at: now,
                state: AgentLegState::Journaling,
                pending_offer: None,
                consult: consult.map(|(router_id, _)| router_id),
            },
        );
        self.store(
            WriteOp::Append(vec![alerting]),
            AfterCommit::SendAgentInvite(offer.offer),
        );
    }

    /// The INVITE to an agent's registered contact: Request-URI = Contact, sent to the address
    /// the REGISTER came from (NAT), the caller's number as From display name, the call id in
    /// `X-Switchboard-Call-Id`, our SDP offer.
    fn agent_invite(
        &mut self,
        contact: &rsip::Uri,
        peer: Peer,
        agent: &str,
        caller: &str,
        call_id: &str,
        sdp: &str,
    ) -> Request {
        let local = peer.local;
        let number = if caller.is_empty() {
            "anonymous"
        } else {
            caller
        };
        let display = number.replace(['"', '\\'], "");
        let user: String = number
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/".contains(*c))
            .collect();
        let user = if user.is_empty() {
            "anonymous".into()
        } else {
            user
        };
        let headers: Vec<Header> = vec![
            Header::Via(headers::Via::new(format!(
                "SIP/2.0/{} {local};branch={};rport",
                peer.transport.via_token(),
                new_branch(&mut self.rng)
            ))),
            Header::MaxForwards(headers::MaxForwards::new("70")),
            Header::From(headers::From::new(format!(
                "\"{display}\" <sip:{user}@{local}>;tag={}",
                new_tag(&mut self.rng)
            ))),
            Header::To(headers::To::new(format!("<sip:{agent}@{local}>"))),
            Header::CallId(headers::CallId::new(format!(
                "{:032x}@{}",
                rand::Rng::random::<u128>(&mut self.rng),
                local.ip()
            ))),
            Header::CSeq(headers::CSeq::new("1 INVITE")),
            Header::Contact(headers::Contact::new(format!(
                "<{}>",
                peer.contact_uri("switchboard")
            ))),
            Header::Other("X-Switchboard-Call-Id".into(), call_id.to_string()),
            Header::Allow(crate::policy::ALLOW.into()),
        ];
        let request = Request {
            method: Method::Invite,
            uri: contact.clone(),
            version: Version::V2,
            headers: headers.into(),
            body: Vec::new(),
        };
        with_body(request, "application/sdp", sdp.as_bytes().to_vec())
    }

    pub(crate) fn send_agent_invite(&mut self, now: Instant, offer: OfferId) {
        let Some(leg) = self.agent_legs.get(&offer) else {
            return;
        };
        if leg.state != AgentLegState::Journaling {
            // Withdrawn while the screen-pop was being written: nothing was sent.
            let leg = leg.leg;
            self.agent_legs.remove(&offer);
            self.media(MediaCommand::CloseLeg { leg });
            return;
        }
        let (peer, invite) = (leg.peer, leg.invite.clone());
        match self.send_request(now, peer, invite, ClientPurpose::AgentInvite(offer)) {
            Some(tx) => {
                if let Some(leg) = self.agent_legs.get_mut(&offer) {
                    leg.tx = Some(tx);
                    leg.state = AgentLegState::Ringing;
                    leg.rang_at = now;
                }
            }
            None => self.offer_failed(now, offer),
        }
    }

    /// Journals the end of an offer's alerting (one per journaled `AgentAlerting`).
    fn alerting_ended(
        &mut self,
        now: Instant,
        call: u128,
        agent: &str,
        reason: pb::AlertingEndReason,
    ) {
        let wall = self.wall(now);
        let (text_id, queue, request_id) = match self.calls.get(&call) {
            Some(c) => (
                c.text_id.clone(),
                c.queue.as_ref().map(|q| q.queue.clone()),
                c.request_id.clone(),
            ),
            None => (crate::ids::uuid_text(call), None, String::new()),
        };
        let mut ended = events::agent_alerting_ended(
            &text_id,
            queue.as_deref(),
            agent,
            wall,
            reason,
            &request_id,
        );
        if let Some(leg) = self.alerting_legs.remove(&(call, agent.to_owned())) {
            events::set_leg(&mut ended, leg);
        }
        self.journal(vec![ended]);
    }

    /// The phone could not be reached: the call goes back, the agent Not Ready `unreachable`.
    pub(crate) fn offer_failed(&mut self, now: Instant, offer: OfferId) {
        if let Some(leg) = self.agent_legs.remove(&offer) {
            self.media(MediaCommand::CloseLeg { leg: leg.leg });
            if matches!(
                leg.state,
                AgentLegState::Journaling | AgentLegState::Ringing
            ) {
                self.alerting_ended(
                    now,
                    leg.call,
                    &leg.agent,
                    pb::AlertingEndReason::DeviceFailed,
                );
            }
        }
        self.route(now, RouterInput::OfferFailed { offer });
    }

    /// Withdraw an offer: CANCEL the ringing INVITE (§9.1).
    fn cancel_offer(&mut self, now: Instant, offer: OfferId, reason: CancelReason) {
        let Some(leg) = self.agent_legs.get_mut(&offer) else {
            return;
        };
        if leg.state == AgentLegState::Answered {
            return;
        }
        let was = leg.state;
        leg.state = AgentLegState::Cancelled;
        let (tx, call, agent, rang_at) = (leg.tx, leg.call, leg.agent.clone(), leg.rang_at);
        let ended = match reason {
            CancelReason::RingTimeout => pb::AlertingEndReason::NoAnswer,
            CancelReason::CallerAbandoned => pb::AlertingEndReason::CallerAbandoned,
            _ => pb::AlertingEndReason::Cancelled,
        };
        self.alerting_ended(now, call, &agent, ended);
        if let Some(tx) = tx
            && was == AgentLegState::Ringing
            && let Err(err) = self.layer.cancel(now, tx)
        {
            tracing::debug!(%tx, error = %err, "CANCEL not sent");
        }
        if reason == CancelReason::RingTimeout {
            let wall = self.wall(now);
            if let Some(c) = self.calls.get_mut(&call)
                && let Some(stay) = &c.queue
            {
                c.rona = true;
                let line = QueueLogLine::ring_no_answer(
                    wall,
                    &c.text_id,
                    &stay.queue,
                    &agent,
                    now.saturating_duration_since(rang_at),
                );
                self.store(
                    WriteOp::Record {
                        queue_log: vec![line],
                        events: Vec::new(),
                    },
                    AfterCommit::Nothing,
                );
            }
        }
    }

    /// A response to an agent INVITE.
    pub(crate) fn on_agent_response(&mut self, now: Instant, offer: OfferId, response: Response) {
        let code = response.status_code.code();
        if code < 200 {
            return;
        }
        if code < 300 {
            self.on_agent_answer(now, offer, response);
            return;
        }
        let Some(leg) = self.agent_legs.remove(&offer) else {
            return;
        };
        self.media(MediaCommand::CloseLeg { leg: leg.leg });
        if leg.state != AgentLegState::Ringing {
            return; // the 487 to our CANCEL, or a late refusal of a withdrawn offer
        }
        let input = match code {
            // Busy or declined by the person: handled as RONA by the router.
            486 | 600 | 603 => RouterInput::OfferRejected { offer },
            // 404/408/480/503 and the rest: the phone cannot take calls now.
            _ => RouterInput::OfferFailed { offer },
        };
        let ended = if matches!(input, RouterInput::OfferRejected { .. }) {
            pb::AlertingEndReason::Rejected
        } else {
            pb::AlertingEndReason::DeviceFailed
        };
        self.alerting_ended(now, leg.call, &leg.agent, ended);
        if matches!(input, RouterInput::OfferRejected { .. }) {
            let wall = self.wall(now);
            if let Some(c) = self.calls.get(&leg.call)
                && let Some(stay) = &c.queue
            {
                let line = QueueLogLine::ring_no_answer(
                    wall,
                    &c.text_id,
                    &stay.queue,
                    &leg.agent,
                    now.saturating_duration_since(leg.rang_at),
                );
                self.store(
                    WriteOp::Record {
                        queue_log: vec![line],
                        events: Vec::new(),
                    },
                    AfterCommit::Nothing,
                );
            }
        }
        self.route(now, input);
    }

    pub(crate) fn on_agent_invite_failed(&mut self, now: Instant, offer: OfferId) {
        let Some(leg) = self.agent_legs.get(&offer) else {
            return;
        };
        if matches!(leg.state, AgentLegState::Ringing | AgentLegState::Cancelled) {
            let ringing = leg.state == AgentLegState::Ringing;
            if let Some(leg) = self.agent_legs.remove(&offer) {
                self.media(MediaCommand::CloseLeg { leg: leg.leg });
                if ringing {
                    self.alerting_ended(
                        now,
                        leg.call,
                        &leg.agent,
                        pb::AlertingEndReason::DeviceFailed,
                    );
                }
            }
            if ringing {
                self.route(now, RouterInput::OfferFailed { offer });
            }
        }
    }

    /// A 2xx from an agent: ACK it; if the offer still stands, the router accepts it and the
    /// legs are bridged; otherwise (ring-all loser, caller gone) hang it up with BYE.
    fn on_agent_answer(&mut self, now: Instant, offer: OfferId, response: Response) {
        let Some(leg) = self.agent_legs.get(&offer) else {
            return;
        };
        let dialog = match Dialog::uac(&leg.invite, &response) {
            Ok(d) => d,
            Err(err) => {
                tracing::info!(error = %err, "unusable 2xx from agent");
                return;
            }
        };
        let peer = leg.peer;
        let retransmission = leg.dialog.is_some();
        // A 2xx with another to-tag than the dialog we kept: a second dialog (a forking proxy
        // in front of the phone, or a phone that answers twice). RFC 3261 §13.2.2.4: ACK it,
        // then end it with BYE, as we never use it.
        let other_dialog = leg.dialog.as_ref().is_some_and(|d| d.id() != dialog.id());
        let standing = leg.state == AgentLegState::Ringing;
        let answer = SessionDescription::parse(&response.body)
            .ok()
            .map(SdpAnswer)
            .and_then(|a| accept_answer(&leg.sdp_offer, &a).ok());
        // Every 2xx is ACKed (§13.2.2.4), a retransmitted one again.
        let ack = dialog.ack(&via_for(peer), &mut self.rng);
        self.send_ack(now, peer, ack);
        if other_dialog {
            let mut extra = dialog;
            tracing::info!(dialog = ?extra.id(), "second dialog from an agent's INVITE: BYE");
            let bye = extra.bye(&via_for(peer), &mut self.rng);
            extra.terminate();
            self.send_request(now, peer, bye, ClientPurpose::Bye);
            return;
        }
        if retransmission {
            return;
        }
        self.dialogs
            .insert(dialog.id().clone(), DialogOwner::Agent(offer));
        if let Some(leg) = self.agent_legs.get_mut(&offer) {
            leg.dialog = Some(dialog);
        }
        let accepted =
            standing && answer.is_some() && self.route(now, RouterInput::OfferAccepted { offer });
        if !accepted {
            // Ring-all's second 200, or an answer after the caller left: ACK + BYE.
            self.bye_agent(now, offer);
            if standing {
                let (call, agent) = self
                    .agent_legs
                    .get(&offer)
                    .map(|l| (l.call, l.agent.clone()))
                    .unwrap_or_default();
                self.alerting_ended(now, call, &agent, pb::AlertingEndReason::DeviceFailed);
                self.route(now, RouterInput::OfferFailed { offer });
            }
            self.drop_agent_leg(now, offer);
            return;
        }
        let Some(leg) = self.agent_legs.get_mut(&offer) else {
            return;
        };
        leg.state = AgentLegState::Answered;
        if let Some(router_id) = leg.consult {
            let (leg_id, call, agent) = (leg.leg, leg.call, leg.agent.clone());
            if let Some(media) = answer {
                self.media(MediaCommand::SetMedia { leg: leg_id, media });
            }
            self.alerting_ended(now, call, &agent, pb::AlertingEndReason::Answered);
            self.consultation_answered(now, router_id, offer);
            return;
        }
        let (call_id, agent, agent_leg, rang_at) =
            (leg.call, leg.agent.clone(), leg.leg, leg.rang_at);
        let wall = self.wall(now);
        let recordings = self.options.recordings_dir.clone();
        let Some(call) = self.calls.get_mut(&call_id) else {
            return;
        };
        call.state = CallState::Connected;
        call.connected = Some(offer);
        call.connected_at = Some((now, wall));
        call.agent = Some(agent.clone());
        self.last_call_of
            .insert(agent.clone(), call.text_id.clone());
        let caller_leg = call.caller.leg;
        if call.record {
            call.recording_path = Some(
                recordings
                    .join(format!("{}.wav", call.text_id))
                    .to_string_lossy()
                    .into_owned(),
            );
        }
        let hold = call
            .queue
            .as_ref()
            .map(|q| now.saturating_duration_since(q.entered))
            .unwrap_or_default();
        let line = call.queue.as_ref().map(|stay| {
            QueueLogLine::connect(
                wall,
                &call.text_id,
                &stay.queue,
                &agent,
                hold.saturating_sub(now.saturating_duration_since(rang_at)),
                &agent_leg.to_string(),
                now.saturating_duration_since(rang_at),
            )
        });
        let mut ended = events::agent_alerting_ended(
            &call.text_id,
            call.queue.as_ref().map(|q| q.queue.as_str()),
            &agent,
            wall,
            pb::AlertingEndReason::Answered,
            &call.request_id,
        );
        events::set_leg(&mut ended, agent_leg);
        self.alerting_legs.remove(&(call_id, agent.clone()));
        let mut event = events::call_connected(call, &agent, wall);
        events::set_leg(&mut event, agent_leg);
        let recording = call.recording_path.as_ref().map(|_| call.text_id.clone());
        if let Some(media) = answer {
            self.media(MediaCommand::SetMedia {
                leg: agent_leg,
                media,
            });
        }
        self.media(MediaCommand::Stop { leg: caller_leg });
        self.media(MediaCommand::Bridge {
            caller: caller_leg,
            agent: agent_leg,
        });
        if let Some(name) = recording {
            self.media(MediaCommand::Record {
                caller: caller_leg,
                agent: agent_leg,
                name,
            });
        }
        self.store(
            WriteOp::Record {
                queue_log: line.into_iter().collect(),
                events: vec![ended, event],
            },
            AfterCommit::Nothing,
        );
        if let Some(call) = self.calls.get(&call_id) {
            let row = self.in_progress(call, "connected");
            self.store(
                WriteOp::SaveCall {
                    call: Box::new(row),
                    now: wall,
                },
                AfterCommit::Nothing,
            );
        }
        if let Some(call) = self.calls.get(&call_id) {
            tracing::info!(call = %call.text_id, %agent, "bridged");
        }
        // Click-to-dial and callbacks: the agent is on; now the customer.
        self.dial_customer(now, call_id);
    }

    /// A 2xx no transaction matches any more (after Timer M): if it is an agent dialog we
    /// already hung up, ACK it again; otherwise ACK + BYE so the phone does not stay off-hook.
    pub(crate) fn on_stray_response(&mut self, now: Instant, peer: Peer, response: Response) {
        if !(200..300).contains(&response.status_code.code()) {
            return;
        }
        let Some(id) = switchboard_sip::dialog::DialogId::of_response(&response) else {
            return;
        };
        if let Some(DialogOwner::Agent(offer)) = self.dialogs.get(&id).copied()
            && let Some(leg) = self.agent_legs.get(&offer)
            && let Some(dialog) = &leg.dialog
        {
            let ack = dialog.ack(&via_for(leg.peer), &mut self.rng);
            self.send_ack(now, peer, ack);
        }
    }

    /// BYE on an agent's dialog.
    pub(crate) fn bye_agent(&mut self, now: Instant, offer: OfferId) {
        self.bye_agent_with_reason(now, offer, None);
    }

    /// BYE on an agent's dialog with a `Reason` header (RFC 3326) when given.
    pub(crate) fn bye_agent_with_reason(
        &mut self,
        now: Instant,
        offer: OfferId,
        reason: Option<&str>,
    ) {
        let Some(leg) = self.agent_legs.get_mut(&offer) else {
            return;
        };
        let peer = leg.peer;
        let Some(dialog) = leg.dialog.as_mut() else {
            return;
        };
        // The phone hung up first (its BYE terminated the dialog): nothing to send.
        if dialog.state() == switchboard_sip::dialog::DialogState::Terminated {
            return;
        }
        let mut bye = dialog.bye(&via_for(peer), &mut self.rng);
        if let Some(reason) = reason {
            bye.headers.push(Header::Reason(reason.into()));
        }
        dialog.terminate();
        self.send_request(now, peer, bye, ClientPurpose::Bye);
    }

    /// Forgets an agent leg and frees its port and dialog.
    pub(crate) fn drop_agent_leg(&mut self, _now: Instant, offer: OfferId) {
        if let Some(leg) = self.agent_legs.remove(&offer) {
            if let Some(d) = &leg.dialog {
                self.dialogs.remove(d.id());
            }
            self.media(MediaCommand::CloseLeg { leg: leg.leg });
        }
    }

    /// The agent sent BYE on a connected call.
    pub(crate) fn agent_hung_up(&mut self, now: Instant, offer: OfferId) {
        let Some(leg) = self.agent_legs.get(&offer) else {
            return;
        };
        if let Some(router_id) = leg.consult {
            // The consulted agent hung up: the consultation is over, the customer goes back.
            self.route(
                now,
                RouterInput::CallEnded {
                    call: CallId(router_id),
                },
            );
            self.drop_agent_leg(now, offer);
            if let Some(c) = self.consultations.get_mut(&router_id) {
                c.offer_b = None;
            }
            self.cancel_consultation_by_id(now, router_id, "normal");
            return;
        }
        let call = leg.call;
        // One of a conference's agents: the other two go on.
        if self.leave_conference(now, call, offer) {
            return;
        }
        // The consulting agent hangs up during an API consultation: as with Asterisk's
        // attended transfer, an answered consultation completes (the customer goes to the
        // consulted agent); an unanswered one is withdrawn and the call ends as usual.
        if let Some(router_id) = self.consultation_of(call).filter(|id| {
            self.consultations
                .get(id)
                .is_some_and(|c| c.agent_a == offer)
        }) {
            if self.complete_consultation(now, call).is_ok() {
                return;
            }
            self.cancel_consultation_by_id(now, router_id, "normal");
        }
        if self
            .calls
            .get(&call)
            .is_some_and(|c| c.connected == Some(offer))
        {
            self.end_call(
                now,
                call,
                Ending {
                    side: HangupSide::Agent,
                    reason: "normal",
                },
            );
        } else {
            self.drop_agent_leg(now, offer);
        }
    }

    /// Router bookkeeping when a queued call leaves before being connected.
    pub(crate) fn abandon_in_router(&mut self, now: Instant, call: u128) {
        self.route(now, RouterInput::CallAbandoned { call: CallId(call) });
    }
}

/// "You are caller number 3. Your estimated wait is 4 minutes." (the wait only when known).
fn announcement(position: usize, ewt: Option<std::time::Duration>) -> Vec<String> {
    let mut prompts = switchboard_media::announce::position_announcement(
        u32::try_from(position).unwrap_or(u32::MAX),
    );
    if let Some(ewt) = ewt {
        prompts.extend(switchboard_media::announce::wait_announcement(ewt));
    }
    prompts
}

fn via_for(peer: Peer) -> LocalVia {
    LocalVia {
        transport: peer.transport,
        sent_by: peer.local.to_string(),
    }
}
