//! Test harness: a router on a simulated clock, every decision collected, the invariants
//! audited after every step.
#![allow(dead_code, unreachable_pub)]

pub mod script;

use std::time::{Duration, Instant, SystemTime};

use switchboard_acd::*;

/// A fixed wall-clock start: 2026-01-01T08:00:00Z, on an interval boundary.
pub const WALL_START: u64 = 1_767_254_400;

pub struct Harness {
    pub router: Router,
    pub t0: Instant,
    pub now: Instant,
    pub out: Vec<Decision>,
}

impl Harness {
    pub fn new(config: ConfigUpdate) -> Self {
        Self::with_seed(config, 7)
    }

    pub fn with_seed(config: ConfigUpdate, seed: u64) -> Self {
        // std offers no other way to make an Instant: one origin is read, all later time is
        // simulated from it.
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        Self::starting_at(config, seed, t0)
    }

    /// A harness whose simulated clock starts at `t0` (two harnesses at the same `t0` see the
    /// same instants).
    pub fn starting_at(config: ConfigUpdate, seed: u64, t0: Instant) -> Self {
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(WALL_START);
        let mut router = Router::new(
            t0,
            wall,
            RouterOptions {
                seed,
                ..RouterOptions::default()
            },
        );
        router
            .handle_input(t0, RouterInput::Configure(config))
            .expect("valid test configuration");
        let mut h = Self {
            router,
            t0,
            now: t0,
            out: Vec::new(),
        };
        h.drain();
        h.out.clear();
        h
    }

    fn drain(&mut self) {
        while let Some(d) = self.router.poll_output() {
            self.out.push(d);
        }
        if let Err(v) = self.router.check_invariants() {
            panic!("invariant broken: {v}");
        }
    }

    pub fn input(&mut self, input: RouterInput) -> Result<(), RouterError> {
        let r = self.router.handle_input(self.now, input);
        self.drain();
        r
    }

    /// Moves the clock forward, firing every deadline on the way at its own instant.
    pub fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        while let Some(at) = self.router.poll_timeout() {
            if at > end {
                break;
            }
            self.now = self.now.max(at);
            self.router.handle_timeout(self.now);
            self.drain();
        }
        self.now = end;
    }

    /// Fires the earliest deadline if it is due by `end`; false when none is.
    pub fn fire_next(&mut self, end: Instant) -> bool {
        match self.router.poll_timeout() {
            Some(at) if at <= end => {
                self.now = self.now.max(at);
                self.router.handle_timeout(self.now);
                self.drain();
                true
            }
            _ => false,
        }
    }

    pub fn take(&mut self) -> Vec<Decision> {
        std::mem::take(&mut self.out)
    }

    pub fn ready(&mut self, agent: &str) {
        self.input(RouterInput::AgentState {
            agent: agent.into(),
            state: RequestedState::Ready,
        })
        .unwrap();
    }

    pub fn not_ready(&mut self, agent: &str, reason: &str) {
        self.input(RouterInput::AgentState {
            agent: agent.into(),
            state: RequestedState::NotReady(reason.into()),
        })
        .unwrap();
    }

    pub fn arrive(&mut self, call: u128, queue: &str) {
        self.arrive_with(call, queue, 0, None);
    }

    pub fn arrive_with(
        &mut self,
        call: u128,
        queue: &str,
        priority: i32,
        requirement: Option<Requirement>,
    ) {
        self.input(RouterInput::CallArrived {
            call: CallId(call),
            queue: queue.into(),
            priority,
            requirement,
        })
        .unwrap();
    }

    /// Offers made since the last `take`, in order, without consuming other decisions.
    pub fn offers(&self) -> Vec<Offer> {
        self.out
            .iter()
            .filter_map(|d| match d {
                Decision::Offer(o) => Some(o.clone()),
                _ => None,
            })
            .collect()
    }

    /// The one offer made since the last `take`, as (call, agent).
    pub fn only_offer(&self) -> Offer {
        let offers = self.offers();
        assert_eq!(offers.len(), 1, "expected one offer, got {offers:?}");
        offers[0].clone()
    }

    /// The latest offer of a call (across everything collected).
    pub fn offer_of(&self, call: u128) -> Offer {
        self.offers()
            .into_iter()
            .rev()
            .find(|o| o.call == CallId(call))
            .expect("call was offered")
    }

    pub fn accept(&mut self, offer: &Offer) {
        self.input(RouterInput::OfferAccepted { offer: offer.offer })
            .unwrap();
    }

    /// Offers `call` gets and its agent accepts.
    pub fn answer(&mut self, call: u128) -> String {
        let o = self.offer_of(call);
        self.accept(&o);
        o.agent.to_string()
    }

    pub fn end(&mut self, call: u128) {
        self.input(RouterInput::CallEnded { call: CallId(call) })
            .unwrap();
    }

    pub fn state(&self, agent: &str) -> AgentState {
        self.router.agent(agent).expect("agent exists").state
    }

    pub fn place(&self, call: u128) -> Option<CallPlace> {
        self.router.call(CallId(call)).map(|c| c.place)
    }

    pub fn stats(&self, queue: &str) -> QueueStats {
        self.router
            .queue_stats(queue, self.now)
            .expect("queue exists")
    }
}

/// Agents named `a0`…`a{n-1}` with no skills.
pub fn agents(n: usize) -> Vec<AgentSpec> {
    (0..n).map(|i| AgentSpec::new(format!("a{i}"))).collect()
}

/// One queue `q` with `n` agents `a0…`, in that order, and the given tweak.
pub fn one_queue(n: usize, tweak: impl FnOnce(&mut QueueSpec)) -> ConfigUpdate {
    let mut q = QueueSpec::new("q");
    q.members = (0..n)
        .map(|i| QueueMember::from(format!("a{i}").as_str()))
        .collect();
    tweak(&mut q);
    ConfigUpdate {
        queues: vec![q],
        agents: agents(n),
    }
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}
