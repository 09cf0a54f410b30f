use std::time::Duration;

use super::{Fixture, cdr, event, t};
use crate::{CallInProgress, EventFilter, QueueLogLine, StoreError};

fn end_lines(call_id: &str) -> Vec<QueueLogLine> {
    vec![QueueLogLine::complete_caller(
        t(62),
        call_id,
        "support",
        "alice",
        Duration::from_secs(10),
        Duration::from_secs(50),
        1,
    )]
}

#[test]
fn finish_call_commits_cdr_queue_log_and_events_together() {
    let fx = Fixture::new();
    let mut store = fx.open();
    store
        .call_started(&CallInProgress::new("c1", t(0), "queued"), t(0))
        .unwrap();
    let done = store
        .finish_call(
            &cdr("c1", 0),
            &end_lines("c1"),
            &[event(62, "CallEnded", Some("c1"))],
        )
        .unwrap();
    assert_eq!(done.seqs, vec![1]);
    assert!(done.exported);
    assert_eq!(store.cdr("c1").unwrap(), Some(cdr("c1", 0)));
    assert_eq!(
        store.queue_log_of_call("c1").unwrap(),
        vec!["1700000062|c1|support|alice|COMPLETECALLER|10|50|1\n"]
    );
    assert!(store.calls_in_progress().unwrap().is_empty());
    assert_eq!(fx.read(fx.master_csv()), cdr("c1", 0).to_master_csv_line());
    assert_eq!(
        fx.read(fx.queue_log()),
        "1700000062|c1|support|alice|COMPLETECALLER|10|50|1\n"
    );
}

#[test]
fn finish_call_failing_midway_leaves_nothing_behind() {
    let fx = Fixture::new();
    let mut store = fx.open();
    store
        .call_started(&CallInProgress::new("c1", t(0), "connected"), t(0))
        .unwrap();
    store.faults.fail_before_cdr = true;
    let err = store.finish_call(
        &cdr("c1", 0),
        &end_lines("c1"),
        &[event(62, "CallEnded", Some("c1"))],
    );
    assert!(matches!(err, Err(StoreError::Corrupt { .. })), "{err:?}");

    assert_eq!(store.head_seq().unwrap(), 0);
    assert!(
        store
            .read_after(0, 10, &EventFilter::default())
            .unwrap()
            .events
            .is_empty()
    );
    assert!(store.queue_log_of_call("c1").unwrap().is_empty());
    assert_eq!(store.cdr("c1").unwrap(), None);
    assert_eq!(
        store.calls_in_progress().unwrap().len(),
        1,
        "the call is still in progress"
    );
    assert_eq!(fx.read(fx.master_csv()), "");
    assert_eq!(fx.read(fx.queue_log()), "");

    store.faults.fail_before_cdr = false;
    let done = store
        .finish_call(
            &cdr("c1", 0),
            &end_lines("c1"),
            &[event(62, "CallEnded", Some("c1"))],
        )
        .unwrap();
    assert_eq!(done.seqs, vec![1], "the failed attempt consumed no seq");
    assert_eq!(fx.read(fx.master_csv()).lines().count(), 1);
}

#[test]
fn a_call_ends_exactly_once() {
    let fx = Fixture::new();
    let mut store = fx.open();
    store
        .finish_call(&cdr("c1", 0), &end_lines("c1"), &[])
        .unwrap();
    let again = store.finish_call(&cdr("c1", 0), &end_lines("c1"), &[]);
    assert!(matches!(again, Err(StoreError::DuplicateCdr(ref id)) if id == "c1"));
    assert_eq!(store.queue_log_of_call("c1").unwrap().len(), 1);
    assert_eq!(fx.read(fx.master_csv()).lines().count(), 1);
}

#[test]
fn record_writes_queue_log_lines_of_a_live_call_and_member_events() {
    let fx = Fixture::new();
    let mut store = fx.open();
    let lines = [
        QueueLogLine::add_member(t(0), "support", "alice", false),
        QueueLogLine::enter_queue(t(1), "c1", "support", "", "+4930123456", 1),
        QueueLogLine::ring_no_answer(t(16), "c1", "support", "bob", Duration::from_millis(15_000)),
        QueueLogLine::connect(
            t(20),
            "c1",
            "support",
            "alice",
            Duration::from_secs(19),
            "leg-2",
            Duration::from_secs(4),
        ),
    ];
    let seqs = store
        .record(&lines, &[event(1, "CallQueued", Some("c1"))])
        .unwrap();
    assert_eq!(seqs, vec![1]);
    assert_eq!(
        fx.read(fx.queue_log()),
        "1700000000|NONE|support|alice|ADDMEMBER|\n\
         1700000001|c1|support|NONE|ENTERQUEUE||+4930123456|1\n\
         1700000016|c1|support|bob|RINGNOANSWER|15000\n\
         1700000020|c1|support|alice|CONNECT|19|leg-2|4\n"
    );
    assert_eq!(store.queue_log_of_call("c1").unwrap().len(), 3);
}

#[test]
fn callbacks_survive_reopen_until_removed() {
    let fx = Fixture::new();
    let mut store = fx.open();
    let cb = |id: &str, at| crate::CallbackEntry {
        id: id.into(),
        queue: "sales".into(),
        number: "+4930999".into(),
        name: "Jane".into(),
        requested: t(at),
        due: None,
        priority: 0,
        call_id: Some("c1".into()),
        data: r#"{"menu":"1"}"#.into(),
    };
    store.save_callback(&cb("cb2", 20)).unwrap();
    store.save_callback(&cb("cb1", 10)).unwrap();
    drop(store);
    let mut store = fx.open();
    assert_eq!(
        store.callbacks().unwrap(),
        vec![cb("cb1", 10), cb("cb2", 20)]
    );
    assert!(store.remove_callback("cb1").unwrap());
    assert!(!store.remove_callback("cb1").unwrap());
    assert_eq!(store.callbacks().unwrap(), vec![cb("cb2", 20)]);
}

#[test]
fn sql_shaped_caller_data_is_stored_verbatim_and_never_runs() {
    // Strings a caller controls (From user and display name, DNIS, IVR digits relayed as call
    // data) reach SQLite only as bound parameters: they come back byte-exact, tables survive,
    // and a lookup by an injection-shaped id matches nothing else.
    let fx = Fixture::new();
    let mut store = fx.open();
    let hostile = "x'); DROP TABLE cdr; --";
    let mut record = cdr(hostile, 0);
    record.src = "' OR '1'='1".into();
    record.clid = "\"Robert'); DROP TABLE queue_log;--\" <sip:bobby@tables>".into();
    record.dst = "201\"; DELETE FROM journal; --".into();
    record.userfield = "\0nul and ; semicolons; \u{202e}rtl".into();
    store
        .finish_call(
            &record,
            &end_lines(hostile),
            &[event(62, "CallEnded", Some(hostile))],
        )
        .unwrap();
    store
        .finish_call(&cdr("plain", 100), &end_lines("plain"), &[])
        .unwrap();
    assert_eq!(store.cdr(hostile).unwrap(), Some(record));
    assert_eq!(store.cdr("' OR '1'='1").unwrap(), None);
    assert_eq!(store.cdr("x' OR 1=1 --").unwrap(), None);
    assert_eq!(store.cdr("plain").unwrap(), Some(cdr("plain", 100)));
    assert_eq!(store.queue_log_of_call(hostile).unwrap().len(), 1);
    assert_eq!(store.head_seq().unwrap(), 1);
}
