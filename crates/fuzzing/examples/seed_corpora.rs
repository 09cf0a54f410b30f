//! Writes each target's seeds to `fuzz/corpus/<target>/` (or the directory given as the first
//! argument), for `cargo +nightly fuzz run <target>` to start from.

use std::path::{Path, PathBuf};

fn main() -> std::io::Result<()> {
    let root = std::env::args().nth(1).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus"),
        PathBuf::from,
    );
    for target in switchboard_fuzzing::TARGETS {
        let dir = root.join(target.name);
        std::fs::create_dir_all(&dir)?;
        let seeds = switchboard_fuzzing::seeds(target.name);
        for (i, seed) in seeds.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i:03}")), seed)?;
        }
        println!(
            "{}: {} seeds in {}",
            target.name,
            seeds.len(),
            dir.display()
        );
    }
    Ok(())
}
