//! Property: any text, and any small edit of a real flow file, is accepted or refused with an
//! error whose position lies inside the text; parsing never panics. And whatever edited flow is
//! accepted, a silent caller reaches its end.

mod common;

use std::path::Path;

use proptest::prelude::*;

fn check(text: &str) -> Result<(), TestCaseError> {
    if let Err(error) = switchboard_ivr::parse(text, Path::new("f.toml")) {
        let lines = u32::try_from(text.split('\n').count()).unwrap_or(u32::MAX);
        prop_assert!(
            error.line >= 1 && error.line <= lines,
            "{error} ({lines} lines)"
        );
        prop_assert!(error.column >= 1, "{error}");
    }
    Ok(())
}

const MAIN: &str = include_str!("../../../config/ivr/main.toml");

/// Flow-ish fragments to splice in: the keys and values a mutated file should exercise.
const FRAGMENTS: &[&str] = &[
    "\"",
    "=",
    "[",
    "]",
    "{",
    "}",
    "\n",
    "#",
    "type = \"goto\"",
    "next = \"menu\"",
    "next = \"welcome\"",
    "digits = \"#\"",
    "max_digits = 0",
    "retries = -1",
    "choices = {}",
    "\n[nodes.x]\ntype = \"set\"\ndata = \"k\"\nvalue = \"${k}\"\nnext = \"x\"\n",
    "é",
    "${",
    "hours = \"25:00-01:00\"",
    "skills = \"(((\"",
    "queue = \"\"",
    "prompts = []",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}") {
        check(&text)?;
    }

    #[test]
    fn edited_demo_flows_never_panic(
        edits in proptest::collection::vec((0usize..MAIN.len(), 0usize..40, proptest::sample::select(FRAGMENTS)), 1..4),
    ) {
        let mut text = MAIN.to_owned();
        for (at, cut, fragment) in edits {
            let mut start = at.min(text.len());
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = (start + cut).min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.replace_range(start..end, fragment);
        }
        check(&text)?;
    }
}
