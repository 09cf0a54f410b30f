//! What a key left out becomes.

use std::path::Path;
use std::time::Duration;

use switchboard_config::{
    DigestAlgorithm, LogLevel, Queue, QueueName, Requirement, ServerConfig, SipConfig, Strategy,
};

fn parse(text: &str) -> switchboard_config::Config {
    switchboard_config::parse(text, Path::new("test.toml")).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn empty_file_is_a_valid_config_with_every_default() {
    let config = parse("");
    assert_eq!(config.server, ServerConfig::default());
    assert_eq!(config.sip, SipConfig::default());
    assert_eq!(config.media, switchboard_config::MediaConfig::default());
    assert!(config.agents().is_empty() && config.queues().is_empty());
    assert!(config.routes().is_empty() && config.trunks().is_empty());
}

#[test]
fn default_values_are_the_documented_ones() {
    let config = parse("");
    assert_eq!(config.server.sip_listen.to_string(), "127.0.0.1:5060");
    assert_eq!(config.server.grpc_listen.to_string(), "127.0.0.1:50051");
    assert_eq!(config.server.http_listen.to_string(), "127.0.0.1:9464");
    assert_eq!(config.server.log_level, LogLevel::Info);
    assert_eq!(config.sip.t1, Duration::from_millis(500));
    assert_eq!(config.sip.t2, Duration::from_secs(4));
    assert_eq!(config.sip.t4, Duration::from_secs(5));
    assert_eq!(config.sip.retry_after, Duration::from_secs(5));
    let registrar = &config.sip.registrar;
    assert_eq!(registrar.min_expires, Duration::from_secs(60));
    assert_eq!(registrar.default_expires, Duration::from_secs(600));
    assert_eq!(registrar.max_expires, Duration::from_secs(3600));
    assert_eq!(registrar.auth_failures_before_lockout, Some(5));
    assert_eq!(registrar.keepalive_interval, Some(Duration::from_secs(30)));
    assert_eq!(
        registrar.digest_algorithms,
        vec![DigestAlgorithm::Md5, DigestAlgorithm::Sha256]
    );
}

#[test]
fn queue_with_only_a_name_takes_every_default_and_any_agent() {
    let config = parse("[[queue]]\nname = \"q\"\n");
    let queue = config.queue("q").unwrap();
    assert_eq!(*queue, Queue::with_defaults(QueueName::from("q")));
    assert_eq!(queue.strategy, Strategy::LongestIdle);
    assert_eq!(queue.ring_timeout, Duration::from_secs(15));
    assert_eq!(queue.wrap_up, Duration::ZERO);
    assert_eq!(queue.max_wait, None);
    assert_eq!(queue.max_length, None);
    assert!(queue.join_when_empty && !queue.leave_when_empty);
    assert_eq!(
        queue.requirement_after(Duration::ZERO),
        &Requirement::Unrestricted
    );
}

#[test]
fn zero_means_off_for_keepalive_lockout_wait_and_length() {
    let config = parse(
        "[sip.registrar]\nkeepalive_interval_seconds = 0\nauth_failures_before_lockout = 0\n\
         [[queue]]\nname = \"q\"\nmax_wait_seconds = 0\nmax_length = 0\nannounce_frequency_seconds = 0\n",
    );
    assert_eq!(config.sip.registrar.keepalive_interval, None);
    assert_eq!(config.sip.registrar.auth_failures_before_lockout, None);
    let queue = config.queue("q").unwrap();
    assert_eq!(
        (queue.max_wait, queue.max_length, queue.announce_frequency),
        (None, None, None)
    );
}

#[test]
fn agent_login_on_register_follows_the_agents_section_unless_overridden() {
    let config = parse(
        "[agents]\nlogin_on_register = false\n\
         [[agent]]\nid = \"a\"\npassword = \"p\"\n\
         [[agent]]\nid = \"b\"\npassword = \"p\"\nlogin_on_register = true\n",
    );
    assert!(!config.agent("a").unwrap().login_on_register);
    assert!(config.agent("b").unwrap().login_on_register);
    assert_eq!(config.agent("a").unwrap().name, "a");
}

#[test]
fn requirement_steps_widen_over_time() {
    let config = parse(
        "[skills]\nsupport = \"\"\n[[queue]]\nname = \"q\"\nrequirement = [\n\
         { skills = \"support >= 4\" },\n{ skills = \"support >= 1\", after_seconds = 30 },\n]\n",
    );
    let queue = config.queue("q").unwrap();
    assert_eq!(queue.steps.len(), 2);
    assert_eq!(
        queue.requirement_after(Duration::from_secs(10)).to_string(),
        "support >= 4"
    );
    assert_eq!(
        queue.requirement_after(Duration::from_secs(30)).to_string(),
        "support >= 1"
    );
}

#[test]
fn overflow_and_ipv6_trunks_and_longest_prefix_win() {
    let config = parse(
        "[[trunk]]\nname = \"wide\"\nsources = [\"10.0.0.0/8\", \"2001:db8::/32\"]\n\
         [[trunk]]\nname = \"narrow\"\nsources = [\"10.1.0.0/16\", \"192.0.2.7\"]\n\
         [[queue]]\nname = \"a\"\nmax_wait_seconds = 60\noverflow = { queue = \"b\" }\n\
         [[queue]]\nname = \"b\"\noverflow = { uri = \"sip:voicemail@192.0.2.20\" }\n",
    );
    let ip = |s: &str| s.parse().unwrap();
    assert_eq!(config.trunk_for(ip("10.2.3.4")).unwrap().name, "wide");
    assert_eq!(config.trunk_for(ip("10.1.3.4")).unwrap().name, "narrow");
    assert_eq!(config.trunk_for(ip("192.0.2.7")).unwrap().name, "narrow");
    assert_eq!(config.trunk_for(ip("2001:db8::5")).unwrap().name, "wide");
    let a = config.queue("a").unwrap();
    assert_eq!(a.max_wait, Some(Duration::from_secs(60)));
    assert_eq!(
        a.overflow,
        Some(switchboard_config::Target::Queue("b".into()))
    );
}
