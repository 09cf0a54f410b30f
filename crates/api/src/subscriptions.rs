//! The registry of open event streams, for `AdminService.ListSubscriptions` and the stream cap.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use switchboard_store::EventFilter;

use crate::codec::filter_to_wire;
use crate::error::ApiError;
use crate::pb;

/// One open stream, updated by its task.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) id: u64,
    pub(crate) client_name: String,
    pub(crate) principal: String,
    pub(crate) peer: String,
    pub(crate) started_at: SystemTime,
    pub(crate) filter: EventFilter,
    pub(crate) cursor: AtomicU64,
    pub(crate) replaying: AtomicBool,
}

impl Entry {
    pub(crate) fn advance(&self, cursor: u64) {
        self.cursor.store(cursor, Ordering::Relaxed);
    }

    pub(crate) fn set_replaying(&self, replaying: bool) {
        self.replaying.store(replaying, Ordering::Relaxed);
    }
}

/// Open streams.
#[derive(Debug)]
pub(crate) struct Registry {
    max_streams: usize,
    next_id: AtomicU64,
    open: Mutex<BTreeMap<u64, Arc<Entry>>>,
}

/// Removes its entry when the stream's task ends.
#[derive(Debug)]
pub(crate) struct Registration {
    registry: Arc<Registry>,
    pub(crate) entry: Arc<Entry>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Ok(mut open) = self.registry.open.lock() {
            open.remove(&self.entry.id);
        }
    }
}

impl Registry {
    pub(crate) fn new(max_streams: usize) -> Arc<Self> {
        Arc::new(Self {
            max_streams,
            next_id: AtomicU64::new(1),
            open: Mutex::new(BTreeMap::new()),
        })
    }

    pub(crate) fn register(
        self: &Arc<Self>,
        client_name: String,
        principal: String,
        peer: String,
        filter: EventFilter,
        cursor: u64,
        now: SystemTime,
    ) -> Result<Registration, ApiError> {
        let mut open = self
            .open
            .lock()
            .map_err(|_| ApiError::Internal("subscription registry poisoned".into()))?;
        if open.len() >= self.max_streams {
            return Err(ApiError::TooManyStreams(self.max_streams));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let entry = Arc::new(Entry {
            id,
            client_name,
            principal,
            peer,
            started_at: now,
            filter,
            cursor: AtomicU64::new(cursor),
            replaying: AtomicBool::new(true),
        });
        open.insert(id, entry.clone());
        Ok(Registration {
            registry: self.clone(),
            entry,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.open.lock().map(|o| o.len()).unwrap_or(0)
    }

    pub(crate) fn list(&self, head_seq: u64) -> Vec<pb::Subscription> {
        let Ok(open) = self.open.lock() else {
            return Vec::new();
        };
        open.values()
            .map(|e| {
                let cursor = e.cursor.load(Ordering::Relaxed);
                pb::Subscription {
                    id: e.id,
                    client_name: e.client_name.clone(),
                    principal: e.principal.clone(),
                    peer: e.peer.clone(),
                    started_at: Some(e.started_at.into()),
                    cursor_seq: cursor,
                    lag_events: head_seq.saturating_sub(cursor),
                    replaying: e.replaying.load(Ordering::Relaxed),
                    filter: Some(filter_to_wire(&e.filter)),
                }
            })
            .collect()
    }
}
