//! Names a flow uses that the flow does not declare (queues, agents, skills, URIs), with where
//! they are written, and the check of them against the daemon's configuration.

use switchboard_config::{AgentId, Config, QueueName, SipUri, SkillName};

use crate::error::{FlowError, FlowProblem};
use crate::flow::{Flow, NodeId};

/// One outside name a node uses; see [`Flow::references`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The node that names it.
    pub node: NodeId,
    /// What it names.
    pub target: ReferenceTarget,
    /// 1-based line of the name in the flow file.
    pub line: u32,
    /// 1-based column (in characters).
    pub column: u32,
}

/// The kinds of outside names a flow uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferenceTarget {
    /// A queue, routed to or asked about in a branch.
    Queue(QueueName),
    /// An agent routed to.
    Agent(AgentId),
    /// A skill in a route's `skills` override.
    Skill(SkillName),
    /// A SIP URI routed to (nothing to check: it is outside Switchboard).
    Uri(SipUri),
}

impl Flow {
    /// Checks every queue, agent and skill the flow names against the daemon's configuration:
    /// a flow that routes to a queue that does not exist is refused at load, not discovered
    /// when the first caller presses 1. The error points at the name in the flow file.
    pub fn check_against(&self, config: &Config) -> Result<(), FlowError> {
        for reference in self.references() {
            let (kind, name) = match &reference.target {
                ReferenceTarget::Queue(queue) if config.queue(queue.as_str()).is_none() => {
                    ("queue", queue.to_string())
                }
                ReferenceTarget::Agent(agent) if config.agent(agent.as_str()).is_none() => {
                    ("agent", agent.to_string())
                }
                ReferenceTarget::Skill(skill) if !config.skills().contains_key(skill) => {
                    ("skill", skill.to_string())
                }
                _ => continue,
            };
            return Err(FlowError {
                file: self.file().to_path_buf(),
                line: reference.line,
                column: reference.column,
                problem: FlowProblem::UnknownReference { kind, name },
            });
        }
        Ok(())
    }
}
