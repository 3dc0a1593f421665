#![allow(clippy::unwrap_used)]

mod common;

use cdht_core::ids::IndicatorId;
use cdht_store::{CheckDepth, ErrorKind, FileProblem, OutboxState, RecordKind, Review, Store};
use common::*;
use std::fs;
use std::time::Duration;

fn ind(id: &str) -> IndicatorId {
    IndicatorId::new(id)
}

fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut names = Vec::new();
    for shard in fs::read_dir(dir).unwrap() {
        for file in fs::read_dir(shard.unwrap().path()).unwrap() {
            names.push(file.unwrap().file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    names
}

#[test]
fn a_photo_is_written_whole_and_stored_once() {
    let (dir, mut store, a) = store_with_draft();
    let id = a.assessment_id;
    let photo = fake_jpeg(7, 300_000);
    let first = store
        .add_evidence(id, &ind("1.1"), &photo, &jpeg_meta())
        .unwrap();
    assert_eq!(first.sha256.len(), 64);
    assert_eq!(first.byte_size, photo.len() as u64);
    let path = store.evidence_path(&first.sha256);
    assert_eq!(
        path,
        dir.path()
            .join("evidence")
            .join(&first.sha256[..2])
            .join(format!("{}.jpg", first.sha256))
    );
    assert_eq!(fs::read(&path).unwrap(), photo);
    // No temp file left beside it.
    assert_eq!(
        files_under(&dir.path().join("evidence")),
        [format!("{}.jpg", first.sha256)]
    );
    assert_eq!(store.assessment(id).unwrap().revision, 2);

    // The same photo on the same indicator: the same evidence, no new revision.
    let again = store
        .add_evidence(id, &ind("1.1"), &photo, &jpeg_meta())
        .unwrap();
    assert_eq!(again.evidence_id, first.evidence_id);
    assert_eq!(store.assessment(id).unwrap().revision, 2);

    // On another indicator, and for another person: new rows, still one file.
    let second = store
        .add_evidence(id, &ind("1.3"), &photo, &jpeg_meta())
        .unwrap();
    let other_person = add_person(&mut store, "Đinh Thị Lan");
    let other = draft(&mut store, other_person);
    let third = store
        .add_evidence(other.assessment_id, &ind("2.1"), &photo, &jpeg_meta())
        .unwrap();
    assert_eq!(files_under(&dir.path().join("evidence")).len(), 1);
    assert_eq!(store.list_evidence(id).unwrap().len(), 2);

    // The file stays while any row uses it.
    store.remove_evidence(first.evidence_id).unwrap();
    store.remove_evidence(second.evidence_id).unwrap();
    assert!(path.exists());
    let saved = store.remove_evidence(third.evidence_id).unwrap();
    assert!(!path.exists());
    assert_eq!(
        saved.revision,
        store.assessment(other.assessment_id).unwrap().revision
    );
    assert_eq!(
        store.remove_evidence(third.evidence_id).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn bad_photos_are_refused_before_anything_is_written() {
    let (dir, mut store, a) = store_with_draft();
    let id = a.assessment_id;
    let png = b"\x89PNG\r\n\x1a\n rest".to_vec();
    assert_eq!(
        store
            .add_evidence(id, &ind("1.1"), &png, &jpeg_meta())
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    let mut meta = jpeg_meta();
    meta.mime = "image/png".to_owned();
    assert_eq!(
        store
            .add_evidence(id, &ind("1.1"), &fake_jpeg(1, 10), &meta)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    assert!(files_under(&dir.path().join("evidence")).is_empty());
}

#[test]
fn a_photo_whose_upload_is_unfinished_is_kept() {
    let (dir, mut store, a) = store_with_draft();
    let id = a.assessment_id;
    let photo = fake_jpeg(3, 5000);
    let evidence = store
        .add_evidence(id, &ind("1.1"), &photo, &jpeg_meta())
        .unwrap();
    store.submit_assessment(id).unwrap();
    let queued = store.outbox_pending(10).unwrap();
    let kinds: Vec<_> = queued.iter().map(|e| e.record_kind).collect();
    assert_eq!(
        kinds,
        [
            RecordKind::Person,
            RecordKind::Assessment,
            RecordKind::Evidence
        ]
    );
    assert!(queued[2].payload_json.contains(&evidence.sha256));
    assert_eq!(store.pending_uploads(10).unwrap().len(), 1);

    // Returned by the officer before the photo finished uploading; the person
    // removes it. The row goes, the file stays: the server still wants the bytes.
    let review = Review::Returned {
        reason: "Ảnh mờ".to_owned(),
    };
    let batch = store.open_push_batch(10).unwrap().unwrap();
    store.mark_batch_sent(batch.batch_id).unwrap();
    let raw = common::raw(dir.path());
    raw.execute("UPDATE outbox SET state = 'acked'", [])
        .unwrap();
    store.apply_review(id, &review).unwrap();
    store.remove_evidence(evidence.evidence_id).unwrap();
    assert!(store.evidence_path(&evidence.sha256).exists());
    let report = store
        .self_check_with_age(CheckDepth::Full, Duration::ZERO)
        .unwrap();
    assert_eq!(report.stray_files_removed, 0);
    assert!(report.broken_evidence.is_empty());
    assert_eq!(store.pending_uploads(10).unwrap().len(), 1);

    // Once the upload completes, the next self-check lets it go.
    store.mark_upload_complete(&evidence.sha256).unwrap();
    let report = store
        .self_check_with_age(CheckDepth::Quick, Duration::ZERO)
        .unwrap();
    assert_eq!(report.stray_files_removed, 1);
    assert!(files_under(&dir.path().join("evidence")).is_empty());
}

#[test]
fn upload_progress_is_kept_and_never_moves_back() {
    let (_dir, mut store, a) = store_with_draft();
    let photo = fake_jpeg(9, 10_000);
    let evidence = store
        .add_evidence(a.assessment_id, &ind("1.1"), &photo, &jpeg_meta())
        .unwrap();
    store.submit_assessment(a.assessment_id).unwrap();
    let sha = evidence.sha256;
    assert_eq!(store.evidence_upload(&sha).unwrap().bytes_acked, 0);
    store.record_upload_progress(&sha, 4096).unwrap();
    store.record_upload_progress(&sha, 1024).unwrap(); // late, reordered ack
    assert_eq!(store.evidence_upload(&sha).unwrap().bytes_acked, 4096);
    assert_eq!(
        store
            .record_upload_progress(&sha, evidence.byte_size + 1)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    store.mark_upload_complete(&sha).unwrap();
    let done = store.evidence_upload(&sha).unwrap();
    assert_eq!(done.bytes_acked, evidence.byte_size);
    assert!(done.completed_at_ms.is_some());
    assert!(store.pending_uploads(10).unwrap().is_empty());
}

#[test]
fn self_check_resets_stuck_rows_and_reports_bad_files() {
    let (dir, mut store, a) = store_with_draft();
    let id = a.assessment_id;
    let kept = store
        .add_evidence(id, &ind("1.1"), &fake_jpeg(1, 2000), &jpeg_meta())
        .unwrap();
    let lost = store
        .add_evidence(id, &ind("1.2"), &fake_jpeg(2, 2000), &jpeg_meta())
        .unwrap();
    let damaged = store
        .add_evidence(id, &ind("1.3"), &fake_jpeg(3, 2000), &jpeg_meta())
        .unwrap();
    let truncated = store
        .add_evidence(id, &ind("1.4"), &fake_jpeg(4, 2000), &jpeg_meta())
        .unwrap();
    let entry = store.submit_assessment(id).unwrap();
    let batch = store.open_push_batch(200).unwrap().unwrap();
    store.mark_batch_sent(batch.batch_id).unwrap();

    // What a crash and a flaky SD card leave behind.
    fs::remove_file(store.evidence_path(&lost.sha256)).unwrap();
    let mut bytes = fs::read(store.evidence_path(&damaged.sha256)).unwrap();
    bytes[100] ^= 0xFF;
    fs::write(store.evidence_path(&damaged.sha256), bytes).unwrap();
    fs::write(store.evidence_path(&truncated.sha256), b"\xFF\xD8\xFF").unwrap();
    let shard = store.evidence_path(&kept.sha256);
    let shard = shard.parent().unwrap();
    fs::write(shard.join(".tmp-0190f0e0-half-written"), b"partial").unwrap();
    let orphan = "ab".repeat(32);
    fs::create_dir_all(dir.path().join("evidence/ab")).unwrap();
    fs::write(dir.path().join(format!("evidence/ab/{orphan}.jpg")), b"x").unwrap();
    drop(store);

    let mut store = Store::open_with_key_file(dir.path()).unwrap();
    // The quick check skips hashing: it sees the missing and the truncated file.
    let quick = store.self_check(CheckDepth::Quick).unwrap();
    assert!(quick.database_ok, "{:?}", quick.database_messages);
    assert_eq!(quick.outbox_reset_to_pending, batch.entries.len());
    assert_eq!(quick.broken_evidence.len(), 2);
    assert_eq!(quick.stray_files_removed, 0, "too young to be called stray");

    let full = store
        .self_check_with_age(CheckDepth::Full, Duration::ZERO)
        .unwrap();
    assert_eq!(full.outbox_reset_to_pending, 0);
    let mut problems: Vec<_> = full
        .broken_evidence
        .iter()
        .map(|b| (b.evidence_id, b.problem.clone()))
        .collect();
    problems.sort_by_key(|(id, _)| *id);
    assert_eq!(
        problems,
        vec![
            (lost.evidence_id, FileProblem::Missing),
            (damaged.evidence_id, FileProblem::HashMismatch),
            (
                truncated.evidence_id,
                FileProblem::WrongSize {
                    expected: truncated.byte_size,
                    found: 3
                }
            ),
        ]
    );
    assert_eq!(full.stray_files_removed, 2);
    assert!(store.evidence_path(&kept.sha256).exists());
    // Back to pending, still in the same frozen batch for the retry.
    let pending = store.outbox_pending(10).unwrap();
    assert_eq!(pending.len(), batch.entries.len());
    assert!(pending.iter().all(|e| e.state == OutboxState::Pending));
    assert!(pending.iter().any(|e| e.payload_json == entry.payload_json));
    let retry = store.open_push_batch(200).unwrap().unwrap();
    assert_eq!((retry.batch_id, retry.seq), (batch.batch_id, batch.seq));
}
