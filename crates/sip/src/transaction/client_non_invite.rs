//! The non-INVITE client transaction (RFC 3261 §17.1.2, RFC 4320).

use std::time::Duration;

use bytes::Bytes;
use rsip::{Request, Response};

use super::machine::{Ctx, Notice, Timer, backoff, to_bytes};

/// Where a non-INVITE client transaction is (RFC 3261 Figure 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientNonInviteState {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

/// A non-INVITE request we sent (BYE, OPTIONS, CANCEL, NOTIFY, …).
#[derive(Debug)]
pub(crate) struct ClientNonInviteTransaction {
    state: ClientNonInviteState,
    request_bytes: Bytes,
    timer_e: Duration,
}

impl ClientNonInviteTransaction {
    /// Whether the final response is still awaited: what admission control counts (a
    /// transaction past it only absorbs retransmissions until its timer ends it).
    pub(crate) fn is_pending(&self) -> bool {
        matches!(
            self.state,
            ClientNonInviteState::Trying | ClientNonInviteState::Proceeding
        )
    }

    /// Sends the request, arms Timers E (unreliable only) and F (§17.1.2.2).
    pub(crate) fn start(request: &Request, ctx: &mut Ctx<'_>) -> Self {
        let request_bytes = to_bytes(request);
        ctx.send(&request_bytes);
        let timer_e = ctx.config.t1;
        if !ctx.reliable {
            ctx.arm(Timer::E, timer_e);
        }
        ctx.arm(Timer::F, ctx.timeout_64_t1());
        ClientNonInviteTransaction {
            state: ClientNonInviteState::Trying,
            request_bytes,
            timer_e,
        }
    }

    pub(crate) fn on_response(&mut self, response: Response, ctx: &mut Ctx<'_>) {
        if !matches!(
            self.state,
            ClientNonInviteState::Trying | ClientNonInviteState::Proceeding
        ) {
            return; // Completed absorbs retransmitted finals (§17.1.2.2).
        }
        if response.status_code.code() < 200 {
            self.state = ClientNonInviteState::Proceeding;
        } else {
            self.state = ClientNonInviteState::Completed;
            ctx.disarm(Timer::E);
            ctx.disarm(Timer::F);
            ctx.linger(Timer::K, ctx.config.t4);
        }
        ctx.notify(Notice::Response(response));
    }

    pub(crate) fn on_timer(&mut self, timer: Timer, ctx: &mut Ctx<'_>) {
        match (self.state, timer) {
            (ClientNonInviteState::Trying, Timer::E) => {
                ctx.send(&self.request_bytes);
                self.timer_e = backoff(self.timer_e, ctx.config);
                ctx.arm(Timer::E, self.timer_e);
            }
            (ClientNonInviteState::Proceeding, Timer::E) => {
                // §17.1.2.2: after a provisional, retransmit every T2.
                ctx.send(&self.request_bytes);
                ctx.arm(Timer::E, ctx.config.t2);
            }
            (ClientNonInviteState::Trying | ClientNonInviteState::Proceeding, Timer::F) => {
                self.state = ClientNonInviteState::Terminated;
                ctx.notify(Notice::Timeout(Timer::F));
                ctx.terminate();
            }
            (ClientNonInviteState::Completed, Timer::K) => {
                self.state = ClientNonInviteState::Terminated;
                ctx.terminate();
            }
            _ => {}
        }
    }

    pub(crate) fn on_transport_error(&mut self, ctx: &mut Ctx<'_>) {
        if self.state != ClientNonInviteState::Completed {
            ctx.notify(Notice::TransportError);
        }
        self.state = ClientNonInviteState::Terminated;
        ctx.terminate();
    }
}
