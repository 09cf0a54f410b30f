//! Shared harness for the daemon's end-to-end tests: free loopback ports, a scratch data
//! directory, the real `switchboard` binary started with the demo configuration and killed on
//! drop, and the small SIP, HTTP and SIPp clients the tests drive it with.
//!
//! Readiness is observed (`/healthz` answers `ok`, then an OPTIONS ping is answered), never
//! assumed after a fixed sleep; every wait has a deadline.
// Each test file uses a different part of the harness.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a daemon may take from spawn to answering `/healthz` and OPTIONS.
pub(crate) const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Interval between readiness probes (a poll, bounded by [`READY_TIMEOUT`]).
const PROBE_INTERVAL: Duration = Duration::from_millis(25);
/// Wall-clock bound on one SIPp run, on top of SIPp's own `-timeout`.
pub(crate) const SIPP_WALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Environment variable set by CI: a missing test tool is then a failure, not a skip.
const CI_ENV: &str = "CI";

/// The repository root (two levels above this crate).
pub(crate) fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
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
    /// start-up (a port taken meanwhile, say) is retried on new ports twice.
    pub(crate) fn start_with(config: &Path, sip_ip: IpAddr) -> Self {
        let mut last_failure = String::new();
        for _ in 0..3 {
            match Self::try_start(config, sip_ip) {
                Ok(daemon) => return daemon,
                Err(failure) => {
                    eprintln!("daemon start failed, retrying on new ports: {failure}");
                    last_failure = failure;
                }
            }
        }
        panic!("the daemon did not become ready:\n{last_failure}");
    }

    fn try_start(config: &Path, sip_ip: IpAddr) -> Result<Self, String> {
        let dir = ScratchDir::new("daemon");
        let data_dir = dir.path().join("data");
        fs::create_dir_all(&data_dir).map_err(|e| format!("creating data dir: {e}"))?;
        let sip = SocketAddr::new(sip_ip, free_port_on(sip_ip, true));
        let http = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port(false)));
        let grpc = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port(false)));
        let log_path = dir.path().join("switchboard.log");
        let log = File::create(&log_path).map_err(|e| format!("creating log file: {e}"))?;
        let log_err = log
            .try_clone()
            .map_err(|e| format!("cloning log file: {e}"))?;
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
            .map_err(|e| format!("spawning {}: {e}", env!("CARGO_BIN_EXE_switchboard")))?;
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
            Err(e) => Err(format!("{e}\n--- daemon log ---\n{}", daemon.log())),
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

    /// Sends SIGTERM (through kill(1): these tests hold no unsafe code) and waits up to `limit`
    /// for the daemon to exit; `None` if it is still running then.
    pub(crate) fn terminate(&mut self, limit: Duration) -> Option<ExitStatus> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(
            sent.as_ref().is_ok_and(|s| s.success()),
            "kill -TERM {pid} failed: {sent:?}"
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

/// `GET path` over HTTP/1.1; returns the status code and the body.
pub(crate) fn http_get(
    addr: SocketAddr,
    path: &str,
    timeout: Duration,
) -> io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| io::Error::other(format!("no HTTP status line in {head:?}")))?;
    let chunked = head
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("transfer-encoding:") && l.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok((code, body))
}

/// Joins the chunks of a chunked HTTP body (enough for small test responses).
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(rest.get(..size).unwrap_or_default());
        body = rest
            .get(size..)
            .unwrap_or_default()
            .trim_start_matches("\r\n");
    }
    out
}

/// Sends one OPTIONS over UDP to `target` from an ephemeral loopback port and returns the status
/// code of the first final response (provisional ones are skipped).
pub(crate) fn options_ping(target: SocketAddr, timeout: Duration) -> io::Result<u16> {
    static SEQ: AtomicU32 = AtomicU32::new(1);
    let local_ip = match target {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    };
    let socket = UdpSocket::bind((local_ip, 0))?;
    let local = socket.local_addr()?;
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let id = format!("{}-{n}", std::process::id());
    let request = format!(
        "OPTIONS sip:{target} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-e2e-ping-{id};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:e2e@{local}>;tag=ping{id}\r\n\
         To: <sip:{target}>\r\n\
         Call-ID: ping-{id}@e2e\r\n\
         CSeq: {n} OPTIONS\r\n\
         Accept: application/sdp\r\n\
         Content-Length: 0\r\n\r\n"
    );
    socket.send_to(request.as_bytes(), target)?;
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; 65_535];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no final response"));
        }
        socket.set_read_timeout(Some(left))?;
        let len = socket.recv(&mut buf)?;
        if let Some(code) = status_code(buf.get(..len).unwrap_or_default())
            && code >= 200
        {
            return Ok(code);
        }
    }
}

/// The status code of a SIP response (`SIP/2.0 NNN ...`), or `None` for anything else.
pub(crate) fn status_code(message: &[u8]) -> Option<u16> {
    let line = message.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split_whitespace();
    if !parts.next()?.eq_ignore_ascii_case("SIP/2.0") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

/// True when `sipp` can be run.
pub(crate) fn sipp_installed() -> bool {
    Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Whether a SIPp test can run: true when `sipp` is installed. Otherwise, under CI, the test
/// fails (tests/run installs SIPp, so its absence is a broken set-up); outside CI it prints why
/// it is skipped and returns false.
pub(crate) fn require_sipp(test: &str) -> bool {
    if sipp_installed() {
        return true;
    }
    assert!(
        !in_ci(),
        "{test}: `sipp` is not installed but CI is set; tests/run installs it (apt-get install sip-tester)"
    );
    eprintln!(
        "SKIPPED {test}: `sipp` is not installed (run tests/run, or apt-get install sip-tester)"
    );
    false
}

/// The end of one SIPp run.
#[derive(Debug)]
pub(crate) struct SippRun {
    /// SIPp's exit status (0: every call succeeded; 1: at least one failed), `None` if it was
    /// killed at [`SIPP_WALL_TIMEOUT`].
    pub(crate) status: Option<ExitStatus>,
    /// The command line, for failure messages.
    pub(crate) command: String,
    /// Its screen output, error log and message trace, for failure messages.
    pub(crate) report: String,
}

impl SippRun {
    /// True when SIPp exited 0: every call of the scenario ended as scripted.
    pub(crate) fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

/// SIPp's transport: one UDP socket, or one TCP connection (`-t u1` / `-t t1`; `un`/`tn` abort
/// with a max-sockets error in SIPp 3.6).
#[derive(Debug, Clone, Copy)]
pub(crate) enum SippTransport {
    /// `-t u1`
    Udp,
    /// `-t t1`
    Tcp,
}

/// Runs one SIPp client scenario (`tests/sipp/<scenario>`) against the daemon's SIP listener
/// from a free loopback port: `-m 1` call, `-timeout 20s -timeout_error`, plus `extra`
/// arguments, and a wall-clock bound of [`SIPP_WALL_TIMEOUT`].
pub(crate) fn run_sipp(
    daemon: &Daemon,
    scenario: &str,
    transport: SippTransport,
    extra: &[&str],
) -> SippRun {
    let work = ScratchDir::new("sipp");
    let local_port = free_port(true).to_string();
    let scenario_path = sipp_scenario(scenario);
    let mut args: Vec<String> = vec![
        daemon.sip.to_string(),
        "-sf".into(),
        scenario_path.display().to_string(),
        "-t".into(),
        match transport {
            SippTransport::Udp => "u1".into(),
            SippTransport::Tcp => "t1".into(),
        },
        "-i".into(),
        "127.0.0.1".into(),
        "-p".into(),
        local_port,
        "-m".into(),
        "1".into(),
        "-nostdin".into(),
        "-timeout".into(),
        "20s".into(),
        "-timeout_error".into(),
        "-max_retrans".into(),
        "5".into(),
        "-trace_err".into(),
        "-trace_msg".into(),
    ];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    let command = format!("sipp {}", args.join(" "));
    let screen = work.path().join("screen.txt");
    let out =
        File::create(&screen).unwrap_or_else(|e| panic!("creating {}: {e}", screen.display()));
    let err = out
        .try_clone()
        .unwrap_or_else(|e| panic!("cloning screen file: {e}"));
    let mut child = Command::new("sipp")
        .args(&args)
        .current_dir(work.path())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("spawning `{command}`: {e}"));
    let status = wait_with_deadline(&mut child, SIPP_WALL_TIMEOUT);
    let mut report = String::new();
    let mut files: Vec<PathBuf> = fs::read_dir(work.path())
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    for file in files {
        let text = fs::read(&file).map(|b| String::from_utf8_lossy(&b).into_owned());
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
        report.push_str(&format!(
            "--- {} ---\n{}\n",
            name.unwrap_or_default(),
            tail(&text.unwrap_or_default(), 6000)
        ));
    }
    SippRun {
        status,
        command,
        report,
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
