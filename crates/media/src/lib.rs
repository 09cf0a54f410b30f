//! Media plane core (placeholder)
#![forbid(unsafe_code)]

pub mod g711;
