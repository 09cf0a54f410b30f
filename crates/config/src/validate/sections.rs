//! The sections without cross-references (`[server]`, `[sip]`, `[skills]`, `[[trunk]]`,
//! `[[ivr]]`) and agents, whose skills must be declared.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use toml::Spanned;

use super::{Result, Validator, millis, to_usize};
use crate::acd::Agent;
use crate::error::{ConfigProblem, ItemKind};
use crate::media::MediaConfig;
use crate::names::{AgentId, DigestPassword, IvrName, SkillName, TrunkName};
use crate::raw::{RawAgent, RawIvr, RawMedia, RawRegistrar, RawServer, RawSip, RawTrunk};
use crate::requirement::{MAX_SKILL_LEVEL, SkillLevel};
use crate::routing::{IvrFlow, OutboundTrunk, Trunk, TrunkCredentials};
use crate::server::{LogLevel, ServerConfig};
use crate::sip::{DigestAlgorithm, RegistrarConfig, SipConfig, SipTls};

impl Validator<'_> {
    pub(super) fn server(&self, raw: RawServer) -> Result<ServerConfig> {
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

    pub(super) fn media(&self, raw: RawMedia) -> Result<MediaConfig> {
        let d = MediaConfig::default();
        let port = |key, value: Option<&Spanned<i64>>, default: u16| {
            // In 1024..=65535, so the conversion cannot fail.
            self.count(key, value, default.into(), 1024, 65_535)
                .map(|p| u16::try_from(p).unwrap_or(u16::MAX))
        };
        let min = port(
            "rtp_port_min",
            raw.rtp_port_min.as_ref(),
            *d.rtp_ports.start(),
        )?;
        let max = port(
            "rtp_port_max",
            raw.rtp_port_max.as_ref(),
            *d.rtp_ports.end(),
        )?;
        // At least one RTP/RTCP pair.
        let span = raw
            .rtp_port_max
            .as_ref()
            .or(raw.rtp_port_min.as_ref())
            .map(Spanned::span);
        self.ordered(
            ("rtp_port_min + 1", u64::from(min) + 1),
            ("rtp_port_max", max.into()),
            span,
        )?;
        Ok(MediaConfig {
            rtp_ports: min..=max,
            workers: to_usize(self.count("workers", raw.workers.as_ref(), 1, 1, 64)?),
            inactivity_timeout: self.seconds(
                "inactivity_timeout_seconds",
                raw.inactivity_timeout_seconds.as_ref(),
                d.inactivity_timeout,
                1,
                86_400,
            )?,
            hold_inactivity_timeout: self.optional_seconds(
                "hold_inactivity_timeout_seconds",
                raw.hold_inactivity_timeout_seconds.as_ref(),
                d.hold_inactivity_timeout,
                86_400,
            )?,
        })
    }

    pub(super) fn sip(&self, raw: RawSip) -> Result<SipConfig> {
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
            tls: match raw.tls {
                None => None,
                Some(tls) => Some(SipTls {
                    // `listen` is required in [sip.tls], so the default here is never used.
                    listen: self.socket(
                        "listen",
                        Some(&tls.listen),
                        std::net::SocketAddr::from(([127, 0, 0, 1], 5061)),
                    )?,
                    cert: PathBuf::from(self.non_empty("cert", &tls.cert)?),
                    key: PathBuf::from(self.non_empty("key", &tls.key)?),
                }),
            },
        })
    }

    pub(super) fn registrar(&self, raw: RawRegistrar) -> Result<RegistrarConfig> {
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

    pub(super) fn digest_algorithms(
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

    pub(super) fn skills(
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

    pub(super) fn trunks(&self, raw: Vec<RawTrunk>) -> Result<Vec<Trunk>> {
        let mut names = HashMap::new();
        let mut networks = HashMap::new();
        let mut trunks = Vec::with_capacity(raw.len());
        let mut first_default: Option<(u32, String)> = None;
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
            let outbound = self.outbound(&trunk)?;
            if let Some(o) = &outbound
                && o.default
            {
                if let Some((first, _)) = &first_default {
                    return Err(self.error(
                        trunk.name.span(),
                        ConfigProblem::SecondOutboundDefault {
                            name: name.clone(),
                            first_line: *first,
                        },
                    ));
                }
                let (line, _) =
                    crate::position::line_column(self.source.text, trunk.name.span().start);
                first_default = Some((line, name.clone()));
            }
            trunks.push(Trunk {
                name: TrunkName::from(name),
                sources,
                outbound,
            });
        }
        Ok(trunks)
    }

    /// A trunk's dialing keys: `outbound` (the proxy, IP:port) and the keys that need it.
    fn outbound(&self, trunk: &RawTrunk) -> Result<Option<OutboundTrunk>> {
        let dependent: [(&'static str, Option<std::ops::Range<usize>>); 5] = [
            ("username", trunk.username.as_ref().map(Spanned::span)),
            ("password", trunk.password.as_ref().map(Spanned::span)),
            ("caller_id", trunk.caller_id.as_ref().map(Spanned::span)),
            ("dial_prefix", trunk.dial_prefix.as_ref().map(Spanned::span)),
            ("outbound_default", None),
        ];
        let Some(proxy) = &trunk.outbound else {
            if let Some((key, span)) = dependent
                .into_iter()
                .find_map(|(key, span)| span.map(|s| (key, s)))
            {
                return Err(self.error(
                    span,
                    ConfigProblem::Requires {
                        key,
                        requires: "outbound",
                    },
                ));
            }
            if trunk.outbound_default == Some(true) {
                return Err(self.error(
                    trunk.name.span(),
                    ConfigProblem::Requires {
                        key: "outbound_default",
                        requires: "outbound",
                    },
                ));
            }
            return Ok(None);
        };
        let proxy = self.socket("outbound", Some(proxy), ([0, 0, 0, 0], 0).into())?;
        let credentials = match (&trunk.username, &trunk.password) {
            (None, None) => None,
            (Some(user), Some(password)) => Some(TrunkCredentials {
                username: self.non_empty("username", user)?,
                password: DigestPassword::new(self.non_empty("password", password)?),
            }),
            (Some(user), None) => {
                return Err(self.error(
                    user.span(),
                    ConfigProblem::Requires {
                        key: "username",
                        requires: "password",
                    },
                ));
            }
            (None, Some(password)) => {
                return Err(self.error(
                    password.span(),
                    ConfigProblem::Requires {
                        key: "password",
                        requires: "username",
                    },
                ));
            }
        };
        let number = |key: &'static str, value: &Spanned<String>, may_be_empty: bool| {
            let text = value.get_ref();
            let ok = (may_be_empty || !text.is_empty())
                && text.len() <= 32
                && text.char_indices().all(|(i, c)| {
                    c.is_ascii_digit() || (c == '+' && i == 0) || matches!(c, '*' | '#')
                });
            if ok {
                Ok(text.clone())
            } else {
                Err(self.error(
                    value.span(),
                    ConfigProblem::InvalidNumber {
                        key,
                        value: text.clone(),
                    },
                ))
            }
        };
        let caller_id = match &trunk.caller_id {
            Some(value) => Some(number("caller_id", value, false)?),
            None => None,
        };
        let dial_prefix = match &trunk.dial_prefix {
            Some(value) => number("dial_prefix", value, true)?,
            None => String::new(),
        };
        Ok(Some(OutboundTrunk {
            proxy,
            credentials,
            caller_id,
            dial_prefix,
            default: trunk.outbound_default.unwrap_or(false),
        }))
    }

    pub(super) fn ivr_flows(&self, raw: Vec<RawIvr>) -> Result<Vec<IvrFlow>> {
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

    pub(super) fn agents(
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
                Some(value) => {
                    let uri = self.uri("contact", value)?;
                    if uri.udp_address().is_none() {
                        return Err(self.error(
                            value.span(),
                            ConfigProblem::UnreachableContact {
                                key: "contact",
                                value: value.get_ref().clone(),
                            },
                        ));
                    }
                    Some(uri)
                }
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
}
