//! Generates the switchboard.v1 messages, servers and clients from `proto/` at the workspace
//! root. `protox` parses the .proto files in pure Rust (no system `protoc`), the resulting
//! FileDescriptorSet feeds tonic-prost-build, and is also written out encoded for the
//! reflection service.

use std::path::PathBuf;

use prost::Message;

const FILES: &[&str] = &[
    "switchboard/v1/resources.proto",
    "switchboard/v1/events.proto",
    "switchboard/v1/calls.proto",
    "switchboard/v1/agents.proto",
    "switchboard/v1/queues.proto",
    "switchboard/v1/admin.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let root = manifest.join("../../proto");
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    println!("cargo:rerun-if-changed={}", root.display());
    for file in FILES {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
    }
    let fds = protox::compile(FILES, [&root])?;
    std::fs::write(
        out.join("switchboard_v1_descriptor.bin"),
        fds.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
