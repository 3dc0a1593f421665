//! Client of the CDHT sync protocol (`docs/sync-protocol.md`): enrol by the
//! unit QR, push frozen batches, pull review decisions, upload evidence photos
//! in resumable chunks.
//!
//! Every failure is a [`SyncError`] that says what to do: [`SyncError::is_retry_later`]
//! (no network, 5xx, 429: keep the data, try again) versus a rejection
//! (park the item with its reason) versus an auth failure (ask the person to
//! enrol or log in again; never because the network is down).

use cdht_core::chunking::ChunkSizer;
use cdht_core::ids::DeviceId;
use cdht_core::qr::JoinPayload;
use cdht_core::sync::{
    DeviceOfficerResponse, DeviceScope, EnrolRequest, EnrolResponse, EvidenceQuery,
    EvidenceQueryResponse, EvidenceStatus, LoginRequest, LoginResponse, PullResponse, PushBatch,
    PushResponse, RecordBody, RecordEnvelope, ServerChange, HEALTH_SERVICE, MAX_CHUNK_BYTES,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod error;
mod evidence;
pub(crate) use error::{answer_snippet, error_from_status};
pub use error::{names_unknown_host, Params, SyncError, SyncResult};
pub use evidence::UploadReport;

/// The largest evidence photo [`SyncClient::download_evidence`] accepts
/// (the server's own limit).
pub const MAX_EVIDENCE_DOWNLOAD_BYTES: usize = 10 * 1024 * 1024;

/// How long [`SyncClient::healthz`] waits: a probe on 2G must answer fast or
/// count as "still offline".
pub const HEALTHZ_TIMEOUT: Duration = Duration::from_secs(5);

use cdht_core::digest::is_sha256_hex;

/// Exponential backoff with full jitter, so that 300 phones at one meeting do
/// not retry in lockstep: the one backoff rule of the device, for a request's
/// retries here and for the pauses between sync rounds
/// (`cdht_sync_engine::RetryBackoff`, the app's background loop).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in a row without progress before giving up (the caller's
    /// timer tries again later).
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The longest pause before retry number `attempt` (0-based):
    /// `min(cap, base * 2^attempt)`.
    #[must_use]
    pub fn ceiling(&self, attempt: u32) -> Duration {
        self.base
            .saturating_mul(1u32 << attempt.min(20))
            .min(self.cap)
    }

    /// The pause before retry number `attempt` (0-based): uniform in
    /// `0..=ceiling(attempt)`.
    #[must_use]
    pub fn delay(&self, attempt: u32) -> Duration {
        let millis = u64::try_from(self.ceiling(attempt).as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(0..=millis))
    }
}

/// What this client sent, for progress bars and for tests that prove a
/// resumed upload did not send bytes twice.
#[derive(Debug, Default)]
pub struct Counters {
    pub evidence_bytes_sent: AtomicU64,
    /// Photo chunks put on the wire (each a `PUT`), cut ones included.
    pub evidence_chunks: AtomicU64,
    /// Bytes of JSON request bodies as sent (gzip-compressed once the
    /// server said it reads that).
    pub json_bytes_sent: AtomicU64,
    pub requests: AtomicU64,
    pub retries: AtomicU64,
}

#[derive(Debug, Clone)]
pub struct SyncClient {
    http: reqwest::Client,
    server: String,
    token: Option<String>,
    retry: RetryPolicy,
    /// Evidence chunk sizes, adapted to the link as chunks go through;
    /// shared by the clones of this client (one link).
    chunks: Arc<std::sync::Mutex<ChunkSizer>>,
    counters: Arc<Counters>,
    /// The server said (`Accept-Encoding: gzip` on an answer, RFC 7694) that
    /// it reads gzip request bodies; older servers never say it, so they
    /// keep getting plain JSON. Shared by the clones of this client.
    server_reads_gzip: Arc<std::sync::atomic::AtomicBool>,
}

/// Changes asked for per pull page: the protocol's largest. A collector's
/// first sync of 10,000 people is 40 round trips instead of 100 at the
/// server's default of 200, and a gzipped page of 500 (~31 KB) takes ~2.5 s
/// at 100 kbit/s, about what a photo chunk does (BENCHMARKS.md, "Bad links").
pub const PULL_PAGE: u32 = 500;

/// JSON bodies smaller than this go as they are: gzip would save little.
const GZIP_FROM_BYTES: usize = 1024;

/// The first chunk of a fresh client: 64 KiB takes ~5 s at 100 kbit/s.
const FIRST_CHUNK_BYTES: usize = 64 * 1024;

/// Whether plain HTTP is acceptable for this server URL.
fn plain_http_allowed(server: &str, allowed_lan_hosts: &[String]) -> bool {
    let Some(rest) = server.strip_prefix("http://") else {
        return true; // https (or not a URL at all, which reqwest refuses)
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = if authority.starts_with('[') {
        authority
            .split(']')
            .next()
            .unwrap_or_default()
            .trim_start_matches('[')
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
        || allowed_lan_hosts.iter().any(|h| h == host)
}

impl SyncClient {
    /// A client of `server` (`https://host[/prefix]`). Plain HTTP is refused
    /// except to a loopback address or one of `allowed_lan_hosts`.
    pub fn new(server: &str, allowed_lan_hosts: &[String]) -> SyncResult<Self> {
        Self::with_extra_roots(server, allowed_lan_hosts, &[])
    }

    /// Like [`SyncClient::new`], also trusting the root certificates in each
    /// PEM text of `extra_roots_pem` (a server under a private CA, e.g. a
    /// province's own). The built-in public roots stay trusted. A PEM with no
    /// certificate in it is refused with [`SyncError::Certificate`].
    pub fn with_extra_roots(
        server: &str,
        allowed_lan_hosts: &[String],
        extra_roots_pem: &[&[u8]],
    ) -> SyncResult<Self> {
        let server = server.trim_end_matches('/').to_owned();
        if !plain_http_allowed(&server, allowed_lan_hosts) {
            return Err(SyncError::InsecureServer(server));
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // Generous: a 256 KiB chunk over 2G takes tens of seconds.
            .timeout(Duration::from_secs(120));
        for pem in extra_roots_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| SyncError::Certificate(format!("bad PEM: {e}")))?;
            if certs.is_empty() {
                return Err(SyncError::Certificate(
                    "the PEM text holds no certificate".to_owned(),
                ));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| SyncError::Protocol(e.to_string()))?;
        Ok(Self {
            http,
            server,
            token: None,
            retry: RetryPolicy::default(),
            chunks: Arc::new(std::sync::Mutex::new(ChunkSizer::new(
                FIRST_CHUNK_BYTES,
                MAX_CHUNK_BYTES,
            ))),
            counters: Arc::new(Counters::default()),
            server_reads_gzip: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        })
    }

    #[must_use]
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    #[must_use]
    pub const fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The largest evidence chunk this client sends (at most the protocol's
    /// 256 KiB, the default). Chunks start at 64 KiB (or this, if smaller)
    /// and follow the link: about four seconds of its rate, halved on a cut
    /// (`cdht_core::chunking`).
    #[must_use]
    pub fn with_chunk_size(mut self, max_bytes: usize) -> Self {
        self.chunks = Arc::new(std::sync::Mutex::new(ChunkSizer::new(
            FIRST_CHUNK_BYTES.min(max_bytes),
            max_bytes,
        )));
        self
    }

    fn sizer(&self) -> std::sync::MutexGuard<'_, ChunkSizer> {
        self.chunks.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[must_use]
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    #[must_use]
    pub fn server(&self) -> &str {
        &self.server
    }

    #[must_use]
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server)
    }

    fn authed(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    async fn send<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> SyncResult<T> {
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let response = self
            .authed(req)
            .send()
            .await
            .map_err(|e| SyncError::from_transport(&e))?;
        let status = response.status();
        if response
            .headers()
            .get(reqwest::header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|c| c.trim() == "gzip"))
        {
            self.server_reads_gzip.store(true, Ordering::Relaxed);
        }
        // Reading the body can fail on a cut connection too: that is the network.
        let bytes = response
            .bytes()
            .await
            .map_err(|e| SyncError::from_transport(&e))?;
        if status.is_success() {
            let body = if bytes.is_empty() {
                &b"null"[..]
            } else {
                &bytes[..]
            };
            return serde_json::from_slice(body).map_err(|e| {
                // A success that is not even JSON (a captive page, another web
                // site) is not CDHT; JSON of the wrong shape is a protocol bug.
                if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() {
                    SyncError::NotCdht(format!("HTTP {status}: {}", answer_snippet(body)))
                } else {
                    SyncError::Protocol(e.to_string())
                }
            });
        }
        Err(error_from_status(status.as_u16(), &bytes))
    }

    /// Runs `attempt` until it succeeds, fails for good, or fails
    /// `max_attempts` times in a row with a retry-later error.
    async fn retrying<T, F, Fut>(&self, mut attempt: F) -> SyncResult<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = SyncResult<T>>,
    {
        let mut failures = 0;
        loop {
            match attempt().await {
                Err(e) if e.is_retry_later() && failures + 1 < self.retry.max_attempts => {
                    tokio::time::sleep(self.retry.delay(failures)).await;
                    failures += 1;
                    self.counters.retries.fetch_add(1, Ordering::Relaxed);
                }
                other => return other,
            }
        }
    }

    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> SyncResult<T> {
        self.send(self.http.get(self.url(path))).await
    }

    pub async fn post_json<B: Serialize + Sync, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> SyncResult<T> {
        let json = serde_json::to_vec(body).map_err(|e| SyncError::Protocol(e.to_string()))?;
        let mut req = self
            .http
            .post(self.url(path))
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        let bytes =
            if json.len() >= GZIP_FROM_BYTES && self.server_reads_gzip.load(Ordering::Relaxed) {
                req = req.header(reqwest::header::CONTENT_ENCODING, "gzip");
                gzip(&json)
            } else {
                json
            };
        self.counters
            .json_bytes_sent
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        self.send(req.body(bytes)).await
    }

    /// Enrols this device in the unit of a scanned (or typed) QR payload and
    /// keeps the device token.
    pub async fn enrol(
        &mut self,
        payload: &JoinPayload,
        device_id: DeviceId,
        label: Option<&str>,
    ) -> SyncResult<EnrolResponse> {
        let request = EnrolRequest {
            unit: payload.unit.clone(),
            join_key: payload.join_key.clone(),
            device_id,
            device_label: label.map(str::to_owned),
        };
        let response: EnrolResponse = self
            .retrying(|| self.post_json("/api/v1/enrol", &request))
            .await?;
        self.token = Some(response.token.clone());
        Ok(response)
    }

    /// An officer's password login; keeps the token.
    pub async fn login(&mut self, username: &str, password: &str) -> SyncResult<LoginResponse> {
        let request = LoginRequest {
            username: username.to_owned(),
            password: password.to_owned(),
        };
        let response: LoginResponse = self
            .retrying(|| self.post_json("/api/v1/login", &request))
            .await?;
        self.token = Some(response.token.clone());
        Ok(response)
    }

    /// Binds an officer to this device (device token + the officer's
    /// password): the device becomes a collector device (`unit_records`).
    /// A wrong username or password is `Unauthenticated` with code
    /// `bad_credentials` (not an expired device token); an officer without
    /// `collector` or `admin` over the device's unit is `Forbidden`
    /// (`forbidden_role`).
    pub async fn bind_officer(
        &self,
        username: &str,
        password: &str,
    ) -> SyncResult<DeviceOfficerResponse> {
        let request = LoginRequest {
            username: username.to_owned(),
            password: password.to_owned(),
        };
        self.retrying(|| self.post_json("/api/v1/device/officer", &request))
            .await
    }

    /// Unbinds the officer (the device is `own_records` again).
    pub async fn unbind_officer(&self) -> SyncResult<DeviceOfficerResponse> {
        let answer: Option<DeviceOfficerResponse> = self
            .retrying(|| self.send(self.http.delete(self.url("/api/v1/device/officer"))))
            .await?;
        // An empty answer (204) means the same: nobody is bound.
        Ok(answer.unwrap_or(DeviceOfficerResponse {
            username: None,
            roles: Vec::new(),
            scope: DeviceScope::OwnRecords,
        }))
    }

    /// A tiny `GET /healthz` with a short timeout ([`HEALTHZ_TIMEOUT`]) and no
    /// retry: "is the server reachable now, and is it CDHT?" for a loop that
    /// polls while offline and for a join's check. `Ok` when the answer names
    /// the CDHT service; [`SyncError::NotCdht`] when something else answers;
    /// [`SyncError::NoServer`] when nothing answers at the address.
    pub async fn healthz(&self) -> SyncResult<()> {
        #[derive(serde::Deserialize)]
        struct Health {
            service: Option<String>,
        }
        let response = self
            .http
            .get(self.url("/healthz"))
            .timeout(HEALTHZ_TIMEOUT)
            .send()
            .await
            .map_err(|e| SyncError::from_transport(&e))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| SyncError::from_transport(&e))?;
        if !status.is_success() {
            return Err(error_from_status(status.as_u16(), &bytes));
        }
        match serde_json::from_slice::<Health>(&bytes) {
            Ok(Health { service: Some(s) }) if s == HEALTH_SERVICE => Ok(()),
            _ => Err(SyncError::NotCdht(format!(
                "HTTP {status}: {}",
                answer_snippet(&bytes)
            ))),
        }
    }

    /// Pushes one frozen batch, retrying network and server failures. Safe to
    /// call again with the same batch: the server answers a replay with the
    /// original acks.
    pub async fn push(&self, batch: &PushBatch) -> SyncResult<PushResponse> {
        self.retrying(|| self.post_json("/api/v1/push", batch))
            .await
    }

    /// One page of changes after `since` (the largest page the server
    /// gives, [`PULL_PAGE`]), asking for the optional fields this build knows
    /// (persons' household labels, tombstones of deleted records).
    pub async fn pull(&self, since: u64) -> SyncResult<PullResponse> {
        let path = format!(
            "/api/v1/pull?since={since}&limit={PULL_PAGE}&features={},{}",
            cdht_core::sync::FEATURE_HOUSEHOLD,
            cdht_core::sync::FEATURE_DELETE
        );
        self.retrying(|| self.get_json(&path)).await
    }

    /// Pulls every page since `since`; returns the changes and the new cursor.
    pub async fn pull_all(&self, since: u64) -> SyncResult<(Vec<ServerChange>, u64)> {
        let mut cursor = since;
        let mut all = Vec::new();
        loop {
            let page = self.pull(cursor).await?;
            cursor = page.cursor;
            all.extend(page.changes);
            if !page.more {
                return Ok((all, cursor));
            }
        }
    }
}

/// `bytes` gzip-compressed as a request body is sent (a push of 200 records
/// shrinks to about a sixth). The default level, not the fastest: level 1
/// saves about 1 ms of CPU per push of 200 records but sends about 60 % more
/// bytes, seconds on the 2G links pushes go over (BENCHMARKS.md, issue 17).
#[must_use]
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::default(),
    );
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// Lower-case hex sha256.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    cdht_core::digest::sha256_hex(bytes)
}

/// Wraps a record body with its version and content hash.
#[must_use]
pub fn envelope(body: RecordBody, version: u32) -> RecordEnvelope {
    RecordEnvelope::seal(body, version)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback_or_allowed_lan() {
        assert!(SyncClient::new("https://cdht.example.vn", &[]).is_ok());
        assert!(SyncClient::new("http://127.0.0.1:8080", &[]).is_ok());
        assert!(SyncClient::new("http://localhost:8080/cdht", &[]).is_ok());
        assert!(SyncClient::new("http://[::1]:8080", &[]).is_ok());
        assert!(matches!(
            SyncClient::new("http://192.168.1.10:8080", &[]),
            Err(SyncError::InsecureServer(_))
        ));
        assert!(SyncClient::new("http://192.168.1.10:8080", &["192.168.1.10".into()]).is_ok());
        assert!(matches!(
            SyncClient::new("http://cdht.example.vn", &[]),
            Err(SyncError::InsecureServer(_))
        ));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        };
        for attempt in 0..30 {
            let d = p.delay(attempt);
            let ceiling = Duration::from_millis(100 * (1 << attempt.min(20))).min(p.cap);
            assert!(d <= ceiling, "{attempt}: {d:?}");
        }
    }
}
