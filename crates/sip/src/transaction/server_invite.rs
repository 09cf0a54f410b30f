//! The INVITE server transaction (RFC 3261 §17.2.1, with RFC 6026 §8.7's Accepted state and
//! the UAS 2xx retransmission of RFC 3261 §13.3.1.4).
//!
//! Why the 2xx retransmission lives here rather than in the dialog or the TU: it needs a
//! timer, the peer and the serialised 2xx, and it stops on an ACK that only the layer sees
//! first. The layer already owns the one timer wheel, the bytes and the ACK matching, and the
//! Accepted state lasts exactly the 64·T1 that §13.3.1.4 retransmits for, so Timer L doubles as
//! the "no ACK" deadline. The dialog stays timer-free and the TU only hears `Ack` or
//! `AckTimeout`. RFC 6026 assigns the retransmission to the TU core; doing it inside the
//! transaction is invisible on the wire.

use std::time::Duration;

use bytes::Bytes;
use rsip::Request;

use super::TransactionError;
use super::machine::{Ctx, Notice, Timer, backoff};

/// Where an INVITE server transaction is (RFC 3261 Figure 7, RFC 6026 Figure 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerInviteState {
    Proceeding,
    Completed,
    Confirmed,
    Accepted,
    Terminated,
}

/// An INVITE we received, until its final response is settled.
#[derive(Debug)]
pub(crate) struct ServerInviteTransaction {
    state: ServerInviteState,
    last_response: Option<Bytes>,
    /// The retransmission interval of Timer G (non-2xx) or of the 2xx.
    interval: Duration,
    ack_received: bool,
}

impl ServerInviteTransaction {
    /// Whether the final response is still awaited: what admission control counts (a
    /// transaction past it only absorbs retransmissions until its timer ends it).
    pub(crate) fn is_pending(&self) -> bool {
        matches!(self.state, ServerInviteState::Proceeding)
    }

    /// A new transaction in Proceeding; `trying` (the 100) is sent at once (§17.2.1: within
    /// 200 ms, unless the TU answers sooner; sending it now costs one datagram and stops the
    /// client's Timer A).
    pub(crate) fn start(trying: Option<Bytes>, ctx: &mut Ctx<'_>) -> Self {
        if let Some(bytes) = &trying {
            ctx.send(bytes);
        }
        ServerInviteTransaction {
            state: ServerInviteState::Proceeding,
            last_response: trying,
            interval: ctx.config.t1,
            ack_received: false,
        }
    }

    pub(crate) fn state(&self) -> ServerInviteState {
        self.state
    }

    /// A retransmitted INVITE (§17.2.1): Proceeding and Completed resend the last response;
    /// Confirmed and Accepted absorb it (RFC 6026 §8.7: the 2xx is retransmitted on its own
    /// schedule). Returns whether something was resent.
    pub(crate) fn on_retransmission(&mut self, ctx: &mut Ctx<'_>) -> bool {
        match (&self.last_response, self.state) {
            (Some(bytes), ServerInviteState::Proceeding | ServerInviteState::Completed) => {
                ctx.send(bytes);
                true
            }
            _ => false,
        }
    }

    /// An ACK matched to this transaction: by branch for a non-2xx final (§17.2.3), or by
    /// dialog and CSeq for a 2xx (§13.3.1.4).
    pub(crate) fn on_ack(&mut self, ack: Request, ctx: &mut Ctx<'_>) {
        match self.state {
            ServerInviteState::Completed => {
                // §17.2.1: Confirmed absorbs further ACKs until Timer I.
                self.state = ServerInviteState::Confirmed;
                ctx.disarm(Timer::G);
                ctx.disarm(Timer::H);
                ctx.linger(Timer::I, ctx.config.t4);
            }
            ServerInviteState::Accepted if !self.ack_received => {
                // The ACK for a 2xx is the TU's (it may carry the SDP answer); stop
                // retransmitting the 2xx. Later copies are absorbed until Timer L.
                self.ack_received = true;
                ctx.disarm(Timer::Retransmit2xx);
                ctx.notify(Notice::Ack(ack));
            }
            _ => {}
        }
    }

    pub(crate) fn respond(
        &mut self,
        code: u16,
        bytes: Bytes,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), TransactionError> {
        match (self.state, code) {
            (ServerInviteState::Proceeding, 100..=199) => {
                ctx.send(&bytes);
                self.last_response = Some(bytes);
            }
            (ServerInviteState::Proceeding, 200..=299) => {
                // RFC 6026 §8.7: Accepted for 64·T1 (Timer L); the 2xx is retransmitted
                // until the ACK (§13.3.1.4, see the module doc for why here).
                ctx.send(&bytes);
                self.last_response = Some(bytes);
                self.state = ServerInviteState::Accepted;
                self.interval = ctx.config.t1;
                ctx.arm(Timer::Retransmit2xx, self.interval);
                ctx.arm(Timer::L, ctx.timeout_64_t1());
            }
            (ServerInviteState::Proceeding, _) => {
                ctx.send(&bytes);
                self.last_response = Some(bytes);
                self.state = ServerInviteState::Completed;
                self.interval = ctx.config.t1;
                if !ctx.reliable {
                    ctx.arm(Timer::G, self.interval);
                }
                ctx.arm(Timer::H, ctx.timeout_64_t1());
            }
            (ServerInviteState::Accepted, 200..=299) => {
                // RFC 6026 §8.7: a 2xx from the TU in Accepted goes out as is.
                ctx.send(&bytes);
                self.last_response = Some(bytes);
            }
            _ => return Err(TransactionError::AlreadyFinal),
        }
        Ok(())
    }

    pub(crate) fn on_timer(&mut self, timer: Timer, ctx: &mut Ctx<'_>) {
        match (self.state, timer) {
            (ServerInviteState::Completed, Timer::G) => {
                if let Some(bytes) = &self.last_response {
                    ctx.send(bytes);
                }
                self.interval = backoff(self.interval, ctx.config);
                ctx.arm(Timer::G, self.interval);
            }
            (ServerInviteState::Completed, Timer::H) => {
                // §17.2.1: no ACK for the non-2xx; tell the TU (it may count a dead peer).
                self.state = ServerInviteState::Terminated;
                ctx.notify(Notice::Timeout(Timer::H));
                ctx.terminate();
            }
            (ServerInviteState::Confirmed, Timer::I) => {
                self.state = ServerInviteState::Terminated;
                ctx.terminate();
            }
            (ServerInviteState::Accepted, Timer::Retransmit2xx) if !self.ack_received => {
                if let Some(bytes) = &self.last_response {
                    ctx.send(bytes);
                }
                self.interval = backoff(self.interval, ctx.config);
                ctx.arm(Timer::Retransmit2xx, self.interval);
            }
            (ServerInviteState::Accepted, Timer::L) => {
                // §13.3.1.4: 64·T1 without an ACK; the TU confirms then ends the dialog (BYE).
                if !self.ack_received {
                    ctx.notify(Notice::AckTimeout);
                }
                self.state = ServerInviteState::Terminated;
                ctx.terminate();
            }
            _ => {}
        }
    }

    pub(crate) fn on_transport_error(&mut self, ctx: &mut Ctx<'_>) {
        if matches!(
            self.state,
            ServerInviteState::Proceeding
                | ServerInviteState::Completed
                | ServerInviteState::Accepted
        ) {
            ctx.notify(Notice::TransportError);
        }
        self.state = ServerInviteState::Terminated;
        ctx.terminate();
    }
}
