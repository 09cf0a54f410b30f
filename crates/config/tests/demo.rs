//! The shipped `config/switchboard.toml` loads, with the values end-to-end tests rely on.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use switchboard_config::{Config, SkillLevel, Strategy, Target};

fn demo() -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/switchboard.toml");
    switchboard_config::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn level(n: u8) -> SkillLevel {
    SkillLevel::new(n).unwrap()
}

#[test]
fn demo_listens_on_loopback_defaults() {
    let config = demo();
    let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
    assert_eq!(config.server.sip_listen, addr("127.0.0.1:5060"));
    assert_eq!(config.server.grpc_listen, addr("127.0.0.1:50051"));
    assert_eq!(config.server.http_listen, addr("127.0.0.1:9464"));
    assert_eq!(config.server.data_dir, PathBuf::from("./data"));
    assert_eq!(config.sip.realm, "switchboard");
}

#[test]
fn demo_has_ten_agents_with_secret_passwords_and_split_skills() {
    let config = demo();
    assert_eq!(config.agents().len(), 10);
    for n in 1001..=1010 {
        let agent = config.agent(&n.to_string()).unwrap();
        assert_eq!(agent.password.expose(), "secret");
        assert!(agent.login_on_register);
        assert_eq!(agent.contact, None);
        let (support, sales) = if n <= 1005 { (5, 2) } else { (1, 5) };
        assert_eq!(
            agent.skills.get("support"),
            Some(&level(support)),
            "agent {n}"
        );
        assert_eq!(agent.skills.get("sales"), Some(&level(sales)), "agent {n}");
        assert_eq!(agent.skills.len(), 2);
    }
}

#[test]
fn demo_trunk_admits_all_of_loopback_only() {
    let config = demo();
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(config.trunk_for(ip("127.0.0.1")).unwrap().name, "loopback");
    assert_eq!(
        config.trunk_for(ip("127.255.1.2")).unwrap().name,
        "loopback"
    );
    assert!(config.trunk_for(ip("10.0.0.1")).is_none());
    assert!(config.trunk_for(ip("::1")).is_none());
}

#[test]
fn demo_routes_200_to_ivr_201_to_support_202_to_sales() {
    let config = demo();
    let target = |dnis| config.route(dnis).map(|route| route.target.clone());
    assert_eq!(target("200"), Some(Target::Ivr("main".into())));
    assert_eq!(target("201"), Some(Target::Queue("support".into())));
    assert_eq!(target("202"), Some(Target::Queue("sales".into())));
    assert_eq!(
        target("203"),
        Some(Target::Uri(
            switchboard_config::SipUri::parse("sip:5551203@127.0.0.1:5070").unwrap()
        ))
    );
    assert_eq!(target("204"), None);
    assert!(config.ivr_flow("main").is_some());
}

#[test]
fn demo_dials_out_through_the_loopback_trunk() {
    let config = demo();
    let trunk = config.default_outbound_trunk().expect("an outbound trunk");
    assert_eq!(trunk.name, "loopback");
    let outbound = trunk.outbound.as_ref().unwrap();
    assert_eq!(outbound.proxy, "127.0.0.1:5070".parse().unwrap());
    assert_eq!(outbound.caller_id.as_deref(), Some("2000"));
    assert!(outbound.credentials.is_none());
    assert_eq!(
        outbound.request_uri("5551234").as_deref(),
        Some("sip:5551234@127.0.0.1:5070")
    );
    assert_eq!(
        outbound.request_uri("sip:bob@192.0.2.1").as_deref(),
        Some("sip:bob@192.0.2.1")
    );
    assert_eq!(outbound.request_uri("55+1"), None);
    assert_eq!(outbound.request_uri("bob"), None);
}

#[test]
fn demo_support_queue_settings() {
    let config = demo();
    let queue = config.queue("support").unwrap();
    assert_eq!(queue.strategy, Strategy::LongestIdle);
    assert_eq!(queue.steps.len(), 1);
    assert_eq!(queue.steps[0].requirement.to_string(), "support >= 1");
    assert_eq!(queue.ring_timeout, Duration::from_secs(15));
    assert_eq!(queue.wrap_up, Duration::from_secs(5));
    assert!(queue.record);
    assert!(queue.survey);
    // Every agent has support >= 1.
    assert_eq!(config.agents_for_queue(queue).count(), 10);
}

#[test]
fn demo_sales_queue_settings() {
    let config = demo();
    let queue = config.queue("sales").unwrap();
    assert_eq!(queue.strategy, Strategy::LongestIdle);
    assert_eq!(queue.steps[0].requirement.to_string(), "sales >= 1");
    assert_eq!(queue.wrap_up, Duration::from_secs(5));
    assert!(queue.record);
    assert!(!queue.survey);
    let sales_agents: Vec<_> = config
        .agents_for_queue(queue)
        .map(|agent| agent.id.to_string())
        .collect();
    assert_eq!(sales_agents.len(), 10);
}

#[test]
fn demo_file_states_every_default_it_relies_on() {
    // The demo spells out [sip] and [sip.registrar] with the default values: loading it must
    // give exactly the built-in defaults, so the comments in the file cannot drift from code.
    let config = demo();
    assert_eq!(config.sip, switchboard_config::SipConfig::default());
    assert_eq!(config.server, switchboard_config::ServerConfig::default());
    assert_eq!(config.media, switchboard_config::MediaConfig::default());
}
