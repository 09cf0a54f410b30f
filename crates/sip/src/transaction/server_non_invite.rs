//! The non-INVITE server transaction (RFC 3261 §17.2.2, RFC 4320).

use bytes::Bytes;

use super::TransactionError;
use super::machine::{Ctx, Notice, Timer};

/// Where a non-INVITE server transaction is (RFC 3261 Figure 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerNonInviteState {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

/// A non-INVITE request we received, until its retransmissions stop.
#[derive(Debug)]
pub(crate) struct ServerNonInviteTransaction {
    state: ServerNonInviteState,
    last_response: Option<Bytes>,
}

impl ServerNonInviteTransaction {
    /// Whether the final response is still awaited: what admission control counts (a
    /// transaction past it only absorbs retransmissions until its timer ends it).
    pub(crate) fn is_pending(&self) -> bool {
        matches!(
            self.state,
            ServerNonInviteState::Trying | ServerNonInviteState::Proceeding
        )
    }

    /// A new transaction in Trying. RFC 4320 §4.1: no 100 Trying on our own (it would only
    /// stretch the client's Timer E to T2) and never a 408; the Unanswered guard frees the
    /// state if the TU never answers.
    pub(crate) fn start(ctx: &mut Ctx<'_>) -> Self {
        ctx.arm(Timer::Unanswered, ctx.timeout_64_t1());
        ServerNonInviteTransaction {
            state: ServerNonInviteState::Trying,
            last_response: None,
        }
    }

    /// A retransmission of the request (§17.2.2): absorbed in Trying, answered with the last
    /// response in Proceeding and Completed. Returns whether something was resent.
    pub(crate) fn on_retransmission(&mut self, ctx: &mut Ctx<'_>) -> bool {
        match (&self.last_response, self.state) {
            (Some(bytes), ServerNonInviteState::Proceeding | ServerNonInviteState::Completed) => {
                ctx.send(bytes);
                true
            }
            _ => false,
        }
    }

    pub(crate) fn respond(
        &mut self,
        code: u16,
        bytes: Bytes,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), TransactionError> {
        match self.state {
            ServerNonInviteState::Trying | ServerNonInviteState::Proceeding => {
                ctx.send(&bytes);
                self.last_response = Some(bytes);
                if code < 200 {
                    self.state = ServerNonInviteState::Proceeding;
                } else {
                    self.state = ServerNonInviteState::Completed;
                    ctx.disarm(Timer::Unanswered);
                    let j = ctx.timeout_64_t1();
                    ctx.linger(Timer::J, j);
                }
                Ok(())
            }
            _ => Err(TransactionError::AlreadyFinal),
        }
    }

    pub(crate) fn on_timer(&mut self, timer: Timer, ctx: &mut Ctx<'_>) {
        match (self.state, timer) {
            (ServerNonInviteState::Completed, Timer::J) => {
                self.state = ServerNonInviteState::Terminated;
                ctx.terminate();
            }
            (
                ServerNonInviteState::Trying | ServerNonInviteState::Proceeding,
                Timer::Unanswered,
            ) => {
                self.state = ServerNonInviteState::Terminated;
                ctx.notify(Notice::Timeout(Timer::Unanswered));
                ctx.terminate();
            }
            _ => {}
        }
    }

    pub(crate) fn on_transport_error(&mut self, ctx: &mut Ctx<'_>) {
        if self.state != ServerNonInviteState::Completed {
            ctx.notify(Notice::TransportError);
        }
        self.state = ServerNonInviteState::Terminated;
        ctx.terminate();
    }
}
