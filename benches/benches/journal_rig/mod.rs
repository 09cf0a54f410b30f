//! Reading the daemon's event journal (`DATA_DIR/switchboard.db`, SQLite in WAL mode, opened
//! read-only beside the running daemon) for per-call timings the daemon stamped itself.
#![allow(dead_code, missing_docs, unreachable_pub)]

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

pub struct Journal {
    conn: Connection,
}

/// What the journal says about the calls after a given `seq`.
#[derive(Debug, Default)]
pub struct CallTimings {
    /// CallCreated events.
    pub created: usize,
    /// Calls with CallConnected (bridged to an agent).
    pub connected: usize,
    /// Calls with CallEnded.
    pub ended: usize,
    /// CallConnected − CallCreated per connected call (INVITE accepted → agent answered and
    /// the legs bridged).
    pub setup: Vec<Duration>,
    /// AgentAlerting − CallCreated per call (INVITE in → screen-pop journaled, just before the
    /// agent INVITE is sent).
    pub to_alerting: Vec<Duration>,
    /// First and last CallCreated time, µs since the epoch.
    pub first_created_us: i64,
    pub last_created_us: i64,
    /// The largest seq read.
    pub last_seq: i64,
}

impl CallTimings {
    /// Calls per second arriving at the daemon over the step.
    pub fn arrival_rate(&self) -> f64 {
        let span = (self.last_created_us - self.first_created_us) as f64 / 1e6;
        if self.created < 2 || span <= 0.0 {
            return 0.0;
        }
        (self.created - 1) as f64 / span
    }
}

impl Journal {
    pub fn open(data_dir: &Path) -> Result<Self, String> {
        let path = data_dir.join("switchboard.db");
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| format!("opening {}: {e}", path.display()))?;
        let _ = conn.busy_timeout(Duration::from_secs(5));
        Ok(Self { conn })
    }

    pub fn last_seq(&self) -> i64 {
        self.conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))
            .unwrap_or(0)
    }

    /// Events of `kind` after `seq`.
    pub fn count(&self, kind: &str, after: i64) -> usize {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM events WHERE seq > ?1 AND kind = ?2",
                rusqlite::params![after, kind],
                |r| r.get::<_, i64>(0),
            )
            .map_or(0, |n| n as usize)
    }

    /// Per-call timings of the calls created after `seq`.
    pub fn call_timings(&self, after: i64) -> Result<CallTimings, String> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT seq, kind, call_id, time_us FROM events WHERE seq > ?1 AND kind IN \
                 ('CallCreated', 'AgentAlerting', 'CallConnected', 'CallEnded') ORDER BY seq",
            )
            .map_err(|e| format!("journal query: {e}"))?;
        let rows = stmt
            .query_map([after], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .map_err(|e| format!("journal query: {e}"))?;
        let mut created: HashMap<String, i64> = HashMap::new();
        let mut t = CallTimings {
            first_created_us: i64::MAX,
            last_seq: after,
            ..CallTimings::default()
        };
        let mut alerted: HashMap<String, ()> = HashMap::new();
        for row in rows {
            let (seq, kind, call_id, time_us) = row.map_err(|e| format!("journal row: {e}"))?;
            t.last_seq = t.last_seq.max(seq);
            let Some(call_id) = call_id else { continue };
            let since = |created: &HashMap<String, i64>| {
                created
                    .get(&call_id)
                    .map(|c| Duration::from_micros(u64::try_from(time_us - c).unwrap_or(0)))
            };
            match kind.as_str() {
                "CallCreated" => {
                    t.created += 1;
                    t.first_created_us = t.first_created_us.min(time_us);
                    t.last_created_us = t.last_created_us.max(time_us);
                    created.insert(call_id, time_us);
                }
                // The first offer only (a RONA re-offer is not the setup path).
                "AgentAlerting" if alerted.insert(call_id.clone(), ()).is_none() => {
                    t.to_alerting.extend(since(&created));
                }
                "CallConnected" if created.contains_key(&call_id) => {
                    t.connected += 1;
                    t.setup.extend(since(&created));
                }
                "CallEnded" if created.contains_key(&call_id) => t.ended += 1,
                _ => {}
            }
        }
        if t.created == 0 {
            t.first_created_us = 0;
        }
        Ok(t)
    }
}
