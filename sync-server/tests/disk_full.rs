#![allow(clippy::unwrap_used)]
//! The server's disk fills up in the middle of an upload (issue 14, item 4):
//! on a small file system of its own (a tmpfs this test mounts), the server
//! answers `507 server_storage_full`, never `500`; what it acknowledged
//! before stays and nothing is corrupt; when space comes back, the uploads
//! resume from where they stopped and every photo and record is stored once.
#![cfg(target_os = "linux")]

mod support;

use cdht_core::sync::{AckOutcome, DeviceState};
use cdht_sync_client::{sha256_hex, SyncError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

const PHOTOS: usize = 6;
const PHOTO_BYTES: usize = 400_000;

/// A tmpfs of `size` mounted on a temporary folder; unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// `None` when mounting is not allowed here (not root), which only a
    /// developer's own account meets: CI runs as root, where a failure to
    /// mount fails the test.
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .unwrap();
        if out.status.success() {
            return Some(Self { dir });
        }
        let root = std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
        assert!(!root, "root cannot mount a tmpfs: {out:?}");
        eprintln!("disk_full: skipped, mounting a tmpfs needs root ({out:?})");
        None
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Fills the file system: a file written until the disk refuses, then
/// shortened by `leave` bytes so that much fits again.
fn fill(disk: &Path, leave: u64) -> PathBuf {
    let path = disk.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let block = vec![0u8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match file.write(&block) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("{e}"),
        }
    }
    file.set_len(written.saturating_sub(leave)).unwrap();
    file.sync_all().unwrap();
    path
}

fn integrity(data: &Path) -> String {
    let db = rusqlite::Connection::open_with_flags(
        data.join("cdht.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    db.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn a_full_disk_mid_upload_is_507_keeps_what_was_acked_and_resumes_when_space_returns() {
    let Some(disk) = SmallDisk::mount("32m") else {
        return;
    };
    let data = disk.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let server = start_at(data.clone(), |_| {}).await;
    let device = server.device("DEMO-X1-C1").await;

    let photos: Vec<Vec<u8>> = (0..PHOTOS)
        .map(|i| photo(7000 + i as u64, PHOTO_BYTES))
        .collect();
    let total = (PHOTOS * PHOTO_BYTES) as u64;
    announce_photos(&device, 1, "Hà Thị Mỷ", &photos).await;

    // Room for about two and a half photos, then the disk is full.
    let filler = fill(disk.path(), (PHOTO_BYTES * 5 / 2) as u64);
    let mut refused = None;
    let mut done_before = 0;
    for photo in &photos {
        match device.upload_evidence(photo).await {
            Ok(_) => done_before += 1,
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    let refused = refused.expect("the disk filled up before every photo was in");
    match &refused {
        SyncError::Unavailable { status, code, .. } => {
            assert_eq!((*status, code.as_str()), (507, "server_storage_full"));
        }
        other => panic!("not a 507 server_storage_full: {other:?}"),
    }
    assert!(
        done_before >= 1,
        "some photos fitted before the disk filled"
    );

    // With the disk full, a push is refused the same way or kept: never a 500.
    let (pid, body) = person("Vàng Seo Chử", None);
    let aid = cdht_core::ids::AssessmentId::new_v7();
    let second = batch(
        2,
        vec![
            v1(body),
            v1(assessment(aid, pid, DeviceState::Submitted, [7; 10])),
        ],
    );
    match device.push(&second).await {
        Ok(_) | Err(SyncError::Unavailable { status: 507, .. }) => {}
        Err(other) => panic!("a push on a full disk: {other:?}"),
    }

    // Nothing is corrupt, and what was acknowledged is still there.
    assert_eq!(integrity(&data), "ok");
    let at_full = server.stats().await;
    assert_eq!(at_full.blobs_complete, done_before as u64);
    assert!(at_full.evidence_bytes_accepted < total);
    let shas: Vec<String> = photos.iter().map(|p| sha256_hex(p)).collect();
    let statuses = device.evidence_status(&shas).await.unwrap();
    let acked: u64 = statuses.iter().map(|s| s.received).sum();
    assert_eq!(acked, at_full.evidence_bytes_accepted);

    // Space comes back: the same batch is taken once, every photo finishes
    // from what the server had, no byte is kept twice.
    std::fs::remove_file(filler).unwrap();
    let acks = device.push(&second).await.unwrap().acks;
    assert!(
        acks.iter()
            .all(|a| matches!(a.outcome, AckOutcome::Accepted | AckOutcome::AlreadyHad)),
        "{acks:?}"
    );
    let mut sent = 0;
    for photo in &photos {
        sent += device.upload_evidence(photo).await.unwrap().bytes_sent;
    }
    let done = server.stats().await;
    assert_eq!(done.blobs_complete, PHOTOS as u64);
    assert_eq!(done.persons, 2);
    assert_eq!(done.assessments, 2);
    assert_eq!(done.evidence_bytes_accepted, total, "no byte kept twice");
    assert!(
        sent <= total - acked + 256 * 1024,
        "resumed from the server's offsets: sent {sent}, missing {}",
        total - acked
    );
    for (photo, sha) in photos.iter().zip(&shas) {
        let stored = data.join(format!("blobs/evidence/{}/{sha}.jpg", &sha[..2]));
        assert_eq!(&std::fs::read(stored).unwrap(), photo);
    }
    let left = files_under(&data.join("blobs/uploads"));
    assert!(left.is_empty(), "pieces left behind: {left:?}");
    assert_eq!(integrity(&data), "ok");
    drop(server);
}
