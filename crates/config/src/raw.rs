//! The file as written: serde mirrors of each section, every field optional where the typed
//! configuration has a default, spans kept on whatever validation checks. `deny_unknown_fields`
//! everywhere, so a typo is an error, not a silently ignored key.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use toml::Spanned;

type Text = Spanned<String>;
type Number = Spanned<i64>;
type Flag = Spanned<bool>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    pub(crate) server: Option<RawServer>,
    pub(crate) sip: Option<RawSip>,
    pub(crate) agents: Option<RawAgentDefaults>,
    pub(crate) skills: Option<BTreeMap<Text, String>>,
    #[serde(default)]
    pub(crate) trunk: Vec<RawTrunk>,
    #[serde(default)]
    pub(crate) agent: Vec<RawAgent>,
    #[serde(default)]
    pub(crate) queue: Vec<RawQueue>,
    #[serde(default)]
    pub(crate) route: Vec<RawRoute>,
    #[serde(default)]
    pub(crate) ivr: Vec<RawIvr>,
    pub(crate) api: Option<RawApi>,
    pub(crate) media: Option<RawMedia>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMedia {
    pub(crate) rtp_port_min: Option<Number>,
    pub(crate) rtp_port_max: Option<Number>,
    pub(crate) workers: Option<Number>,
    pub(crate) inactivity_timeout_seconds: Option<Number>,
    pub(crate) hold_inactivity_timeout_seconds: Option<Number>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawApi {
    pub(crate) max_streams: Option<Number>,
    pub(crate) screen_pop_lead_ms: Option<Number>,
    pub(crate) screen_pop_max_hold_ms: Option<Number>,
    pub(crate) tls: Option<RawTls>,
    #[serde(default)]
    pub(crate) token: Vec<RawToken>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTls {
    pub(crate) cert: Text,
    pub(crate) key: Text,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawToken {
    pub(crate) name: Text,
    pub(crate) secret: Text,
    pub(crate) scopes: Spanned<Vec<Text>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServer {
    pub(crate) sip_listen: Option<Text>,
    pub(crate) grpc_listen: Option<Text>,
    pub(crate) http_listen: Option<Text>,
    pub(crate) data_dir: Option<Text>,
    pub(crate) log_level: Option<Text>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSip {
    pub(crate) realm: Option<Text>,
    pub(crate) user_agent: Option<Text>,
    pub(crate) t1_ms: Option<Number>,
    pub(crate) t2_ms: Option<Number>,
    pub(crate) t4_ms: Option<Number>,
    pub(crate) max_message_bytes: Option<Number>,
    pub(crate) max_headers: Option<Number>,
    pub(crate) max_transactions: Option<Number>,
    pub(crate) max_pending_invites: Option<Number>,
    pub(crate) retry_after_seconds: Option<Number>,
    pub(crate) registrar: Option<RawRegistrar>,
    pub(crate) tls: Option<RawSipTls>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSipTls {
    pub(crate) listen: Text,
    pub(crate) cert: Text,
    pub(crate) key: Text,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRegistrar {
    pub(crate) min_expires_seconds: Option<Number>,
    pub(crate) max_expires_seconds: Option<Number>,
    pub(crate) default_expires_seconds: Option<Number>,
    pub(crate) max_contacts_per_agent: Option<Number>,
    pub(crate) nonce_lifetime_seconds: Option<Number>,
    pub(crate) auth_failures_before_lockout: Option<Number>,
    pub(crate) lockout_seconds: Option<Number>,
    pub(crate) keepalive_interval_seconds: Option<Number>,
    pub(crate) keepalive_failures: Option<Number>,
    pub(crate) digest_algorithms: Option<Spanned<Vec<Text>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAgentDefaults {
    pub(crate) login_on_register: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTrunk {
    pub(crate) name: Text,
    pub(crate) sources: Spanned<Vec<Text>>,
    pub(crate) outbound: Option<Text>,
    pub(crate) outbound_default: Option<bool>,
    pub(crate) username: Option<Text>,
    pub(crate) password: Option<Text>,
    pub(crate) caller_id: Option<Text>,
    pub(crate) dial_prefix: Option<Text>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAgent {
    pub(crate) id: Text,
    pub(crate) name: Option<String>,
    pub(crate) password: Text,
    #[serde(default)]
    pub(crate) skills: BTreeMap<Text, Number>,
    pub(crate) login_on_register: Option<bool>,
    pub(crate) contact: Option<Text>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawQueue {
    pub(crate) name: Text,
    pub(crate) strategy: Option<Text>,
    pub(crate) requirement: Option<Spanned<RawRequirement>>,
    pub(crate) ring_timeout_seconds: Option<Number>,
    pub(crate) wrap_up_seconds: Option<Number>,
    pub(crate) max_wait_seconds: Option<Number>,
    pub(crate) max_length: Option<Number>,
    pub(crate) join_when_empty: Option<Flag>,
    pub(crate) leave_when_empty: Option<Flag>,
    pub(crate) overflow: Option<Spanned<RawTarget>>,
    pub(crate) service_level_seconds: Option<Number>,
    pub(crate) weight: Option<Number>,
    pub(crate) priority: Option<Number>,
    pub(crate) record: Option<bool>,
    pub(crate) survey: Option<bool>,
    pub(crate) announce_position: Option<bool>,
    pub(crate) announce_frequency_seconds: Option<Number>,
    pub(crate) music_on_hold: Option<Text>,
}

/// `requirement = "expr"` or `requirement = [{ skills = "expr", after_seconds = 30 }, …]`.
/// Written by hand rather than `#[serde(untagged)]`, which would swallow the inner errors
/// (an unknown key inside a step) into "did not match any variant".
pub(crate) enum RawRequirement {
    Expression(String),
    Steps(Vec<RawStep>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStep {
    pub(crate) skills: Text,
    pub(crate) after_seconds: Option<Number>,
}

impl<'de> Deserialize<'de> for RawRequirement {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RequirementVisitor;
        impl<'de> Visitor<'de> for RequirementVisitor {
            type Value = RawRequirement;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a requirement string or an array of { skills, after_seconds } steps")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(RawRequirement::Expression(text.to_owned()))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut steps = Vec::new();
                while let Some(step) = seq.next_element::<RawStep>()? {
                    steps.push(step);
                }
                Ok(RawRequirement::Steps(steps))
            }
        }
        deserializer.deserialize_any(RequirementVisitor)
    }
}

/// A target table: exactly one of the four is expected (checked in validation, so the error
/// can say how many were found).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTarget {
    pub(crate) queue: Option<Text>,
    pub(crate) ivr: Option<Text>,
    pub(crate) agent: Option<Text>,
    pub(crate) uri: Option<Text>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRoute {
    pub(crate) dnis: Text,
    pub(crate) queue: Option<Text>,
    pub(crate) ivr: Option<Text>,
    pub(crate) agent: Option<Text>,
    pub(crate) uri: Option<Text>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIvr {
    pub(crate) name: Text,
}
