//! What the four transaction machines share: the timers they arm and the actions they ask of
//! the layer. A machine never touches the wheel, the maps or the output queue itself; it pushes
//! [`Action`]s and the layer carries them out, so each machine is a plain state transition
//! table that reads like the RFC figure it implements.

use std::time::Duration;

use bytes::Bytes;
use rsip::{Request, Response};

use super::Config;

/// The timers of RFC 3261 §17 (Table 4) and RFC 6026, plus the two Switchboard adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Timer {
    /// Client INVITE: retransmit the INVITE (unreliable transport only); T1, doubling.
    A,
    /// Client INVITE: give up waiting for any response; 64·T1 (also armed when a CANCEL is
    /// sent, RFC 3261 §9.1: no final response within 64·T1 of the CANCEL ends the INVITE).
    B,
    /// Client INVITE: absorb retransmitted non-2xx finals (and re-ACK them); 32 s, 0 on reliable.
    D,
    /// Client non-INVITE: retransmit the request (unreliable only); T1 doubling to T2.
    E,
    /// Client non-INVITE: give up; 64·T1.
    F,
    /// Server INVITE: retransmit the non-2xx final (unreliable only); T1 doubling to T2.
    G,
    /// Server INVITE: give up waiting for the ACK of a non-2xx final; 64·T1.
    H,
    /// Server INVITE: absorb ACK retransmissions; T4, 0 on reliable.
    I,
    /// Server non-INVITE: absorb request retransmissions; 64·T1, 0 on reliable.
    J,
    /// Client non-INVITE: absorb response retransmissions; T4, 0 on reliable.
    K,
    /// Server INVITE, Accepted state (RFC 6026 §8.7): absorb INVITE retransmissions, pass ACKs
    /// for the 2xx to the TU; 64·T1.
    L,
    /// Client INVITE, Accepted state (RFC 6026 §8.4): pass retransmitted and forked 2xx to the
    /// TU; 64·T1.
    M,
    /// Server INVITE, Accepted state: retransmit the 2xx until the ACK (RFC 3261 §13.3.1.4);
    /// T1 doubling to T2, on every transport.
    Retransmit2xx,
    /// Server non-INVITE: the TU has not answered within 64·T1. The client gave up (Timer F)
    /// and RFC 4320 forbids a late 408, so the transaction is dropped. Switchboard's guard
    /// against a TU that forgets a request; not an RFC timer.
    Unanswered,
}

/// What a machine asks of the layer.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "actions live in one reused scratch Vec; boxing notices would allocate per message"
)]
pub(crate) enum Action {
    /// Send these bytes to the transaction's peer.
    Send(Bytes),
    /// Tell the TU.
    Notify(Notice),
    /// Arm (or re-arm) a timer to fire after the duration.
    Arm(Timer, Duration),
    /// Disarm a timer if armed.
    Disarm(Timer),
    /// The machine reached Terminated: drop it and its timers and keys.
    Terminate,
}

/// The TU-facing facts a machine reports; the layer adds the transaction id and peer.
#[derive(Debug)]
pub(crate) enum Notice {
    Response(Response),
    Ack(Request),
    Timeout(Timer),
    AckTimeout,
    TransportError,
}

/// The environment of one machine step: the configuration, the transport's reliability and
/// where actions go.
pub(crate) struct Ctx<'a> {
    pub(crate) config: &'a Config,
    pub(crate) reliable: bool,
    pub(crate) actions: &'a mut Vec<Action>,
}

impl Ctx<'_> {
    pub(crate) fn send(&mut self, bytes: &Bytes) {
        self.actions.push(Action::Send(bytes.clone()));
    }
    pub(crate) fn notify(&mut self, notice: Notice) {
        self.actions.push(Action::Notify(notice));
    }
    pub(crate) fn arm(&mut self, timer: Timer, after: Duration) {
        self.actions.push(Action::Arm(timer, after));
    }
    pub(crate) fn disarm(&mut self, timer: Timer) {
        self.actions.push(Action::Disarm(timer));
    }
    pub(crate) fn terminate(&mut self) {
        self.actions.push(Action::Terminate);
    }
    /// 64·T1, the transaction timeout of Timers B, F, H, J (unreliable), L, M.
    pub(crate) fn timeout_64_t1(&self) -> Duration {
        self.config.t1 * 64
    }
    /// Arms a wait-state timer, or on a reliable transport (where it is zero, RFC 3261 Table 4)
    /// terminates at once.
    pub(crate) fn linger(&mut self, timer: Timer, unreliable: Duration) {
        if self.reliable {
            self.terminate();
        } else {
            self.arm(timer, unreliable);
        }
    }
}

/// Serialises a message for the wire.
pub(crate) fn to_bytes(message: impl std::fmt::Display) -> Bytes {
    Bytes::from(message.to_string())
}

/// The next retransmission interval: doubled, capped at T2 (§17.1.2.2, §17.2.1).
pub(crate) fn backoff(interval: Duration, config: &Config) -> Duration {
    (interval * 2).min(config.t2)
}
