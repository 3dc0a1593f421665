#![allow(clippy::unwrap_used)]
//! Rate limiting by client address, directly or behind a trusted reverse
//! proxy (`--trusted-proxy`): the real server on 127.0.0.1.

mod support;

use serde_json::json;
use support::*;

/// One enrolment with a wrong join key, as if from `forwarded`.
async fn wrong_join(server: &TestServer, forwarded: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/api/v1/enrol", server.url))
        .header("x-forwarded-for", forwarded)
        .json(&json!({
            "unit": "DEMO-X1-C1",
            "join_key": "WRONGKEY22",
            "device_id": cdht_core::ids::DeviceId::new_v7(),
        }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_address_is_limited_apart() {
    let server = start_with(|c| c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    // The proxy appends the address it saw; what the client wrote before it
    // does not count.
    for _ in 0..10 {
        assert_eq!(wrong_join(&server, "10.9.9.9, 198.51.100.1").await, 401);
    }
    assert_eq!(wrong_join(&server, "198.51.100.1").await, 429);
    assert_eq!(wrong_join(&server, "198.51.100.2").await, 401);
    assert_eq!(wrong_join(&server, "198.51.100.1, 198.51.100.3").await, 401);
}

#[tokio::test]
async fn without_the_flag_the_forwarded_header_is_ignored() {
    let server = start().await;
    for i in 0..10 {
        assert_eq!(wrong_join(&server, &format!("198.51.100.{i}")).await, 401);
    }
    // Another forwarded address changes nothing: the peer is what counts.
    assert_eq!(wrong_join(&server, "203.0.113.7").await, 429);
}
