//! Answer supervision for trunk calls whose DNIS routes straight to a URI (Asterisk's
//! `Dial(SIP/trunk/number)` without `Answer()`): the caller's INVITE is not answered until the
//! far end answers. The caller hears its own ringback after our 180 (RFC 3261 §21.1.2); a far
//! end that is busy, declines or does not answer gives the caller the matching final response
//! instead of an answered call that is then hung up, so nobody is billed for a call that never
//! connected; a caller who gives up CANCELs (§9.2: 487), and the far leg is CANCELled in turn.
//!
//! The 200 with our SDP is built (and the dialog made from it) when the INVITE arrives, as for
//! every other call, and only sent when the far leg answers: the media legs are already set up
//! and the bridge starts with the answer.

use std::time::Instant;

use rsip::prelude::HeadersExt;
use rsip::{Request, Response, StatusCode};
use switchboard_config::Target;
use switchboard_sip::message::response_to;
use switchboard_sip::transaction::TransactionId;
use switchboard_store::HangupSide;

use crate::call::Ending;
use crate::engine::Engine;

/// A caller's INVITE held open while the far end rings.
#[derive(Debug)]
pub(crate) struct PendingAnswer {
    /// The caller's INVITE server transaction.
    pub(crate) tx: TransactionId,
    /// The INVITE, for the 1xx and the final error response.
    pub(crate) request: Request,
    /// Our To tag (the dialog's local tag): every response to the INVITE carries it.
    pub(crate) tag: String,
    /// The 200 with our SDP, sent when the far end answers.
    pub(crate) ok: Response,
    /// The final response for the caller if the call ends unanswered (the far end's status
    /// mapped in `caller_status`); 480 when unset.
    pub(crate) refusal: Option<StatusCode>,
    /// The final error response has been sent (the call is ending).
    pub(crate) refused: bool,
}

impl Engine {
    /// Whether a new call to `dnis` is answered only once its far end answers: a trunk call
    /// (not an agent's own) routed straight to a URI, with an SDP offer to answer.
    pub(crate) fn answers_late(&self, dnis: &str, placed_by: Option<&str>, offer: bool) -> bool {
        placed_by.is_none()
            && offer
            && matches!(
                self.config.route(dnis).map(|r| &r.target),
                Some(Target::Uri(_))
            )
    }

    /// Sends the caller 180 Ringing under the dialog's tag and keeps `ok` for the answer.
    pub(crate) fn ring_caller(
        &mut self,
        now: Instant,
        tx: TransactionId,
        request: Request,
        ok: Response,
    ) -> PendingAnswer {
        let tag = ok
            .to_header()
            .ok()
            .and_then(|to| to.tag().ok().flatten())
            .map(|t| t.to_string())
            .unwrap_or_default();
        let ringing = response_to(&request, StatusCode::Ringing, Some(&tag));
        self.respond(now, tx, ringing);
        PendingAnswer {
            tx,
            request,
            tag,
            ok,
            refusal: None,
            refused: false,
        }
    }

    /// The far end answered: the caller gets its 200 now, and the call's answer time is now.
    pub(crate) fn answer_caller_late(&mut self, now: Instant, call_id: u128) {
        let wall = self.wall(now);
        let Some(call) = self.calls.get_mut(&call_id) else {
            return;
        };
        let Some(pending) = call.caller.pending_answer.take() else {
            return;
        };
        call.answered = wall;
        self.respond(now, pending.tx, pending.ok);
        // From here on like any answered call: the 2xx is retransmitted until the ACK.
        self.caller_invites.insert(pending.tx, call_id);
    }

    /// The far end refused with `code`: the caller will get the matching final response.
    pub(crate) fn note_far_refusal(&mut self, call_id: u128, code: u16) {
        if let Some(pending) = self
            .calls
            .get_mut(&call_id)
            .and_then(|c| c.caller.pending_answer.as_mut())
        {
            pending.refusal = Some(caller_status(code));
        }
    }

    /// Ends an unanswered caller's INVITE with its final error response. `false` when the
    /// caller was answered (the caller is released with BYE instead).
    pub(crate) fn refuse_caller(&mut self, now: Instant, call_id: u128) -> bool {
        let Some(pending) = self
            .calls
            .get_mut(&call_id)
            .and_then(|c| c.caller.pending_answer.as_mut())
        else {
            return false;
        };
        if std::mem::replace(&mut pending.refused, true) {
            return true;
        }
        let status = pending
            .refusal
            .take()
            .unwrap_or(StatusCode::TemporarilyUnavailable);
        let response = response_to(&pending.request, status, Some(&pending.tag));
        let tx = pending.tx;
        self.respond(now, tx, response);
        true
    }

    /// A CANCEL for a caller's INVITE we have not answered: 487 to the INVITE (the layer has
    /// answered the CANCEL itself) and the call ends, CANCELling the far leg. `false` when no
    /// unanswered call has this transaction (a CANCEL after our 200 has no effect).
    pub(crate) fn on_late_cancel(&mut self, now: Instant, tx: TransactionId) -> bool {
        let Some(call_id) = self
            .calls
            .iter()
            .find(|(_, c)| c.caller.pending_answer.as_ref().is_some_and(|p| p.tx == tx))
            .map(|(id, _)| *id)
        else {
            return false;
        };
        if let Some(pending) = self
            .calls
            .get_mut(&call_id)
            .and_then(|c| c.caller.pending_answer.as_mut())
        {
            pending.refusal = Some(StatusCode::RequestTerminated);
        }
        self.refuse_caller(now, call_id);
        self.end_call(
            now,
            call_id,
            Ending {
                side: HangupSide::Caller,
                reason: "cancel",
            },
        );
        true
    }
}

/// The caller's final response for a far end's failure (what Asterisk's chan_sip sends for
/// the DIALSTATUS): busy stays busy, a decline stays a decline, an unknown number stays 404,
/// no answer (including our own CANCEL at the ring timeout) is 480, a failing carrier 503.
pub(crate) fn caller_status(far: u16) -> StatusCode {
    match far {
        486 | 600 => StatusCode::BusyHere,
        603 => StatusCode::Decline,
        404 | 410 | 484 | 604 => StatusCode::NotFound,
        488 | 606 => StatusCode::NotAcceptableHere,
        408 | 480 | 487 => StatusCode::TemporarilyUnavailable,
        _ => StatusCode::ServiceUnavailable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn far_failures_map_to_the_callers_final_response() {
        assert_eq!(caller_status(486), StatusCode::BusyHere);
        assert_eq!(caller_status(600), StatusCode::BusyHere);
        assert_eq!(caller_status(603), StatusCode::Decline);
        assert_eq!(caller_status(404), StatusCode::NotFound);
        assert_eq!(caller_status(487), StatusCode::TemporarilyUnavailable);
        assert_eq!(caller_status(408), StatusCode::TemporarilyUnavailable);
        assert_eq!(caller_status(500), StatusCode::ServiceUnavailable);
        assert_eq!(caller_status(403), StatusCode::ServiceUnavailable);
    }
}
