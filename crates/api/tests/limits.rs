//! Requests a hostile or broken client might send: oversize messages are refused before they
//! are decoded, and bearer values that are not a configured secret never authenticate.

mod common;

use common::*;
use switchboard_api::pb::call_service_client::CallServiceClient;
use switchboard_api::{MAX_REQUEST_BYTES, pb};
use tonic::Code;

#[tokio::test]
async fn a_request_over_the_size_limit_is_refused_and_the_connection_keeps_serving() {
    let server = start().await;
    let channel = server.channel().await;
    let mut calls = CallServiceClient::with_interceptor(channel, bearer(ADMIN_TOKEN));
    let huge = calls
        .get_call(pb::GetCallRequest {
            name: format!("calls/{}", "x".repeat(MAX_REQUEST_BYTES)),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(huge.code(), Code::OutOfRange | Code::ResourceExhausted),
        "{huge:?}"
    );
    // The same client, a normal request: answered on its merits.
    let normal = calls
        .get_call(pb::GetCallRequest {
            name: "calls/nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(normal.code(), Code::NotFound, "{normal:?}");
}

#[tokio::test]
async fn bearer_values_that_are_not_a_configured_secret_are_unauthenticated() {
    let server = start().await;
    let channel = server.channel().await;
    let near_misses = [
        // (A trailing space is not a near miss: HTTP trims field values, RFC 9110 §5.5.)
        format!("{ADMIN_TOKEN}x"),
        ADMIN_TOKEN.to_uppercase(),
        ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1].to_owned(),
        "' OR '1'='1".to_owned(),
        "x".repeat(4096),
    ];
    for token in near_misses {
        let status = CallServiceClient::with_interceptor(channel.clone(), bearer(&token))
            .get_call(pb::GetCallRequest {
                name: "calls/nope".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::Unauthenticated,
            "{token:?}: {status:?}"
        );
    }
}
