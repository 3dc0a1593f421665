//! Units: the tree, inherited area types, join keys, `units import`.

use crate::db::{NewUnit, Refusal, UnitUpdate};
use crate::fixture::{assert_refused, enrol, join_key, pull_all, tree};
use crate::Backend;
use cdht_core::ids::{DeviceId, UnitCode};
use cdht_core::sync::{Change, UnitInfo};
use cdht_core::AreaType;

/// Units added read back with their parent, own and inherited area type;
/// the ancestors run up to the root; a code added twice is refused, and a
/// refused list adds none of its units.
pub fn units_add_and_read(backend: &dyn Backend) {
    let s = backend.fresh();
    assert!(
        s.units().unwrap().is_empty(),
        "a fresh storage has no units"
    );
    tree(&*s);
    let c1 = s.unit("C1").unwrap().expect("C1");
    assert_eq!(c1.parent, Some(UnitCode::new("D")));
    assert_eq!(c1.kind, "commune");
    assert_eq!(c1.name, "Đơn vị C1");
    assert_eq!(c1.own_area, None);
    assert_eq!(c1.area, AreaType::Difficult, "inherited from D");
    assert_eq!(c1.join_key, join_key("C1"));
    let c2 = s.unit("C2").unwrap().expect("C2");
    assert_eq!(
        (c2.own_area, c2.area),
        (Some(AreaType::Normal), AreaType::Normal)
    );
    let p = s.unit("P").unwrap().expect("P");
    assert_eq!((p.parent, p.area), (None, AreaType::Normal));
    assert!(s.unit("NOPE").unwrap().is_none());
    let codes: Vec<String> = s
        .units()
        .unwrap()
        .iter()
        .map(|u| u.code.to_string())
        .collect();
    assert_eq!(codes, ["C1", "C2", "D", "P"], "every unit, by code");
    assert_eq!(
        s.ancestors("C1").unwrap(),
        ["C1", "D", "P"].map(UnitCode::new).to_vec()
    );
    assert_eq!(s.ancestors("P").unwrap(), vec![UnitCode::new("P")]);
    assert!(
        s.ancestors("NOPE").unwrap().is_empty(),
        "no chain for no unit"
    );

    let again = NewUnit {
        code: UnitCode::new("C1"),
        name: "again".into(),
        kind: "commune".into(),
        parent: Some(UnitCode::new("D")),
        area: None,
        join_key: "K".into(),
    };
    assert_refused(s.add_unit(&again), Refusal::Conflict, "unit_exists");
    let fresh = NewUnit {
        code: UnitCode::new("C3"),
        ..again.clone()
    };
    assert_refused(
        s.add_units(&[fresh.clone(), again]),
        Refusal::Conflict,
        "unit_exists",
    );
    assert!(s.unit("C3").unwrap().is_none(), "all or none");
    assert_eq!(s.unit("C1").unwrap().unwrap().name, "Đơn vị C1");
    s.add_unit(&fresh).unwrap();
    // An unknown parent: refused with the same code (docs/sync-protocol.md).
    let orphan = NewUnit {
        code: UnitCode::new("C4"),
        parent: Some(UnitCode::new("NOPE")),
        ..fresh.clone()
    };
    assert_refused(s.add_unit(&orphan), Refusal::Conflict, "unit_exists");
    assert!(s.unit("C4").unwrap().is_none());
    assert_eq!(s.unit("C3").unwrap().unwrap().area, AreaType::Difficult);
}

/// A new join key replaces the old one for enrolment; an unknown unit has
/// none to set.
pub fn units_join_key(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    s.set_join_key("C1", "NEW-KEY").unwrap();
    assert_eq!(s.unit("C1").unwrap().unwrap().join_key, "NEW-KEY");
    let device = |key: &str| {
        s.enrol_device(
            "C1",
            key,
            crate::db::EnrolDevice {
                device_id: DeviceId::new_v7(),
                label: None,
                current_token_hash: None,
            },
            &crate::fixture::new_token_hash(),
        )
        .unwrap()
    };
    assert!(device(&join_key("C1")).is_none(), "the old key is void");
    assert!(device("NEW-KEY").is_some());
    assert_refused(
        s.set_join_key("NOPE", "K"),
        Refusal::NotFound,
        "unknown_unit",
    );
}

fn unit_changes(changes: &[cdht_core::sync::ServerChange]) -> Vec<UnitInfo> {
    changes
        .iter()
        .filter_map(|c| match &c.change {
            Change::Unit { unit } => Some(unit.clone()),
            _ => None,
        })
        .collect()
}

/// `units import`: new units and real updates in one go, returning the
/// units that changed; devices of a unit hear of its change, also of an
/// area type it inherits; a loop is refused and nothing of it kept.
pub fn units_import_updates(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phone = enrol(&*s, "C1");
    let start = pull_all(&*s, &phone, 0, 100);
    assert!(unit_changes(&start).is_empty(), "{start:?}");
    let cursor = start.last().map_or(0, |c| c.seq);

    let update = |code: &str, name: &str, parent: &str, area: Option<AreaType>| UnitUpdate {
        code: UnitCode::new(code),
        name: name.to_owned(),
        kind: "commune".to_owned(),
        parent: Some(UnitCode::new(parent)),
        area,
    };
    let new = NewUnit {
        code: UnitCode::new("C3"),
        name: "Đơn vị C3".into(),
        kind: "commune".into(),
        parent: Some(UnitCode::new("D")),
        area: None,
        join_key: join_key("C3"),
    };
    let changed = s
        .import_units(
            &[new],
            &[
                update("C1", "Xã Mới", "D", None),
                // The same as held: not a change.
                update("C2", "Đơn vị C2", "D", Some(AreaType::Normal)),
            ],
        )
        .unwrap();
    assert_eq!(changed, vec![UnitCode::new("C1")]);
    assert_eq!(
        s.unit("C3").unwrap().unwrap().parent,
        Some(UnitCode::new("D"))
    );
    assert_eq!(s.unit("C1").unwrap().unwrap().name, "Xã Mới");
    let heard = pull_all(&*s, &phone, cursor, 100);
    let units = unit_changes(&heard);
    assert_eq!(units.len(), 1, "{heard:?}");
    assert_eq!(units[0].code.as_str(), "C1");
    assert_eq!(units[0].name, "Xã Mới");
    let cursor = heard.last().map_or(cursor, |c| c.seq);

    // D turns normal: C1, which inherits it, changes with it.
    let district = UnitUpdate {
        code: UnitCode::new("D"),
        name: "Đơn vị D".into(),
        kind: "district".into(),
        parent: Some(UnitCode::new("P")),
        area: Some(AreaType::Normal),
    };
    assert_eq!(
        s.import_units(&[], &[district]).unwrap(),
        vec![UnitCode::new("D")]
    );
    assert_eq!(s.unit("C1").unwrap().unwrap().area, AreaType::Normal);
    let heard = pull_all(&*s, &phone, cursor, 100);
    let units = unit_changes(&heard);
    assert_eq!(
        units.len(),
        1,
        "only C1's change reaches a phone of C1: {heard:?}"
    );
    assert_eq!(
        (units[0].code.as_str(), units[0].area),
        ("C1", AreaType::Normal)
    );

    // P under C1 would be a loop.
    let looped = UnitUpdate {
        code: UnitCode::new("P"),
        name: "Đơn vị P".into(),
        kind: "province".into(),
        parent: Some(UnitCode::new("C1")),
        area: None,
    };
    let also = update("C2", "Tên khác", "D", Some(AreaType::Normal));
    assert_refused(
        s.import_units(&[], &[also, looped]),
        Refusal::Conflict,
        "cycle",
    );
    assert_eq!(s.unit("P").unwrap().unwrap().parent, None);
    assert_eq!(
        s.unit("C2").unwrap().unwrap().name,
        "Đơn vị C2",
        "all or none"
    );
}
