//! The daemon as an operator sees it: the HTTP listener's `/healthz` and `/metrics`, SIP on an
//! IPv6 listener, and a clean exit on SIGTERM and SIGINT.

mod common;

use std::net::{IpAddr, Ipv6Addr, UdpSocket};
use std::time::Duration;

use common::wire::{http_get, options_ping};
use common::{Daemon, demo_config};

#[test]
fn healthz_answers_ok() {
    let daemon = Daemon::start();
    let (code, body) =
        http_get(daemon.http, "/healthz", Duration::from_secs(5)).expect("GET /healthz");
    assert_eq!((code, body.trim()), (200, "ok"));
}

#[test]
fn metrics_is_prometheus_text_after_sip_traffic() {
    let daemon = Daemon::start();
    // Readiness already sent an OPTIONS; one more so counters certainly moved.
    assert_eq!(
        options_ping(daemon.sip, Duration::from_secs(5)).ok(),
        Some(200)
    );
    let (code, body) =
        http_get(daemon.http, "/metrics", Duration::from_secs(5)).expect("GET /metrics");
    assert_eq!(code, 200, "/metrics answered {code}:\n{body}");
    // Prometheus text exposition format: `# TYPE name kind` before each metric's samples, and
    // every other non-empty line `name{labels} value`.
    assert!(
        body.lines().any(|l| l.starts_with("# TYPE ")),
        "/metrics has no `# TYPE` line after SIP traffic:\n{body}"
    );
    for line in body
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let value = line.rsplit(' ').next().unwrap_or_default();
        assert!(
            value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value),
            "not a Prometheus sample line: {line:?}"
        );
    }
}

#[test]
fn sip_listener_on_ipv6_loopback_answers_options() {
    if UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).is_err() {
        // Some containers run without IPv6 at all; nothing to listen on then.
        assert!(
            !common::in_ci() || std::env::var_os("SWITCHBOARD_E2E_NO_IPV6").is_some(),
            "::1 is unavailable; set SWITCHBOARD_E2E_NO_IPV6=1 if this CI host has no IPv6"
        );
        eprintln!("SKIPPED sip_listener_on_ipv6_loopback_answers_options: ::1 is unavailable");
        return;
    }
    // Readiness itself pings OPTIONS over [::1]; assert it once more, explicitly.
    let daemon = Daemon::start_with(&demo_config(), IpAddr::V6(Ipv6Addr::LOCALHOST));
    assert!(daemon.sip.is_ipv6());
    assert_eq!(
        options_ping(daemon.sip, Duration::from_secs(5)).ok(),
        Some(200)
    );
}

/// Sends `signal` to a running daemon and expects exit status 0 within 10 s.
fn shuts_down_cleanly_on(signal: &str) {
    let mut daemon = Daemon::start();
    let status = daemon.signal(signal, Duration::from_secs(10));
    let status = status.unwrap_or_else(|| panic!("still running 10 s after SIG{signal}"));
    assert!(
        status.success(),
        "the daemon exited with {status} after SIG{signal}:\n{}",
        common::tail(&daemon.log(), 4000)
    );
}

#[test]
fn sigterm_shuts_the_daemon_down_cleanly() {
    shuts_down_cleanly_on("TERM");
}

#[test]
fn sigint_shuts_the_daemon_down_cleanly() {
    shuts_down_cleanly_on("INT");
}
