//! An outbound leg after its INVITE (see `outbound.rs`): the answer (bridge a far leg, hand a
//! customer leg's dialog to the call), failures and the ring timeout, the call's end (CANCEL
//! what rings, BYE what answered), and requests inside a far leg's dialog.

use std::time::Instant;

use rsip::{Header, Method, Request, Response, StatusCode};
use switchboard_media::sdp::{LocalMedia, SdpAnswer, SdpOffer, SessionDescription, accept_answer};
use switchboard_sip::dialog::{Dialog, LocalVia, response_with_body};
use switchboard_sip::transaction::TransactionId;
use switchboard_store::{HangupSide, WriteOp};

use crate::call::{CallState, Ending};
use crate::engine::{AfterCommit, ClientPurpose, DialogOwner, Engine};
use crate::events;
use crate::outbound::{LegState, OutboundId, Role, dial_status};
use crate::output::{LegId, MediaCommand};

impl Engine {
    /// A 2xx: ACK it (again for a retransmission); bridge, or hang up a leg no longer wanted.
    pub(crate) fn on_outbound_answer(&mut self, now: Instant, id: OutboundId, response: &Response) {
        let Some(leg) = self.outbound.get(&id) else {
            return;
        };
        let peer = leg.peer;
        if let Some(ack) = leg.ack.clone() {
            self.send_ack(now, peer, ack);
            return;
        }
        let mut dialog = match Dialog::uac(&leg.invite, response) {
            Ok(d) => d,
            Err(err) => {
                tracing::info!(error = %err, "unusable 2xx on an outbound leg");
                return;
            }
        };
        let via = LocalVia {
            transport: peer.transport,
            sent_by: peer.local.to_string(),
        };
        let media = SessionDescription::parse(&response.body)
            .ok()
            .map(SdpAnswer)
            .and_then(|a| accept_answer(&leg.sdp_offer, &a).ok());
        let (state, role, call_id, media_leg) = (leg.state, leg.role, leg.call, leg.leg);
        let ack = dialog.ack(&via, &mut self.rng);
        self.send_ack(now, peer, ack.clone());
        if let Some(leg) = self.outbound.get_mut(&id) {
            leg.ack = Some(ack);
            leg.tx = None;
        }
        let wanted = state == LegState::Ringing && self.calls.contains_key(&call_id);
        let Some(media) = media.filter(|_| wanted) else {
            // Answered after a CANCEL or after the call ended, or no usable SDP answer:
            // ACK + BYE (§15), and the call goes on as if it had failed.
            let bye = dialog.bye(&via, &mut self.rng);
            self.send_request(now, peer, bye, ClientPurpose::Bye);
            if wanted {
                self.outbound_failed(now, id, 488);
            } else {
                self.drop_outbound(id);
            }
            return;
        };
        let wall = self.wall(now);
        if let Some(leg) = self.outbound.get_mut(&id) {
            leg.state = LegState::Answered;
        }
        self.media(MediaCommand::SetMedia {
            leg: media_leg,
            media,
        });
        match role {
            Role::Customer => {
                // The customer's dialog becomes the call's caller dialog; the agent's leg is
                // bridged to this media leg already.
                self.dialogs
                    .insert(dialog.id().clone(), DialogOwner::Caller(call_id));
                let Some(call) = self.calls.get_mut(&call_id) else {
                    return;
                };
                call.caller.dialog = Some(dialog);
                call.dial_customer = None;
                call.answered = wall;
                self.callback_done(call_id);
                self.media(MediaCommand::Stop { leg: media_leg });
                if let Some(call) = self.calls.get(&call_id) {
                    tracing::info!(call = %call.text_id, "customer answered");
                    let event = events::far_connected(call, &media_leg.to_string(), wall);
                    let row = self.in_progress(call, "connected");
                    self.journal(vec![event]);
                    self.store(
                        WriteOp::SaveCall {
                            call: Box::new(row),
                            now: wall,
                        },
                        AfterCommit::Nothing,
                    );
                }
            }
            Role::Far => {
                self.answer_caller_late(now, call_id);
                self.dialogs
                    .insert(dialog.id().clone(), DialogOwner::Outbound(id));
                if let Some(leg) = self.outbound.get_mut(&id) {
                    leg.dialog = Some(dialog);
                }
                let recordings = self.options.recordings_dir.clone();
                let Some(call) = self.calls.get_mut(&call_id) else {
                    return;
                };
                call.state = CallState::Connected;
                call.connected_at = Some((now, wall));
                let caller_leg = call.caller.leg;
                if call.record && call.recording_path.is_none() {
                    call.recording_path = Some(
                        recordings
                            .join(format!("{}.wav", call.text_id))
                            .to_string_lossy()
                            .into_owned(),
                    );
                }
                let recording = call.recording_path.as_ref().map(|_| call.text_id.clone());
                self.media(MediaCommand::Stop { leg: caller_leg });
                self.media(MediaCommand::Bridge {
                    caller: caller_leg,
                    agent: media_leg,
                });
                if let Some(name) = recording {
                    self.media(MediaCommand::Record {
                        caller: caller_leg,
                        agent: media_leg,
                        name,
                    });
                }
                if let Some(call) = self.calls.get(&call_id) {
                    tracing::info!(call = %call.text_id, "forwarded call answered, bridged");
                    let event = events::far_connected(call, &media_leg.to_string(), wall);
                    let row = self.in_progress(call, "connected");
                    self.journal(vec![event]);
                    self.store(
                        WriteOp::SaveCall {
                            call: Box::new(row),
                            now: wall,
                        },
                        AfterCommit::Nothing,
                    );
                }
            }
        }
    }

    /// The leg got a final failure (or timed out, `code` 408): the call ends with the
    /// Asterisk-style dial status as its reason.
    pub(crate) fn outbound_failed(&mut self, now: Instant, id: OutboundId, code: u16) {
        let Some(leg) = self.outbound.get(&id) else {
            return;
        };
        let (state, role, call_id) = (leg.state, leg.role, leg.call);
        if state != LegState::Ringing {
            // The 487 to our CANCEL, or a late answer to a leg we gave up on.
            self.drop_outbound(id);
            return;
        }
        if let Some(call) = self.calls.get_mut(&call_id)
            && role == Role::Far
        {
            call.far = None;
            self.note_far_refusal(call_id, code);
            // Kept, as done with, until the call's end: its CDR names the channel and number
            // dialled, as Asterisk's `Dial` does for a busy or unanswered number; the end
            // releases it (`release_outbound`).
            if let Some(leg) = self.outbound.get_mut(&id) {
                leg.state = LegState::Cancelled;
                leg.tx = None;
            }
        } else {
            self.drop_outbound(id);
        }
        let reason = dial_status(code);
        tracing::info!(call = call_id, code, reason, ?role, "outbound leg failed");
        if role == Role::Customer && self.on_callback_unreached(now, call_id) {
            return;
        }
        self.end_call(
            now,
            call_id,
            Ending {
                side: HangupSide::System,
                reason,
            },
        );
    }

    /// Forgets a leg: its dialog, and its media leg unless it is the call's caller leg.
    fn drop_outbound(&mut self, id: OutboundId) {
        if let Some(leg) = self.outbound.remove(&id) {
            if let Some(d) = &leg.dialog {
                self.dialogs.remove(d.id());
            }
            if leg.role == Role::Far {
                self.media(MediaCommand::CloseLeg { leg: leg.leg });
            }
        }
    }

    /// The call is ending: CANCEL what still rings, BYE what answered (unless `side` is the
    /// far end itself). Returns the far media legs to close once the CDR is committed.
    pub(crate) fn release_outbound(
        &mut self,
        now: Instant,
        call_id: u128,
        far_hung_up: bool,
    ) -> Vec<LegId> {
        let ids: Vec<OutboundId> = self
            .outbound
            .iter()
            .filter(|(_, l)| l.call == call_id)
            .map(|(id, _)| *id)
            .collect();
        let mut media = Vec::new();
        for id in ids {
            let Some(leg) = self.outbound.get_mut(&id) else {
                continue;
            };
            match leg.state {
                LegState::Ringing => {
                    leg.state = LegState::Cancelled;
                    if let Some(tx) = leg.tx
                        && let Err(err) = self.layer.cancel(now, tx)
                    {
                        tracing::debug!(error = %err, "CANCEL not sent");
                    }
                    // Kept until its final response (487, or a 2xx to ACK and BYE).
                    if leg.role == Role::Far {
                        media.push(leg.leg);
                    }
                    continue;
                }
                LegState::Answered if leg.role == Role::Far && !far_hung_up => {
                    let peer = leg.peer;
                    if let Some(dialog) = leg.dialog.as_mut() {
                        let via = LocalVia {
                            transport: peer.transport,
                            sent_by: peer.local.to_string(),
                        };
                        let bye = dialog.bye(&via, &mut self.rng);
                        dialog.terminate();
                        self.send_request(now, peer, bye, ClientPurpose::Bye);
                    }
                }
                _ => {}
            }
            if let Some(leg) = self.outbound.remove(&id) {
                if let Some(d) = &leg.dialog {
                    self.dialogs.remove(d.id());
                }
                if leg.role == Role::Far {
                    media.push(leg.leg);
                }
            }
        }
        media
    }

    /// The INVITE transaction failed without a response (Timer B, transport error).
    pub(crate) fn on_outbound_failure(&mut self, now: Instant, id: OutboundId) {
        match self.outbound.get(&id).map(|l| l.state) {
            Some(LegState::Ringing) => self.outbound_failed(now, id, 408),
            Some(LegState::Cancelled) => self.drop_outbound(id),
            _ => {}
        }
    }

    /// Legs ringing past [`RING_TIMEOUT`]: CANCEL, and the call goes on as NOANSWER.
    pub(crate) fn outbound_timeouts(&mut self, now: Instant) {
        let due: Vec<OutboundId> = self
            .outbound
            .iter()
            .filter(|(_, l)| l.state == LegState::Ringing && l.ring_deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let Some(leg) = self.outbound.get_mut(&id) else {
                continue;
            };
            if let Some(tx) = leg.tx {
                let _ = self.layer.cancel(now, tx);
            }
            let (role, call_id) = (leg.role, leg.call);
            leg.state = LegState::Cancelled;
            tracing::info!(call = call_id, "outbound leg not answered: CANCEL");
            if let Some(call) = self.calls.get_mut(&call_id)
                && role == Role::Far
            {
                call.far = None;
            }
            if role == Role::Customer && self.on_callback_unreached(now, call_id) {
                continue;
            }
            self.end_call(
                now,
                call_id,
                Ending {
                    side: HangupSide::System,
                    reason: "dial-noanswer",
                },
            );
        }
    }

    /// The earliest ring timeout of an outbound leg.
    pub(crate) fn outbound_deadline(&self) -> Option<Instant> {
        self.outbound
            .values()
            .filter(|l| l.state == LegState::Ringing)
            .map(|l| l.ring_deadline)
            .min()
    }

    /// A request inside a far leg's dialog: BYE ends the call, a re-INVITE is answered from
    /// the leg's own media (hold gives the caller music), OPTIONS/UPDATE/INFO get 200.
    pub(crate) fn on_outbound_in_dialog(
        &mut self,
        now: Instant,
        tx: TransactionId,
        id: OutboundId,
        request: &Request,
    ) {
        let check = self
            .outbound
            .get_mut(&id)
            .and_then(|l| l.dialog.as_mut())
            .map(|d| d.on_request(request));
        let reply = |status| switchboard_sip::message::response_to(request, status, None);
        match check {
            None => return self.respond(now, tx, reply(StatusCode::CallTransactionDoesNotExist)),
            Some(Err(err)) => return self.respond(now, tx, reply(err.response())),
            Some(Ok(())) => {}
        }
        match request.method {
            Method::Bye => {
                self.respond(now, tx, reply(StatusCode::OK));
                let Some(call) = self.outbound.get(&id).map(|l| l.call) else {
                    return;
                };
                if let Some(leg) = self.outbound.get_mut(&id)
                    && let Some(d) = leg.dialog.as_mut()
                {
                    d.terminate();
                }
                // The far party stands in the agent's place: it is the called side hanging up.
                self.end_call(
                    now,
                    call,
                    Ending {
                        side: HangupSide::Agent,
                        reason: "normal",
                    },
                );
            }
            Method::Invite => self.on_outbound_reinvite(now, tx, id, request),
            Method::Options | Method::Update | Method::Info | Method::Notify => {
                self.respond(now, tx, reply(StatusCode::OK));
            }
            // The far party is not ours to let transfer the customer.
            Method::Refer => self.respond(now, tx, reply(StatusCode::Forbidden)),
            _ => {
                let mut response = reply(StatusCode::NotImplemented);
                response
                    .headers
                    .push(Header::Allow(crate::policy::ALLOW.into()));
                self.respond(now, tx, response);
            }
        }
    }

    fn on_outbound_reinvite(
        &mut self,
        now: Instant,
        tx: TransactionId,
        id: OutboundId,
        request: &Request,
    ) {
        let parsed = SessionDescription::parse(&request.body)
            .ok()
            .filter(|_| !request.body.is_empty());
        let Some(leg) = self.outbound.get_mut(&id) else {
            return;
        };
        let local = LocalMedia::g711(leg.rtp.ip(), leg.rtp.port());
        let result = parsed.map(|sdp| leg.sdp.answer(&SdpOffer(sdp), &local));
        let (media_leg, local_addr, call_id) = (leg.leg, leg.peer.local, leg.call);
        let Some(Ok((answer, media))) = result else {
            let response =
                switchboard_sip::message::response_to(request, StatusCode::NotAcceptableHere, None);
            return self.respond(now, tx, response);
        };
        let held = media.held_by_remote;
        let mut response = switchboard_sip::message::response_to(request, StatusCode::OK, None);
        response.headers.push(Header::Contact(
            format!("<sip:switchboard@{local_addr}>").into(),
        ));
        let response = response_with_body(
            response,
            "application/sdp",
            answer.0.to_string().into_bytes(),
        );
        self.respond(now, tx, response);
        self.media(MediaCommand::SetMedia {
            leg: media_leg,
            media,
        });
        let Some(call) = self.calls.get_mut(&call_id) else {
            return;
        };
        if call.held != held {
            call.held = held;
            let caller = call.caller.leg;
            self.media(if held {
                MediaCommand::MusicOnHold {
                    leg: caller,
                    class: "default".into(),
                }
            } else {
                MediaCommand::Stop { leg: caller }
            });
        }
    }

    /// A far leg's `dstchannel` and the destination dialled, for the CDR.
    pub(crate) fn far_party(&self, call_id: u128) -> Option<(String, String)> {
        self.outbound
            .values()
            .find(|l| l.call == call_id)
            .map(|l| (format!("SIP/{}-{}", l.trunk, l.leg), l.destination.clone()))
    }
}
