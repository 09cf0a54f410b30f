//! Human renderings of the API's resources and events, and the proto3 JSON of any message
//! (from the descriptor set compiled into the API crate) for `--json`.

use std::time::{Duration, SystemTime};

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage};
use switchboard_api::pb;
use switchboard_api::pb::event::Payload;

use crate::table::Table;

/// proto3 JSON of `message`, whose full name is `name` (`switchboard.v1.Call`).
pub(crate) fn json<M: Message>(name: &str, message: &M) -> anyhow::Result<serde_json::Value> {
    let pool = DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET)?;
    let descriptor = pool
        .get_message_by_name(name)
        .ok_or_else(|| anyhow::anyhow!("no descriptor for {name}"))?;
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())?;
    Ok(serde_json::to_value(&dynamic)?)
}

fn short_enum(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_owned()
}

pub(crate) fn agent_state(value: i32) -> String {
    pb::AgentState::try_from(value).map_or_else(
        |_| value.to_string(),
        |s| short_enum(s.as_str_name(), "AGENT_STATE_"),
    )
}

pub(crate) fn call_state(value: i32) -> String {
    pb::CallState::try_from(value).map_or_else(
        |_| value.to_string(),
        |s| short_enum(s.as_str_name(), "CALL_STATE_"),
    )
}

fn leg_state(value: i32) -> String {
    pb::LegState::try_from(value).map_or_else(
        |_| value.to_string(),
        |s| short_enum(s.as_str_name(), "LEG_STATE_"),
    )
}

fn leg_role(value: i32) -> String {
    pb::LegRole::try_from(value).map_or_else(
        |_| value.to_string(),
        |s| short_enum(s.as_str_name(), "LEG_ROLE_"),
    )
}

/// `1m05s`, `2h03m`, `42s`.
pub(crate) fn duration(d: Option<&prost_types::Duration>) -> String {
    let Some(secs) = d
        .and_then(|d| Duration::try_from(*d).ok())
        .map(|d| d.as_secs())
    else {
        return "-".into();
    };
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// How long ago a timestamp was.
pub(crate) fn since(t: Option<&prost_types::Timestamp>) -> String {
    let Some(at) = t.and_then(|t| SystemTime::try_from(*t).ok()) else {
        return "-".into();
    };
    let elapsed = SystemTime::now().duration_since(at).unwrap_or_default();
    duration(prost_types::Duration::try_from(elapsed).ok().as_ref())
}

fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

pub(crate) fn queues_table(queues: &[pb::Queue]) -> String {
    let mut t = Table::new(&[
        "QUEUE",
        "STRATEGY",
        "WAITING",
        "LONGEST",
        "EWT",
        "READY",
        "BUSY",
        "WRAPUP",
        "PAUSED",
        "OFFERED",
        "ANSWERED",
        "ABANDONED",
        "SL",
        "ASA",
        "AHT",
    ]);
    for q in queues {
        let s = q.stats.clone().unwrap_or_default();
        let a = s.agents.unwrap_or_default();
        t.row(vec![
            q.queue.clone(),
            q.strategy.clone(),
            s.waiting.to_string(),
            duration(s.longest_wait.as_ref()),
            duration(s.estimated_wait.as_ref()),
            a.ready.to_string(),
            (a.busy + a.reserved).to_string(),
            a.wrap_up.to_string(),
            a.not_ready.to_string(),
            s.offered.to_string(),
            s.answered.to_string(),
            s.abandoned.to_string(),
            percent(s.service_level),
            duration(s.average_speed_of_answer.as_ref()),
            duration(s.average_handle_time.as_ref()),
        ]);
    }
    t.render()
}

/// `queue show NAME`: the app_queue layout, a summary line, then members and callers.
pub(crate) fn queue_show(q: &pb::Queue, agents: &[pb::Agent], calls: &[pb::Call]) -> String {
    let s = q.stats.clone().unwrap_or_default();
    let mut out = format!(
        "{} has {} calls in '{}' strategy (longest {}, EWT {}, ASA {}, AHT {}), C:{}, A:{}, SL:{} within {}\n",
        q.queue,
        s.waiting,
        q.strategy,
        duration(s.longest_wait.as_ref()),
        duration(s.estimated_wait.as_ref()),
        duration(s.average_speed_of_answer.as_ref()),
        duration(s.average_handle_time.as_ref()),
        s.answered,
        s.abandoned,
        percent(s.service_level),
        duration(s.service_level_threshold.as_ref()),
    );
    let members: Vec<&pb::Agent> = agents
        .iter()
        .filter(|a| a.queues.contains(&q.queue))
        .collect();
    if members.is_empty() {
        out.push_str("   No Members\n");
    } else {
        out.push_str("   Members:\n");
        let mut t = Table::new(&["AGENT", "NAME", "STATE", "REASON", "FOR", "CALLS"]);
        for a in members {
            t.row(vec![
                a.agent.clone(),
                a.display_name.clone(),
                agent_state(a.state),
                a.reason_code.clone(),
                since(a.state_since.as_ref()),
                a.active_call_ids.len().to_string(),
            ]);
        }
        indent(&mut out, &t.render());
    }
    let mut waiting: Vec<&pb::Call> = calls
        .iter()
        .filter(|c| {
            c.queue
                .as_ref()
                .is_some_and(|s| s.queue == q.queue && s.position > 0)
        })
        .collect();
    waiting.sort_by_key(|c| c.queue.as_ref().map_or(0, |s| s.position));
    if waiting.is_empty() {
        out.push_str("   No Callers\n");
    } else {
        out.push_str("   Callers:\n");
        let mut t = Table::new(&["POS", "CALL", "CALLER", "WAIT", "PRIO"]);
        for c in waiting {
            let stay = c.queue.clone().unwrap_or_default();
            t.row(vec![
                stay.position.to_string(),
                c.call_id.clone(),
                caller(c),
                since(stay.entered_at.as_ref()),
                stay.priority.to_string(),
            ]);
        }
        indent(&mut out, &t.render());
    }
    out
}

fn indent(out: &mut String, text: &str) {
    for line in text.lines() {
        out.push_str("      ");
        out.push_str(line);
        out.push('\n');
    }
}

fn caller(c: &pb::Call) -> String {
    c.caller.as_ref().map_or_else(String::new, |p| {
        if p.name.is_empty() {
            p.number.clone()
        } else {
            format!("{} <{}>", p.name, p.number)
        }
    })
}

pub(crate) fn agents_table(agents: &[pb::Agent]) -> String {
    let mut t = Table::new(&[
        "AGENT", "NAME", "STATE", "REASON", "FOR", "PENDING", "CALLS", "DEVICE",
    ]);
    for a in agents {
        let pending = if a.pending_state == 0 {
            String::new()
        } else {
            agent_state(a.pending_state)
        };
        t.row(vec![
            a.agent.clone(),
            a.display_name.clone(),
            agent_state(a.state),
            a.reason_code.clone(),
            since(a.state_since.as_ref()),
            pending,
            a.active_call_ids.join(","),
            a.device.clone(),
        ]);
    }
    t.render()
}

pub(crate) fn agent_show(a: &pb::Agent) -> String {
    let mut out = agents_table(std::slice::from_ref(a));
    out.push_str(&format!("queues: {}\n", a.queues.join(", ")));
    let mut skills: Vec<_> = a.skills.iter().collect();
    skills.sort();
    let skills: Vec<String> = skills.iter().map(|(k, v)| format!("{k}={v}")).collect();
    out.push_str(&format!(
        "skills: {}\netag: {}\n",
        skills.join(", "),
        a.etag
    ));
    out
}

pub(crate) fn calls_table(calls: &[pb::Call]) -> String {
    let mut t = Table::new(&["CALL", "STATE", "CALLER", "DNIS", "QUEUE", "AGENTS", "AGE"]);
    for c in calls {
        let agents: Vec<&str> = c
            .legs
            .iter()
            .filter(|l| !l.agent.is_empty() && l.ended_at.is_none())
            .map(|l| l.agent.as_str())
            .collect();
        t.row(vec![
            c.call_id.clone(),
            call_state(c.state),
            caller(c),
            c.dialed_number.clone(),
            c.queue
                .as_ref()
                .map_or_else(String::new, |q| q.queue.clone()),
            agents.join(","),
            since(c.created_at.as_ref()),
        ]);
    }
    t.render()
}

pub(crate) fn call_show(c: &pb::Call) -> String {
    let mut out = calls_table(std::slice::from_ref(c));
    out.push_str("legs:\n");
    let mut t = Table::new(&["LEG", "ROLE", "STATE", "AGENT", "PARTY", "SIP CALL-ID"]);
    for l in &c.legs {
        t.row(vec![
            l.leg_id.clone(),
            leg_role(l.role),
            leg_state(l.state),
            l.agent.clone(),
            l.party
                .as_ref()
                .map_or_else(String::new, |p| p.number.clone()),
            l.sip_call_id.clone(),
        ]);
    }
    indent(&mut out, &t.render());
    if let Some(data) = &c.call_data {
        let mut keys: Vec<_> = data.values.iter().collect();
        keys.sort();
        out.push_str("call data:\n");
        for (k, v) in keys {
            out.push_str(&format!("      {k} = {v}\n"));
        }
    }
    out
}

/// One line per event for `watch`.
pub(crate) fn event_line(e: &pb::Event) -> String {
    let time = e
        .time
        .and_then(|t| SystemTime::try_from(t).ok())
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or_else(
            || "-".to_owned(),
            |d| {
                let s = d.as_secs() % 86_400;
                format!(
                    "{:02}:{:02}:{:02}.{:03}",
                    s / 3600,
                    (s / 60) % 60,
                    s % 60,
                    d.subsec_millis()
                )
            },
        );
    let mut line = format!("{:>8} {time} {:<20}", e.seq, e.kind);
    let mut field = |k: &str, v: &str| {
        if !v.is_empty() {
            line.push_str(&format!(" {k}={v}"));
        }
    };
    field("call", &e.call_id);
    field("leg", &e.leg_id);
    field("agent", &e.agent);
    field("queue", &e.queue);
    field("req", &e.request_id);
    match &e.payload {
        Some(Payload::AgentAlerting(a)) => {
            let caller = a.caller.clone().unwrap_or_default();
            line.push_str(&format!(
                " caller={:?} <{}> dnis={} wait={}",
                caller.name,
                caller.number,
                a.dialed_number,
                duration(a.wait_time.as_ref())
            ));
        }
        Some(Payload::AgentStateChanged(s)) => {
            line.push_str(&format!(
                " {} -> {}",
                agent_state(s.previous),
                agent_state(s.current)
            ));
            if !s.reason_code.is_empty() {
                line.push_str(&format!(" ({})", s.reason_code));
            }
        }
        Some(Payload::CallTransferred(t)) => {
            line.push_str(&format!(" {} -> {}", t.old_leg_id, t.new_leg_id));
        }
        Some(Payload::AgentAlertingEnded(a)) => {
            let reason = pb::AlertingEndReason::try_from(a.reason).map_or_else(
                |_| a.reason.to_string(),
                |r| short_enum(r.as_str_name(), "ALERTING_END_REASON_"),
            );
            line.push_str(&format!(" reason={reason}"));
        }
        _ => {}
    }
    line
}

pub(crate) fn status(s: &pb::ServerStatus) -> String {
    let j = s.journal.clone().unwrap_or_default();
    let mut t = Table::new(&["", ""]);
    for (k, v) in [
        ("version", s.version.clone()),
        ("uptime", duration(s.uptime.as_ref())),
        ("active calls", s.active_calls.to_string()),
        ("queued calls", s.queued_calls.to_string()),
        ("agents logged in", s.agents_logged_in.to_string()),
        ("agents ready", s.agents_ready.to_string()),
        ("event streams", s.subscriptions.to_string()),
        ("journal epoch", j.journal_epoch),
        ("journal seq", format!("{}..={}", j.oldest_seq, j.head_seq)),
        ("config digest", s.config_digest.clone()),
    ] {
        t.row(vec![format!("{k}:"), v]);
    }
    // Drop the empty header line.
    t.render()
        .lines()
        .skip(1)
        .map(|l| format!("{l}\n"))
        .collect()
}
