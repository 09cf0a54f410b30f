//! The engine's read side (issue 7): calls, agents and queues rendered as the public API's
//! resources (`switchboard.v1.Call`, `Agent`, `Queue`), read on the engine's own task so a
//! read never sees half of an input's effects.
//!
//! The engine owns the live state (calls and legs, IVR data, the router's agents and queue
//! statistics), so it renders it: the API only forwards. A snapshot's `as_of_seq` is not known
//! here (events are journaled asynchronously); the shell fills it once every event the state
//! reflects is committed (see `shell.rs`, "snapshot barrier").

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant, SystemTime};

use prost::Message;
use switchboard_acd::{AgentState, CallId, RequestedState};
use switchboard_proto::pb;

use crate::call::{AgentLegState, Call, CallState};
use crate::engine::Engine;

/// How many ended calls stay readable (state `ENDED`), so a late read finds the call and a
/// late command gets `CALL_ENDED` instead of `CALL_NOT_FOUND`.
pub(crate) const ENDED_KEPT: usize = 256;

/// A read of the engine's state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EngineQuery {
    /// One call (in progress, or among the last ended ones).
    Call(String),
    /// Calls in progress, oldest first.
    Calls,
    /// One configured agent.
    Agent(String),
    /// All configured agents, in configuration order.
    Agents,
    /// One configured queue with its statistics.
    Queue(String),
    /// All configured queues, in configuration order.
    Queues,
    /// Calls, agents and queues together, as one cut.
    Snapshot,
}

/// The answer to an [`EngineQuery`], the same variant.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum QueryAnswer {
    /// One call.
    Call(Box<pb::Call>),
    /// Calls in progress.
    Calls(Vec<pb::Call>),
    /// One agent.
    Agent(Box<pb::Agent>),
    /// All agents.
    Agents(Vec<pb::Agent>),
    /// One queue.
    Queue(Box<pb::Queue>),
    /// All queues.
    Queues(Vec<pb::Queue>),
    /// Everything, cut at one journal seq.
    Snapshot(EngineSnapshot),
}

/// Calls, agents and queues as of one journal seq.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EngineSnapshot {
    /// The last journaled event this state reflects (every event the engine had produced when
    /// the snapshot was taken is committed at or below it; none above it is reflected).
    pub as_of_seq: u64,
    /// Calls in progress, oldest first.
    pub calls: Vec<pb::Call>,
    /// Configured agents.
    pub agents: Vec<pb::Agent>,
    /// Configured queues.
    pub queues: Vec<pb::Queue>,
}

/// Why a read found nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// No call in progress or recently ended has this id.
    #[error("no call {0}")]
    UnknownCall(String),
    /// No configured agent has this id.
    #[error("no agent {0}")]
    UnknownAgent(String),
    /// No configured queue has this name.
    #[error("no queue {0}")]
    UnknownQueue(String),
    /// The engine task has stopped.
    #[error("the call engine has stopped")]
    Stopped,
}

fn duration(d: Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

fn stamp(t: SystemTime) -> prost_types::Timestamp {
    prost_types::Timestamp::from(t)
}

/// An AIP-154 etag: a digest of the resource as rendered (with its etag field empty), so it
/// changes exactly when something a client can read changes. `maps` are the resource's map
/// fields, taken out of `message` by the caller: prost renders them as `HashMap`s, whose
/// encoding order differs between two renderings, so they are digested sorted.
pub(crate) fn etag_of(message: &impl Message, maps: &[&HashMap<String, String>]) -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    message.encode_to_vec().hash(&mut hasher);
    for map in maps {
        let mut entries: Vec<_> = map.iter().collect();
        entries.sort();
        entries.hash(&mut hasher);
    }
    format!("{:016x}", hasher.finish())
}

/// The call data etag: a digest of the values in key order (the call keeps them in a
/// `BTreeMap`), so equal contents give equal etags across reads.
pub(crate) fn data_etag(call: &Call) -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    call.data.hash(&mut hasher);
    call.data_version.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// The API's leg id of a media leg.
pub(crate) fn leg_text(leg: crate::LegId) -> String {
    leg.to_string()
}

/// The wire state and reason code of a router state.
pub(crate) fn wire_state(state: &AgentState) -> (pb::AgentState, String) {
    match state {
        AgentState::LoggedOut => (pb::AgentState::LoggedOut, String::new()),
        AgentState::NotReady(reason) => (pb::AgentState::NotReady, reason.as_str().to_owned()),
        AgentState::Ready => (pb::AgentState::Ready, String::new()),
        AgentState::Reserved { .. } => (pb::AgentState::Reserved, String::new()),
        AgentState::OnCall { .. } => (pb::AgentState::Busy, String::new()),
        AgentState::WrapUp { .. } => (pb::AgentState::WrapUp, String::new()),
    }
}

fn wire_requested(state: &RequestedState) -> (pb::AgentState, String) {
    match state {
        RequestedState::Ready => (pb::AgentState::Ready, String::new()),
        RequestedState::NotReady(reason) => (pb::AgentState::NotReady, reason.as_str().to_owned()),
        RequestedState::LoggedOut => (pb::AgentState::LoggedOut, String::new()),
    }
}

impl Engine {
    /// Answers a read at `now`. A [`QueryAnswer::Snapshot`] comes with `as_of_seq` 0: the
    /// shell sets it (it knows which journal writes are still in flight).
    pub fn query(&self, now: Instant, query: &EngineQuery) -> Result<QueryAnswer, QueryError> {
        Ok(match query {
            EngineQuery::Call(id) => QueryAnswer::Call(Box::new(self.call_view(now, id)?)),
            EngineQuery::Calls => QueryAnswer::Calls(self.call_views(now)),
            EngineQuery::Agent(id) => QueryAnswer::Agent(Box::new(
                self.agent_view(now, id)
                    .ok_or_else(|| QueryError::UnknownAgent(id.clone()))?,
            )),
            EngineQuery::Agents => QueryAnswer::Agents(self.agent_views(now)),
            EngineQuery::Queue(name) => QueryAnswer::Queue(Box::new(
                self.queue_view(now, name)
                    .ok_or_else(|| QueryError::UnknownQueue(name.clone()))?,
            )),
            EngineQuery::Queues => QueryAnswer::Queues(self.queue_views(now)),
            EngineQuery::Snapshot => QueryAnswer::Snapshot(EngineSnapshot {
                as_of_seq: 0,
                calls: self.call_views(now),
                agents: self.agent_views(now),
                queues: self.queue_views(now),
            }),
        })
    }

    /// One call by its text id: in progress, or recently ended.
    pub(crate) fn call_view(&self, now: Instant, id: &str) -> Result<pb::Call, QueryError> {
        if let Some(call) = self.calls.values().find(|c| c.text_id == id) {
            return Ok(self.render_call(now, call));
        }
        self.ended
            .iter()
            .find(|c| c.call_id == id)
            .cloned()
            .ok_or_else(|| QueryError::UnknownCall(id.to_owned()))
    }

    fn call_views(&self, now: Instant) -> Vec<pb::Call> {
        let mut calls: Vec<&Call> = self.calls.values().collect();
        // UUIDv7 text sorts by creation time; the id breaks ties within a millisecond.
        calls.sort_by(|a, b| a.started.cmp(&b.started).then(a.text_id.cmp(&b.text_id)));
        calls
            .into_iter()
            .map(|c| self.render_call(now, c))
            .collect()
    }

    /// The call as the API shows it.
    pub(crate) fn render_call(&self, now: Instant, call: &Call) -> pb::Call {
        let routed = self.router.call(CallId(call.id));
        let agent_legs: Vec<_> = {
            let mut legs: Vec<_> = self
                .agent_legs
                .values()
                .filter(|l| l.call == call.id)
                .collect();
            legs.sort_by_key(|l| l.leg);
            legs
        };
        let alerting = agent_legs
            .iter()
            .any(|l| matches!(l.state, AgentLegState::Journaling | AgentLegState::Ringing));
        let state = match call.state {
            CallState::Ivr | CallState::Survey => pb::CallState::Ivr,
            CallState::Queued if alerting => pb::CallState::Alerting,
            CallState::Queued => pb::CallState::Queued,
            CallState::Connected if call.held => pb::CallState::Held,
            CallState::Connected => pb::CallState::Connected,
            // The far leg (route to a URI, transfer to a number) rings.
            CallState::Forwarding => pb::CallState::Alerting,
        };
        let connected = call.state == CallState::Connected;
        let mut customer_actions = vec![pb::LegAction::Hangup, pb::LegAction::SendDtmf];
        if connected {
            customer_actions.push(if call.held {
                pb::LegAction::Retrieve
            } else {
                pb::LegAction::Hold
            });
        }
        let mut legs = vec![pb::Leg {
            name: format!("calls/{}/legs/{}", call.text_id, leg_text(call.caller.leg)),
            leg_id: leg_text(call.caller.leg),
            role: pb::LegRole::Customer as i32,
            agent: String::new(),
            party: Some(pb::Party {
                number: call.src.clone(),
                name: call.display.clone(),
                restricted: false,
            }),
            state: if call.held {
                pb::LegState::Held
            } else {
                pb::LegState::Connected
            } as i32,
            sip_call_id: call
                .caller
                .dialog
                .as_ref()
                .map(|d| d.id().sip_call_id.clone())
                .unwrap_or_default(),
            allowed_actions: customer_actions.into_iter().map(|a| a as i32).collect(),
            created_at: Some(stamp(call.started)),
            answered_at: Some(stamp(call.answered)),
            ended_at: None,
            end_cause: None,
        }];
        for leg in agent_legs {
            let answered = leg.state == AgentLegState::Answered;
            let state = match leg.state {
                AgentLegState::Journaling => pb::LegState::Initiated,
                AgentLegState::Ringing => pb::LegState::Alerting,
                AgentLegState::Answered if call.held => pb::LegState::Held,
                AgentLegState::Answered => pb::LegState::Connected,
                AgentLegState::Cancelled => pb::LegState::Null,
            };
            let actions: Vec<i32> = if answered {
                vec![
                    pb::LegAction::Hangup,
                    pb::LegAction::BlindTransfer,
                    pb::LegAction::SendDtmf,
                ]
            } else {
                vec![pb::LegAction::Hangup]
            }
            .into_iter()
            .map(|a| a as i32)
            .collect();
            legs.push(pb::Leg {
                name: format!("calls/{}/legs/{}", call.text_id, leg_text(leg.leg)),
                leg_id: leg_text(leg.leg),
                role: pb::LegRole::Agent as i32,
                agent: leg.agent.clone(),
                party: Some(pb::Party {
                    number: leg.agent.clone(),
                    name: self
                        .config
                        .agent(&leg.agent)
                        .map(|a| a.name.clone())
                        .unwrap_or_default(),
                    restricted: false,
                }),
                state: state as i32,
                sip_call_id: leg
                    .dialog
                    .as_ref()
                    .map(|d| d.id().sip_call_id.clone())
                    .unwrap_or_default(),
                allowed_actions: actions,
                created_at: Some(stamp(self.wall(leg.rang_at))),
                answered_at: call
                    .connected_at
                    .filter(|_| answered)
                    .map(|(_, wall)| stamp(wall)),
                ended_at: None,
                end_cause: None,
            });
        }
        let wait_end = call.connected_at.map_or(now, |(at, _)| at);
        let wait_time = call
            .first_queued
            .map(|entered| duration(wait_end.saturating_duration_since(entered)));
        let talk_time = call
            .connected_at
            .filter(|_| connected)
            .map(|(at, _)| duration(now.saturating_duration_since(at)));
        let priority = routed.as_ref().map_or(call.priority, |r| r.priority);
        let mut rendered = pb::Call {
            name: format!("calls/{}", call.text_id),
            call_id: call.text_id.clone(),
            state: state as i32,
            direction: pb::CallDirection::Inbound as i32,
            caller: Some(pb::Party {
                number: call.src.clone(),
                name: call.display.clone(),
                restricted: false,
            }),
            dialed_number: call.dnis.clone(),
            trunk: call.trunk.clone(),
            queue: call.queue.as_ref().map(|stay| pb::QueueStay {
                queue: stay.queue.clone(),
                entered_at: Some(stamp(self.wall(stay.entered))),
                position: self
                    .router
                    .position(CallId(call.id))
                    .map_or(0, |p| u32::try_from(p).unwrap_or(u32::MAX)),
                priority,
            }),
            legs,
            call_data: Some(pb::CallData {
                values: call
                    .data
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                version: call.data_version,
                etag: data_etag(call),
            }),
            ivr_inputs: call
                .inputs
                .iter()
                .map(|i| pb::IvrInput {
                    step: i.key.clone(),
                    key: i.key.clone(),
                    value: i.value.clone(),
                    at: Some(stamp(i.at)),
                })
                .collect(),
            transfers: call.transfers.clone(),
            created_at: Some(stamp(call.started)),
            answered_at: call.connected_at.map(|(_, wall)| stamp(wall)),
            ended_at: None,
            end_cause: None,
            priority,
            etag: String::new(),
            agent: call.agent.clone().unwrap_or_default(),
            wait_time,
            talk_time,
        };
        rendered.etag = call_etag(&rendered);
        rendered
    }

    /// Keeps an ended call readable (state `ENDED`) among the last [`ENDED_KEPT`].
    pub(crate) fn remember_ended(&mut self, now: Instant, call: &Call, reason: pb::EndReason) {
        let mut ended = self.render_call(now, call);
        let wall = self.wall(now);
        ended.state = pb::CallState::Ended as i32;
        ended.ended_at = Some(stamp(wall));
        ended.end_cause = Some(pb::EndCause {
            reason: reason as i32,
            sip_status: 0,
            text: String::new(),
        });
        ended.talk_time = call
            .connected_at
            .map(|(at, _)| duration(now.saturating_duration_since(at)));
        for leg in &mut ended.legs {
            leg.state = pb::LegState::Null as i32;
            leg.allowed_actions.clear();
            leg.ended_at = Some(stamp(wall));
        }
        ended.etag = call_etag(&ended);
        push_bounded(&mut self.ended, ended);
    }

    /// Whether `id` names a call that ended recently.
    pub(crate) fn recently_ended(&self, id: &str) -> bool {
        self.ended.iter().any(|c| c.call_id == id)
    }

    fn agent_views(&self, now: Instant) -> Vec<pb::Agent> {
        self.config
            .agents()
            .iter()
            .filter_map(|a| self.agent_view(now, a.id.as_str()))
            .collect()
    }

    /// One configured agent as the API shows it.
    pub(crate) fn agent_view(&self, now: Instant, id: &str) -> Option<pb::Agent> {
        let configured = self.config.agent(id)?;
        let view = self.router.agent(id)?;
        let (state, reason_code) = wire_state(&view.state);
        let (pending_state, pending_reason_code) = view
            .pending
            .as_ref()
            .map(wire_requested)
            .unwrap_or((pb::AgentState::Unspecified, String::new()));
        let device = if view.state.is_logged_in() {
            self.agent_device(id)
                .map(|(uri, _)| uri.to_string())
                .unwrap_or_default()
        } else {
            String::new()
        };
        let mut active_call_ids: Vec<String> = match view.state {
            AgentState::Reserved { call } | AgentState::OnCall { call } => {
                vec![crate::ids::uuid_text(call.0)]
            }
            _ => Vec::new(),
        };
        // A ring-all loser or a call in its survey still names the agent: only the router's
        // call counts, plus any call whose answered leg is this agent's.
        for leg in self.agent_legs.values() {
            if leg.agent == id && leg.state == AgentLegState::Answered {
                let text = crate::ids::uuid_text(leg.call);
                if !active_call_ids.contains(&text) {
                    active_call_ids.push(text);
                }
            }
        }
        let queues = self
            .config
            .queues()
            .iter()
            .filter(|q| self.config.agents_for_queue(q).any(|a| a.id.as_str() == id))
            .map(|q| q.name.as_str().to_owned())
            .collect();
        let wrap_up_ends_at = match view.state {
            AgentState::WrapUp { until: Some(until) } => Some(stamp(self.wall(until))),
            _ => None,
        };
        let _ = now;
        let mut agent = pb::Agent {
            name: format!("agents/{id}"),
            agent: id.to_owned(),
            display_name: configured.name.clone(),
            device,
            state: state as i32,
            reason_code,
            state_since: self.agent_since.get(id).copied().map(stamp),
            pending_state: pending_state as i32,
            pending_reason_code,
            active_call_ids,
            queues,
            skills: configured
                .skills
                .iter()
                .map(|(skill, level)| (skill.as_str().to_owned(), u32::from(level.get())))
                .collect(),
            wrap_up_ends_at,
            etag: String::new(),
            counters: Some(pb::AgentCounters {
                calls_answered: view.calls,
                talk_time: Some(duration(view.talk_time)),
                offers: view.offers,
                no_answers: view.ronas,
            }),
        };
        // The etag covers the state, not the counters: a SetAgentState with an etag read a
        // moment ago must not fail because a counter moved.
        let mut keyed = agent.clone();
        keyed.counters = None;
        let skills: HashMap<String, String> = std::mem::take(&mut keyed.skills)
            .into_iter()
            .map(|(skill, level)| (skill, level.to_string()))
            .collect();
        agent.etag = etag_of(&keyed, &[&skills]);
        Some(agent)
    }

    fn queue_views(&self, now: Instant) -> Vec<pb::Queue> {
        self.config
            .queues()
            .iter()
            .filter_map(|q| self.queue_view(now, q.name.as_str()))
            .collect()
    }

    /// One configured queue with its live statistics (the router's counters since start).
    pub(crate) fn queue_view(&self, now: Instant, name: &str) -> Option<pb::Queue> {
        let configured = self.config.queue(name)?;
        let stats = self.router.queue_stats(name, now)?;
        let totals = &stats.totals;
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let abandon_rate = if totals.offered > 0 {
            totals.abandoned as f64 / totals.offered as f64
        } else {
            0.0
        };
        Some(pb::Queue {
            name: format!("queues/{name}"),
            queue: name.to_owned(),
            strategy: configured.strategy.as_str().to_owned(),
            stats: Some(pb::QueueStats {
                queue: name.to_owned(),
                // Ringing calls still wait for an answer: a wallboard counts them as waiting.
                waiting: count(stats.waiting + stats.ringing),
                longest_wait: Some(duration(stats.longest_wait)),
                estimated_wait: self.router.queue_ewt(name, now).map(duration),
                agents: Some(pb::AgentCounts {
                    ready: count(stats.agents.ready),
                    not_ready: count(stats.agents.not_ready),
                    reserved: count(stats.agents.reserved),
                    busy: count(stats.agents.on_call),
                    wrap_up: count(stats.agents.wrap_up),
                    logged_out: count(stats.agents.logged_out),
                }),
                offered: totals.offered,
                answered: totals.answered,
                abandoned: totals.abandoned,
                // The router reports percent (Asterisk's `servicelevelperf`); the API 0..=1.
                service_level: totals.service_level().unwrap_or(0.0) / 100.0,
                service_level_threshold: Some(duration(configured.service_level)),
                average_speed_of_answer: totals.asa().map(duration),
                average_handle_time: totals.aht().map(duration),
                abandon_rate,
            }),
        })
    }
}

/// The call's etag, without the parts that move with the clock alone (wait and talk time):
/// it changes when the call changes, not every second.
fn call_etag(call: &pb::Call) -> String {
    let mut keyed = call.clone();
    keyed.etag.clear();
    keyed.wait_time = None;
    keyed.talk_time = None;
    let values = keyed
        .call_data
        .as_mut()
        .map(|d| std::mem::take(&mut d.values))
        .unwrap_or_default();
    etag_of(&keyed, &[&values])
}

fn push_bounded(ended: &mut VecDeque<pb::Call>, call: pb::Call) {
    if ended.len() >= ENDED_KEPT {
        ended.pop_front();
    }
    ended.push_back(call);
}
