//! API commands that need no new call leg (issue 7): call data, queue priority, DTMF, hold and
//! retrieve, agent login and logout, wrap-up completion, the configuration reload, and the
//! etag precondition on agent commands.
//!
//! Each either changes the engine at once and journals what it did (the events carry the
//! command's `request_id`, stamped in [`Engine::store`]) or is refused with a precise
//! [`CommandError`] and changes nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard_acd::{CallId, RouterInput};
use switchboard_config::Config;
use switchboard_ivr::Flow;
use switchboard_proto::codec::journal_event;
use switchboard_proto::pb;
use switchboard_proto::pb::event::Payload;

use crate::call::{AgentLegState, CallState};
use crate::command::CommandError;
use crate::engine::Engine;
use crate::output::{LegId, MediaCommand};
use crate::query::{data_etag, leg_text};

/// Largest total call data (key and value bytes), as the API's `CALL_DATA_LIMIT` (Genesys'
/// UserData default).
pub const CALL_DATA_LIMIT: usize = 16 * 1024;

/// How long each DTMF digit the API sends is held (RFC 4733 event duration); 100 ms is what
/// most PBXs and IVRs detect reliably.
const DTMF_DURATION: Duration = Duration::from_millis(100);

/// The commands of this module (carried by [`crate::EngineCommand::Control`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ControlCommand {
    /// Merge into a call's data: set `set`, remove `remove`, if `etag` (when given) is current.
    UpdateCallData {
        /// The call.
        call_id: String,
        /// Keys to set.
        set: BTreeMap<String, String>,
        /// Keys to remove.
        remove: Vec<String>,
        /// The call data etag the client read, if it wants the write refused over a change.
        etag: Option<String>,
    },
    /// Change a waiting call's priority and credit it extra wait (its place in line moves).
    SetCallPriority {
        /// The call.
        call_id: String,
        /// The new priority (higher is served first).
        priority: i32,
        /// Wait credited on top of the real wait.
        wait_adjustment: Duration,
    },
    /// Send digits as RFC 4733 events on a leg.
    SendDtmf {
        /// The call.
        call_id: String,
        /// The leg (`leg<n>`, as the API shows it).
        leg_id: String,
        /// `0`-`9`, `*`, `#`, `A`-`D`.
        digits: String,
    },
    /// Put the call on hold from a leg: the customer hears music on hold.
    HoldLeg {
        /// The call.
        call_id: String,
        /// The leg.
        leg_id: String,
    },
    /// Take the call off hold: the music stops and the legs are bridged again.
    RetrieveLeg {
        /// The call.
        call_id: String,
        /// The leg.
        leg_id: String,
    },
    /// Clear one connection (CSTA ClearConnection). A call here has two parties, the customer
    /// and the agent, so clearing either clears the call: both phones get BYE.
    HangupLeg {
        /// The call.
        call_id: String,
        /// The leg (the customer's, or the answered agent leg).
        leg_id: String,
    },
    /// Log an agent in: Ready, or Not Ready `login`.
    LoginAgent {
        /// The agent.
        agent: String,
        /// Ready at once.
        ready: bool,
        /// A SIP URI to ring while the agent has no registered phone (an IP host, UDP); it
        /// replaces the configured `contact` until the agent logs out.
        device: Option<String>,
    },
    /// Log an agent out; on a call only with `force` (then after the call).
    LogoutAgent {
        /// The agent.
        agent: String,
        /// Reason code (journaled).
        reason_code: Option<String>,
        /// Even while on a call.
        force: bool,
    },
    /// End an agent's wrap-up with a disposition: it takes its pending state, else Ready.
    CompleteWrapUp {
        /// The agent.
        agent: String,
        /// The call it wraps up, if the client names it (checked).
        call_id: Option<String>,
        /// The disposition code.
        disposition_code: String,
        /// Free-text notes.
        notes: String,
    },
    /// Run `then` only if the agent's etag is `etag` (AIP-154 precondition).
    IfAgentEtag {
        /// The agent.
        agent: String,
        /// The etag the client read.
        etag: String,
        /// The command.
        then: Box<crate::EngineCommand>,
    },
    /// Apply a reloaded configuration: agents, queues, skills and routes go to the router at
    /// once; calls in progress keep their place. Validation happened at load.
    Reconfigure {
        /// The new configuration.
        config: Arc<Config>,
        /// Its IVR flows by name.
        flows: HashMap<String, Arc<Flow>>,
        /// Its digest (journaled in `ConfigReloaded`).
        digest: String,
    },
}

impl Engine {
    pub(crate) fn control(
        &mut self,
        now: Instant,
        command: ControlCommand,
    ) -> Result<(), CommandError> {
        match command {
            ControlCommand::UpdateCallData {
                call_id,
                set,
                remove,
                etag,
            } => self.update_call_data(now, &call_id, set, remove, etag),
            ControlCommand::SetCallPriority {
                call_id,
                priority,
                wait_adjustment,
            } => self.set_priority(now, &call_id, priority, wait_adjustment),
            ControlCommand::SendDtmf {
                call_id,
                leg_id,
                digits,
            } => {
                let (_, leg) = self.leg_of(&call_id, &leg_id)?;
                if let Some(bad) = digits.chars().find(|c| !is_dtmf(*c)) {
                    return Err(CommandError::InvalidDigit(bad));
                }
                self.media(MediaCommand::SendDtmf {
                    leg,
                    digits,
                    duration: DTMF_DURATION,
                });
                Ok(())
            }
            ControlCommand::HoldLeg { call_id, leg_id } => {
                self.api_hold(now, &call_id, &leg_id, true)
            }
            ControlCommand::RetrieveLeg { call_id, leg_id } => {
                self.api_hold(now, &call_id, &leg_id, false)
            }
            ControlCommand::HangupLeg { call_id, leg_id } => {
                let (id, _) = self.leg_of(&call_id, &leg_id)?;
                // An agent of a conference leaves it; the other two go on.
                if let Some(offer) = self.conference_offer_of(id, &leg_id) {
                    self.bye_agent(now, offer);
                    self.leave_conference(now, id, offer);
                    return Ok(());
                }
                self.end_call(
                    now,
                    id,
                    crate::call::Ending {
                        side: switchboard_store::HangupSide::System,
                        reason: "api-hangup",
                    },
                );
                Ok(())
            }
            ControlCommand::LoginAgent {
                agent,
                ready,
                device,
            } => self.login(now, &agent, ready, device),
            ControlCommand::LogoutAgent {
                agent,
                reason_code,
                force,
            } => self.logout(now, &agent, reason_code, force),
            ControlCommand::CompleteWrapUp {
                agent,
                call_id,
                disposition_code,
                notes,
            } => self.complete_wrap_up(now, &agent, call_id, disposition_code, notes),
            ControlCommand::IfAgentEtag { agent, etag, then } => {
                let current = self
                    .agent_view(now, &agent)
                    .ok_or_else(|| CommandError::UnknownAgent(agent.clone()))?
                    .etag;
                if current != etag {
                    return Err(CommandError::EtagMismatch { current });
                }
                self.handle_command(now, *then)
            }
            ControlCommand::Reconfigure {
                config,
                flows,
                digest,
            } => self.reconfigure(now, config, flows, digest),
        }
    }

    /// The call and the media leg the API names `leg_id` on it.
    fn leg_of(&self, call_id: &str, leg_id: &str) -> Result<(u128, LegId), CommandError> {
        let id = self.call_by_text(call_id)?;
        let call = self
            .calls
            .get(&id)
            .ok_or_else(|| CommandError::UnknownCall(call_id.to_owned()))?;
        if leg_text(call.caller.leg) == leg_id {
            return Ok((id, call.caller.leg));
        }
        self.agent_legs
            .values()
            .find(|l| l.call == id && leg_text(l.leg) == leg_id)
            .filter(|l| l.state == AgentLegState::Answered)
            .map(|l| (id, l.leg))
            .ok_or_else(|| CommandError::UnknownLeg {
                call_id: call_id.to_owned(),
                leg_id: leg_id.to_owned(),
            })
    }

    fn update_call_data(
        &mut self,
        now: Instant,
        call_id: &str,
        set: BTreeMap<String, String>,
        remove: Vec<String>,
        etag: Option<String>,
    ) -> Result<(), CommandError> {
        let id = self.call_by_text(call_id)?;
        let wall = self.wall(now);
        let Some(call) = self.calls.get_mut(&id) else {
            return Err(CommandError::UnknownCall(call_id.to_owned()));
        };
        if let Some(etag) = etag {
            let current = data_etag(call);
            if etag != current {
                return Err(CommandError::EtagMismatch { current });
            }
        }
        let mut data = call.data.clone();
        let removed: Vec<String> = remove
            .into_iter()
            .filter(|k| data.remove(k).is_some())
            .collect();
        let changed: Vec<String> = set
            .iter()
            .filter(|(k, v)| data.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .collect();
        data.extend(set);
        let size: usize = data.iter().map(|(k, v)| k.len() + v.len()).sum();
        if size > CALL_DATA_LIMIT {
            return Err(CommandError::CallDataTooLarge {
                size,
                limit: CALL_DATA_LIMIT,
            });
        }
        if changed.is_empty() && removed.is_empty() {
            // Nothing to change: no new version, no event.
            return Ok(());
        }
        call.data = data;
        call.data_version += 1;
        let event = pb::Event {
            call_id: call.text_id.clone(),
            queue: call
                .queue
                .as_ref()
                .map(|q| q.queue.clone())
                .unwrap_or_default(),
            agent: call.agent.clone().unwrap_or_default(),
            payload: Some(Payload::CallDataUpdated(pb::CallDataUpdated {
                call_data: Some(pb::CallData {
                    values: call
                        .data
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    version: call.data_version,
                    etag: data_etag(call),
                }),
                changed_keys: changed,
                removed_keys: removed,
            })),
            ..Default::default()
        };
        self.journal(vec![journal_event(wall, &event)]);
        Ok(())
    }

    fn set_priority(
        &mut self,
        now: Instant,
        call_id: &str,
        priority: i32,
        wait_adjustment: Duration,
    ) -> Result<(), CommandError> {
        let id = self.call_by_text(call_id)?;
        let waiting = self
            .calls
            .get(&id)
            .is_some_and(|c| c.state == CallState::Queued && c.connected.is_none());
        if !waiting {
            return Err(CommandError::NotQueued(call_id.to_owned()));
        }
        self.router_command(
            now,
            RouterInput::SetPriority {
                call: CallId(id),
                priority,
            },
        )?;
        self.router_command(
            now,
            RouterInput::SetWaitAdjustment {
                call: CallId(id),
                adjustment: wait_adjustment,
            },
        )?;
        let position = self
            .router
            .position(CallId(id))
            .map_or(0, |p| u32::try_from(p).unwrap_or(u32::MAX));
        let wall = self.wall(now);
        let Some(call) = self.calls.get_mut(&id) else {
            return Ok(());
        };
        call.priority = priority;
        if let Some(stay) = call.queue.as_mut()
            && position > 0
        {
            stay.position = position;
        }
        let event = pb::Event {
            call_id: call.text_id.clone(),
            queue: call
                .queue
                .as_ref()
                .map(|q| q.queue.clone())
                .unwrap_or_default(),
            payload: Some(Payload::CallPriorityChanged(pb::CallPriorityChanged {
                priority,
                position,
            })),
            ..Default::default()
        };
        self.journal(vec![journal_event(wall, &event)]);
        Ok(())
    }

    /// Hold from the API. Media is anchored here, so no re-INVITE is needed: the customer's
    /// leg gets music on hold instead of the agent's audio, and on retrieve the music stops
    /// and the two legs are bridged again. The agent's phone is not told (it did not ask).
    fn api_hold(
        &mut self,
        now: Instant,
        call_id: &str,
        leg_id: &str,
        hold: bool,
    ) -> Result<(), CommandError> {
        let (id, _) = self.leg_of(call_id, leg_id)?;
        let wall = self.wall(now);
        let Some(call) = self.calls.get(&id) else {
            return Err(CommandError::UnknownCall(call_id.to_owned()));
        };
        let agent_leg = call
            .connected
            .and_then(|offer| self.agent_legs.get(&offer))
            .filter(|l| l.state == AgentLegState::Answered)
            .map(|l| l.leg);
        let Some(agent_leg) = agent_leg.filter(|_| call.state == CallState::Connected) else {
            return Err(CommandError::LegState {
                leg_id: leg_id.to_owned(),
                reason: "LEG_NOT_CONNECTED",
            });
        };
        match (hold, call.held) {
            (true, true) => {
                return Err(CommandError::LegState {
                    leg_id: leg_id.to_owned(),
                    reason: "LEG_ALREADY_HELD",
                });
            }
            (false, false) => {
                return Err(CommandError::LegState {
                    leg_id: leg_id.to_owned(),
                    reason: "LEG_NOT_HELD",
                });
            }
            _ => {}
        }
        let customer = call.caller.leg;
        let class = call
            .queue
            .as_ref()
            .and_then(|q| self.config.queue(&q.queue))
            .map_or_else(|| "default".to_string(), |q| q.music_on_hold.clone());
        let text_id = call.text_id.clone();
        let agent = call.agent.clone().unwrap_or_default();
        if let Some(call) = self.calls.get_mut(&id) {
            call.held = hold;
        }
        // The bridge stays up (its recording goes on): the customer hears music instead of
        // the agent, and the agent hears nothing of the customer until the retrieve.
        let payload = if hold {
            self.media(MediaCommand::MusicOnHold {
                leg: customer,
                class,
            });
            self.media(MediaCommand::Deafen {
                leg: agent_leg,
                deaf: true,
            });
            Payload::LegHeld(pb::LegHeld {
                leg_id: leg_id.to_owned(),
            })
        } else {
            self.media(MediaCommand::Stop { leg: customer });
            self.media(MediaCommand::Deafen {
                leg: agent_leg,
                deaf: false,
            });
            Payload::LegRetrieved(pb::LegRetrieved {
                leg_id: leg_id.to_owned(),
            })
        };
        let event = pb::Event {
            call_id: text_id,
            leg_id: leg_id.to_owned(),
            agent,
            payload: Some(payload),
            ..Default::default()
        };
        self.journal(vec![journal_event(wall, &event)]);
        Ok(())
    }
}

fn is_dtmf(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D')
}
