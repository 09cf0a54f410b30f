use std::time::Duration;

use super::{Fixture, event, t};
use crate::{EventFilter, Retention, StoreError};

#[test]
fn seq_continues_and_epoch_stays_across_reopen() {
    let fx = Fixture::new();
    let mut store = fx.open();
    assert!(store.open_report().created);
    assert_eq!(store.head_seq().unwrap(), 0);
    let epoch = store.epoch();
    assert_eq!(
        store
            .append(&[event(1, "A", None), event(2, "B", None)])
            .unwrap(),
        vec![1, 2]
    );
    drop(store);

    let mut store = fx.open();
    assert!(!store.open_report().created);
    assert_eq!(store.epoch(), epoch);
    assert_eq!(store.head_seq().unwrap(), 2);
    assert_eq!(store.append(&[event(3, "C", None)]).unwrap(), vec![3]);
    let page = store.read_after(0, 10, &EventFilter::default()).unwrap();
    let seqs: Vec<u64> = page.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    assert!(page.events.iter().all(|e| e.epoch == epoch));
}

#[test]
fn a_new_database_gets_a_new_epoch() {
    let (a, b) = (Fixture::new(), Fixture::new());
    assert_ne!(a.open().epoch(), b.open().epoch());
}

#[test]
fn failed_append_consumes_no_seq() {
    let fx = Fixture::new();
    let mut store = fx.open();
    store.append(&[event(1, "A", None)]).unwrap();
    // A finish_call whose CDR insert fails rolls back its events too.
    store
        .finish_call(
            &super::cdr("c1", 0),
            &[],
            &[event(2, "CallEnded", Some("c1"))],
        )
        .unwrap();
    let err = store.finish_call(
        &super::cdr("c1", 0),
        &[],
        &[event(3, "CallEnded", Some("c1"))],
    );
    assert!(matches!(err, Err(StoreError::DuplicateCdr(_))), "{err:?}");
    assert_eq!(store.head_seq().unwrap(), 2);
    assert_eq!(store.append(&[event(4, "B", None)]).unwrap(), vec![3]);
}

#[test]
fn interleaved_batches_from_two_connections_stay_gap_free() {
    let fx = Fixture::new();
    let mut a = fx.open();
    let mut b = fx.open();
    let mut all = Vec::new();
    for i in 0..50u64 {
        let batch: Vec<_> = (0..(i % 4 + 1))
            .map(|j| event(i * 10 + j, "E", None))
            .collect();
        let store = if i % 3 == 0 { &mut b } else { &mut a };
        all.extend(store.append(&batch).unwrap());
    }
    let expected: Vec<u64> = (1..=all.len() as u64).collect();
    assert_eq!(all, expected);
    assert_eq!(a.head_seq().unwrap(), all.len() as u64);
}

#[test]
fn read_after_pages_through_everything_once() {
    let fx = Fixture::new();
    let mut store = fx.open();
    let events: Vec<_> = (0..25)
        .map(|i| event(i, if i % 2 == 0 { "Even" } else { "Odd" }, None))
        .collect();
    store.append(&events).unwrap();

    let mut cursor = 0;
    let mut seen = Vec::new();
    loop {
        let page = store
            .read_after(cursor, 7, &EventFilter::default())
            .unwrap();
        seen.extend(page.events.iter().map(|e| e.seq));
        if page.events.is_empty() {
            assert_eq!(page.scanned_upto, 25);
            break;
        }
        cursor = page.scanned_upto;
    }
    assert_eq!(seen, (1..=25).collect::<Vec<_>>());
    let first = &store
        .read_after(0, 1, &EventFilter::default())
        .unwrap()
        .events[0];
    assert_eq!(first.event, events[0]);
}

#[test]
fn filtered_read_advances_the_watermark_past_non_matching_events() {
    let fx = Fixture::new();
    let mut store = fx.open();
    let mut evs = vec![
        event(1, "CallQueued", Some("c1")),
        event(2, "CallQueued", Some("c2")),
    ];
    evs[1].agent = Some("alice".into());
    evs.push(event(3, "AgentStateChanged", None));
    store.append(&evs).unwrap();

    let filter = EventFilter {
        call_ids: vec!["c2".into()],
        ..EventFilter::default()
    };
    let page = store.read_after(0, 10, &filter).unwrap();
    assert_eq!(
        page.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![2]
    );
    assert_eq!(page.scanned_upto, 3);
    assert!(filter.matches(&evs[1]) && !filter.matches(&evs[0]));

    let by_kind_and_agent = EventFilter {
        kinds: vec!["CallQueued".into(), "AgentStateChanged".into()],
        agents: vec!["alice".into()],
        ..EventFilter::default()
    };
    let page = store.read_after(0, 10, &by_kind_and_agent).unwrap();
    assert_eq!(
        page.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![2]
    );
}

#[test]
fn retention_by_count_keeps_oldest_correct_and_expires_old_cursors() {
    let fx = Fixture::new();
    let mut store = fx.open();
    store
        .append(&(0..30).map(|i| event(i, "E", None)).collect::<Vec<_>>())
        .unwrap();
    let report = store
        .prune(
            t(100),
            Retention {
                max_events: Some(10),
                max_age: None,
            },
        )
        .unwrap();
    assert_eq!(report.removed, 20);
    assert_eq!(report.oldest_seq, 21);
    let info = store.journal_info().unwrap();
    assert_eq!((info.oldest_seq, info.head_seq), (21, 30));
    assert!(info.can_resume_after(20) && info.can_resume_after(30));
    assert!(!info.can_resume_after(19) && !info.can_resume_after(31));
    assert!(matches!(
        store.read_after(19, 5, &EventFilter::default()),
        Err(StoreError::CursorExpired {
            after_seq: 19,
            oldest_seq: 21
        })
    ));
    assert!(matches!(
        store.read_after(31, 5, &EventFilter::default()),
        Err(StoreError::CursorAhead { .. })
    ));
    assert_eq!(
        store
            .read_after(20, 100, &EventFilter::default())
            .unwrap()
            .events
            .len(),
        10
    );
}

#[test]
fn retention_by_age_keeps_a_contiguous_suffix_and_the_head_after_pruning_all() {
    let fx = Fixture::new();
    let mut store = fx.open();
    // Times out of order at seq 3: pruning cuts by seq, never leaves a hole.
    let times = [10, 20, 500, 30, 600, 700];
    store
        .append(
            &times
                .iter()
                .map(|&s| event(s, "E", None))
                .collect::<Vec<_>>(),
        )
        .unwrap();
    let report = store
        .prune(
            t(1000),
            Retention {
                max_age: Some(Duration::from_secs(960)),
                max_events: None,
            },
        )
        .unwrap();
    // Cutoff t(40): the newest event older than it is seq 4 (t=30), so 1..=4 go.
    assert_eq!(
        report,
        crate::PruneReport {
            removed: 4,
            oldest_seq: 5
        }
    );

    store
        .prune(
            t(10_000),
            Retention {
                max_age: Some(Duration::from_secs(1)),
                max_events: None,
            },
        )
        .unwrap();
    let info = store.journal_info().unwrap();
    assert_eq!((info.oldest_seq, info.head_seq), (7, 6));
    drop(store);
    let mut store = fx.open();
    assert_eq!(store.append(&[event(1, "E", None)]).unwrap(), vec![7]);
}

#[test]
fn reader_connection_sees_commits_of_the_writer() {
    let fx = Fixture::new();
    let mut store = fx.open();
    let reader = store.reader().unwrap();
    assert_eq!(reader.journal_info().unwrap().head_seq, 0);
    store.append(&[event(1, "A", None)]).unwrap();
    let page = reader.read_after(0, 10, &EventFilter::default()).unwrap();
    assert_eq!(page.events.len(), 1);
    assert_eq!(reader.epoch(), store.epoch());
}

#[derive(Clone, Debug)]
enum Step {
    Append(usize),
    FailingFinish,
    PruneKeep(u64),
    Reopen,
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        4 => (0usize..5).prop_map(Step::Append),
        1 => Just(Step::FailingFinish),
        1 => (0u64..8).prop_map(Step::PruneKeep),
        1 => Just(Step::Reopen),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Whatever mix of appends, failed transactions, pruning and restarts: seqs are handed out
    /// 1, 2, 3… without a hole, the epoch never changes, and the retained events are exactly
    /// `oldest..=head`.
    #[test]
    fn journal_stays_gap_free_and_contiguous(steps in proptest::collection::vec(step(), 1..30)) {
        let fx = Fixture::new();
        let mut store = fx.open();
        let epoch = store.epoch();
        let mut next = 1u64;
        store.finish_call(&super::cdr("dup", 0), &[], &[]).unwrap();
        for s in steps {
            match s {
                Step::Append(n) => {
                    let seqs = store.append(&(0..n).map(|i| event(i as u64, "E", None)).collect::<Vec<_>>()).unwrap();
                    proptest::prop_assert_eq!(seqs, (next..next + n as u64).collect::<Vec<_>>());
                    next += n as u64;
                }
                Step::FailingFinish => {
                    let r = store.finish_call(&super::cdr("dup", 0), &[], &[event(0, "CallEnded", Some("dup"))]);
                    proptest::prop_assert!(r.is_err());
                }
                Step::PruneKeep(keep) => {
                    store.prune(t(0), Retention { max_events: Some(keep), max_age: None }).unwrap();
                }
                Step::Reopen => {
                    drop(store);
                    store = fx.open();
                    proptest::prop_assert_eq!(store.epoch(), epoch);
                }
            }
            let info = store.journal_info().unwrap();
            proptest::prop_assert_eq!(info.head_seq, next - 1);
            let after = info.oldest_seq - 1;
            let page = store.read_after(after, usize::MAX, &EventFilter::default()).unwrap();
            let seqs: Vec<u64> = page.events.iter().map(|e| e.seq).collect();
            proptest::prop_assert_eq!(seqs, (info.oldest_seq..=info.head_seq).collect::<Vec<_>>());
        }
    }
}
