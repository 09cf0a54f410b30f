//! Call-flow helpers shared by the wire tests: SIPp agent phones, the demo configuration with
//! test edits, waiting for registrations, and reading the daemon's CDR and queue_log files.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::sipp::logs_of;
use super::wire::http_get;
use super::{Daemon, ScratchDir, demo_config, free_port, repo_root, sipp_scenario};

/// How long the daemon may take to see an agent registered, and to write a call's records.
pub(crate) const SETTLE: Duration = Duration::from_secs(15);

/// An agent phone process in `dir`: registers `agent` with `register` and runs `ooc` for every
/// INVITE, with `extra` SIPp arguments (`-set name value` for the scenarios' globals).
pub(crate) fn spawn_agent_in(
    daemon: &Daemon,
    dir: &Path,
    agent: &str,
    register: &str,
    ooc: &str,
    extra: &[&str],
) -> Child {
    let port = free_port(true).to_string();
    let screen = dir.join(format!("screen-{agent}.txt"));
    let out = File::create(&screen).expect("agent screen file");
    let err = out.try_clone().expect("clone");
    Command::new("sipp")
        .arg(daemon.sip.to_string())
        .arg("-sf")
        .arg(sipp_scenario(register))
        .arg("-oocsf")
        .arg(sipp_scenario(ooc))
        .args(["-t", "u1", "-i", "127.0.0.1", "-p", &port])
        .args(["-s", agent, "-au", agent, "-ap", "secret", "-m", "1"])
        .args(["-nostdin", "-timeout", "120s", "-trace_err", "-trace_msg"])
        .args(extra)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("spawning an agent's sipp")
}

/// One SIPp agent phone in a directory of its own (so its message trace is its alone); killed
/// on drop.
#[derive(Debug)]
pub(crate) struct AgentPhone {
    child: Child,
    dir: ScratchDir,
    /// The agent id it registers as.
    pub(crate) id: String,
}

impl AgentPhone {
    /// Starts the phone: see [`spawn_agent_in`].
    pub(crate) fn spawn(
        daemon: &Daemon,
        agent: &str,
        register: &str,
        ooc: &str,
        extra: &[&str],
    ) -> Self {
        Self::spawn_in(
            daemon,
            ScratchDir::new(&format!("agent-{agent}")),
            agent,
            register,
            ooc,
            extra,
        )
    }

    /// Starts the phone in `dir`, which it then owns.
    pub(crate) fn spawn_in(
        daemon: &Daemon,
        dir: ScratchDir,
        agent: &str,
        register: &str,
        ooc: &str,
        extra: &[&str],
    ) -> Self {
        let child = spawn_agent_in(daemon, dir.path(), agent, register, ooc, extra);
        Self {
            child,
            dir,
            id: agent.to_string(),
        }
    }

    /// The phone's working directory (files its scenario writes with `<exec>` land here).
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Every SIP message the phone sent and received so far (SIPp's `-trace_msg` log).
    pub(crate) fn messages(&self) -> String {
        fs::read_dir(self.dir.path())
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.to_string_lossy().ends_with("_messages.log"))
                    .map(|p| fs::read_to_string(p).unwrap_or_default())
                    .collect::<String>()
            })
            .unwrap_or_default()
    }

    /// How many SIP requests of `method` the phone received (the trace's `received` blocks).
    pub(crate) fn received(&self, method: &str) -> usize {
        count_received(&self.messages(), method)
    }

    /// The tails of the phone's logs, for failure messages.
    pub(crate) fn report(&self) -> String {
        format!("=== agent {} ===\n{}", self.id, logs_of(self.dir.path()))
    }

    /// Stops the phone now.
    pub(crate) fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for AgentPhone {
    fn drop(&mut self) {
        self.stop();
    }
}

/// In a SIPp `-trace_msg` log, the requests of `method` it received, retransmissions counted
/// once (same Call-ID and CSeq).
pub(crate) fn count_received(messages: &str, method: &str) -> usize {
    let start = format!("{method} sip:");
    let header = |message: &str, name: &str| {
        message
            .lines()
            .find(|l| {
                l.split_once(':')
                    .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            })
            .map(|l| l.trim().to_string())
            .unwrap_or_default()
    };
    received_in_full(messages)
        .iter()
        .filter(|(_, message)| message.starts_with(&start))
        .map(|(_, message)| (header(message, "Call-ID"), header(message, "CSeq")))
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// Every message in a SIPp `-trace_msg` log that SIPp received, as (seconds since midnight of
/// the stamp line before it, the message's first line). SIPp writes a stamp line
/// (`----- 2026-11-23 20:47:42.348856`), `UDP message received [n] bytes :`, a blank line, then
/// the message.
pub(crate) fn received_messages(messages: &str) -> Vec<(f64, String)> {
    received_in_full(messages)
        .into_iter()
        .map(|(at, message)| (at, message.lines().next().unwrap_or_default().to_string()))
        .collect()
}

/// [`received_messages`] with each message whole (its lines up to the next stamp line).
fn received_in_full(messages: &str) -> Vec<(f64, String)> {
    let mut out: Vec<(f64, String)> = Vec::new();
    let mut stamp = 0.0;
    let mut receiving = false;
    let mut inside = false;
    for line in messages.lines() {
        if line.starts_with("-----") {
            stamp = line
                .split_whitespace()
                .nth(2)
                .and_then(|time| {
                    let mut hms = time.split(':').map(|p| p.parse::<f64>().ok());
                    Some(hms.next()?? * 3600.0 + hms.next()?? * 60.0 + hms.next()??)
                })
                .unwrap_or(0.0);
            receiving = false;
            inside = false;
        } else if line.contains("message received") {
            receiving = true;
        } else if line.contains("message sent") {
            receiving = false;
        } else if receiving && !inside && !line.trim().is_empty() {
            out.push((stamp, line.trim().to_string()));
            inside = true;
        } else if inside && let Some((_, message)) = out.last_mut() {
            message.push('\n');
            message.push_str(line.trim());
        }
    }
    out
}

/// Waits until the daemon's metrics show `n` registered agents.
pub(crate) fn wait_registered(daemon: &Daemon, n: usize) {
    let deadline = Instant::now() + SETTLE;
    let want = format!("switchboard_agents_registered {n}");
    loop {
        let metrics = http_get(daemon.http, "/metrics", Duration::from_secs(2))
            .map(|(_, body)| body)
            .unwrap_or_default();
        if metrics.lines().any(|l| l.trim() == want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never saw `{want}`\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The demo configuration with `edits` applied (each `(from, to)` must match), no keep-alive
/// probes (the SIPp agents' out-of-call scenarios expect INVITEs only), written into `dir`
/// next to links to the demo's `ivr/` and `prompts/`.
pub(crate) fn config_with(dir: &Path, edits: &[(&str, &str)]) -> PathBuf {
    let mut text = fs::read_to_string(demo_config())
        .expect("demo config")
        .replace(
            "keepalive_interval_seconds = 30",
            "keepalive_interval_seconds = 0",
        );
    for (from, to) in edits {
        assert!(
            text.contains(from),
            "demo config changed shape: no `{from}`"
        );
        text = text.replace(from, to);
    }
    for sub in ["ivr", "prompts"] {
        std::os::unix::fs::symlink(repo_root().join("config").join(sub), dir.join(sub))
            .expect("linking the demo's flows and prompts");
    }
    let path = dir.join("switchboard.toml");
    fs::write(&path, text).expect("writing the test config");
    path
}

/// The demo configuration with a 1 s wrap-up and a 3 s ring timeout in `sales` and no
/// keep-alive probes.
pub(crate) fn fast_config(dir: &Path) -> PathBuf {
    config_with(
        dir,
        &[(
            "name = \"sales\"\nrequirement = \"sales >= 1\"\nwrap_up_seconds = 5",
            "name = \"sales\"\nrequirement = \"sales >= 1\"\nwrap_up_seconds = 1\nring_timeout_seconds = 3",
        )],
    )
}

/// Starts the daemon with [`config_with`]`(edits)`, or [`fast_config`] when there are none;
/// the returned directory holds the configuration and must outlive the daemon.
pub(crate) fn start_daemon(edits: &[(&str, &str)]) -> (Daemon, ScratchDir) {
    let dir = ScratchDir::new("config");
    let config = if edits.is_empty() {
        fast_config(dir.path())
    } else {
        config_with(dir.path(), edits)
    };
    let daemon = Daemon::start_with(&config, std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    (daemon, dir)
}

/// Reads the daemon's Master.csv and queue_log once `rows` CDRs are there.
pub(crate) fn records(daemon: &Daemon, rows: usize) -> (String, String) {
    let data = daemon.dir().join("data");
    let deadline = Instant::now() + SETTLE;
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
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The queue_log's `(agent, event)` pairs in order.
pub(crate) fn queue_events(queue_log: &str) -> Vec<(String, String)> {
    queue_log
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            Some((f.get(3)?.to_string(), f.get(4)?.to_string()))
        })
        .collect()
}

/// The queue_log lines as `(queue, agent, event)`.
pub(crate) fn queue_lines(queue_log: &str) -> Vec<(String, String, String)> {
    queue_log
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            Some((
                f.get(2)?.to_string(),
                f.get(3)?.to_string(),
                f.get(4)?.to_string(),
            ))
        })
        .collect()
}

/// The unquoted CSV fields of one Master.csv row (no field of ours holds a comma).
pub(crate) fn cdr_fields(row: &str) -> Vec<String> {
    row.split(',')
        .map(|f| f.trim_matches('"').to_string())
        .collect()
}

/// Polls `path` until it holds a line, then returns it trimmed.
pub(crate) fn wait_for_file(path: &Path, limit: Duration) -> Option<String> {
    let deadline = Instant::now() + limit;
    loop {
        let text = fs::read_to_string(path).unwrap_or_default();
        if text.ends_with('\n') && !text.trim().is_empty() {
            return Some(text.trim().to_string());
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A SIPp caller whose media is the test's own [`RtpPeer`]: the scenario (one of the
/// `caller_media_*` / `caller_info_*` ones) offers the peer's port and writes the daemon's
/// RTP port into a file, which [`MediaCaller::connect_media`] reads.
#[derive(Debug)]
pub(crate) struct MediaCaller {
    /// The SIPp process.
    pub(crate) sipp: super::sipp::SippProcess,
    /// The caller's RTP socket.
    pub(crate) rtp: super::rtp::RtpPeer,
    port_file: PathBuf,
    _dir: ScratchDir,
}

impl MediaCaller {
    /// Dials `dnis` with `scenario` plus `extra` SIPp arguments.
    pub(crate) fn dial(daemon: &Daemon, scenario: &str, dnis: &str, extra: &[&str]) -> Self {
        let dir = ScratchDir::new("caller-media");
        let rtp = super::rtp::RtpPeer::bind();
        let port_file = dir.path().join("daemon-rtp-port");
        let rtp_port = rtp.port().to_string();
        let port_path = port_file.display().to_string();
        let mut args = vec![
            "-s",
            dnis,
            "-timeout",
            "40s",
            "-set",
            "rtp_port",
            &rtp_port,
            "-set",
            "port_file",
            &port_path,
        ];
        args.extend_from_slice(extra);
        let sipp =
            super::sipp::spawn_sipp(daemon, scenario, super::sipp::SippTransport::Udp, &args);
        Self {
            sipp,
            rtp,
            port_file,
            _dir: dir,
        }
    }

    /// Waits for the daemon's answer and aims the RTP socket at the daemon's leg.
    pub(crate) fn connect_media(&self, daemon: &Daemon) {
        assert!(
            self.rtp.remote_from_file(&self.port_file, SETTLE),
            "the caller never got the daemon's SDP\n{}\n{}",
            super::sipp::logs_of(self.sipp.dir()),
            daemon.log()
        );
    }
}

/// An agent phone whose media is the test's own [`RtpPeer`] (scenarios `agent_answer_media.xml`
/// and `agent_hold.xml`).
#[derive(Debug)]
pub(crate) struct MediaAgent {
    /// The SIPp phone.
    pub(crate) phone: AgentPhone,
    /// The agent's RTP socket.
    pub(crate) rtp: super::rtp::RtpPeer,
    port_file: PathBuf,
}

impl MediaAgent {
    /// Registers `agent` and answers INVITEs with `ooc`, talking for `talk_ms`.
    pub(crate) fn spawn(daemon: &Daemon, agent: &str, ooc: &str, talk_ms: u32) -> Self {
        Self::spawn_with(daemon, agent, ooc, talk_ms, &[])
    }

    /// [`MediaAgent::spawn`] with `extra` SIPp arguments (`-set name value`).
    pub(crate) fn spawn_with(
        daemon: &Daemon,
        agent: &str,
        ooc: &str,
        talk_ms: u32,
        extra: &[&str],
    ) -> Self {
        let rtp = super::rtp::RtpPeer::bind();
        let rtp_port = rtp.port().to_string();
        let talk = talk_ms.to_string();
        // The port file lives in the phone's own directory, named before the phone exists.
        let dir = ScratchDir::new(&format!("agent-media-{agent}"));
        let port_file = dir.path().join("daemon-rtp-port");
        let port_path = port_file.display().to_string();
        let phone = AgentPhone::spawn_in(
            daemon,
            dir,
            agent,
            "agent_register_long.xml",
            ooc,
            &[
                &[
                    "-d",
                    talk.as_str(),
                    "-set",
                    "rtp_port",
                    rtp_port.as_str(),
                    "-set",
                    "port_file",
                    port_path.as_str(),
                ][..],
                extra,
            ]
            .concat(),
        );
        Self {
            phone,
            rtp,
            port_file,
        }
    }

    /// Waits for the daemon's INVITE and aims the RTP socket at the daemon's agent leg.
    pub(crate) fn connect_media(&self, daemon: &Daemon) {
        assert!(
            self.rtp.remote_from_file(&self.port_file, SETTLE),
            "the agent never got the daemon's INVITE\n{}\n{}",
            self.phone.report(),
            daemon.log()
        );
    }
}
