//! `sbctl`: Switchboard's operator CLI, a client of the gRPC CTI API.
//!
//! ```text
//! sbctl [--server URL] [--token T] [--json] <command>
//!   status | reload | subscriptions
//!   queue list | queue show NAME
//!   agent list | agent show ID | agent ready ID | agent pause ID --reason R | agent logout ID
//!   call list | call show ID | call hangup ID [--leg L] | call transfer LEG --to-… | call dial
//!   watch [--after SEQ] [--queue Q] [--agent A] [--kind K]
//! ```
//! Human output is aligned tables; `--json` prints one proto3-JSON object per line. A failed
//! call prints `error: CODE REASON: message` on stderr and exits 1.
#![forbid(unsafe_code)]

mod commands;
mod render;
mod table;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use switchboard_api::pb;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

/// Switchboard operator CLI.
#[derive(Parser, Debug)]
#[command(name = "sbctl", version, about)]
struct Cli {
    /// The API's URL (`https://` for TLS).
    #[arg(long, env = "SBCTL_SERVER", default_value = "http://127.0.0.1:50051")]
    server: String,
    /// Bearer token (a `[[api.token]]` secret).
    #[arg(long, env = "SBCTL_TOKEN", default_value = "", hide_env_values = true)]
    token: String,
    /// PEM CA certificate to trust for `https://`.
    #[arg(long)]
    ca: Option<std::path::PathBuf>,
    /// One JSON object per line instead of tables.
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Daemon status: version, uptime, counts, journal.
    Status,
    /// Reload the configuration file.
    Reload,
    /// Open event streams and their lag.
    Subscriptions,
    /// Queues.
    #[command(subcommand)]
    Queue(QueueCmd),
    /// Agents.
    #[command(subcommand)]
    Agent(AgentCmd),
    /// Calls.
    #[command(subcommand)]
    Call(CallCmd),
    /// Tail events live (replaying from `--after` first).
    Watch(WatchArgs),
}

#[derive(Subcommand, Debug)]
enum QueueCmd {
    /// All queues with live statistics.
    List,
    /// One queue with its members and waiting callers.
    Show {
        /// Queue name.
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum AgentCmd {
    /// All agents.
    List,
    /// One agent.
    Show {
        /// Agent id.
        id: String,
    },
    /// Make an agent READY.
    Ready {
        /// Agent id.
        id: String,
        /// Only after its current call and wrap-up.
        #[arg(long)]
        after_work: bool,
    },
    /// Make an agent NOT_READY with a reason code.
    Pause {
        /// Agent id.
        id: String,
        /// Reason code.
        #[arg(long)]
        reason: String,
        /// Only after its current call and wrap-up.
        #[arg(long)]
        after_work: bool,
    },
    /// Log an agent out.
    Logout {
        /// Agent id.
        id: String,
        /// Reason code.
        #[arg(long, default_value = "")]
        reason: String,
        /// Even while on a call.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum CallCmd {
    /// Calls in progress.
    List {
        /// Only calls in this queue.
        #[arg(long, default_value = "")]
        queue: String,
        /// Only calls with this agent.
        #[arg(long, default_value = "")]
        agent: String,
    },
    /// One call with its legs and data.
    Show {
        /// Call id.
        id: String,
    },
    /// End a call, or one leg of it with `--leg`.
    Hangup {
        /// Call id.
        id: String,
        /// Only this leg.
        #[arg(long)]
        leg: Option<String>,
    },
    /// Blind-transfer a call away from a leg.
    Transfer(TransferArgs),
    /// Click-to-dial: ring the agent, then the number.
    Dial {
        /// The agent placing the call.
        #[arg(long)]
        agent: String,
        /// The number or SIP URI to call.
        to: String,
    },
}

#[derive(Args, Debug)]
pub(crate) struct TransferArgs {
    /// Call id.
    id: String,
    /// The leg that leaves (the agent's).
    leg: String,
    /// Target agent.
    #[arg(long, group = "target")]
    to_agent: Option<String>,
    /// Target queue.
    #[arg(long, group = "target")]
    to_queue: Option<String>,
    /// Target number or SIP URI.
    #[arg(long, group = "target")]
    to_number: Option<String>,
}

#[derive(Args, Debug)]
pub(crate) struct WatchArgs {
    /// Replay from after this seq first (default: only new events).
    #[arg(long)]
    after: Option<u64>,
    /// Only events of this queue (repeatable).
    #[arg(long)]
    queue: Vec<String>,
    /// Only events of this agent (repeatable).
    #[arg(long)]
    agent: Vec<String>,
    /// Only events of this kind, e.g. AgentAlerting (repeatable).
    #[arg(long)]
    kind: Vec<String>,
    /// Stop after this many events.
    #[arg(long)]
    count: Option<u64>,
}

#[derive(Clone)]
struct Bearer(Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(token) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", token.clone());
        }
        Ok(request)
    }
}

type Svc = tonic::codegen::InterceptedService<Channel, Bearer>;

pub(crate) struct Ctx {
    channel: Channel,
    bearer: Bearer,
    json: bool,
}

impl Ctx {
    pub(crate) fn events(&self) -> pb::event_service_client::EventServiceClient<Svc> {
        pb::event_service_client::EventServiceClient::with_interceptor(
            self.channel.clone(),
            self.bearer.clone(),
        )
    }
    pub(crate) fn calls(&self) -> pb::call_service_client::CallServiceClient<Svc> {
        pb::call_service_client::CallServiceClient::with_interceptor(
            self.channel.clone(),
            self.bearer.clone(),
        )
    }
    pub(crate) fn agents(&self) -> pb::agent_service_client::AgentServiceClient<Svc> {
        pb::agent_service_client::AgentServiceClient::with_interceptor(
            self.channel.clone(),
            self.bearer.clone(),
        )
    }
    pub(crate) fn queues(&self) -> pb::queue_service_client::QueueServiceClient<Svc> {
        pb::queue_service_client::QueueServiceClient::with_interceptor(
            self.channel.clone(),
            self.bearer.clone(),
        )
    }
    pub(crate) fn admin(&self) -> pb::admin_service_client::AdminServiceClient<Svc> {
        pb::admin_service_client::AdminServiceClient::with_interceptor(
            self.channel.clone(),
            self.bearer.clone(),
        )
    }

    /// Prints each message as one JSON line, or the human text.
    fn print<M: prost::Message>(
        &self,
        name: &str,
        items: &[M],
        human: impl FnOnce() -> String,
    ) -> anyhow::Result<()> {
        if self.json {
            for item in items {
                println!("{}", render::json(&format!("switchboard.v1.{name}"), item)?);
            }
        } else {
            print!("{}", human());
        }
        Ok(())
    }
}

/// A failure to show the operator: a gRPC status, or a local problem.
pub(crate) enum Failure {
    Status(tonic::Status),
    Other(anyhow::Error),
}

impl From<tonic::Status> for Failure {
    fn from(s: tonic::Status) -> Self {
        Failure::Status(s)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Other(e)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Status(status)) => {
            let reason = switchboard_api::error_reason(&status).unwrap_or_default();
            eprintln!("error: {:?} {reason}: {}", status.code(), status.message());
            ExitCode::from(1)
        }
        Err(Failure::Other(error)) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}

async fn connect(cli: &Cli) -> anyhow::Result<Channel> {
    let mut endpoint = Channel::from_shared(cli.server.clone())?;
    if cli.server.starts_with("https://") {
        let mut tls = ClientTlsConfig::new();
        if let Some(ca) = &cli.ca {
            tls = tls.ca_certificate(Certificate::from_pem(std::fs::read(ca)?));
        }
        endpoint = endpoint.tls_config(tls)?;
    }
    endpoint
        .connect()
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to {}: {e}", cli.server))
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let channel = connect(&cli).await?;
    let bearer = Bearer(if cli.token.is_empty() {
        None
    } else {
        Some(
            format!("Bearer {}", cli.token)
                .parse()
                .map_err(|_| anyhow::anyhow!("the token has characters a header cannot carry"))?,
        )
    });
    let ctx = Ctx {
        channel,
        bearer,
        json: cli.json,
    };
    match cli.command {
        Command::Status => {
            let s = ctx
                .admin()
                .get_status(pb::GetStatusRequest {})
                .await?
                .into_inner();
            ctx.print("ServerStatus", std::slice::from_ref(&s), || {
                render::status(&s)
            })?;
        }
        Command::Reload => {
            let r = ctx
                .admin()
                .reload_config(pb::ReloadConfigRequest::default())
                .await?
                .into_inner();
            ctx.print("ReloadConfigResponse", std::slice::from_ref(&r), || {
                format!(
                    "configuration {} (digest {})\n",
                    if r.changed { "reloaded" } else { "unchanged" },
                    r.config_digest
                )
            })?;
        }
        Command::Subscriptions => {
            let list = ctx
                .admin()
                .list_subscriptions(pb::ListSubscriptionsRequest {})
                .await?
                .into_inner()
                .subscriptions;
            ctx.print("Subscription", &list, || {
                let mut t =
                    table::Table::new(&["ID", "CLIENT", "TOKEN", "PEER", "CURSOR", "LAG", "MODE"]);
                for s in &list {
                    t.row(vec![
                        s.id.to_string(),
                        s.client_name.clone(),
                        s.principal.clone(),
                        s.peer.clone(),
                        s.cursor_seq.to_string(),
                        s.lag_events.to_string(),
                        if s.replaying { "journal" } else { "live" }.into(),
                    ]);
                }
                t.render()
            })?;
        }
        Command::Queue(QueueCmd::List) => {
            let queues = ctx
                .queues()
                .list_queues(pb::ListQueuesRequest {})
                .await?
                .into_inner()
                .queues;
            ctx.print("Queue", &queues, || render::queues_table(&queues))?;
        }
        Command::Queue(QueueCmd::Show { name }) => {
            let q = ctx
                .queues()
                .get_queue(pb::GetQueueRequest { name })
                .await?
                .into_inner();
            let agents = ctx
                .agents()
                .list_agents(pb::ListAgentsRequest {
                    queue: q.queue.clone(),
                    ..Default::default()
                })
                .await?
                .into_inner()
                .agents;
            let calls = ctx
                .calls()
                .list_calls(pb::ListCallsRequest {
                    queue: q.queue.clone(),
                    page_size: 1000,
                    ..Default::default()
                })
                .await?
                .into_inner()
                .calls;
            ctx.print("Queue", std::slice::from_ref(&q), || {
                render::queue_show(&q, &agents, &calls)
            })?;
        }
        Command::Agent(cmd) => commands::agent(&ctx, cmd).await?,
        Command::Call(cmd) => commands::call(&ctx, cmd).await?,
        Command::Watch(args) => commands::watch(&ctx, args).await?,
    }
    Ok(())
}
