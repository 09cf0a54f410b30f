//! Flow validation: each class of mistake is refused with a precise problem at the right
//! line:column.

use std::path::Path;

use switchboard_ivr::{FlowError, FlowProblem, ReferenceTarget};

const HEAD: &str = "name = \"t\"\nentry = \"a\"\n";

/// Parses `HEAD + body` (so the body starts on line 3) and returns the error.
fn refused(body: &str) -> FlowError {
    let text = format!("{HEAD}{body}");
    match switchboard_ivr::parse(&text, Path::new("t.toml")) {
        Ok(flow) => panic!("accepted: {flow:?}"),
        Err(error) => error,
    }
}

fn at(error: &FlowError) -> (u32, u32) {
    (error.line, error.column)
}

const PLAY_A: &str = "[nodes.a]\ntype = \"play\"\nprompts = [\"p\"]\nnext = \"b\"\n";
const HANGUP_B: &str = "[nodes.b]\ntype = \"hangup\"\n";

#[test]
fn the_base_flow_of_these_tests_is_valid() {
    let text = format!("{HEAD}{PLAY_A}{HANGUP_B}");
    let flow = switchboard_ivr::parse(&text, Path::new("t.toml")).unwrap();
    assert_eq!(flow.entry(), &"a");
    assert_eq!(flow.nodes().count(), 2);
}

#[test]
fn the_demo_flows_are_valid_and_name_their_references() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/ivr");
    let main = switchboard_ivr::load(&root.join("main.toml")).unwrap();
    let queues: Vec<(String, u32)> = main
        .references()
        .iter()
        .map(|r| match &r.target {
            ReferenceTarget::Queue(q) => (q.to_string(), r.line),
            other => panic!("{other:?}"),
        })
        .collect();
    // The lines where the file writes them.
    let text = std::fs::read_to_string(root.join("main.toml")).unwrap();
    let line_of = |needle: &str| {
        u32::try_from(text.lines().position(|line| line == needle).unwrap() + 1).unwrap()
    };
    assert_eq!(
        queues,
        [
            ("sales".into(), line_of("queue = \"sales\"")),
            ("support".into(), line_of("queue = \"support\""))
        ]
    );
    let survey = switchboard_ivr::load(&root.join("survey.toml")).unwrap();
    assert!(survey.references().is_empty());

    // And every queue they name exists in the demo configuration.
    let config = switchboard_config::load(&root.join("../switchboard.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    main.check_against(&config).unwrap();
    survey.check_against(&config).unwrap();
}

#[test]
fn check_against_the_configuration_refuses_unknown_queues_agents_and_skills() {
    let config = switchboard_config::parse(
        "[skills]\nsupport = \"Support\"\n[[agent]]\nid = \"1001\"\npassword = \"x\"\n\
         [[queue]]\nname = \"support\"\n",
        Path::new("switchboard.toml"),
    )
    .unwrap();
    let routes = |keys: &str| {
        let text = format!("{HEAD}[nodes.a]\ntype = \"route\"\n{keys}\n");
        switchboard_ivr::parse(&text, Path::new("t.toml")).unwrap()
    };
    routes("queue = \"support\"\nskills = \"support >= 2\"")
        .check_against(&config)
        .unwrap();
    routes("agent = \"1001\"").check_against(&config).unwrap();
    routes("uri = \"sip:vm@192.0.2.1\"")
        .check_against(&config)
        .unwrap();

    let error = routes("queue = \"billing\"")
        .check_against(&config)
        .unwrap_err();
    assert_eq!(
        error.problem,
        FlowProblem::UnknownReference {
            kind: "queue",
            name: "billing".into()
        }
    );
    assert_eq!(at(&error), (5, 9));
    assert!(
        error
            .to_string()
            .starts_with("t.toml:5:9: unknown queue `billing`")
    );

    let error = routes("agent = \"2002\"")
        .check_against(&config)
        .unwrap_err();
    assert!(matches!(
        error.problem,
        FlowProblem::UnknownReference { kind: "agent", .. }
    ));

    let error = routes("queue = \"support\"\nskills = \"support >= 1 and french >= 2\"")
        .check_against(&config)
        .unwrap_err();
    assert_eq!(
        error.problem,
        FlowProblem::UnknownReference {
            kind: "skill",
            name: "french".into()
        }
    );
    // `french` is the expression's 18th character; the expression opens at column 11.
    assert_eq!(at(&error), (6, 28));

    let branch = format!(
        "{HEAD}[nodes.a]\ntype = \"branch\"\ncases = [{{ queue = \"sales\", agents_ready_below = 1, next = \"b\" }}]\ndefault = \"b\"\n{HANGUP_B}"
    );
    let flow = switchboard_ivr::parse(&branch, Path::new("t.toml")).unwrap();
    let error = flow.check_against(&config).unwrap_err();
    assert!(matches!(
        error.problem,
        FlowProblem::UnknownReference { kind: "queue", .. }
    ));
    assert_eq!(at(&error), (5, 20));
}

#[test]
fn toml_syntax_errors_are_positioned() {
    let error = refused("[nodes.a]\ntype = \n");
    assert!(
        matches!(error.problem, FlowProblem::Syntax { .. }),
        "{error}"
    );
    assert_eq!(error.line, 4);
}

#[test]
fn a_node_declared_twice_is_a_syntax_error() {
    let error = refused(&format!("{PLAY_A}{HANGUP_B}{HANGUP_B}"));
    assert!(
        matches!(error.problem, FlowProblem::Syntax { .. }),
        "{error}"
    );
    assert_eq!(error.line, 9);
}

#[test]
fn a_misspelt_key_is_refused_at_the_key() {
    let error = refused("[nodes.a]\ntype = \"play\"\npromts = [\"p\"]\nnext = \"b\"\n");
    assert!(
        matches!(&error.problem, FlowProblem::UnknownKey { key, .. } if key == "promts"),
        "{error}"
    );
    assert_eq!(at(&error), (5, 1));
    assert!(
        error
            .to_string()
            .starts_with("t.toml:5:1: unknown key `promts`")
    );
}

#[test]
fn an_unknown_node_type_is_refused_at_its_value() {
    let error = refused("[nodes.a]\ntype = \"speak\"\n");
    assert_eq!(
        error.problem,
        FlowProblem::UnknownNodeType {
            value: "speak".into()
        }
    );
    assert_eq!(at(&error), (4, 8));
}

#[test]
fn a_key_of_another_node_type_is_refused_at_its_value() {
    let error = refused(&format!("{PLAY_A}max_digits = 3\n{HANGUP_B}"));
    assert_eq!(
        error.problem,
        FlowProblem::KeyNotForNodeType {
            key: "max_digits",
            node_type: "play"
        }
    );
    assert_eq!(at(&error), (7, 14));
}

#[test]
fn a_node_missing_a_key_its_type_needs_is_refused() {
    let error = refused("[nodes.a]\ntype = \"play\"\nprompts = [\"p\"]\n");
    assert_eq!(
        error.problem,
        FlowProblem::NodeKeyMissing {
            key: "next",
            node_type: "play"
        }
    );
    assert_eq!(error.line, 3);
}

#[test]
fn a_reference_to_an_undeclared_node_is_refused_where_it_is_written() {
    let error = refused("[nodes.a]\ntype = \"play\"\nprompts = [\"p\"]\nnext = \"nowhere\"\n");
    assert_eq!(
        error.problem,
        FlowProblem::UnknownNode {
            name: "nowhere".into()
        }
    );
    assert_eq!(at(&error), (6, 8));
}

#[test]
fn an_undeclared_entry_is_refused_at_entry() {
    let text = format!("name = \"t\"\nentry = \"start\"\n{PLAY_A}{HANGUP_B}");
    let error = switchboard_ivr::parse(&text, Path::new("t.toml")).unwrap_err();
    assert_eq!(
        error.problem,
        FlowProblem::UnknownNode {
            name: "start".into()
        }
    );
    assert_eq!(at(&error), (2, 9));
}

#[test]
fn an_unreachable_node_is_an_error_at_its_name() {
    let error = refused(&format!(
        "{PLAY_A}{HANGUP_B}[nodes.orphan]\ntype = \"hangup\"\n"
    ));
    assert_eq!(
        error.problem,
        FlowProblem::UnreachableNode {
            name: "orphan".into()
        }
    );
    assert_eq!(at(&error), (9, 8));
}

#[test]
fn a_loop_that_never_waits_is_refused_with_its_nodes() {
    let error = refused(
        "[nodes.a]\ntype = \"set\"\ndata = \"x\"\nvalue = \"1\"\nnext = \"b\"\n\
         [nodes.b]\ntype = \"branch\"\ncases = [{ data = \"x\", equals = \"2\", next = \"c\" }]\ndefault = \"a\"\n\
         [nodes.c]\ntype = \"hangup\"\n",
    );
    assert_eq!(
        error.problem,
        FlowProblem::LoopWithoutWait {
            nodes: vec!["a".into(), "b".into(), "a".into()]
        }
    );
    assert_eq!(at(&error), (3, 8));
}

#[test]
fn a_loop_through_a_prompt_is_allowed() {
    let text = format!(
        "{HEAD}[nodes.a]\ntype = \"play\"\nprompts = [\"hold\"]\nnext = \"b\"\n\
         [nodes.b]\ntype = \"branch\"\ncases = [{{ queue = \"q\", agents_ready_below = 1, next = \"a\" }}]\ndefault = \"c\"\n\
         [nodes.c]\ntype = \"route\"\nqueue = \"q\"\n"
    );
    switchboard_ivr::parse(&text, Path::new("t.toml")).unwrap();
}

fn collect(extra: &str) -> String {
    format!(
        "[nodes.a]\ntype = \"collect\"\nprompts = [\"p\"]\non_failure = \"b\"\n{extra}\n{HANGUP_B}"
    )
}

fn bad_digits(error: &FlowError) -> (&'static str, &str) {
    match &error.problem {
        FlowProblem::BadDigits { key, value, .. } => (key, value.as_str()),
        other => panic!("{other:?} ({error})"),
    }
}

#[test]
fn a_digit_set_with_a_non_dtmf_key_is_refused() {
    let error = refused(&collect("next = \"b\"\ndigits = \"12x\""));
    assert_eq!(bad_digits(&error), ("digits", "12x"));
    assert_eq!(at(&error), (8, 10));
}

#[test]
fn a_digit_set_holding_the_terminator_is_refused() {
    let error = refused(&collect("next = \"b\"\ndigits = \"123#\""));
    assert_eq!(bad_digits(&error), ("digits", "123#"));
    assert_eq!(at(&error), (8, 10));
}

#[test]
fn a_digit_set_listing_a_key_twice_is_refused() {
    let error = refused(&collect("next = \"b\"\ndigits = \"1231\""));
    assert_eq!(bad_digits(&error), ("digits", "1231"));
}

#[test]
fn a_terminator_that_is_not_one_dtmf_key_is_refused() {
    let error = refused(&collect("next = \"b\"\nterminator = \"##\""));
    assert_eq!(bad_digits(&error), ("terminator", "##"));
    assert_eq!(at(&error), (8, 14));
}

#[test]
fn a_choice_outside_the_digit_set_is_refused_at_the_choice() {
    let error = refused(&collect(
        "digits = \"12\"\nchoices = { 1 = \"b\", 3 = \"b\" }",
    ));
    assert_eq!(bad_digits(&error), ("choices", "3"));
    assert_eq!(at(&error), (8, 22));
}

#[test]
fn a_choice_longer_than_max_digits_is_refused() {
    let error = refused(&collect("choices = { 12 = \"b\" }"));
    assert_eq!(bad_digits(&error), ("choices", "12"));
    assert_eq!(at(&error), (7, 13));
}

#[test]
fn a_collect_needs_exactly_one_of_choices_and_next() {
    let error = refused(&collect("choices = { 1 = \"b\" }\nnext = \"b\""));
    assert_eq!(
        error.problem,
        FlowProblem::OneOf {
            expected: "`choices`, `next`",
            found: 2
        }
    );
    let error = refused(&collect(""));
    assert!(matches!(error.problem, FlowProblem::OneOf { found: 0, .. }));
}

#[test]
fn numbers_out_of_range_are_refused_at_the_value() {
    let error = refused(&collect("next = \"b\"\nretries = 11"));
    assert_eq!(
        error.problem,
        FlowProblem::OutOfRange {
            key: "retries",
            value: 11,
            min: 0,
            max: 10
        }
    );
    assert_eq!(at(&error), (8, 11));
    let error = refused(&collect("next = \"b\"\nfirst_digit_timeout_ms = 0"));
    assert!(matches!(
        error.problem,
        FlowProblem::OutOfRange {
            key: "first_digit_timeout_ms",
            ..
        }
    ));
}

#[test]
fn min_digits_above_max_digits_is_refused() {
    let error = refused(&collect("next = \"b\"\nmin_digits = 4\nmax_digits = 2"));
    assert_eq!(
        error.problem,
        FlowProblem::Misordered {
            lower: "min_digits",
            lower_value: 4,
            upper: "max_digits",
            upper_value: 2
        }
    );
    assert_eq!(at(&error), (8, 14));
}

fn branch(case: &str) -> String {
    format!(
        "[nodes.a]\ntype = \"branch\"\ncases = [{{ {case}, next = \"b\" }}]\ndefault = \"b\"\n{HANGUP_B}"
    )
}

#[test]
fn a_malformed_hours_window_is_refused() {
    let error = refused(&branch("hours = \"9-17\""));
    assert_eq!(
        error.problem,
        FlowProblem::InvalidHours {
            value: "9-17".into()
        }
    );
    assert_eq!(at(&error), (5, 20));
}

#[test]
fn an_unknown_day_is_refused() {
    let error = refused(&branch("days = [\"mon-fri\", \"funday\"]"));
    assert_eq!(
        error.problem,
        FlowProblem::InvalidDay {
            value: "funday".into()
        }
    );
    assert_eq!(at(&error), (5, 31));
}

#[test]
fn a_case_mixing_condition_kinds_is_refused() {
    let error = refused(&branch(
        "data = \"x\", equals = \"1\", hours = \"09:00-17:00\"",
    ));
    assert!(
        matches!(error.problem, FlowProblem::OneOf { found: 2, .. }),
        "{error}"
    );
    assert_eq!(at(&error), (5, 10));
}

#[test]
fn a_queue_case_without_a_test_is_refused() {
    let error = refused(&branch("queue = \"support\""));
    assert_eq!(error.problem, FlowProblem::NoQueueTest);
}

#[test]
fn a_bad_utc_offset_is_refused() {
    let text = format!("{HEAD}utc_offset = \"+25:00\"\n{PLAY_A}{HANGUP_B}");
    let error = switchboard_ivr::parse(&text, Path::new("t.toml")).unwrap_err();
    assert_eq!(
        error.problem,
        FlowProblem::InvalidUtcOffset {
            value: "+25:00".into()
        }
    );
    assert_eq!(at(&error), (3, 14));
}

fn route(keys: &str) -> String {
    format!("[nodes.a]\ntype = \"route\"\n{keys}\n")
}

#[test]
fn a_route_needs_exactly_one_target() {
    let error = refused(&route("queue = \"q\"\nagent = \"1001\""));
    assert_eq!(
        error.problem,
        FlowProblem::OneOf {
            expected: "`queue`, `agent`, `uri`",
            found: 2
        }
    );
}

#[test]
fn priority_on_a_route_to_an_agent_is_refused() {
    let error = refused(&route("agent = \"1001\"\npriority = 5"));
    assert_eq!(error.problem, FlowProblem::OnlyForQueue { key: "priority" });
    assert_eq!(at(&error), (6, 12));
}

#[test]
fn a_route_to_something_not_a_sip_uri_is_refused() {
    let error = refused(&route("uri = \"http://example.com\""));
    assert!(matches!(error.problem, FlowProblem::InvalidUri { .. }));
    assert_eq!(at(&error), (5, 7));
}

#[test]
fn a_bad_skill_override_points_inside_the_expression() {
    let error = refused(&route("queue = \"q\"\nskills = \"support >= 99\""));
    assert!(
        matches!(error.problem, FlowProblem::Requirement(_)),
        "{error}"
    );
    // `99` is the 12th character of the expression, which starts at column 11.
    assert_eq!(at(&error), (6, 22));
}

#[test]
fn a_priority_above_9_is_refused() {
    let error = refused(&route("queue = \"q\"\npriority = 10"));
    assert!(matches!(
        error.problem,
        FlowProblem::OutOfRange {
            key: "priority",
            max: 9,
            ..
        }
    ));
}

#[test]
fn an_unclosed_template_placeholder_is_refused() {
    let error = refused(&format!(
        "[nodes.a]\ntype = \"set\"\ndata = \"x\"\nvalue = \"${{caller\"\nnext = \"b\"\n{HANGUP_B}"
    ));
    assert!(
        matches!(error.problem, FlowProblem::InvalidTemplate { .. }),
        "{error}"
    );
    assert_eq!(at(&error), (6, 9));
    let error = refused(&format!(
        "[nodes.a]\ntype = \"set\"\ndata = \"x\"\nvalue = \"5$\"\nnext = \"b\"\n{HANGUP_B}"
    ));
    assert!(
        matches!(error.problem, FlowProblem::InvalidTemplate { .. }),
        "{error}"
    );
}

#[test]
fn a_prompt_name_that_could_escape_the_prompt_folder_is_refused() {
    let error = refused("[nodes.a]\ntype = \"hangup\"\nprompts = [\"../../etc/passwd\"]\n");
    assert!(
        matches!(
            &error.problem,
            FlowProblem::InvalidName { key: "prompts", .. }
        ),
        "{error}"
    );
    assert_eq!(at(&error), (5, 12));
    let error = refused("[nodes.a]\ntype = \"hangup\"\nprompts = [\".hidden\"]\n");
    assert!(matches!(error.problem, FlowProblem::InvalidName { .. }));
}

#[test]
fn an_empty_prompt_list_on_a_play_node_is_refused() {
    let error = refused("[nodes.a]\ntype = \"play\"\nprompts = []\nnext = \"a\"\n");
    assert_eq!(error.problem, FlowProblem::Empty { key: "prompts" });
}

#[test]
fn a_missing_entry_is_refused() {
    let error = switchboard_ivr::parse(
        "name = \"t\"\n[nodes.a]\ntype = \"hangup\"\n",
        Path::new("t.toml"),
    )
    .unwrap_err();
    assert_eq!(
        error.problem,
        FlowProblem::MissingKey {
            key: "entry".into()
        }
    );
}

#[test]
fn load_refuses_a_flow_whose_name_is_not_its_file_name() {
    let dir = std::env::temp_dir().join(format!("switchboard-ivr-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sales.toml");
    std::fs::write(&path, format!("{HEAD}{PLAY_A}{HANGUP_B}")).unwrap();
    let error = switchboard_ivr::load(&path).unwrap_err();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(
        error.problem,
        FlowProblem::NameMismatch {
            name: "t".into(),
            file_stem: "sales".into()
        }
    );
    assert_eq!(at(&error), (1, 8));
}

#[test]
fn load_of_a_missing_file_is_an_io_error_without_position() {
    let error = switchboard_ivr::load(Path::new("/nonexistent/main.toml")).unwrap_err();
    assert!(matches!(
        error.problem,
        FlowProblem::Io {
            kind: std::io::ErrorKind::NotFound,
            ..
        }
    ));
    assert_eq!(at(&error), (0, 0));
}

#[test]
fn of_two_bad_nodes_the_first_written_is_reported() {
    let error = refused("[nodes.zeta]\ntype = \"speak\"\n[nodes.alpha]\ntype = \"shout\"\n");
    assert_eq!(
        error.problem,
        FlowProblem::UnknownNodeType {
            value: "speak".into()
        }
    );
    assert_eq!(error.line, 4);
}
