//! Units, devices, officers, settings, catalogs and the schema's version on
//! a real PostgreSQL (the private test cluster).
#![allow(clippy::unwrap_used)]

mod support;

use cdht_core::ids::{DeviceId, UnitCode};
use cdht_core::sync::{DeviceScope, Role, RoleGrant};
use cdht_core::AreaType;
use cdht_server_db::{EnrolDevice, Refusal, Storage, StorageError, Subject, UnitUpdate};
use cdht_server_postgres::{PgStorage, SCHEMA_VERSION};
use support::{client, new_unit, storage, tree};

#[test]
fn migrations_run_once_and_a_newer_schema_is_refused() {
    let (db, url) = storage();
    drop(db);
    // A second open finds the schema current and changes nothing.
    PgStorage::open(&url, 2).unwrap();
    let mut c = client(&url);
    let version: i64 = c
        .query_one("SELECT max(version) FROM schema_migrations", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, i64::from(SCHEMA_VERSION));
    c.execute(
        "INSERT INTO schema_migrations (version, applied_at) VALUES (99, 'later')",
        &[],
    )
    .unwrap();
    let Err(e) = PgStorage::open(&url, 2) else {
        panic!("a schema newer than this build was opened");
    };
    assert!(
        matches!(e, StorageError::SchemaTooNew { found: 99, known } if known == SCHEMA_VERSION),
        "{e}"
    );
    let message = e.to_string();
    assert!(
        message.contains("99") && message.contains(&format!("({SCHEMA_VERSION})")),
        "{message}"
    );
}

#[test]
fn units_inherit_their_area_and_refuse_a_second_code() {
    let (db, _) = storage();
    tree(&db);
    let c1 = db.unit("C1").unwrap().unwrap();
    assert_eq!(c1.area, AreaType::Difficult);
    assert_eq!(c1.own_area, None);
    assert_eq!(c1.parent, Some(UnitCode::new("D")));
    assert_eq!(db.unit("P").unwrap().unwrap().area, AreaType::Normal);
    assert!(db.unit("nope").unwrap().is_none());
    assert_eq!(
        db.ancestors("C1").unwrap(),
        vec![UnitCode::new("C1"), UnitCode::new("D"), UnitCode::new("P")]
    );
    let codes: Vec<String> = db
        .units()
        .unwrap()
        .into_iter()
        .map(|u| u.code.to_string())
        .collect();
    assert_eq!(codes, ["C1", "D", "P"]);
    // All or none: the second unit of this call exists, so neither is added.
    let err = db
        .add_units(&[
            new_unit("C2", Some("D"), "k"),
            new_unit("C1", Some("D"), "k"),
        ])
        .unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::Refused {
                kind: Refusal::Conflict,
                ..
            }
        ),
        "{err}"
    );
    assert!(db.unit("C2").unwrap().is_none());
    // A missing parent is refused the same way.
    assert!(db.add_unit(&new_unit("X", Some("nope"), "k")).is_err());
    db.set_join_key("C1", "new-key").unwrap();
    assert_eq!(db.unit("C1").unwrap().unwrap().join_key, "new-key");
    assert!(matches!(
        db.set_join_key("nope", "k").unwrap_err(),
        StorageError::Refused {
            kind: Refusal::NotFound,
            ..
        }
    ));
}

#[test]
fn an_import_logs_a_change_for_each_unit_whose_area_changed() {
    let (db, url) = storage();
    tree(&db);
    let changed = db
        .import_units(
            &[new_unit("C2", Some("D"), "k2")],
            &[
                // D becomes normal: C1 (inheriting) changes with it.
                UnitUpdate {
                    code: UnitCode::new("D"),
                    name: "Unit D".into(),
                    kind: "commune".into(),
                    parent: Some(UnitCode::new("P")),
                    area: None,
                },
                // The same as held: no change.
                UnitUpdate {
                    code: UnitCode::new("P"),
                    name: "Unit P".into(),
                    kind: "commune".into(),
                    parent: None,
                    area: None,
                },
            ],
        )
        .unwrap();
    assert_eq!(changed, vec![UnitCode::new("D")]);
    let logged: Vec<(i64, String)> = client(&url)
        .query(
            "SELECT seq, unit FROM changes WHERE kind = 'unit' ORDER BY seq",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    // D changed, and the area C1 and C2 inherit with it (C2, added first
    // by the same import, below D), as on SQLite.
    assert_eq!(
        logged,
        vec![(1, "C1".into()), (2, "C2".into()), (3, "D".into())]
    );
    // A loop is refused, and nothing of the import stays.
    let err = db
        .import_units(
            &[],
            &[UnitUpdate {
                code: UnitCode::new("P"),
                name: "Unit P".into(),
                kind: "commune".into(),
                parent: Some(UnitCode::new("C1")),
                area: None,
            }],
        )
        .unwrap_err();
    assert!(matches!(err, StorageError::Refused { .. }), "{err}");
    assert_eq!(db.unit("P").unwrap().unwrap().parent, None);
}

#[test]
fn a_device_re_enrols_only_with_its_own_token() {
    let (db, url) = storage();
    tree(&db);
    let id = DeviceId::new_v7();
    let enrol = |key: &str, current: Option<&str>, token: &str| {
        db.enrol_device(
            "C1",
            key,
            EnrolDevice {
                device_id: id,
                label: Some("phone"),
                current_token_hash: current,
            },
            token,
        )
        .unwrap()
    };
    assert!(enrol("wrong", None, "t0").is_none());
    let (unit, seq, got) = enrol("key-C1", None, "t1").unwrap();
    assert_eq!((unit.code.as_str(), seq, got), ("C1", 0, id));
    client(&url)
        .execute("UPDATE devices SET last_push_seq = 7", &[])
        .unwrap();
    // Its own token: the same id, its push sequence kept.
    let (_, seq, got) = enrol("key-C1", Some("t1"), "t2").unwrap();
    assert_eq!((seq, got), (7, id));
    // Somebody else naming that id gets a new one.
    let (_, seq, other) = enrol("key-C1", Some("t1"), "t3").unwrap();
    assert_ne!(other, id);
    assert_eq!(seq, 0);
    match db
        .subject_for_token("t2", at("2000-01-01T00:00:00Z"))
        .unwrap()
    {
        Some(Subject::Device(d)) => {
            assert_eq!(d.device_id, id);
            assert_eq!(d.scope, DeviceScope::OwnRecords);
        }
        other => panic!("{other:?}"),
    }
    assert!(db
        .subject_for_token("t1", at("2000-01-01T00:00:00Z"))
        .unwrap()
        .is_none());
}

#[test]
fn officers_log_in_hold_sessions_and_bind_devices() {
    let (db, url) = storage();
    tree(&db);
    let grant = RoleGrant {
        role: Role::Reviewer,
        unit: UnitCode::new("D"),
    };
    db.add_officer("an", "hash1", std::slice::from_ref(&grant))
        .unwrap();
    // Again: the password is replaced, the grant not doubled.
    db.add_officer("an", "hash2", std::slice::from_ref(&grant))
        .unwrap();
    let (id, hash, grants) = db.officer_login("an").unwrap().unwrap();
    assert_eq!((hash.as_str(), grants), ("hash2", vec![grant.clone()]));
    assert!(db.officer_login("nobody").unwrap().is_none());
    let bad = RoleGrant {
        role: Role::Reviewer,
        unit: UnitCode::new("nope"),
    };
    assert!(matches!(
        db.add_officer("bo", "h", &[bad]).unwrap_err(),
        StorageError::Refused {
            kind: Refusal::NotFound,
            ..
        }
    ));
    assert!(db.officer_login("bo").unwrap().is_none());
    db.add_session(id, "s1", at("2100-01-01T00:00:00Z"))
        .unwrap();
    match db
        .subject_for_token("s1", at("2026-01-01T00:00:00Z"))
        .unwrap()
    {
        Some(Subject::Officer {
            username, grants, ..
        }) => {
            assert_eq!((username.as_str(), grants), ("an", vec![grant]));
        }
        other => panic!("{other:?}"),
    }
    // Expired.
    assert!(db
        .subject_for_token("s1", at("2200-01-01T00:00:00Z"))
        .unwrap()
        .is_none());
    let device = DeviceId::new_v7();
    db.enrol_device(
        "C1",
        "key-C1",
        EnrolDevice {
            device_id: device,
            label: None,
            current_token_hash: None,
        },
        "dt",
    )
    .unwrap()
    .unwrap();
    db.bind_officer(device, Some(id)).unwrap();
    match db
        .subject_for_token("dt", at("2026-01-01T00:00:00Z"))
        .unwrap()
    {
        Some(Subject::Device(d)) => assert_eq!(d.scope, DeviceScope::UnitRecords),
        other => panic!("{other:?}"),
    }
    db.bind_officer(device, None).unwrap();
    let actions: Vec<(String, String)> = client(&url)
        .query("SELECT actor, action FROM audit_log ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("an".to_owned(), "bind_officer".to_owned()),
            (format!("device:{device}"), "unbind_officer".to_owned())
        ]
    );
}

#[test]
fn settings_and_stats() {
    let (db, _) = storage();
    assert_eq!(db.setting("public_url").unwrap(), None);
    db.set_setting("public_url", "https://a").unwrap();
    db.set_setting("public_url", "https://b").unwrap();
    assert_eq!(
        db.setting("public_url").unwrap().as_deref(),
        Some("https://b")
    );
    assert_eq!(db.stats().unwrap(), Default::default());
    assert!(db.checkpoint(true).unwrap());
}

#[test]
fn catalogs_install_by_revision_and_are_announced_once() {
    let (db, url) = storage();
    tree(&db);
    let shipped = cdht_core::embedded_catalogs().unwrap()[0].clone();
    // No device yet: recorded as announced, no change.
    let mut newer = shipped.clone();
    newer.revision = shipped.revision + 1;
    assert!(!db.announce_shipped_catalog(&newer).unwrap());
    db.enrol_device(
        "C1",
        "key-C1",
        EnrolDevice {
            device_id: DeviceId::new_v7(),
            label: None,
            current_token_hash: None,
        },
        "dt",
    )
    .unwrap()
    .unwrap();
    assert!(!db.announce_shipped_catalog(&newer).unwrap());
    let mut newest = newer.clone();
    newest.revision += 1;
    assert!(db.announce_shipped_catalog(&newest).unwrap());
    assert!(!db.announce_shipped_catalog(&newest).unwrap());
    // Installing: above the installed revision only.
    db.add_catalog(&newest).unwrap();
    let err = db.add_catalog(&newest).unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::Refused {
                kind: Refusal::Conflict,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        db.catalog_revisions().unwrap(),
        vec![(newest.id.to_string(), newest.revision)]
    );
    assert_eq!(db.catalogs().unwrap(), vec![newest.clone()]);
    let kinds: Vec<(i64, String)> = client(&url)
        .query("SELECT seq, kind FROM changes ORDER BY seq", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(kinds, vec![(1, "catalog".into()), (2, "catalog".into())]);
}

fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
    text.parse().unwrap()
}
