//! The registry of open event streams, for `AdminService.ListSubscriptions` and the stream cap.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use std::future::Future;

use switchboard_store::{EventFilter, NewEvent};
use tokio::sync::Notify;

use crate::codec::filter_to_wire;
use crate::error::ApiError;
use crate::pb;

/// The default head start a screen-pop gets over the agent's INVITE once the HTTP/2 transport
/// has taken it (`[api] screen_pop_lead_ms`). The server cannot see the client read the event;
/// between tonic taking the frame and a client reading it lie encoding, the TCP loopback and
/// the client's own scheduling, measured at 0.3 to 5 ms on a loaded two-core host (the INVITE's
/// UDP path to a SIPp phone is shorter). Only paid when a live subscriber takes the event;
/// small against any ring time.
#[cfg(test)]
pub(crate) const SCREEN_POP_LEAD: std::time::Duration = std::time::Duration::from_millis(15);

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
    /// The seq of the last event the transport took from this stream (or the start cursor):
    /// what [`Registry::delivered`] waits on.
    pub(crate) delivered: AtomicU64,
    /// Woken at every delivery (shared by the registry's entries).
    delivery: Arc<Notify>,
}

impl Entry {
    pub(crate) fn advance(&self, cursor: u64) {
        self.cursor.store(cursor, Ordering::Relaxed);
    }

    pub(crate) fn set_replaying(&self, replaying: bool) {
        self.replaying.store(replaying, Ordering::Relaxed);
    }

    /// The transport took the event `seq` (called in seq order by the stream's output).
    pub(crate) fn delivered(&self, seq: u64) {
        self.delivered.fetch_max(seq, Ordering::Release);
        self.delivery.notify_waiters();
    }
}

/// Streams one principal (API token) may hold open: a quarter of the cap, at least 4.
pub(crate) fn per_principal_cap(max_streams: usize) -> usize {
    (max_streams / 4).max(4).min(max_streams)
}

/// Open streams.
#[derive(Debug)]
pub(crate) struct Registry {
    max_streams: usize,
    next_id: AtomicU64,
    open: Mutex<BTreeMap<u64, Arc<Entry>>>,
    delivery: Arc<Notify>,
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
            delivery: Arc::new(Notify::new()),
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
        // One token (one CRM gone wrong, reconnecting in a loop) cannot take every stream from
        // the others (research cti-api.md §9 "Limits and drain").
        let per_principal = per_principal_cap(self.max_streams);
        if open.values().filter(|e| e.principal == principal).count() >= per_principal {
            return Err(ApiError::TooManyStreams(per_principal));
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
            delivered: AtomicU64::new(cursor),
            delivery: self.delivery.clone(),
        });
        open.insert(id, entry.clone());
        Ok(Registration {
            registry: self.clone(),
            entry,
        })
    }

    /// Whether every live stream that takes `event` (seq `seq`) has handed it to its transport.
    /// A stream replaying from the journal is not waited for: it is behind anyway and reads
    /// the event from the journal in its turn.
    /// `None` while one is still to take it; `Some(true)` if at least one stream took it.
    fn all_delivered(&self, seq: u64, event: &NewEvent) -> Option<bool> {
        let Ok(open) = self.open.lock() else {
            return Some(false);
        };
        let mut any = false;
        for e in open.values() {
            if e.replaying.load(Ordering::Relaxed) || !e.filter.matches(event) {
                continue;
            }
            if e.delivered.load(Ordering::Acquire) < seq {
                return None;
            }
            any = true;
        }
        Some(any)
    }

    /// Resolves once every live stream that takes `event` has handed it to its transport, plus
    /// `lead` if any did (the screen-pop gate: the engine holds the agent's INVITE on this,
    /// with its own limit).
    pub(crate) fn delivered(
        self: &Arc<Self>,
        seq: u64,
        event: NewEvent,
        lead: std::time::Duration,
    ) -> impl Future<Output = ()> + Send + 'static {
        let registry = self.clone();
        async move {
            loop {
                // Registered before the check, so a delivery between the two is not missed.
                let notified = registry.delivery.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                match registry.all_delivered(seq, &event) {
                    Some(true) => return tokio::time::sleep(lead).await,
                    Some(false) => return,
                    None => {}
                }
                notified.await;
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn alerting(agent: &str) -> NewEvent {
        let mut e = NewEvent::new(SystemTime::UNIX_EPOCH, "AgentAlerting", Vec::new());
        e.agent = Some(agent.into());
        e
    }

    fn open(registry: &Arc<Registry>, filter: EventFilter) -> Registration {
        registry
            .register(
                "crm".into(),
                "demo".into(),
                String::new(),
                filter,
                0,
                SystemTime::UNIX_EPOCH,
            )
            .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn the_gate_waits_for_every_live_stream_that_takes_the_event_then_gives_a_lead() {
        let registry = Registry::new(8);
        let live = open(&registry, EventFilter::default());
        live.entry.set_replaying(false);
        // Another agent's stream and a replaying stream are not waited for.
        let other = open(
            &registry,
            EventFilter {
                agents: vec!["1002".into()],
                ..EventFilter::default()
            },
        );
        other.entry.set_replaying(false);
        let _replaying = open(&registry, EventFilter::default());
        let gate = registry.delivered(7, alerting("1001"), SCREEN_POP_LEAD);
        tokio::pin!(gate);
        let start = tokio::time::Instant::now();
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(500), gate.as_mut())
                .await
                .is_err(),
            "held while the live stream has not taken seq 7"
        );
        live.entry.delivered(6);
        live.entry.delivered(7);
        let taken = tokio::time::Instant::now();
        gate.await;
        assert_eq!(taken.elapsed(), SCREEN_POP_LEAD);
        assert!(start.elapsed() >= std::time::Duration::from_millis(500));
    }

    #[test]
    fn one_token_gets_a_quarter_of_the_streams_and_leaves_the_rest_to_others() {
        let registry = Registry::new(16);
        let register = |principal: &str| {
            registry.register(
                "crm".into(),
                principal.into(),
                String::new(),
                EventFilter::default(),
                0,
                SystemTime::UNIX_EPOCH,
            )
        };
        let held: Vec<_> = (0..4).map(|_| register("crm-a").unwrap()).collect();
        assert!(matches!(
            register("crm-a"),
            Err(ApiError::TooManyStreams(4))
        ));
        let other = register("crm-b").expect("another token still gets a stream");
        drop(held);
        let again = register("crm-a").expect("freed when the streams end");
        drop((other, again));
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_live_subscriber_the_gate_opens_at_once() {
        let registry = Registry::new(8);
        let start = tokio::time::Instant::now();
        registry
            .delivered(3, alerting("1001"), SCREEN_POP_LEAD)
            .await;
        let _replaying = open(&registry, EventFilter::default());
        registry
            .delivered(4, alerting("1001"), SCREEN_POP_LEAD)
            .await;
        assert_eq!(start.elapsed(), std::time::Duration::ZERO);
    }
}
