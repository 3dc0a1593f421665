//! The test harness: the real server on 127.0.0.1:0 with a temporary data
//! directory and the demo tree, the real sync client, and a fault-injecting
//! TCP proxy.
#![allow(clippy::unwrap_used, dead_code)]

use cdht_core::ids::{AssessmentId, DeviceId, EvidenceId, IndicatorId, PersonId};
use cdht_core::qr::JoinPayload;
use cdht_core::sync::{
    AssessmentRecord, DeviceState, EvidenceRecord, PersonRecord, PushBatch, RecordBody,
    RecordEnvelope,
};
use cdht_core::{Answer, Answers};
use cdht_server::init::DemoTree;
use cdht_server::{AppState, Config};
use cdht_sync_client::{envelope, RetryPolicy, SyncClient};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct TestServer {
    pub url: String,
    pub demo: DemoTree,
    pub state: AppState,
    _dir: tempfile::TempDir,
}

pub async fn start() -> TestServer {
    start_with(|_| {}).await
}

/// The server with some settings changed (e.g. trusted proxies).
pub async fn start_with(configure: impl FnOnce(&mut Config)) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path().to_path_buf());
    configure(&mut config);
    let state = AppState::open(config).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let storage = Arc::clone(&state.storage);
    let public = url.clone();
    let demo = tokio::task::spawn_blocking(move || {
        cdht_server::init::init_demo(storage.as_ref(), &public).unwrap()
    })
    .await
    .unwrap();
    tokio::spawn(cdht_server::serve(state.clone(), listener));
    TestServer {
        url,
        demo,
        state,
        _dir: dir,
    }
}

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 30,
        base: Duration::from_millis(5),
        cap: Duration::from_millis(100),
    }
}

impl TestServer {
    /// The unit's QR text, as printed on its poster.
    pub fn qr(&self, unit: &str) -> JoinPayload {
        let u = self.demo.units.iter().find(|u| u.code == unit).unwrap();
        JoinPayload::parse(&u.qr_url).unwrap()
    }

    pub fn password(&self, username: &str) -> String {
        self.demo
            .officers
            .iter()
            .find(|o| o.username == username)
            .unwrap()
            .password
            .clone()
    }

    /// A device enrolled in `unit` by scanning its QR, talking to `server`
    /// (the server itself, or a proxy in front of it).
    pub async fn device_via(&self, unit: &str, server: &str) -> SyncClient {
        let mut client = SyncClient::new(server, &[])
            .unwrap()
            .with_retry(fast_retry());
        let mut qr = self.qr(unit);
        qr.server = server.to_owned();
        client
            .enrol(&qr, DeviceId::new_v7(), Some("test"))
            .await
            .unwrap();
        client
    }

    pub async fn device(&self, unit: &str) -> SyncClient {
        self.device_via(unit, &self.url.clone()).await
    }

    pub async fn officer(&self, username: &str) -> SyncClient {
        let mut client = SyncClient::new(&self.url, &[])
            .unwrap()
            .with_retry(fast_retry());
        client
            .login(username, &self.password(username))
            .await
            .unwrap();
        client
    }

    /// Binds an officer to a device (`POST /api/v1/device/officer`): it
    /// becomes a collector device (`unit_records`).
    pub async fn bind(
        &self,
        device: &SyncClient,
        username: &str,
    ) -> cdht_core::sync::DeviceOfficerResponse {
        self.try_bind(device, username, &self.password(username))
            .await
            .unwrap()
    }

    pub async fn try_bind(
        &self,
        device: &SyncClient,
        username: &str,
        password: &str,
    ) -> Result<cdht_core::sync::DeviceOfficerResponse, cdht_sync_client::SyncError> {
        device
            .post_json(
                "/api/v1/device/officer",
                &serde_json::json!({"username": username, "password": password}),
            )
            .await
    }

    /// `DELETE /api/v1/device/officer`.
    pub async fn unbind(&self, device: &SyncClient) -> cdht_core::sync::DeviceOfficerResponse {
        reqwest::Client::new()
            .delete(format!("{}/api/v1/device/officer", self.url))
            .bearer_auth(device.token().unwrap())
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn stats(&self) -> cdht_server::storage::Stats {
        let storage = Arc::clone(&self.state.storage);
        tokio::task::spawn_blocking(move || storage.stats().unwrap())
            .await
            .unwrap()
    }
}

pub fn person(name: &str, cccd: Option<&str>) -> (PersonId, RecordBody) {
    let id = PersonId::new_v7();
    (
        id,
        RecordBody::Person(PersonRecord {
            id,
            full_name: name.to_owned(),
            birth_year: Some(1960),
            cccd: cccd.map(str::to_owned),
            phone: None,
            address: Some("Thôn Đông".to_owned()),
            keep_cccd: false,
        }),
    )
}

pub const INDICATORS: [&str; 10] = [
    "1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2",
];

pub fn assessment(
    id: AssessmentId,
    person: PersonId,
    state: DeviceState,
    points: [i64; 10],
) -> RecordBody {
    RecordBody::Assessment(AssessmentRecord {
        id,
        person,
        year: 2025,
        catalog: "244-2022".into(),
        group: "farmers".into(),
        answers: Answers(
            INDICATORS
                .iter()
                .zip(points)
                .map(|(i, p)| (IndicatorId::new(*i), Answer::Points(p)))
                .collect(),
        ),
        state,
        // A lie: the server must ignore it and score itself.
        device_total: Some(100),
    })
}

pub fn evidence(assessment: AssessmentId, photo: &[u8]) -> RecordBody {
    RecordBody::Evidence(EvidenceRecord {
        id: EvidenceId::new_v7(),
        assessment,
        indicator: IndicatorId::new("1.1"),
        sha256: cdht_sync_client::sha256_hex(photo),
        size: photo.len() as u64,
        content_type: "image/jpeg".into(),
    })
}

/// A fake JPEG: the magic bytes, then bytes that differ per seed.
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

pub fn batch(seq: u64, records: Vec<RecordEnvelope>) -> PushBatch {
    PushBatch {
        batch_id: uuid::Uuid::now_v7(),
        seq,
        records,
    }
}

pub fn v1(body: RecordBody) -> RecordEnvelope {
    envelope(body, 1)
}

/// A TCP proxy that cuts every connection after a byte budget (both
/// directions counted), then, with `every`, grants a new budget: a link that
/// drops again and again. `down` refuses every connection.
pub struct FaultProxy {
    pub url: String,
    budget: Arc<AtomicI64>,
    every: Arc<AtomicI64>,
    pub down: Arc<AtomicBool>,
    pub cuts: Arc<AtomicI64>,
}

impl FaultProxy {
    /// `first_cut`: bytes before the first cut; `every`: bytes between later
    /// cuts (0: no later cuts).
    pub async fn start(upstream: &str, first_cut: i64, every: i64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let proxy = Self {
            url,
            budget: Arc::new(AtomicI64::new(first_cut)),
            every: Arc::new(AtomicI64::new(every)),
            down: Arc::new(AtomicBool::new(false)),
            cuts: Arc::new(AtomicI64::new(0)),
        };
        let (budget, every, down, cuts) = (
            Arc::clone(&proxy.budget),
            Arc::clone(&proxy.every),
            Arc::clone(&proxy.down),
            Arc::clone(&proxy.cuts),
        );
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if down.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                let (budget, every, cuts) =
                    (Arc::clone(&budget), Arc::clone(&every), Arc::clone(&cuts));
                tokio::spawn(pipe(client, server, budget, every, cuts));
            }
        });
        proxy
    }
}

async fn pipe(
    client: TcpStream,
    server: TcpStream,
    budget: Arc<AtomicI64>,
    every: Arc<AtomicI64>,
    cuts: Arc<AtomicI64>,
) {
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let cut = Arc::new(tokio::sync::Notify::new());
    let copy = |mut from: tokio::net::tcp::OwnedReadHalf,
                mut to: tokio::net::tcp::OwnedWriteHalf| {
        let (budget, every, cuts, cut) = (
            Arc::clone(&budget),
            Arc::clone(&every),
            Arc::clone(&cuts),
            Arc::clone(&cut),
        );
        async move {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = tokio::select! {
                    r = from.read(&mut buf) => match r { Ok(0) | Err(_) => return, Ok(n) => n },
                    () = cut.notified() => return,
                };
                let left = budget.fetch_sub(n as i64, Ordering::SeqCst);
                if left < n as i64 {
                    // Forward what the budget allows, then cut the link.
                    let allowed = usize::try_from(left.max(0)).unwrap_or(0);
                    let _ = to.write_all(&buf[..allowed]).await;
                    let next = every.load(Ordering::SeqCst);
                    budget.store(if next > 0 { next } else { i64::MAX }, Ordering::SeqCst);
                    cuts.fetch_add(1, Ordering::SeqCst);
                    cut.notify_waiters();
                    return;
                }
                if to.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    };
    let up = tokio::spawn(copy(cr, sw));
    let downstream = tokio::spawn(copy(sr, cw));
    let _ = up.await;
    cut.notify_waiters();
    let _ = downstream.await;
}
