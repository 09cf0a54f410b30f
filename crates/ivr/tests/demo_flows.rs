//! The demo flows in config/ivr/, driven as a call would drive them.

mod common;

use std::time::Duration;

use common::{Call, demo_flow, ends_with_finished, played, routed_queue};
use switchboard_ivr::{HangupReason, IvrAction, NodeId};

fn menu_call() -> Call {
    let mut call = Call::new(demo_flow("main"));
    let actions = call.start();
    assert_eq!(played(&actions), [["welcome"]]);
    let actions = call.finish_playback();
    assert!(actions.contains(&IvrAction::CollectStarted {
        node: NodeId::from("menu"),
        attempt: 0
    }));
    assert_eq!(played(&actions), [["press-1-sales-2-support"]]);
    call
}

#[test]
fn pressing_1_routes_to_sales_with_menu_sales() {
    let mut call = menu_call();
    call.finish_playback();
    let actions = call.digit('1');
    assert_eq!(routed_queue(&actions).as_deref(), Some("sales"));
    assert!(actions.contains(&IvrAction::SetData {
        key: "menu".into(),
        value: "sales".into()
    }));
    assert!(ends_with_finished(&actions));
    assert_eq!(call.data("menu"), Some("sales"));
    assert!(call.session.is_finished());
    assert_eq!(call.session.poll_timeout(), None);
}

#[test]
fn pressing_2_routes_to_support_with_menu_support() {
    let mut call = menu_call();
    call.finish_playback();
    let actions = call.digit('2');
    assert_eq!(routed_queue(&actions).as_deref(), Some("support"));
    assert_eq!(call.data("menu"), Some("support"));
}

#[test]
fn five_seconds_of_silence_after_the_question_routes_to_support() {
    let mut call = menu_call();
    call.finish_playback();
    // Nothing happens a moment before the first-digit timeout…
    assert!(call.advance(Duration::from_millis(4_999)).is_empty());
    // …and at 5 s the caller goes to support at once, without a retry.
    let actions = call.advance(Duration::from_millis(1));
    assert_eq!(played(&actions), Vec::<Vec<String>>::new());
    assert_eq!(routed_queue(&actions).as_deref(), Some("support"));
    assert_eq!(call.data("menu"), Some("support"));
}

#[test]
fn the_first_digit_timeout_starts_when_the_question_ends_not_when_it_starts() {
    let mut call = menu_call();
    // The prompt is long; the caller is not timed while it plays.
    assert_eq!(call.session.poll_timeout(), None);
    call.advance(Duration::from_secs(30));
    call.finish_playback();
    assert_eq!(
        call.session.poll_timeout(),
        Some(call.now + Duration::from_secs(5))
    );
}

#[test]
fn an_invalid_digit_plays_invalid_then_asks_again_and_a_valid_retry_is_taken() {
    let mut call = menu_call();
    call.finish_playback();
    let actions = call.digit('7');
    assert_eq!(played(&actions), [["invalid", "press-1-sales-2-support"]]);
    assert!(actions.contains(&IvrAction::CollectStarted {
        node: NodeId::from("menu"),
        attempt: 1
    }));
    call.finish_playback();
    let actions = call.digit('1');
    assert_eq!(routed_queue(&actions).as_deref(), Some("sales"));
}

#[test]
fn three_invalid_answers_use_up_the_retries_and_route_to_support() {
    let mut call = menu_call();
    for attempt in 1..=2 {
        call.finish_playback();
        let actions = call.digit('9');
        assert!(actions.contains(&IvrAction::CollectStarted {
            node: NodeId::from("menu"),
            attempt
        }));
    }
    call.finish_playback();
    let actions = call.digit('9');
    assert_eq!(played(&actions), Vec::<Vec<String>>::new());
    assert_eq!(routed_queue(&actions).as_deref(), Some("support"));
}

#[test]
fn pressing_1_during_the_welcome_stops_it_and_skips_the_question() {
    let mut call = Call::new(demo_flow("main"));
    call.start();
    let playback = call.playing.expect("welcome plays");
    let actions = call.digit('1');
    assert_eq!(actions[0], IvrAction::StopPlayback { playback });
    // The question is not played: the caller has already answered it.
    assert_eq!(played(&actions), Vec::<Vec<String>>::new());
    assert_eq!(routed_queue(&actions).as_deref(), Some("sales"));
    assert_eq!(call.data("menu"), Some("sales"));
}

#[test]
fn a_digit_during_the_question_stops_it_and_is_the_answer() {
    let mut call = menu_call();
    let playback = call.playing.expect("question plays");
    let actions = call.digit('2');
    assert_eq!(actions[0], IvrAction::StopPlayback { playback });
    assert_eq!(routed_queue(&actions).as_deref(), Some("support"));
}

#[test]
fn a_late_finish_for_a_stopped_prompt_is_not_taken_for_the_retry_prompt() {
    let mut call = menu_call();
    let question = call.playing.expect("question plays");
    call.digit('5'); // barges in, invalid: "invalid" + question again
    let retry = call.playing.expect("retry plays");
    assert_ne!(question, retry);
    // The media layer reports the stopped playback anyway.
    let actions = call.input(switchboard_ivr::IvrInput::PlaybackFinished { playback: question });
    assert!(actions.is_empty());
    // Still prompting: no first-digit timer yet.
    assert_eq!(call.session.poll_timeout(), None);
}

#[test]
fn survey_stores_the_score_thanks_and_hangs_up() {
    let mut call = Call::new(demo_flow("survey"));
    let actions = call.start();
    assert_eq!(played(&actions), [["survey-rate-1-5"]]);
    call.finish_playback();
    let actions = call.digit('4');
    assert!(actions.contains(&IvrAction::SetData {
        key: "survey_score".into(),
        value: "4".into()
    }));
    assert_eq!(played(&actions), [["thank-you"]]);
    // The thanks is heard to its end before the hang-up.
    assert!(!call.session.is_finished());
    let actions = call.finish_playback();
    assert_eq!(
        actions,
        [
            IvrAction::Hangup {
                reason: HangupReason::HangupNode
            },
            IvrAction::Finished
        ]
    );
}

#[test]
fn survey_refuses_a_score_outside_1_to_5_and_asks_once_more() {
    let mut call = Call::new(demo_flow("survey"));
    call.start();
    call.finish_playback();
    let actions = call.digit('7');
    assert_eq!(played(&actions), [["invalid", "survey-rate-1-5"]]);
    assert_eq!(call.data("survey_score"), None);
    call.finish_playback();
    let actions = call.digit('0');
    // Retries used up: goodbye without a score.
    assert!(actions.contains(&IvrAction::Hangup {
        reason: HangupReason::HangupNode
    }));
    assert_eq!(call.data("survey_score"), None);
}

#[test]
fn survey_silence_hangs_up_without_a_score() {
    let mut call = Call::new(demo_flow("survey"));
    call.start();
    call.finish_playback();
    let actions = call.fire_timeout();
    assert!(actions.contains(&IvrAction::Hangup {
        reason: HangupReason::HangupNode
    }));
    assert_eq!(call.elapsed(), Duration::from_secs(5));
    assert_eq!(call.data("survey_score"), None);
}
