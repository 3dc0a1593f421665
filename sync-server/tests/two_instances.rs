#![allow(clippy::unwrap_used)]
//! Several `cdht-server serve` instances on one database and one bucket
//! behave as one server (issue 15, item 4). Two real server processes share
//! the database, an S3-compatible bucket (moto) and the secret file; a
//! balancing relay sends every new connection to either, and resets a share
//! of requests and cuts the whole link now and then, so a device's retries
//! land on the other instance while the first may still be working.
//!
//! Devices push households through both at once while a collector's device
//! pulls; then reviewers approve every assessment, again through both. At
//! the end every record and photo is stored exactly once, every byte of a
//! photo was accepted once, the bucket holds each photo whole and nothing
//! else, the collector holds every household, and every phone sees its own
//! assessments approved: no pull skipped a change.
#![cfg(target_os = "linux")]

mod support;

use cdht_core::ids::UnitCode;
use cdht_core::qr::JoinPayload;
use cdht_server::storage::Storage;
use cdht_store::{AssessmentStatus, Store};
use cdht_sync_client::{sha256_hex, RetryPolicy, SyncClient};
use cdht_sync_engine::{ServerConfig, SyncEngine};
use cdht_test_support::faulty_link::{Cuts, Faults, FaultyLink};
use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::households::{collect, Ledger, PHOTOS_PER_ROUND};
use support::moto::{Moto, BUCKET};
use support::serve_process::{free_port, init_demo, join_key, officer, ServeProcess};

const UNIT: &str = "DEMO-X1-C1";
const PHONES: usize = 3;
const ROUNDS: usize = 5;
const PREFIX: &str = "two";

/// The database the instances share.
enum Database {
    /// One SQLite file, opened by both processes (WAL and SQLite's own
    /// locks between processes).
    SharedSqlite,
    /// A database of the private PostgreSQL test cluster.
    Postgres(String),
}

impl Database {
    /// The flags every command is given to use it.
    fn flags(&self) -> Vec<String> {
        match self {
            Database::SharedSqlite => Vec::new(),
            Database::Postgres(url) => vec!["--database".into(), url.clone()],
        }
    }

    /// What it holds, counted from the test (on a thread of its own: the
    /// PostgreSQL client runs a runtime of its own, which may not start on
    /// a thread of a tokio test).
    fn stats(&self, data: &Path) -> cdht_server::storage::Stats {
        std::thread::scope(|s| s.spawn(|| self.open(data).stats().unwrap()).join().unwrap())
    }

    fn open(&self, data: &Path) -> Box<dyn Storage> {
        match self {
            Database::SharedSqlite => {
                Box::new(cdht_server::sqlite::SqliteStorage::open(data).unwrap())
            }
            Database::Postgres(url) => {
                Box::new(cdht_server::postgres::PgStorage::open(url, 2).unwrap())
            }
        }
    }
}

/// One instance: `serve` on the shared database, bucket and secret.
fn instance(data: &Path, db: &Database, moto: &Moto, secret: &Path) -> ServeProcess {
    ServeProcess::start(data, free_port(), |command| {
        command
            .args(db.flags())
            .args(["--blobs", &format!("s3://{BUCKET}/{PREFIX}")])
            .arg("--secret-file")
            .arg(secret);
        moto.env_of(command);
    })
}

/// What both tests start from: moto's bucket, the demo tree on `db`, the
/// deployment's one secret file, and two instances sharing all three.
struct Deployment {
    moto: Moto,
    root: tempfile::TempDir,
    data: PathBuf,
    tree: serde_json::Value,
    join_key: String,
    a: ServeProcess,
    b: ServeProcess,
}

async fn deployment(db: &Database) -> Deployment {
    let moto = Moto::start();
    moto.create_bucket().await;
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("server");
    let tree = init_demo(&data, &db.flags());
    let join_key = join_key(&tree, UNIT);
    // The deployment's one secret, given to every instance.
    let secret = root.path().join("deployment.key");
    std::fs::copy(data.join("secret.key"), &secret).unwrap();
    let a = instance(&data, db, &moto, &secret);
    let b = instance(&data, db, &moto, &secret);
    Deployment {
        moto,
        root,
        data,
        tree,
        join_key,
        a,
        b,
    }
}

fn engine_config() -> ServerConfig {
    ServerConfig {
        request_retry: RetryPolicy {
            max_attempts: 4,
            base: Duration::from_millis(20),
            cap: Duration::from_millis(200),
        },
        device_label: Some("two-instances".to_owned()),
        chunk_size: 8 * 1024,
        max_batch_records: 3,
        ..ServerConfig::default()
    }
}

/// Syncs until a round ends without an error (the link resets requests and
/// cuts itself; each retry may meet the other instance).
async fn sync_until_done(engine: &mut SyncEngine, who: &str) -> cdht_sync_engine::SyncReport {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match engine.sync_once(|_| {}).await {
            Ok(report) => return report,
            Err(e) => {
                assert!(Instant::now() < deadline, "{who}: no round succeeded: {e}");
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        }
    }
}

async fn keys_under(store: &impl ObjectStore, prefix: &str) -> Vec<String> {
    store
        .list(Some(&ObjectPath::from(prefix)))
        .map(|meta| meta.unwrap().location.to_string())
        .collect()
        .await
}

async fn two_instances_behave_as_one(db: Database) {
    let seed: u64 = std::env::var("CDHT_TWO_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("two_instances: CDHT_TWO_SEED={seed}");
    let Deployment {
        moto,
        root,
        data,
        tree,
        join_key,
        a,
        b,
    } = deployment(&db).await;
    let link = FaultyLink::start_balanced(
        &[a.url.as_str(), b.url.as_str()],
        Faults {
            reset_share: 0.15,
            cuts: Some(Cuts {
                every: (Duration::from_millis(500), Duration::from_millis(1500)),
                down_for: Duration::from_millis(150),
            }),
            seed,
            ..Faults::default()
        },
    )
    .await;

    // Phones and the collector's device, enrolled through the balancer.
    let dirs: Vec<PathBuf> = (0..=PHONES)
        .map(|d| root.path().join(format!("device-{d}")))
        .collect();
    let mut engines = Vec::new();
    for (d, dir) in dirs.iter().enumerate() {
        std::fs::create_dir_all(dir).unwrap();
        let mut engine =
            SyncEngine::new(Store::open_with_key_file(dir).unwrap(), engine_config()).unwrap();
        let qr = JoinPayload {
            server: link.url.clone(),
            unit: UnitCode::new(UNIT),
            join_key: join_key.clone(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Err(e) = engine.enrol(&qr).await {
            assert!(
                Instant::now() < deadline,
                "enrolment never went through: {e}"
            );
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        if d == 0 {
            let (user, password) = officer(&tree, "collector", UNIT);
            let deadline = Instant::now() + Duration::from_secs(60);
            while let Err(e) = engine.bind_officer(user, password).await {
                assert!(Instant::now() < deadline, "binding never went through: {e}");
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        }
        engines.push(engine);
    }
    let mut collector = engines.remove(0);
    let mut ledgers: Vec<Ledger> = (0..PHONES).map(|_| Ledger::default()).collect();

    // Phones collect and push through both instances at once, while the
    // collector pulls: its cursor must never pass a change committed late.
    let pushing = async {
        for round in 0..ROUNDS {
            for (p, ledger) in ledgers.iter_mut().enumerate() {
                collect(&dirs[p + 1], UNIT, p * 1000 + round, ledger);
            }
            let syncs =
                engines
                    .iter_mut()
                    .enumerate()
                    .map(|(p, engine)| async move {
                        sync_until_done(engine, &format!("phone {p}")).await
                    });
            futures_util::future::join_all(syncs).await;
        }
    };
    let pulling = async {
        for _ in 0..ROUNDS * 2 {
            sync_until_done(&mut collector, "collector").await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::join!(pushing, pulling);
    sync_until_done(&mut collector, "collector").await;

    // Reviewers approve every assessment, each through the balancer.
    let (user, password) = officer(&tree, "reviewer", "DEMO-X1");
    let mut reviewer = SyncClient::new(&link.url, &[])
        .unwrap()
        .with_retry(RetryPolicy {
            max_attempts: 8,
            base: Duration::from_millis(20),
            cap: Duration::from_millis(200),
        });
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Err(e) = reviewer.login(user, password).await {
        assert!(Instant::now() < deadline, "login never went through: {e}");
    }
    let http = reqwest::Client::new();
    let all_assessments: BTreeSet<String> = ledgers
        .iter()
        .flat_map(|l| l.assessments.iter().cloned())
        .collect();
    for id in &all_assessments {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // A reset may hide an approval that went through: the second
            // try then finds it approved (wrong_state), which is done too.
            let answer = http
                .post(format!("{}/api/v1/assessments/{id}/approve", link.url))
                .bearer_auth(reviewer.token().unwrap())
                .send()
                .await;
            match answer {
                Ok(r) if r.status().as_u16() == 204 => break,
                Ok(r) if r.status().as_u16() == 409 => {
                    let body = r.text().await.unwrap();
                    assert!(body.contains("wrong_state"), "{body}");
                    break;
                }
                other => {
                    assert!(Instant::now() < deadline, "approval of {id}: {other:?}");
                    tokio::time::sleep(Duration::from_millis(30)).await;
                }
            }
        }
    }

    // Every phone settles, then has nothing left and sees its assessments
    // approved; the collector holds every household.
    for (p, engine) in engines.iter_mut().enumerate() {
        sync_until_done(engine, &format!("phone {p}")).await;
        let again = sync_until_done(engine, &format!("phone {p}")).await;
        assert_eq!((again.pushed, again.uploaded_bytes), (0, 0), "{again:?}");
    }
    sync_until_done(&mut collector, "collector").await;
    drop(engines);
    drop(collector);
    for (p, ledger) in ledgers.iter().enumerate() {
        let store = Store::open_with_key_file(&dirs[p + 1]).unwrap();
        assert!(store.outbox_pending(10).unwrap().is_empty());
        assert!(store.pending_uploads(10).unwrap().is_empty());
        let people = store.list_people(2025, None, usize::MAX >> 1, 0).unwrap();
        assert_eq!(people.len(), ledger.persons.len(), "phone {p}");
        for person in &people {
            let status = person.assessment.as_ref().map(|a| a.status);
            assert_eq!(
                status,
                Some(AssessmentStatus::Approved),
                "phone {p}: {person:?}"
            );
        }
    }
    let held = Store::open_with_key_file(&dirs[0])
        .unwrap()
        .list_people(2025, None, usize::MAX >> 1, 0)
        .unwrap();
    let held_ids: BTreeSet<String> = held.iter().map(|p| p.person_id.to_string()).collect();
    let want_persons: BTreeSet<String> = ledgers.iter().flat_map(|l| l.persons.clone()).collect();
    assert_eq!(held_ids, want_persons, "the collector's pull is complete");

    let balanced: Vec<u64> = link
        .counters
        .per_upstream
        .iter()
        .map(|c| c.load(std::sync::atomic::Ordering::SeqCst))
        .collect();
    eprintln!(
        "two_instances: connections per instance {balanced:?}, {} cuts, {} requests reset",
        link.counters.cuts.load(std::sync::atomic::Ordering::SeqCst),
        link.counters
            .request_resets
            .load(std::sync::atomic::Ordering::SeqCst),
    );
    assert!(
        balanced.iter().all(|&n| n > 5),
        "both instances served: {balanced:?}"
    );
    drop(link);
    drop(a);
    drop(b);

    // What the database holds: every record once, every photo complete and
    // accepted once.
    let want_photos: BTreeMap<String, usize> =
        ledgers.iter().flat_map(|l| l.photos.clone()).collect();
    let total: u64 = want_photos.values().map(|&b| b as u64).sum();
    let stats = db.stats(&data);
    let households = (PHONES * ROUNDS) as u64;
    assert_eq!(
        (stats.persons, stats.assessments, stats.evidence_records),
        (households, households, households * PHOTOS_PER_ROUND as u64),
        "{stats:?}"
    );
    assert_eq!(stats.blobs_complete, want_photos.len() as u64, "{stats:?}");
    assert_eq!(
        stats.evidence_bytes_accepted, total,
        "no photo byte kept twice"
    );

    // The bucket: each photo once, whole; no piece left behind.
    let bucket = moto.bucket();
    let mut finished = keys_under(&bucket, &format!("{PREFIX}/evidence")).await;
    finished.sort();
    let mut want: Vec<String> = want_photos
        .keys()
        .map(|sha| format!("{PREFIX}/evidence/{}/{sha}.jpg", &sha[..2]))
        .collect();
    want.sort();
    assert_eq!(finished, want);
    let left = keys_under(&bucket, &format!("{PREFIX}/uploads")).await;
    assert!(left.is_empty(), "pieces left: {left:?}");
    for (sha, len) in &want_photos {
        let key = ObjectPath::from(format!("{PREFIX}/evidence/{}/{sha}.jpg", &sha[..2]));
        let stored = bucket.get(&key).await.unwrap().bytes().await.unwrap();
        assert_eq!((stored.len(), sha256_hex(&stored)), (*len, sha.clone()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_sqlite_file_and_one_bucket_behave_as_one() {
    two_instances_behave_as_one(Database::SharedSqlite).await;
}

/// A load balancer may send a retried batch to the other instance while the
/// first still works on it: the same batch sent to both at once applies
/// once, and both answer the same.
async fn a_batch_raced_on_two_instances_applies_once(db: Database) {
    // Bound, not `_`: the bucket and the folders must outlive the test.
    let Deployment {
        moto: _moto,
        root: _root,
        data,
        tree: _,
        join_key,
        a,
        b,
    } = deployment(&db).await;

    let mut via_a = SyncClient::new(&a.url, &[]).unwrap();
    via_a
        .enrol(
            &JoinPayload {
                server: a.url.clone(),
                unit: UnitCode::new(UNIT),
                join_key,
            },
            cdht_core::ids::DeviceId::new_v7(),
            Some("race"),
        )
        .await
        .unwrap();
    let via_b = SyncClient::new(&b.url, &[])
        .unwrap()
        .with_token(via_a.token().unwrap());
    const BATCHES: u64 = 20;
    for seq in 1..=BATCHES {
        let (person_id, person) = support::person(&format!("Người {seq}"), None);
        let assessment = support::assessment(
            cdht_core::ids::AssessmentId::new_v7(),
            person_id,
            cdht_core::sync::DeviceState::Submitted,
            [8; 10],
        );
        let batch = support::batch(seq, vec![support::v1(person), support::v1(assessment)]);
        let (from_a, from_b) = tokio::join!(via_a.push(&batch), via_b.push(&batch));
        let (from_a, from_b) = (from_a.unwrap(), from_b.unwrap());
        assert_eq!(
            serde_json::to_value(&from_a).unwrap(),
            serde_json::to_value(&from_b).unwrap(),
            "batch {seq}: both instances answer the same"
        );
        assert!(
            from_a
                .acks
                .iter()
                .all(|ack| ack.outcome == cdht_core::sync::AckOutcome::Accepted),
            "{from_a:?}"
        );
    }
    drop((a, b));
    let stats = db.stats(&data);
    assert_eq!(
        (stats.persons, stats.assessments, stats.batches),
        (BATCHES, BATCHES, BATCHES),
        "each batch applied once: {stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_raced_on_two_instances_sharing_sqlite_applies_once() {
    a_batch_raced_on_two_instances_applies_once(Database::SharedSqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_database_and_one_bucket_behave_as_one() {
    let url = cdht_test_support::postgres::fresh_database();
    two_instances_behave_as_one(Database::Postgres(url)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_raced_on_two_instances_sharing_postgres_applies_once() {
    let url = cdht_test_support::postgres::fresh_database();
    a_batch_raced_on_two_instances_applies_once(Database::Postgres(url)).await;
}
