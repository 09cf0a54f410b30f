//! `parse` returns an error for any text, never panics: arbitrary strings, and mutations of the
//! shipped configuration (which reach far deeper than random text).

use std::path::Path;

use proptest::prelude::*;

const DEMO: &str = include_str!("../../../config/switchboard.toml");

fn check(text: &str) {
    if let Err(error) = switchboard_config::parse(text, Path::new("fuzz.toml")) {
        // Positions are 1-based and inside the text.
        assert!(error.line >= 1 && error.column >= 1, "{error}");
        assert!(error.line as usize <= text.lines().count() + 1, "{error}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check(&text);
    }

    #[test]
    fn toml_looking_text_never_panics(text in r#"(\[\[?[a-z.]{1,12}\]\]?\n|[a-z_]{1,20} = ("[^"\n]{0,20}"|-?[0-9]{1,22}|\[("[^"\n]{0,12}", ?){0,3}\]|\{ [a-z]{1,8} = [0-9"a-z]{1,6} \}|true)\n){0,20}"#) {
        check(&text);
    }

    #[test]
    fn mutated_demo_never_panics(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..4, "[ -~\n\u{e9}]{0,6}"), 1..6)
    ) {
        let mut text = DEMO.to_owned();
        for (at, kind, insert) in edits {
            let mut i = at.index(text.len() + 1);
            while !text.is_char_boundary(i) { i -= 1; }
            match kind {
                0 => text.insert_str(i, &insert),
                1 => { let end = (i + insert.len()).min(text.len()); let mut e = end; while !text.is_char_boundary(e) { e -= 1; } text.replace_range(i..e, ""); }
                2 => { let end = (i + insert.len()).min(text.len()); let mut e = end; while !text.is_char_boundary(e) { e -= 1; } text.replace_range(i..e, &insert); }
                _ => text.insert(i, '"'),
            }
        }
        check(&text);
    }
}

#[test]
fn demo_parses_cleanly() {
    assert!(switchboard_config::parse(DEMO, Path::new("demo.toml")).is_ok());
}
