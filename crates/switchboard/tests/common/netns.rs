//! Running a test inside a network namespace of its own that holds only loopback.

use std::process::Command;

use super::in_ci;

/// Marks a run inside the namespace made by [`in_loopback_namespace`].
const NETNS_INNER_ENV: &str = "SWITCHBOARD_E2E_IN_NETNS";
/// Brings loopback up in a new namespace (python3 when `ip` is absent), runs the caller's set-up
/// commands, then execs the test binary with the arguments that follow.
const NETNS_SCRIPT: &str = r#"{ ip link set lo up 2>/dev/null || python3 -c 'import socket,fcntl,struct;fcntl.ioctl(socket.socket(socket.AF_INET,socket.SOCK_DGRAM),0x8914,struct.pack("16sh22x",b"lo",0x49))'; } && "#;

/// Runs the calling test again inside a new user and network namespace (`unshare -rn`) that
/// holds only loopback, after the shell commands `setup` (e.g. `ip addr add 192.0.2.99/32 dev
/// lo`; empty for none). Returns true in that inner run, where the test does its work; in the
/// outer run it asserts that the inner run passed and returns false. Messages naming foreign
/// hosts can then never make the daemon reach them, and the test owns every port.
///
/// `test` must be the test function's name (the filter passed with `--exact`). Without user
/// namespaces the test is skipped with a message, or fails under CI.
pub(crate) fn in_loopback_namespace(test: &str, setup: &str) -> bool {
    if std::env::var(NETNS_INNER_ENV).is_ok_and(|t| t == test) {
        return true;
    }
    let probe = Command::new("unshare").args(["-rn", "true"]).output();
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        let why = match &probe {
            Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
            Err(e) => e.to_string(),
        };
        assert!(
            !in_ci(),
            "{test}: `unshare -rn` (user + network namespace) is unavailable but CI is set: {why}"
        );
        eprintln!("SKIPPED {test}: cannot create a network namespace with `unshare -rn`: {why}");
        return false;
    }
    let exe = std::env::current_exe().expect("the test binary's own path");
    let setup = if setup.trim().is_empty() {
        String::new()
    } else {
        format!("{{ {setup}; }} && ")
    };
    let script = format!(r#"{NETNS_SCRIPT}{setup}exec "$0" "$@""#);
    let output = Command::new("unshare")
        .args(["-rn", "sh", "-c", &script])
        .arg(&exe)
        .args(["--exact", test, "--nocapture", "--test-threads", "1"])
        .env(NETNS_INNER_ENV, test)
        .output()
        .expect("running the test inside `unshare -rn`");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("--- inner run of {test} (network namespace) ---\n{stdout}\n{stderr}");
    assert!(
        output.status.success(),
        "{test}: the inner run failed with {}",
        output.status
    );
    // Guard against a filter that matched nothing: the inner run must have run this test.
    assert!(
        stdout.contains("1 passed"),
        "{test}: the inner run did not run the test"
    );
    false
}
