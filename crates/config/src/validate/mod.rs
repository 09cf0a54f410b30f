//! From the file as written ([`crate::raw`]) to the typed [`Config`]: defaults applied, ranges
//! and names checked, references resolved. The first problem found is returned, positioned at
//! the offending value (or at the referring key for a dangling reference).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use toml::Spanned;

use crate::acd::Agent;
use crate::config::Config;
use crate::error::{ConfigError, ConfigProblem, ItemKind, Source};
use crate::names::{AgentId, DigestPassword, IvrName, SipUri, SkillName, TrunkName};
use crate::raw::{RawAgent, RawConfig, RawRegistrar, RawServer, RawSip, RawTrunk};
use crate::requirement::{MAX_SKILL_LEVEL, SkillLevel, is_keyword, is_name_char};
use crate::routing::{IvrFlow, Trunk};

mod queues;
use crate::server::{LogLevel, ServerConfig};
use crate::sip::{DigestAlgorithm, RegistrarConfig, SipConfig};

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
    let sip = v.sip(raw.sip.unwrap_or_default())?;
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
    ivr_flows: std::collections::HashSet<String>,
}

struct Validator<'a> {
    source: &'a Source<'a>,
}

impl Validator<'_> {
    fn error(&self, span: Range<usize>, problem: ConfigProblem) -> ConfigError {
        self.source.error(span, problem)
    }

    fn line_of(&self, offset: usize) -> u32 {
        self.source.line_column(offset).0
    }

    // ----- scalar helpers -----

    fn number(&self, key: &'static str, value: &Spanned<i64>, min: i64, max: i64) -> Result<i64> {
        let n = *value.get_ref();
        if (min..=max).contains(&n) {
            Ok(n)
        } else {
            Err(self.error(
                value.span(),
                ConfigProblem::OutOfRange {
                    key,
                    value: n,
                    min,
                    max,
                },
            ))
        }
    }

    /// A count: `default` when absent, else checked against `min..=max`.
    fn count(
        &self,
        key: &'static str,
        value: Option<&Spanned<i64>>,
        default: u64,
        min: u32,
        max: u32,
    ) -> Result<u64> {
        match value {
            None => Ok(default),
            // In range, so non-negative: the conversion cannot fail.
            Some(value) => Ok(self
                .number(key, value, min.into(), max.into())?
                .unsigned_abs()),
        }
    }

    fn seconds(
        &self,
        key: &'static str,
        value: Option<&Spanned<i64>>,
        default: Duration,
        min: u32,
        max: u32,
    ) -> Result<Duration> {
        Ok(match value {
            None => default,
            Some(_) => Duration::from_secs(self.count(key, value, 0, min, max)?),
        })
    }

    fn millis(
        &self,
        key: &'static str,
        value: Option<&Spanned<i64>>,
        default: Duration,
        min: u32,
        max: u32,
    ) -> Result<Duration> {
        Ok(match value {
            None => default,
            Some(_) => Duration::from_millis(self.count(key, value, 0, min, max)?),
        })
    }

    /// Seconds where 0 means "off".
    fn optional_seconds(
        &self,
        key: &'static str,
        value: Option<&Spanned<i64>>,
        default: Option<Duration>,
        max: u32,
    ) -> Result<Option<Duration>> {
        Ok(match value {
            None => default,
            Some(_) => Some(self.count(key, value, 0, 0, max)?)
                .filter(|&s| s > 0)
                .map(Duration::from_secs),
        })
    }

    fn socket(
        &self,
        key: &'static str,
        value: Option<&Spanned<String>>,
        default: SocketAddr,
    ) -> Result<SocketAddr> {
        let Some(value) = value else {
            return Ok(default);
        };
        value.get_ref().parse().map_err(|_| {
            self.error(
                value.span(),
                ConfigProblem::InvalidSocketAddr {
                    key,
                    value: value.get_ref().clone(),
                },
            )
        })
    }

    fn non_empty(&self, key: &'static str, value: &Spanned<String>) -> Result<String> {
        if value.get_ref().trim().is_empty() {
            return Err(self.error(value.span(), ConfigProblem::Empty { key }));
        }
        Ok(value.get_ref().clone())
    }

    /// A name: non-empty, at most 64 characters, each allowed by `allowed` (and the first by
    /// `first`).
    fn name_with(
        &self,
        key: &'static str,
        value: &Spanned<String>,
        rule: &'static str,
        first: fn(char) -> bool,
        allowed: fn(char) -> bool,
    ) -> Result<String> {
        let text = value.get_ref();
        if text.is_empty() {
            return Err(self.error(value.span(), ConfigProblem::Empty { key }));
        }
        let valid = text.chars().count() <= MAX_NAME_CHARS
            && text.chars().next().is_some_and(first)
            && text.chars().all(allowed);
        if !valid {
            return Err(self.error(
                value.span(),
                ConfigProblem::InvalidName {
                    key,
                    value: text.clone(),
                    rule,
                },
            ));
        }
        Ok(text.clone())
    }

    fn name(&self, key: &'static str, value: &Spanned<String>) -> Result<String> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        self.name_with(key, value, NAME_RULE, allowed, allowed)
    }

    fn skill_name(&self, key: &'static str, value: &Spanned<String>) -> Result<String> {
        let name = self.name_with(
            key,
            value,
            SKILL_RULE,
            |c| c.is_ascii_alphabetic() || c == '_',
            is_name_char,
        )?;
        if is_keyword(&name) {
            return Err(self.error(
                value.span(),
                ConfigProblem::InvalidName {
                    key,
                    value: name,
                    rule: SKILL_RULE,
                },
            ));
        }
        Ok(name)
    }

    /// Remembers `name` (declared at `span`) or reports it as the second declaration.
    fn unique(
        &self,
        seen: &mut HashMap<String, usize>,
        name: &str,
        span: Range<usize>,
        kind: ItemKind,
    ) -> Result<()> {
        if let Some(&first) = seen.get(name) {
            return Err(self.error(
                span,
                ConfigProblem::Duplicate {
                    kind,
                    name: name.to_owned(),
                    first_line: self.line_of(first),
                },
            ));
        }
        seen.insert(name.to_owned(), span.start);
        Ok(())
    }

    /// Names declared by a list of tables, checked and unique, so later sections can refer to
    /// items declared after them.
    fn declared<T>(
        &self,
        items: &[T],
        name_of: fn(&T) -> &Spanned<String>,
        kind: ItemKind,
    ) -> Result<HashMap<String, usize>> {
        let mut seen = HashMap::new();
        for item in items {
            let spanned = name_of(item);
            let name = self.name("name", spanned)?;
            self.unique(&mut seen, &name, spanned.span(), kind)?;
        }
        Ok(seen)
    }

    fn ordered(
        &self,
        lower: (&'static str, u64),
        upper: (&'static str, u64),
        span: Option<Range<usize>>,
    ) -> Result<()> {
        if lower.1 <= upper.1 {
            return Ok(());
        }
        Err(self.error(
            span.unwrap_or(0..0),
            ConfigProblem::Misordered {
                lower: lower.0,
                lower_value: lower.1,
                upper: upper.0,
                upper_value: upper.1,
            },
        ))
    }

    // ----- sections -----

    fn server(&self, raw: RawServer) -> Result<ServerConfig> {
        let default = ServerConfig::default();
        let log_level = match &raw.log_level {
            None => default.log_level,
            Some(value) => LogLevel::from_name(value.get_ref()).ok_or_else(|| {
                self.error(
                    value.span(),
                    ConfigProblem::UnknownLogLevel {
                        value: value.get_ref().clone(),
                    },
                )
            })?,
        };
        let data_dir = match &raw.data_dir {
            None => default.data_dir,
            Some(value) => PathBuf::from(self.non_empty("data_dir", value)?),
        };
        Ok(ServerConfig {
            sip_listen: self.socket("sip_listen", raw.sip_listen.as_ref(), default.sip_listen)?,
            grpc_listen: self.socket(
                "grpc_listen",
                raw.grpc_listen.as_ref(),
                default.grpc_listen,
            )?,
            http_listen: self.socket(
                "http_listen",
                raw.http_listen.as_ref(),
                default.http_listen,
            )?,
            data_dir,
            log_level,
        })
    }

    fn sip(&self, raw: RawSip) -> Result<SipConfig> {
        let d = SipConfig::default();
        let text = |key, value: &Option<Spanned<String>>, default: String| match value {
            None => Ok(default),
            Some(value) => self.non_empty(key, value),
        };
        let t1 = self.millis("t1_ms", raw.t1_ms.as_ref(), d.t1, 1, 60_000)?;
        let t2 = self.millis("t2_ms", raw.t2_ms.as_ref(), d.t2, 1, 600_000)?;
        let t4 = self.millis("t4_ms", raw.t4_ms.as_ref(), d.t4, 1, 600_000)?;
        // RFC 3261 §17.1.2.2: retransmits double from T1 up to T2, so T1 above T2 is meaningless.
        let t_span = raw.t2_ms.as_ref().or(raw.t1_ms.as_ref()).map(Spanned::span);
        self.ordered(("t1_ms", millis(t1)), ("t2_ms", millis(t2)), t_span)?;
        let max_transactions = self.count(
            "max_transactions",
            raw.max_transactions.as_ref(),
            10_000,
            1,
            10_000_000,
        )?;
        let max_pending_invites = self.count(
            "max_pending_invites",
            raw.max_pending_invites.as_ref(),
            1_000,
            1,
            10_000_000,
        )?;
        let pending_span = raw
            .max_pending_invites
            .as_ref()
            .or(raw.max_transactions.as_ref())
            .map(Spanned::span);
        self.ordered(
            ("max_pending_invites", max_pending_invites),
            ("max_transactions", max_transactions),
            pending_span,
        )?;
        Ok(SipConfig {
            realm: text("realm", &raw.realm, d.realm)?,
            user_agent: text("user_agent", &raw.user_agent, d.user_agent)?,
            t1,
            t2,
            t4,
            max_message_bytes: to_usize(self.count(
                "max_message_bytes",
                raw.max_message_bytes.as_ref(),
                65_535,
                1_024,
                16 * 1024 * 1024,
            )?),
            max_headers: to_usize(self.count(
                "max_headers",
                raw.max_headers.as_ref(),
                256,
                8,
                10_000,
            )?),
            max_transactions: to_usize(max_transactions),
            max_pending_invites: to_usize(max_pending_invites),
            retry_after: self.seconds(
                "retry_after_seconds",
                raw.retry_after_seconds.as_ref(),
                d.retry_after,
                1,
                86_400,
            )?,
            registrar: self.registrar(raw.registrar.unwrap_or_default())?,
        })
    }

    fn registrar(&self, raw: RawRegistrar) -> Result<RegistrarConfig> {
        let d = RegistrarConfig::default();
        const DAY: u32 = 86_400;
        let min_expires = self.seconds(
            "min_expires_seconds",
            raw.min_expires_seconds.as_ref(),
            d.min_expires,
            1,
            DAY,
        )?;
        let max_expires = self.seconds(
            "max_expires_seconds",
            raw.max_expires_seconds.as_ref(),
            d.max_expires,
            1,
            7 * DAY,
        )?;
        let default_expires = self.seconds(
            "default_expires_seconds",
            raw.default_expires_seconds.as_ref(),
            d.default_expires,
            1,
            7 * DAY,
        )?;
        let span_of = |value: &Option<Spanned<i64>>| value.as_ref().map(Spanned::span);
        self.ordered(
            ("min_expires_seconds", min_expires.as_secs()),
            ("default_expires_seconds", default_expires.as_secs()),
            span_of(&raw.default_expires_seconds).or(span_of(&raw.min_expires_seconds)),
        )?;
        self.ordered(
            ("default_expires_seconds", default_expires.as_secs()),
            ("max_expires_seconds", max_expires.as_secs()),
            span_of(&raw.max_expires_seconds).or(span_of(&raw.default_expires_seconds)),
        )?;
        let failures = self.count(
            "auth_failures_before_lockout",
            raw.auth_failures_before_lockout.as_ref(),
            5,
            0,
            1_000_000,
        )?;
        Ok(RegistrarConfig {
            min_expires,
            max_expires,
            default_expires,
            max_contacts_per_agent: to_usize(self.count(
                "max_contacts_per_agent",
                raw.max_contacts_per_agent.as_ref(),
                1,
                1,
                100,
            )?),
            nonce_lifetime: self.seconds(
                "nonce_lifetime_seconds",
                raw.nonce_lifetime_seconds.as_ref(),
                d.nonce_lifetime,
                1,
                DAY,
            )?,
            auth_failures_before_lockout: u32::try_from(failures).ok().filter(|&n| n > 0),
            lockout: self.seconds(
                "lockout_seconds",
                raw.lockout_seconds.as_ref(),
                d.lockout,
                1,
                DAY,
            )?,
            keepalive_interval: self.optional_seconds(
                "keepalive_interval_seconds",
                raw.keepalive_interval_seconds.as_ref(),
                d.keepalive_interval,
                DAY,
            )?,
            keepalive_failures: u32::try_from(self.count(
                "keepalive_failures",
                raw.keepalive_failures.as_ref(),
                3,
                1,
                1_000,
            )?)
            .unwrap_or(u32::MAX),
            digest_algorithms: self
                .digest_algorithms(raw.digest_algorithms, d.digest_algorithms)?,
        })
    }

    fn digest_algorithms(
        &self,
        raw: Option<Spanned<Vec<Spanned<String>>>>,
        default: Vec<DigestAlgorithm>,
    ) -> Result<Vec<DigestAlgorithm>> {
        let Some(list) = raw else { return Ok(default) };
        if list.get_ref().is_empty() {
            return Err(self.error(
                list.span(),
                ConfigProblem::Empty {
                    key: "digest_algorithms",
                },
            ));
        }
        let mut seen = HashMap::new();
        let mut algorithms = Vec::new();
        for value in list.get_ref() {
            let algorithm = DigestAlgorithm::from_name(value.get_ref()).ok_or_else(|| {
                self.error(
                    value.span(),
                    ConfigProblem::UnknownDigestAlgorithm {
                        value: value.get_ref().clone(),
                    },
                )
            })?;
            self.unique(
                &mut seen,
                algorithm.as_str(),
                value.span(),
                ItemKind::DigestAlgorithm,
            )?;
            algorithms.push(algorithm);
        }
        Ok(algorithms)
    }

    fn skills(
        &self,
        raw: BTreeMap<Spanned<String>, String>,
    ) -> Result<BTreeMap<SkillName, String>> {
        // TOML itself refuses a key defined twice, so the map holds no duplicates.
        let mut skills = BTreeMap::new();
        for (name, description) in raw {
            let name = self.skill_name("skills", &name)?;
            skills.insert(SkillName::from(name), description);
        }
        Ok(skills)
    }

    fn trunks(&self, raw: Vec<RawTrunk>) -> Result<Vec<Trunk>> {
        let mut names = HashMap::new();
        let mut networks = HashMap::new();
        let mut trunks = Vec::with_capacity(raw.len());
        for trunk in raw {
            let name = self.name("name", &trunk.name)?;
            self.unique(&mut names, &name, trunk.name.span(), ItemKind::Trunk)?;
            if trunk.sources.get_ref().is_empty() {
                return Err(self.error(
                    trunk.sources.span(),
                    ConfigProblem::Empty { key: "sources" },
                ));
            }
            let mut sources = Vec::new();
            for source in trunk.sources.get_ref() {
                let network = self.network(source)?;
                self.unique(
                    &mut networks,
                    &network.to_string(),
                    source.span(),
                    ItemKind::TrunkSource,
                )?;
                sources.push(network);
            }
            trunks.push(Trunk {
                name: TrunkName::from(name),
                sources,
            });
        }
        Ok(trunks)
    }

    /// `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128). A network with host
    /// bits set (`10.1.2.3/8`) is refused with the network it probably meant: silently
    /// widening or narrowing an allow-list is how trunks get opened to the world.
    fn network(&self, value: &Spanned<String>) -> Result<IpNet> {
        let text = value.get_ref().trim();
        let invalid = |reason: String| {
            self.error(
                value.span(),
                ConfigProblem::InvalidCidr {
                    value: value.get_ref().clone(),
                    reason,
                },
            )
        };
        if !text.contains('/') {
            return text
                .parse::<std::net::IpAddr>()
                .map(IpNet::from)
                .map_err(|_| invalid("not an IP address or network (e.g. 10.0.0.0/8)".to_owned()));
        }
        let network: IpNet = text.parse().map_err(|_| {
            invalid("expected address/prefix-length, e.g. 10.0.0.0/8 or 2001:db8::/32 (prefix at most 32 for IPv4, 128 for IPv6)".to_owned())
        })?;
        if network.trunc() != network {
            return Err(invalid(format!(
                "host bits are set; did you mean {}?",
                network.trunc()
            )));
        }
        Ok(network)
    }

    fn ivr_flows(&self, raw: Vec<crate::raw::RawIvr>) -> Result<Vec<IvrFlow>> {
        let mut seen = HashMap::new();
        let mut flows = Vec::with_capacity(raw.len());
        for flow in raw {
            let name = self.name("name", &flow.name)?;
            self.unique(&mut seen, &name, flow.name.span(), ItemKind::Ivr)?;
            flows.push(IvrFlow {
                name: IvrName::from(name),
            });
        }
        Ok(flows)
    }

    fn agents(
        &self,
        raw: Vec<RawAgent>,
        skills: &BTreeMap<SkillName, String>,
        login_on_register: bool,
    ) -> Result<(Vec<Agent>, HashMap<AgentId, usize>)> {
        let mut seen = HashMap::new();
        let mut agents = Vec::with_capacity(raw.len());
        let mut index = HashMap::with_capacity(raw.len());
        for agent in raw {
            let id = self.name("id", &agent.id)?;
            self.unique(&mut seen, &id, agent.id.span(), ItemKind::Agent)?;
            let password = self.non_empty("password", &agent.password)?;
            let mut levels = BTreeMap::new();
            for (skill, level) in &agent.skills {
                let Some((name, _)) = skills.get_key_value(skill.get_ref().as_str()) else {
                    return Err(self.error(
                        skill.span(),
                        ConfigProblem::UnknownReference {
                            kind: ItemKind::Skill,
                            name: skill.get_ref().clone(),
                        },
                    ));
                };
                let level = self.number("skills", level, 0, MAX_SKILL_LEVEL.into())?;
                let level = u8::try_from(level).ok().and_then(SkillLevel::new);
                // In 0..=MAX_SKILL_LEVEL, checked just above.
                if let Some(level) = level {
                    levels.insert(name.clone(), level);
                }
            }
            let contact = match &agent.contact {
                None => None,
                Some(value) => Some(self.uri("contact", value)?),
            };
            let id = AgentId::from(id);
            index.insert(id.clone(), agents.len());
            agents.push(Agent {
                name: agent.name.unwrap_or_else(|| id.to_string()),
                id,
                password: DigestPassword::new(password),
                skills: levels,
                login_on_register: agent.login_on_register.unwrap_or(login_on_register),
                contact,
            });
        }
        Ok((agents, index))
    }

    fn uri(&self, key: &'static str, value: &Spanned<String>) -> Result<SipUri> {
        SipUri::parse(value.get_ref()).ok_or_else(|| {
            self.error(
                value.span(),
                ConfigProblem::InvalidUri {
                    key,
                    value: value.get_ref().clone(),
                },
            )
        })
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}
