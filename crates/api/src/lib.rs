//! placeholder
#![forbid(unsafe_code)]

/// Generated code for `switchboard.v1`.
#[allow(missing_docs, unreachable_pub, clippy::all)]
pub mod pb {
    tonic::include_proto!("switchboard.v1");
    /// The encoded FileDescriptorSet of `proto/switchboard/v1`, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("switchboard_v1_descriptor");
}
