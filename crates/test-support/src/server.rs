//! The real server on 127.0.0.1:0 with a temporary data directory and the
//! demo tree (units, officers), and the real sync client talking to it.

use cdht_core::ids::DeviceId;
use cdht_core::qr::JoinPayload;
use cdht_server::init::DemoTree;
use cdht_server::{AppState, Config};
use cdht_sync_client::{RetryPolicy, SyncClient};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// A running server; it stops serving when dropped (its task is aborted),
/// and its data directory is removed.
pub struct TestServer {
    pub url: String,
    pub demo: DemoTree,
    pub state: AppState,
    /// The retry policy of the clients made by [`TestServer::device`] and
    /// [`TestServer::officer`] (by default [`fast_retry`]).
    pub retry: RetryPolicy,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The temporary data directory, removed on drop (`None` for [`start_at`]).
    _dir: Option<tempfile::TempDir>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn start() -> TestServer {
    start_with(|_| {}).await
}

/// The server with some settings changed (e.g. trusted proxies).
pub async fn start_with(configure: impl FnOnce(&mut Config)) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_at(dir.path().to_path_buf(), configure).await;
    server._dir = Some(dir);
    server
}

/// The server on a data directory of the caller's (e.g. on a small file
/// system the test made), which it leaves in place.
pub async fn start_at(
    data_dir: std::path::PathBuf,
    configure: impl FnOnce(&mut Config),
) -> TestServer {
    let mut config = Config::new(data_dir);
    configure(&mut config);
    let state = AppState::open(config).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    serving(state, listener, None).await
}

/// The server serving on `listener` (e.g. bound inside a network namespace,
/// [`crate::netns`]), its QR codes pointing at the listener's address.
pub async fn start_on(listener: std::net::TcpListener) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::open(Config::new(dir.path().to_path_buf())).unwrap();
    let listener = TcpListener::from_std(listener).unwrap();
    serving(state, listener, Some(dir)).await
}

/// The demo tree on `state`, its QR codes pointing at `listener`, which then
/// serves it.
async fn serving(
    state: AppState,
    listener: TcpListener,
    dir: Option<tempfile::TempDir>,
) -> TestServer {
    let url = format!("http://{}", listener.local_addr().unwrap());
    let demo = init_demo(&state, &url).await;
    let task = tokio::spawn(cdht_server::serve(state.clone(), listener));
    TestServer {
        url,
        demo,
        state,
        retry: fast_retry(),
        task,
        _dir: dir,
    }
}

/// The demo tree (units with their QR texts, officers with passwords) on
/// `state`, its QR codes pointing at `url`.
pub async fn init_demo(state: &AppState, url: &str) -> DemoTree {
    let storage = Arc::clone(&state.storage);
    let public = url.to_owned();
    tokio::task::spawn_blocking(move || {
        cdht_server::init::init_demo(storage.as_ref(), &public).unwrap()
    })
    .await
    .unwrap()
}

pub async fn stats(state: &AppState) -> cdht_server::storage::Stats {
    let storage = Arc::clone(&state.storage);
    tokio::task::spawn_blocking(move || storage.stats().unwrap())
        .await
        .unwrap()
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
    pub fn qr_url(&self, unit: &str) -> String {
        let u = self.demo.units.iter().find(|u| u.code == unit).unwrap();
        u.qr_url.clone()
    }

    /// The unit's QR text, parsed.
    pub fn qr(&self, unit: &str) -> JoinPayload {
        JoinPayload::parse(&self.qr_url(unit)).unwrap()
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
        let mut client = SyncClient::new(server, &[]).unwrap().with_retry(self.retry);
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

    /// [`TestServer::device`], with the device id the server gave it.
    pub async fn device_and_id(&self, unit: &str) -> (SyncClient, DeviceId) {
        let mut client = SyncClient::new(&self.url, &[])
            .unwrap()
            .with_retry(self.retry);
        let enrolled = client
            .enrol(&self.qr(unit), DeviceId::new_v7(), Some("test"))
            .await
            .unwrap();
        (client, enrolled.device_id)
    }

    pub async fn officer(&self, username: &str) -> SyncClient {
        let mut client = SyncClient::new(&self.url, &[])
            .unwrap()
            .with_retry(self.retry);
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
        stats(&self.state).await
    }
}
