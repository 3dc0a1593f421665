//! [`SyncEngine`]: enrolment and one sync round.

use crate::credentials;
use crate::error::SyncError;
use cdht_core::ids::UnitCode;
use cdht_core::qr::JoinPayload;
use cdht_core::sync::{AckOutcome, DeviceOfficerResponse, DeviceScope, MAX_RECORDS_PER_BATCH};
use cdht_store::{CheckDepth, DatabaseKey, JoinUnit, Store, StoreError, SyncCredentials, Unit};
use cdht_sync_client::{Counters, RetryPolicy, SyncClient, SyncError as ClientError};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// How to reach the server. The server's address itself comes from the unit
/// QR at enrolment.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// LAN hosts that may be reached over plain HTTP (loopback always may).
    pub allowed_lan_hosts: Vec<String>,
    /// Extra trusted root certificates (PEM texts), for servers under a
    /// private CA. The public roots stay trusted.
    pub extra_roots_pem: Vec<Vec<u8>>,
    /// Shown to officers, e.g. "Điện thoại chị Lan".
    pub device_label: Option<String>,
    /// Retries of one request inside a round (network cuts, 5xx).
    pub request_retry: RetryPolicy,
    /// The largest evidence chunk in bytes (at most 256 KiB); chunks follow
    /// the link below it (`cdht_core::chunking`).
    pub chunk_size: usize,
    /// Records per push batch (at most 200).
    pub max_batch_records: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            allowed_lan_hosts: Vec::new(),
            extra_roots_pem: Vec::new(),
            device_label: None,
            request_retry: RetryPolicy::default(),
            chunk_size: cdht_core::sync::MAX_CHUNK_BYTES,
            max_batch_records: MAX_RECORDS_PER_BATCH,
        }
    }
}

impl ServerConfig {
    /// A client of `server` with these settings (and the device token, when
    /// there is one).
    fn client(&self, server: &str, token: Option<&str>) -> Result<SyncClient, SyncError> {
        let roots: Vec<&[u8]> = self.extra_roots_pem.iter().map(Vec::as_slice).collect();
        let mut client = SyncClient::with_extra_roots(server, &self.allowed_lan_hosts, &roots)?
            .with_retry(self.request_retry)
            .with_chunk_size(self.chunk_size);
        if let Some(token) = token {
            client = client.with_token(token);
        }
        Ok(client)
    }

    /// Whether a CDHT server answers at `server` now (before a join): one
    /// `GET /healthz` with a short timeout. [`SyncError::NotCdht`] when
    /// something else answers, [`SyncError::ServerNotAnswering`] when nothing
    /// does while the network works, [`SyncError::Offline`] when the network
    /// itself is missing or too slow to tell.
    pub async fn check_server(&self, server: &str) -> Result<(), SyncError> {
        Ok(self.client(server, None)?.healthz().await?)
    }
}

/// Where the device is enrolled (never the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    pub server: String,
    pub unit: UnitCode,
    /// What the device pulls: `unit_records` while an officer is bound.
    #[serde(default)]
    pub scope: DeviceScope,
    /// The officer bound to this device, if any.
    #[serde(default)]
    pub officer: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SyncPhase {
    Checking,
    Pushing,
    Uploading,
    Pulling,
    Done,
}

/// For the progress bar: items are records to push plus photos to upload;
/// bytes are photo bytes (those already acknowledged count as done).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncProgress {
    pub phase: SyncPhase,
    pub items_done: u64,
    pub items_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// Something the server refused; records are parked in the store
/// (`Store::open_refusals`) with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedItem {
    /// `person`, `assessment`, `evidence`, or `photo` (an upload).
    pub kind: String,
    pub id: String,
    pub version: u32,
    pub code: Option<String>,
    /// The server's sentence for the person (Vietnamese).
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    /// Records sent in batches the server answered.
    pub pushed: usize,
    pub batches: usize,
    /// Accepted, already had or superseded.
    pub acked: usize,
    pub rejected: Vec<RejectedItem>,
    pub photos_uploaded: usize,
    /// Photo bytes put on the wire in this round.
    pub uploaded_bytes: u64,
    /// Photos the server does not expect (their evidence record was rejected).
    pub photos_skipped: usize,
    pub pulled_changes: usize,
    pub applied_changes: usize,
    /// From the self-check: outbox rows a kill left in `sent`, back to pending.
    pub outbox_reset: usize,
    /// From the self-check: evidence whose photo file is missing or damaged
    /// (the person must retake it; `Store::self_check` lists them).
    pub broken_evidence: usize,
}

pub struct SyncEngine {
    store: Store,
    config: ServerConfig,
    creds: Option<SyncCredentials>,
    client: Option<SyncClient>,
}

impl std::fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncEngine")
            .field("store", &self.store)
            .field("enrolment", &self.enrolment())
            .finish_non_exhaustive()
    }
}

pub(crate) fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The number in the server's `seq_out_of_order` message ("… lớn hơn 7 …").
fn last_number(text: &str) -> Option<u64> {
    text.split(|c: char| !c.is_ascii_digit())
        .rfind(|s| !s.is_empty())
        .and_then(|s| s.parse().ok())
}

pub(crate) struct Tracker<F: FnMut(SyncProgress)> {
    pub(crate) progress: SyncProgress,
    notify: F,
}

impl<F: FnMut(SyncProgress)> Tracker<F> {
    pub(crate) fn emit(&mut self) {
        (self.notify)(self.progress);
    }
    fn phase(&mut self, phase: SyncPhase) {
        self.progress.phase = phase;
        self.emit();
    }
}

impl SyncEngine {
    /// Opens the store in `data_dir` with the database key (its own
    /// connection; the UI may hold another) and the saved enrolment, if any.
    pub fn open(
        data_dir: impl AsRef<Path>,
        key: &DatabaseKey,
        config: ServerConfig,
    ) -> Result<Self, SyncError> {
        Self::new(Store::open(data_dir, key)?, config)
    }

    /// An engine over an open store. The credentials come from the store; an
    /// old `sync-device.json` ([`crate::CREDENTIALS_FILE`]) is moved into it
    /// and deleted.
    pub fn new(mut store: Store, config: ServerConfig) -> Result<Self, SyncError> {
        let creds = credentials::load_or_migrate(&mut store)?;
        let mut engine = Self {
            store,
            config,
            creds: None,
            client: None,
        };
        if let Some(creds) = creds {
            engine.client = Some(engine.make_client(&creds.server_url, Some(&creds.device_token))?);
            engine.creds = Some(creds);
        }
        Ok(engine)
    }

    fn make_client(&self, server: &str, token: Option<&str>) -> Result<SyncClient, SyncError> {
        self.config.client(server, token)
    }

    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    #[must_use]
    pub fn into_store(self) -> Store {
        self.store
    }

    #[must_use]
    pub fn enrolment(&self) -> Option<Enrolment> {
        self.creds.as_ref().map(|c| Enrolment {
            server: c.server_url.clone(),
            unit: c.unit_code.clone(),
            scope: c.scope,
            officer: c.officer_username.clone(),
        })
    }

    /// What this device pulls: `own_records` unless an officer is bound
    /// (also when not enrolled).
    #[must_use]
    pub fn scope(&self) -> DeviceScope {
        self.creds
            .as_ref()
            .map_or(DeviceScope::OwnRecords, |c| c.scope)
    }

    fn enrolled_client(&self) -> Result<SyncClient, SyncError> {
        self.client.clone().ok_or_else(|| SyncError::AuthExpired {
            code: "not_enrolled".to_owned(),
            message: "this device has not joined a unit".to_owned(),
        })
    }

    /// Binds an officer to this device with their username and password: the
    /// device becomes a collector device (`unit_records`) and its next pull
    /// starts over to bring every record of the unit. A wrong password is
    /// [`SyncErrorKind::BadCredentials`](crate::SyncErrorKind), an officer
    /// without the collector role [`SyncErrorKind::ForbiddenRole`](crate::SyncErrorKind).
    pub async fn bind_officer(
        &mut self,
        username: &str,
        password: &str,
    ) -> Result<DeviceOfficerResponse, SyncError> {
        let client = self.enrolled_client()?;
        let response = client.bind_officer(username.trim(), password).await?;
        let officer = response
            .username
            .clone()
            .unwrap_or_else(|| username.trim().to_owned());
        self.set_scope(response.scope, Some(&officer))?;
        Ok(response)
    }

    /// Unbinds the officer (before the tablet is handed on): `own_records`
    /// again. Records already pulled stay on the device.
    pub async fn unbind_officer(&mut self) -> Result<DeviceOfficerResponse, SyncError> {
        let client = self.enrolled_client()?;
        let response = client.unbind_officer().await?;
        self.set_scope(DeviceScope::OwnRecords, None)?;
        Ok(response)
    }

    fn set_scope(&mut self, scope: DeviceScope, officer: Option<&str>) -> Result<(), SyncError> {
        let officer = match scope {
            DeviceScope::OwnRecords => None,
            DeviceScope::UnitRecords => officer,
        };
        self.store.set_sync_scope(scope, officer)?;
        self.creds = self.store.sync_credentials()?;
        Ok(())
    }

    /// Fetches a photo of a pulled record that is not on the device
    /// ([`cdht_store::Evidence::on_device`] false): downloads it, checks its
    /// sha256, writes it into the store's evidence folder and marks it on the
    /// device. Returns the file's path.
    pub async fn fetch_evidence_photo(
        &mut self,
        sha256: &str,
    ) -> Result<std::path::PathBuf, SyncError> {
        // A photo no evidence row names is NotFound before any download; one
        // already here (and intact) costs no transfer on 2G.
        let path = self.store.evidence_path(sha256);
        if self.store.evidence_on_device(sha256)?
            && std::fs::read(&path)
                .is_ok_and(|bytes| cdht_sync_client::sha256_hex(&bytes) == sha256)
        {
            return Ok(path);
        }
        let client = self.enrolled_client()?;
        let bytes = client.download_evidence(sha256).await?;
        Ok(self.store.save_fetched_evidence(sha256, &bytes)?)
    }

    /// Whether the server answers right now: a tiny `GET /healthz` with a
    /// short timeout and no retry. For the app's loop while offline (no OS
    /// signal in Tauri): poll it every ~30 s and sync at once when it is `Ok`.
    /// Not enrolled: [`SyncErrorKind::AuthExpired`](crate::SyncErrorKind).
    pub async fn probe(&self) -> Result<(), SyncError> {
        Ok(self.enrolled_client()?.healthz().await?)
    }

    /// What the client put on the wire since this engine was made (tests,
    /// diagnostics).
    #[must_use]
    pub fn counters(&self) -> Option<&Counters> {
        self.client.as_ref().map(SyncClient::counters)
    }

    /// Enrols in the unit of a scanned QR (its text, a URL) or a typed
    /// server + unit + key ([`JoinPayload::from_typed`] then
    /// [`SyncEngine::enrol`]). Saves the token, joins the unit in the store
    /// and moves the push counter past what the server already applied.
    pub async fn enrol_from_qr(&mut self, qr_text: &str) -> Result<Unit, SyncError> {
        let payload = JoinPayload::parse(qr_text.trim()).map_err(ClientError::from)?;
        self.enrol(&payload).await
    }

    pub async fn enrol(&mut self, payload: &JoinPayload) -> Result<Unit, SyncError> {
        let mut client = self.make_client(&payload.server, None)?;
        // Enrolled on this server already: the server re-enrols a known device
        // id only with its current token (otherwise it answers a new id), so
        // send both and keep the people this device pushed.
        let mut device_id = self.store.device_id();
        if let Some(creds) = self
            .creds
            .as_ref()
            .filter(|c| c.server_url == client.server())
        {
            if let Ok(id) = creds.device_id.parse() {
                device_id = id;
                client = client.with_token(creds.device_token.clone());
            }
        }
        let response = client
            .enrol(payload, device_id, self.config.device_label.as_deref())
            .await?;
        self.store.note_server_push_seq(response.last_push_seq)?;
        let unit = self.store.join_unit(&JoinUnit {
            unit_code: response.unit.code.clone(),
            name: response.unit.name.clone(),
            server_url: client.server().to_owned(),
            // The unit as the server describes it; never the token nor the join key.
            join_payload: serde_json::json!({
                "unit": response.unit,
                "device_id": response.device_id,
                "last_push_seq": response.last_push_seq,
            }),
            area_type: response.unit.area,
        })?;
        // A (re-)enrolment drops any officer binding on the server.
        self.store.save_sync_credentials(&SyncCredentials {
            server_url: client.server().to_owned(),
            unit_code: response.unit.code.clone(),
            device_id: response.device_id.to_string(),
            device_token: response.token,
            scope: DeviceScope::OwnRecords,
            officer_username: None,
            updated_at_ms: 0,
        })?;
        self.creds = self.store.sync_credentials()?;
        self.client = Some(client);
        Ok(unit)
    }

    /// One sync round; see the crate documentation. On an error, everything
    /// done so far is kept (acks, parked records, upload offsets, pull
    /// cursor) and the next round continues from there.
    pub async fn sync_once(
        &mut self,
        progress: impl FnMut(SyncProgress),
    ) -> Result<SyncReport, SyncError> {
        let mut report = SyncReport::default();
        let mut tracker = Tracker {
            progress: SyncProgress {
                phase: SyncPhase::Checking,
                items_done: 0,
                items_total: 0,
                bytes_done: 0,
                bytes_total: 0,
            },
            notify: progress,
        };
        tracker.emit();

        let check = self.store.self_check(CheckDepth::Quick)?;
        if !check.database_ok {
            return Err(SyncError::Store(StoreError::Corrupt(
                check.database_messages.join("; "),
            )));
        }
        report.outbox_reset = check.outbox_reset_to_pending;
        report.broken_evidence = check.broken_evidence.len();

        let (Some(creds), Some(client)) = (self.creds.clone(), self.client.clone()) else {
            return Err(SyncError::AuthExpired {
                code: "not_enrolled".to_owned(),
                message: "this device has not joined a unit".to_owned(),
            });
        };
        let unit = creds.unit_code.clone();

        let to_push = self.store.outbox_pending(usize::MAX >> 1)?.len();
        let uploads = self.store.pending_uploads(usize::MAX >> 1)?;
        tracker.progress.items_total = to_push as u64 + to_u64(uploads.len());
        tracker.progress.bytes_total = uploads.iter().map(|u| u.byte_size).sum();
        tracker.progress.bytes_done = uploads.iter().map(|u| u.bytes_acked).sum();

        tracker.phase(SyncPhase::Pushing);
        self.push_all(&client, &mut report, &mut tracker).await?;

        tracker.phase(SyncPhase::Uploading);
        crate::uploads::upload_all(&mut self.store, &client, &mut report, &mut tracker).await?;

        tracker.phase(SyncPhase::Pulling);
        let mut cursor = self.store.pull_cursor(&unit)?;
        loop {
            let page = client.pull(cursor).await?;
            report.pulled_changes += page.changes.len();
            let outcome = self.store.apply_pull(&unit, &page)?;
            report.applied_changes += outcome.applied;
            cursor = outcome.cursor;
            if !page.more || outcome.deferred {
                break;
            }
        }
        tracker.phase(SyncPhase::Done);
        Ok(report)
    }

    async fn push_all<F: FnMut(SyncProgress)>(
        &mut self,
        client: &SyncClient,
        report: &mut SyncReport,
        tracker: &mut Tracker<F>,
    ) -> Result<(), SyncError> {
        let mut max_records = self
            .config
            .max_batch_records
            .clamp(1, MAX_RECORDS_PER_BATCH);
        let mut resets = 0u32;
        while let Some(frozen) = self.store.open_push_batch(max_records)? {
            let batch = frozen.to_push_batch()?;
            self.store.mark_batch_sent(frozen.batch_id)?;
            let response = match client.push(&batch).await {
                Ok(response) => response,
                Err(ClientError::Conflict {
                    code,
                    message,
                    params,
                }) if code == "seq_out_of_order" && resets < 3 => {
                    // After a reinstall or restore: continue after the server's
                    // number (its param; in the sentence from older servers).
                    resets += 1;
                    let last = params.get("last").and_then(serde_json::Value::as_u64);
                    if let Some(last) = last.or_else(|| last_number(&message)) {
                        self.store.note_server_push_seq(last)?;
                    }
                    self.store.abandon_push_batch(frozen.batch_id)?;
                    continue;
                }
                Err(ClientError::Conflict { code, .. })
                    if code == "batch_conflict" && resets < 3 =>
                {
                    resets += 1;
                    self.store.abandon_push_batch(frozen.batch_id)?;
                    continue;
                }
                Err(ClientError::Rejected { status: 413, .. }) if frozen.entries.len() > 1 => {
                    max_records = (frozen.entries.len() / 2).max(1);
                    self.store.abandon_push_batch(frozen.batch_id)?;
                    continue;
                }
                Err(err) => {
                    self.store
                        .mark_batch_retry(frozen.batch_id, &err.to_string())?;
                    return Err(err.into());
                }
            };
            let outcome = self.store.apply_push_response(&response)?;
            report.batches += 1;
            report.pushed += frozen.entries.len();
            report.acked += outcome.acked;
            for ack in &response.acks {
                if ack.outcome == AckOutcome::Rejected {
                    report.rejected.push(RejectedItem {
                        kind: ack.kind.as_str().to_owned(),
                        id: ack.id.to_string(),
                        version: ack.version,
                        code: ack.code.clone(),
                        reason: ack
                            .message
                            .clone()
                            .or_else(|| ack.code.clone())
                            .unwrap_or_default(),
                    });
                }
            }
            tracker.progress.items_done += to_u64(response.acks.len());
            tracker.emit();
        }
        Ok(())
    }

    /// Records the server refused that still need fixing, with their reasons
    /// (for the screen that lists them; see `Store::open_refusals`).
    pub fn parked(&self, limit: usize) -> Result<Vec<cdht_store::OutboxEntry>, SyncError> {
        Ok(self.store.open_refusals(limit)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_last_applied_seq_from_the_message() {
        assert_eq!(
            last_number("Số thứ tự lô gửi phải lớn hơn 17 (lô cuối máy chủ đã nhận)."),
            Some(17)
        );
        assert_eq!(last_number("không có số"), None);
    }
}
