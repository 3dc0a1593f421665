#![allow(clippy::unwrap_used)]
//! The app killed mid-upload (SIGKILL): a child process (this test binary,
//! re-invoked) syncs many photos slowly and is killed half-way; a fresh
//! engine on the same folder finishes, nothing is duplicated on the server
//! and no byte the server had acknowledged is sent again.

mod support;

use cdht_store::Store;
use cdht_sync_engine::{ServerConfig, SyncEngine};
use std::process::Command;
use std::time::{Duration, Instant};
use support::*;

const CHILD_ENV: &str = "CDHT_KILL_TEST_DATA_DIR";
const PHOTOS: usize = 16;
const PHOTO_BYTES: usize = 48 * 1024;
const CHUNK: usize = 4 * 1024;

fn slow_config() -> ServerConfig {
    ServerConfig {
        chunk_size: CHUNK,
        ..config()
    }
}

/// The child's side: runs only when re-invoked by the parent.
#[test]
fn kill_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut engine =
            SyncEngine::new(Store::open_with_key_file(&dir).unwrap(), slow_config()).unwrap();
        // The slow path: a slow link, as seen from the progress callback.
        engine
            .sync_once(|_| std::thread::sleep(Duration::from_millis(8)))
            .await
            .unwrap();
    });
    // Reaching here means the parent did not kill us in time.
    std::process::exit(3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_upload_a_fresh_engine_finishes_without_resending_or_duplicating() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let total = (PHOTOS * PHOTO_BYTES) as u64;
    {
        let mut engine = SyncEngine::new(
            Store::open_with_key_file(dir.path()).unwrap(),
            slow_config(),
        )
        .unwrap();
        engine.enrol_from_qr(&server.qr_url(UNIT)).await.unwrap();
        for household in 0..4 {
            let photos: Vec<Vec<u8>> = (0..PHOTOS / 4)
                .map(|p| photo((household * 100 + p) as u64, PHOTO_BYTES))
                .collect();
            collect(
                engine.store_mut(),
                &format!("Hộ số {household}"),
                "244-2022",
                &photos,
            );
        }
    }

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["kill_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir.path())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let accepted = server.stats().await.evidence_bytes_accepted;
        if accepted >= total / 3 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the child ended before it was killed"
        );
        assert!(Instant::now() < deadline, "the child made no progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());
    // Let the server finish the chunk it may have been reading.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let at_kill = server.stats().await;
    assert!(at_kill.evidence_bytes_accepted < total, "{at_kill:?}");
    assert_eq!((at_kill.persons, at_kill.assessments), (4, 4));

    let mut engine = SyncEngine::new(
        Store::open_with_key_file(dir.path()).unwrap(),
        slow_config(),
    )
    .unwrap();
    let report = engine.sync_once(|_| {}).await.unwrap();
    assert_eq!(report.pushed, 0, "the push had finished before the kill");
    let done = server.stats().await;
    assert_eq!(done.persons, 4);
    assert_eq!(done.assessments, 4);
    assert_eq!(done.evidence_records, PHOTOS as u64);
    assert_eq!(done.blobs_complete, PHOTOS as u64);
    // Every byte accepted once: nothing duplicated on the server …
    assert_eq!(done.evidence_bytes_accepted, total);
    // … and the fresh engine sent only what the server did not have.
    assert_eq!(
        report.uploaded_bytes,
        total - at_kill.evidence_bytes_accepted,
        "{report:?}"
    );
    assert!(report.uploaded_bytes < total);
    assert!(engine.store().pending_uploads(100).unwrap().is_empty());

    // And a further round sends nothing.
    let again = engine.sync_once(|_| {}).await.unwrap();
    assert_eq!((again.pushed, again.uploaded_bytes), (0, 0));
}
