//! A minimal CRM integration: keeps a cursor file, pops a screen for every `AgentAlerting`,
//! and can blind-transfer a call.
//!
//! ```text
//! # tail events, resuming after the seq saved in crm.cursor, printing screen-pops
//! cargo run -p switchboard-api --example crm -- --server http://127.0.0.1:50051 \
//!     --token demo-token-change-me --cursor crm.cursor
//! # transfer a call's agent leg to the sales queue
//! cargo run -p switchboard-api --example crm -- --token demo-token-change-me \
//!     transfer --call 0190… --leg 0190…-a --queue sales
//! ```
//!
//! How it stays exact across restarts: the cursor file holds `epoch seq`. After each event is
//! handled (and on each heartbeat, whose `watermark_seq` covers filtered-out events) the file
//! is rewritten atomically. On start it subscribes with `after_seq` and the saved epoch: the
//! server replays whatever was missed, then goes live. A cursor that fell out of retention
//! (`OUT_OF_RANGE CURSOR_EXPIRED`) is resolved the documented way: take a snapshot and resume
//! after its `as_of_seq`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, Subcommand};
use switchboard_api::pb;
use switchboard_api::pb::event::Payload;
use switchboard_api::pb::subscribe_response::Kind;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;

#[derive(Parser)]
struct Cli {
    /// The Switchboard API.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    server: String,
    /// Bearer token with `events:read` (and `calls:write` to transfer).
    #[arg(long)]
    token: String,
    /// Where the cursor is kept.
    #[arg(long, default_value = "crm.cursor")]
    cursor: PathBuf,
    /// Only screen-pops for these agents (default: all).
    #[arg(long)]
    agent: Vec<String>,
    #[command(subcommand)]
    action: Option<Action>,
}

#[derive(Subcommand)]
enum Action {
    /// Blind-transfer a call away from a leg to an agent, queue or number.
    Transfer {
        /// The call id.
        #[arg(long)]
        call: String,
        /// The leg that leaves (the agent's leg from the screen-pop).
        #[arg(long)]
        leg: String,
        /// Target agent.
        #[arg(long)]
        agent: Option<String>,
        /// Target queue.
        #[arg(long)]
        queue: Option<String>,
        /// Target number.
        #[arg(long)]
        number: Option<String>,
    },
}

type Intercepted = tonic::codegen::InterceptedService<Channel, Auth>;

#[derive(Clone)]
struct Auth(MetadataValue<Ascii>);

impl tonic::service::Interceptor for Auth {
    fn call(&mut self, mut r: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        r.metadata_mut().insert("authorization", self.0.clone());
        Ok(r)
    }
}

/// The saved position: journal epoch and last handled seq.
#[derive(Debug, Clone, PartialEq)]
struct Cursor {
    epoch: String,
    seq: u64,
}

fn load_cursor(path: &Path) -> Option<Cursor> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut parts = text.split_whitespace();
    Some(Cursor {
        epoch: parts.next()?.to_owned(),
        seq: parts.next()?.parse().ok()?,
    })
}

fn save_cursor(path: &Path, cursor: &Cursor) -> std::io::Result<()> {
    // Write then rename, so a crash leaves the old or the new cursor, never half of one.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{} {}\n", cursor.epoch, cursor.seq))?;
    std::fs::rename(tmp, path)
}

fn screen_pop(event: &pb::Event, alerting: &pb::AgentAlerting) {
    let caller = alerting.caller.clone().unwrap_or_default();
    let wait = alerting
        .wait_time
        .and_then(|d| Duration::try_from(d).ok())
        .unwrap_or_default();
    println!(
        "┌─ SCREEN POP ─ agent {} ─ call {}",
        alerting.agent, event.call_id
    );
    println!("│ caller   {} <{}>", caller.name, caller.number);
    println!(
        "│ dialled  {}   queue {}   waited {}s",
        alerting.dialed_number,
        alerting.queue,
        wait.as_secs()
    );
    for input in &alerting.ivr_inputs {
        println!("│ IVR      {} = {}", input.key, input.value);
    }
    if let Some(data) = &alerting.call_data {
        let mut keys: Vec<_> = data.values.iter().collect();
        keys.sort();
        for (k, v) in keys {
            println!("│ data     {k} = {v}");
        }
    }
    for t in &alerting.transfers {
        println!("│ from     leg {} (transferred)", t.from_leg_id);
    }
    println!(
        "└─ leg {} (transfer with: transfer --call {} --leg {})",
        alerting.leg_id, event.call_id, alerting.leg_id
    );
}

async fn tail(channel: Channel, auth: Auth, cli: &Cli) -> Result<(), Box<dyn std::error::Error>> {
    let mut events: pb::event_service_client::EventServiceClient<Intercepted> =
        pb::event_service_client::EventServiceClient::with_interceptor(channel, auth);
    let mut cursor = load_cursor(&cli.cursor);
    loop {
        let request = pb::SubscribeRequest {
            start: Some(match &cursor {
                Some(c) => pb::subscribe_request::Start::AfterSeq(c.seq),
                None => pb::subscribe_request::Start::Position(pb::StartPosition::Now as i32),
            }),
            journal_epoch: cursor.as_ref().map(|c| c.epoch.clone()).unwrap_or_default(),
            filter: Some(pb::EventFilter {
                kinds: vec!["AgentAlerting".into(), "AgentAlertingEnded".into()],
                agents: cli.agent.clone(),
                ..Default::default()
            }),
            client_name: "example-crm".into(),
            ..Default::default()
        };
        let mut stream = match events.subscribe(request).await {
            Ok(s) => s.into_inner(),
            Err(status)
                if matches!(
                    switchboard_api::error_reason(&status).as_deref(),
                    Some("CURSOR_EXPIRED" | "JOURNAL_EPOCH_MISMATCH")
                ) =>
            {
                // Too far behind (or a new journal): resync from a snapshot.
                let snapshot = events
                    .get_snapshot(pb::GetSnapshotRequest {})
                    .await?
                    .into_inner();
                eprintln!(
                    "cursor unusable ({}); resuming after snapshot seq {}",
                    status.message(),
                    snapshot.as_of_seq
                );
                cursor = Some(Cursor {
                    epoch: snapshot.journal_epoch,
                    seq: snapshot.as_of_seq,
                });
                continue;
            }
            Err(status) => return Err(status.into()),
        };
        loop {
            let message = match stream.message().await {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(status) if status.code() == tonic::Code::Unavailable => break,
                Err(status) => return Err(status.into()),
            };
            let (epoch, seq) = match message.kind {
                Some(Kind::Event(event)) => {
                    match &event.payload {
                        Some(Payload::AgentAlerting(a)) => screen_pop(&event, a),
                        Some(Payload::AgentAlertingEnded(e)) => {
                            println!(
                                "   pop closed: agent {} leg {} ({:?})",
                                e.agent,
                                e.leg_id,
                                e.reason()
                            )
                        }
                        _ => {}
                    }
                    (event.journal_epoch.clone(), event.seq)
                }
                Some(Kind::Heartbeat(h)) => match &cursor {
                    Some(c) => (c.epoch.clone(), h.watermark_seq),
                    None => continue,
                },
                Some(Kind::CaughtUp(c)) => (c.journal_epoch, c.watermark_seq),
                _ => continue,
            };
            let next = Cursor { epoch, seq };
            if cursor.as_ref() != Some(&next) {
                save_cursor(&cli.cursor, &next)?;
                cursor = Some(next);
            }
        }
        eprintln!(
            "stream ended; reconnecting after seq {:?}",
            cursor.as_ref().map(|c| c.seq)
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let channel = Channel::from_shared(cli.server.clone())?.connect().await?;
    let auth = Auth(format!("Bearer {}", cli.token).parse()?);
    match &cli.action {
        None => tail(channel, auth, &cli).await,
        Some(Action::Transfer {
            call,
            leg,
            agent,
            queue,
            number,
        }) => {
            use pb::transfer_target::Target;
            let target = match (agent, queue, number) {
                (Some(a), _, _) => Target::Agent(a.clone()),
                (_, Some(q), _) => Target::Queue(q.clone()),
                (_, _, Some(n)) => Target::Number(n.clone()),
                _ => return Err("give --agent, --queue or --number".into()),
            };
            let mut calls =
                pb::call_service_client::CallServiceClient::with_interceptor(channel, auth);
            let accepted = calls
                .blind_transfer(pb::BlindTransferRequest {
                    leg: format!("calls/{call}/legs/{leg}"),
                    target: Some(pb::TransferTarget {
                        target: Some(target),
                    }),
                    ..Default::default()
                })
                .await?
                .into_inner();
            println!(
                "transfer accepted: request {} call {}",
                accepted.request_id, accepted.call_id
            );
            Ok(())
        }
    }
}
