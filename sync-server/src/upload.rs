//! Resumable evidence uploads, made so that a dropped connection cancels
//! nothing the server has received.
//!
//! Each device uploads the photos it announced itself ([`UploadKey`]): a
//! photo is served through a record only once the record's device has sent
//! every byte of it, even when the server already holds the same bytes from
//! another device (docs/threat-model.md, issue 9 items 3 and 10).
//!
//! A request's bytes are read on a task of their own ([`receive_chunk`]):
//! when the link cuts, hyper drops the handler, but the task keeps the bytes
//! that arrived (a cut chunk counts up to its last byte received; the
//! photo's sha256 checks everything at the end) and, once the last byte of a
//! photo is in, completes it. Completion ([`complete`]) is one step that any
//! later status or upload request, or the server's start, runs again for a
//! photo left with `received == size` but not complete, so no state is stuck.

use crate::blobs::{self, Parts, Verdict};
use crate::error::{payload_too_large, ApiError};
use crate::storage::{UploadKey, UploadProgress};
use crate::AppState;
use axum::body::Body;
use axum::http::StatusCode;
use cdht_core::sync::{EvidenceStatus, MAX_CHUNK_BYTES};
use cdht_core::Code;
use futures_util::StreamExt;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Uploads whose completion is running on this instance: a second request
/// for the same upload waits for the first instead of racing it.
#[derive(Default)]
pub struct Completions {
    running: Mutex<HashSet<UploadKey>>,
    done: tokio::sync::Notify,
}

/// Holds an upload's slot in [`Completions`]; frees it when dropped.
struct Slot {
    completions: Arc<Completions>,
    key: UploadKey,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut running = self
            .completions
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        running.remove(&self.key);
        self.completions.done.notify_waiters();
    }
}

impl Completions {
    async fn slot(self: &Arc<Self>, key: &UploadKey) -> Slot {
        loop {
            let notified = self.done.notified();
            {
                let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
                if running.insert(key.clone()) {
                    return Slot {
                        completions: Arc::clone(self),
                        key: key.clone(),
                    };
                }
            }
            notified.await;
        }
    }
}

pub fn offset_mismatch(received: u64) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, Code::OffsetMismatch { received })
}

fn refused(verdict: Verdict) -> ApiError {
    match verdict {
        Verdict::Ok => ApiError::internal(),
        Verdict::HashMismatch => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, Code::HashMismatch)
        }
        Verdict::NotJpeg => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Code::InvalidEvidence {
                problem: "not_jpeg".to_owned(),
            },
        ),
        Verdict::BadSize => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Code::InvalidEvidence {
                problem: "bad_dimensions".to_owned(),
            },
        ),
    }
}

fn status(sha256: &str, size: u64, received: u64, complete: bool) -> EvidenceStatus {
    EvidenceStatus {
        sha256: sha256.to_owned(),
        size,
        received,
        complete,
    }
}

fn parts_of(key: &UploadKey, progress: &UploadProgress) -> Parts {
    Parts::of(&key.device, &key.sha256, progress.legacy_parts)
}

/// Completes an upload whose bytes are all in: joins and checks them, keeps
/// the photo, marks the upload complete, drops the pieces. Runs on its own
/// task, so the caller going away (a cut connection) does not stop it
/// half-way. Safe to run again at any point: it starts from what is stored.
pub async fn complete(state: &AppState, key: &UploadKey) -> Result<EvidenceStatus, ApiError> {
    let state = state.clone();
    let key = key.clone();
    tokio::spawn(async move { complete_now(&state, &key).await })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "evidence completion task failed");
            ApiError::internal()
        })?
}

async fn complete_now(state: &AppState, key: &UploadKey) -> Result<EvidenceStatus, ApiError> {
    let _slot = state.completions.slot(key).await;
    let k = key.clone();
    let Some(progress) = state.db(move |s| s.upload_progress(&k)).await? else {
        return Err(ApiError::not_found());
    };
    let sha256 = key.sha256.as_str();
    let size = progress.size;
    if progress.complete || progress.received < size {
        return Ok(status(sha256, size, progress.received, progress.complete));
    }
    let parts = parts_of(key, &progress);
    let verdict = blobs::assemble(state.blobs.as_ref(), &parts, sha256, size)
        .await
        .map_err(|e| ApiError::storing("an assembled evidence photo", &e))?;
    let ok = verdict == Verdict::Ok;
    let k = key.clone();
    state.db(move |s| s.upload_finish(&k, ok)).await?;
    // Only once the database agrees: a crash before this leaves pieces that
    // the next completion can use again.
    blobs::delete_parts(state.blobs.as_ref(), &parts).await;
    if ok {
        tracing::info!(sha256, size, device = %key.device, "evidence photo complete");
        Ok(status(sha256, size, size, true))
    } else {
        tracing::warn!(
            sha256,
            ?verdict,
            "evidence photo refused; its upload starts again"
        );
        Err(refused(verdict))
    }
}

/// Reads one chunk's bytes and stores them from `offset`; completes the
/// upload when they are its last. Runs on its own task (see the module
/// doc): the answer is lost with a cut connection, the bytes are not.
pub async fn receive_chunk(
    state: AppState,
    key: UploadKey,
    offset: u64,
    progress: UploadProgress,
    body: Body,
) -> Result<EvidenceStatus, ApiError> {
    tokio::spawn(async move { receive_now(&state, &key, offset, &progress, body).await })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "evidence upload task failed");
            ApiError::internal()
        })?
}

async fn receive_now(
    state: &AppState,
    key: &UploadKey,
    offset: u64,
    progress: &UploadProgress,
    body: Body,
) -> Result<EvidenceStatus, ApiError> {
    let sha256 = key.sha256.as_str();
    let room = progress.size.saturating_sub(offset);
    let mut data = Vec::new();
    let mut cut = false;
    let mut stream = body.into_data_stream();
    while let Some(frame) = stream.next().await {
        match frame {
            Ok(bytes) => {
                if data.len() + bytes.len() > MAX_CHUNK_BYTES {
                    return Err(payload_too_large());
                }
                data.extend_from_slice(&bytes);
            }
            // The connection closed (or timed out) mid-body: keep what came.
            Err(_) => {
                cut = true;
                break;
            }
        }
    }
    let len = data.len() as u64;
    if len == 0 {
        return Err(if cut {
            ApiError::bad_request(Code::BadBody)
        } else {
            out_of_range()
        });
    }
    if len > room {
        return Err(out_of_range());
    }
    let parts = parts_of(key, progress);
    let part = blobs::put_part(state.blobs.as_ref(), &parts, offset, data.into())
        .await
        .map_err(|e| ApiError::storing("an evidence chunk", e.as_ref()))?;
    let k = key.clone();
    let counted = state
        .db(move |s| s.upload_add_chunk(&k, offset, len))
        .await?;
    if !counted {
        // Another request stored this offset first: this piece is surplus.
        blobs::delete_part(state.blobs.as_ref(), &part).await;
        let k = key.clone();
        let now = state.db(move |s| s.upload_progress(&k)).await?;
        return Err(offset_mismatch(now.map_or(0, |p| p.received)));
    }
    if cut {
        tracing::info!(
            sha256,
            offset,
            len,
            "kept the bytes of a cut evidence chunk"
        );
    }
    let received = offset + len;
    if received < progress.size {
        return Ok(status(sha256, progress.size, received, false));
    }
    complete_now(state, key).await
}

fn out_of_range() -> ApiError {
    ApiError::bad_request(Code::ChunkOutOfRange)
}

/// Completes every upload a crash or an older version left with all its
/// bytes but not complete. Run at start-up; errors are logged, each upload
/// is tried again by its device's next status or upload request anyway.
pub async fn repair_stuck(state: &AppState) {
    let stuck = match state.db(|s| s.stuck_uploads()).await {
        Ok(stuck) => stuck,
        Err(e) => {
            tracing::error!(
                code = e.code.as_str(),
                "cannot list unfinished evidence photos"
            );
            return;
        }
    };
    for key in stuck {
        let sha256 = key.sha256.as_str();
        match complete_now(state, &key).await {
            Ok(s) => tracing::info!(sha256, complete = s.complete, "repaired an evidence upload"),
            Err(e) => tracing::warn!(
                sha256,
                code = e.code.as_str(),
                "an evidence upload starts again"
            ),
        }
    }
}
