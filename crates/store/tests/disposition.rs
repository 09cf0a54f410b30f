//! The wrap-up disposition lands on the CDR written when the call ended (issue 7,
//! CompleteWrapUp), through the writer's batch path; a call without a CDR reports it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use switchboard_store::{
    AmaFlags, Cdr, Disposition, HangupSide, Store, StoreConfig, WriteOp, WriteOutcome,
};

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

fn cdr(call_id: &str) -> Cdr {
    Cdr {
        call_id: call_id.to_owned(),
        accountcode: String::new(),
        src: "5551234".into(),
        dst: "201".into(),
        dcontext: "support".into(),
        clid: "\"Alice\" <5551234>".into(),
        channel: "SIP/trunk-1".into(),
        dstchannel: "SIP/1001".into(),
        lastapp: "Queue".into(),
        lastdata: "support".into(),
        start: t(0),
        answer: Some(t(3)),
        end: t(40),
        disposition: Disposition::Answered,
        amaflags: AmaFlags::Documentation,
        userfield: String::new(),
        queue: Some("support".into()),
        agent: Some("1001".into()),
        wait_seconds: Some(3),
        survey_score: None,
        recording_path: None,
        hangup_side: Some(HangupSide::Caller),
        end_reason: "normal".into(),
        disposition_code: None,
        notes: None,
    }
}

#[test]
fn a_disposition_after_the_call_updates_its_cdr_and_a_missing_cdr_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&StoreConfig::new(dir.path().join("db.sqlite")), t(0)).unwrap();
    store.finish_call(&cdr("c1"), &[], &[]).unwrap();
    let results = store.apply_batch(&[
        WriteOp::Disposition {
            call_id: "c1".into(),
            disposition_code: "sale".into(),
            notes: "upgraded to \"gold\"".into(),
        },
        WriteOp::Disposition {
            call_id: "nope".into(),
            disposition_code: "sale".into(),
            notes: String::new(),
        },
    ]);
    assert!(matches!(results[0], Ok(WriteOutcome::Removed(true))));
    assert!(matches!(results[1], Ok(WriteOutcome::Removed(false))));
    let row = store.cdr("c1").unwrap().unwrap();
    assert_eq!(row.disposition_code.as_deref(), Some("sale"));
    assert_eq!(row.notes.as_deref(), Some("upgraded to \"gold\""));
    assert_eq!(row.billsec(), 37, "the rest of the CDR is untouched");
}
