//! Store tests on real SQLite files in a temporary directory.

mod export;
mod finish;
mod journal;
mod recovery;

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{AmaFlags, Cdr, Disposition, HangupSide, NewEvent, Store, StoreConfig};

/// A temporary directory holding `db.sqlite` and the export files.
pub(crate) struct Fixture {
    pub(crate) dir: tempfile::TempDir,
}

pub(crate) fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

impl Fixture {
    pub(crate) fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub(crate) fn config(&self) -> StoreConfig {
        StoreConfig::new(self.dir.path().join("db.sqlite"))
            .with_export_dir(self.dir.path().join("log"))
    }

    pub(crate) fn open(&self) -> Store {
        Store::open(&self.config(), t(0)).expect("open store")
    }

    pub(crate) fn master_csv(&self) -> PathBuf {
        self.dir.path().join("log/cdr/Master.csv")
    }

    pub(crate) fn queue_log(&self) -> PathBuf {
        self.dir.path().join("log/queue_log")
    }

    pub(crate) fn read(&self, path: PathBuf) -> String {
        std::fs::read_to_string(path).unwrap_or_default()
    }
}

pub(crate) fn event(secs: u64, kind: &str, call_id: Option<&str>) -> NewEvent {
    let mut e = NewEvent::new(t(secs), kind, format!("{kind}@{secs}").into_bytes());
    e.call_id = call_id.map(str::to_owned);
    e
}

pub(crate) fn cdr(call_id: &str, start: u64) -> Cdr {
    Cdr {
        call_id: call_id.to_owned(),
        accountcode: String::new(),
        src: "+4930123456".into(),
        dst: "201".into(),
        dcontext: "support".into(),
        clid: "\"Jane\" <+4930123456>".into(),
        channel: format!("SIP/trunk-{call_id}"),
        dstchannel: "SIP/alice-1".into(),
        lastapp: "Queue".into(),
        lastdata: "support".into(),
        start: t(start),
        answer: Some(t(start + 2)),
        end: t(start + 62),
        disposition: Disposition::Answered,
        amaflags: AmaFlags::Documentation,
        userfield: String::new(),
        queue: Some("support".into()),
        agent: Some("alice".into()),
        wait_seconds: Some(10),
        survey_score: None,
        recording_path: None,
        hangup_side: Some(HangupSide::Caller),
        end_reason: "normal".into(),
        disposition_code: None,
        notes: None,
    }
}
