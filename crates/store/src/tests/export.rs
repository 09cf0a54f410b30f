//! The text files: crash repair and rotation.

use std::fs::OpenOptions;

use super::{Fixture, cdr, event, t};
use crate::QueueLogLine;

fn finish(store: &mut crate::Store, call_id: &str, start: u64) {
    let line = QueueLogLine::abandon(
        t(start + 30),
        call_id,
        "support",
        1,
        2,
        std::time::Duration::from_secs(30),
    );
    store
        .finish_call(
            &cdr(call_id, start),
            &[line],
            &[event(start + 30, "CallEnded", Some(call_id))],
        )
        .unwrap();
}

fn expected_master(ids: &[(&str, u64)]) -> String {
    ids.iter()
        .map(|(id, s)| cdr(id, *s).to_master_csv_line())
        .collect()
}

#[test]
fn rows_committed_before_a_crash_are_exported_exactly_once_at_open() {
    let fx = Fixture::new();
    let mut store = fx.open();
    finish(&mut store, "c1", 0);
    // The process dies after each commit and before the file append.
    store.faults.skip_export = true;
    finish(&mut store, "c2", 100);
    finish(&mut store, "c3", 200);
    drop(store);
    assert_eq!(fx.read(fx.master_csv()), expected_master(&[("c1", 0)]));

    let store = fx.open();
    let repair = store.open_report().export.unwrap();
    assert_eq!(repair.master_csv.appended, 2);
    assert_eq!(repair.queue_log.appended, 2);
    drop(store);
    let master = expected_master(&[("c1", 0), ("c2", 100), ("c3", 200)]);
    assert_eq!(fx.read(fx.master_csv()), master);
    assert_eq!(fx.read(fx.queue_log()).lines().count(), 3);

    // And again: nothing more.
    let store = fx.open();
    assert_eq!(store.open_report().export.unwrap().master_csv.appended, 0);
    drop(store);
    assert_eq!(fx.read(fx.master_csv()), master);
}

#[test]
fn files_truncated_back_before_their_last_rows_get_them_back_once() {
    let fx = Fixture::new();
    let mut store = fx.open();
    finish(&mut store, "c1", 0);
    let master_len = std::fs::metadata(fx.master_csv()).unwrap().len();
    let ql_len = std::fs::metadata(fx.queue_log()).unwrap().len();
    finish(&mut store, "c2", 100);
    finish(&mut store, "c3", 200);
    // Simulate a kill whose marker updates never committed: rows written, markers at c1.
    std::mem::forget(store);
    for (path, len) in [(fx.master_csv(), master_len), (fx.queue_log(), ql_len)] {
        OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_len(len)
            .unwrap();
    }
    let store = fx.open();
    drop(store);
    assert_eq!(
        fx.read(fx.master_csv()),
        expected_master(&[("c1", 0), ("c2", 100), ("c3", 200)])
    );
    assert_eq!(fx.read(fx.queue_log()).lines().count(), 3);
}

#[test]
fn lines_written_just_before_a_crash_are_not_duplicated() {
    let fx = Fixture::new();
    let mut store = fx.open();
    finish(&mut store, "c1", 0);
    finish(&mut store, "c2", 100);
    // Killed right after the append: the files have c2, the persisted marker does not.
    std::mem::forget(store);
    let store = fx.open();
    let repair = store.open_report().export.unwrap();
    assert_eq!(
        (
            repair.master_csv.already_present,
            repair.master_csv.appended
        ),
        (1, 0)
    );
    drop(store);
    assert_eq!(
        fx.read(fx.master_csv()),
        expected_master(&[("c1", 0), ("c2", 100)])
    );
    assert_eq!(fx.read(fx.queue_log()).lines().count(), 2);
}

#[test]
fn a_torn_last_line_is_cut_and_rewritten_whole() {
    let fx = Fixture::new();
    let mut store = fx.open();
    finish(&mut store, "c1", 0);
    finish(&mut store, "c2", 100);
    std::mem::forget(store);
    let len = std::fs::metadata(fx.master_csv()).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(fx.master_csv())
        .unwrap()
        .set_len(len - 17)
        .unwrap();

    let store = fx.open();
    let repair = store.open_report().export.unwrap().master_csv;
    // The persisted marker is at c1 (c2's rode on a transaction that never came): c2's line is
    // the torn one.
    let c2_len = cdr("c2", 100).to_master_csv_line().len() as u64;
    assert_eq!(
        (repair.already_present, repair.torn_bytes_removed),
        (0, c2_len - 17)
    );
    assert_eq!(repair.appended, 1);
    drop(store);
    assert_eq!(
        fx.read(fx.master_csv()),
        expected_master(&[("c1", 0), ("c2", 100)])
    );
}

#[test]
fn a_rotated_file_continues_with_the_next_rows_only() {
    let fx = Fixture::new();
    let mut store = fx.open();
    finish(&mut store, "c1", 0);
    store.close().unwrap();
    std::fs::rename(fx.master_csv(), fx.master_csv().with_extension("csv.1")).unwrap();

    let mut store = fx.open();
    assert!(store.open_report().export.unwrap().master_csv.rotated);
    finish(&mut store, "c2", 100);
    drop(store);
    assert_eq!(fx.read(fx.master_csv()), expected_master(&[("c2", 100)]));
}

#[test]
fn foreign_lines_are_kept_and_ours_start_on_a_new_line() {
    let fx = Fixture::new();
    let mut store = fx.open();
    finish(&mut store, "c1", 0);
    store.close().unwrap();
    std::fs::write(
        fx.queue_log(),
        format!("{}operator note without newline", fx.read(fx.queue_log())),
    )
    .unwrap();
    let mut store = fx.open();
    assert!(store.open_report().export.unwrap().queue_log.foreign_bytes > 0);
    finish(&mut store, "c2", 100);
    drop(store);
    let text = fx.read(fx.queue_log());
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1], "operator note without newline");
    assert!(lines[2].contains("|c2|support|NONE|ABANDON|1|2|30"));
}

#[test]
fn a_failed_append_is_retried_by_the_next_export_without_losing_the_row() {
    let fx = Fixture::new();
    let mut store = fx.open();
    // Master.csv cannot be opened for appending while a directory sits at its path.
    std::fs::create_dir(fx.master_csv()).unwrap();
    let line = QueueLogLine::abandon(
        t(30),
        "c1",
        "support",
        1,
        1,
        std::time::Duration::from_secs(30),
    );
    let done = store.finish_call(&cdr("c1", 0), &[line], &[]).unwrap();
    assert!(!done.exported);
    assert!(store.cdr("c1").unwrap().is_some(), "the commit stands");

    std::fs::remove_dir(fx.master_csv()).unwrap();
    assert!(
        store
            .finish_call(&cdr("c2", 100), &[], &[])
            .unwrap()
            .exported
    );
    drop(store);
    assert_eq!(
        fx.read(fx.master_csv()),
        expected_master(&[("c1", 0), ("c2", 100)])
    );
    assert_eq!(fx.read(fx.queue_log()).lines().count(), 1);
}
