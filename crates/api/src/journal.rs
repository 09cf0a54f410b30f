//! A small pool of read-only journal connections shared by every stream and page read.
//!
//! SQLite reads block, so each read runs on tokio's blocking pool with a reader checked out of
//! the pool; the pool's size bounds how many reads run at once (WAL lets them all read while
//! the engine's writer appends).

use std::sync::{Arc, Mutex};

use switchboard_store::{EventFilter, EventPage, JournalEpoch, JournalInfo, JournalReader, Store};
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// Read-only journal connections.
pub struct JournalPool {
    readers: Mutex<Vec<JournalReader>>,
    permits: Semaphore,
    epoch: JournalEpoch,
}

impl std::fmt::Debug for JournalPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalPool")
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

impl JournalPool {
    /// A pool over readers made by [`Store::reader`]; at least one.
    pub fn new(readers: Vec<JournalReader>) -> Result<Arc<Self>, ApiError> {
        let epoch = readers
            .first()
            .map(JournalReader::epoch)
            .ok_or_else(|| ApiError::Internal("journal pool needs at least one reader".into()))?;
        Ok(Arc::new(Self {
            permits: Semaphore::new(readers.len()),
            readers: Mutex::new(readers),
            epoch,
        }))
    }

    /// Opens `size` readers on `store`.
    pub fn open(store: &Store, size: usize) -> Result<Arc<Self>, ApiError> {
        let readers = (0..size.max(1))
            .map(|_| store.reader())
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(readers)
    }

    /// The journal's epoch.
    pub fn epoch(&self) -> JournalEpoch {
        self.epoch
    }

    async fn with_reader<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&JournalReader) -> Result<T, switchboard_store::StoreError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ApiError::Internal("journal pool closed".into()))?;
        let reader = self
            .readers
            .lock()
            .map_err(|_| ApiError::Internal("journal pool poisoned".into()))?
            .pop()
            .ok_or_else(|| ApiError::Internal("journal reader lost".into()))?;
        let (reader, result) = tokio::task::spawn_blocking(move || {
            let result = f(&reader);
            (reader, result)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("journal read task: {e}")))?;
        if let Ok(mut readers) = self.readers.lock() {
            readers.push(reader);
        }
        Ok(result?)
    }

    /// Epoch, oldest and head.
    pub async fn info(self: &Arc<Self>) -> Result<JournalInfo, ApiError> {
        self.with_reader(|r| r.journal_info()).await
    }

    /// Up to `limit` events matching `filter` after `after_seq`. An expired cursor's error
    /// carries the head.
    pub async fn read_after(
        self: &Arc<Self>,
        after_seq: u64,
        limit: usize,
        filter: Arc<EventFilter>,
    ) -> Result<EventPage, ApiError> {
        let result = self
            .with_reader(move |r| r.read_after(after_seq, limit, &filter))
            .await;
        match result {
            Err(ApiError::CursorExpired {
                after_seq,
                oldest_seq,
                ..
            }) => {
                let head_seq = self.info().await.map(|i| i.head_seq).unwrap_or(0);
                Err(ApiError::CursorExpired {
                    after_seq,
                    oldest_seq,
                    head_seq,
                })
            }
            other => other,
        }
    }
}

/// Checks that a reader can resume after `after_seq`, as the stream's first read would.
pub(crate) fn check_cursor(info: &JournalInfo, after_seq: u64) -> Result<(), ApiError> {
    if after_seq.saturating_add(1) < info.oldest_seq {
        return Err(ApiError::CursorExpired {
            after_seq,
            oldest_seq: info.oldest_seq,
            head_seq: info.head_seq,
        });
    }
    if after_seq > info.head_seq {
        return Err(ApiError::CursorAhead {
            after_seq,
            head_seq: info.head_seq,
        });
    }
    Ok(())
}
