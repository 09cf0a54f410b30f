//! Switchboard's media plane: a sans-IO core for everything about a call's audio that is not a
//! socket, and the [`engine`] that runs it on sockets.
//!
//! Calls are anchored in Switchboard: each leg (the caller's trunk dialog, the agent's phone
//! dialog) negotiates its media with Switchboard, which plays prompts and music on hold,
//! detects DTMF, bridges caller and agent, and records. Every module but [`engine`] holds that
//! work as synchronous, deterministic code over byte buffers: it opens no socket, reads no
//! clock (every time-dependent call takes `now: Instant`), draws no unseeded randomness and
//! spawns nothing. The [`engine`] is the I/O shell (DESIGN.md "media"): dedicated mio/epoll
//! threads owning one UDP socket pair per leg, a recorder thread, and a command/event API for
//! the call engine.
//!
//! # The model
//!
//! | module | what | inputs → outputs |
//! | --- | --- | --- |
//! | [`sdp`] | SDP parse/print, RFC 3264 offer/answer | offer body → answer + [`sdp::NegotiatedMedia`], or 488 |
//! | [`stream`] | one leg's RTP session: [`stream::RtpLeg`] | datagrams, re-negotiation, close, timer → payload views, RTCP datagrams, [`stream::MediaEvent`]s |
//! | [`rtcp`] | SR/RR/SDES/BYE, RFC 3550 A.1/A.3/A.7/A.8 statistics | bytes ↔ packets, RTP arrivals → report blocks |
//! | [`g711`] | µ-law/A-law, transcoding tables, PCM16 mixing | samples ↔ codes |
//! | [`dtmf`] | RFC 4733 receive/send, SIP INFO dtmf-relay | event packets → one [`dtmf::DigitReceived`] per key press |
//! | [`player`] | prompt sequences and looping MOH on one shared 20 ms tick | tick → 160-byte frames |
//! | [`announce`] | prompt library, spoken numbers, position / wait announcements | number → clip names → play items |
//! | [`wav`] | prompt reading (PCM16, µ-law, A-law), streaming stereo recording | bytes → prompt, frames → file |
//! | [`bridge`] | one leg's received packet → the other leg's packet | pass-through, µ↔A table, RFC 4733 PT mapping |
//! | [`mixer`] | a conference: each member hears the sum of the others (N−1 mix) on one 20 ms tick | received frames → one mixed frame per member per tick |
//! | [`ports`] | the RTP port range: even ports, LRU reuse after a quarantine | allocate / release |
//! | [`recorder`] | the two directions of a call → aligned stereo PCM16 | payloads + arrival time → frames for [`wav::WavWriter`] |
//! | [`engine`] | the I/O shell: worker threads, sockets, recorder thread, prompt loading | commands → RTP/RTCP on the wire, events |
//!
//! # Driving a leg
//!
//! The per-packet path is two direct calls with no queueing or allocation:
//! [`stream::RtpLeg::handle_rtp`] classifies a received datagram and lends its payload;
//! [`stream::RtpLeg::send`] writes an outbound packet, renumbered onto the leg's one continuous
//! stream, into the caller's buffer. The rest follows the four-method shape of every
//! Switchboard core: `handle_input`, `handle_timeout`, `poll_output`, `poll_timeout`.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use switchboard_media::rtcp::NtpTime;
//! use switchboard_media::sdp::{LocalMedia, LocalSdp, SdpOffer, SessionDescription};
//! use switchboard_media::stream::{
//!     LatchConfig, LegConfig, MediaOutput, OutboundPacket, Received, RtpLeg, SourceId,
//! };
//!
//! // Signalling hands us the trunk's offer; we answer from our port.
//! let offer = b"v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n\
//!               m=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";
//! let offer = SdpOffer(SessionDescription::parse(offer).unwrap());
//! let local = LocalMedia::g711("203.0.113.5".parse().unwrap(), 30000);
//! let (answer, media) = LocalSdp::new(42).answer(&offer, &local).unwrap();
//! let _body = answer.0.to_string(); // goes into the 200 OK
//!
//! let t0 = Instant::now(); // the shell's clock; the core never reads one
//! let config = LegConfig {
//!     ssrc: 0x1234_5678, initial_sequence: 7, initial_timestamp: 99,
//!     cname: "leg-1@switchboard".into(), latch: LatchConfig::default(),
//!     inactivity_timeout: Duration::from_secs(30), hold_inactivity_timeout: None,
//!     rng_seed: 1, ntp_anchor: (t0, NtpTime::from_unix(Duration::from_secs(1_700_000_000))),
//! };
//! let mut leg = RtpLeg::new(t0, config, media);
//!
//! // A datagram arrives on the leg's RTP socket.
//! let datagram = [0x80, 8, 0, 1, 0, 0, 0, 160, 0, 0, 0, 9, 0xD5, 0xD5];
//! if let Received::Audio { payload, .. } = leg.handle_rtp(t0, "192.0.2.10:4000".parse().unwrap(), &datagram) {
//!     // Bridge it: hand `payload` to the other leg's `send`, transcoding if laws differ.
//!     let mut out = [0u8; 1500];
//!     let packet = OutboundPacket { source: SourceId(2), payload_type: 8, marker: false,
//!                                   sequence: 1, timestamp: 160, samples: 2, payload };
//!     let _to_send = leg.send(t0, &packet, &mut out).unwrap(); // Some((addr, len))
//! }
//!
//! // The timer loop: sleep until poll_timeout, then handle_timeout and drain poll_output.
//! let mut rtcp = Vec::new();
//! if let Some(deadline) = leg.poll_timeout() {
//!     leg.handle_timeout(deadline);
//! }
//! while let Some(output) = leg.poll_output(&mut rtcp) {
//!     match output {
//!         MediaOutput::TransmitRtcp { to: _ } => { /* send `rtcp` from the RTCP socket */ }
//!         MediaOutput::Event(_event) => { /* Latched, Dtmf, MediaTimeout… to the engine */ }
//!     }
//! }
//! ```
//!
//! Prompt and MOH playback for all legs of a media thread share one [`player::Playback`],
//! whose single 20 ms timer yields a frame per playing leg; each frame goes through that leg's
//! `send`, so prompt → bridge → MOH stays one SSRC with continuous sequence and timestamps.
//!
//! # What the I/O shell ([`engine`]) adds
//!
//! - Sockets: for each leg, an RTP/RTCP UDP pair on a port from [`ports::PortPool`]; the
//!   relay loop on dedicated mio/epoll threads, one receive buffer per thread, calling
//!   `handle_rtp` → [`bridge::relay`] → `send` per datagram.
//! - Time and randomness: `Instant::now()` at each wakeup; SSRC, initial sequence and
//!   timestamp, SDP session id and the RTCP seed drawn from a seeded RNG; the NTP anchor read
//!   once from the wall clock.
//! - Timers: one per thread: the minimum of [`player::Playback::poll_timeout`], the RFC 4733
//!   packets being sent, and a 50 ms sweep that runs the legs' `poll_timeout`s (their deadlines
//!   are RTCP intervals and inactivity timeouts, seconds apart, so a sweep costs less than
//!   keeping a heap up to date on every packet).
//! - Recording: a worker fed over a bounded channel with (channel, codec, payload, arrival),
//!   running [`recorder::StereoMixer`] into [`wav::WavWriter`] on a file; prompts loaded with
//!   [`wav::PromptAudio::from_wav`] into an [`announce::PromptLibrary`] at start and reload.
//!
//! # Standards covered
//!
//! - RFC 8866 (obsoletes RFC 4566) §5 SDP syntax; RFC 3264 §5–§8 offer/answer: one answer
//!   m-line per offer m-line, port-0 rejection, direction mirroring, `sendonly`/`inactive`
//!   and RFC 2543 `c=0.0.0.0` hold; RFC 3605 `a=rtcp`; RFC 3551 static payload types 0 and 8;
//!   RFC 5761 RTCP multiplexing accepted when offered (§5.1.1; we do not offer it ourselves).
//! - RFC 3550 §5.1 header fields (through `rtp-rs`), §6.4–§6.6 SR, RR, SDES CNAME, BYE,
//!   §6.1 compound rules, Appendix A.1 sequence validation, A.3 loss, A.7 interval
//!   (randomised 5 s, no reconsideration), A.8 jitter; §8.2 SSRC continuity across sources.
//! - RFC 4961 symmetric RTP (latching), with re-latch restricted to a new SSRC after silence.
//! - RFC 4733 §2.3 payload, §2.5 sender and receiver rules (redundant end packets, long
//!   events); events 0–15 only (no tones, no multi-event packets). SIP INFO
//!   `application/dtmf-relay` as fallback.
//! - ITU-T G.711 µ-law and A-law.
//!
//! Not here: SRTP (RTP/SAVP offers are rejected), offering RTCP-mux, RTCP feedback, comfort
//! noise generation (CN packets are dropped), codecs other than G.711, jitter buffering (a
//! relay needs none; the recorder aligns by arrival).
#![forbid(unsafe_code)]

pub mod announce;
pub mod bridge;
pub mod dtmf;
pub mod engine;
pub mod g711;
pub mod mixer;
pub mod player;
pub mod ports;
pub mod recorder;
pub mod rtcp;
pub mod sdp;
pub mod stream;
pub mod wav;
