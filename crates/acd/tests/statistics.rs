//! Statistics: exactly-once counting, intervals, both service levels, ASA/AHT, EWT error, live
//! views.
mod common;

use std::time::{Duration, SystemTime};

use common::*;
use switchboard_acd::*;

#[test]
fn an_abandon_counts_once_with_its_service_level_and_short_abandon_flags() {
    let mut h = Harness::new(one_queue(1, |q| {
        q.service_level = secs(20);
        q.short_abandon = secs(5);
    }));
    h.arrive(1, "q");
    h.advance(secs(3));
    h.input(RouterInput::CallAbandoned { call: CallId(1) })
        .unwrap();
    h.arrive(2, "q");
    h.advance(secs(30));
    h.input(RouterInput::CallAbandoned { call: CallId(2) })
        .unwrap();
    assert_eq!(
        h.input(RouterInput::CallAbandoned { call: CallId(2) }),
        Err(RouterError::UnknownCall(CallId(2)))
    );
    let t = h.stats("q").totals;
    assert_eq!(
        (
            t.offered,
            t.abandoned,
            t.abandoned_within_sl,
            t.short_abandoned
        ),
        (2, 2, 1, 1)
    );
    assert_eq!(t.service_level_with_abandons(), Some(50.0));
    assert_eq!(t.service_level(), None, "nothing answered");
}

#[test]
fn abandoning_while_ringing_cancels_the_offer_and_frees_the_agent() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    h.ready("a0");
    h.arrive(1, "q");
    h.take();
    h.input(RouterInput::CallAbandoned { call: CallId(1) })
        .unwrap();
    assert!(h.take().iter().any(|d| matches!(
        d,
        Decision::CancelOffer {
            reason: CancelReason::CallerAbandoned,
            ..
        }
    )));
    assert_eq!(h.state("a0"), AgentState::Ready);
}

#[test]
fn a_connected_call_cannot_be_abandoned_and_counts_do_not_move() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    h.ready("a0");
    h.arrive(1, "q");
    h.answer(1);
    let before = h.stats("q").totals;
    assert_eq!(
        h.input(RouterInput::CallAbandoned { call: CallId(1) }),
        Err(RouterError::CallNotWaiting(CallId(1)))
    );
    assert_eq!(h.stats("q").totals, before);
}

#[test]
fn aht_is_talk_plus_wrap_up_and_average_talk_is_talk_alone() {
    let mut h = Harness::new(one_queue(1, |q| q.wrap_up = WrapUp::Timed(secs(30))));
    h.ready("a0");
    h.arrive(1, "q");
    h.answer(1);
    h.advance(secs(60));
    h.end(1);
    h.advance(secs(30));
    let t = h.stats("q").totals;
    assert_eq!(t.average_talk_time(), Some(secs(60)));
    assert_eq!(t.aht(), Some(secs(90)));
    let a = h.router.agent("a0").unwrap();
    assert_eq!((a.calls, a.talk_time), (1, secs(60)));
    assert_eq!(a.idle_since, Some(h.now));
}

#[test]
fn intervals_close_on_wall_clock_boundaries_and_totals_keep_counting() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    h.arrive(1, "q");
    h.take();
    h.advance(Duration::from_secs(15 * 60));
    let reports: Vec<IntervalReport> = h
        .take()
        .into_iter()
        .filter_map(|d| match d {
            Decision::IntervalClosed(r) => Some(*r),
            _ => None,
        })
        .collect();
    assert_eq!(reports.len(), 1);
    assert_eq!(
        reports[0].start,
        SystemTime::UNIX_EPOCH + Duration::from_secs(WALL_START)
    );
    assert_eq!(reports[0].length, Duration::from_secs(900));
    assert_eq!(reports[0].counters.offered, 1);
    h.arrive(2, "q");
    let s = h.stats("q");
    assert_eq!((s.interval.offered, s.totals.offered), (1, 2));
    assert_eq!(
        s.interval_start,
        SystemTime::UNIX_EPOCH + Duration::from_secs(WALL_START + 900)
    );
}

#[test]
fn the_first_interval_ends_at_the_next_boundary_not_a_full_length_later() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    // Re-anchor wall clock to 10 minutes into an interval: it closes 5 minutes from now.
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(WALL_START + 600);
    h.input(RouterInput::WallClock(wall)).unwrap();
    assert_eq!(h.router.poll_timeout(), Some(h.now + secs(300)));
}

#[test]
fn live_view_counts_waiting_ringing_longest_wait_and_agents_by_state() {
    let mut h = Harness::new(one_queue(3, |_| {}));
    h.not_ready("a1", "break");
    h.arrive(1, "q");
    h.advance(secs(40));
    h.arrive(2, "q");
    h.ready("a0");
    h.advance(secs(5));
    let s = h.stats("q");
    assert_eq!((s.waiting, s.ringing), (1, 1));
    assert_eq!(s.longest_wait, secs(45));
    assert_eq!(
        s.agents,
        AgentCounts {
            logged_out: 1,
            not_ready: 1,
            reserved: 1,
            ..AgentCounts::default()
        }
    );
}

#[test]
fn each_input_reports_each_touched_queue_once() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    h.ready("a0");
    h.take();
    h.arrive(1, "q");
    let changed = h
        .take()
        .iter()
        .filter(|d| matches!(d, Decision::StatsChanged { .. }))
        .count();
    assert_eq!(changed, 1);
}

#[test]
fn queued_calls_get_position_and_ewt_and_the_error_is_recorded_at_answer() {
    let mut h = Harness::new(one_queue(1, |q| q.default_handle_time = secs(120)));
    h.ready("a0");
    h.arrive(1, "q");
    h.answer(1);
    h.take();
    h.arrive(2, "q");
    let queued: Vec<(usize, Option<Duration>)> = h
        .take()
        .into_iter()
        .filter_map(|d| match d {
            Decision::Queued { position, ewt, .. } => Some((position, ewt)),
            _ => None,
        })
        .collect();
    // One agent, just started a call expected to last 120 s.
    assert_eq!(queued, [(1, Some(secs(120)))]);
    assert_eq!(
        h.router.call(CallId(2)).unwrap().predicted_wait,
        Some(secs(120))
    );
    h.advance(secs(100));
    h.end(1);
    h.answer(2);
    let t = h.stats("q").totals;
    assert_eq!(
        t.ewt_samples, 2,
        "call 1 was offered at once: predicted 0, waited 0"
    );
    assert_eq!(t.ewt_mean_abs_error(), Some(secs(10)));
    assert_eq!(t.ewt_bias_seconds(), Some(10.0));
}

#[test]
fn ewt_grows_with_position_and_shrinks_with_staffing() {
    let mut h = Harness::new(one_queue(2, |q| q.default_handle_time = secs(100)));
    h.ready("a0");
    h.arrive(1, "q");
    h.answer(1);
    for c in 2..=4 {
        h.arrive(c, "q");
    }
    let e2 = h.router.ewt(CallId(2), h.now).unwrap();
    let e4 = h.router.ewt(CallId(4), h.now).unwrap();
    assert!(e4 > e2, "{e4:?} > {e2:?}");
    h.not_ready("a1", "x");
    let one_agent = h.router.ewt(CallId(4), h.now).unwrap();
    h.ready("a1");
    h.answer(2);
    h.arrive(5, "q");
    let two_agents = h.router.ewt(CallId(5), h.now).unwrap();
    assert!(
        two_agents < one_agent + secs(100),
        "a second agent shortens the wait"
    );
    assert_eq!(
        h.router.ewt(CallId(1), h.now),
        None,
        "call 1 is connected, not waiting"
    );
}

#[test]
fn ewt_is_unknown_when_no_eligible_agent_is_staffed() {
    let mut h = Harness::new(one_queue(1, |_| {}));
    h.arrive(1, "q");
    assert_eq!(h.router.ewt(CallId(1), h.now), None);
}

#[test]
fn queue_ewt_is_the_wait_of_a_call_joining_behind_everyone_now() {
    let mut h = Harness::new(one_queue(2, |q| q.default_handle_time = secs(100)));
    assert_eq!(h.router.queue_ewt("q", h.now), None, "nobody staffed");
    assert_eq!(h.router.queue_ewt("nope", h.now), None);
    h.ready("a0");
    assert_eq!(
        h.router.queue_ewt("q", h.now),
        Some(Duration::ZERO),
        "an agent is free"
    );
    h.arrive(1, "q");
    h.answer(1);
    for c in 2..=3 {
        h.arrive(c, "q");
    }
    // A call joining now is fourth in line: behind 2 and 3, the same model as theirs.
    let joining = h.router.queue_ewt("q", h.now).unwrap();
    let last = h.router.ewt(CallId(3), h.now).unwrap();
    assert!(joining > last, "{joining:?} > {last:?}");
}
