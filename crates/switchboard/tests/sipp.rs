//! SIPp, a real SIP peer, against the real daemon on loopback: agent registration with digest
//! authentication, a wrong password, OPTIONS and an unknown method. Each test starts its own
//! daemon on free ports (a wrong password may lock an agent out, so no daemon is shared) and runs
//! one scenario from `tests/sipp/`. Skipped with a message when `sipp` is missing outside CI.

mod common;

use common::Daemon;
use common::sipp::{SippRun, SippTransport, require_sipp, run_sipp};

/// Runs `scenario` against a fresh daemon and asserts on SIPp's exit status; returns the run
/// (`None` when skipped because SIPp is missing outside CI).
fn sipp_against_daemon(
    test: &str,
    scenario: &str,
    transport: SippTransport,
    extra: &[&str],
    expect_success: bool,
) -> Option<SippRun> {
    if !require_sipp(test) {
        return None;
    }
    let daemon = Daemon::start();
    let run = run_sipp(&daemon, scenario, transport, extra);
    assert!(
        run.succeeded() == expect_success,
        "{test}: `{}` ended with {:?}, expected {} (the daemon's log follows)\n{}",
        run.command,
        run.status,
        if expect_success { "success" } else { "failure" },
        run.report,
    );
    Some(run)
}

#[test]
fn sipp_registers_agent_1001_with_digest_and_gets_200() {
    let _ = sipp_against_daemon(
        "sipp_registers_agent_1001_with_digest_and_gets_200",
        "register.xml",
        SippTransport::Udp,
        &["-s", "1001", "-au", "1001", "-ap", "secret"],
        true,
    );
}

#[test]
fn sipp_register_with_wrong_password_gets_401_or_403_never_200() {
    let _ = sipp_against_daemon(
        "sipp_register_with_wrong_password_gets_401_or_403_never_200",
        "register_wrong_password.xml",
        SippTransport::Udp,
        &["-s", "1001", "-au", "1001", "-ap", "not-the-password"],
        true,
    );
}

/// The wrong-password scenario itself must fail when the password is right, or it could pass
/// against a registrar that answers 401 to everything and prove nothing.
#[test]
fn sipp_wrong_password_scenario_fails_when_the_password_is_right() {
    let Some(run) = sipp_against_daemon(
        "sipp_wrong_password_scenario_fails_when_the_password_is_right",
        "register_wrong_password.xml",
        SippTransport::Udp,
        &["-s", "1001", "-au", "1001", "-ap", "secret"],
        false,
    ) else {
        return;
    };
    // It must fail for the right reason: the registrar accepted the right password.
    assert!(
        run.report.contains("received 'SIP/2.0 200"),
        "the scenario failed, but not on a 200:\n{}",
        run.report
    );
}

#[test]
fn sipp_options_gets_200_with_allow_accept_supported() {
    let _ = sipp_against_daemon(
        "sipp_options_gets_200_with_allow_accept_supported",
        "options.xml",
        SippTransport::Udp,
        &[],
        true,
    );
}

#[test]
fn sipp_foobar_request_gets_501() {
    let _ = sipp_against_daemon(
        "sipp_foobar_request_gets_501",
        "foobar.xml",
        SippTransport::Udp,
        &[],
        true,
    );
}

/// The SIP listener takes TCP on the same port as UDP (RFC 3261 §18: both are mandatory).
#[test]
fn sipp_registers_agent_1001_over_tcp_on_the_same_port() {
    let _ = sipp_against_daemon(
        "sipp_registers_agent_1001_over_tcp_on_the_same_port",
        "register.xml",
        SippTransport::Tcp,
        &["-s", "1001", "-au", "1001", "-ap", "secret"],
        true,
    );
}
