//! Shared harness for the daemon's end-to-end tests: free loopback ports, a scratch data
//! directory, the real `switchboard` binary started with the demo configuration and killed on
//! drop, and the small SIP, HTTP and SIPp clients the tests drive it with.
//!
//! Readiness is observed (`/healthz` answers `ok`, then an OPTIONS ping is answered), never
//! assumed after a fixed sleep; every wait has a deadline.
// Each test file uses a different part of the harness.
#![allow(dead_code)]

pub(crate) mod digest;
pub(crate) mod netns;
pub(crate) mod sipp;
pub(crate) mod wire;

use std::collections::BTreeSet;
use std::fs::{self, File};
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
}

impl Daemon {
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
        let sip = SocketAddr::new(sip_ip, free_port_on(sip_ip, true));
        let http = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port(false)));
        let grpc = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port(false)));
        let log_path = dir.path().join("switchboard.log");
        let log = File::create(&log_path)
            .map_err(|e| StartFailure::NotReady(format!("creating log file: {e}")))?;
        let log_err = log
            .try_clone()
            .map_err(|e| StartFailure::NotReady(format!("cloning log file: {e}")))?;
        let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("--config")
            .arg(config)
            .arg("--sip-listen")
            .arg(sip.to_string())
            .arg("--grpc-listen")
            .arg(grpc.to_string())
            .arg("--http-listen")
            .arg(http.to_string())
            .arg("--data-dir")
            .arg(&data_dir)
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
            })?;
        let mut daemon = Self {
            child,
            sip,
            http,
            grpc,
            log_path,
            dir,
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
