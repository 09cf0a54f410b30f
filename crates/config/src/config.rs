//! The validated configuration and its look-ups.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use crate::acd::{Agent, Queue};
use crate::api::ApiConfig;
use crate::media::MediaConfig;
use crate::names::{AgentId, QueueName, SkillName};
use crate::routing::{IvrFlow, Route, Trunk};
use crate::server::ServerConfig;
use crate::sip::SipConfig;

/// A whole, validated configuration. Only [`parse`](crate::parse) and [`load`](crate::load)
/// make one, so every reference in it resolves: each queue's and agent's skills are declared,
/// each route and overflow names an existing queue, IVR flow or agent, names are unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `[server]`.
    pub server: ServerConfig,
    /// `[sip]` with `[sip.registrar]`.
    pub sip: SipConfig,
    /// `[api]` with its `[[api.token]]`s and `[api.tls]`.
    pub api: ApiConfig,
    /// `[media]`.
    pub media: MediaConfig,
    pub(crate) skills: BTreeMap<SkillName, String>,
    pub(crate) trunks: Vec<Trunk>,
    pub(crate) agents: Vec<Agent>,
    pub(crate) queues: Vec<Queue>,
    pub(crate) routes: Vec<Route>,
    pub(crate) ivr_flows: Vec<IvrFlow>,
    pub(crate) agent_index: HashMap<AgentId, usize>,
    pub(crate) queue_index: HashMap<QueueName, usize>,
    pub(crate) route_index: HashMap<String, usize>,
}

impl Config {
    /// Declared skills with their descriptions.
    pub fn skills(&self) -> &BTreeMap<SkillName, String> {
        &self.skills
    }

    /// Trunks, in file order.
    pub fn trunks(&self) -> &[Trunk] {
        &self.trunks
    }

    /// The trunk outbound calls use when they name none: the one marked `outbound_default`,
    /// else the first with `outbound`; `None` when no trunk dials out.
    pub fn default_outbound_trunk(&self) -> Option<&Trunk> {
        let dialing = || self.trunks.iter().filter(|t| t.outbound.is_some());
        dialing()
            .find(|t| t.outbound.as_ref().is_some_and(|o| o.default))
            .or_else(|| dialing().next())
    }

    /// The trunk named `name`.
    pub fn trunk(&self, name: &str) -> Option<&Trunk> {
        self.trunks.iter().find(|t| t.name.as_str() == name)
    }

    /// The trunk an INVITE from `source` belongs to: the one with the longest matching prefix
    /// (so `10.1.0.0/16` on one trunk wins over `10.0.0.0/8` on another), or `None`: not from a
    /// trunk (answer 403 unless it authenticates as an agent).
    pub fn trunk_for(&self, source: IpAddr) -> Option<&Trunk> {
        self.trunks
            .iter()
            .filter_map(|trunk| trunk.longest_match(source).map(|len| (len, trunk)))
            // max_by_key keeps the last of equals; reverse so the first trunk in file order wins.
            .rev()
            .max_by_key(|(len, _)| *len)
            .map(|(_, trunk)| trunk)
    }

    /// Agents, in file order (the order the `linear` strategy tries them).
    pub fn agents(&self) -> &[Agent] {
        &self.agents
    }

    /// The agent with this id (the SIP user part).
    pub fn agent(&self, id: &str) -> Option<&Agent> {
        self.agent_index.get(id).and_then(|&i| self.agents.get(i))
    }

    /// Queues, in file order.
    pub fn queues(&self) -> &[Queue] {
        &self.queues
    }

    /// The queue with this name.
    pub fn queue(&self, name: &str) -> Option<&Queue> {
        self.queue_index.get(name).and_then(|&i| self.queues.get(i))
    }

    /// Routes, in file order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The route for a dialled number (exact match), or `None`: answer 404.
    pub fn route(&self, dnis: &str) -> Option<&Route> {
        self.route_index.get(dnis).and_then(|&i| self.routes.get(i))
    }

    /// IVR flows, in file order.
    pub fn ivr_flows(&self) -> &[IvrFlow] {
        &self.ivr_flows
    }

    /// The IVR flow with this name.
    pub fn ivr_flow(&self, name: &str) -> Option<&IvrFlow> {
        self.ivr_flows.iter().find(|flow| flow.name == name)
    }

    /// Agents who could ever take calls from `queue`: those meeting at least one of its
    /// requirement steps, in file order.
    pub fn agents_for_queue<'a>(&'a self, queue: &'a Queue) -> impl Iterator<Item = &'a Agent> {
        self.agents.iter().filter(move |agent| {
            queue
                .steps
                .iter()
                .any(|step| step.requirement.is_met_by(&agent.skills))
        })
    }
}
