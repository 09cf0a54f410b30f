//! Idempotent retries (AIP-155, research cti-api.md §9.7): a command repeated with the same
//! `request_id` by the same principal within [`WINDOW`] gets the first response back and
//! causes no second side effect. Only accepted commands are remembered; a refused one may be
//! retried.
//!
//! Two identical requests racing each other can both reach the engine; clients retry after a
//! response or a timeout, not concurrently, which is the case this covers.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use prost::Message;

/// How long a request id is remembered.
pub(crate) const WINDOW: Duration = Duration::from_secs(600);

/// Most remembered responses (oldest forgotten first).
const CAPACITY: usize = 100_000;

type Key = (String, &'static str, String);

/// Recently accepted commands and their encoded responses.
#[derive(Debug, Default)]
pub(crate) struct RecentCommands {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    responses: HashMap<Key, Vec<u8>>,
    order: VecDeque<(Instant, Key)>,
}

impl RecentCommands {
    /// The response first given to `(principal, method, request_id)`, if still remembered.
    pub(crate) fn get<M: Message + Default>(
        &self,
        principal: &str,
        method: &'static str,
        request_id: &str,
        now: Instant,
    ) -> Option<M> {
        let mut inner = self.inner.lock().ok()?;
        inner.expire(now);
        let key = (principal.to_owned(), method, request_id.to_owned());
        inner
            .responses
            .get(&key)
            .and_then(|bytes| M::decode(bytes.as_slice()).ok())
    }

    /// Remembers the response to an accepted command.
    pub(crate) fn put<M: Message>(
        &self,
        principal: &str,
        method: &'static str,
        request_id: &str,
        response: &M,
        now: Instant,
    ) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        inner.expire(now);
        let key = (principal.to_owned(), method, request_id.to_owned());
        if inner
            .responses
            .insert(key.clone(), response.encode_to_vec())
            .is_none()
        {
            inner.order.push_back((now, key));
        }
        while inner.order.len() > CAPACITY {
            if let Some((_, old)) = inner.order.pop_front() {
                inner.responses.remove(&old);
            }
        }
    }
}

impl Inner {
    fn expire(&mut self, now: Instant) {
        while let Some((at, _)) = self.order.front() {
            if now.duration_since(*at) < WINDOW {
                break;
            }
            if let Some((_, key)) = self.order.pop_front() {
                self.responses.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb;

    #[test]
    fn repeated_request_id_returns_first_response_until_window_passes() {
        let recent = RecentCommands::default();
        let t0 = Instant::now();
        let first = pb::CommandAccepted {
            request_id: "r1".into(),
            call_id: "c1".into(),
            ..Default::default()
        };
        recent.put("crm", "EndCall", "r1", &first, t0);
        let again: Option<pb::CommandAccepted> =
            recent.get("crm", "EndCall", "r1", t0 + WINDOW / 2);
        assert_eq!(again, Some(first));
        // Another principal or method with the same id is a different command.
        assert!(
            recent
                .get::<pb::CommandAccepted>("ops", "EndCall", "r1", t0)
                .is_none()
        );
        assert!(
            recent
                .get::<pb::CommandAccepted>("crm", "HoldLeg", "r1", t0)
                .is_none()
        );
        assert!(
            recent
                .get::<pb::CommandAccepted>("crm", "EndCall", "r1", t0 + WINDOW)
                .is_none()
        );
    }
}
