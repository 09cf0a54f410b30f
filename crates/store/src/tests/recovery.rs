use std::time::Duration;

use super::{Fixture, cdr, t};
use crate::{
    CallInProgress, Disposition, END_REASON_RESTART, EventFilter, HangupSide, NewEvent, QueueStay,
};

fn ended(cdr: &crate::Cdr) -> NewEvent {
    let mut e = NewEvent::new(cdr.end, "CallEnded", cdr.end_reason.clone().into_bytes());
    e.call_id = Some(cdr.call_id.clone());
    e
}

fn queued(call_id: &str, connected: Option<u64>) -> CallInProgress {
    let mut call = CallInProgress::new(call_id, t(0), "queued");
    call.src = "+4930123456".into();
    call.dst = "201".into();
    call.answered = Some(t(1));
    call.queue = Some(QueueStay {
        queue: "support".into(),
        entered: t(5),
        orig_position: 3,
        position: 2,
        connected: connected.map(t),
    });
    call.agent = connected.map(|_| "alice".into());
    call
}

#[test]
fn calls_left_in_progress_by_a_crash_are_closed_with_reason_restart() {
    let fx = Fixture::new();
    let mut store = fx.open();
    store
        .call_started(&CallInProgress::new("ivr", t(0), "ivr"), t(0))
        .unwrap();
    store.call_started(&queued("waiting", None), t(0)).unwrap();
    store
        .call_updated(&queued("talking", Some(25)), t(25))
        .unwrap();
    store.call_started(&queued("done", None), t(0)).unwrap();
    store.finish_call(&cdr("done", 0), &[], &[]).unwrap();
    std::mem::forget(store); // kill -9

    let mut store = fx.open();
    assert_eq!(store.calls_in_progress().unwrap().len(), 3);
    let head = store.head_seq().unwrap();
    let cdrs = store.recover_after_restart(t(65), ended).unwrap();
    let ids: Vec<&str> = cdrs.iter().map(|c| c.call_id.as_str()).collect();
    assert_eq!(ids, vec!["ivr", "talking", "waiting"]);
    assert!(store.calls_in_progress().unwrap().is_empty());

    for c in &cdrs {
        assert_eq!(c.end_reason, END_REASON_RESTART);
        assert_eq!(c.hangup_side, Some(HangupSide::System));
        assert_eq!(c.end, t(65));
        assert_eq!(store.cdr(&c.call_id).unwrap().as_ref(), Some(c));
    }
    let ivr = &cdrs[0];
    assert_eq!(
        (ivr.disposition, ivr.answer, ivr.queue.as_deref()),
        (Disposition::NoAnswer, None, None)
    );
    assert_eq!(cdrs[2].wait_seconds, Some(60));
    assert_eq!(cdrs[1].wait_seconds, Some(20));
    assert_eq!(cdrs[1].billsec(), 64);

    assert!(store.queue_log_of_call("ivr").unwrap().is_empty());
    assert_eq!(
        store.queue_log_of_call("waiting").unwrap(),
        vec!["1700000065|waiting|support|NONE|ABANDON|2|3|60\n"]
    );
    assert_eq!(
        store.queue_log_of_call("talking").unwrap(),
        vec!["1700000065|talking|support|alice|COMPLETEAGENT|20|40|3\n"]
    );
    let page = store.read_after(head, 10, &EventFilter::default()).unwrap();
    let ended_calls: Vec<_> = page
        .events
        .iter()
        .map(|e| e.event.call_id.clone().unwrap())
        .collect();
    assert_eq!(ended_calls, vec!["ivr", "talking", "waiting"]);
    assert!(page.events.iter().all(|e| e.event.kind == "CallEnded"));
    drop(store);

    assert_eq!(fx.read(fx.master_csv()).lines().count(), 4);
    assert!(fx.read(fx.master_csv()).contains(r#""system","restart""#));
    // A second start finds nothing left to close.
    let mut store = fx.open();
    assert!(
        store
            .recover_after_restart(t(100), ended)
            .unwrap()
            .is_empty()
    );
    let _ = Duration::ZERO;
}

#[test]
fn in_progress_rows_round_trip_every_field() {
    let fx = Fixture::new();
    let mut store = fx.open();
    let mut call = queued("c1", Some(25));
    call.recording_path = Some("/rec/c1.wav".into());
    call.data = r#"{"menu":"2"}"#.into();
    call.clid = "\"Jane\" <+4930123456>".into();
    store.call_started(&call, t(0)).unwrap();
    assert_eq!(store.calls_in_progress().unwrap(), vec![call.clone()]);
    assert!(store.call_finished("c1").unwrap());
    assert!(store.calls_in_progress().unwrap().is_empty());
}
