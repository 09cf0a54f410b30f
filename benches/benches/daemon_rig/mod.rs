//! The rig shared by the benches that drive the release daemon over loopback: building it,
//! generating a configuration, starting it on free ports, reading its CPU time and memory from
//! `/proc`, and running SIPp clients and servers beside it, each bounded in time.
#![allow(dead_code, missing_docs, unreachable_pub)]

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A whole number from the environment, or `default`.
pub fn env_u64(name: &str, default: u64) -> Result<u64, String> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("{name}={v:?} is not a whole number")),
        Err(_) => Ok(default),
    }
}

/// A comma-separated list of whole numbers from the environment, or `default`.
pub fn env_list(name: &str, default: &[u64]) -> Vec<u64> {
    std::env::var(name)
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .filter(|v: &Vec<u64>| !v.is_empty())
        .unwrap_or_else(|| default.to_vec())
}

/// False when `cargo bench` was given a filter that does not name `bench` (then the bench
/// should do nothing).
pub fn selected(bench: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    filters.is_empty() || filters.iter().any(|f| bench.contains(f.as_str()))
}

pub fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    root.canonicalize().unwrap_or(root)
}

pub fn scenario(root: &Path, name: &str) -> String {
    root.join("tests/sipp").join(name).display().to_string()
}

pub fn sipp_installed() -> bool {
    Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Builds the release daemon with the same cargo and target dir as this bench and returns the
/// binary's path; `SWITCHBOARD_BIN=/path/to/switchboard` uses that binary instead (no build).
pub fn build_release_daemon(root: &Path) -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("SWITCHBOARD_BIN") {
        let bin = PathBuf::from(bin);
        return if bin.is_file() {
            Ok(bin)
        } else {
            Err(format!("SWITCHBOARD_BIN={} is not a file", bin.display()))
        };
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(["build", "--release", "--bin", "switchboard"])
        .current_dir(root)
        .status()
        .map_err(|e| format!("running {cargo} build: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build --release --bin switchboard: {status}"));
    }
    // A bench runs as <target>/release/deps/NAME-<hash>.
    let exe = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
    let from_exe = exe
        .parent()
        .and_then(Path::parent)
        .map(|release| release.join("switchboard"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("release/switchboard");
    [from_exe, Some(target)]
        .into_iter()
        .flatten()
        .find(|p| p.is_file())
        .ok_or_else(|| "built the daemon but cannot find target/release/switchboard".into())
}

/// A scratch directory removed on drop unless kept.
pub struct Scratch {
    path: PathBuf,
    keep: std::cell::Cell<bool>,
}

impl Scratch {
    pub fn new(label: &str) -> Result<Self, String> {
        let path = std::env::temp_dir().join(format!("switchboard-{label}-{}", std::process::id()));
        fs::create_dir_all(&path).map_err(|e| format!("creating {}: {e}", path.display()))?;
        Ok(Self {
            path,
            keep: std::cell::Cell::new(false),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Leaves the directory in place for inspection; returns its path.
    pub fn keep(&self) -> &Path {
        self.keep.set(true);
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.keep.get() {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// A free loopback port for TCP and (with `udp_too`) UDP.
pub fn free_port(udp_too: bool) -> Result<u16, String> {
    for _ in 0..100 {
        let Ok(tcp) = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)) else {
            continue;
        };
        let Ok(port) = tcp.local_addr().map(|a| a.port()) else {
            continue;
        };
        if !udp_too || UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return Ok(port);
        }
    }
    Err("no free loopback port".into())
}

/// What a generated configuration holds. Agents are `id = 3000 + i` (password `secret`), all
/// with skill `s{q}` level 5 for the queues `q` they serve; queue `q` is `q{q}` with
/// requirement `s{q} >= 1`, reached by DNIS `q{q}`; DNIS `8000` reaches queue `q0` too.
#[derive(Clone, Debug)]
pub struct ConfigSpec {
    pub agents: usize,
    pub queues: usize,
    /// Queues per agent (agent `i` serves queues `i, i+queues/k, …` modulo `queues`).
    pub queues_per_agent: usize,
    pub record: bool,
    pub wrap_up_seconds: u64,
    pub ring_timeout_seconds: u64,
    pub login_on_register: bool,
    pub media_workers: usize,
    pub max_pending_invites: u64,
    pub max_transactions: u64,
    /// Agents with a fixed contact URI (no REGISTER; logged in through the API).
    pub fixed_contact: Option<SocketAddr>,
    /// Agents from this index on are not logged in by REGISTER (`login_on_register = false`:
    /// they log in through the API).
    pub api_login_from: Option<usize>,
    /// When not empty: agents in consecutive groups of these sizes, group `g` serving queue `g`
    /// only (overrides `agents` and `queues_per_agent`).
    pub agent_groups: Vec<usize>,
}

impl Default for ConfigSpec {
    fn default() -> Self {
        Self {
            agents: 10,
            queues: 1,
            queues_per_agent: 1,
            record: true,
            wrap_up_seconds: 0,
            ring_timeout_seconds: 15,
            login_on_register: true,
            media_workers: 1,
            max_pending_invites: 100_000,
            max_transactions: 1_000_000,
            fixed_contact: None,
            api_login_from: None,
            agent_groups: Vec::new(),
        }
    }
}

pub const AGENT_BASE: usize = 3000;
pub const AGENT_PASSWORD: &str = "secret";

pub fn agent_id(i: usize) -> String {
    (AGENT_BASE + i).to_string()
}

/// The configuration text for `spec` (listen addresses come from the command line).
pub fn config_text(spec: &ConfigSpec) -> String {
    let mut t = String::new();
    let _ = write!(
        t,
        "[server]\nlog_level = \"warn\"\n\n[sip]\nmax_pending_invites = {}\nmax_transactions = {}\n\n\
         [sip.registrar]\nmax_expires_seconds = 3600\nkeepalive_interval_seconds = 0\n\
         auth_failures_before_lockout = 0\n\n\
         [media]\nrtp_port_min = 20000\nrtp_port_max = 60000\nworkers = {}\n\
         inactivity_timeout_seconds = 86400\n\n\
         [[trunk]]\nname = \"loopback\"\nsources = [\"127.0.0.0/8\"]\n\n[skills]\n",
        spec.max_pending_invites, spec.max_transactions, spec.media_workers
    );
    for q in 0..spec.queues {
        let _ = writeln!(t, "s{q} = \"queue {q}\"");
    }
    let _ = writeln!(
        t,
        "\n[agents]\nlogin_on_register = {}\n",
        spec.login_on_register
    );
    let stride = (spec.queues / spec.queues_per_agent.max(1)).max(1);
    let group_of: Vec<usize> = spec
        .agent_groups
        .iter()
        .enumerate()
        .flat_map(|(g, &n)| std::iter::repeat_n(g, n))
        .collect();
    let agents = if group_of.is_empty() {
        spec.agents
    } else {
        group_of.len()
    };
    for i in 0..agents {
        let mut skills: Vec<usize> = match group_of.get(i) {
            Some(&g) => vec![g],
            None => (0..spec.queues_per_agent.min(spec.queues))
                .map(|k| (i + k * stride) % spec.queues.max(1))
                .collect(),
        };
        skills.sort_unstable();
        skills.dedup();
        let skills = skills
            .iter()
            .map(|q| format!("s{q} = 5"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = write!(
            t,
            "[[agent]]\nid = \"{}\"\npassword = \"{AGENT_PASSWORD}\"\nskills = {{ {skills} }}\n",
            agent_id(i)
        );
        if spec.api_login_from.is_some_and(|from| i >= from) {
            t.push_str("login_on_register = false\n");
        }
        if let Some(c) = spec.fixed_contact {
            let _ = writeln!(t, "contact = \"sip:{}@{c}\"", agent_id(i));
        }
        t.push('\n');
    }
    for q in 0..spec.queues {
        let _ = write!(
            t,
            "[[queue]]\nname = \"q{q}\"\nrequirement = \"s{q} >= 1\"\nring_timeout_seconds = {}\n\
             wrap_up_seconds = {}\nrecord = {}\n\n[[route]]\ndnis = \"q{q}\"\nqueue = \"q{q}\"\n\n",
            spec.ring_timeout_seconds, spec.wrap_up_seconds, spec.record
        );
    }
    t.push_str("[[route]]\ndnis = \"8000\"\nqueue = \"q0\"\n\n");
    let _ = write!(
        t,
        "[api]\nmax_streams = 256\n\n[[api.token]]\nname = \"bench\"\nsecret = \"{API_TOKEN}\"\n\
         scopes = [\"events:read\", \"calls:write\", \"agents:write\", \"admin\"]\n"
    );
    t
}

pub const API_TOKEN: &str = "bench-token-0123456789";

/// The running daemon: killed and reaped on drop.
pub struct Daemon {
    pub child: Child,
    pub sip: SocketAddr,
    pub grpc: SocketAddr,
    pub http: SocketAddr,
    pub data: PathBuf,
    pub log: PathBuf,
    /// From spawn to /healthz answering 200.
    pub started_in: Duration,
}

impl Daemon {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// User + system CPU seconds so far.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.pid()).unwrap_or(0.0)
    }

    pub fn rss_bytes(&self) -> u64 {
        rss_bytes(self.pid())
    }

    /// One line from `/metrics` starting with `name` (the value), summed over its labels.
    pub fn metric(&self, name: &str) -> Option<f64> {
        let body = http_get(self.http, "/metrics")?;
        let mut sum = None;
        for line in body.lines() {
            if line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let base = key.split('{').next().unwrap_or(key);
            if base == name {
                *sum.get_or_insert(0.0) += value.parse::<f64>().unwrap_or(0.0);
            }
        }
        sum
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `bin` with `config` on free loopback ports and a data dir under `work`; returns
/// once /healthz answers.
pub fn start_daemon(bin: &Path, config: &Path, work: &Path, label: &str) -> Result<Daemon, String> {
    let sip = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port(true)?));
    let http = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port(false)?));
    let grpc = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port(false)?));
    let data = work.join(format!("{label}-data"));
    fs::create_dir_all(&data).map_err(|e| format!("creating {}: {e}", data.display()))?;
    start_daemon_at(bin, config, work, label, sip, grpc, http, data)
}

#[allow(clippy::too_many_arguments)]
pub fn start_daemon_at(
    bin: &Path,
    config: &Path,
    work: &Path,
    label: &str,
    sip: SocketAddr,
    grpc: SocketAddr,
    http: SocketAddr,
    data: PathBuf,
) -> Result<Daemon, String> {
    let log_path = work.join(format!("{label}-switchboard.log"));
    let log = File::create(&log_path).map_err(|e| format!("creating log: {e}"))?;
    let started = Instant::now();
    let child = Command::new(bin)
        .arg("--config")
        .arg(config)
        .args(["--sip-listen", &sip.to_string()])
        .args(["--grpc-listen", &grpc.to_string()])
        .args(["--http-listen", &http.to_string()])
        .arg("--data-dir")
        .arg(&data)
        // Per-request logging would measure the terminal, not the daemon.
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("starting {}: {e}", bin.display()))?;
    let mut daemon = Daemon {
        child,
        sip,
        grpc,
        http,
        data,
        log: log_path.clone(),
        started_in: Duration::ZERO,
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(Some(status)) = daemon.child.try_wait() {
            let log = fs::read_to_string(&log_path).unwrap_or_default();
            return Err(format!("the daemon exited with {status}:\n{}", tail(&log)));
        }
        if http_get(http, "/healthz").is_some() {
            daemon.started_in = started.elapsed();
            return Ok(daemon);
        }
        if Instant::now() >= deadline {
            return Err("the daemon's /healthz did not answer ok within 120 s".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// GET `path`; the body when the status is 200.
pub fn http_get(http: SocketAddr, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&http, Duration::from_millis(500)).ok()?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {http}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    let _ = stream.read_to_string(&mut raw);
    if raw.split_whitespace().nth(1) != Some("200") {
        return None;
    }
    Some(raw.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned())
}

/// User + system CPU seconds of process `pid` (Linux `/proc`), `None` elsewhere.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux configuration Debian ships.
    Some((utime + stime) / 100.0)
}

/// Resident set size of process `pid`, bytes (0 when unknown).
pub fn rss_bytes(pid: u32) -> u64 {
    let statm = fs::read_to_string(format!("/proc/{pid}/statm")).unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// The machine's 1-minute load average.
pub fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// CPU seconds used by the whole machine (all cores, user + system + …) so far.
pub fn machine_busy_seconds() -> f64 {
    let stat = fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().next() else {
        return 0.0;
    };
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal
    let busy: f64 = v
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, x)| x)
        .sum();
    busy / 100.0
}

pub fn tail(text: &str) -> &str {
    let mut start = text.len().saturating_sub(3000);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text.get(start..).unwrap_or_default()
}

/// True when a UDP socket is bound to 127.0.0.1:`port` (Linux `/proc/net/udp`; elsewhere
/// assumed bound).
pub fn udp_port_bound(port: u16) -> bool {
    let Ok(table) = fs::read_to_string("/proc/net/udp") else {
        return true;
    };
    let wanted = format!("0100007F:{port:04X}");
    table
        .lines()
        .skip(1)
        .any(|l| l.split_whitespace().nth(1) == Some(wanted.as_str()))
}

/// A SIPp process listening on a free loopback port; killed on drop.
pub struct SippServer {
    pub child: Child,
    pub addr: SocketAddr,
    pub screen: PathBuf,
}

impl SippServer {
    /// Starts `sipp ARGS -t u1 -i 127.0.0.1 -p PORT` on a free port and waits for its socket.
    pub fn start(work: &Path, label: &str, args: &[&str]) -> Result<Self, String> {
        Self::start_on(work, label, args, free_port(true)?)
    }

    /// The same on `port`.
    pub fn start_on(work: &Path, label: &str, args: &[&str], port: u16) -> Result<Self, String> {
        let screen_path = work.join(format!("{label}.txt"));
        let screen =
            File::create(&screen_path).map_err(|e| format!("creating screen file: {e}"))?;
        let child = Command::new("sipp")
            .args(args)
            .args([
                "-t",
                "u1",
                "-i",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-nostdin",
            ])
            .current_dir(work)
            .stdin(Stdio::null())
            .stdout(screen)
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting sipp {label}: {e}"))?;
        let mut server = Self {
            child,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            screen: screen_path,
        };
        // Ready once its UDP socket is bound (probing by binding would race with SIPp).
        let deadline = Instant::now() + Duration::from_secs(10);
        while !udp_port_bound(port) {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("sipp {label} exited with {status}"));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "sipp {label} did not bind {} within 10 s",
                    server.addr
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(server)
    }

    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.child.id()).unwrap_or(0.0)
    }
}

impl Drop for SippServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One SIPp client run's counters.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub succeeded: u64,
    pub failed: u64,
    pub elapsed: Duration,
    pub screen: PathBuf,
    /// The `-trace_stat` CSV, for response-time columns.
    pub stats: PathBuf,
}

impl RunResult {
    /// SIPp's last per-message table, read back from the run's screen output.
    pub fn message_table(&self) -> String {
        let text = fs::read_to_string(&self.screen).unwrap_or_default();
        let Some(start) = text.rfind("Messages  Retrans") else {
            return "(no message table in SIPp's output)".into();
        };
        let block = text.get(start..).unwrap_or_default();
        block
            .lines()
            .take_while(|l| !l.starts_with("---"))
            .map(|l| format!("  {}", l.trim_end()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn rate(&self) -> f64 {
        self.succeeded as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

/// How a SIPp client run is bounded.
#[derive(Clone, Debug)]
pub struct ClientRun<'a> {
    pub label: &'a str,
    pub target: SocketAddr,
    pub args: Vec<String>,
    /// `-r` (calls per second offered).
    pub rate: String,
    /// `-l` (calls in flight at most).
    pub inflight: u64,
    /// `-m` (calls in all).
    pub max_calls: u64,
    /// `-timeout`.
    pub seconds: u64,
}

/// Runs a SIPp client and reads its final counters (from the screen, or the per-second CSV
/// when SIPp had to be killed).
pub fn sipp_client(work: &Path, run: &ClientRun<'_>) -> Result<RunResult, String> {
    let label = run.label;
    let port = free_port(true)?.to_string();
    let screen_path = work.join(format!("{label}-client.txt"));
    let stats_path = work.join(format!("{label}-stats.csv"));
    let screen = File::create(&screen_path).map_err(|e| format!("creating screen file: {e}"))?;
    let timeout = format!("{}s", run.seconds);
    let started = Instant::now();
    let mut child = Command::new("sipp")
        .arg(run.target.to_string())
        .args(&run.args)
        .args(["-t", "u1", "-i", "127.0.0.1", "-p", &port])
        .args([
            "-r",
            &run.rate,
            "-l",
            &run.inflight.to_string(),
            "-m",
            &run.max_calls.to_string(),
        ])
        // -timeout alone does not stop a run with calls in flight; -timeout_error does (exit 255).
        .args([
            "-timeout",
            &timeout,
            "-timeout_error",
            "-recv_timeout",
            "8000",
        ])
        // Statistics every second as CSV too: counters survive a SIPp that has to be killed.
        .arg("-trace_stat")
        .args(["-fd", "1", "-stf"])
        .arg(&stats_path)
        .args(["-nostdin"])
        .current_dir(work)
        .stdin(Stdio::null())
        .stdout(screen)
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting sipp client {label}: {e}"))?;
    let mut limit = Duration::from_secs(run.seconds + 30);
    let mut asked_to_stop = false;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() < limit => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) if !asked_to_stop => {
                // SIPp's soft exit (like pressing q): no new calls, then it prints its counters.
                eprintln!("sipp client {label} overran its time; sending SIGUSR1");
                let _ = Command::new("kill")
                    .args(["-USR1", &child.id().to_string()])
                    .status();
                asked_to_stop = true;
                limit += Duration::from_secs(10);
            }
            _ => {
                eprintln!("sipp client {label} did not stop; killing it");
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
        }
    }
    let elapsed = started.elapsed();
    let text = fs::read_to_string(&screen_path).map_err(|e| format!("reading screen: {e}"))?;
    let stats = fs::read_to_string(&stats_path).unwrap_or_default();
    let counter = |screen_name: &str, csv_name: &str| {
        last_cumulative(&text, screen_name).or_else(|| last_csv_value(&stats, csv_name))
    };
    let (Some(succeeded), Some(failed)) = (
        counter("Successful call", "SuccessfulCall(C)"),
        counter("Failed call", "FailedCall(C)"),
    ) else {
        return Err(format!(
            "no counters in SIPp's output for {label}:\n{}",
            tail(&text)
        ));
    };
    Ok(RunResult {
        succeeded,
        failed,
        elapsed,
        screen: screen_path,
        stats: stats_path,
    })
}

/// The cumulative (last) column of SIPp's statistics line `name`, from its final screen.
pub fn last_cumulative(screen: &str, name: &str) -> Option<u64> {
    screen
        .lines()
        .filter(|l| l.trim_start().starts_with(name))
        .filter_map(|l| l.rsplit('|').next()?.trim().parse().ok())
        .next_back()
}

/// Column `name` of the last row of SIPp's `-trace_stat` CSV (`;`-separated, header first).
pub fn last_csv_value(csv: &str, name: &str) -> Option<u64> {
    let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
    let column = lines.next()?.split(';').position(|h| h == name)?;
    lines
        .next_back()?
        .split(';')
        .nth(column)?
        .trim()
        .parse()
        .ok()
}
