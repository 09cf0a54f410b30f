//! Each class of bad configuration is refused with the right problem at the right place.

use std::path::Path;

use switchboard_config::{ConfigError, ConfigProblem, ItemKind, RequirementProblem};

fn refuse(text: &str) -> ConfigError {
    match switchboard_config::parse(text, Path::new("bad.toml")) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(error) => error,
    }
}

/// Line and column of the error, checked with its Display.
fn at(error: &ConfigError) -> (u32, u32) {
    let shown = error.to_string();
    let prefix = format!("bad.toml:{}:{}: ", error.line, error.column);
    assert!(shown.starts_with(&prefix), "{shown}");
    (error.line, error.column)
}

const BASE: &str = "[skills]\nsupport = \"Support\"\n\n[[agent]]\nid = \"1001\"\npassword = \"secret\"\nskills = { support = 5 }\n\n[[queue]]\nname = \"support\"\n";

#[test]
fn missing_file_is_an_io_error_naming_the_path() {
    let error = switchboard_config::load(Path::new("/nonexistent/switchboard.toml")).unwrap_err();
    assert!(matches!(
        error.problem,
        ConfigProblem::Io {
            kind: std::io::ErrorKind::NotFound,
            ..
        }
    ));
    assert_eq!(error.file, Path::new("/nonexistent/switchboard.toml"));
    assert!(
        error
            .to_string()
            .starts_with("/nonexistent/switchboard.toml: "),
        "{error}"
    );
}

#[test]
fn toml_syntax_error_points_at_the_bad_token() {
    let error = refuse("[server]\nsip_listen = 127.0.0.1:5060\n");
    assert!(
        matches!(error.problem, ConfigProblem::Syntax { .. }),
        "{error}"
    );
    // TOML reads `127.0` as a float and stops at the second dot.
    assert_eq!(at(&error), (2, 19));
}

#[test]
fn key_defined_twice_is_a_syntax_error_at_the_second() {
    let error = refuse("[sip]\nrealm = \"a\"\nrealm = \"b\"\n");
    assert!(
        matches!(error.problem, ConfigProblem::Syntax { .. }),
        "{error}"
    );
    assert_eq!(at(&error).0, 3);
}

#[test]
fn unknown_key_is_refused_at_the_key() {
    let error = refuse(&format!("{BASE}ring_timeout = 15\n"));
    assert_eq!(
        error.problem,
        ConfigProblem::UnknownKey {
            key: "ring_timeout".into(),
            expected: error_expected(&error),
        }
    );
    assert_eq!(at(&error), (11, 1));
}

fn error_expected(error: &ConfigError) -> String {
    match &error.problem {
        ConfigProblem::UnknownKey { expected, .. } => {
            assert!(expected.contains("`ring_timeout_seconds`"), "{expected}");
            expected.clone()
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_key_in_a_nested_section_and_unknown_section() {
    let error = refuse("[sip.registrar]\nmin_expires = 60\n");
    assert!(
        matches!(&error.problem, ConfigProblem::UnknownKey { key, .. } if key == "min_expires")
    );
    assert_eq!(at(&error), (2, 1));
    let error = refuse("[[queues]]\nname = \"x\"\n");
    assert!(matches!(&error.problem, ConfigProblem::UnknownKey { key, .. } if key == "queues"));
    assert_eq!(at(&error).0, 1);
}

#[test]
fn missing_required_key_points_at_its_table() {
    let error = refuse("[[agent]]\nid = \"1001\"\n");
    assert_eq!(
        error.problem,
        ConfigProblem::MissingKey {
            key: "password".into()
        }
    );
    assert_eq!(at(&error).0, 1);
}

#[test]
fn wrong_type_points_at_the_value() {
    let error = refuse("[[queue]]\nname = \"q\"\nrecord = \"yes\"\n");
    assert!(
        matches!(error.problem, ConfigProblem::WrongType { .. }),
        "{error}"
    );
    assert_eq!(at(&error), (3, 10));
}

#[test]
fn unparsable_socket_address_points_at_the_value() {
    let error = refuse("[server]\ngrpc_listen = \"localhost:50051\"\n");
    assert_eq!(
        error.problem,
        ConfigProblem::InvalidSocketAddr {
            key: "grpc_listen",
            value: "localhost:50051".into()
        }
    );
    assert_eq!(at(&error), (2, 15));
}

#[test]
fn bad_cidr_is_refused_and_host_bits_get_a_suggestion() {
    let error = refuse("[[trunk]]\nname = \"t\"\nsources = [\"10.0.0.0/8\", \"10.0.0.0/33\"]\n");
    assert!(
        matches!(error.problem, ConfigProblem::InvalidCidr { .. }),
        "{error}"
    );
    assert_eq!(at(&error), (3, 26));
    let error = refuse("[[trunk]]\nname = \"t\"\nsources = [\"10.1.2.3/8\"]\n");
    match &error.problem {
        ConfigProblem::InvalidCidr { reason, .. } => {
            assert!(reason.contains("10.0.0.0/8"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    let error = refuse("[[trunk]]\nname = \"t\"\nsources = [\"not-an-ip\"]\n");
    assert!(
        matches!(error.problem, ConfigProblem::InvalidCidr { .. }),
        "{error}"
    );
}

#[test]
fn out_of_range_numbers_point_at_the_value() {
    let error = refuse(&format!("{BASE}ring_timeout_seconds = 0\n"));
    assert_eq!(
        error.problem,
        ConfigProblem::OutOfRange {
            key: "ring_timeout_seconds",
            value: 0,
            min: 1,
            max: 3600
        }
    );
    assert_eq!(at(&error), (11, 24));
    let error = refuse(
        "[skills]\nsupport = \"\"\n[[agent]]\nid = \"a\"\npassword = \"p\"\nskills = { support = 11 }\n",
    );
    assert!(matches!(
        error.problem,
        ConfigProblem::OutOfRange {
            key: "skills",
            value: 11,
            ..
        }
    ));
    assert_eq!(at(&error), (6, 22));
    let error = refuse("[sip]\nt1_ms = -500\n");
    assert!(matches!(
        error.problem,
        ConfigProblem::OutOfRange {
            key: "t1_ms",
            value: -500,
            ..
        }
    ));
}

#[test]
fn unknown_strategy_points_at_the_value() {
    let error = refuse(&format!("{BASE}strategy = \"ringall\"\n"));
    assert_eq!(
        error.problem,
        ConfigProblem::UnknownStrategy {
            value: "ringall".into()
        }
    );
    assert_eq!(at(&error), (11, 12));
    assert!(error.to_string().contains("ring-all"), "{error}");
}

#[test]
fn unknown_digest_algorithm_and_log_level() {
    let error = refuse("[sip.registrar]\ndigest_algorithms = [\"MD5\", \"SHA-1\"]\n");
    assert_eq!(
        error.problem,
        ConfigProblem::UnknownDigestAlgorithm {
            value: "SHA-1".into()
        }
    );
    assert_eq!(at(&error), (2, 29));
    let error = refuse("[server]\nlog_level = \"verbose\"\n");
    assert_eq!(
        error.problem,
        ConfigProblem::UnknownLogLevel {
            value: "verbose".into()
        }
    );
}

#[test]
fn empty_names_and_passwords_are_refused() {
    let error = refuse("[[queue]]\nname = \"\"\n");
    assert_eq!(error.problem, ConfigProblem::Empty { key: "name" });
    assert_eq!(at(&error), (2, 8));
    let error = refuse("[[agent]]\nid = \"1001\"\npassword = \"\"\n");
    assert_eq!(error.problem, ConfigProblem::Empty { key: "password" });
    let error = refuse("[[trunk]]\nname = \"t\"\nsources = []\n");
    assert_eq!(error.problem, ConfigProblem::Empty { key: "sources" });
}

#[test]
fn names_with_forbidden_characters_are_refused() {
    let error = refuse("[[queue]]\nname = \"tech support\"\n");
    assert!(matches!(
        error.problem,
        ConfigProblem::InvalidName { key: "name", .. }
    ));
    let error = refuse("[skills]\n\"2nd-line\" = \"\"\n");
    assert!(matches!(
        error.problem,
        ConfigProblem::InvalidName { key: "skills", .. }
    ));
    assert_eq!(at(&error), (2, 1));
    let error = refuse("[skills]\nand = \"\"\n");
    assert!(matches!(error.problem, ConfigProblem::InvalidName { .. }));
}

#[test]
fn bad_contact_uri_is_refused() {
    let error = refuse("[[agent]]\nid = \"a\"\npassword = \"p\"\ncontact = \"http://pbx\"\n");
    assert_eq!(
        error.problem,
        ConfigProblem::InvalidUri {
            key: "contact",
            value: "http://pbx".into()
        }
    );
    assert_eq!(at(&error), (4, 11));
    for unreachable in [
        "sip:a@pbx.example.com",
        "sips:a@10.0.0.1",
        "sip:a@10.0.0.1;transport=tcp",
    ] {
        let error = refuse(&format!(
            "[[agent]]\nid = \"a\"\npassword = \"p\"\ncontact = \"{unreachable}\"\n"
        ));
        assert_eq!(
            error.problem,
            ConfigProblem::UnreachableContact {
                key: "contact",
                value: unreachable.into()
            }
        );
        assert_eq!(at(&error), (4, 11));
    }
    for reachable in [
        "sip:a@10.0.0.1",
        "sip:a@[::1]:5070;transport=UDP",
        "sip:10.0.0.1:5062",
    ] {
        switchboard_config::parse(
            &format!("[[agent]]\nid = \"a\"\npassword = \"p\"\ncontact = \"{reachable}\"\n"),
            Path::new("ok.toml"),
        )
        .unwrap();
    }
}

#[test]
fn duplicate_agent_points_at_the_second_and_names_the_first_line() {
    let error = refuse(&format!(
        "{BASE}\n[[agent]]\nid = \"1001\"\npassword = \"x\"\n"
    ));
    assert_eq!(
        error.problem,
        ConfigProblem::Duplicate {
            kind: ItemKind::Agent,
            name: "1001".into(),
            first_line: 5
        }
    );
    assert_eq!(at(&error), (13, 6));
}

#[test]
fn duplicate_queue_route_trunk_source_and_ivr() {
    let error = refuse(&format!("{BASE}[[queue]]\nname = \"support\"\n"));
    assert!(matches!(
        error.problem,
        ConfigProblem::Duplicate {
            kind: ItemKind::Queue,
            first_line: 10,
            ..
        }
    ));
    assert_eq!(at(&error), (12, 8));
    let error = refuse(
        "[[ivr]]\nname = \"m\"\n[[route]]\ndnis = \"1\"\nivr = \"m\"\n[[route]]\ndnis = \"1\"\nivr = \"m\"\n",
    );
    assert!(matches!(
        error.problem,
        ConfigProblem::Duplicate {
            kind: ItemKind::Route,
            first_line: 4,
            ..
        }
    ));
    assert_eq!(at(&error), (7, 8));
    let error = refuse(
        "[[trunk]]\nname = \"a\"\nsources = [\"10.0.0.0/8\"]\n[[trunk]]\nname = \"b\"\nsources = [\"10.0.0.0/8\"]\n",
    );
    assert!(matches!(
        error.problem,
        ConfigProblem::Duplicate {
            kind: ItemKind::TrunkSource,
            first_line: 3,
            ..
        }
    ));
    let error = refuse("[[ivr]]\nname = \"m\"\n[[ivr]]\nname = \"m\"\n");
    assert!(matches!(
        error.problem,
        ConfigProblem::Duplicate {
            kind: ItemKind::Ivr,
            ..
        }
    ));
}

#[test]
fn queue_requiring_an_undeclared_skill_points_into_the_expression() {
    let error = refuse(&format!(
        "{BASE}requirement = \"support >= 1 and french\"\n"
    ));
    assert_eq!(
        error.problem,
        ConfigProblem::UnknownReference {
            kind: ItemKind::Skill,
            name: "french".into()
        }
    );
    // The string's contents start at column 16; "support >= 1 and " is 17 more.
    assert_eq!(at(&error), (11, 33));
}

#[test]
fn agent_with_an_undeclared_skill_points_at_the_skill() {
    let error = refuse(
        "[skills]\nsupport = \"\"\n[[agent]]\nid = \"a\"\npassword = \"p\"\nskills = { support = 1, sales = 2 }\n",
    );
    assert_eq!(
        error.problem,
        ConfigProblem::UnknownReference {
            kind: ItemKind::Skill,
            name: "sales".into()
        }
    );
    assert_eq!(at(&error), (6, 25));
}

#[test]
fn routes_to_unknown_queue_ivr_or_agent_are_refused_at_the_reference() {
    let error = refuse(&format!(
        "{BASE}[[route]]\ndnis = \"201\"\nqueue = \"suport\"\n"
    ));
    assert_eq!(
        error.problem,
        ConfigProblem::UnknownReference {
            kind: ItemKind::Queue,
            name: "suport".into()
        }
    );
    assert_eq!(at(&error), (13, 9));
    let error = refuse("[[route]]\ndnis = \"200\"\nivr = \"main\"\n");
    assert_eq!(
        error.problem,
        ConfigProblem::UnknownReference {
            kind: ItemKind::Ivr,
            name: "main".into()
        }
    );
    assert_eq!(at(&error), (3, 7));
    let error = refuse("[[route]]\ndnis = \"300\"\nagent = \"9999\"\n");
    assert_eq!(
        error.problem,
        ConfigProblem::UnknownReference {
            kind: ItemKind::Agent,
            name: "9999".into()
        }
    );
}

#[test]
fn overflow_to_an_unknown_queue_is_refused() {
    let error = refuse(&format!("{BASE}overflow = {{ queue = \"nowhere\" }}\n"));
    assert_eq!(
        error.problem,
        ConfigProblem::UnknownReference {
            kind: ItemKind::Queue,
            name: "nowhere".into()
        }
    );
    assert_eq!(at(&error), (11, 22));
}

#[test]
fn route_needs_exactly_one_target() {
    let error = refuse("[[route]]\ndnis = \"1\"\n");
    assert_eq!(error.problem, ConfigProblem::TargetCount { found: 0 });
    assert_eq!(at(&error), (2, 8));
    let error = refuse(&format!(
        "{BASE}[[route]]\ndnis = \"1\"\nqueue = \"support\"\nagent = \"1001\"\n"
    ));
    assert_eq!(error.problem, ConfigProblem::TargetCount { found: 2 });
    assert_eq!(at(&error), (14, 9));
}

#[test]
fn requirement_syntax_error_points_at_the_character() {
    let error = refuse(&format!("{BASE}requirement = \"support => 1\"\n"));
    match &error.problem {
        ConfigProblem::Requirement(inner) => {
            assert_eq!(inner.problem, RequirementProblem::Unexpected('='));
            assert_eq!(inner.offset, 8);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(at(&error), (11, 24));
}

#[test]
fn requirement_steps_must_start_at_zero_and_increase() {
    let error = refuse(&format!(
        "{BASE}requirement = [{{ skills = \"support\", after_seconds = 5 }}]\n"
    ));
    assert_eq!(
        error.problem,
        ConfigProblem::FirstStepDelayed { after_seconds: 5 }
    );
    let error = refuse(&format!(
        "{BASE}requirement = [\n  {{ skills = \"support >= 3\" }},\n  {{ skills = \"support\", after_seconds = 0 }},\n]\n"
    ));
    assert_eq!(
        error.problem,
        ConfigProblem::StepsOutOfOrder {
            previous: 0,
            this: 0
        }
    );
    assert_eq!(at(&error), (13, 41));
    let error = refuse(&format!(
        "{BASE}requirement = [{{ skill = \"support\" }}]\n"
    ));
    assert!(
        matches!(&error.problem, ConfigProblem::UnknownKey { key, .. } if key == "skill"),
        "{error}"
    );
}

#[test]
fn misordered_timers_and_expiries_are_refused() {
    let error = refuse("[sip]\nt1_ms = 5000\nt2_ms = 4000\n");
    assert!(matches!(
        error.problem,
        ConfigProblem::Misordered {
            lower: "t1_ms",
            upper: "t2_ms",
            ..
        }
    ));
    assert_eq!(at(&error), (3, 9));
    let error = refuse("[sip.registrar]\nmin_expires_seconds = 900\n");
    assert!(matches!(
        error.problem,
        ConfigProblem::Misordered {
            lower: "min_expires_seconds",
            upper: "default_expires_seconds",
            ..
        }
    ));
}

#[test]
fn overflow_loop_between_queues_is_refused() {
    let error = refuse(
        "[[queue]]\nname = \"a\"\noverflow = { queue = \"b\" }\n[[queue]]\nname = \"b\"\noverflow = { queue = \"a\" }\n",
    );
    assert_eq!(
        error.problem,
        ConfigProblem::OverflowCycle {
            queues: vec!["a".into(), "b".into(), "a".into()]
        }
    );
    assert_eq!(at(&error).0, 3);
    let error = refuse("[[queue]]\nname = \"a\"\noverflow = { queue = \"a\" }\n");
    assert!(matches!(error.problem, ConfigProblem::OverflowCycle { .. }));
}

#[test]
fn empty_step_list_and_level_above_ten_in_an_expression() {
    let error = refuse(&format!("{BASE}requirement = []\n"));
    assert_eq!(error.problem, ConfigProblem::Empty { key: "requirement" });
    assert_eq!(at(&error), (11, 15));
    let error = refuse(&format!("{BASE}requirement = 'support >= 12'\n"));
    match &error.problem {
        ConfigProblem::Requirement(inner) => {
            assert_eq!(inner.problem, RequirementProblem::LevelOutOfRange(12));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(at(&error), (11, 27));
}

#[test]
fn route_to_a_uri_must_be_a_sip_uri() {
    let config = switchboard_config::parse(
        "[[route]]\ndnis = \"+15550100\"\nuri = \"sip:voicemail@[2001:db8::20]:5070\"\n",
        Path::new("ok.toml"),
    )
    .unwrap();
    assert!(matches!(
        config.route("+15550100").map(|r| &r.target),
        Some(switchboard_config::Target::Uri(_))
    ));
    let error = refuse("[[route]]\ndnis = \"1\"\nuri = \"voicemail@host\"\n");
    assert_eq!(
        error.problem,
        ConfigProblem::InvalidUri {
            key: "uri",
            value: "voicemail@host".into()
        }
    );
    assert_eq!(at(&error), (3, 7));
}

#[test]
fn digest_algorithm_offered_twice_is_a_duplicate() {
    let error = refuse("[sip.registrar]\ndigest_algorithms = [\"MD5\", \"md5\"]\n");
    assert!(matches!(
        error.problem,
        ConfigProblem::Duplicate {
            kind: ItemKind::DigestAlgorithm,
            first_line: 2,
            ..
        }
    ));
    assert_eq!(at(&error), (2, 29));
}

#[test]
fn media_port_range_must_hold_a_pair_and_stay_in_range() {
    let err = switchboard_config::parse(
        "[media]\nrtp_port_min = 30000\nrtp_port_max = 30000\n",
        std::path::Path::new("m.toml"),
    )
    .unwrap_err();
    assert!(
        matches!(
            err.problem,
            switchboard_config::ConfigProblem::Misordered { .. }
        ),
        "{err}"
    );
    assert_eq!((err.line, err.column), (3, 16));
    let err = switchboard_config::parse(
        "[media]\nrtp_port_min = 80\n",
        std::path::Path::new("m.toml"),
    )
    .unwrap_err();
    assert!(
        matches!(
            err.problem,
            switchboard_config::ConfigProblem::OutOfRange { .. }
        ),
        "{err}"
    );
    assert_eq!((err.line, err.column), (2, 16));
    let err = switchboard_config::parse("[media]\nrtp_ports = 1\n", std::path::Path::new("m.toml"))
        .unwrap_err();
    assert!(
        matches!(
            err.problem,
            switchboard_config::ConfigProblem::UnknownKey { .. }
        ),
        "{err}"
    );
}

const TRUNK: &str = "[[trunk]]\nname = \"carrier\"\nsources = [\"192.0.2.0/24\"]\n";

#[test]
fn trunk_dialing_keys_without_outbound_are_refused_at_the_key() {
    let error = refuse(&format!("{TRUNK}caller_id = \"2000\"\n"));
    assert_eq!(
        error.problem,
        ConfigProblem::Requires {
            key: "caller_id",
            requires: "outbound"
        }
    );
    assert_eq!(at(&error), (4, 13));
}

#[test]
fn trunk_username_without_password_is_refused() {
    let error = refuse(&format!(
        "{TRUNK}outbound = \"192.0.2.1:5060\"\nusername = \"sb\"\n"
    ));
    assert_eq!(
        error.problem,
        ConfigProblem::Requires {
            key: "username",
            requires: "password"
        }
    );
    assert_eq!(at(&error), (5, 12));
}

#[test]
fn trunk_outbound_must_be_an_ip_and_port() {
    let error = refuse(&format!("{TRUNK}outbound = \"carrier.example:5060\"\n"));
    assert!(
        matches!(&error.problem, ConfigProblem::InvalidSocketAddr { key, .. } if *key == "outbound"),
        "{error}"
    );
    assert_eq!(at(&error), (4, 12));
}

#[test]
fn trunk_caller_id_and_prefix_must_be_numbers() {
    let error = refuse(&format!(
        "{TRUNK}outbound = \"192.0.2.1:5060\"\ndial_prefix = \"9x\"\n"
    ));
    assert_eq!(
        error.problem,
        ConfigProblem::InvalidNumber {
            key: "dial_prefix",
            value: "9x".into()
        }
    );
    assert_eq!(at(&error), (5, 15));
}

#[test]
fn two_default_outbound_trunks_are_refused_at_the_second() {
    let error = refuse(&format!(
        "{TRUNK}outbound = \"192.0.2.1:5060\"\noutbound_default = true\n\n\
         [[trunk]]\nname = \"backup\"\nsources = [\"198.51.100.0/24\"]\n\
         outbound = \"198.51.100.1:5060\"\noutbound_default = true\n"
    ));
    assert_eq!(
        error.problem,
        ConfigProblem::SecondOutboundDefault {
            name: "backup".into(),
            first_line: 2
        }
    );
    assert_eq!(at(&error).0, 8);
}
