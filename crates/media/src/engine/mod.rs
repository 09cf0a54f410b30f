//! The media engine: the I/O shell around the sans-IO core.
//!
//! [`MediaEngine::start`] binds nothing yet; it spawns `workers` dedicated OS threads, each a
//! `mio` (epoll) event loop owning the UDP sockets of its legs, plus one recording thread. A
//! plain epoll loop per thread beats a tokio task per socket for this load (research
//! sip-rtp.md, RTP relay appendix: ~3.9 µs per relayed packet, no waker or task hand-off per
//! datagram).
//!
//! # How the call engine uses it
//!
//! 1. On an INVITE with SDP: [`MediaHandle::create_leg`] (binds an RTP/RTCP pair from the
//!    port range and returns its address for our SDP), negotiate with [`crate::sdp::LocalSdp`],
//!    then [`MediaHandle::set_media`] with the [`crate::sdp::NegotiatedMedia`]. Again on every
//!    re-INVITE/UPDATE (hold, resume, codec change).
//! 2. IVR and queue: [`MediaHandle::play_prompts`] / [`MediaHandle::play_moh`] /
//!    [`MediaHandle::stop_playback`]; digits arrive as [`EngineEvent::Dtmf`] (SIP INFO digits
//!    are parsed by signalling with [`crate::dtmf::InfoDtmf`] and never reach the engine).
//! 3. Agent answers: create the agent leg *near* the caller's (same worker thread, so the relay
//!    is two direct calls), [`MediaHandle::bridge`], and [`MediaHandle::start_recording`].
//! 4. Hang-up: [`MediaHandle::close_leg`] on both legs; [`EngineEvent::LegClosed`] carries the
//!    statistics for the CDR, [`EngineEvent::RecordingFinished`] the recording's path.
//!
//! Every command is a non-blocking `try_send` on a bounded channel plus a `mio::Waker`, so the
//! handle is usable from async and sync code alike; a full channel is reported as
//! [`EngineError::Busy`] rather than blocking the caller. Events come back over a bounded tokio
//! channel ([`EngineEvents`]: `recv().await`, `try_recv`, `blocking_recv`).
//!
//! # Threads and the packet path
//!
//! A worker wakes on socket readiness, on its command waker, or on its timer, which is the
//! minimum of the shared 20 ms playback tick ([`crate::player::Playback`]), the pending RFC 4733
//! packets being sent, and a 50 ms housekeeping sweep that runs the legs' RTCP and inactivity
//! timers (seconds-scale deadlines; a sweep keeps the per-packet path free of timer updates).
//! Per datagram: `recv_from` into the worker's one receive buffer, [`crate::stream::RtpLeg::handle_rtp`],
//! [`crate::bridge::relay`], the other leg's [`crate::stream::RtpLeg::send`] into the worker's
//! one send buffer, `send_to`. No allocation, no lock, no logging above `trace`.
//!
//! The recorder thread is fed 20 ms frames over a bounded channel with `try_send`: when it is
//! full the frame is dropped and counted ([`EngineEvent::RecordingFinished::dropped_frames`]);
//! the relay never waits for the disk.

mod api;
mod prompts;
mod recording;
mod worker;

pub use api::{
    EngineConfig, EngineError, EngineEvent, EngineEvents, LegInfo, MediaEngine, MediaHandle,
};
pub use prompts::{PromptLoadError, load_prompts};

/// A leg of a call in the media engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegId(pub u64);

/// A recording of a bridged pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordingId(pub u64);
