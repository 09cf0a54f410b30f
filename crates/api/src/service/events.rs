//! EventService: Subscribe, GetSnapshot, ListEvents, GetJournalInfo.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::auth::principal_of;
use crate::codec::{filter_from_wire, to_wire};
use crate::error::ApiError;
use crate::journal::check_cursor;
use crate::pb;
use crate::pb::event_service_server::EventService;
use crate::service::Shared;
use crate::stream::StreamTask;
use crate::subscriptions::Entry;

/// Default heartbeat interval (Genesys Cloud sends one every 30 s; gRPC stacks need traffic
/// well under common idle timeouts).
const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(15);
const MIN_HEARTBEAT: Duration = Duration::from_secs(1);
const MAX_HEARTBEAT: Duration = Duration::from_secs(60);

/// Messages buffered per stream towards tonic before the task waits (and its live receiver may
/// lag, which sends it to the journal).
const STREAM_BUFFER: usize = 256;

const DEFAULT_PAGE: u32 = 100;
/// The longest a ListEvents long poll (`wait_for_new`) is held.
const MAX_LONG_POLL: Duration = Duration::from_secs(60);
const MAX_PAGE: u32 = 1000;

pub(crate) struct Events(pub(crate) Shared);

/// A stream's output as tonic polls it: each event taken marks the stream's delivery point
/// (what the screen-pop gate waits for, [`crate::ScreenPopGate`]).
struct Delivering {
    inner: ReceiverStream<Result<pb::SubscribeResponse, Status>>,
    entry: Arc<Entry>,
}

impl Stream for Delivering {
    type Item = Result<pb::SubscribeResponse, Status>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let polled = Pin::new(&mut self.inner).poll_next(cx);
        if let std::task::Poll::Ready(Some(Ok(pb::SubscribeResponse {
            kind: Some(pb::subscribe_response::Kind::Event(event)),
        }))) = &polled
        {
            self.entry.delivered(event.seq);
        }
        polled
    }
}

fn heartbeat_interval(requested: Option<&prost_types::Duration>) -> Duration {
    requested
        .and_then(|d| Duration::try_from(*d).ok())
        .filter(|d| !d.is_zero())
        .map_or(DEFAULT_HEARTBEAT, |d| d.clamp(MIN_HEARTBEAT, MAX_HEARTBEAT))
}

fn check_epoch(requested: &str, current: &str) -> Result<(), ApiError> {
    if requested.is_empty() || requested.eq_ignore_ascii_case(current) {
        return Ok(());
    }
    Err(ApiError::JournalEpochMismatch {
        requested: requested.to_owned(),
        current: current.to_owned(),
    })
}

#[tonic::async_trait]
impl EventService for Events {
    type SubscribeStream =
        Pin<Box<dyn Stream<Item = Result<pb::SubscribeResponse, Status>> + Send + 'static>>;

    async fn subscribe(
        &self,
        request: Request<pb::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let shared = &self.0;
        let principal = principal_of(&request);
        let peer = request
            .remote_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let request = request.into_inner();
        let epoch = shared.pool.epoch().to_string();
        check_epoch(&request.journal_epoch, &epoch)?;
        let filter = Arc::new(filter_from_wire(request.filter.as_ref()));
        // Subscribe to live events before reading the journal: whatever is published after the
        // read's head is then in this receiver (or reported as a lag).
        let live = shared.live.subscribe();
        let info = shared.pool.info().await?;
        let mut snapshot = None;
        let cursor = match request.start {
            Some(pb::subscribe_request::Start::AfterSeq(after)) => after,
            Some(pb::subscribe_request::Start::Position(p)) => {
                match pb::StartPosition::try_from(p).unwrap_or(pb::StartPosition::Now) {
                    pb::StartPosition::Oldest => info.oldest_seq.saturating_sub(1),
                    pb::StartPosition::Snapshot => {
                        let s = shared.engine.snapshot().await?;
                        let at = s.as_of_seq;
                        snapshot = Some(s);
                        at
                    }
                    pb::StartPosition::Now | pb::StartPosition::Unspecified => info.head_seq,
                }
            }
            None => info.head_seq,
        };
        // The snapshot may be cut past the head we read a moment ago; re-read in that case.
        let info = if cursor > info.head_seq {
            shared.pool.info().await?
        } else {
            info
        };
        check_cursor(&info, cursor)?;
        let registration = shared.registry.register(
            request.client_name,
            principal.name,
            peer,
            (*filter).clone(),
            cursor,
            SystemTime::now(),
        )?;
        let (out, rx) = mpsc::channel(STREAM_BUFFER);
        let entry = registration.entry.clone();
        let task = StreamTask {
            pool: shared.pool.clone(),
            live,
            filter,
            cursor,
            heartbeat: heartbeat_interval(request.heartbeat_interval.as_ref()),
            snapshot,
            registration,
            out,
        };
        tokio::spawn(task.run());
        Ok(Response::new(Box::pin(Delivering {
            inner: ReceiverStream::new(rx),
            entry,
        })))
    }

    async fn get_snapshot(
        &self,
        _request: Request<pb::GetSnapshotRequest>,
    ) -> Result<Response<pb::Snapshot>, Status> {
        let s = self.0.engine.snapshot().await?;
        Ok(Response::new(pb::Snapshot {
            as_of_seq: s.as_of_seq,
            journal_epoch: self.0.pool.epoch().to_string(),
            calls: s.calls,
            agents: s.agents,
            queues: s.queues,
        }))
    }

    async fn list_events(
        &self,
        request: Request<pb::ListEventsRequest>,
    ) -> Result<Response<pb::ListEventsResponse>, Status> {
        let request = request.into_inner();
        let after = if request.page_token.is_empty() {
            request.after_seq
        } else {
            request
                .page_token
                .parse::<u64>()
                .map_err(|_| ApiError::invalid("page_token", "not a token from ListEvents"))?
        };
        let size = match request.page_size {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        };
        let filter = Arc::new(filter_from_wire(request.filter.as_ref()));
        let wait = request
            .wait_for_new
            .and_then(|d| Duration::try_from(d).ok())
            .map(|d| d.min(MAX_LONG_POLL))
            .unwrap_or_default();
        // Subscribed before the read: an event committed between the read and the wait is
        // still seen.
        let mut live = self.0.live.subscribe();
        let mut page = self
            .0
            .pool
            .read_after(after, size as usize, filter.clone())
            .await?;
        if page.events.is_empty() && !wait.is_zero() {
            let deadline = tokio::time::Instant::now() + wait;
            let upto = page.scanned_upto;
            loop {
                match tokio::time::timeout_at(deadline, live.recv()).await {
                    Ok(Ok(event)) if event.seq > upto && filter.matches(&event.event) => break,
                    Ok(Ok(_)) => continue,
                    // Lagged: something was journaled; the read below finds what matches.
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => break,
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) | Err(_) => break,
                }
            }
            page = self.0.pool.read_after(after, size as usize, filter).await?;
        }
        let info = self.0.pool.info().await?;
        let reached_head = page.scanned_upto >= info.head_seq;
        Ok(Response::new(pb::ListEventsResponse {
            events: page.events.iter().map(to_wire).collect(),
            next_page_token: if reached_head {
                String::new()
            } else {
                page.scanned_upto.to_string()
            },
            watermark_seq: page.scanned_upto,
            head_seq: info.head_seq,
        }))
    }

    async fn get_journal_info(
        &self,
        _request: Request<pb::GetJournalInfoRequest>,
    ) -> Result<Response<pb::JournalInfo>, Status> {
        let info = self.0.pool.info().await?;
        Ok(Response::new(journal_info(&self.0, &info)))
    }
}

/// The wire form of the journal's position and retention.
pub(crate) fn journal_info(
    shared: &Shared,
    info: &switchboard_store::JournalInfo,
) -> pb::JournalInfo {
    pb::JournalInfo {
        journal_epoch: info.epoch.to_string(),
        oldest_seq: info.oldest_seq,
        head_seq: info.head_seq,
        retention_max_age: shared
            .retention
            .max_age
            .and_then(|d| prost_types::Duration::try_from(d).ok()),
        retention_max_events: shared.retention.max_events.unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_interval_defaults_and_clamps() {
        assert_eq!(heartbeat_interval(None), DEFAULT_HEARTBEAT);
        let d = |s| prost_types::Duration {
            seconds: s,
            nanos: 0,
        };
        assert_eq!(heartbeat_interval(Some(&d(0))), DEFAULT_HEARTBEAT);
        assert_eq!(heartbeat_interval(Some(&d(600))), MAX_HEARTBEAT);
        assert_eq!(
            heartbeat_interval(Some(&prost_types::Duration {
                seconds: 0,
                nanos: 1
            })),
            MIN_HEARTBEAT
        );
        assert_eq!(heartbeat_interval(Some(&d(-5))), DEFAULT_HEARTBEAT);
    }

    #[test]
    fn epoch_check_accepts_empty_and_refuses_another_journal() {
        assert!(check_epoch("", "00000000000000aa").is_ok());
        assert!(check_epoch("00000000000000AA", "00000000000000aa").is_ok());
        assert_eq!(
            check_epoch("00000000000000bb", "00000000000000aa")
                .unwrap_err()
                .reason(),
            "JOURNAL_EPOCH_MISMATCH"
        );
    }
}
