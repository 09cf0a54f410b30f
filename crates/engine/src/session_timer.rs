//! Session timers (RFC 4028) on the caller's leg: a dead trunk call (its BYE lost, the far end
//! gone) is ended when the session is not refreshed in time, so it never holds an agent.
//!
//! We accept the caller's `Session-Expires` (raised to our Min-SE of 90 s, §5), answer with
//! `refresher=uac` (the caller refreshes with re-INVITE or UPDATE; we never have to) and
//! `Require: timer` when it supports the extension. Every refresh restarts the interval; at
//! expiry minus min(32 s, interval/3) without one (§10) the call is ended with BYE.

use std::time::{Duration, Instant};

use rsip::headers::UntypedHeader;
use rsip::{Header, Request, Response};
use switchboard_store::HangupSide;

use crate::call::Ending;
use crate::engine::Engine;

/// Our Min-SE (RFC 4028 §5: at least 90 s).
const MIN_SE: u64 = 90;

/// The caller's session timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SessionTimer {
    pub(crate) interval: Duration,
    pub(crate) deadline: Instant,
}

impl SessionTimer {
    fn deadline_after(now: Instant, interval: Duration) -> Instant {
        let margin = Duration::from_secs(32).min(interval / 3);
        now + interval.saturating_sub(margin)
    }
}

/// The interval the request asks for, if it uses session timers.
fn requested(request: &Request) -> Option<u64> {
    request.headers.iter().find_map(|h| match h {
        Header::SessionExpires(se) => se
            .value()
            .split(';')
            .next()
            .and_then(|v| v.trim().parse::<u64>().ok()),
        _ => None,
    })
}

fn supports_timer(request: &Request) -> bool {
    request.headers.iter().any(|h| match h {
        Header::Supported(s) => s
            .value()
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("timer")),
        Header::Require(r) => r
            .value()
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("timer")),
        _ => false,
    })
}

/// Adds our session-timer headers to the 2xx for `request`; returns the timer to arm.
pub(crate) fn negotiate(
    now: Instant,
    request: &Request,
    response: &mut Response,
) -> Option<SessionTimer> {
    let asked = requested(request)?;
    let interval = asked.max(MIN_SE);
    response
        .headers
        .push(Header::SessionExpires(rsip::headers::SessionExpires::new(
            format!("{interval};refresher=uac"),
        )));
    if supports_timer(request) {
        response.headers.push(Header::Require("timer".into()));
    }
    let interval = Duration::from_secs(interval);
    Some(SessionTimer {
        interval,
        deadline: SessionTimer::deadline_after(now, interval),
    })
}

impl Engine {
    /// A refresh (re-INVITE or UPDATE) on the caller's dialog restarts its timer, with the
    /// interval it asks for if any.
    pub(crate) fn refresh_session(&mut self, now: Instant, call_id: u128, request: &Request) {
        let Some(call) = self.calls.get_mut(&call_id) else {
            return;
        };
        if let Some(timer) = call.session_timer.as_mut() {
            if let Some(asked) = requested(request) {
                timer.interval = Duration::from_secs(asked.max(MIN_SE));
            }
            timer.deadline = SessionTimer::deadline_after(now, timer.interval);
        }
    }

    pub(crate) fn session_deadline(&self) -> Option<Instant> {
        self.calls
            .values()
            .filter_map(|c| c.session_timer.map(|t| t.deadline))
            .min()
    }

    pub(crate) fn session_timeouts(&mut self, now: Instant) {
        let expired: Vec<u128> = self
            .calls
            .values()
            .filter(|c| c.session_timer.is_some_and(|t| t.deadline <= now))
            .map(|c| c.id)
            .collect();
        for call in expired {
            tracing::info!(call = %call, "session not refreshed (RFC 4028): ending the call");
            self.end_call(
                now,
                call,
                Ending {
                    side: HangupSide::System,
                    reason: "session-expired",
                },
            );
        }
    }
}
