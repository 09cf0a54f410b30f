//! `[api]`: tokens with scopes, TLS paths, and the errors an operator gets for mistakes.

use std::path::Path;

use switchboard_config::{ApiScope, ConfigProblem, parse};

fn problem(text: &str) -> ConfigProblem {
    parse(text, Path::new("t.toml")).unwrap_err().problem
}

#[test]
fn tokens_scopes_and_tls_are_read() {
    let config = parse(
        r#"
        [api]
        max_streams = 10
        tls = { cert = "cert.pem", key = "key.pem" }
        [[api.token]]
        name = "crm"
        secret = "0123456789abcdef"
        scopes = ["events:read", "calls:write", "events:read"]
        "#,
        Path::new("t.toml"),
    )
    .unwrap();
    assert_eq!(config.api.max_streams, 10);
    assert_eq!(
        config.api.screen_pop_lead,
        std::time::Duration::from_millis(15),
        "default"
    );
    assert_eq!(
        config.api.screen_pop_max_hold,
        std::time::Duration::from_millis(50),
        "default"
    );
    assert_eq!(config.api.tokens[0].name, "crm");
    assert_eq!(
        config.api.tokens[0].scopes,
        [ApiScope::EventsRead, ApiScope::CallsWrite]
    );
    assert_eq!(config.api.tls.unwrap().key, Path::new("key.pem"));
    assert!(
        !format!("{:?}", config.api.tokens[0]).contains("0123456789abcdef"),
        "secret not logged"
    );
}

#[test]
fn unknown_scope_short_secret_and_duplicates_are_refused() {
    let token = |name: &str, secret: &str, scopes: &str| {
        format!("[[api.token]]\nname = \"{name}\"\nsecret = \"{secret}\"\nscopes = {scopes}\n")
    };
    assert!(matches!(
        problem(&token("a", "0123456789abcdef", r#"["calls:read"]"#)),
        ConfigProblem::UnknownScope { value } if value == "calls:read"
    ));
    assert_eq!(
        problem(&token("a", "short", r#"["admin"]"#)),
        ConfigProblem::WeakSecret { min: 16 }
    );
    assert!(matches!(
        problem(&token("a", "0123456789abcdef", "[]")),
        ConfigProblem::Empty { key: "scopes" }
    ));
    let two = token("a", "0123456789abcdef", r#"["admin"]"#)
        + &token("b", "0123456789abcdef", r#"["admin"]"#);
    assert!(matches!(problem(&two), ConfigProblem::DuplicateSecret { name } if name == "b"));
    let same = token("a", "0123456789abcdef", r#"["admin"]"#)
        + &token("a", "fedcba9876543210", r#"["admin"]"#);
    assert!(matches!(problem(&same), ConfigProblem::Duplicate { .. }));
}

#[test]
fn demo_config_has_one_token_with_every_scope() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/switchboard.toml");
    let config = switchboard_config::load(&path).unwrap();
    assert_eq!(config.api.tokens.len(), 1);
    assert_eq!(config.api.tokens[0].scopes.len(), 4);
}

#[test]
fn screen_pop_lead_and_hold_are_read_and_bounded() {
    let config = parse(
        "[api]\nscreen_pop_lead_ms = 0\nscreen_pop_max_hold_ms = 200\n",
        Path::new("t.toml"),
    )
    .unwrap();
    assert_eq!(config.api.screen_pop_lead, std::time::Duration::ZERO);
    assert_eq!(
        config.api.screen_pop_max_hold,
        std::time::Duration::from_millis(200)
    );
    assert!(matches!(
        problem("[api]\nscreen_pop_max_hold_ms = 9000\n"),
        ConfigProblem::OutOfRange { .. }
    ));
    assert!(matches!(
        problem("[api]\nscreen_pop_lead_ms = -1\n"),
        ConfigProblem::OutOfRange { .. }
    ));
}
