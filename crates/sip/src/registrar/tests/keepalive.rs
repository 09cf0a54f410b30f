//! OPTIONS keep-alives and unreachable phones.

use super::*;

#[test]
fn keepalive_failures_make_the_binding_unreachable_and_the_agent_unavailable() {
    let mut cfg = config();
    cfg.keepalive_interval = Duration::from_secs(30);
    cfg.keepalive_failures = 2;
    let (mut reg, t0) = (Registrar::new(cfg, 22), Instant::now());
    let mut phone = alice();
    phone.register(&mut reg, t0, "");
    drain_events(&mut reg);
    assert_eq!(reg.poll_timeout(), Some(t0 + Duration::from_secs(30)));

    let t1 = t0 + Duration::from_secs(30);
    reg.handle_timeout(t1);
    let probes = drain_probes(&mut reg);
    assert_eq!(probes.len(), 1);
    let probe = &probes[0];
    assert_eq!(
        probe.peer, phone.peer,
        "probes go where the REGISTER came from"
    );
    assert_eq!(probe.request.method, rsip::Method::Options);
    assert_eq!(probe.request.uri.to_string(), "sip:1001@10.0.0.2:5060");
    assert!(
        probe
            .request
            .via_header()
            .unwrap()
            .value()
            .contains("branch=z9hG4bK")
    );
    let printed = probe.request.to_string();
    assert!(
        Request::try_from(printed.as_bytes()).is_ok(),
        "the OPTIONS prints and parses"
    );
    reg.handle_keepalive_result(t1, probe.binding, true);

    let t2 = t1 + Duration::from_secs(30);
    reg.handle_timeout(t2);
    let probe = drain_probes(&mut reg).remove(0);
    reg.handle_keepalive_result(t2, probe.binding, false);
    assert!(reg.is_available("1001"), "one failure is not enough");

    let t3 = t2 + Duration::from_secs(30);
    reg.handle_timeout(t3);
    let probe = drain_probes(&mut reg).remove(0);
    reg.handle_keepalive_result(t3, probe.binding, false);
    let events = drain_events(&mut reg);
    assert!(matches!(
        &events[0],
        RegistrarEvent::BindingRemoved {
            reason: RemovalReason::Unreachable,
            ..
        }
    ));
    assert_eq!(
        events[1],
        RegistrarEvent::AgentUnavailable {
            user: "1001".into()
        }
    );
    assert_eq!(reg.stats().bindings_unreachable, 1);
}

#[test]
fn lost_keepalive_results_count_as_failures() {
    let mut cfg = config();
    cfg.keepalive_interval = Duration::from_secs(30);
    cfg.keepalive_failures = 1;
    let (mut reg, t0) = (Registrar::new(cfg, 23), Instant::now());
    alice().register(&mut reg, t0, "");
    reg.handle_timeout(t0 + Duration::from_secs(30));
    assert_eq!(drain_probes(&mut reg).len(), 1);
    // The shell never reports back; a whole interval later the probe counts as failed.
    reg.handle_timeout(t0 + Duration::from_secs(60));
    assert!(!reg.is_available("1001"));
}

#[test]
fn keepalive_interval_zero_sends_nothing() {
    let (mut reg, t0) = (Registrar::new(config(), 24), Instant::now());
    alice().register(&mut reg, t0, "Expires: 3600\r\n");
    reg.handle_timeout(t0 + Duration::from_secs(600));
    assert!(drain_probes(&mut reg).is_empty());
    assert_eq!(reg.poll_timeout(), Some(t0 + Duration::from_secs(3600)));
}
