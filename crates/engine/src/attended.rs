//! Attended transfer from the agent's phone (RFC 5589 §7, RFC 3891 Replaces).
//!
//! Agent A talks to the customer (call 1), holds them (re-INVITE sendonly: the customer hears
//! music), calls agent B *through Switchboard* (call 2, placed from A's phone, `placed.rs`),
//! then sends REFER on the customer-side dialog with
//! `Refer-To: <sip:B@…?Replaces=<call-id>%3Bto-tag%3D…%3Bfrom-tag%3D…>` naming the
//! consultation dialog as A's phone sees it. Switchboard is the transferee (it anchors the
//! customer), so it carries the transfer out itself instead of sending an INVITE with Replaces:
//!
//! - B's leg moves from call 2 to call 1 and is bridged to the customer; call 1 keeps its
//!   `call_id`, queue and data; B stays OnCall in the router (under call 2's router id).
//! - A gets 202, a final NOTIFY `SIP/2.0 200 OK` (RFC 3515 §2.4.5), and BYE on both of its
//!   dialogs; the router puts A in wrap-up.
//! - queue_log gets `ATTENDEDTRANSFER` (Asterisk ≥ 12's name and field layout for this case:
//!   `BRIDGE|<bridge>|holdtime|calltime|origposition`) for call 1 and the journal a
//!   `CallTransferred` naming A's old leg and B's new one; call 2 ends with CDR reason
//!   `transferred`.
//! - If B has not answered yet (still ringing or waiting), the transfer becomes "blonde": the
//!   consultation is abandoned and the customer goes to the queue it was waiting in, keeping
//!   its `call_id` (what Asterisk does when the transferor hangs up before the target answers).
//!
//! The `rsip` fork drops URI headers, so `Refer-To` is read as text: [`parse_replaces`].

use std::time::Instant;

use rsip::{Request, StatusCode};
use switchboard_acd::{CallId, OfferId, RouterInput};
use switchboard_proto::pb;
use switchboard_sip::dialog::DialogId;
use switchboard_sip::transaction::TransactionId;
use switchboard_store::{HangupSide, QueueLogLine, WriteOp};

use crate::call::{AgentLegState, CallState, Ending};
use crate::engine::{AfterCommit, DialogOwner, Engine};
use crate::events;
use crate::output::MediaCommand;

/// The dialog a `Replaces` names (RFC 3891 §6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Replaces {
    pub(crate) call_id: String,
    pub(crate) to_tag: String,
    pub(crate) from_tag: String,
    pub(crate) early_only: bool,
}

/// Reads the `Replaces` URI header out of a `Refer-To` value (RFC 3515 §2.1, RFC 3891 §3):
/// `<sip:1002@host?Replaces=abc%40h%3Bto-tag%3D1%3Bfrom-tag%3D2>`. `None` when there is no
/// Replaces, it is not valid percent-encoding, or a tag is missing.
pub(crate) fn parse_replaces(refer_to: &str) -> Option<Replaces> {
    let uri = match refer_to.find('<') {
        Some(start) => refer_to.get(start + 1..)?.split('>').next()?,
        None => refer_to.split(';').next()?,
    };
    let (_, headers) = uri.split_once('?')?;
    let raw = headers.split('&').find_map(|h| {
        let (name, value) = h.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("replaces")
            .then_some(value)
    })?;
    parse_replaces_value(&percent_decode(raw)?)
}

/// The value of a `Replaces` header: `call-id;to-tag=a;from-tag=b[;early-only]`.
pub(crate) fn parse_replaces_value(value: &str) -> Option<Replaces> {
    let mut parts = value.split(';');
    let call_id = parts.next()?.trim();
    if call_id.is_empty() {
        return None;
    }
    let (mut to_tag, mut from_tag, mut early_only) = (None, None, false);
    for part in parts {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        match name.trim().to_ascii_lowercase().as_str() {
            "to-tag" => to_tag = Some(value.trim().to_string()),
            "from-tag" => from_tag = Some(value.trim().to_string()),
            "early-only" => early_only = true,
            _ => {}
        }
    }
    Some(Replaces {
        call_id: call_id.to_string(),
        to_tag: to_tag.filter(|t| !t.is_empty())?,
        from_tag: from_tag.filter(|t| !t.is_empty())?,
        early_only,
    })
}

/// RFC 3986 §2.1 percent-decoding; `None` on a bad escape or non-UTF-8 result.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            // from_str_radix would take a sign ("%+1"): two hex digits only.
            if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl Engine {
    /// A recorded call whose agent leg changed (transfer, device move): the recording of the
    /// old pair ended with its bridge, so the new pair is recorded into
    /// `<call_id>-<agent leg>.wav` next to the first file (the CDR names the first).
    pub(crate) fn continue_recording(&mut self, call_id: u128, agent_leg: crate::output::LegId) {
        let Some(call) = self.calls.get(&call_id) else {
            return;
        };
        if call.recording_path.is_none() {
            return;
        }
        let command = MediaCommand::Record {
            caller: call.caller.leg,
            agent: agent_leg,
            name: format!("{}-{agent_leg}", call.text_id),
        };
        self.media(command);
    }

    /// The dialog `replaces` names among ours, in either tag orientation (the phone names the
    /// consultation dialog from its side: its tag is our remote tag; RFC 3891 §3 defines the
    /// tags from the side that receives the Replaces, which some phones get backwards).
    pub(crate) fn dialog_replaced(&self, replaces: &Replaces) -> Option<DialogOwner> {
        let direct = DialogId {
            sip_call_id: replaces.call_id.clone(),
            local_tag: replaces.to_tag.clone(),
            remote_tag: replaces.from_tag.clone(),
        };
        let reversed = DialogId {
            sip_call_id: replaces.call_id.clone(),
            local_tag: replaces.from_tag.clone(),
            remote_tag: replaces.to_tag.clone(),
        };
        self.dialogs
            .get(&direct)
            .or_else(|| self.dialogs.get(&reversed))
            .copied()
    }

    /// A REFER with Replaces on agent A's customer dialog (`offer_a` of `call_1`). The caller
    /// has checked that the call is connected to this leg.
    pub(crate) fn on_attended_refer(
        &mut self,
        now: Instant,
        id: TransactionId,
        call_1: u128,
        offer_a: OfferId,
        request: &Request,
        refer_to: &str,
    ) {
        let Some(replaces) = parse_replaces(refer_to) else {
            return self.refuse(now, id, request, StatusCode::BadRequest);
        };
        let agent_a = self
            .agent_legs
            .get(&offer_a)
            .map(|l| l.agent.clone())
            .unwrap_or_default();
        // Only a consultation A placed itself can be joined to A's customer.
        let call_2 = match self.dialog_replaced(&replaces) {
            Some(DialogOwner::Caller(call_2))
                if call_2 != call_1
                    && self
                        .calls
                        .get(&call_2)
                        .is_some_and(|c| c.placed_by.as_deref() == Some(agent_a.as_str())) =>
            {
                call_2
            }
            Some(_) => return self.refuse(now, id, request, StatusCode::Forbidden),
            // RFC 3891 §3: no such dialog → 481.
            None => {
                return self.refuse(now, id, request, StatusCode::CallTransactionDoesNotExist);
            }
        };
        let consulted = self
            .calls
            .get(&call_2)
            .and_then(|c| c.connected)
            .filter(|o| {
                self.agent_legs
                    .get(o)
                    .is_some_and(|l| l.state == AgentLegState::Answered)
            });
        let accepted = switchboard_sip::message::response_to(request, StatusCode::Accepted, None);
        self.respond(now, id, accepted);
        self.notify_refer_outcome(now, offer_a);
        tracing::debug!(
            early_only = replaces.early_only,
            answered = consulted.is_some(),
            "REFER with Replaces"
        );
        match consulted {
            Some(offer_b) => self.join_consulted(now, call_1, offer_a, call_2, offer_b),
            None => self.blonde_transfer(now, call_1, offer_a, call_2),
        }
    }

    /// B answered the consultation: the customer of `call_1` is bridged to B's leg `offer_b`
    /// (taken from `call_2`), A's legs end, A goes to wrap-up.
    pub(crate) fn join_consulted(
        &mut self,
        now: Instant,
        call_1: u128,
        offer_a: OfferId,
        call_2: u128,
        offer_b: OfferId,
    ) {
        let wall = self.wall(now);
        let (Some(leg_a), Some(leg_b)) = (
            self.agent_legs.get(&offer_a).map(|l| l.leg),
            self.agent_legs
                .get(&offer_b)
                .map(|l| (l.leg, l.agent.clone())),
        ) else {
            return;
        };
        let (leg_b, agent_b) = leg_b;
        let Some(router_call_2) = self.calls.get(&call_2).map(|c| c.router_call) else {
            return;
        };
        // A leaves call 1: BYE, wrap-up, its leg freed.
        self.bye_agent(now, offer_a);
        let router_call_1 = self.calls.get(&call_1).map_or(call_1, |c| c.router_call);
        self.route(
            now,
            RouterInput::CallEnded {
                call: CallId(router_call_1),
            },
        );
        self.drop_agent_leg(now, offer_a);
        // B's leg changes calls; the router keeps B connected under call 2's id.
        if let Some(leg) = self.agent_legs.get_mut(&offer_b) {
            leg.call = call_1;
        }
        if let Some(c2) = self.calls.get_mut(&call_2) {
            c2.connected = None;
            c2.state = CallState::Connected;
            // The consultation's queue_log closes like a call its caller (A) ended.
            if let (Some(stay), Some((at, _))) = (&c2.queue, c2.connected_at) {
                let line = QueueLogLine::complete_caller(
                    wall,
                    &c2.text_id,
                    &stay.queue,
                    &agent_b,
                    at.saturating_duration_since(stay.entered),
                    now.saturating_duration_since(at),
                    stay.orig_position,
                );
                self.pending.insert(call_2, line);
            }
        }
        self.media(MediaCommand::Stop { leg: leg_b });
        let Some(text_id) = self.move_customer_to_consulted(
            now,
            call_1,
            ConsultedParty {
                leg_a,
                offer_b,
                leg_b,
                agent_b: &agent_b,
                router_call: router_call_2,
                target: events::target(Some(&agent_b), None),
            },
        ) else {
            return;
        };
        tracing::info!(call = %text_id, from = %leg_a, to = %leg_b, "attended transfer");
        // The consultation call is over: A's side of it gets BYE, its CDR is written.
        self.end_call(
            now,
            call_2,
            Ending {
                side: HangupSide::System,
                reason: "transferred",
            },
        );
    }

    /// REFER with Replaces before B answered: the consultation is dropped and the customer goes
    /// where it was headed (B's personal queue, or the queue A dialled).
    fn blonde_transfer(&mut self, now: Instant, call_1: u128, offer_a: OfferId, call_2: u128) {
        let Some((queue, dialled)) = self
            .calls
            .get(&call_2)
            .and_then(|c| c.queue.as_ref().map(|q| (q.queue.clone(), c.dnis.clone())))
        else {
            // The consultation went to an IVR flow: nothing to hand the customer to; A keeps
            // the customer (the NOTIFY already said 200, so A's phone will hang up: end as an
            // agent hang-up).
            self.agent_hung_up(now, offer_a);
            return;
        };
        self.end_call(
            now,
            call_2,
            Ending {
                side: HangupSide::System,
                reason: "transferred",
            },
        );
        self.transfer_to_queue(now, call_1, offer_a, &dialled, &queue);
    }
}

/// The agent who takes the customer over at the end of an attended transfer or consultation.
pub(crate) struct ConsultedParty<'a> {
    /// The first agent's leg (leaving).
    pub(crate) leg_a: crate::output::LegId,
    /// The consulted agent's offer and leg (answered).
    pub(crate) offer_b: OfferId,
    pub(crate) leg_b: crate::output::LegId,
    pub(crate) agent_b: &'a str,
    /// The router's id for the consulted agent's session.
    pub(crate) router_call: u128,
    /// Whom the transfer went to, as the events name it.
    pub(crate) target: Option<pb::TransferTarget>,
}

impl Engine {
    /// The customer of `call_id` now talks to the consulted agent: the call takes B's leg and
    /// router session, the customer's player stops and the two are bridged (recording goes
    /// on), and the ATTENDEDTRANSFER line, `CallTransferred` and `CallConnected` are written
    /// with the call's row. Shared by the phone's REFER with Replaces and the API's
    /// CompleteTransfer. Returns the call's text id, or `None` when the call is gone.
    pub(crate) fn move_customer_to_consulted(
        &mut self,
        now: Instant,
        call_id: u128,
        party: ConsultedParty<'_>,
    ) -> Option<String> {
        let wall = self.wall(now);
        let ConsultedParty {
            leg_a,
            offer_b,
            leg_b,
            agent_b,
            router_call,
            target,
        } = party;
        let call = self.calls.get_mut(&call_id)?;
        let line = match (&call.queue, call.connected_at, &call.agent) {
            (Some(stay), Some((at, _)), Some(agent_a)) => Some(QueueLogLine::attended_transfer(
                wall,
                &call.text_id,
                &stay.queue,
                agent_a,
                &format!("{}-{leg_b}", call.caller.leg),
                at.saturating_duration_since(stay.entered),
                now.saturating_duration_since(at),
                stay.orig_position,
            )),
            _ => None,
        };
        call.connected = Some(offer_b);
        call.connected_at = Some((now, wall));
        call.agent = Some(agent_b.to_owned());
        call.router_call = router_call;
        call.held = false;
        call.state = CallState::Connected;
        let customer = call.caller.leg;
        let event = events::call_transferred(
            call,
            wall,
            &leg_a.to_string(),
            &leg_b.to_string(),
            pb::TransferKind::Attended,
            target,
        );
        let connected = events::call_connected(call, agent_b, wall);
        let text_id = call.text_id.clone();
        self.media(MediaCommand::Stop { leg: customer });
        self.media(MediaCommand::Bridge {
            caller: customer,
            agent: leg_b,
        });
        self.continue_recording(call_id, leg_b);
        self.store(
            WriteOp::Record {
                queue_log: line.into_iter().collect(),
                events: vec![event, connected],
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
        Some(text_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_is_read_from_an_escaped_refer_to_uri_header() {
        let r = parse_replaces(
            "<sip:1002@10.0.0.1?Replaces=cons-1%40host%3Bto-tag%3Dsb1%3Bfrom-tag%3Da7>",
        )
        .unwrap();
        assert_eq!(r.call_id, "cons-1@host");
        assert_eq!(r.to_tag, "sb1");
        assert_eq!(r.from_tag, "a7");
        assert!(!r.early_only);
    }

    #[test]
    fn replaces_among_other_uri_headers_and_with_early_only_is_found() {
        let r = parse_replaces(
            "\"B\" <sip:1002@h?X-Foo=1&replaces=c%3Bfrom-tag%3Df%3Bto-tag%3Dt%3Bearly-only>;x=y",
        )
        .unwrap();
        assert_eq!(
            (r.call_id.as_str(), r.to_tag.as_str(), r.from_tag.as_str()),
            ("c", "t", "f")
        );
        assert!(r.early_only);
    }

    #[test]
    fn refer_to_without_replaces_or_with_a_broken_one_is_not_attended() {
        assert_eq!(parse_replaces("<sip:1002@h>"), None);
        assert_eq!(parse_replaces("<sip:1002@h?Replaces=c%3Bto-tag%3Dt>"), None);
        assert_eq!(
            parse_replaces("<sip:1002@h?Replaces=c%3Bto-tag%3Dt%3Bfrom-tag%3D%ZZ>"),
            None
        );
        assert_eq!(
            parse_replaces("<sip:1002@h?Replaces=%3Bto-tag%3Dt%3Bfrom-tag%3Df>"),
            None
        );
        assert_eq!(parse_replaces("<sip:1002@h?Replaces=%E2%82>"), None);
        assert_eq!(
            parse_replaces("<sip:1002@h?Replaces=c%3Bto-tag%3Dt%3Bfrom-tag%3Df%+1>"),
            None
        );
    }

    proptest::proptest! {
        #[test]
        fn parse_replaces_never_panics(text in ".{0,200}") {
            let _ = parse_replaces(&text);
        }
    }
}
