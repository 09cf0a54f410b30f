//! `Reconfigure` ([`crate::ControlCommand::Reconfigure`]): a reloaded configuration applied to
//! the running engine. The router takes the new queues and agents as a whole or not at all;
//! the registrar learns new and changed passwords; routes, trunks and IVR flows are swapped.
//! Calls in progress keep their place and their flow.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use switchboard_acd::RouterInput;
use switchboard_config::Config;
use switchboard_ivr::Flow;
use switchboard_proto::codec::journal_event;
use switchboard_proto::pb;
use switchboard_proto::pb::event::Payload;

use crate::command::CommandError;
use crate::engine::Engine;

impl Engine {
    pub(crate) fn reconfigure(
        &mut self,
        now: Instant,
        config: Arc<Config>,
        flows: HashMap<String, Arc<Flow>>,
        digest: String,
    ) -> Result<(), CommandError> {
        // The router checks the new queues and agents as a whole and changes nothing if it
        // refuses them: the running configuration stays.
        self.router
            .handle_input(
                now,
                RouterInput::Configure(crate::acd_map::config_update(&config)),
            )
            .map_err(|e| CommandError::ConfigRefused(e.to_string()))?;
        let passwords: HashMap<String, String> = config
            .agents()
            .iter()
            .map(|a| (a.id.as_str().to_string(), a.password.expose().to_string()))
            .collect();
        for gone in self
            .passwords
            .keys()
            .filter(|a| !passwords.contains_key(*a))
        {
            self.registrar.remove_user(gone);
        }
        for (user, password) in &passwords {
            if self.passwords.get(user) != Some(password) {
                self.registrar.set_user(user, password);
            }
        }
        self.directory.agents = passwords.keys().cloned().collect();
        self.directory.routes = config.routes().iter().map(|r| r.dnis.clone()).collect();
        self.directory.trunk_sources = config
            .trunks()
            .iter()
            .flat_map(|t| t.sources.iter().copied())
            .collect();
        self.passwords = passwords;
        self.config = config;
        self.flows = flows;
        let wall = self.wall(now);
        let event = pb::Event {
            payload: Some(Payload::ConfigReloaded(pb::ConfigReloaded {
                config_digest: digest,
            })),
            ..Default::default()
        };
        self.journal(vec![journal_event(wall, &event)]);
        Ok(())
    }
}
