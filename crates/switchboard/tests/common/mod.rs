//! Shared harness for the daemon's end-to-end tests: free loopback ports, a scratch data
//! directory, the real `switchboard` binary started with the demo configuration and killed on
//! drop, and the small SIP, HTTP and SIPp clients the tests drive it with.
//!
//! Readiness is observed (`/healthz` answers `ok`, then an OPTIONS ping is answered), never
//! assumed after a fixed sleep; every wait has a deadline.
// Each test file uses a different part of the harness.
#![allow(dead_code)]

pub(crate) mod api;
pub(crate) mod digest;
pub(crate) mod events;
pub(crate) mod flow;
pub(crate) mod netns;
pub(crate) mod phone;
pub(crate) mod rtp;
pub(crate) mod sipp;
pub(crate) mod tagged_rtp;
pub(crate) mod wire;

use std::collections::BTreeSet;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wire::{http_get, options_ping};

/// How long a daemon may take from spawn to answering `/healthz` and OPTIONS.
pub(crate) const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Interval between readiness probes (a poll, bounded by [`READY_TIMEOUT`]).
const PROBE_INTERVAL: Duration = Duration::from_millis(25);
/// Environment variable set by CI: a missing test tool is then a failure, not a skip.
const CI_ENV: &str = "CI";

/// The repository root (two levels above this crate).
pub(crate) fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// Writes the demo configuration with `extra` appended (TOML tables such as `[sip.tls]`) into
/// `dir`, next to links to the demo's IVR flows and prompts, and returns its path.
pub(crate) fn demo_config_with(dir: &Path, extra: &str) -> PathBuf {
    let demo = fs::read_to_string(demo_config()).expect("reading the demo configuration");
    for sub in ["ivr", "prompts"] {
        std::os::unix::fs::symlink(repo_root().join("config").join(sub), dir.join(sub))
            .expect("linking the demo's flows and prompts");
    }
    let path = dir.join("switchboard.toml");
    fs::write(&path, format!("{demo}\n{extra}")).expect("writing the test config");
    path
}

/// The demo configuration every test starts the daemon with.
pub(crate) fn demo_config() -> PathBuf {
    repo_root().join("config/switchboard.toml")
}

/// A SIPp scenario file under `tests/sipp/`.
pub(crate) fn sipp_scenario(name: &str) -> PathBuf {
    repo_root().join("tests/sipp").join(name)
}

/// True when CI is set (to anything but empty, `0` or `false`).
pub(crate) fn in_ci() -> bool {
    std::env::var(CI_ENV).is_ok_and(|v| !(v.is_empty() || v == "0" || v == "false"))
}

/// A directory under the system temp dir, removed with its content on drop.
#[derive(Debug)]
pub(crate) struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// Creates a fresh, uniquely named directory.
    pub(crate) fn new(label: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "switchboard-e2e-{label}-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("creating scratch dir {}: {e}", path.display()));
        Self { path }
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Ports handed out by this process, so parallel tests never get the same one twice.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// A port on 127.0.0.1 that is free right now for TCP and, with `udp_too`, for UDP as well
/// (the SIP listener takes both on one port).
pub(crate) fn free_port(udp_too: bool) -> u16 {
    free_port_on(IpAddr::V4(Ipv4Addr::LOCALHOST), udp_too)
}

/// A port on `ip` that is free right now for TCP and, with `udp_too`, for UDP as well. The
/// kernel picks it (bind to port 0); another process can still take it before the daemon binds,
/// which [`Daemon::start_with`] absorbs by retrying.
pub(crate) fn free_port_on(ip: IpAddr, udp_too: bool) -> u16 {
    for _ in 0..200 {
        let (port, _keep) = if udp_too {
            let Ok(udp) = UdpSocket::bind((ip, 0)) else {
                continue;
            };
            let Ok(port) = udp.local_addr().map(|a| a.port()) else {
                continue;
            };
            let Ok(tcp) = TcpListener::bind((ip, port)) else {
                continue;
            };
            (port, (Some(udp), tcp))
        } else {
            let Ok(tcp) = TcpListener::bind((ip, 0)) else {
                continue;
            };
            let Ok(port) = tcp.local_addr().map(|a| a.port()) else {
                continue;
            };
            (port, (None, tcp))
        };
        let mut taken = HANDED_OUT.lock().unwrap_or_else(|p| p.into_inner());
        if taken.insert(port) {
            return port;
        }
    }
    panic!("no free loopback port found after 200 attempts");
}

/// Blocks of RTP ports handed to the daemons this process starts.
static NEXT_RTP_BLOCK: AtomicU32 = AtomicU32::new(0);
/// Ports per block: a test's calls (two legs each, a pair of ports per leg, 10 s of rest after
/// a leg closes) stay well inside it.
const RTP_BLOCK: u32 = 200;

/// The daemon's configuration with RTP ports of its own: when `config` has the demo's
/// `rtp_port_min = 20000` / `rtp_port_max = 29999`, a copy in `dir` takes a block of 200 in
/// 30000-32599 instead (below the kernel's ephemeral ports, which SIPp and the tests' sockets
/// take, and away from the demo range that daemons started by other means use), next to links
/// to the original's `ivr/` and `prompts/`. Daemons that run at once, in this test binary or
/// beside another one, then never compete for a port: a test that lost that race got a 503
/// "no RTP port available" for its caller. Other configurations are used as they are.
fn own_rtp_ports(config: &Path, dir: &Path) -> Result<PathBuf, String> {
    const DEMO_RANGE: &str = "rtp_port_min = 20000\nrtp_port_max = 29999";
    let text =
        fs::read_to_string(config).map_err(|e| format!("reading {}: {e}", config.display()))?;
    if !text.contains(DEMO_RANGE) {
        return Ok(config.to_path_buf());
    }
    let blocks = (32_600 - 30_000) / RTP_BLOCK;
    let block = (std::process::id() + NEXT_RTP_BLOCK.fetch_add(1, Ordering::Relaxed)) % blocks;
    let min = 30_000 + block * RTP_BLOCK;
    let text = text.replace(
        DEMO_RANGE,
        &format!(
            "rtp_port_min = {min}\nrtp_port_max = {}",
            min + RTP_BLOCK - 1
        ),
    );
    let own = dir.join("config");
    fs::create_dir_all(&own).map_err(|e| format!("creating {}: {e}", own.display()))?;
    let home = config.parent().unwrap_or(Path::new("."));
    for sub in ["ivr", "prompts"] {
        let original = home.join(sub);
        if original.exists() {
            let original = original.canonicalize().unwrap_or(original);
            std::os::unix::fs::symlink(&original, own.join(sub))
                .map_err(|e| format!("linking {}: {e}", original.display()))?;
        }
    }
    let path = own.join("switchboard.toml");
    fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(path)
}

/// Why a start attempt failed.
#[derive(Debug)]
enum StartFailure {
    /// The daemon exited (worth a retry on new ports).
    Exited(String),
    /// It runs but did not answer in time.
    NotReady(String),
}

/// A running `switchboard` daemon on loopback; killed (and reaped) on drop. When the test is
/// panicking, the daemon's log is printed so the failure explains itself.
#[derive(Debug)]
pub(crate) struct Daemon {
    child: Child,
    /// SIP listener, UDP and TCP.
    pub(crate) sip: SocketAddr,
    /// HTTP listener (`/healthz`, `/metrics`).
    pub(crate) http: SocketAddr,
    /// gRPC listener.
    pub(crate) grpc: SocketAddr,
    log_path: PathBuf,
    dir: ScratchDir,
    config: PathBuf,
}

impl Daemon {
    /// The configuration file this daemon reads (and re-reads on ReloadConfig): a copy with
    /// RTP ports of its own when the one it was started with had the demo's range.
    pub(crate) fn config_path(&self) -> &Path {
        &self.config
    }

    /// Starts the daemon with the repository's demo configuration.
    pub(crate) fn start() -> Self {
        Self::start_with(&demo_config(), IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    /// Starts the daemon with `config`, its SIP listener on `sip_ip` (HTTP and gRPC stay on
    /// 127.0.0.1), on fresh ports, and waits until it is ready. A daemon that exits during
    /// start-up (a port taken meanwhile, say) is retried on new ports twice; one that runs but
    /// does not answer fails at once.
    pub(crate) fn start_with(config: &Path, sip_ip: IpAddr) -> Self {
        let mut last_failure = String::new();
        for _ in 0..3 {
            match Self::try_start(config, sip_ip) {
                Ok(daemon) => return daemon,
                Err(StartFailure::Exited(failure)) => {
                    eprintln!(
                        "the daemon exited during start-up, retrying on new ports: {failure}"
                    );
                    last_failure = failure;
                }
                Err(StartFailure::NotReady(failure)) => {
                    panic!("the daemon did not become ready:\n{failure}")
                }
            }
        }
        panic!("the daemon did not start:\n{last_failure}");
    }

    fn try_start(config: &Path, sip_ip: IpAddr) -> Result<Self, StartFailure> {
        let dir = ScratchDir::new("daemon");
        let data_dir = dir.path().join("data");
        fs::create_dir_all(&data_dir)
            .map_err(|e| StartFailure::NotReady(format!("creating data dir: {e}")))?;
        let config = &own_rtp_ports(config, dir.path()).map_err(StartFailure::NotReady)?;
        let sip = SocketAddr::new(sip_ip, free_port_on(sip_ip, true));
        let http = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port(false)));
        let grpc = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port(false)));
        let log_path = dir.path().join("switchboard.log");
        let child = spawn_daemon(config, sip, http, grpc, &data_dir, &log_path)?;
        let mut daemon = Self {
            child,
            sip,
            http,
            grpc,
            log_path,
            dir,
            config: config.to_path_buf(),
        };
        match daemon.wait_ready() {
            Ok(()) => Ok(daemon),
            Err(e) => {
                let failure = format!("{e}\n--- daemon log ---\n{}", daemon.log());
                Err(if daemon.exited().is_some() {
                    StartFailure::Exited(failure)
                } else {
                    StartFailure::NotReady(failure)
                })
            }
        }
    }

    /// Starts the daemon again on the same configuration and data directory, on fresh ports
    /// (after [`Daemon::signal`] `KILL`, say: what a supervisor does after a crash), and waits
    /// until it is ready. Its log is appended to the same file.
    pub(crate) fn restart(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let data_dir = self.dir().join("data");
        self.sip = SocketAddr::new(self.sip.ip(), free_port_on(self.sip.ip(), true));
        self.http = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port(false)));
        self.grpc = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port(false)));
        self.child = spawn_daemon(
            &self.config,
            self.sip,
            self.http,
            self.grpc,
            &data_dir,
            &self.log_path,
        )
        .unwrap_or_else(|e| panic!("restarting the daemon: {e:?}"));
        if let Err(e) = self.wait_ready() {
            panic!("the restarted daemon is not ready: {e}\n{}", self.log());
        }
    }

    /// Polls `/healthz` until it answers 200 `ok`, then OPTIONS until it is answered 200.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut last: String;
        loop {
            if let Some(status) = self.exited() {
                return Err(format!("daemon exited during start-up with {status}"));
            }
            match http_get(self.http, "/healthz", Duration::from_millis(500)) {
                Ok((200, body)) if body.trim() == "ok" => break,
                Ok((code, body)) => last = format!("/healthz answered {code} {body:?}"),
                Err(e) => last = format!("/healthz: {e}"),
            }
            if Instant::now() >= deadline {
                return Err(format!("not ready within {READY_TIMEOUT:?}: {last}"));
            }
            std::thread::sleep(PROBE_INTERVAL);
        }
        loop {
            if let Some(status) = self.exited() {
                return Err(format!("daemon exited during start-up with {status}"));
            }
            match options_ping(self.sip, Duration::from_millis(500)) {
                Ok(200) => return Ok(()),
                Ok(code) => last = format!("OPTIONS answered {code}"),
                Err(e) => last = format!("OPTIONS: {e}"),
            }
            if Instant::now() >= deadline {
                return Err(format!("SIP not ready within {READY_TIMEOUT:?}: {last}"));
            }
            std::thread::sleep(PROBE_INTERVAL);
        }
    }

    /// The exit status if the daemon has exited.
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Sends `signal` (`"TERM"`, `"INT"`; through kill(1), as these tests hold no unsafe code)
    /// and waits up to `limit` for the daemon to exit; `None` if it is still running then.
    pub(crate) fn signal(&mut self, signal: &str, limit: Duration) -> Option<ExitStatus> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(&pid)
            .status();
        assert!(
            sent.as_ref().is_ok_and(|s| s.success()),
            "kill -{signal} {pid} failed: {sent:?}"
        );
        wait_with_deadline(&mut self.child, limit)
    }

    /// Everything the daemon has logged so far.
    pub(crate) fn log(&self) -> String {
        fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_else(|e| format!("(log unreadable: {e})"))
    }

    /// The daemon's scratch directory (its data dir is `data/` inside).
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The daemon's process id (for /proc readings: RSS, open descriptors).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `limit` until `Master.csv` holds at least `rows` rows; returns it and the
    /// queue_log as they are then.
    pub(crate) fn records(&self, rows: usize, limit: Duration) -> (String, String) {
        let data = self.dir().join("data");
        let deadline = Instant::now() + limit;
        loop {
            let cdr = fs::read_to_string(data.join("cdr/Master.csv")).unwrap_or_default();
            let queue_log = fs::read_to_string(data.join("queue_log")).unwrap_or_default();
            if cdr.lines().count() >= rows {
                return (cdr, queue_log);
            }
            assert!(
                Instant::now() < deadline,
                "{} CDRs, expected {rows}\n{cdr}\n{queue_log}\n{}",
                cdr.lines().count(),
                self.log()
            );
            std::thread::sleep(PROBE_INTERVAL);
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- switchboard log ({}) ---\n{}", self.sip, self.log());
        }
    }
}

/// Spawns the daemon binary with its log appended to `log_path`.
fn spawn_daemon(
    config: &Path,
    sip: SocketAddr,
    http: SocketAddr,
    grpc: SocketAddr,
    data_dir: &Path,
    log_path: &Path,
) -> Result<Child, StartFailure> {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .map_err(|e| StartFailure::NotReady(format!("opening the log file: {e}")))?;
    let log_err = log
        .try_clone()
        .map_err(|e| StartFailure::NotReady(format!("cloning log file: {e}")))?;
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--config")
        .arg(config)
        .arg("--sip-listen")
        .arg(sip.to_string())
        .arg("--grpc-listen")
        .arg(grpc.to_string())
        .arg("--http-listen")
        .arg(http.to_string())
        .arg("--data-dir")
        .arg(data_dir)
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
        )
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|e| {
            StartFailure::NotReady(format!(
                "spawning {}: {e}",
                env!("CARGO_BIN_EXE_switchboard")
            ))
        })
}

/// Writes the demo configuration with each `(from, to)` text replacement applied (each must
/// match: the demo changing shape fails the test, not silently the fault it sets up) into
/// `dir`, next to links to the demo's `ivr/` and `prompts/`; returns the file's path.
pub(crate) fn config_with(dir: &Path, replacements: &[(&str, &str)]) -> PathBuf {
    let mut text = fs::read_to_string(demo_config()).expect("demo config");
    for (from, to) in replacements {
        assert!(text.contains(from), "demo config has no {from:?}");
        text = text.replacen(from, to, 1);
    }
    for sub in ["ivr", "prompts"] {
        std::os::unix::fs::symlink(repo_root().join("config").join(sub), dir.join(sub))
            .expect("linking the demo's flows and prompts");
    }
    let path = dir.join("switchboard.toml");
    fs::write(&path, text).expect("writing the test config");
    path
}

/// Waits for `child` up to `limit`; kills it when the limit passes and returns `None`.
pub(crate) fn wait_with_deadline(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(PROBE_INTERVAL),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// The last `max` bytes of `text`, cut at a character boundary.
pub(crate) fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text.get(start..).unwrap_or_default()
}

/// The daemon's GetStatus over gRPC with the demo token (`None` when it cannot be read).
pub(crate) fn server_status(daemon: &Daemon) -> Option<switchboard_api::pb::ServerStatus> {
    use switchboard_api::pb;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    rt.block_on(async {
        let mut admin = pb::admin_service_client::AdminServiceClient::connect(format!(
            "http://{}",
            daemon.grpc
        ))
        .await
        .ok()?;
        let mut request = tonic::Request::new(pb::GetStatusRequest {});
        let token = tonic::metadata::MetadataValue::try_from("Bearer demo-token-change-me").ok()?;
        request.metadata_mut().insert("authorization", token);
        request.set_timeout(Duration::from_secs(5));
        Some(admin.get_status(request).await.ok()?.into_inner())
    })
}

/// Waits up to `limit` until the engine holds no call (GetStatus `active_calls` 0): nothing
/// leaked once every peer is done.
pub(crate) fn wait_no_calls(daemon: &Daemon, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let status = server_status(daemon);
        if status.as_ref().is_some_and(|s| s.active_calls == 0) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "calls still held after {limit:?}: {status:?}\n{}",
            tail(&daemon.log(), 4000)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
