//! The real server on 127.0.0.1:0 (temporary data dir, demo tree; shared
//! with the server's tests in `cdht-test-support`) and a device: real store
//! files in a temp dir, collecting offline.
#![allow(clippy::unwrap_used, dead_code, unused_imports)]

use cdht_core::ids::{AssessmentId, CatalogId, GroupId, IndicatorId, PersonId, UnitCode};
use cdht_core::{Answer, AreaType};
use cdht_store::{EvidenceMeta, PersonInput, Store};
use cdht_sync_client::RetryPolicy;
use cdht_sync_engine::ServerConfig;
pub use cdht_test_support::server::{init_demo, stats, TestServer};
pub use cdht_test_support::{photo, INDICATORS};
use std::time::Duration;

pub const UNIT: &str = "DEMO-X1-C1";
pub const REVIEWER: &str = "kiemtra-x1";

/// The shared test server (`cdht-test-support`), its officers' clients
/// retrying as the engine here does ([`fast_retry`]).
pub async fn start() -> TestServer {
    let mut server = cdht_test_support::server::start().await;
    server.retry = fast_retry();
    server
}

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        base: Duration::from_millis(5),
        cap: Duration::from_millis(50),
    }
}

pub fn config() -> ServerConfig {
    ServerConfig {
        request_retry: fast_retry(),
        device_label: Some("test".to_owned()),
        ..ServerConfig::default()
    }
}

/// A person with a full assessment and `photos` photos, submitted: what an
/// officer enters at a household with no connection. Returns the assessment.
pub fn collect(
    store: &mut Store,
    name: &str,
    catalog: &str,
    photos: &[Vec<u8>],
) -> (PersonId, AssessmentId) {
    let person = store
        .upsert_person(&PersonInput {
            full_name: name.to_owned(),
            unit_code: Some(UnitCode::new(UNIT)),
            birth_year: Some(1965),
            household_address: Some("Thôn Đông".to_owned()),
            ..PersonInput::default()
        })
        .unwrap()
        .person_id;
    let assessment = store
        .create_or_get_assessment(
            person,
            2025,
            &CatalogId::new(catalog),
            &GroupId::new("farmers"),
            AreaType::Normal,
        )
        .unwrap()
        .assessment_id;
    for indicator in INDICATORS {
        store
            .set_answer(
                assessment,
                &IndicatorId::new(indicator),
                &Answer::Points(8),
                None,
            )
            .unwrap();
    }
    for bytes in photos {
        store
            .add_evidence(
                assessment,
                &IndicatorId::new("1.1"),
                bytes,
                &EvidenceMeta {
                    mime: "image/jpeg".to_owned(),
                    width_px: Some(1280),
                    height_px: Some(960),
                    taken_at_ms: None,
                },
            )
            .unwrap();
    }
    store.submit_assessment(assessment).unwrap();
    (person, assessment)
}
