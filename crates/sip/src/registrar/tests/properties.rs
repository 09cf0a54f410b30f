//! Property tests: registrar invariants under generated scripts, and no panic on odd headers.

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

#[derive(Debug, Clone)]
enum Step {
    /// A phone of `user` registers `contacts` (port index, optional `expires` parameter).
    Register {
        user: usize,
        contacts: Vec<(u16, Option<u64>)>,
        header_expires: Option<u64>,
    },
    /// `Contact: *` with `Expires: 0`.
    UnregisterAll { user: usize },
    /// Time passes and the timer runs.
    Advance { secs: u64 },
    /// The shell answers the oldest outstanding keep-alive.
    KeepaliveResult { ok: bool },
}

const USERS: [&str; 2] = ["1001", "1002"];
const PASSWORDS: [&str; 2] = ["s3cret", "hunter2"];

fn expires() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(30),
        Just(60),
        Just(120),
        Just(300),
        Just(7200)
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (
            0..2usize,
            prop::collection::vec((0..4u16, prop::option::of(expires())), 1..4),
            prop::option::of(expires()),
        )
            .prop_map(|(user, contacts, header_expires)| Step::Register { user, contacts, header_expires }),
        1 => (0..2usize).prop_map(|user| Step::UnregisterAll { user }),
        3 => (0..200u64).prop_map(|secs| Step::Advance { secs }),
        2 => any::<bool>().prop_map(|ok| Step::KeepaliveResult { ok }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn availability_events_track_bindings_and_limits_hold(script in prop::collection::vec(step(), 1..40)) {
        let mut cfg = config();
        cfg.max_contacts_per_aor = 3;
        cfg.keepalive_interval = Duration::from_secs(45);
        cfg.keepalive_failures = 2;
        let mut reg = Registrar::new(cfg, 99);
        let t0 = Instant::now();
        let mut now = t0;
        let mut phones: Vec<Phone> = (0..2)
            .map(|u| Phone::new(USERS[u], PASSWORDS[u], "", &format!("203.0.113.{}:5060", u + 1)))
            .collect();
        let mut announced: HashMap<String, bool> = HashMap::new();
        let mut probes: Vec<KeepaliveProbe> = Vec::new();

        for step in script {
            match step {
                Step::Register { user, contacts: list, header_expires } => {
                    let phone = &mut phones[user];
                    phone.contact = list
                        .iter()
                        .map(|(port, e)| match e {
                            Some(e) => format!("<sip:{}@10.0.0.9:{}>;expires={e}", USERS[user], 5060 + port),
                            None => format!("<sip:{}@10.0.0.9:{}>", USERS[user], 5060 + port),
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    let extra = header_expires.map(|e| format!("Expires: {e}\r\n")).unwrap_or_default();
                    let response = phone.register(&mut reg, now, &extra);
                    let code = status(&response);
                    prop_assert!([200, 403, 423].contains(&code), "unexpected {}", code);
                    if code == 200 {
                        prop_assert_eq!(contacts(&response).len(), reg.bindings(USERS[user]).count());
                    }
                }
                Step::UnregisterAll { user } => {
                    let phone = &mut phones[user];
                    phone.contact = "*".into();
                    let response = phone.register(&mut reg, now, "Expires: 0\r\n");
                    prop_assert_eq!(status(&response), 200);
                    prop_assert!(!reg.is_available(USERS[user]));
                }
                Step::Advance { secs } => {
                    now += Duration::from_secs(secs);
                    reg.handle_timeout(now);
                    for user in USERS {
                        prop_assert!(reg.bindings(user).all(|b| b.expires_at > now));
                    }
                }
                Step::KeepaliveResult { ok } => {
                    if !probes.is_empty() {
                        let probe = probes.remove(0);
                        reg.handle_keepalive_result(now, probe.binding, ok);
                    }
                }
            }
            while let Some(output) = reg.poll_output() {
                match output {
                    RegistrarOutput::Event(RegistrarEvent::AgentAvailable { user }) => {
                        let was = announced.insert(user, true).unwrap_or(false);
                        prop_assert!(!was, "AgentAvailable twice in a row");
                    }
                    RegistrarOutput::Event(RegistrarEvent::AgentUnavailable { user }) => {
                        let was = announced.insert(user, false).unwrap_or(false);
                        prop_assert!(was, "AgentUnavailable without AgentAvailable");
                    }
                    RegistrarOutput::Event(_) => {}
                    RegistrarOutput::SendKeepalive(probe) => probes.push(probe),
                }
            }
            let mut total = 0;
            for user in USERS {
                let count = reg.bindings(user).count();
                total += count;
                prop_assert!(count <= 3);
                prop_assert_eq!(reg.is_available(user), count > 0);
                prop_assert_eq!(announced.get(user).copied().unwrap_or(false), count > 0);
            }
            prop_assert_eq!(reg.binding_count(), total);
            prop_assert_eq!(reg.poll_timeout().is_some(), total > 0);
            if let Some(deadline) = reg.poll_timeout() {
                prop_assert!(deadline > now, "a due timer was left behind");
            }
        }
    }

    #[test]
    fn odd_contact_expires_and_authorization_values_never_panic(
        contact in "[ -~]{0,60}",
        expires in "[ -~]{0,12}",
        authorization in "[ -~]{0,120}",
    ) {
        let mut reg = Registrar::new(config(), 5);
        let t0 = Instant::now();
        let mut phone = alice();
        phone.contact = contact;
        let extra = format!("Expires: {expires}\r\n");
        // Through the challenge and with the generated credentials; the request may not even parse.
        let raw_extra = format!("{extra}Authorization: {authorization}\r\n");
        let contact_line = phone.contact_line();
        let text = format!(
            "REGISTER sip:{REALM} SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK1\r\n\
             From: <sip:1001@{REALM}>;tag=a\r\nTo: <sip:1001@{REALM}>\r\nCall-ID: c\r\n\
             CSeq: 1 REGISTER\r\n{contact_line}{raw_extra}Content-Length: 0\r\n\r\n"
        );
        if let Ok(request) = Request::try_from(text.as_bytes()) {
            let _ = reg.handle_register(t0, &request, phone.peer);
        }
        if let Ok(request) = Request::try_from(format!(
            "REGISTER sip:{REALM} SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK1\r\n\
             From: <sip:1001@{REALM}>;tag=a\r\nTo: <sip:1001@{REALM}>\r\nCall-ID: c\r\n\
             CSeq: 1 REGISTER\r\n{contact_line}{extra}Content-Length: 0\r\n\r\n"
        ).as_bytes()) {
            let challenge = reg.handle_register(t0, &request, phone.peer);
            let _ = phone.send_auth(&mut reg, t0, &challenge, "MD5", &extra);
        }
    }
}
