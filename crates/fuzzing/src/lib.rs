//! The bodies of Switchboard's fuzz targets: one function per surface that takes bytes from
//! outside (the network or a file), feeds them to the real parser or state machine, and checks
//! the surface's invariants (never a panic, round trips that hold, progress that is bounded).
//!
//! Two drivers call the same functions:
//!
//! - `fuzz/` at the repository root, a cargo-fuzz (libFuzzer) crate outside the workspace: one
//!   `fuzz_targets/<name>.rs` per entry of [`TARGETS`], for long coverage-guided runs on nightly.
//! - `tests/smoke.rs` in this crate, on stable under `cargo test`: every seed of [`seeds`] plus a
//!   fixed number of inputs from the deterministic [`Mutator`], so a regression that a fuzzer
//!   once found fails the ordinary test suite.
//!
//! A failed invariant panics (that is what a fuzzer reports); a crash found by the fuzzer
//! becomes a named regression test beside the code it broke, with the bytes inline.

#![forbid(unsafe_code)]

mod digest;
mod files;
mod media;
mod mutate;
mod seeds;
mod sip;

pub use digest::digest_authorization;
pub use files::{config_file, ivr_flow};
pub use media::{rfc4733_events, rtp_rtcp, sdp_offer_answer};
pub use mutate::Mutator;
pub use seeds::seeds;
pub use sip::{sip_datagram, sip_stream};

/// A fuzz target: its name (the `fuzz/fuzz_targets/<name>.rs` file and corpus directory) and
/// the function that takes one input.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The target's name.
    pub name: &'static str,
    /// Runs one input; panics when an invariant fails.
    pub run: fn(&[u8]),
    /// The surface reads UTF-8 text (a file, a header value): mutated inputs are kept valid
    /// UTF-8 so they get past the first check.
    pub text: bool,
}

/// Every fuzz target, in the order the smoke test runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "sip_datagram",
        run: sip_datagram,
        text: false,
    },
    Target {
        name: "sip_stream",
        run: sip_stream,
        text: false,
    },
    Target {
        name: "sdp",
        run: sdp_offer_answer,
        text: false,
    },
    Target {
        name: "rtp_rtcp",
        run: rtp_rtcp,
        text: false,
    },
    Target {
        name: "rfc4733",
        run: rfc4733_events,
        text: false,
    },
    Target {
        name: "digest",
        run: digest_authorization,
        text: true,
    },
    Target {
        name: "config",
        run: config_file,
        text: true,
    },
    Target {
        name: "ivr",
        run: ivr_flow,
        text: true,
    },
];

/// The target called `name`, if there is one.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().copied().find(|t| t.name == name)
}
