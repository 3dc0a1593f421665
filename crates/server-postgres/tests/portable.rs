//! Moving a server's data between SQLite and PostgreSQL (`migrate-storage`):
//! a SQLite server's tables into PostgreSQL and back, after which both
//! answer every read the same, times included, and go on numbering changes
//! and officers after what was copied.
#![allow(clippy::unwrap_used)]

mod support;

use cdht_core::ids::{AssessmentId, UnitCode};
use cdht_core::sync::{DeviceScope, DeviceState, Role, RoleGrant};
use cdht_server_db::portable::Portable;
use cdht_server_db::{DeviceRef, Recognition, ReviewAction, Storage, UploadKey};
use cdht_server_sqlite::SqliteStorage;
use support::records::{assessment, enrol_one, evidence, id, key, person};

/// Copies every table of `from` into the blank `to`.
fn copy(from: &dyn Portable, to: &dyn Portable) {
    assert!(to.is_blank().unwrap());
    from.export(&mut |rows| to.import(rows)).unwrap();
    to.finish_import().unwrap();
}

/// Everything a client or an officer can read, as text.
fn reads(db: &dyn Storage, devices: &[DeviceRef]) -> String {
    let mut out = Vec::new();
    for d in devices {
        for household in [false, true] {
            let pulled = db.pull(d, 0, 1000, household).unwrap();
            out.push(serde_json::to_string(&pulled).unwrap());
        }
    }
    out.push(serde_json::to_string(&db.list_assessments("P").unwrap()).unwrap());
    out.push(serde_json::to_string(&db.audit("P").unwrap()).unwrap());
    out.push(serde_json::to_string(&db.stats().unwrap()).unwrap());
    out.push(format!("{:?}", db.units().unwrap()));
    out.push(format!("{:?}", db.officer_login("an").unwrap()));
    out.push(format!("{:?}", db.catalog_revisions().unwrap()));
    out.push(format!("{:?}", db.assessment_record(id(20)).unwrap()));
    let facts = db.report_facts("P", 2026).unwrap();
    out.push(format!(
        "{:?} {:?} {:?}",
        facts.indicators,
        facts
            .assessments
            .iter()
            .map(|a| a.points)
            .collect::<Vec<_>>(),
        facts.legacy.len()
    ));
    out.join("\n")
}

#[test]
fn a_sqlite_server_moves_to_postgres_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStorage::open(dir.path()).unwrap();
    support::tree(&sqlite);
    sqlite
        .add_officer(
            "an",
            "h",
            &[RoleGrant {
                role: Role::Reviewer,
                unit: UnitCode::new("P"),
            }],
        )
        .unwrap();
    let a = enrol_one(&sqlite, 1);
    let sha = "ab".repeat(32);
    sqlite
        .apply_push(
            &a,
            &key(100, 1),
            &[
                person(10, 1, "An", Some("001")),
                assessment(20, 10, 1, DeviceState::Submitted),
                evidence(30, 20, &sha, 10),
                person(11, 1, "Bình", None),
                assessment(21, 11, 1, DeviceState::Submitted),
            ],
        )
        .unwrap();
    // A later version: a row of the change log.
    sqlite
        .apply_push(&a, &key(101, 2), &[person(10, 2, "An B", Some("001"))])
        .unwrap();
    let up = UploadKey::new(&a.device_id.to_string(), &sha);
    assert!(sqlite.upload_add_chunk(&up, 0, 10).unwrap());
    sqlite.upload_finish(&up, true).unwrap();
    let a20: AssessmentId = id(20);
    sqlite.review(a20, "an", &ReviewAction::Approve).unwrap();
    sqlite
        .recognise(
            "P",
            "an",
            &Recognition {
                decision_no: "1/QĐ".into(),
                decision_date: "2026-11-30".into(),
                assessments: vec![a20],
            },
        )
        .unwrap();
    let mut newer = cdht_core::embedded_catalogs().unwrap()[0].clone();
    newer.revision += 5;
    sqlite.add_catalog(&newer).unwrap();
    let collector = DeviceRef {
        device_id: a.device_id,
        unit: UnitCode::new("C1"),
        scope: DeviceScope::UnitRecords,
    };
    let devices = [a.clone(), collector];
    let before = reads(&sqlite, &devices);

    let (pg, _) = support::storage();
    copy(&sqlite, &pg);
    assert_eq!(reads(&pg, &devices), before, "after the move to PostgreSQL");
    assert!(!pg.is_blank().unwrap());
    // And back into a new SQLite file.
    let back_dir = tempfile::tempdir().unwrap();
    let back = SqliteStorage::open(back_dir.path()).unwrap();
    copy(&pg, &back);
    assert_eq!(reads(&back, &devices), before, "after the move back");

    // PostgreSQL goes on after what was copied: the next change, the next
    // officer, the same device's next batch.
    let last = pg.pull(&a, 0, 1000, false).unwrap().cursor;
    let b = enrol_one(&pg, 2);
    pg.apply_push(&b, &key(200, 1), &[person(12, 1, "Chi", None)])
        .unwrap();
    let seqs: Vec<u64> = pg
        .pull(&devices[1], last, 1000, false)
        .unwrap()
        .changes
        .iter()
        .map(|c| c.seq)
        .collect();
    assert!(
        seqs.iter().all(|s| *s > last) && !seqs.is_empty(),
        "{seqs:?}"
    );
    pg.add_officer("bo", "h", &[]).unwrap();
    let (an, _, _) = pg.officer_login("an").unwrap().unwrap();
    let (bo, _, _) = pg.officer_login("bo").unwrap().unwrap();
    assert!(bo > an);
    assert!(matches!(
        pg.apply_push(&a, &key(102, 2), &[]).unwrap(),
        cdht_server_db::PushOutcome::SeqOutOfOrder { last: 2 }
    ));
}
