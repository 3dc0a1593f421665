//! The real server on 127.0.0.1:0 (temporary data dir, demo tree) and a
//! device: real store files in a temp dir, collecting offline.
#![allow(clippy::unwrap_used, dead_code)]

use cdht_core::ids::{AssessmentId, CatalogId, GroupId, IndicatorId, PersonId, UnitCode};
use cdht_core::qr::JoinPayload;
use cdht_core::{Answer, AreaType};
use cdht_server::init::DemoTree;
use cdht_server::{AppState, Config};
use cdht_store::{EvidenceMeta, PersonInput, Store};
use cdht_sync_client::{RetryPolicy, SyncClient};
use cdht_sync_engine::ServerConfig;
use std::sync::Arc;
use std::time::Duration;

pub const UNIT: &str = "DEMO-X1-C1";
pub const REVIEWER: &str = "kiemtra-x1";
pub const INDICATORS: [&str; 10] = [
    "1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2",
];

pub struct TestServer {
    pub url: String,
    pub demo: DemoTree,
    pub state: AppState,
    _dir: tempfile::TempDir,
}

pub async fn start() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::open(Config::new(dir.path().to_path_buf())).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let demo = init_demo(&state, &url).await;
    tokio::spawn(cdht_server::serve(state.clone(), listener));
    TestServer {
        url,
        demo,
        state,
        _dir: dir,
    }
}

pub async fn init_demo(state: &AppState, url: &str) -> DemoTree {
    let storage = Arc::clone(&state.storage);
    let public = url.to_owned();
    tokio::task::spawn_blocking(move || {
        cdht_server::init::init_demo(storage.as_ref(), &public).unwrap()
    })
    .await
    .unwrap()
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

impl TestServer {
    pub fn qr(&self, unit: &str) -> String {
        let u = self.demo.units.iter().find(|u| u.code == unit).unwrap();
        u.qr_url.clone()
    }

    pub fn payload(&self, unit: &str) -> JoinPayload {
        JoinPayload::parse(&self.qr(unit)).unwrap()
    }

    pub async fn officer(&self, username: &str) -> SyncClient {
        let password = self
            .demo
            .officers
            .iter()
            .find(|o| o.username == username)
            .unwrap()
            .password
            .clone();
        let mut client = SyncClient::new(&self.url, &[])
            .unwrap()
            .with_retry(fast_retry());
        client.login(username, &password).await.unwrap();
        client
    }

    pub async fn stats(&self) -> cdht_server::storage::Stats {
        stats(&self.state).await
    }
}

pub async fn stats(state: &AppState) -> cdht_server::storage::Stats {
    let storage = Arc::clone(&state.storage);
    tokio::task::spawn_blocking(move || storage.stats().unwrap())
        .await
        .unwrap()
}

/// A fake JPEG (magic bytes, then bytes that differ per seed).
pub fn photo(seed: u64, len: usize) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE0];
    let mut x = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
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
