//! From the file as written ([`crate::raw`]) to the typed [`Config`]: defaults applied, ranges
//! and names checked, references resolved. The first problem found is returned, positioned at
//! the offending value (or at the referring key for a dangling reference).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use crate::config::Config;
use crate::error::{ConfigError, ConfigProblem, ItemKind, Source};
use crate::names::{AgentId, SkillName};
use crate::raw::RawConfig;

mod api;
mod queues;
mod scalars;
mod sections;

type Result<T> = std::result::Result<T, ConfigError>;

/// Rule text for names of agents, queues, trunks and IVR flows.
const NAME_RULE: &str = "1 to 64 of letters, digits, '_', '-', '.'";
/// Rule text for skill names, which appear inside requirement expressions.
const SKILL_RULE: &str =
    "a letter or '_', then letters, digits, '_' or '-' (at most 64; not `and` or `or`)";
/// Rule text for a DNIS (a Request-URI user part as carriers send it).
const DNIS_RULE: &str = "1 to 64 of digits, letters, '+', '*', '#', '_', '-', '.'";
const MAX_NAME_CHARS: usize = 64;

pub(crate) fn validate(raw: RawConfig, source: &Source<'_>) -> Result<Config> {
    let v = Validator { source };
    let server = v.server(raw.server.unwrap_or_default())?;
    let api = v.api(raw.api.unwrap_or_default())?;
    let sip = v.sip(raw.sip.unwrap_or_default())?;
    let media = v.media(raw.media.unwrap_or_default())?;
    let login_on_register = raw
        .agents
        .and_then(|defaults| defaults.login_on_register)
        .unwrap_or(true);
    let skills = v.skills(raw.skills.unwrap_or_default())?;
    let trunks = v.trunks(raw.trunk)?;
    let ivr_flows = v.ivr_flows(raw.ivr)?;
    let (agents, agent_index) = v.agents(raw.agent, &skills, login_on_register)?;

    let names = Names {
        skills: &skills,
        agents: &agent_index,
        queues: v.declared(&raw.queue, |q| &q.name, ItemKind::Queue)?,
        ivr_flows: ivr_flows
            .iter()
            .map(|flow| flow.name.as_str().to_owned())
            .collect(),
    };
    let mut queues = Vec::with_capacity(raw.queue.len());
    let mut queue_index = HashMap::new();
    let mut overflow_spans = Vec::new();
    for raw_queue in raw.queue {
        let overflow_span = raw_queue.overflow.as_ref().map(Spanned::span);
        let queue = v.queue(raw_queue, &names)?;
        queue_index.insert(queue.name.clone(), queues.len());
        overflow_spans.push(overflow_span);
        queues.push(queue);
    }
    v.overflow_cycles(&queues, &queue_index, &overflow_spans)?;
    let (routes, route_index) = v.routes(raw.route, &names)?;

    Ok(Config {
        server,
        sip,
        media,
        api,
        skills,
        trunks,
        agents,
        queues,
        routes,
        ivr_flows,
        agent_index,
        queue_index,
        route_index,
    })
}

/// What references may point at.
struct Names<'a> {
    skills: &'a BTreeMap<SkillName, String>,
    agents: &'a HashMap<AgentId, usize>,
    queues: HashMap<String, usize>,
    ivr_flows: HashSet<String>,
}

struct Validator<'a> {
    source: &'a Source<'a>,
}

impl Validator<'_> {
    fn error(&self, span: Range<usize>, problem: ConfigProblem) -> ConfigError {
        self.source.error(span, problem)
    }

    fn line_of(&self, offset: usize) -> u32 {
        crate::position::line_column(self.source.text, offset).0
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}
