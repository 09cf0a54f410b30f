//! SIPp, a real SIP peer, against the real daemon on loopback: agent registration with digest
//! authentication, a wrong password, OPTIONS and an unknown method. Each test starts its own
//! daemon on free ports (a wrong password may lock an agent out, so no daemon is shared) and runs
//! one scenario from `tests/sipp/`. Skipped with a message when `sipp` is missing outside CI.

mod common;

use common::{Daemon, require_sipp, run_sipp};

/// Runs `scenario` against a fresh daemon and asserts on SIPp's exit status.
fn sipp_against_daemon(test: &str, scenario: &str, extra: &[&str], expect_success: bool) {
    if !require_sipp(test) {
        return;
    }
    let daemon = Daemon::start();
    let run = run_sipp(&daemon, scenario, extra);
    assert!(
        run.succeeded() == expect_success,
        "{test}: `{}` ended with {:?}, expected {}\n{}\n--- daemon log ---\n{}",
        run.command,
        run.status,
        if expect_success { "success" } else { "failure" },
        run.report,
        common::tail(&daemon.log(), 8000),
    );
}

#[test]
fn sipp_registers_agent_1001_with_digest_and_gets_200() {
    sipp_against_daemon(
        "sipp_registers_agent_1001_with_digest_and_gets_200",
        "register.xml",
        &["-s", "1001", "-au", "1001", "-ap", "secret"],
        true,
    );
}

#[test]
fn sipp_register_with_wrong_password_gets_401_or_403_never_200() {
    sipp_against_daemon(
        "sipp_register_with_wrong_password_gets_401_or_403_never_200",
        "register_wrong_password.xml",
        &["-s", "1001", "-au", "1001", "-ap", "not-the-password"],
        true,
    );
}

/// The wrong-password scenario itself must fail when the password is right, or it could pass
/// against a registrar that answers 401 to everything and prove nothing.
#[test]
fn sipp_wrong_password_scenario_fails_when_the_password_is_right() {
    sipp_against_daemon(
        "sipp_wrong_password_scenario_fails_when_the_password_is_right",
        "register_wrong_password.xml",
        &["-s", "1001", "-au", "1001", "-ap", "secret"],
        false,
    );
}

#[test]
fn sipp_options_gets_200_with_allow_accept_supported() {
    sipp_against_daemon(
        "sipp_options_gets_200_with_allow_accept_supported",
        "options.xml",
        &[],
        true,
    );
}

#[test]
fn sipp_foobar_request_gets_501() {
    sipp_against_daemon("sipp_foobar_request_gets_501", "foobar.xml", &[], true);
}
