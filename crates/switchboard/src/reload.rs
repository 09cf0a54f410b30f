//! `ReloadConfig`: re-read the configuration file (with the command line's overrides, so the
//! listen addresses and data directory stay what the process bound) and its IVR flows. A file
//! that does not load is refused with its `file:line:column` and the running configuration is
//! kept; a good one is applied to the engine live (agents, queues, skills, routes, flows).
//! Listen addresses, the data directory and media ports are bound at start: a change there
//! needs a restart.

use std::collections::HashMap;
use std::sync::Arc;

use switchboard_config::Config;
use switchboard_ivr::Flow;

use crate::cli::Args;

/// What a reload needs to find the files again.
#[derive(Debug, Clone)]
pub(crate) struct Reloader {
    args: Args,
}

/// A configuration loaded and checked, ready for the engine.
pub(crate) struct Loaded {
    pub(crate) config: Arc<Config>,
    pub(crate) flows: HashMap<String, Arc<Flow>>,
    pub(crate) digest: String,
}

impl Reloader {
    pub(crate) fn new(args: Args) -> Self {
        Self { args }
    }

    /// Loads the file and its flows, or says what is wrong (file:line:column first).
    pub(crate) fn load(&self) -> Result<Loaded, String> {
        let config = crate::load_config(&self.args).map_err(|e| e.to_string())?;
        let flows = crate::load_flows(&config, &crate::ivr_dir(&self.args.config))
            .map_err(|e| format!("{e:#}"))?;
        Ok(Loaded {
            config: Arc::new(config),
            flows,
            digest: digest_of(&self.args.config),
        })
    }
}

/// The digest GetStatus reports: SHA-256 of the configuration file as read.
pub(crate) fn digest_of(path: &std::path::Path) -> String {
    std::fs::read(path)
        .map(|bytes| {
            use sha2::Digest;
            sha2::Sha256::digest(bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        })
        .unwrap_or_default()
}
