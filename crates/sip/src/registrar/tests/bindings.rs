//! The binding table: expiry values, removal, wildcard, contact limits, ordering, expiry.

use super::*;

#[test]
fn contact_expires_parameter_wins_over_expires_header() {
    let (mut reg, t0) = (Registrar::new(config(), 11), Instant::now());
    let mut phone = alice();
    phone.contact = "<sip:1001@10.0.0.2:5060>;expires=120, <sip:1001@10.0.0.2:5070>".into();
    let ok = phone.register(&mut reg, t0, "Expires: 900\r\n");
    assert_eq!(
        contacts(&ok),
        vec![
            "<sip:1001@10.0.0.2:5060>;expires=120",
            "<sip:1001@10.0.0.2:5070>;expires=900"
        ]
    );
}

#[test]
fn no_expiry_anywhere_means_the_default_and_too_long_is_clamped() {
    let (mut reg, t0) = (Registrar::new(config(), 12), Instant::now());
    let mut phone = alice();
    let ok = phone.register(&mut reg, t0, "");
    assert_eq!(contacts(&ok), vec!["<sip:1001@10.0.0.2:5060>;expires=3600"]);
    let ok = phone.register(&mut reg, t0, "Expires: 86400\r\n");
    assert_eq!(contacts(&ok), vec!["<sip:1001@10.0.0.2:5060>;expires=3600"]);
}

#[test]
fn too_brief_expiry_gets_423_with_min_expires() {
    let (mut reg, t0) = (Registrar::new(config(), 13), Instant::now());
    let mut phone = alice();
    let response = phone.register(&mut reg, t0, "Expires: 30\r\n");
    assert_eq!(status(&response), 423);
    assert_eq!(response.min_expires_header().unwrap().value(), "60");
    assert!(!reg.is_available("1001"));
}

#[test]
fn expires_zero_unregisters_and_the_agent_becomes_unavailable() {
    let (mut reg, t0) = (Registrar::new(config(), 14), Instant::now());
    let mut phone = alice();
    phone.register(&mut reg, t0, "");
    drain_events(&mut reg);
    let ok = phone.register(&mut reg, t0 + Duration::from_secs(5), "Expires: 0\r\n");
    assert_eq!(status(&ok), 200);
    assert!(contacts(&ok).is_empty());
    let events = drain_events(&mut reg);
    assert!(matches!(
        &events[0],
        RegistrarEvent::BindingRemoved {
            reason: RemovalReason::Unregistered,
            ..
        }
    ));
    assert_eq!(
        events[1],
        RegistrarEvent::AgentUnavailable {
            user: "1001".into()
        }
    );
}

#[test]
fn contact_expires_zero_removes_only_that_contact() {
    let (mut reg, t0) = (Registrar::new(config(), 15), Instant::now());
    let mut phone = alice();
    phone.contact = "<sip:1001@10.0.0.2:5060>, <sip:1001@10.0.0.3:5060>".into();
    phone.register(&mut reg, t0, "");
    phone.contact = "<sip:1001@10.0.0.3:5060>;expires=0".into();
    let ok = phone.register(&mut reg, t0, "Expires: 600\r\n");
    assert_eq!(contacts(&ok), vec!["<sip:1001@10.0.0.2:5060>;expires=3600"]);
    assert!(reg.is_available("1001"));
}

#[test]
fn wildcard_with_expires_zero_removes_every_binding() {
    let (mut reg, t0) = (Registrar::new(config(), 16), Instant::now());
    let mut phone = alice();
    phone.contact = "<sip:1001@10.0.0.2:5060>, <sip:1001@10.0.0.3:5060>".into();
    phone.register(&mut reg, t0, "");
    assert_eq!(reg.bindings("1001").count(), 2);
    phone.contact = "*".into();
    assert_eq!(
        status(&phone.register(&mut reg, t0, "")),
        400,
        "wildcard needs Expires: 0"
    );
    assert_eq!(reg.bindings("1001").count(), 2);
    let ok = phone.register(&mut reg, t0, "Expires: 0\r\n");
    assert_eq!(status(&ok), 200);
    assert_eq!(reg.bindings("1001").count(), 0);
    assert!(
        drain_events(&mut reg).contains(&RegistrarEvent::AgentUnavailable {
            user: "1001".into()
        })
    );
}

#[test]
fn several_contacts_up_to_the_limit_then_403() {
    let mut cfg = config();
    cfg.max_contacts_per_aor = 2;
    let (mut reg, t0) = (Registrar::new(cfg, 17), Instant::now());
    let mut desk = alice();
    let mut softphone = Phone::new(
        "1001",
        "s3cret",
        "<sip:1001@10.0.0.50:5080>",
        "203.0.113.50:5080",
    );
    let mut mobile = Phone::new(
        "1001",
        "s3cret",
        "<sip:1001@10.0.0.60:5090>",
        "203.0.113.60:5090",
    );
    assert_eq!(status(&desk.register(&mut reg, t0, "")), 200);
    let ok = softphone.register(&mut reg, t0, "");
    assert_eq!(
        contacts(&ok).len(),
        2,
        "the 200 lists all bindings of the AOR"
    );
    assert_eq!(status(&mobile.register(&mut reg, t0, "")), 403);
    assert_eq!(reg.bindings("1001").count(), 2);
    // A refresh of an existing contact is not an extra one.
    assert_eq!(status(&desk.register(&mut reg, t0, "")), 200);
}

#[test]
fn replace_oldest_policy_displaces_the_oldest_binding() {
    let mut cfg = config();
    cfg.max_contacts_per_aor = 1;
    cfg.contact_overflow = ContactOverflow::ReplaceOldest;
    let (mut reg, t0) = (Registrar::new(cfg, 18), Instant::now());
    let mut before_reboot = alice();
    before_reboot.register(&mut reg, t0, "");
    let mut after_reboot = Phone::new(
        "1001",
        "s3cret",
        "<sip:1001@10.0.0.2:5062>",
        "203.0.113.7:40002",
    );
    assert_eq!(
        status(&after_reboot.register(&mut reg, t0 + Duration::from_secs(1), "")),
        200
    );
    let contacts: Vec<_> = reg
        .bindings("1001")
        .map(|b| b.contact.to_string())
        .collect();
    assert_eq!(contacts, vec!["sip:1001@10.0.0.2:5062"]);
    let events = drain_events(&mut reg);
    assert!(events.iter().any(|e| matches!(
        e,
        RegistrarEvent::BindingRemoved {
            reason: RemovalReason::Replaced,
            ..
        }
    )));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, RegistrarEvent::AgentUnavailable { .. })),
        "no flap"
    );
}

#[test]
fn binding_expiry_makes_the_agent_unavailable() {
    let (mut reg, t0) = (Registrar::new(config(), 19), Instant::now());
    let mut phone = alice();
    phone.register(&mut reg, t0, "Expires: 120\r\n");
    drain_events(&mut reg);
    assert_eq!(reg.poll_timeout(), Some(t0 + Duration::from_secs(120)));
    reg.handle_timeout(t0 + Duration::from_secs(119));
    assert!(reg.is_available("1001"));
    reg.handle_timeout(t0 + Duration::from_secs(120));
    let events = drain_events(&mut reg);
    assert!(matches!(
        &events[0],
        RegistrarEvent::BindingRemoved {
            reason: RemovalReason::Expired,
            ..
        }
    ));
    assert_eq!(
        events[1],
        RegistrarEvent::AgentUnavailable {
            user: "1001".into()
        }
    );
    assert_eq!(reg.poll_timeout(), None);
    assert_eq!(reg.stats().bindings_expired, 1);
}

#[test]
fn refresh_moves_expiry_and_reports_refreshed_with_remaining_time() {
    let (mut reg, t0) = (Registrar::new(config(), 20), Instant::now());
    let mut phone = alice();
    phone.register(&mut reg, t0, "Expires: 120\r\n");
    drain_events(&mut reg);
    phone.peer = peer("203.0.113.7:40999"); // the NAT picked a new port
    let ok = phone.register(&mut reg, t0 + Duration::from_secs(100), "Expires: 120\r\n");
    assert_eq!(contacts(&ok), vec!["<sip:1001@10.0.0.2:5060>;expires=120"]);
    let events = drain_events(&mut reg);
    assert!(matches!(&events[..], [RegistrarEvent::BindingRefreshed(b)] if b.peer == phone.peer));
    reg.handle_timeout(t0 + Duration::from_secs(200));
    assert!(reg.is_available("1001"));
    // A query (no Contact) lists the binding with what is left of it.
    phone.contact = String::new();
    let query = phone.register(&mut reg, t0 + Duration::from_secs(210), "");
    assert_eq!(
        contacts(&query),
        vec!["<sip:1001@10.0.0.2:5060>;expires=10"]
    );
}

#[test]
fn same_call_id_with_lower_cseq_fails_and_changes_nothing() {
    let (mut reg, t0) = (Registrar::new(config(), 21), Instant::now());
    let mut phone = alice();
    phone.register(&mut reg, t0, "Expires: 600\r\n");
    // An old REGISTER delivered late: same Call-ID, lower CSeq, wants to unregister.
    let challenge = phone.send_plain(&mut reg, t0, "");
    phone.cseq = 0;
    let late = phone.send_auth(&mut reg, t0, &challenge, "MD5", "Expires: 0\r\n");
    assert_eq!(status(&late), 500);
    assert!(reg.is_available("1001"));
    // Another Call-ID may change the binding whatever its CSeq (§10.3 step 7).
    let mut other = alice();
    other.call_id = "another-call-id".into();
    assert_eq!(status(&other.register(&mut reg, t0, "Expires: 0\r\n")), 200);
    assert!(!reg.is_available("1001"));
}

#[test]
fn removing_a_user_drops_its_bindings() {
    let (mut reg, t0) = (Registrar::new(config(), 25), Instant::now());
    alice().register(&mut reg, t0, "");
    drain_events(&mut reg);
    reg.remove_user("1001");
    assert!(!reg.is_available("1001"));
    assert_eq!(reg.binding_count(), 0);
    assert!(
        drain_events(&mut reg).contains(&RegistrarEvent::AgentUnavailable {
            user: "1001".into()
        })
    );
}

#[test]
fn a_request_naming_hundreds_of_contacts_is_refused_outright() {
    let (mut reg, t0) = (Registrar::new(config(), 29), Instant::now());
    let mut phone = alice();
    phone.contact = (0..500)
        .map(|i| format!("<sip:1001@10.0.{}.{}>", i / 250, i % 250))
        .collect::<Vec<_>>()
        .join(", ");
    assert_eq!(status(&phone.register(&mut reg, t0, "")), 403);
    assert_eq!(reg.binding_count(), 0);
}

#[test]
fn binding_keeps_the_user_agent_and_default_expiry_respects_the_minimum() {
    let mut cfg = config();
    cfg.default_expires = Duration::from_secs(10); // below min_expires (60)
    let (mut reg, t0) = (Registrar::new(cfg, 30), Instant::now());
    let mut phone = alice();
    let ok = phone.register(&mut reg, t0, "User-Agent: Yealink SIP-T46U 108.86.0.45\r\n");
    assert_eq!(contacts(&ok), vec!["<sip:1001@10.0.0.2:5060>;expires=60"]);
    let binding = reg.bindings("1001").next().unwrap();
    assert_eq!(
        binding.user_agent.as_deref(),
        Some("Yealink SIP-T46U 108.86.0.45")
    );
}
