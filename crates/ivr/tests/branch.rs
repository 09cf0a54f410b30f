//! Branches on call data, time of day and queue state; set templates; route overrides; the
//! step limit.

mod common;

use std::time::Duration;

use common::{Call, MONDAY_10_00_UTC, flow, played, routed_queue};
use switchboard_ivr::{
    HangupReason, IvrAction, IvrInput, QUEUE_STATE_TIMEOUT, QueueState, RouteTarget,
};

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

/// Open Mon-Fri 09:00-17:00 and Sat 10:00-13:00, Paris winter time.
fn office_hours() -> switchboard_ivr::Flow {
    flow(
        r#"
        name = "hours"
        entry = "check"
        utc_offset = "+01:00"
        [nodes.check]
        type = "branch"
        cases = [
            { days = ["mon-fri"], hours = "09:00-17:00", next = "open" },
            { days = ["sat"], hours = "10:00-13:00", next = "open" },
        ]
        default = "closed"
        [nodes.open]
        type = "route"
        queue = "support"
        [nodes.closed]
        type = "hangup"
        prompts = ["closed"]
        "#,
    )
}

fn is_open_at(unix: u64) -> bool {
    let mut call = Call::new(office_hours());
    let actions = call.start_at(unix);
    match routed_queue(&actions) {
        Some(_) => true,
        None => {
            assert_eq!(played(&actions), [["closed"]]);
            false
        }
    }
}

#[test]
fn time_of_day_branch_reads_the_wall_clock_in_the_flows_utc_offset() {
    // Monday 10:00 UTC = 11:00 in Paris: open.
    assert!(is_open_at(MONDAY_10_00_UTC));
    // Monday 07:59 UTC = 08:59 local: closed; 08:00 UTC = 09:00 local: open.
    assert!(!is_open_at(MONDAY_10_00_UTC - 2 * HOUR - 60));
    assert!(is_open_at(MONDAY_10_00_UTC - 2 * HOUR));
    // 16:00 UTC = 17:00 local: the window's end is exclusive.
    assert!(!is_open_at(MONDAY_10_00_UTC + 6 * HOUR));
    // Saturday 11:00 local open, Sunday 11:00 local closed.
    assert!(is_open_at(MONDAY_10_00_UTC + 5 * DAY));
    assert!(!is_open_at(MONDAY_10_00_UTC + 6 * DAY));
}

#[test]
fn the_wall_clock_advances_with_the_monotonic_now_during_the_call() {
    let mut call = Call::new(flow(
        r#"
        name = "late"
        entry = "hello"
        [nodes.hello]
        type = "play"
        prompts = ["welcome"]
        next = "check"
        [nodes.check]
        type = "branch"
        cases = [{ hours = "09:00-17:00", next = "open" }]
        default = "closed"
        [nodes.open]
        type = "route"
        queue = "support"
        [nodes.closed]
        type = "hangup"
        "#,
    ));
    // 16:59:50 UTC at the start; the welcome lasts 20 s.
    call.start_at(MONDAY_10_00_UTC + 7 * HOUR - 10);
    call.advance(Duration::from_secs(20));
    let actions = call.finish_playback();
    assert!(actions.contains(&IvrAction::Hangup {
        reason: HangupReason::HangupNode
    }));
}

#[test]
fn a_new_wall_clock_reading_replaces_the_old_one() {
    let mut call = Call::new(flow(
        r#"
        name = "late"
        entry = "hello"
        [nodes.hello]
        type = "play"
        prompts = ["welcome"]
        next = "check"
        [nodes.check]
        type = "branch"
        cases = [{ hours = "09:00-17:00", next = "open" }]
        default = "closed"
        [nodes.open]
        type = "route"
        queue = "support"
        [nodes.closed]
        type = "hangup"
        "#,
    ));
    call.start_at(MONDAY_10_00_UTC - 3 * HOUR);
    // The host's clock was stepped: it is really 10:00.
    call.input(IvrInput::WallClock(common::wall(MONDAY_10_00_UTC)));
    let actions = call.finish_playback();
    assert_eq!(routed_queue(&actions).as_deref(), Some("support"));
}

fn ewt_flow() -> switchboard_ivr::Flow {
    flow(
        r#"
        name = "ewt"
        entry = "check"
        [nodes.check]
        type = "branch"
        cases = [
            { queue = "support", ewt_above_seconds = 300, next = "overflow" },
            { queue = "support", agents_ready_below = 1, calls_waiting_above = 10, next = "overflow" },
        ]
        default = "support"
        [nodes.support]
        type = "route"
        queue = "support"
        [nodes.overflow]
        type = "route"
        uri = "sip:voicemail@192.0.2.20"
        "#,
    )
}

fn support_state(ewt_seconds: u64, agents_ready: u32, calls_waiting: u32) -> QueueState {
    QueueState {
        ewt: Duration::from_secs(ewt_seconds),
        agents_ready,
        calls_waiting,
    }
}

fn overflowed(actions: &[IvrAction]) -> bool {
    actions.iter().any(|a| {
        matches!(a, IvrAction::Route { target: RouteTarget::Uri(uri), .. }
            if uri.as_str() == "sip:voicemail@192.0.2.20")
    })
}

#[test]
fn queue_state_branch_asks_the_host_and_overflows_when_ewt_is_over_the_threshold() {
    let mut call = Call::new(ewt_flow());
    let actions = call.start();
    assert_eq!(
        actions,
        [IvrAction::AskQueueState {
            queue: "support".into()
        }]
    );
    assert_eq!(
        call.session.poll_timeout(),
        Some(call.now + QUEUE_STATE_TIMEOUT)
    );
    let actions = call.answer_queue("support", support_state(301, 2, 3));
    assert!(overflowed(&actions));
}

#[test]
fn queue_state_branch_routes_to_the_queue_when_ewt_is_under_the_threshold() {
    let mut call = Call::new(ewt_flow());
    call.start();
    let actions = call.answer_queue("support", support_state(300, 2, 30));
    // The same answer serves the second case of the same queue: no second question.
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, IvrAction::AskQueueState { .. }))
    );
    assert_eq!(routed_queue(&actions).as_deref(), Some("support"));
}

#[test]
fn every_test_of_a_queue_case_must_hold() {
    let mut call = Call::new(ewt_flow());
    call.start();
    let actions = call.answer_queue("support", support_state(10, 0, 11));
    assert!(overflowed(&actions));
}

#[test]
fn an_unanswered_queue_question_times_out_and_its_cases_do_not_hold() {
    let mut call = Call::new(ewt_flow());
    call.start();
    // An answer about another queue is not the answer.
    assert!(
        call.answer_queue("sales", support_state(999, 0, 99))
            .is_empty()
    );
    let actions = call.fire_timeout();
    assert_eq!(call.elapsed(), QUEUE_STATE_TIMEOUT);
    assert_eq!(routed_queue(&actions).as_deref(), Some("support"));
}

#[test]
fn data_branch_and_set_templates_use_call_data() {
    let text = r#"
        name = "vip"
        entry = "tag"
        [nodes.tag]
        type = "set"
        data = "label"
        value = "from ${caller} ($$5 plan)"
        next = "check"
        [nodes.check]
        type = "branch"
        cases = [
            { data = "caller", starts_with = "+331", next = "paris" },
            { data = "tier", one_of = ["gold", "platinum"], next = "vip" },
            { data = "tier", is_set = false, next = "unknown" },
        ]
        default = "normal"
        [nodes.paris]
        type = "route"
        queue = "paris"
        [nodes.vip]
        type = "route"
        queue = "support"
        priority = 9
        skills = "support >= 3"
        [nodes.unknown]
        type = "route"
        agent = "1001"
        [nodes.normal]
        type = "route"
        queue = "support"
    "#;
    let mut call = Call::with_data(flow(text), &[("caller", "+33142000000")]);
    let actions = call.start();
    assert_eq!(
        actions[0],
        IvrAction::SetData {
            key: "label".into(),
            value: "from +33142000000 ($5 plan)".into()
        }
    );
    assert_eq!(routed_queue(&actions).as_deref(), Some("paris"));

    let mut call = Call::with_data(flow(text), &[("caller", "+4930"), ("tier", "gold")]);
    let actions = call.start();
    let route = actions
        .iter()
        .find(|a| matches!(a, IvrAction::Route { .. }))
        .unwrap();
    let IvrAction::Route {
        target,
        priority,
        requirement,
    } = route
    else {
        unreachable!()
    };
    assert_eq!(target, &RouteTarget::Queue("support".into()));
    assert_eq!(*priority, Some(9));
    assert_eq!(
        requirement.as_ref().map(ToString::to_string).as_deref(),
        Some("support >= 3")
    );

    let mut call = Call::with_data(flow(text), &[("caller", "+4930")]);
    let actions = call.start();
    assert!(actions.iter().any(|a| matches!(a,
        IvrAction::Route { target: RouteTarget::Agent(agent), .. } if agent.as_str() == "1001")));

    let mut call = Call::with_data(flow(text), &[("caller", "+4930"), ("tier", "silver")]);
    assert_eq!(routed_queue(&call.start()).as_deref(), Some("support"));
}

#[test]
fn a_caller_going_round_a_menu_loop_is_hung_up_at_max_steps() {
    let mut call = Call::new(flow(
        r#"
        name = "loop"
        entry = "menu"
        max_steps = 5
        [nodes.menu]
        type = "collect"
        prompts = ["menu"]
        retries = 0
        choices = { 1 = "info", 2 = "agent" }
        on_no_input = "info"
        on_failure = "menu-again"
        [nodes.info]
        type = "play"
        prompts = ["opening-hours"]
        next = "menu"
        [nodes.menu-again]
        type = "goto"
        next = "menu"
        [nodes.agent]
        type = "route"
        queue = "support"
        "#,
    ));
    call.start(); // step 1: menu
    call.finish_playback();
    call.digit('1'); // step 2: info
    call.finish_playback(); // step 3: menu
    call.finish_playback();
    call.digit('9'); // steps 4, 5: menu-again, menu
    call.finish_playback();
    let actions = call.digit('1'); // step 6: over the limit
    assert_eq!(
        actions,
        [
            IvrAction::Hangup {
                reason: HangupReason::StepLimit
            },
            IvrAction::Finished
        ]
    );
}

#[test]
fn digits_typed_while_a_queue_is_consulted_answer_the_next_question() {
    let mut call = Call::new(flow(
        r#"
        name = "ahead"
        entry = "hello"
        [nodes.hello]
        type = "play"
        prompts = ["welcome"]
        barge_in = true
        next = "check"
        [nodes.check]
        type = "branch"
        cases = [{ queue = "sales", agents_ready_below = 1, next = "closed" }]
        default = "menu"
        [nodes.menu]
        type = "collect"
        prompts = ["menu"]
        max_digits = 2
        store = "choice"
        next = "done"
        on_failure = "done"
        [nodes.closed]
        type = "hangup"
        [nodes.done]
        type = "hangup"
        "#,
    ));
    call.start();
    call.digit('4'); // barges in on the welcome, then the branch asks about sales
    call.digit('2'); // typed while the host answers
    let actions = call.answer_queue("sales", support_state(0, 3, 0));
    assert_eq!(played(&actions), Vec::<Vec<String>>::new());
    assert_eq!(call.data("choice"), Some("42"));
}
