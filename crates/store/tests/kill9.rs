//! A real `kill -9`: a child process (this test binary, re-executed) finishes calls in a loop and
//! prints each call id once `finish_call` has returned; the parent SIGKILLs it mid-stream, then
//! reopens the store: every printed call has its CDR, the journal has no gap, the text files hold
//! each CDR exactly once, and the calls that were in progress are closed with `restart`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use switchboard_store::{
    AmaFlags, CallInProgress, Cdr, Disposition, EventFilter, HangupSide, NewEvent, QueueLogLine,
    QueueStay, Store, StoreConfig,
};

const CHILD_DIR: &str = "SWITCHBOARD_STORE_KILL9_DIR";
/// Calls the parent waits to see committed before it kills the child.
const KILL_AFTER: usize = 300;
/// Calls the child keeps up at once.
const OVERLAP: u64 = 3;

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

fn config(dir: &Path) -> StoreConfig {
    StoreConfig::new(dir.join("db.sqlite")).with_export_dir(dir.join("log"))
}

fn cdr(call_id: &str, i: u64) -> Cdr {
    Cdr {
        call_id: call_id.to_owned(),
        accountcode: String::new(),
        src: "+4930123456".into(),
        dst: "201".into(),
        dcontext: "support".into(),
        clid: "\"Caller\" <+4930123456>".into(),
        channel: format!("SIP/trunk-{i}"),
        dstchannel: "SIP/alice-1".into(),
        lastapp: "Queue".into(),
        lastdata: "support".into(),
        start: t(i),
        answer: Some(t(i + 3)),
        end: t(i + 40),
        disposition: Disposition::Answered,
        amaflags: AmaFlags::Documentation,
        userfield: String::new(),
        queue: Some("support".into()),
        agent: Some("alice".into()),
        wait_seconds: Some(3),
        survey_score: None,
        recording_path: None,
        hangup_side: Some(HangupSide::Caller),
        end_reason: "normal".into(),
        disposition_code: None,
        notes: None,
    }
}

/// The child's body; a no-op unless re-executed by the parent with `CHILD_DIR` set.
#[test]
fn kill9_child_entry() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let dir = Path::new(&dir);
    let mut store = Store::open(&config(dir), t(0)).expect("child: open");
    // Calls overlap: call i starts (queued) while calls i-3..i-1 are still up, then call i-3
    // ends. At any kill point three or four calls are in progress.
    for i in 0..1_000_000u64 {
        let call_id = format!("call-{i:07}");
        let mut call = CallInProgress::new(&call_id, t(i), "queued");
        call.answered = Some(t(i));
        call.queue = Some(QueueStay {
            queue: "support".into(),
            entered: t(i + 1),
            orig_position: 1,
            position: 1,
            connected: None,
        });
        store
            .call_started(&call, t(i))
            .expect("child: call_started");
        let Some(j) = i.checked_sub(OVERLAP) else {
            continue;
        };
        let call_id = format!("call-{j:07}");
        let line = QueueLogLine::complete_caller(
            t(j + 40),
            &call_id,
            "support",
            "alice",
            Duration::from_secs(3),
            Duration::from_secs(37),
            1,
        );
        let mut ended = NewEvent::new(t(j + 40), "CallEnded", b"normal".to_vec());
        ended.call_id = Some(call_id.clone());
        store
            .finish_call(&cdr(&call_id, j), &[line], &[ended])
            .expect("child: finish_call");
        println!("committed {call_id}");
    }
}

#[test]
fn kill9_loses_no_committed_cdr() {
    let dir = tempfile::tempdir().expect("temp dir");
    let exe = std::env::current_exe().expect("test binary path");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "kill9_child_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("child stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut printed = Vec::new();
    while printed.len() < KILL_AFTER {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(id) = line.strip_prefix("committed ") {
                    printed.push(id.to_owned());
                }
            }
            other => panic!("child stopped before being killed: {other:?}"),
        }
    }
    child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
    child.wait().expect("reap child");
    // Whatever the child printed before dying is still in the pipe.
    for line in lines.map_while(Result::ok) {
        if let Some(id) = line.strip_prefix("committed ") {
            printed.push(id.to_owned());
        }
    }

    let mut store = Store::open(&config(dir.path()), t(0)).expect("reopen");
    for id in &printed {
        assert!(
            store.cdr(id).expect("read cdr").is_some(),
            "{id} printed but has no CDR"
        );
    }
    // Each finished call journaled one event: the journal is gap-free and ends at the last CDR.
    let head = store.head_seq().expect("head");
    let events = store
        .read_after(0, usize::MAX, &EventFilter::default())
        .expect("read journal");
    let seqs: Vec<u64> = events.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=head).collect::<Vec<_>>());
    assert!(head >= printed.len() as u64);

    // The overlapping calls that were up at the kill are still in progress, none of them printed.
    let in_progress = store.calls_in_progress().expect("calls in progress");
    assert!(
        (OVERLAP as usize..=OVERLAP as usize + 1).contains(&in_progress.len()),
        "{in_progress:?}"
    );
    assert!(in_progress.iter().all(|c| !printed.contains(&c.call_id)));
    let closed = store
        .recover_after_restart(t(2_000_000), |cdr| {
            let mut e = NewEvent::new(cdr.end, "CallEnded", b"restart".to_vec());
            e.call_id = Some(cdr.call_id.clone());
            e
        })
        .expect("recover");
    assert_eq!(closed.len(), in_progress.len());
    assert!(closed.iter().all(|c| c.end_reason == "restart"));
    for c in &closed {
        // Waiting in queue when the process died: the queue report sees an abandon.
        let lines = store.queue_log_of_call(&c.call_id).expect("queue_log");
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].contains("|support|NONE|ABANDON|1|1|"),
            "{}",
            lines[0]
        );
    }
    let cdr_count = head + closed.len() as u64;
    store.close().expect("close");

    // The files hold every CDR and queue_log line exactly once, whatever the kill interrupted.
    let master =
        std::fs::read_to_string(dir.path().join("log/cdr/Master.csv")).expect("Master.csv");
    assert_eq!(master.lines().count() as u64, cdr_count);
    for id in &printed {
        let quoted = format!("\"{id}\"");
        assert_eq!(master.matches(&quoted).count(), 1, "{id} in Master.csv");
    }
    let queue_log = std::fs::read_to_string(dir.path().join("log/queue_log")).expect("queue_log");
    let completes = queue_log
        .lines()
        .filter(|l| l.contains("|COMPLETECALLER|"))
        .count();
    assert_eq!(completes as u64, head);
    assert!(queue_log.ends_with('\n') && master.ends_with('\n'));
}
