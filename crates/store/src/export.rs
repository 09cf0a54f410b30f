//! The text files operators already read: `cdr/Master.csv` and `queue_log`, appended after the
//! SQLite commit, and repaired at open so that they never lack a committed row and never repeat
//! one.
//!
//! Per file, a marker `(upto, len)` says "rows up to id `upto` are in the file, which was then
//! `len` bytes long". It lives in memory, and reaches the `meta` table inside the next write
//! transaction (and at close), so exporting costs no extra commit. After a crash the persisted
//! marker may lag the file; the repair at open settles it by content, not by trust:
//!
//! * file shorter than `len`: if its last complete line is one of our rows, the file lost its
//!   tail (power loss with unsynced file pages, or someone cut it): the rows after that one are
//!   appended again. Otherwise (empty, or ending in a line that is not ours) it was rotated
//!   (renamed, or truncated in place by `copytruncate`): the rows after `upto` go into the new
//!   file, earlier ones are in the rotated one. So a cut to exactly zero bytes reads as a
//!   rotation; and two byte-identical queue_log rows in a row (same event, same second) make the
//!   search pick the later one;
//! * bytes after `len`: compared line by line with the rendering of the rows after `upto`; rows
//!   found there count as exported, a torn last line (a prefix of the next row's line: the
//!   process died inside `write`) is cut off, anything else is foreign and left alone (a warning,
//!   and our next line starts on a new line);
//! * then every row after the settled marker is appended.
//!
//! Files are opened, appended and closed per batch, as Asterisk's `cdr_csv` does ("because of the
//! absolutely unconditional need for the highest reliability possible in writing billing
//! records"), which also makes log rotation need no signal. `write(2)` puts the bytes in the
//! kernel, which survives a process kill; [`crate::StoreConfig::sync_files`] adds an fsync for
//! power loss.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::error::{Result, StoreError};
use crate::records::{Range, cdrs, queue_log_lines};
use crate::schema::{meta_get_i64, meta_set};

/// Rows rendered per `write`.
const BATCH: usize = 512;

/// A tail longer than this after the marker is not compared (it cannot be one crash's worth of
/// our own lines); it is treated as foreign.
const MAX_TAIL: u64 = 64 << 20;

/// How far back from the end a shortened file is read to find its last complete line.
const LAST_LINE_WINDOW: u64 = 64 << 10;

/// How many of our newest rows a shortened file's last line is looked for among.
const MAX_SEARCH_ROWS: usize = 100_000;

/// What the open-time repair found in one file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileRepair {
    /// Rows found already in the file after the persisted marker (written just before a crash).
    pub already_present: u64,
    /// Rows appended now because the file lacked them.
    pub appended: u64,
    /// Bytes of a torn last line that were cut off before re-appending it.
    pub torn_bytes_removed: u64,
    /// Bytes after the marker that are not ours (hand edits, another writer); left in place.
    pub foreign_bytes: u64,
    /// The file was shorter than the marker and does not end with one of our rows: it was
    /// rotated (renamed or `copytruncate`d); the rows after the marker went into the new file.
    pub rotated: bool,
    /// The file was shorter than the marker but ends with one of our rows: it lost its tail
    /// (power loss before the page cache was written, or a truncation); the missing rows were
    /// appended again.
    pub lost_tail: bool,
}

/// What the open-time repair did to both files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportRepair {
    /// `cdr/Master.csv`.
    pub master_csv: FileRepair,
    /// `queue_log`.
    pub queue_log: FileRepair,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    MasterCsv,
    QueueLog,
}

impl Kind {
    fn marker_keys(self) -> (&'static str, &'static str) {
        match self {
            Self::MasterCsv => ("export.master_csv.upto", "export.master_csv.len"),
            Self::QueueLog => ("export.queue_log.upto", "export.queue_log.len"),
        }
    }

    fn rows(self, conn: &Connection, range: Range, limit: usize) -> Result<Vec<(i64, String)>> {
        match self {
            Self::MasterCsv => Ok(cdrs(conn, range, limit)?
                .into_iter()
                .map(|(id, cdr)| (id, cdr.to_master_csv_line()))
                .collect()),
            Self::QueueLog => queue_log_lines(conn, range, limit),
        }
    }

    fn rows_after(self, conn: &Connection, after: i64, limit: usize) -> Result<Vec<(i64, String)>> {
        self.rows(conn, Range::After(after), limit)
    }
}

struct ExportFile {
    kind: Kind,
    path: PathBuf,
    upto: i64,
    len: u64,
    dirty: bool,
    /// The file ends in foreign bytes without a newline: start our next line on a fresh one.
    needs_newline: bool,
}

fn file_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::File {
        path: path.to_owned(),
        source,
    }
}

impl ExportFile {
    fn load(conn: &Connection, kind: Kind, path: PathBuf) -> Result<Self> {
        let (upto_key, len_key) = kind.marker_keys();
        Ok(Self {
            kind,
            path,
            upto: meta_get_i64(conn, upto_key, 0)?,
            len: u64::try_from(meta_get_i64(conn, len_key, 0)?).unwrap_or(0),
            dirty: false,
            needs_newline: false,
        })
    }

    fn persist(&self, conn: &Connection) -> Result<()> {
        if self.dirty {
            let (upto_key, len_key) = self.kind.marker_keys();
            meta_set(conn, upto_key, &self.upto.to_string())?;
            meta_set(conn, len_key, &self.len.to_string())?;
        }
        Ok(())
    }

    fn current_len(&self) -> Result<u64> {
        match fs::metadata(&self.path) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(file_err(&self.path)(e)),
        }
    }

    fn repair(&mut self, conn: &Connection, sync: bool) -> Result<FileRepair> {
        let mut report = FileRepair::default();
        let actual = self.current_len()?;
        if actual < self.len {
            self.settle_shorter(conn, actual, &mut report)?;
        } else if actual > self.len {
            let tail_len = actual - self.len;
            if tail_len > MAX_TAIL {
                report.foreign_bytes = tail_len;
            } else {
                self.settle_tail(conn, tail_len, &mut report)?;
            }
            if report.foreign_bytes > 0 {
                tracing::warn!(
                    path = %self.path.display(),
                    bytes = report.foreign_bytes,
                    "export file has lines this store did not write; left in place"
                );
            }
        }
        report.appended = self.export_pending(conn, sync)?;
        Ok(report)
    }

    /// Matches the bytes after the marker against the rows after it.
    fn settle_tail(
        &mut self,
        conn: &Connection,
        tail_len: u64,
        report: &mut FileRepair,
    ) -> Result<()> {
        let mut tail = Vec::with_capacity(usize::try_from(tail_len).unwrap_or(0));
        let mut f = File::open(&self.path).map_err(file_err(&self.path))?;
        f.seek(SeekFrom::Start(self.len))
            .map_err(file_err(&self.path))?;
        Read::by_ref(&mut f)
            .take(tail_len)
            .read_to_end(&mut tail)
            .map_err(file_err(&self.path))?;
        drop(f);
        let mut pos = 0usize;
        let next_line = 'scan: loop {
            let rows = self.kind.rows_after(conn, self.upto, BATCH)?;
            if rows.is_empty() {
                break 'scan None;
            }
            for (id, line) in rows {
                let rest = tail.get(pos..).unwrap_or_default();
                if rest.starts_with(line.as_bytes()) {
                    pos += line.len();
                    self.upto = id;
                    report.already_present += 1;
                } else {
                    break 'scan Some(line);
                }
            }
        };
        let leftover = tail.get(pos..).unwrap_or_default();
        let settled = self.len + pos as u64;
        if leftover.is_empty() {
            self.len = settled;
        } else if next_line.is_some_and(|l| l.as_bytes().starts_with(leftover)) {
            let f = OpenOptions::new()
                .write(true)
                .open(&self.path)
                .map_err(file_err(&self.path))?;
            f.set_len(settled).map_err(file_err(&self.path))?;
            report.torn_bytes_removed = leftover.len() as u64;
            self.len = settled;
        } else {
            report.foreign_bytes = leftover.len() as u64;
            self.needs_newline = !leftover.ends_with(b"\n");
            self.len = settled + leftover.len() as u64;
        }
        self.dirty = true;
        Ok(())
    }

    /// The file is shorter than the marker says. If its last complete line is one of our recent
    /// rows, it lost its tail (an OS crash before the page cache reached the disk, or a
    /// truncation): continue after that row. Otherwise (empty, or unknown content) it was
    /// rotated: continue after the marker in the new file.
    fn settle_shorter(
        &mut self,
        conn: &Connection,
        actual: u64,
        report: &mut FileRepair,
    ) -> Result<()> {
        self.dirty = true;
        self.len = actual;
        if actual == 0 {
            report.rotated = true;
            return Ok(());
        }
        let start = actual.saturating_sub(LAST_LINE_WINDOW);
        let mut buf = Vec::new();
        let mut f = File::open(&self.path).map_err(file_err(&self.path))?;
        f.seek(SeekFrom::Start(start))
            .map_err(file_err(&self.path))?;
        Read::by_ref(&mut f)
            .take(actual - start)
            .read_to_end(&mut buf)
            .map_err(file_err(&self.path))?;
        drop(f);
        let complete_end = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let partial = buf.get(complete_end..).unwrap_or_default();
        self.needs_newline = !partial.is_empty();
        let body = buf
            .get(..complete_end.saturating_sub(1))
            .unwrap_or_default();
        let line_start = match body.iter().rposition(|&b| b == b'\n') {
            Some(i) => i + 1,
            None if start == 0 => 0,
            None => {
                report.rotated = true; // a line longer than the window: not one of ours
                return Ok(());
            }
        };
        let last_line = buf.get(line_start..complete_end).unwrap_or_default();
        if last_line.is_empty() {
            report.rotated = true;
            return Ok(());
        }
        let mut searched = 0;
        let mut from = self.upto;
        let found = 'search: loop {
            let rows = self.kind.rows(conn, Range::UptoBackwards(from), BATCH)?;
            let Some(&(oldest, _)) = rows.last() else {
                break 'search None;
            };
            for (id, line) in rows {
                if line.as_bytes() == last_line {
                    break 'search Some(id);
                }
            }
            searched += BATCH;
            if searched >= MAX_SEARCH_ROWS {
                break 'search None;
            }
            from = oldest - 1;
        };
        let Some(id) = found else {
            report.rotated = true;
            return Ok(());
        };
        report.lost_tail = true;
        self.upto = id;
        if !partial.is_empty() {
            let next = self.kind.rows_after(conn, id, 1)?;
            if next
                .first()
                .is_some_and(|(_, l)| l.as_bytes().starts_with(partial))
            {
                let cut = actual - partial.len() as u64;
                OpenOptions::new()
                    .write(true)
                    .open(&self.path)
                    .and_then(|f| f.set_len(cut))
                    .map_err(file_err(&self.path))?;
                report.torn_bytes_removed = partial.len() as u64;
                self.len = cut;
                self.needs_newline = false;
            } else {
                report.foreign_bytes = partial.len() as u64;
            }
        }
        Ok(())
    }

    /// Appends every row after the marker; returns how many.
    fn export_pending(&mut self, conn: &Connection, sync: bool) -> Result<u64> {
        let mut appended = 0;
        loop {
            let rows = self.kind.rows_after(conn, self.upto, BATCH)?;
            let Some(&(last, _)) = rows.last() else {
                return Ok(appended);
            };
            let mut buf = String::with_capacity(rows.len() * 200 + 1);
            if self.needs_newline {
                buf.push('\n');
            }
            for (_, line) in &rows {
                buf.push_str(line);
            }
            self.len = self.append(buf.as_bytes(), sync)?;
            self.needs_newline = false;
            self.upto = last;
            self.dirty = true;
            appended += rows.len() as u64;
        }
    }

    /// One append; on failure the file is cut back so no partial line stays behind.
    fn append(&self, bytes: &[u8], sync: bool) -> Result<u64> {
        let err = file_err(&self.path);
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(file_err(&self.path))?;
        let before = f.metadata().map_err(file_err(&self.path))?.len();
        let written = f
            .write_all(bytes)
            .and_then(|()| if sync { f.sync_data() } else { Ok(()) });
        if let Err(e) = written {
            let _ = f.set_len(before);
            return Err(err(e));
        }
        f.seek(SeekFrom::End(0)).map_err(err)
    }
}

/// Both export files.
pub(crate) struct Exporter {
    master_csv: ExportFile,
    queue_log: ExportFile,
    sync: bool,
}

impl Exporter {
    /// Loads the markers and repairs both files; `dir/cdr/Master.csv` and `dir/queue_log`.
    pub(crate) fn open(conn: &Connection, dir: &Path, sync: bool) -> Result<(Self, ExportRepair)> {
        let cdr_dir = dir.join("cdr");
        fs::create_dir_all(&cdr_dir).map_err(file_err(&cdr_dir))?;
        let mut me = Self {
            master_csv: ExportFile::load(conn, Kind::MasterCsv, cdr_dir.join("Master.csv"))?,
            queue_log: ExportFile::load(conn, Kind::QueueLog, dir.join("queue_log"))?,
            sync,
        };
        let report = ExportRepair {
            master_csv: me.master_csv.repair(conn, sync)?,
            queue_log: me.queue_log.repair(conn, sync)?,
        };
        me.persist_markers(conn)?;
        me.markers_committed();
        Ok((me, report))
    }

    /// Appends every committed row not yet in the files.
    pub(crate) fn export_pending(&mut self, conn: &Connection) -> Result<()> {
        self.queue_log.export_pending(conn, self.sync)?;
        self.master_csv.export_pending(conn, self.sync)?;
        Ok(())
    }

    /// Writes the in-memory markers into `meta` (inside the caller's transaction); call
    /// [`Self::markers_committed`] once that transaction has committed.
    pub(crate) fn persist_markers(&mut self, conn: &Connection) -> Result<()> {
        self.master_csv.persist(conn)?;
        self.queue_log.persist(conn)
    }

    /// The markers written by [`Self::persist_markers`] are durable.
    pub(crate) fn markers_committed(&mut self) {
        self.master_csv.dirty = false;
        self.queue_log.dirty = false;
    }

    /// `cdr/Master.csv`.
    pub(crate) fn master_csv_path(&self) -> &Path {
        &self.master_csv.path
    }

    /// `queue_log`.
    pub(crate) fn queue_log_path(&self) -> &Path {
        &self.queue_log.path
    }
}
