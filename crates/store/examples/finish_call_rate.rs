//! How many `finish_call`s per second one thread sustains, directly and through the batched
//! writer thread, with the text export on. Run in release:
//!
//! ```text
//! cargo run --release -p switchboard-store --example finish_call_rate -- [calls] [dir]
//! ```
//!
//! (`NO_EXPORT=1` leaves the text files out, to see their share.)
//!
//! Each call writes what a real one does: a CDR, two queue_log lines (CONNECT would be earlier;
//! here COMPLETECALLER plus one RINGNOANSWER) and two journal events, plus the Master.csv and
//! queue_log appends.

use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use switchboard_store::writer::StoreWriter;
use switchboard_store::{
    AmaFlags, Cdr, Disposition, Durability, HangupSide, NewEvent, QueueLogLine, Store, StoreConfig,
    WriteOp,
};

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

fn call(prefix: &str, i: u64) -> (Cdr, Vec<QueueLogLine>, Vec<NewEvent>) {
    let id = format!("{prefix}-{i:08}");
    let cdr = Cdr {
        call_id: id.clone(),
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
        survey_score: Some(4),
        recording_path: Some(format!("/var/spool/switchboard/{id}.wav")),
        hangup_side: Some(HangupSide::Caller),
        end_reason: "normal".into(),
        disposition_code: None,
        notes: None,
    };
    let lines = vec![
        QueueLogLine::ring_no_answer(t(i + 1), &id, "support", "bob", Duration::from_secs(15)),
        QueueLogLine::complete_caller(
            t(i + 40),
            &id,
            "support",
            "alice",
            Duration::from_secs(3),
            Duration::from_secs(37),
            1,
        ),
    ];
    let events = ["LegEnded", "CallEnded"]
        .into_iter()
        .map(|kind| {
            let mut e = NewEvent::new(t(i + 40), kind, vec![0u8; 120]);
            e.call_id = Some(id.clone());
            e
        })
        .collect();
    (cdr, lines, events)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let calls: u64 = args.next().map_or(Ok(20_000), |a| a.parse())?;
    let tmp = tempfile::tempdir()?;
    let dir = args
        .next()
        .map_or_else(|| tmp.path().to_owned(), Into::into);

    for durability in [Durability::Normal, Durability::Full] {
        let mut config = StoreConfig::new(dir.join(format!("{durability:?}.sqlite")))
            .with_export_dir(dir.join(format!("{durability:?}-log")));
        config.durability = durability;
        if std::env::var_os("NO_EXPORT").is_some() {
            config.export_dir = None;
        }

        let mut store = Store::open(&config, t(0))?;
        let started = Instant::now();
        for i in 0..calls {
            let (cdr, lines, events) = call("direct", i);
            store.finish_call(&cdr, &lines, &events)?;
        }
        let direct = calls as f64 / started.elapsed().as_secs_f64();

        let writer = StoreWriter::spawn(store, 1024, 256)?;
        let handle = writer.handle();
        let (done_tx, done_rx) = mpsc::channel();
        let started = Instant::now();
        for i in 0..calls {
            let (cdr, queue_log, events) = call("batched", i);
            let done_tx = done_tx.clone();
            handle.submit(
                WriteOp::FinishCall {
                    cdr: Box::new(cdr),
                    queue_log,
                    events,
                },
                Box::new(move |r| {
                    let _ = done_tx.send(r.is_ok());
                }),
            )?;
        }
        drop(done_tx);
        let ok = done_rx.iter().filter(|ok| *ok).count() as u64;
        let batched = calls as f64 / started.elapsed().as_secs_f64();
        drop(handle);
        writer.shutdown()?.close()?;
        assert_eq!(ok, calls);
        println!(
            "synchronous={durability:?}: direct {direct:.0} finish_call/s, writer thread {batched:.0} finish_call/s ({calls} calls)"
        );
    }
    Ok(())
}
