//! The Switchboard daemon.
#![forbid(unsafe_code)]

fn main() {}
