//! `switchboard --check-config`: validates the configuration and exits without serving.
//! The demo configuration passes; a broken one is refused with `file:line:column: what is
//! wrong` on stderr and a non-zero exit status.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use common::{ScratchDir, demo_config, wait_with_deadline};

/// Runs `switchboard --config CONFIG --check-config`, bounded in time.
fn check_config(config: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--config")
        .arg(config)
        .arg("--check-config")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawning switchboard --check-config");
    // --check-config must not start serving; a hang is a failure, not a stuck test.
    let status = wait_with_deadline(&mut child, Duration::from_secs(30));
    let output = child
        .wait_with_output()
        .expect("collecting --check-config output");
    assert!(
        status.is_some(),
        "--check-config did not exit within 30 s (is it serving?)"
    );
    output
}

/// Writes `text` as `name` in `dir` and returns the path.
fn write_config(dir: &ScratchDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("writing the broken configuration");
    path
}

fn demo_text() -> String {
    std::fs::read_to_string(demo_config()).expect("reading config/switchboard.toml")
}

/// Asserts a refusal whose stderr points at `file_name:line:` followed by a column number.
fn assert_refused_at(output: &Output, file_name: &str, line: usize) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "a broken configuration passed --check-config; stderr:\n{stderr}"
    );
    let needle = format!("{file_name}:{line}:");
    let located = stderr.match_indices(&needle).any(|(at, _)| {
        stderr
            .get(at + needle.len()..)
            .and_then(|rest| rest.chars().next())
            .is_some_and(|c| c.is_ascii_digit())
    });
    assert!(
        located,
        "stderr does not point at {file_name}:{line}:<column>:\n{stderr}"
    );
}

#[test]
fn check_config_accepts_the_demo_configuration() {
    let output = check_config(&demo_config());
    assert!(
        output.status.success(),
        "the demo configuration failed --check-config ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn check_config_refuses_an_unknown_key_naming_file_line_and_column() {
    let dir = ScratchDir::new("check-config");
    let mut text = demo_text();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    // The key lands in whichever table the demo file ends with; no section has this key.
    let line = text.lines().count() + 1;
    text.push_str("no_such_setting_anywhere = true\n");
    let path = write_config(&dir, "unknown-key.toml", &text);
    assert_refused_at(&check_config(&path), "unknown-key.toml", line);
}

#[test]
fn check_config_refuses_a_toml_syntax_error_naming_file_line_and_column() {
    let dir = ScratchDir::new("check-config");
    let mut text = demo_text();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let line = text.lines().count() + 1;
    text.push_str("[unterminated_table\n");
    let path = write_config(&dir, "syntax-error.toml", &text);
    assert_refused_at(&check_config(&path), "syntax-error.toml", line);
}

#[test]
fn check_config_refuses_a_missing_file() {
    let dir = ScratchDir::new("check-config");
    let output = check_config(&dir.path().join("does-not-exist.toml"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "a missing file passed --check-config"
    );
    assert!(
        stderr.contains("does-not-exist.toml"),
        "stderr does not name the missing file:\n{stderr}"
    );
}
