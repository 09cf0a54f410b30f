//! The gRPC service implementations over the [`Engine`](crate::Engine) seam and the journal.

pub(crate) mod admin;
pub(crate) mod agents;
pub(crate) mod calls;
pub(crate) mod events;
pub(crate) mod queues;

use std::sync::Arc;
use std::time::SystemTime;

use switchboard_store::Retention;

use crate::journal::JournalPool;
use crate::recent::RecentCommands;
use crate::seam::{Engine, LiveEvents};
use crate::subscriptions::Registry;

/// State every service shares.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) engine: Arc<dyn Engine>,
    pub(crate) pool: Arc<JournalPool>,
    pub(crate) live: LiveEvents,
    pub(crate) registry: Arc<Registry>,
    pub(crate) retention: Retention,
    pub(crate) started_at: SystemTime,
    pub(crate) recent: Arc<RecentCommands>,
}
