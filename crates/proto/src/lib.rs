//! The `switchboard.v1` wire types (`proto/switchboard/v1`) and how events are kept in the
//! store journal ([`codec`]). Its own crate so that the call engine, which journals
//! `pb::Event`s, and the gRPC API, which serves them, share one format without the engine
//! depending on the API (DESIGN.md: `switchboard ─► api ─► engine`).
#![forbid(unsafe_code)]

pub mod codec;

/// Generated code for `switchboard.v1`: messages, `*_server` and `*_client` modules.
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("switchboard.v1");
    /// The encoded FileDescriptorSet of `proto/switchboard/v1`, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("switchboard_v1_descriptor");
}
