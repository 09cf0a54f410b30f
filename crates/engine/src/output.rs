//! What the engine core asks of its shell, and what the media plane tells it.

use std::net::SocketAddr;

use bytes::Bytes;
use switchboard_media::sdp::NegotiatedMedia;
use switchboard_sip::Peer;
use switchboard_store::WriteOp;

/// One media leg (one SIP dialog's audio), unique for the life of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegId(pub u64);

impl std::fmt::Display for LegId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "leg{}", self.0)
    }
}

/// Names one store write whose commit the engine waits for (see [`crate::Engine::handle_store`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(pub u64);

/// A playback the engine started, quoted back in [`MediaEvent::PlaybackFinished`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlaybackRef(pub u32);

/// A command for the media plane (its own threads). Commands are fire-and-forget: the media
/// plane reports back only through [`MediaEvent`]s.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MediaCommand {
    /// Stream on the leg (created by [`LegAllocator::create_leg`]) with what SDP negotiated;
    /// again after every re-INVITE.
    SetMedia {
        /// The leg.
        leg: LegId,
        /// Codec, payload types and the peer's address.
        media: NegotiatedMedia,
    },
    /// Play prompts (by name, from the prompt library) to the leg, replacing what it hears.
    Play {
        /// The leg.
        leg: LegId,
        /// Quoted back when the playback ends.
        playback: PlaybackRef,
        /// Prompt names, in order.
        prompts: Vec<String>,
    },
    /// Loop music on hold (the class names the queue's music) until told otherwise.
    MusicOnHold {
        /// The leg.
        leg: LegId,
        /// The music class.
        class: String,
    },
    /// Stop whatever the leg hears (prompts or music).
    Stop {
        /// The leg.
        leg: LegId,
    },
    /// Relay audio and RFC 4733 events between two legs.
    Bridge {
        /// The caller's leg.
        caller: LegId,
        /// The agent's leg.
        agent: LegId,
    },
    /// Mix the legs in one conference, each hearing the others (the first is the customer:
    /// a recording goes on with what it hears on the right channel).
    Conference {
        /// The members, all on one media worker.
        legs: Vec<LegId>,
    },
    /// Withhold the bridge's audio from the leg (`deaf`), or give it back: the other party
    /// is on hold by the API; the bridge and the recording go on.
    Deafen {
        /// The leg that stops (or starts again) hearing its bridge.
        leg: LegId,
        /// Withheld.
        deaf: bool,
    },
    /// Record both directions (caller left, agent right) into `<recordings dir>/<name>.wav`.
    Record {
        /// The caller's leg.
        caller: LegId,
        /// The agent's leg.
        agent: LegId,
        /// The file name without `.wav` (the call id).
        name: String,
    },
    /// Send digits to the leg as RFC 4733 telephone-events.
    SendDtmf {
        /// The leg.
        leg: LegId,
        /// `0`-`9`, `*`, `#`, `A`-`D`.
        digits: String,
        /// How long each digit is held.
        duration: std::time::Duration,
    },
    /// Close the leg and give its port back (after the call's CDR is committed).
    CloseLeg {
        /// The leg.
        leg: LegId,
    },
}

/// Creates media legs. Synchronous on purpose: our SDP needs the leg's RTP address before the
/// 200 OK (or the agent INVITE) is built, and binding a UDP socket pair does not block. The
/// daemon hands in the media engine's handle; tests a counter.
pub trait LegAllocator: Send {
    /// A new leg with its RTP address; `near` puts it on the same media worker as that leg (so
    /// the two can be bridged and recorded). `None` when no port is free (answer 503).
    fn create_leg(&mut self, near: Option<LegId>) -> Option<(LegId, SocketAddr)>;
}

/// What the media plane reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaEvent {
    /// A DTMF key press (RFC 4733 or SIP INFO), once per press.
    Dtmf {
        /// The leg.
        leg: LegId,
        /// `0`-`9`, `*`, `#`, `A`-`D`.
        digit: char,
    },
    /// A playback ended (played out, or stopped).
    PlaybackFinished {
        /// The leg.
        leg: LegId,
        /// The playback.
        playback: PlaybackRef,
    },
    /// No RTP for the inactivity timeout: the call is dead (RFC 3550 has no BYE guarantee).
    Inactive {
        /// The leg.
        leg: LegId,
    },
}

/// What the core asks of its shell, drained with [`crate::Engine::poll_output`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Output {
    /// Send bytes to a SIP peer (a datagram on UDP, a write on the TCP connection). A failure
    /// comes back as [`crate::Engine::handle_transport_error`].
    Transmit {
        /// Where to.
        peer: Peer,
        /// One serialised message.
        bytes: Bytes,
    },
    /// A command for the media plane.
    Media(MediaCommand),
    /// Commit this write, then call [`crate::Engine::handle_store`] with `ticket`. Events in it
    /// are published (with their seq) only after the commit.
    Store {
        /// Quoted back with the result.
        ticket: Ticket,
        /// The write.
        op: WriteOp,
    },
}
