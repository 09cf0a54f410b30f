//! Digit collection semantics (Asterisk Read() / FreeSWITCH play_and_get_digits) on inline
//! flows.

mod common;

use std::time::Duration;

use common::{Call, flow, played};
use switchboard_ivr::{IvrAction, NodeId};

/// An account-number style question: 2 to 4 digits, `#` ends early.
fn account(extra: &str) -> Call {
    Call::new(flow(&format!(
        r#"
        name = "account"
        entry = "ask"
        [nodes.ask]
        type = "collect"
        prompts = ["enter-account"]
        min_digits = 2
        max_digits = 4
        inter_digit_timeout_ms = 2000
        first_digit_timeout_ms = 6000
        retries = 1
        invalid_prompts = ["invalid"]
        store = "account"
        next = "done"
        on_failure = "failed"
        {extra}
        [nodes.done]
        type = "hangup"
        [nodes.failed]
        type = "hangup"
        prompts = ["sorry"]
        "#
    )))
}

fn hung_up(actions: &[IvrAction]) -> bool {
    actions
        .iter()
        .any(|a| matches!(a, IvrAction::Hangup { .. }))
}

#[test]
fn reaching_max_digits_completes_the_answer_at_once() {
    let mut call = account("");
    call.start();
    call.finish_playback();
    call.digits("123");
    assert_eq!(call.data("account"), None);
    let actions = call.digit('4');
    assert!(hung_up(&actions));
    assert_eq!(call.data("account"), Some("1234"));
}

#[test]
fn the_inter_digit_timeout_completes_a_partial_answer() {
    let mut call = account("");
    call.start();
    call.finish_playback();
    call.digit('4');
    call.advance(Duration::from_millis(1_500));
    call.digit('2');
    // The timer restarts with each digit: 1.9 s after the second digit, nothing yet.
    assert!(call.advance(Duration::from_millis(1_900)).is_empty());
    let actions = call.advance(Duration::from_millis(100));
    assert!(hung_up(&actions));
    assert_eq!(call.data("account"), Some("42"));
}

#[test]
fn an_inter_digit_timeout_below_min_digits_is_an_invalid_answer() {
    let mut call = account("");
    call.start();
    call.finish_playback();
    call.digit('4');
    let actions = call.fire_timeout();
    assert_eq!(played(&actions), [["invalid", "enter-account"]]);
    assert_eq!(call.data("account"), None);
}

#[test]
fn the_terminator_ends_the_answer_early_and_is_not_stored() {
    let mut call = account("");
    call.start();
    call.finish_playback();
    call.digits("12");
    let actions = call.digit('#');
    assert!(hung_up(&actions));
    assert_eq!(call.data("account"), Some("12"));
}

#[test]
fn the_terminator_alone_is_an_invalid_answer() {
    let mut call = account("");
    call.start();
    call.finish_playback();
    let actions = call.digit('#');
    assert_eq!(played(&actions), [["invalid", "enter-account"]]);
}

#[test]
fn a_custom_terminator_replaces_hash() {
    let mut call = account(r#"terminator = "*""#);
    call.start();
    call.finish_playback();
    call.digits("12");
    call.digit('*');
    assert_eq!(call.data("account"), Some("12"));
}

#[test]
fn without_barge_in_digits_typed_over_the_prompt_are_kept_and_judged_when_it_ends() {
    let mut call = account("barge_in = false");
    call.start();
    let actions = call.digits("12#");
    // The prompt is not stopped and nothing is decided yet.
    assert!(actions.is_empty());
    let actions = call.finish_playback();
    assert!(hung_up(&actions));
    assert_eq!(call.data("account"), Some("12"));
}

#[test]
fn without_barge_in_a_partial_answer_waits_the_inter_digit_timeout_after_the_prompt() {
    let mut call = account("barge_in = false");
    call.start();
    call.digit('7');
    call.finish_playback();
    assert_eq!(
        call.session.poll_timeout(),
        Some(call.now + Duration::from_secs(2))
    );
    call.digits("78");
    assert!(
        call.fire_timeout()
            .iter()
            .any(|a| matches!(a, IvrAction::Hangup { .. }))
    );
    assert_eq!(call.data("account"), Some("778"));
}

#[test]
fn with_barge_in_the_first_digit_stops_the_prompt_and_later_digits_are_collected() {
    let mut call = account("");
    call.start();
    let playback = call.playing.unwrap();
    let actions = call.digit('5');
    assert_eq!(actions, [IvrAction::StopPlayback { playback }]);
    call.digits("55");
    call.digit('#');
    assert_eq!(call.data("account"), Some("555"));
}

#[test]
fn keys_outside_the_digit_set_make_the_answer_invalid() {
    let mut call = account("");
    call.start();
    call.finish_playback();
    // `A` is a DTMF key, but not in the default digit set (0-9 and *).
    let actions = call.digits("1A#");
    assert_eq!(played(&actions), [["invalid", "enter-account"]]);
}

#[test]
fn silence_without_on_no_input_retries_with_the_no_input_prompts_then_fails() {
    let mut call = account(r#"no_input_prompts = ["are-you-there"]"#);
    call.start();
    call.finish_playback();
    let actions = call.fire_timeout();
    assert_eq!(call.elapsed(), Duration::from_secs(6));
    assert_eq!(played(&actions), [["are-you-there", "enter-account"]]);
    assert!(actions.contains(&IvrAction::CollectStarted {
        node: NodeId::from("ask"),
        attempt: 1
    }));
    call.finish_playback();
    let actions = call.fire_timeout();
    // Retries used up: on_failure, whose hangup plays "sorry" first.
    assert_eq!(played(&actions), [["sorry"]]);
    call.finish_playback();
    assert!(call.session.is_finished());
}

#[test]
fn silence_falls_back_to_the_invalid_prompts_when_no_input_prompts_are_not_given() {
    let mut call = account("");
    call.start();
    call.finish_playback();
    let actions = call.fire_timeout();
    assert_eq!(played(&actions), [["invalid", "enter-account"]]);
}

#[test]
fn min_digits_zero_accepts_an_empty_answer_on_the_terminator() {
    let mut call = Call::new(flow(
        r#"
        name = "ext"
        entry = "ask"
        [nodes.ask]
        type = "collect"
        prompts = ["extension-or-hash"]
        min_digits = 0
        max_digits = 3
        store = "extension"
        next = "done"
        on_failure = "done"
        [nodes.done]
        type = "hangup"
        "#,
    ));
    call.start();
    call.finish_playback();
    let actions = call.digit('#');
    assert!(actions.contains(&IvrAction::SetData {
        key: "extension".into(),
        value: String::new()
    }));
}

#[test]
fn lower_case_dtmf_letters_are_accepted_as_upper_case() {
    let mut call = Call::new(flow(
        r#"
        name = "letters"
        entry = "ask"
        [nodes.ask]
        type = "collect"
        prompts = ["q"]
        digits = "ABCD"
        store = "letter"
        next = "done"
        on_failure = "done"
        [nodes.done]
        type = "hangup"
        "#,
    ));
    call.start();
    call.finish_playback();
    call.digit('c');
    assert_eq!(call.data("letter"), Some("C"));
}

#[test]
fn a_character_that_is_not_dtmf_is_refused_and_changes_nothing() {
    let mut call = account("");
    call.start();
    call.finish_playback();
    let before = call.session.poll_timeout();
    let error = call
        .session
        .handle_input(call.now, switchboard_ivr::IvrInput::Digit('x'))
        .unwrap_err();
    assert_eq!(error, switchboard_ivr::InputError::NotDtmf('X'));
    assert_eq!(call.session.poll_timeout(), before);
}

#[test]
fn on_no_input_wins_over_an_empty_answer_when_min_digits_is_zero() {
    let mut call = Call::new(flow(
        r#"
        name = "optional"
        entry = "ask"
        [nodes.ask]
        type = "collect"
        prompts = ["q"]
        min_digits = 0
        store = "answer"
        next = "answered"
        on_no_input = "silent"
        on_failure = "answered"
        [nodes.answered]
        type = "route"
        queue = "a"
        [nodes.silent]
        type = "route"
        queue = "s"
        "#,
    ));
    call.start();
    call.finish_playback();
    let actions = call.fire_timeout();
    assert_eq!(common::routed_queue(&actions).as_deref(), Some("s"));
    assert_eq!(call.data("answer"), None);
}
