//! The demo prompts shipped in `config/prompts/` load, and cover every prompt the demo IVR
//! flows name and every clip the queue announcements can ask for.

use std::path::Path;
use std::time::Duration;

use switchboard_media::announce::{number_clips, position_announcement, wait_announcement};
use switchboard_media::engine::load_prompts;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The names inside `prompts = [...]`, `invalid_prompts = [...]` and `no_input_prompts = [...]`.
fn flow_prompts(toml: &str) -> Vec<String> {
    toml.lines()
        .filter_map(|l| {
            let (key, value) = l.split_once('=')?;
            let key = key.trim();
            (!key.starts_with('#') && key.ends_with("prompts")).then_some(value)
        })
        .flat_map(|v| {
            v.split('#')
                .next()
                .unwrap_or("")
                .split('"')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn demo_prompts_load_and_cover_the_flows_and_announcements() {
    let (library, failures) = load_prompts(&repo().join("config/prompts")).unwrap();
    assert!(failures.is_empty(), "{failures:?}");

    let mut needed = vec![
        "moh/default".to_owned(),
        "goodbye".to_owned(),
        "no-input".to_owned(),
    ];
    for flow in ["main", "survey"] {
        let text = std::fs::read_to_string(repo().join(format!("config/ivr/{flow}.toml"))).unwrap();
        let names = flow_prompts(&text);
        assert!(!names.is_empty(), "{flow} names prompts");
        needed.extend(names);
    }
    for n in [
        0, 7, 13, 20, 42, 99, 100, 342, 1000, 19_999, 1_000_000, 2_345_678,
    ] {
        number_clips(n, &mut needed);
    }
    needed.extend(position_announcement(3));
    for secs in [30, 60, 61, 600] {
        needed.extend(wait_announcement(Duration::from_secs(secs)));
    }
    needed.push("queue/thank-you-for-holding".to_owned());
    let missing: Vec<_> = needed.iter().filter(|n| library.get(n).is_none()).collect();
    assert!(missing.is_empty(), "missing prompts: {missing:?}");

    // Spoken, not empty; music on hold long enough to loop gracefully.
    assert!(library.get("welcome").unwrap().duration() > Duration::from_millis(500));
    assert!(library.get("moh/default").unwrap().duration() >= Duration::from_secs(3));
}

#[test]
fn demo_prompts_stay_small() {
    fn size(dir: &Path) -> u64 {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| {
                let p = e.path();
                if p.is_dir() {
                    size(&p)
                } else {
                    p.metadata().unwrap().len()
                }
            })
            .sum()
    }
    let total = size(&repo().join("config/prompts"));
    assert!(total < 700 * 1024, "{total} bytes");
}
