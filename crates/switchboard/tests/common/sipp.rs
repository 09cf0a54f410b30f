//! Running SIPp, the real SIP peer, against the daemon: a scenario from `tests/sipp/`, bounded
//! by `-m`, SIPp's own timeout and a wall clock, with its logs kept for failure messages.

use std::fs::{self, File};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use super::{Daemon, ScratchDir, free_port, in_ci, sipp_scenario, tail, wait_with_deadline};

/// Wall-clock bound on one SIPp run, on top of SIPp's own `-timeout`.
pub(crate) const SIPP_WALL_TIMEOUT: Duration = Duration::from_secs(60);

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
    spawn_sipp(daemon, scenario, transport, extra).finish()
}

/// A SIPp client started by [`spawn_sipp`] that the test has not waited for yet (it can drive
/// the call's media meanwhile). Killed on drop.
#[derive(Debug)]
pub(crate) struct SippProcess {
    child: std::process::Child,
    command: String,
    work: ScratchDir,
    started: std::time::Instant,
}

/// Starts what [`run_sipp`] runs, without waiting for it.
pub(crate) fn spawn_sipp(
    daemon: &Daemon,
    scenario: &str,
    transport: SippTransport,
    extra: &[&str],
) -> SippProcess {
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
    let child = Command::new("sipp")
        .args(&args)
        .current_dir(work.path())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("spawning `{command}`: {e}"));
    SippProcess {
        child,
        command,
        work,
        started: std::time::Instant::now(),
    }
}

impl SippProcess {
    /// The directory SIPp runs in (its logs, and files its scenario writes with `<exec>`).
    pub(crate) fn dir(&self) -> &std::path::Path {
        self.work.path()
    }

    /// Waits for SIPp to end (at most [`SIPP_WALL_TIMEOUT`] from its start) and collects its
    /// logs.
    pub(crate) fn finish(mut self) -> SippRun {
        let left = SIPP_WALL_TIMEOUT.saturating_sub(self.started.elapsed());
        let status = wait_with_deadline(&mut self.child, left);
        SippRun {
            status,
            command: self.command.clone(),
            report: logs_of(self.work.path()),
        }
    }
}

impl Drop for SippProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The tails of every file in a SIPp working directory (screen, errors, message trace).
pub(crate) fn logs_of(dir: &std::path::Path) -> String {
    let mut report = String::new();
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
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
    report
}

/// A SIPp agent phone kept running in the background: registers `agent` with scenario
/// `register` (digest, `-au`/`-ap` = agent/secret) and runs `ooc` for every request the daemon
/// starts (`-oocsf`). Its screen and logs go to `dir`; collect them with [`report_of`].
pub(crate) fn spawn_phone(
    daemon: &Daemon,
    dir: &std::path::Path,
    agent: &str,
    register: &str,
    ooc: &str,
) -> std::process::Child {
    let port = free_port(true).to_string();
    let screen = dir.join(format!("screen-{agent}.txt"));
    let out = File::create(&screen).unwrap_or_else(|e| panic!("{}: {e}", screen.display()));
    let err = out
        .try_clone()
        .unwrap_or_else(|e| panic!("cloning screen file: {e}"));
    Command::new("sipp")
        .arg(daemon.sip.to_string())
        .arg("-sf")
        .arg(sipp_scenario(register))
        .arg("-oocsf")
        .arg(sipp_scenario(ooc))
        .args(["-t", "u1", "-i", "127.0.0.1", "-p", &port])
        .args(["-s", agent, "-au", agent, "-ap", "secret", "-m", "1"])
        .args([
            "-nostdin",
            "-timeout",
            "40s",
            "-timeout_error",
            "-trace_err",
            "-trace_msg",
        ])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {agent}'s sipp: {e}"))
}

/// Every file SIPp left in `dir` (screens, error logs, message traces), tails only.
pub(crate) fn report_of(dir: &std::path::Path) -> String {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .map(|file| {
            let text = fs::read(file)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            format!(
                "--- {} ---\n{}\n",
                file.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                tail(&text, 8000)
            )
        })
        .collect()
}

/// A SIPp phone for agent `id` (password `secret`, as in the demo configuration): it
/// registers, stays, and answers the daemon's INVITEs with `answer_scenario` (out-of-call
/// scenario). Returned with its working directory; kill the child when done.
pub(crate) fn spawn_agent_phone(
    daemon: &Daemon,
    id: &str,
    answer_scenario: &str,
) -> (std::process::Child, ScratchDir) {
    let dir = ScratchDir::new("agent-phone");
    let port = free_port(true).to_string();
    let out = File::create(dir.path().join("screen.txt")).expect("agent screen file");
    let err = out.try_clone().expect("clone");
    let child = Command::new("sipp")
        .arg(daemon.sip.to_string())
        .arg("-sf")
        .arg(sipp_scenario("agent_register_stay.xml"))
        .arg("-oocsf")
        .arg(sipp_scenario(answer_scenario))
        .args(["-t", "u1", "-i", "127.0.0.1", "-p", &port])
        .args(["-s", id, "-au", id, "-ap", "secret", "-m", "1"])
        .args(["-nostdin", "-timeout", "40s", "-timeout_error"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("spawning the agent's sipp");
    (child, dir)
}

/// A SIPp phone that never registers (a desk phone behind a PBX, rung at a static device):
/// it answers one daemon INVITE with `answer_scenario` as a UAS on a free loopback port,
/// returned with the child and its working directory.
pub(crate) fn spawn_unregistered_phone(
    answer_scenario: &str,
) -> (std::process::Child, ScratchDir, u16) {
    let dir = ScratchDir::new("device-phone");
    let port = free_port(true);
    let out = File::create(dir.path().join("screen.txt")).expect("device screen file");
    let err = out.try_clone().expect("clone");
    let child = Command::new("sipp")
        .arg("-sf")
        .arg(sipp_scenario(answer_scenario))
        .args([
            "-t",
            "u1",
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-m",
            "1",
        ])
        .args([
            "-nostdin",
            "-timeout",
            "40s",
            "-timeout_error",
            "-trace_err",
        ])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("spawning the device's sipp");
    (child, dir, port)
}

/// Waits (at most 15 s) until the daemon's metrics count `n` registered agents.
pub(crate) fn wait_registered(daemon: &Daemon, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let want = format!("switchboard_agents_registered {n}");
    loop {
        let metrics = super::wire::http_get(daemon.http, "/metrics", Duration::from_secs(2))
            .map(|(_, body)| body)
            .unwrap_or_default();
        if metrics.lines().any(|l| l.trim() == want) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{n} agents never registered"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
