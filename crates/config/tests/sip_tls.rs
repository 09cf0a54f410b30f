//! `[sip.tls]`: the SIP-over-TLS listener's address and PEM files, and what a mistake gets.

use std::path::Path;

use switchboard_config::{ConfigProblem, parse};

fn problem(text: &str) -> ConfigProblem {
    parse(text, Path::new("t.toml")).unwrap_err().problem
}

#[test]
fn sip_tls_listener_address_and_pem_files_are_read() {
    let config = parse(
        "[sip.tls]\nlisten = \"0.0.0.0:5061\"\ncert = \"sip.pem\"\nkey = \"sip-key.pem\"\n",
        Path::new("t.toml"),
    )
    .unwrap();
    let tls = config.sip.tls.unwrap();
    assert_eq!(tls.listen, "0.0.0.0:5061".parse().unwrap());
    assert_eq!(tls.cert, Path::new("sip.pem"));
    assert_eq!(tls.key, Path::new("sip-key.pem"));
}

#[test]
fn sip_tls_is_off_unless_configured() {
    assert_eq!(parse("", Path::new("t.toml")).unwrap().sip.tls, None);
}

#[test]
fn sip_tls_with_a_bad_address_or_a_missing_file_is_refused() {
    assert!(matches!(
        problem("[sip.tls]\nlisten = \"5061\"\ncert = \"c.pem\"\nkey = \"k.pem\"\n"),
        ConfigProblem::InvalidSocketAddr { key: "listen", .. }
    ));
    assert!(matches!(
        problem("[sip.tls]\nlisten = \"127.0.0.1:5061\"\ncert = \" \"\nkey = \"k.pem\"\n"),
        ConfigProblem::Empty { key: "cert" }
    ));
    let missing = parse(
        "[sip.tls]\nlisten = \"127.0.0.1:5061\"\ncert = \"c.pem\"\n",
        Path::new("t.toml"),
    )
    .unwrap_err();
    assert!(missing.to_string().contains("key"), "{missing}");
}
