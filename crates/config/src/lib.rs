//! Switchboard's configuration: one TOML file, typed, validated before anything starts.
//!
//! [`load`] reads the file, [`parse`] checks text already in memory; both return a [`Config`]
//! in which every reference resolves, or a [`ConfigError`] whose `Display` is
//! `file:line:column: what is wrong`, so a refused start or reload tells the operator exactly
//! what to fix. The annotated example, with every key, its unit and default, is
//! `config/switchboard.toml` in the repository.
//!
//! The crate is pure: no clock, no sockets, no I/O except the one read in [`load`]. Durations
//! carry their unit in the key (`ring_timeout_seconds`, `t1_ms`) and become
//! [`std::time::Duration`]s here.
//!
//! ```
//! use std::path::Path;
//! let config = switchboard_config::parse(
//!     r#"
//!     [skills]
//!     support = "Technical support"
//!
//!     [[agent]]
//!     id = "1001"
//!     password = "secret"
//!     skills = { support = 5 }
//!
//!     [[queue]]
//!     name = "support"
//!     requirement = "support >= 1"
//!
//!     [[route]]
//!     dnis = "201"
//!     queue = "support"
//!     "#,
//!     Path::new("inline.toml"),
//! )?;
//! let queue = config.queue("support").unwrap();
//! let agent = config.agent("1001").unwrap();
//! assert!(queue.steps[0].requirement.is_met_by(&agent.skills));
//! # Ok::<(), switchboard_config::ConfigError>(())
//! ```

#![forbid(unsafe_code)]

mod acd;
mod api;
mod config;
mod error;
mod media;
mod names;
pub mod position;
mod raw;
mod requirement;
mod routing;
mod server;
mod sip;
mod validate;

use std::path::Path;

use serde::Deserialize;

pub use acd::{Agent, Queue, RequirementStep, Strategy};
pub use api::{ApiConfig, ApiScope, ApiTls, ApiTokenConfig};
pub use config::Config;
pub use error::{ConfigError, ConfigProblem, ItemKind};
pub use ipnet::IpNet;
pub use media::MediaConfig;
pub use names::{AgentId, DigestPassword, IvrName, QueueName, SipUri, SkillName, TrunkName};
pub use requirement::{
    Comparison, MAX_SKILL_LEVEL, Requirement, RequirementError, RequirementProblem, SkillLevel,
};
pub use routing::{IvrFlow, OutboundTrunk, Route, Target, Trunk, TrunkCredentials};
pub use server::{LogLevel, ServerConfig};
pub use sip::{DigestAlgorithm, RegistrarConfig, SipConfig, SipTls};

/// Reads and validates the configuration file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::io(path, &error))?;
    parse(&text, path)
}

/// Validates configuration text; `file` is only used to name the file in errors.
pub fn parse(text: &str, file: &Path) -> Result<Config, ConfigError> {
    let source = error::Source { text, file };
    let deserializer =
        toml::de::Deserializer::parse(text).map_err(|e| source.toml_error(&e, true))?;
    let raw =
        raw::RawConfig::deserialize(deserializer).map_err(|e| source.toml_error(&e, false))?;
    validate::validate(raw, &source)
}
