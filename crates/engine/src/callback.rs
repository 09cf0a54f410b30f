//! Callbacks (issue 6 §3, issue 7 `RequestCallback`): a waiting caller asks to be called back
//! instead of holding. The router keeps the entry at its place (its enqueue time stands) and
//! offers it to an agent like a call; once the agent answers, the customer is dialled through
//! the outbound trunk ([`crate::outbound::Role::Customer`]).

use std::time::Instant;

use switchboard_acd::{CallId, RouterInput};

use crate::engine::Engine;

impl Engine {
    /// The customer of a callback could not be reached: the router releases the agent and
    /// retries the entry later at its place. `false` when the call is not a callback.
    pub(crate) fn on_callback_unreached(&mut self, now: Instant, call_id: u128) -> bool {
        if !self.calls.get(&call_id).is_some_and(|c| c.callback) {
            return false;
        }
        self.route(
            now,
            RouterInput::CallbackUnreached {
                call: CallId(call_id),
            },
        )
    }
}
