//! Reading the daemon's event journal over its gRPC API (`EventService.ListEvents`, the demo
//! token), for assertions on what the engine journaled about a call.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use switchboard_api::pb;
use switchboard_api::pb::event_service_client::EventServiceClient;
use tonic::metadata::MetadataValue;

/// The demo configuration's API token (every scope).
pub(crate) const DEMO_TOKEN: &str = "demo-token-change-me";

/// Every event in the journal, in `seq` order (empty if the API cannot be reached).
pub(crate) fn all_events(grpc: SocketAddr) -> Vec<pb::Event> {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Vec::new();
    };
    runtime.block_on(async move {
        let Ok(mut client) = EventServiceClient::connect(format!("http://{grpc}")).await else {
            return Vec::new();
        };
        let mut events = Vec::new();
        let mut page_token = String::new();
        for _ in 0..100 {
            let mut request = tonic::Request::new(pb::ListEventsRequest {
                after_seq: 0,
                filter: None,
                page_size: 1000,
                page_token: page_token.clone(),
                wait_for_new: None,
            });
            let Ok(token) = MetadataValue::try_from(format!("Bearer {DEMO_TOKEN}")) else {
                return events;
            };
            request.metadata_mut().insert("authorization", token);
            let Ok(page) = client.list_events(request).await else {
                return events;
            };
            let page = page.into_inner();
            events.extend(page.events);
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        events
    })
}

/// Polls the journal until `found` picks something out of it, or `limit` passes.
pub(crate) fn wait_for_event<T>(
    grpc: SocketAddr,
    limit: Duration,
    mut found: impl FnMut(&[pb::Event]) -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(hit) = found(&all_events(grpc)) {
            return Some(hit);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
