//! The INVITE client transaction (RFC 3261 §17.1.1, with RFC 6026 §8.4's Accepted state).

use std::time::Duration;

use bytes::Bytes;
use rsip::headers::UntypedHeader;
use rsip::{Header, Method, Request, Response};

use super::machine::{Ctx, Notice, Timer, to_bytes};

/// Where an INVITE client transaction is (RFC 3261 Figure 5, RFC 6026 Figure 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientInviteState {
    Calling,
    Proceeding,
    Completed,
    Accepted,
    Terminated,
}

/// What the TU's cancel request turns into (RFC 3261 §9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CancelDecision {
    /// A provisional response arrived: send the CANCEL now.
    SendNow,
    /// No provisional yet: §9.1 says wait for one, so the CANCEL is sent when it arrives.
    Deferred,
    /// A final response arrived (or the transaction ended): nothing left to cancel.
    TooLate,
}

/// An INVITE we sent, until its final response is settled.
#[derive(Debug)]
pub(crate) struct ClientInviteTransaction {
    state: ClientInviteState,
    request: Request,
    request_bytes: Bytes,
    /// The ACK for the non-2xx final, resent for each retransmission of that final.
    ack: Option<Bytes>,
    timer_a: Duration,
    cancel_pending: bool,
    cancel_sent: bool,
}

impl ClientInviteTransaction {
    /// Whether the final response is still awaited: what admission control counts (a
    /// transaction past it only absorbs retransmissions until its timer ends it).
    pub(crate) fn is_pending(&self) -> bool {
        matches!(
            self.state,
            ClientInviteState::Calling | ClientInviteState::Proceeding
        )
    }

    /// Sends the INVITE and arms Timers A (unreliable only) and B (§17.1.1.2).
    pub(crate) fn start(request: Request, ctx: &mut Ctx<'_>) -> Self {
        let request_bytes = to_bytes(&request);
        ctx.send(&request_bytes);
        let timer_a = ctx.config.t1;
        if !ctx.reliable {
            ctx.arm(Timer::A, timer_a);
        }
        ctx.arm(Timer::B, ctx.timeout_64_t1());
        ClientInviteTransaction {
            state: ClientInviteState::Calling,
            request,
            request_bytes,
            ack: None,
            timer_a,
            cancel_pending: false,
            cancel_sent: false,
        }
    }

    pub(crate) fn on_response(&mut self, response: Response, ctx: &mut Ctx<'_>) {
        let code = response.status_code.code();
        match self.state {
            ClientInviteState::Calling | ClientInviteState::Proceeding => match code {
                100..=199 => {
                    // §17.1.1.2: a provisional stops retransmissions; Timer B only runs in
                    // Calling (unless a CANCEL re-armed it, §9.1).
                    self.state = ClientInviteState::Proceeding;
                    ctx.disarm(Timer::A);
                    if !self.cancel_sent {
                        ctx.disarm(Timer::B);
                    }
                    ctx.notify(Notice::Response(response));
                }
                200..=299 => {
                    // RFC 6026 §8.4: Accepted, so retransmitted and forked 2xx reach the TU,
                    // which ACKs each (§13.2.2.4); the ACK for a 2xx is not ours to send.
                    self.state = ClientInviteState::Accepted;
                    ctx.disarm(Timer::A);
                    ctx.disarm(Timer::B);
                    ctx.arm(Timer::M, ctx.timeout_64_t1());
                    ctx.notify(Notice::Response(response));
                }
                _ => {
                    // §17.1.1.3: the transaction ACKs a non-2xx final itself.
                    self.state = ClientInviteState::Completed;
                    ctx.disarm(Timer::A);
                    ctx.disarm(Timer::B);
                    let ack = to_bytes(self.ack_for(&response));
                    ctx.send(&ack);
                    self.ack = Some(ack);
                    ctx.notify(Notice::Response(response));
                    ctx.linger(Timer::D, ctx.config.timer_d);
                }
            },
            ClientInviteState::Completed => {
                // A retransmitted final: re-ACK, do not bother the TU (§17.1.1.2).
                if code >= 300
                    && let Some(ack) = &self.ack
                {
                    ctx.send(ack);
                }
            }
            ClientInviteState::Accepted => {
                // RFC 6026 §8.4: every 2xx (retransmitted or from another fork) goes up.
                if (200..300).contains(&code) {
                    ctx.notify(Notice::Response(response));
                }
            }
            ClientInviteState::Terminated => {}
        }
    }

    pub(crate) fn on_timer(&mut self, timer: Timer, ctx: &mut Ctx<'_>) {
        match (self.state, timer) {
            (ClientInviteState::Calling, Timer::A) => {
                // §17.1.1.2: Timer A doubles without the T2 cap; Timer B ends it.
                ctx.send(&self.request_bytes);
                self.timer_a *= 2;
                ctx.arm(Timer::A, self.timer_a);
            }
            (ClientInviteState::Calling | ClientInviteState::Proceeding, Timer::B) => {
                self.state = ClientInviteState::Terminated;
                ctx.notify(Notice::Timeout(Timer::B));
                ctx.terminate();
            }
            (ClientInviteState::Completed, Timer::D) | (ClientInviteState::Accepted, Timer::M) => {
                self.state = ClientInviteState::Terminated;
                ctx.terminate();
            }
            _ => {}
        }
    }

    pub(crate) fn on_transport_error(&mut self, ctx: &mut Ctx<'_>) {
        if matches!(
            self.state,
            ClientInviteState::Calling | ClientInviteState::Proceeding
        ) {
            ctx.notify(Notice::TransportError);
        }
        self.state = ClientInviteState::Terminated;
        ctx.terminate();
    }

    /// The TU asks to cancel (§9.1).
    pub(crate) fn request_cancel(&mut self) -> CancelDecision {
        match self.state {
            ClientInviteState::Proceeding if !self.cancel_sent => CancelDecision::SendNow,
            ClientInviteState::Calling => {
                self.cancel_pending = true;
                CancelDecision::Deferred
            }
            ClientInviteState::Proceeding => CancelDecision::Deferred, // already on its way
            _ => CancelDecision::TooLate,
        }
    }

    /// Whether a deferred CANCEL should go now (a provisional arrived since it was asked for).
    pub(crate) fn take_pending_cancel(&mut self) -> bool {
        if self.cancel_pending && self.state == ClientInviteState::Proceeding {
            self.cancel_pending = false;
            true
        } else {
            false
        }
    }

    /// The CANCEL left: §9.1, the INVITE ends 64·T1 later if no final response arrives.
    pub(crate) fn cancel_sent(&mut self, ctx: &mut Ctx<'_>) {
        self.cancel_sent = true;
        ctx.arm(Timer::B, ctx.timeout_64_t1());
    }

    /// The ACK for a non-2xx final (§17.1.1.3): Request-URI, Call-ID, From, CSeq number, top
    /// Via and Route of the INVITE; To of the response; method ACK.
    fn ack_for(&self, response: &Response) -> Request {
        build_from_invite(
            &self.request,
            Method::Ack,
            response.headers.iter().find_map(|h| match h {
                Header::To(to) => Some(to.clone()),
                _ => None,
            }),
        )
    }

    /// The CANCEL for this INVITE (§9.1): as the ACK, but To from the INVITE.
    pub(crate) fn build_cancel(&self) -> Request {
        build_from_invite(&self.request, Method::Cancel, None)
    }
}

/// The shape §9.1 (CANCEL) and §17.1.1.3 (ACK) share: same Request-URI, Call-ID, From, To
/// (unless `to` replaces it), CSeq number, single top Via and Route set as the INVITE.
fn build_from_invite(invite: &Request, method: Method, to: Option<rsip::headers::To>) -> Request {
    let mut headers = rsip::Headers::default();
    let mut via_done = false;
    for header in invite.headers.iter() {
        match header {
            Header::Via(via) if !via_done => {
                via_done = true;
                headers.push(Header::Via(via.clone()));
            }
            Header::From(_) | Header::CallId(_) | Header::Route(_) | Header::MaxForwards(_) => {
                headers.push(header.clone())
            }
            Header::To(original) => headers.push(Header::To(match &to {
                Some(to) => to.clone(),
                None => original.clone(),
            })),
            Header::CSeq(cseq) => {
                let seq = cseq.seq().unwrap_or_default();
                headers.push(Header::CSeq(rsip::headers::CSeq::new(format!(
                    "{seq} {method}"
                ))));
            }
            _ => {}
        }
    }
    headers.push(Header::ContentLength(rsip::headers::ContentLength::new(
        "0",
    )));
    Request {
        method,
        uri: invite.uri.clone(),
        version: invite.version.clone(),
        headers,
        body: Vec::new(),
    }
}
