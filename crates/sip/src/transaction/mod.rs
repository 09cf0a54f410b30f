//! The SIP transaction layer (RFC 3261 §17, RFC 6026, RFC 4320), sans-IO.
//!
//! A transaction is one request and the responses it draws, with the retransmissions and
//! timers that make it work over UDP. [`TransactionLayer`] holds every live transaction of a
//! SIP endpoint, matches each arriving message to one (see `key.rs`), runs the four state
//! machines below, and keeps all their timers in one hashed timing wheel (`timers.rs`).
//!
//! # Driving it
//!
//! Like `quinn-proto`, the layer never reads a clock, never touches a socket and never spawns:
//!
//! - [`TransactionLayer::handle_input`] takes a parsed message from the transport, a transport
//!   error, or a command from the transaction user (TU: the engine's call logic);
//! - [`TransactionLayer::handle_timeout`] fires whichever timers are due;
//! - [`TransactionLayer::poll_output`] yields, in order, datagrams/stream writes to send
//!   ([`Output::Transmit`]) and facts for the TU ([`Output::Event`]);
//! - [`TransactionLayer::poll_timeout`] gives the earliest armed deadline.
//!
//! Drain `poll_output` after every `handle_*`, then sleep until `poll_timeout`. Time must not go
//! backwards between calls; a spurious `handle_timeout` is harmless.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use switchboard_sip::transaction::{Config, Input, Output, TransactionLayer};
//!
//! let mut layer = TransactionLayer::new(Config::default());
//! let now = Instant::now(); // the shell's clock; tests use a base Instant plus offsets
//! // shell: layer.handle_input(now, Input::Message { peer, message })?;
//! while let Some(output) = layer.poll_output() {
//!     match output {
//!         Output::Transmit { peer, bytes } => { /* socket.send_to(&bytes, peer.remote) */ }
//!         Output::Event(event) => { /* hand to the TU */ }
//!     }
//! }
//! if let Some(deadline) = layer.poll_timeout() {
//!     // sleep_until(deadline), then:
//!     layer.handle_timeout(deadline.max(now));
//! }
//! ```
//!
//! # What the TU does
//!
//! - A new request arrives as [`TransactionEvent::Request`] with its [`TransactionId`]. For an
//!   INVITE the layer has already sent 100 Trying. The TU answers with [`Input::Respond`]
//!   (180, 183, then a final) as often as the state allows; retransmitted requests never reach
//!   it, the layer answers them with the last response.
//! - A CANCEL matching a pending INVITE is answered 200 by the layer, which then reports
//!   [`TransactionEvent::Cancelled`]; the TU responds 487 to the INVITE (§9.2: the UAS core
//!   owns the INVITE's final response, its To tag and its dialog state). A CANCEL matching
//!   nothing gets 481 (§9.2), one after the final response gets 200 with no effect.
//! - A 2xx to an INVITE is retransmitted by the layer until the ACK (§13.3.1.4, see
//!   `server_invite.rs` for why here). The ACK is reported as [`TransactionEvent::Ack`]; 64·T1
//!   without one gives [`TransactionEvent::AckTimeout`], and the TU sends BYE.
//! - To send a request the TU builds it (a dialog does that, with a fresh branch) and passes
//!   [`Input::SendRequest`]; the id comes back from `handle_input`. Responses arrive as
//!   [`TransactionEvent::Response`]. For an INVITE, the layer ACKs non-2xx finals itself; the
//!   TU ACKs every 2xx (also retransmitted or forked ones, RFC 6026) with
//!   [`Input::SendStateless`]. [`Input::Cancel`] builds and sends the CANCEL (§9.1).
//!
//! # The machines
//!
//! Timers (RFC 3261 Table 4, RFC 6026): A, E, G start at T1 (500 ms) and double (E and G capped
//! at T2 = 4 s), and run only on unreliable transports; B, F, H, L, M are 64·T1; D is 32 s on UDP,
//! I and K are T4 (5 s), J is 64·T1; D, I, J, K are zero on reliable transports, where the
//! machine terminates at once instead of arming them.
//!
//! INVITE client (`client_invite.rs`, RFC 3261 Figure 5 with RFC 6026 Figure 5):
//! ```text
//!                    |INVITE from TU
//!      Timer A fires |INVITE sent          Timer B fires
//!      INVITE sent   V                     or transport error
//!      +-------- +-----------+ ----------> inform TU ---------------+
//!      |         |  Calling  |                                      |
//!      +-------> +-----------+ ---2xx: 2xx to TU------------+       |
//!                 |    |1xx                                  |       |
//!   300-699       |    |1xx to TU                            |       |
//!   ACK sent      |    V                                     |       |
//!   resp. to TU   | +------------+---2xx: 2xx to TU------+   |       |
//!                 | | Proceeding |--1xx: 1xx to TU       |   |       |
//!                 | +------------+                       V   V       |
//!                 |    |300-699                      +----------+    |
//!                 |    |ACK sent, resp. to TU        | Accepted |--2xx: to TU
//!                 V    V                             +----------+    |
//!  300-699     +-----------+                              |Timer M   |
//!  ACK sent +--| Completed |                              |          |
//!           +->+-----------+                              |          |
//!                    |Timer D (0 if reliable)             |          |
//!                    V                                    V          |
//!                +------------+ <-------------------------+          |
//!                | Terminated | <------------------------------------+
//!                +------------+
//! ```
//!
//! Non-INVITE client (`client_non_invite.rs`, RFC 3261 Figure 6):
//! ```text
//!                     |request from TU, request sent
//!   Timer E           V
//!   send request +-----------+  Timer F or transport error: inform TU
//!      +---------|  Trying   |-------------------------------+
//!      +-------->+-----------+                               |
//!   200-699 to TU  |    |1xx to TU                           |
//!                  |    V                                    |
//!   Timer E (T2)   |  +------------+  Timer F / error        |
//!   send request   |  | Proceeding |-----------------------+ |
//!      +-----------|--|            |<--1xx to TU           | |
//!                  |  +------------+                       | |
//!                  |    |200-699 to TU                     | |
//!                  V    V                                  | |
//!                +-----------+  (absorbs finals)           | |
//!                | Completed |                             | |
//!                +-----------+                             | |
//!                      |Timer K (0 if reliable)            | |
//!                      V                                   V V
//!                +------------+ <--------------------------+-+
//!                | Terminated |
//!                +------------+
//! ```
//!
//! INVITE server (`server_invite.rs`, RFC 3261 Figure 7 with RFC 6026 Figure 7):
//! ```text
//!                       |INVITE: to TU, 100 Trying sent
//!  INVITE               V
//!  resend last  +------------+  1xx from TU: send
//!       +-------| Proceeding |<-------+
//!       +------>+------------+--------+
//!      300-699 from TU |    |2xx from TU: send, retransmit until ACK (§13.3.1.4)
//!      send response   |    +------------------------------+
//!                      V                                   V
//!  INVITE / Timer G +-----------+ Timer H: to TU   +----------+ INVITE: absorb
//!  resend final  +--| Completed |--------------+   | Accepted | 2xx from TU: send
//!                +->+-----------+              |   +----------+ ACK: to TU, stop 2xx
//!                      |ACK                    |        |Timer L (AckTimeout if no ACK)
//!                      V                       |        |
//!                +-----------+ ACK: absorb     |        |
//!                | Confirmed |                 |        |
//!                +-----------+                 |        |
//!                      |Timer I (0 if reliable)|        |
//!                      V                       V        V
//!                +------------------------------------------+
//!                |                Terminated                |
//!                +------------------------------------------+
//! ```
//!
//! Non-INVITE server (`server_non_invite.rs`, RFC 3261 Figure 8, RFC 4320: never a 408):
//! ```text
//!                      |request: to TU
//!  request: absorb     V
//!       +------- +-----------+  Unanswered guard (64·T1, not RFC): inform TU
//!       +------> |  Trying   |-------------------------------+
//!                +-----------+                               |
//!  200-699 from TU |   |1xx from TU: send                    |
//!  send            |   V                                     |
//!  request:        | +------------+                          |
//!  resend last     | | Proceeding |--------------------------+
//!                  | +------------+                          |
//!                  |   |200-699 from TU: send                |
//!                  V   V                                     |
//!  request:      +-----------+                               |
//!  resend final  | Completed |                               |
//!                +-----------+                               |
//!                      |Timer J (0 if reliable)              |
//!                      V                                     V
//!                +------------------------------------------+
//!                |                Terminated                |
//!                +------------------------------------------+
//! ```
//!
//! TLS is a reliable transport like TCP here (the transport shell terminates it). Not
//! implemented: proxy behaviour (Timer C, §16), SCTP, PRACK's reliable provisionals
//! (RFC 3262) and merged-request detection (§8.2.2.2, a TU decision).

mod client_invite;
mod client_non_invite;
mod incoming;
mod key;
mod layer;
mod machine;
mod server_invite;
mod server_non_invite;
mod timers;

#[cfg(test)]
mod tests;

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use rsip::{Method, Request, Response, SipMessage};

use crate::Peer;

pub use key::KeyError;
pub(crate) use key::MAGIC_COOKIE;
pub use layer::TransactionLayer;
pub use machine::Timer;

/// Names one transaction for as long as the layer holds it. Ids are never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(u64);

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tx{}", self.0)
    }
}

/// Timer values and limits (RFC 3261 Table 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// RTT estimate; the base of Timers A, B, E, F, G, H, J, L, M and of the 2xx retransmission.
    pub t1: Duration,
    /// The longest retransmission interval for non-INVITE requests and INVITE responses.
    pub t2: Duration,
    /// How long a message may linger in the network: Timers I and K.
    pub t4: Duration,
    /// Timer D on unreliable transports ("at least 32 s", §17.1.1.2).
    pub timer_d: Duration,
    /// Send 100 Trying as soon as an INVITE creates a server transaction (§17.2.1).
    pub send_100_trying: bool,
    /// Transactions awaiting a final response above which a new out-of-dialog INVITE is refused
    /// with 503 (completed ones, which only absorb retransmissions, do not count; all live
    /// ones are bounded at 64 × (this + `in_dialog_reserve`) for memory).
    pub max_transactions: usize,
    /// Extra room for everything else (in-dialog requests, CANCEL, our own requests), so calls
    /// in progress keep service while new calls are refused (DESIGN: overload).
    pub in_dialog_reserve: usize,
    /// Retry-After of the 503 sent when over the limit.
    pub overload_retry_after: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            timer_d: Duration::from_secs(32),
            send_100_trying: true,
            max_transactions: 10_000,
            in_dialog_reserve: 2_000,
            overload_retry_after: Duration::from_secs(5),
        }
    }
}

/// What the layer is handed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Input {
    /// A parsed message from the transport and where it came from.
    Message {
        /// The far end (and, for TCP, the connection) it arrived on.
        peer: Peer,
        /// The message.
        message: SipMessage,
    },
    /// The transport could not deliver to (or lost the connection to) `peer`: every
    /// transaction bound to it ends with [`TransactionEvent::TransportError`] (§17.1.4, §17.2.4).
    TransportError {
        /// The peer that failed.
        peer: Peer,
    },
    /// TU: send `response` on server transaction `id` (a 1xx, or the final).
    Respond {
        /// The server transaction.
        id: TransactionId,
        /// The response; build it with [`crate::message::response_to`].
        response: Response,
    },
    /// TU: send `request` to `peer` on a new client transaction. The request must carry a top
    /// Via with a fresh `z9hG4bK` branch; `handle_input` returns the new id. Not for ACK.
    SendRequest {
        /// Where to send it.
        peer: Peer,
        /// The request.
        request: Request,
    },
    /// TU: cancel the client INVITE `id` (§9.1). `handle_input` returns the CANCEL's own
    /// client transaction id, or `None` when the CANCEL waits for the first provisional.
    Cancel {
        /// The INVITE client transaction.
        id: TransactionId,
    },
    /// TU: send a message outside any transaction: the ACK for a 2xx (§13.2.2.4) or a
    /// stateless response.
    SendStateless {
        /// Where to send it.
        peer: Peer,
        /// The message.
        message: SipMessage,
    },
}

/// What the layer asks of its shell.
#[derive(Debug, Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "outputs are moved once through a queue; boxing events would allocate per event"
)]
pub enum Output {
    /// Send these bytes to `peer` (a datagram on UDP, a write on the TCP connection).
    Transmit {
        /// Where to.
        peer: Peer,
        /// One whole serialised message.
        bytes: Bytes,
    },
    /// Something for the TU.
    Event(TransactionEvent),
}

/// A fact for the transaction user.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TransactionEvent {
    /// A new request (not ACK, not CANCEL) created server transaction `id`. Answer it with
    /// [`Input::Respond`]. For an INVITE, 100 Trying is already sent.
    Request {
        /// The new server transaction.
        id: TransactionId,
        /// Where it came from; responses go back there.
        peer: Peer,
        /// The request.
        request: Request,
    },
    /// A CANCEL matched the pending INVITE server transaction `id`. The layer answered the
    /// CANCEL 200; the TU should now answer the INVITE 487 (§9.2).
    Cancelled {
        /// The INVITE server transaction.
        id: TransactionId,
        /// Where the CANCEL came from.
        peer: Peer,
        /// The CANCEL (it may carry a Reason, RFC 3326).
        cancel: Request,
    },
    /// An ACK for a 2xx. `invite` names the INVITE server transaction whose 2xx it
    /// acknowledges, or is `None` when none is live (an ACK after Timer L, or for a 2xx the
    /// layer did not send): the dialog decides.
    Ack {
        /// The INVITE server transaction, if still live.
        invite: Option<TransactionId>,
        /// Where the ACK came from.
        peer: Peer,
        /// The ACK (it may carry the SDP answer).
        ack: Request,
    },
    /// A response on client transaction `id`: provisionals, the final, and for an INVITE every
    /// 2xx during Accepted (retransmissions and forks, RFC 6026), each of which the TU ACKs.
    Response {
        /// The client transaction.
        id: TransactionId,
        /// The response.
        response: Response,
    },
    /// A response that matches no client transaction (RFC 3261 §17.1.3; e.g. a 2xx after
    /// Timer M). A UAC may still ACK it; otherwise drop it.
    StrayResponse {
        /// Where it came from.
        peer: Peer,
        /// The response.
        response: Response,
    },
    /// Transaction `id` gave up: Timer B or F (no final response), H (no ACK for our non-2xx)
    /// or [`Timer::Unanswered`] (the TU never answered a non-INVITE request).
    Timeout {
        /// The transaction.
        id: TransactionId,
        /// Which timer fired.
        timer: Timer,
    },
    /// Our 2xx to INVITE `id` was not ACKed within 64·T1 (§13.3.1.4): the TU should end the
    /// dialog with BYE.
    AckTimeout {
        /// The INVITE server transaction.
        id: TransactionId,
    },
    /// The transport failed for transaction `id` (§17.1.4, §17.2.4).
    TransportError {
        /// The transaction.
        id: TransactionId,
    },
    /// Transaction `id` ended; the layer has forgotten it.
    Terminated {
        /// The transaction.
        id: TransactionId,
    },
    /// A request from `peer` was refused with 503 because the layer is at its limit.
    Overloaded {
        /// Who sent it.
        peer: Peer,
        /// Its method.
        method: Method,
    },
}

/// Why a message or a TU command was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransactionError {
    /// The message cannot be matched to a transaction (no Via, branch or CSeq); it was dropped.
    #[error("cannot match message to a transaction: {0}")]
    Unmatchable(#[from] KeyError),
    /// No live transaction has this id (it ended, or is of the other kind).
    #[error("no such transaction")]
    UnknownTransaction,
    /// The transaction already sent or received its final response.
    #[error("transaction already has its final response")]
    AlreadyFinal,
    /// A client transaction with this branch and method is already live.
    #[error("branch already in use")]
    DuplicateBranch,
    /// ACKs are sent with [`Input::SendStateless`], CANCELs with [`Input::Cancel`].
    #[error("{0} cannot start a client transaction")]
    NotTransactional(Method),
    /// The branch lacks the RFC 3261 magic cookie; our requests must carry it (§8.1.1.7).
    #[error("our branch must start with z9hG4bK")]
    BranchWithoutCookie,
    /// The layer is at its transaction limit.
    #[error("too many live transactions")]
    Overloaded,
}

/// Counters for the shell to export (`switchboard_sip_*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransactionStats {
    /// Transactions created, client and server.
    pub created: u64,
    /// Retransmitted requests absorbed or answered without reaching the TU.
    pub retransmissions_absorbed: u64,
    /// Messages retransmitted on timers (A, E, G, 2xx).
    pub retransmissions_sent: u64,
    /// Responses that matched no client transaction.
    pub stray_responses: u64,
    /// Requests refused with 503 at the limit.
    pub overload_rejections: u64,
}
