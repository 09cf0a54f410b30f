//! The fuzz targets on stable, bounded and deterministic: each target runs its seed corpus and
//! then a fixed number of mutated inputs from a seeded [`Mutator`], so what a long fuzzing run
//! once found (and every seed) is rechecked by `cargo test`. A failure prints the input.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use switchboard_fuzzing::{Mutator, TARGETS, Target, seeds, target};

/// Mutated inputs per target: a few seconds each in a debug build on the CI machine.
const MUTATIONS: usize = 20_000;
/// Longest mutated input (libFuzzer's default -max_len is 4096), or the longest seed and a
/// little more where a seed is longer (the demo configuration is 16 KB).
const MAX_LEN: usize = 4_096;

fn run_one(target: Target, input: &[u8]) {
    if catch_unwind(AssertUnwindSafe(|| (target.run)(input))).is_err() {
        panic!(
            "fuzz target {} failed on input {:?}\n(as text: {})",
            target.name,
            input,
            String::from_utf8_lossy(input)
        );
    }
}

fn smoke(name: &str) {
    let target = target(name).unwrap_or_else(|| panic!("no target {name}"));
    let seeds = seeds(name);
    assert!(!seeds.is_empty(), "{name} has no seeds");
    let started = Instant::now();
    for seed in &seeds {
        run_one(target, seed);
    }
    // Mutants of mutants too: a pool that grows with every fifth input, as a fuzzer's corpus does.
    let max_len = seeds
        .iter()
        .map(|s| s.len() + 256)
        .max()
        .unwrap_or(0)
        .max(MAX_LEN);
    let mut pool = seeds.clone();
    let mut mutator = Mutator::new(0x5EED ^ name.len() as u64);
    for i in 0..MUTATIONS {
        let base = &pool[i % pool.len()];
        let other = &pool[(i * 7 + 3) % pool.len()];
        let mut input = mutator.mutate(base, other, max_len);
        if target.text {
            input = String::from_utf8_lossy(&input).into_owned().into_bytes();
        }
        run_one(target, &input);
        if i % 5 == 0 && pool.len() < 512 {
            pool.push(input);
        }
    }
    let elapsed = started.elapsed();
    eprintln!(
        "{name}: {} seeds + {MUTATIONS} mutants in {:.2?} ({:.0} execs/s)",
        seeds.len(),
        elapsed,
        (seeds.len() + MUTATIONS) as f64 / elapsed.as_secs_f64()
    );
}

#[test]
fn every_target_has_a_smoke_test() {
    let tested = [
        "sip_datagram",
        "sip_stream",
        "sdp",
        "rtp_rtcp",
        "rfc4733",
        "digest",
        "config",
        "ivr",
    ];
    for t in TARGETS {
        assert!(
            tested.contains(&t.name),
            "{} has no smoke test below",
            t.name
        );
    }
}

#[test]
fn sip_datagram_survives_seeds_and_mutants() {
    smoke("sip_datagram");
}

#[test]
fn sip_stream_survives_seeds_and_mutants() {
    smoke("sip_stream");
}

#[test]
fn sdp_survives_seeds_and_mutants() {
    smoke("sdp");
}

#[test]
fn rtp_rtcp_survives_seeds_and_mutants() {
    smoke("rtp_rtcp");
}

#[test]
fn rfc4733_survives_seeds_and_mutants() {
    smoke("rfc4733");
}

#[test]
fn digest_survives_seeds_and_mutants() {
    smoke("digest");
}

#[test]
fn config_survives_seeds_and_mutants() {
    smoke("config");
}

#[test]
fn ivr_survives_seeds_and_mutants() {
    smoke("ivr");
}
