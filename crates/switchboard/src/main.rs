//! The Switchboard daemon: loads the configuration, starts the SIP transport and core, the
//! operator HTTP listener (`/healthz`, `/metrics`), and shuts down cleanly on SIGTERM/SIGINT.
#![forbid(unsafe_code)]

mod api_engine;
mod cli;
mod http;
mod reload;

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long running work may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    let args = cli::Args::parse();
    let config = match load_config(&args) {
        Ok(config) => config,
        Err(err) => {
            // `file:line:column: problem`, as the operator needs it to fix the file.
            eprintln!("switchboard: {err}");
            return ExitCode::from(2);
        }
    };
    if args.sip_tls_listen.is_some() && config.sip.tls.is_none() {
        eprintln!(
            "switchboard: --sip-tls-listen needs a [sip.tls] table (cert, key) in {}",
            args.config.display()
        );
        return ExitCode::from(2);
    }
    if args.check_config {
        println!(
            "{}: configuration OK ({} agents, {} queues, {} routes, {} trunks)",
            args.config.display(),
            config.agents().len(),
            config.queues().len(),
            config.routes().len(),
            config.trunks().len(),
        );
        return ExitCode::SUCCESS;
    }
    init_logging(config.server.log_level.as_str());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("switchboard: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let config_digest = reload::digest_of(&args.config);
    match runtime.block_on(run(
        config,
        config_digest,
        reload::Reloader::new(args.clone()),
        ivr_dir(&args.config),
        config_sibling(&args.config, "prompts"),
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("switchboard: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Loads the file and applies the command-line overrides.
fn load_config(
    args: &cli::Args,
) -> Result<switchboard_config::Config, switchboard_config::ConfigError> {
    let mut config = switchboard_config::load(&args.config)?;
    if let Some(addr) = args.sip_listen {
        config.server.sip_listen = addr;
    }
    if let (Some(addr), Some(tls)) = (args.sip_tls_listen, config.sip.tls.as_mut()) {
        tls.listen = addr;
    }
    if let Some(addr) = args.grpc_listen {
        config.server.grpc_listen = addr;
    }
    if let Some(addr) = args.http_listen {
        config.server.http_listen = addr;
    }
    if let Some(dir) = &args.data_dir {
        config.server.data_dir = dir.clone();
    }
    Ok(config)
}

/// `RUST_LOG` wins over the configured level.
fn init_logging(configured_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(configured_level));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// Read-only journal connections for the API's streams and pages.
const API_JOURNAL_READERS: usize = 8;
/// Capacity of the API's live broadcast (a lagging stream refills from the journal).
const API_LIVE_EVENTS: usize = 4096;

async fn run(
    config: switchboard_config::Config,
    config_digest: String,
    reloader: reload::Reloader,
    ivr_dir: std::path::PathBuf,
    prompts_dir: std::path::PathBuf,
) -> anyhow::Result<()> {
    let mut signals = ShutdownSignals::watch()?;
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("installing the metrics recorder")?;
    prepare_data_dir(&config.server.data_dir)?;

    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();

    let http_listener = http::bind(config.server.http_listen)
        .await
        .with_context(|| format!("binding HTTP on {}", config.server.http_listen))?;
    let data_dir = config.server.data_dir.clone();
    let now = std::time::SystemTime::now();
    let store_config = switchboard_store::StoreConfig::new(data_dir.join("switchboard.db"))
        .with_export_dir(&data_dir);
    let mut store = switchboard_store::Store::open(&store_config, now)
        .with_context(|| format!("opening the store in {}", data_dir.display()))?;
    let closed = store
        .recover_after_restart(now, |cdr| {
            // The same `switchboard.v1.Event` payload the engine journals, so the API decodes it.
            use switchboard_api::pb;
            let event = pb::Event {
                call_id: cdr.call_id.clone(),
                payload: Some(pb::event::Payload::CallEnded(pb::CallEnded {
                    cause: Some(pb::EndCause {
                        reason: pb::EndReason::Restart as i32,
                        sip_status: 0,
                        text: "system:restart".into(),
                    }),
                    duration: None,
                })),
                ..Default::default()
            };
            switchboard_api::codec::journal_event(now, &event)
        })
        .context("closing calls left by the previous run")?;
    if !closed.is_empty() {
        tracing::warn!(
            calls = closed.len(),
            "calls in progress at the last stop closed with reason restart"
        );
    }
    let journal = switchboard_api::JournalPool::open(&store, API_JOURNAL_READERS)
        .context("opening the journal readers for the API")?;
    let grpc_listener = tokio::net::TcpListener::bind(config.server.grpc_listen)
        .await
        .with_context(|| format!("binding gRPC on {}", config.server.grpc_listen))?;
    let flows = load_flows(&config, &ivr_dir)?;
    let recordings = data_dir.join("recordings");
    std::fs::create_dir_all(&recordings)
        .with_context(|| format!("creating {}", recordings.display()))?;
    let options = switchboard_engine::EngineOptions {
        // The configuration has no separate call limit yet: `max_pending_invites` bounds the
        // calls in progress too (over it, new INVITEs get 503 + Retry-After).
        max_calls: config.sip.max_pending_invites.max(1),
        recordings_dir: recordings,
        seed: rand::random(),
    };
    // Media anchored on the SIP address (the SDP's c= line); prompts from `prompts/` next to
    // the configuration file.
    let mut media_config = switchboard_media::engine::EngineConfig::new(
        config.server.sip_listen.ip(),
        config.media.rtp_ports.clone(),
    );
    media_config.workers = config.media.workers;
    media_config.inactivity_timeout = config.media.inactivity_timeout;
    media_config.hold_inactivity_timeout = config.media.hold_inactivity_timeout;
    media_config.recordings_dir = options.recordings_dir.clone();
    media_config.prompts_dir = Some(prompts_dir.clone()).filter(|d| d.is_dir());
    let (media_engine, media_events) = switchboard_media::engine::MediaEngine::start(media_config)
        .context("starting the media engine")?;
    let media = switchboard_engine::shell::MediaBackend::engine(
        media_engine.handle(),
        media_events,
        &tracker,
        shutdown.clone(),
    );
    let sip = switchboard_engine::shell::start(
        std::sync::Arc::new(config.clone()),
        flows,
        options,
        store,
        media,
        &tracker,
        shutdown.clone(),
    )
    .await
    .with_context(|| format!("starting the call engine on {}", config.server.sip_listen))?;
    let sip = std::sync::Arc::new(sip);
    let (live, _) = tokio::sync::broadcast::channel(API_LIVE_EVENTS);
    let (api_engine, feed) =
        api_engine::ApiEngine::new(sip.clone(), config_digest, journal.epoch(), live.clone());
    let api_engine = api_engine.with_reloader(reloader);
    tracker.spawn({
        let shutdown = shutdown.clone();
        async move {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = feed => {}
            }
        }
    });
    let settings = switchboard_api::ApiSettings::from_config(&config.api);
    let api =
        switchboard_api::ApiServer::new(&settings, std::sync::Arc::new(api_engine), journal, live);
    sip.set_delivery_gate(std::sync::Arc::new(api_engine::Gate(api.screen_pop_gate())));
    tracker.spawn({
        let shutdown = shutdown.clone();
        async move {
            if let Err(err) = api
                .serve_with_listener(grpc_listener, shutdown.cancelled_owned())
                .await
            {
                tracing::error!(error = %err, "gRPC API stopped");
            }
        }
    });
    tracing::info!(
        sip = %sip.local_addr(),
        sip_tls = ?sip.tls_local_addr(),
        grpc = %config.server.grpc_listen,
        http = %config.server.http_listen,
        data_dir = %config.server.data_dir.display(),
        "switchboard started"
    );

    tracker.spawn(http::serve(
        http_listener,
        metrics.clone(),
        shutdown.clone(),
    ));
    tracker.spawn({
        // Histograms and summaries need periodic upkeep in the Prometheus exporter; after a
        // burst of calls ended, the allocator's free pages go back to the OS.
        let shutdown = shutdown.clone();
        let engine = sip.clone();
        async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            let mut trim = switchboard_heap::TrimPolicy::default();
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tick.tick() => {
                        metrics.run_upkeep();
                        if trim.observe(std::time::Instant::now(), engine.calls_active()) {
                            tokio::task::spawn_blocking(|| {
                                let released = switchboard_heap::release_free_memory();
                                tracing::debug!(released, "heap trimmed after calls ended");
                                metrics::counter!("switchboard_heap_trims_total").increment(1);
                            });
                        }
                    }
                }
            }
        }
    });

    signals.recv().await;
    tracing::info!("shutting down");
    shutdown.cancel();
    tracker.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("some tasks did not stop within {SHUTDOWN_GRACE:?}");
    }
    // The engine task closed its legs on the way out; now stop the media threads.
    let _ = tokio::task::spawn_blocking(move || media_engine.shutdown()).await;
    tracing::info!("stopped");
    Ok(())
}

/// IVR flows live in `ivr/` next to the configuration file (`ivr/main.toml` is flow `main`).
fn ivr_dir(config_file: &Path) -> std::path::PathBuf {
    config_sibling(config_file, "ivr")
}

/// A directory next to the configuration file.
fn config_sibling(config_file: &Path, name: &str) -> std::path::PathBuf {
    config_file
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(name)
}

/// Loads every flow the configuration declares, plus `survey` when its file exists (played
/// after the agent hangs up on queues with `survey = true`).
fn load_flows(
    config: &switchboard_config::Config,
    dir: &Path,
) -> anyhow::Result<std::collections::HashMap<String, std::sync::Arc<switchboard_ivr::Flow>>> {
    let mut names: Vec<String> = config
        .ivr_flows()
        .iter()
        .map(|f| f.name.as_str().to_string())
        .collect();
    if dir.join("survey.toml").is_file() && !names.iter().any(|n| n == "survey") {
        names.push("survey".into());
    }
    let mut flows = std::collections::HashMap::new();
    for name in names {
        let path = dir.join(format!("{name}.toml"));
        let flow = switchboard_ivr::load(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
        // A flow naming a queue, agent or skill the configuration lacks is refused at its
        // line:column, before any call could reach the dangling reference.
        flow.check_against(config)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        flows.insert(name, std::sync::Arc::new(flow));
    }
    Ok(flows)
}

fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating data dir {}", dir.display()))
}

/// SIGTERM and SIGINT, watched from the moment this is created: created first thing at
/// start-up, so a signal that arrives while the listeners come up (a supervisor stopping us
/// right after the readiness probe passed) still shuts down cleanly instead of killing us.
struct ShutdownSignals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    fn watch() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            terminate: signal(SignalKind::terminate()).context("watching SIGTERM")?,
            interrupt: signal(SignalKind::interrupt()).context("watching SIGINT")?,
        })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}
