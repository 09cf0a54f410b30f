//! End to end: the real `sbctl` binary against a running daemon (issue 7, "sbctl"): `status`,
//! `agent list`, `queue list`, `call list`, `agent pause --reason`, `reload`, in aligned tables
//! and in `--json` (one object per line); a refusal prints its status and reason and exits
//! non-zero.
//!
//! `sbctl` is another package's binary: `cargo test --workspace` (tests/run, CI) builds it next
//! to `switchboard`; a narrower run that did not build it skips these tests (fails in CI).

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::{Daemon, ScratchDir, in_ci, repo_root};

const DEMO_TOKEN: &str = "demo-token-change-me";

/// `sbctl` beside the daemon's binary, if built.
fn sbctl_binary() -> Option<PathBuf> {
    let daemon = PathBuf::from(env!("CARGO_BIN_EXE_switchboard"));
    let path = daemon.with_file_name("sbctl");
    if path.is_file() {
        return Some(path);
    }
    assert!(
        !in_ci(),
        "sbctl is not built at {}: run the workspace's tests",
        path.display()
    );
    eprintln!("skipped: sbctl not built (cargo build -p sbctl)");
    None
}

fn sbctl(bin: &PathBuf, daemon: &Daemon, args: &[&str]) -> Output {
    Command::new(bin)
        .args(["--server", &format!("http://{}", daemon.grpc)])
        .args(["--token", DEMO_TOKEN])
        .args(args)
        .env_remove("SBCTL_SERVER")
        .env_remove("SBCTL_TOKEN")
        .output()
        .expect("running sbctl")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "sbctl failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn sbctl_reads_and_changes_a_running_daemon_in_tables_and_json() {
    let Some(bin) = sbctl_binary() else { return };
    let dir = ScratchDir::new("sbctl");
    let config = dir.path().join("switchboard.toml");
    std::fs::copy(common::demo_config(), &config).expect("copy config");
    for sibling in ["ivr", "prompts"] {
        let _ = std::os::unix::fs::symlink(
            repo_root().join("config").join(sibling),
            dir.path().join(sibling),
        );
    }
    let daemon = Daemon::start_with(&config, std::net::Ipv4Addr::LOCALHOST.into());
    // The file it reads (the harness may have given it a copy with RTP ports of its own).
    let config = daemon.config_path().to_path_buf();

    let status = ok(&sbctl(&bin, &daemon, &["status"]));
    assert!(status.to_lowercase().contains("digest"), "{status}");
    let status = json_lines(&ok(&sbctl(&bin, &daemon, &["--json", "status"])));
    assert_eq!(status.len(), 1);

    // Agents: a table with aligned columns, then JSON, before and after a pause.
    let table = ok(&sbctl(&bin, &daemon, &["agent", "list"]));
    let mut lines = table.lines();
    let header = lines.next().expect("header");
    assert!(header.starts_with("AGENT"), "{table}");
    let row = lines.next().expect("a row");
    assert!(row.starts_with("1001"), "{table}");
    assert!(row.contains("LOGGED_OUT"), "nobody registered: {row}");
    let paused = ok(&sbctl(
        &bin,
        &daemon,
        &["agent", "pause", "1001", "--reason", "lunch"],
    ));
    assert!(paused.contains("NOT_READY"), "{paused}");
    let agents = json_lines(&ok(&sbctl(&bin, &daemon, &["--json", "agent", "list"])));
    let a1001 = agents
        .iter()
        .find(|a| a["agent"] == "1001")
        .expect("1001 listed");
    assert_eq!(a1001["state"], "AGENT_STATE_NOT_READY", "{a1001}");
    assert_eq!(a1001["reasonCode"], "lunch", "{a1001}");

    let queues = ok(&sbctl(&bin, &daemon, &["queue", "list"]));
    let header = queues.lines().next().expect("header");
    assert!(header.starts_with("QUEUE"), "{queues}");
    assert!(
        queues.lines().any(|l| l.starts_with("support ")),
        "{queues}"
    );
    let queues = json_lines(&ok(&sbctl(&bin, &daemon, &["--json", "queue", "list"])));
    assert!(queues.iter().any(|q| q["queue"] == "sales"), "{queues:?}");

    let calls = ok(&sbctl(&bin, &daemon, &["call", "list"]));
    assert!(calls.lines().count() <= 1, "no calls: {calls}");
    assert!(
        ok(&sbctl(&bin, &daemon, &["--json", "call", "list"]))
            .trim()
            .is_empty()
    );

    // A refusal: status and reason, non-zero exit.
    let missing = sbctl(&bin, &daemon, &["agent", "show", "9999"]);
    assert!(!missing.status.success());
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("AGENT_NOT_FOUND"), "{err}");

    // Reload: unchanged file, then a broken one (refused, non-zero, where it broke).
    let reloaded = ok(&sbctl(&bin, &daemon, &["reload"]));
    assert!(reloaded.contains("unchanged"), "{reloaded}");
    let good = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, format!("{good}\n[[queue]]\nstrategy = 3\n")).expect("write");
    let broken = sbctl(&bin, &daemon, &["reload"]);
    assert!(!broken.status.success());
    let err = String::from_utf8_lossy(&broken.stderr);
    assert!(
        err.contains("CONFIG_INVALID") && err.contains("switchboard.toml:"),
        "{err}"
    );
    std::fs::write(&config, good).expect("restore");
    assert!(ok(&sbctl(&bin, &daemon, &["--json", "reload"])).contains("configDigest"));
}
