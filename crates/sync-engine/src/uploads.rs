//! The photo uploads of a round, two photos at a time.
//!
//! One status request covers up to 50 photos; then each photo's chunks go
//! out on a task of its own, at most [`IN_FLIGHT`] photos at once, so that on
//! a link with long round trips one photo's bytes travel while another waits
//! for its answer. The tasks only talk to the server; everything they learn
//! comes back here as events, and this loop alone writes the store (one
//! writer, in order), recording each acknowledged offset as it arrives.

use crate::engine::{to_u64, RejectedItem, SyncProgress, SyncReport, Tracker};
use crate::SyncError;
use cdht_core::sync::EvidenceStatus;
use cdht_store::Store;
use cdht_sync_client::{SyncClient, SyncError as ClientError};
use std::collections::{HashMap, VecDeque};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Photos uploading at once. Two hide most of a round trip behind the
/// other photo's transfer without splitting a thin link further.
pub const IN_FLIGHT: usize = 2;

/// What an upload task tells the loop while it runs.
enum Event {
    /// The server holds `received` bytes of the photo.
    Acked { sha256: String, received: u64 },
    /// Bytes put on the wire (a chunk cut in flight counts).
    Sent(u64),
}

/// How a photo's upload ended.
enum End {
    Complete,
    /// No accepted evidence record names it (its record was rejected).
    Skipped,
    /// The server refused the bytes (`hash_mismatch`, `invalid_evidence`).
    Parked {
        code: String,
        message: String,
    },
}

struct Finished {
    sha256: String,
    size: u64,
    end: Result<End, ClientError>,
}

pub(crate) async fn upload_all<F: FnMut(SyncProgress)>(
    store: &mut Store,
    client: &SyncClient,
    report: &mut SyncReport,
    tracker: &mut Tracker<F>,
) -> Result<(), SyncError> {
    let uploads = store.pending_uploads(usize::MAX >> 1)?;
    for group in uploads.chunks(50) {
        let shas: Vec<String> = group.iter().map(|u| u.sha256.clone()).collect();
        let statuses = client.evidence_status(&shas).await?;
        let mut waiting = VecDeque::new();
        let mut acked = HashMap::new();
        for upload in group {
            match statuses.iter().find(|s| s.sha256 == upload.sha256) {
                Some(status) => {
                    acked.insert(upload.sha256.clone(), upload.bytes_acked);
                    waiting.push_back((upload, status.clone()));
                }
                None => report.photos_skipped += 1,
            }
        }
        let (events, mut incoming) = mpsc::unbounded_channel();
        let mut running = JoinSet::new();
        let mut failure: Option<SyncError> = None;
        loop {
            while running.len() < IN_FLIGHT && failure.is_none() {
                let Some((upload, status)) = waiting.pop_front() else {
                    break;
                };
                match std::fs::read(store.evidence_path(&upload.sha256)) {
                    Ok(bytes) if to_u64(bytes.len()) == upload.byte_size => {
                        running.spawn(send_photo(
                            client.clone(),
                            upload.sha256.clone(),
                            bytes,
                            status,
                            events.clone(),
                        ));
                    }
                    // Missing or damaged: the self-check reports it for the
                    // person to retake.
                    _ => {
                        report.photos_skipped += 1;
                        tracker.progress.items_done += 1;
                        tracker.emit();
                    }
                }
            }
            if running.is_empty() {
                break;
            }
            tokio::select! {
                Some(event) = incoming.recv() => apply(store, &mut acked, event, report, tracker)?,
                Some(joined) = running.join_next() => {
                    // Its last acknowledgements first, in the order sent.
                    while let Ok(event) = incoming.try_recv() {
                        apply(store, &mut acked, event, report, tracker)?;
                    }
                    let finished = joined.map_err(|e| SyncError::Rejected {
                        code: "internal".to_owned(),
                        message: format!("upload task failed: {e}"),
                        params: cdht_sync_client::Params::new(),
                    })?;
                    if let Err(e) = finish(store, &mut acked, finished, report, tracker) {
                        // Let the photo in flight end; start no other.
                        failure.get_or_insert(e);
                    }
                }
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
    }
    Ok(())
}

fn apply<F: FnMut(SyncProgress)>(
    store: &mut Store,
    acked: &mut HashMap<String, u64>,
    event: Event,
    report: &mut SyncReport,
    tracker: &mut Tracker<F>,
) -> Result<(), SyncError> {
    match event {
        Event::Sent(bytes) => report.uploaded_bytes += bytes,
        Event::Acked { sha256, received } => {
            let local = acked.entry(sha256.clone()).or_insert(0);
            if received > *local {
                store.record_upload_progress(&sha256, received)?;
                tracker.progress.bytes_done += received - *local;
                *local = received;
                tracker.emit();
            }
        }
    }
    Ok(())
}

fn finish<F: FnMut(SyncProgress)>(
    store: &mut Store,
    acked: &mut HashMap<String, u64>,
    finished: Finished,
    report: &mut SyncReport,
    tracker: &mut Tracker<F>,
) -> Result<(), SyncError> {
    let Finished { sha256, size, end } = finished;
    match end? {
        End::Complete => {
            store.mark_upload_complete(&sha256)?;
            let local = acked.get(&sha256).copied().unwrap_or(0);
            tracker.progress.bytes_done += size.saturating_sub(local);
            report.photos_uploaded += 1;
        }
        End::Skipped => report.photos_skipped += 1,
        End::Parked { code, message } => {
            // Parked, so it is not sent again every round until the person
            // replaces it; the other photos carry on.
            store.park_upload(&sha256, &code, &message)?;
            report.rejected.push(RejectedItem {
                kind: "photo".to_owned(),
                id: sha256,
                version: 1,
                code: Some(code),
                reason: message,
            });
        }
    }
    tracker.progress.items_done += 1;
    tracker.emit();
    Ok(())
}

/// Sends one photo from where the server stands until it is complete (or
/// refused, or the link fails for good), retrying cut chunks.
async fn send_photo(
    client: SyncClient,
    sha256: String,
    bytes: Vec<u8>,
    mut status: EvidenceStatus,
    events: mpsc::UnboundedSender<Event>,
) -> Finished {
    let size = to_u64(bytes.len());
    let end = send_chunks(&client, &sha256, &bytes, &mut status, &events).await;
    Finished { sha256, size, end }
}

async fn send_chunks(
    client: &SyncClient,
    sha256: &str,
    bytes: &[u8],
    status: &mut EvidenceStatus,
    events: &mpsc::UnboundedSender<Event>,
) -> Result<End, ClientError> {
    let total = to_u64(bytes.len());
    let policy = client.retry_policy();
    let mut failures = 0u32;
    loop {
        if status.complete {
            return Ok(End::Complete);
        }
        if status.size != total || status.received > total {
            return Ok(End::Skipped);
        }
        // Recorded after every chunk: a kill loses at most what was in flight.
        let _ = events.send(Event::Acked {
            sha256: sha256.to_owned(),
            received: status.received,
        });
        let start = status.received;
        let end = (start + to_u64(client.chunk_size())).min(total);
        let chunk = &bytes[usize::try_from(start).unwrap_or(0)..usize::try_from(end).unwrap_or(0)];
        match client.put_evidence_chunk(sha256, start, chunk).await {
            Ok(next) => {
                let _ = events.send(Event::Sent(end - start));
                failures = 0;
                *status = next;
            }
            Err(ClientError::Conflict { code, .. }) if code == "offset_mismatch" => {
                *status = status_of(client, sha256).await?;
            }
            Err(err) if err.is_retry_later() && failures + 1 < policy.max_attempts => {
                let _ = events.send(Event::Sent(end - start));
                tokio::time::sleep(policy.delay(failures)).await;
                failures += 1;
                *status = status_of(client, sha256).await?;
            }
            Err(ClientError::Rejected { code, message, .. }) => {
                return Ok(End::Parked { code, message });
            }
            Err(err) => return Err(err),
        }
    }
}

async fn status_of(client: &SyncClient, sha256: &str) -> Result<EvidenceStatus, ClientError> {
    client
        .evidence_status(&[sha256.to_owned()])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ClientError::Protocol("empty evidence status".to_owned()))
}
