//! The processes and small clients the soak drives: the daemon, SIPp agents and callers, an
//! HTTP GET for /healthz and /metrics, free loopback ports, a scratch directory.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The daemon, killed and reaped on drop.
pub(crate) struct Daemon {
    pub(crate) child: Child,
    pub(crate) sip: SocketAddr,
    pub(crate) http: SocketAddr,
    pub(crate) grpc: SocketAddr,
    pub(crate) data: PathBuf,
}

impl Daemon {
    pub(crate) fn start(bin: &Path, config: &Path, work: &Path) -> Result<Self, String> {
        let sip = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port(true)?));
        let http = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port(false)?));
        let grpc = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port(false)?));
        let data = work.join("data");
        fs::create_dir_all(&data).map_err(|e| format!("creating {}: {e}", data.display()))?;
        let log = File::create(work.join("switchboard.log")).map_err(|e| e.to_string())?;
        let child = Command::new(bin)
            .arg("--config")
            .arg(config)
            .args(["--sip-listen", &sip.to_string()])
            .args(["--grpc-listen", &grpc.to_string()])
            .args(["--http-listen", &http.to_string()])
            .arg("--data-dir")
            .arg(&data)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        let mut daemon = Self {
            child,
            sip,
            http,
            grpc,
            data,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = daemon.child.try_wait() {
                return Err(format!("the daemon exited with {status}"));
            }
            if http_get(http, "/healthz").is_some_and(|b| b.trim() == "ok") {
                return Ok(daemon);
            }
            if Instant::now() >= deadline {
                return Err("the daemon's /healthz did not answer within 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A SIPp process killed and reaped on drop; its screen kept for the final counts.
pub(crate) struct Sipp {
    pub(crate) child: Child,
    screen: PathBuf,
}

impl Sipp {
    /// Asks SIPp to stop (SIGUSR1 makes it quit after its calls end; we only wait 10 s).
    pub(crate) fn stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .args(["-USR1", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// (successful, failed) calls from SIPp's final screen.
    pub(crate) fn results(&self) -> (u64, u64) {
        let screen = fs::read_to_string(&self.screen).unwrap_or_default();
        let last = |name: &str| {
            screen
                .lines()
                .filter(|l| l.trim_start().starts_with(name))
                .filter_map(|l| l.rsplit('|').next()?.trim().parse().ok())
                .next_back()
                .unwrap_or(0)
        };
        (last("Successful call"), last("Failed call"))
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn sipp_agent(
    root: &Path,
    daemon: &Daemon,
    work: &Path,
    agent: &str,
    answer: &str,
    seconds: u64,
) -> Result<Sipp, String> {
    let port = free_port(true)?.to_string();
    let stay_ms = ((seconds + 180) * 1000).to_string();
    let screen = work.join(format!("agent-{agent}.txt"));
    let out = File::create(&screen).map_err(|e| e.to_string())?;
    let child = Command::new("sipp")
        .arg(daemon.sip.to_string())
        .arg("-sf")
        .arg(root.join("tests/sipp/soak_agent_register.xml"))
        .arg("-oocsf")
        .arg(root.join("tests/sipp").join(answer))
        .args(["-t", "u1", "-i", "127.0.0.1", "-p", &port])
        .args(["-s", agent, "-au", agent, "-ap", "secret", "-m", "1"])
        .args(["-d", &stay_ms, "-nostdin"])
        .current_dir(work)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("spawning an agent's sipp: {e}"))?;
    Ok(Sipp { child, screen })
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn sipp_caller(
    root: &Path,
    daemon: &Daemon,
    work: &Path,
    label: &str,
    scenario: &str,
    dnis: &str,
    rate: &[&str],
    calls: u64,
    seconds: u64,
) -> Result<Sipp, String> {
    let port = free_port(true)?.to_string();
    let screen = work.join(format!("callers-{label}.txt"));
    let out = File::create(&screen).map_err(|e| e.to_string())?;
    let timeout = format!("{}s", seconds + 120);
    let child = Command::new("sipp")
        .arg(daemon.sip.to_string())
        .arg("-sf")
        .arg(root.join("tests/sipp").join(scenario))
        .args(["-t", "u1", "-i", "127.0.0.1", "-p", &port, "-s", dnis])
        .args(rate)
        .args(["-m", &calls.to_string(), "-l", "40"])
        .args([
            "-timeout",
            &timeout,
            "-nostdin",
            "-max_retrans",
            "5",
            "-trace_err",
        ])
        .current_dir(work)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("spawning the callers' sipp: {e}"))?;
    Ok(Sipp { child, screen })
}

pub(crate) fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    let _ = stream.read_to_string(&mut raw);
    let (head, body) = raw.split_once("\r\n\r\n")?;
    if head.split_whitespace().nth(1) != Some("200") {
        return None;
    }
    // Small bodies; a chunked one is joined without its size lines.
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16).ok()?;
            if size == 0 || after.len() < size {
                break;
            }
            out.push_str(after.get(..size)?);
            rest = after.get(size..)?.trim_start_matches("\r\n");
        }
        return Some(out);
    }
    Some(body.to_owned())
}

pub(crate) fn free_port(udp_too: bool) -> Result<u16, String> {
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

/// A scratch directory removed on drop.
pub(crate) struct Scratch(PathBuf);

impl Scratch {
    pub(crate) fn new() -> Result<Self, String> {
        let path = std::env::temp_dir().join(format!("switchboard-soak-{}", std::process::id()));
        fs::create_dir_all(&path).map_err(|e| format!("creating {}: {e}", path.display()))?;
        Ok(Self(path))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::env::var_os("SOAK_KEEP").is_some() {
            println!("soak: kept {}", self.0.display());
        } else {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}
