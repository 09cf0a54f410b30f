//! [`Router`]: the owner of queues, agents, calls and offers, and its four-method sans-IO shape.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::agent::{Agent, AgentView};
use crate::call::{Call, CallPlace, CallView, Place};
use crate::decision::Decision;
use crate::error::RouterError;
use crate::ids::{AgentIdx, AgentName, CallId, OfferId, QueueIdx, QueueName};
use crate::input::RouterInput;
use crate::queue::Queue;
use crate::requirement::ExprTable;
use crate::spec::RouterOptions;
use crate::stats::{AgentCounts, IntervalReport, QueueStats};
use crate::timers::{Timer, Timers, after};

/// An outstanding offer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OfferRecord {
    pub(crate) call: CallId,
    pub(crate) agent: AgentIdx,
    pub(crate) queue: QueueIdx,
    pub(crate) deadline: Instant,
    pub(crate) made_at: Instant,
}

/// The ACD routing core. See the [crate documentation](crate) for the model and the drive loop.
#[derive(Debug)]
pub struct Router {
    /// Instant all internal orderings are measured from.
    pub(crate) base: Instant,
    /// Wall-clock anchor: at `wall_anchor.0` it was `wall_anchor.1` since the Unix epoch.
    pub(crate) wall_anchor: (Instant, Duration),
    pub(crate) options: RouterOptions,
    pub(crate) rng: StdRng,
    pub(crate) exprs: ExprTable,
    pub(crate) queues: Vec<Queue>,
    pub(crate) queue_index: HashMap<QueueName, QueueIdx>,
    pub(crate) agents: Vec<Agent>,
    pub(crate) agent_index: HashMap<AgentName, AgentIdx>,
    pub(crate) calls: HashMap<CallId, Call>,
    pub(crate) offers: HashMap<OfferId, OfferRecord>,
    pub(crate) next_offer: u64,
    pub(crate) next_seq: u64,
    pub(crate) timers: Timers,
    pub(crate) output: VecDeque<Decision>,
    /// Start of the open statistics interval (since the Unix epoch) and when it closes.
    pub(crate) interval_start: Duration,
    pub(crate) interval_timer: Option<Instant>,
    /// Queues whose statistics changed during the current input.
    pub(crate) dirty_stats: Vec<bool>,
    pub(crate) dirty_stats_list: Vec<QueueIdx>,
    /// Queues with `leave_empty` whose members changed state during the current input.
    pub(crate) dirty_empty: Vec<bool>,
    pub(crate) dirty_empty_list: Vec<QueueIdx>,
    pub(crate) scratch: Vec<AgentIdx>,
}

impl Router {
    /// A router with no queues or agents (apply a [`ConfigUpdate`](crate::ConfigUpdate) with
    /// [`RouterInput::Configure`]). `wall_clock` is the wall-clock time at `now`; statistics
    /// intervals follow it.
    pub fn new(now: Instant, wall_clock: SystemTime, options: RouterOptions) -> Self {
        let unix = wall_clock.duration_since(UNIX_EPOCH).unwrap_or_default();
        let mut router = Self {
            base: now,
            wall_anchor: (now, unix),
            options,
            rng: StdRng::seed_from_u64(options.seed),
            exprs: ExprTable::new(),
            queues: Vec::new(),
            queue_index: HashMap::new(),
            agents: Vec::new(),
            agent_index: HashMap::new(),
            calls: HashMap::new(),
            offers: HashMap::new(),
            next_offer: 1,
            next_seq: 0,
            timers: Timers::default(),
            output: VecDeque::new(),
            interval_start: Duration::ZERO,
            interval_timer: None,
            dirty_stats: Vec::new(),
            dirty_stats_list: Vec::new(),
            dirty_empty: Vec::new(),
            dirty_empty_list: Vec::new(),
            scratch: Vec::new(),
        };
        router.interval_start = router.interval_floor(unix);
        router.arm_interval(now);
        router
    }

    /// Handles one input completely: every decision it leads to is queued for
    /// [`poll_output`](Self::poll_output) before this returns. A refused input changes nothing.
    pub fn handle_input(&mut self, now: Instant, input: RouterInput) -> Result<(), RouterError> {
        let result = match input {
            RouterInput::Configure(update) => self.configure(now, update),
            RouterInput::CallArrived {
                call,
                queue,
                priority,
                requirement,
            } => self.call_arrived(now, call, queue.as_str(), priority, requirement),
            RouterInput::CallAbandoned { call } => self.call_abandoned(now, call),
            RouterInput::OfferAccepted { offer } => self.offer_accepted(now, offer),
            RouterInput::OfferRejected { offer } => self.offer_unanswered(now, offer, false),
            RouterInput::OfferFailed { offer } => self.offer_failed(now, offer),
            RouterInput::CallEnded { call } => self.call_ended(now, call),
            RouterInput::AgentState { agent, state } => {
                self.agent_state(now, agent.as_str(), state)
            }
            RouterInput::AgentNextState { agent, state } => {
                self.agent_next_state(now, agent.as_str(), state)
            }
            RouterInput::ExtendWrapUp { agent, by } => self.extend_wrap_up(agent.as_str(), by),
            RouterInput::SetPriority { call, priority } => self.set_priority(call, priority),
            RouterInput::SetWaitAdjustment { call, adjustment } => {
                self.set_wait_adjustment(call, adjustment)
            }
            RouterInput::SetRequirement { call, requirement } => {
                self.set_requirement(now, call, &requirement)
            }
            RouterInput::CallbackRequested { call } => self.callback_requested(call),
            RouterInput::CallbackUnreached { call } => self.callback_unreached(now, call),
            RouterInput::WallClock(wall) => {
                self.wall_anchor = (now, wall.duration_since(UNIX_EPOCH).unwrap_or_default());
                self.arm_interval(now);
                Ok(())
            }
        };
        self.finish(now);
        result
    }

    /// Fires every timer due at `now`: ring timeouts (RONA), wrap-up ends, requirement steps,
    /// max waits, announcements, callback retries, interval ends. A spurious call is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((_, timer)) = self.timers.pop_due(now) {
            match timer {
                Timer::Offer(offer) => {
                    // The entry is gone from the set already: forget it before the handler
                    // tries to disarm it.
                    let _ = self.offer_unanswered(now, offer, true);
                }
                Timer::WrapUp(agent) => self.wrap_up_ended(now, agent),
                Timer::Step(call) => {
                    if let Some(c) = self.calls.get_mut(&call) {
                        c.step_timer = None;
                    }
                    self.refresh_step(now, call);
                }
                Timer::MaxWait(call) => self.max_wait_reached(now, call),
                Timer::Announce(call) => self.announce(now, call),
                Timer::CallbackRetry(call) => self.callback_retry(now, call),
                Timer::Interval => self.close_interval(now),
            }
        }
        self.finish(now);
    }

    /// The next decision, in order.
    pub fn poll_output(&mut self) -> Option<Decision> {
        self.output.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next.
    #[doc(alias = "next_deadline")]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Same as [`poll_timeout`](Self::poll_timeout).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.poll_timeout()
    }

    /// An agent's state and counters.
    pub fn agent(&self, name: &str) -> Option<AgentView> {
        let &idx = self.agent_index.get(name)?;
        let agent = self.agents.get(idx.at())?;
        agent.configured.then(|| agent.view())
    }

    /// Names of the configured agents.
    pub fn agent_names(&self) -> impl Iterator<Item = &AgentName> {
        self.agents.iter().filter(|a| a.configured).map(|a| &a.name)
    }

    /// Names of the configured queues.
    pub fn queue_names(&self) -> impl Iterator<Item = &QueueName> {
        self.queues
            .iter()
            .filter(|q| q.configured)
            .map(|q| &q.spec.name)
    }

    /// Where a call is.
    pub fn call(&self, call: CallId) -> Option<CallView> {
        let c = self.calls.get(&call)?;
        let agent_name = |a: AgentIdx| self.agents.get(a.at()).map(|a| a.name.clone());
        let place = match &c.place {
            Place::Waiting => CallPlace::Waiting,
            Place::Scheduled(at) => CallPlace::CallbackScheduled { retry_at: *at },
            Place::Offered(offers) => CallPlace::Offered {
                agents: offers
                    .iter()
                    .filter_map(|o| self.offers.get(o).and_then(|r| agent_name(r.agent)))
                    .collect(),
            },
            Place::Connected(a) => CallPlace::Connected {
                agent: agent_name(*a)?,
            },
        };
        Some(CallView {
            call,
            queue: self.queues.get(c.queue.at())?.spec.name.clone(),
            place,
            priority: c.priority,
            wait_adjustment: c.adjustment,
            enqueued_at: c.enqueued_at,
            step: c.step,
            callback: c.callback.is_some(),
            callback_attempts: c.callback.unwrap_or(0),
            predicted_wait: c.predicted,
        })
    }

    /// A waiting call's 1-based position among its queue's waiting calls.
    pub fn position(&self, call: CallId) -> Option<usize> {
        let c = self.calls.get(&call)?;
        if !c.is_waiting() {
            return None;
        }
        Some(self.queues.get(c.queue.at())?.position(c.key(self.base)))
    }

    /// A waiting call's estimated wait from `now` (see [`crate::ewt`] for the model); `None`
    /// for a call not waiting, or when no eligible agent is staffed.
    pub fn ewt(&self, call: CallId, now: Instant) -> Option<Duration> {
        self.calls.get(&call).filter(|c| c.is_waiting())?;
        self.estimate_wait(now, call)
    }

    /// A queue's waiting calls in line order (callbacks included, scheduled retries not).
    pub fn waiting_calls(&self, queue: &str) -> Vec<CallId> {
        let Some(q) = self
            .queue_index
            .get(queue)
            .and_then(|&q| self.queues.get(q.at()))
        else {
            return Vec::new();
        };
        let mut all: Vec<_> = q
            .waiting
            .iter()
            .flat_map(|(_, line)| line.iter().copied())
            .collect();
        all.sort_unstable();
        all.into_iter().map(|(_, c)| c).collect()
    }

    /// A queue's live statistics at `now`.
    pub fn queue_stats(&self, queue: &str, now: Instant) -> Option<QueueStats> {
        let &qi = self.queue_index.get(queue)?;
        let q = self.queues.get(qi.at())?;
        if !q.configured {
            return None;
        }
        let (mut waiting, mut ringing, mut scheduled, mut longest) = (0, 0, 0, Duration::ZERO);
        // Only this queue's calls, oldest first.
        for c in q.in_queue.iter().filter_map(|(_, id)| self.calls.get(id)) {
            match c.place {
                Place::Waiting => waiting += 1,
                Place::Offered(_) => ringing += 1,
                Place::Scheduled(_) => scheduled += 1,
                Place::Connected(_) => continue,
            }
            if c.callback.is_none() {
                longest = longest.max(now.saturating_duration_since(c.queue_entered_at));
            }
        }
        let mut agents = AgentCounts::default();
        for a in q.members.iter().filter_map(|&a| self.agents.get(a.at())) {
            use crate::agent::AgentState as S;
            match a.state {
                S::LoggedOut => agents.logged_out += 1,
                S::NotReady(_) => agents.not_ready += 1,
                S::Ready => agents.ready += 1,
                S::Reserved { .. } => agents.reserved += 1,
                S::OnCall { .. } => agents.on_call += 1,
                S::WrapUp { .. } => agents.wrap_up += 1,
            }
        }
        Some(QueueStats {
            queue: q.spec.name.clone(),
            totals: q.counters.totals,
            interval: q.counters.interval,
            interval_start: UNIX_EPOCH + self.interval_start,
            waiting,
            ringing,
            scheduled_callbacks: scheduled,
            longest_wait: longest,
            agents,
        })
    }

    /// Wall-clock time at `now`, since the Unix epoch.
    pub(crate) fn wall(&self, now: Instant) -> Duration {
        let (at, unix) = self.wall_anchor;
        if now >= at {
            unix.saturating_add(now - at)
        } else {
            unix.saturating_sub(at - now)
        }
    }

    fn interval_floor(&self, unix: Duration) -> Duration {
        let len = self.options.interval.as_secs().max(1);
        Duration::from_secs(unix.as_secs() / len * len)
    }

    /// Arms the timer for the end of the interval containing `now`.
    fn arm_interval(&mut self, now: Instant) {
        let wall = self.wall(now);
        let len = Duration::from_secs(self.options.interval.as_secs().max(1));
        let end = self.interval_floor(wall).saturating_add(len);
        let at = after(now, end.saturating_sub(wall));
        let mut slot = self.interval_timer;
        self.timers.set(&mut slot, at, Timer::Interval);
        self.interval_timer = slot;
    }

    fn close_interval(&mut self, now: Instant) {
        self.interval_timer = None;
        let length = Duration::from_secs(self.options.interval.as_secs().max(1));
        let start = UNIX_EPOCH + self.interval_start;
        for q in self.queues.iter_mut().filter(|q| q.configured) {
            let counters = std::mem::take(&mut q.counters.interval);
            self.output
                .push_back(Decision::IntervalClosed(Box::new(IntervalReport {
                    queue: q.spec.name.clone(),
                    start,
                    length,
                    counters,
                })));
        }
        self.interval_start = self.interval_floor(self.wall(now));
        self.arm_interval(now);
    }

    /// Marks a queue's statistics as changed in this input.
    pub(crate) fn touch_stats(&mut self, q: QueueIdx) {
        if let Some(flag) = self.dirty_stats.get_mut(q.at())
            && !*flag
        {
            *flag = true;
            self.dirty_stats_list.push(q);
        }
    }

    /// Marks the queues of an agent whose state changed: statistics, and the leave-empty check.
    pub(crate) fn touch_agent_queues(&mut self, a: AgentIdx) {
        let memberships = self.agents.get(a.at()).map_or(0, |ag| ag.memberships.len());
        for i in 0..memberships {
            let q = self.agents[a.at()].memberships[i].queue;
            self.touch_stats(q);
            let leave_empty = self
                .queues
                .get(q.at())
                .is_some_and(|qu| qu.spec.leave_empty.is_some());
            if leave_empty
                && let Some(flag) = self.dirty_empty.get_mut(q.at())
                && !*flag
            {
                *flag = true;
                self.dirty_empty_list.push(q);
            }
        }
    }

    /// End of every input: leave-empty checks, then one `StatsChanged` per touched queue.
    fn finish(&mut self, now: Instant) {
        while let Some(q) = self.dirty_empty_list.pop() {
            if let Some(flag) = self.dirty_empty.get_mut(q.at()) {
                *flag = false;
            }
            self.check_leave_empty(now, q);
        }
        for q in std::mem::take(&mut self.dirty_stats_list) {
            if let Some(flag) = self.dirty_stats.get_mut(q.at()) {
                *flag = false;
            }
            if let Some(queue) = self.queues.get(q.at()) {
                self.output.push_back(Decision::StatsChanged {
                    queue: queue.spec.name.clone(),
                });
            }
        }
    }

    pub(crate) fn agent_idx(&self, name: &str) -> Result<AgentIdx, RouterError> {
        match self.agent_index.get(name) {
            Some(&a) if self.agents.get(a.at()).is_some_and(|ag| ag.configured) => Ok(a),
            _ => Err(RouterError::UnknownAgent(name.into())),
        }
    }
}
