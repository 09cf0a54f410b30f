//! Media plane core (placeholder)
#![forbid(unsafe_code)]

pub mod announce;
pub mod dtmf;
pub mod g711;
pub mod player;
pub mod rtcp;
pub mod sdp;
pub mod stream;
pub mod wav;
