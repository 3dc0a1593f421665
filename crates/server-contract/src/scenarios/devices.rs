//! Devices and officers: enrolment, tokens, sessions, officer binding.

use crate::db::{EnrolDevice, Refusal, Subject};
use crate::fixture::{
    assert_refused, device_of, enrol, join_key, new_token_hash, officer, person_with_assessment,
    tree, LATER, NOW, SESSION_ENDS,
};
use crate::Backend;
use cdht_core::ids::{DeviceId, UnitCode};
use cdht_core::sync::{DeviceScope, DeviceState, Role, RoleGrant};

/// A new phone gets its own id and seq 0; re-enrolling with its own token
/// keeps its id and last seq in the same unit (the old token void), and
/// starts seq 0 in another unit; a wrong key or unit enrols nobody.
pub fn enrol_new_and_again(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phone = enrol(&*s, "C1");
    let mut people = Vec::new();
    for seq in 1..=3 {
        people.push(person_with_assessment(
            &*s,
            &phone,
            seq,
            "Lò Văn A",
            None,
            2025,
            DeviceState::Draft,
        ));
    }
    let again = |unit: &str, key: &str, current: Option<&str>, token: &str| {
        s.enrol_device(
            unit,
            key,
            EnrolDevice {
                device_id: phone.r.device_id,
                label: Some("phone again"),
                current_token_hash: current,
            },
            token,
        )
        .unwrap()
    };
    let token2 = new_token_hash();
    let (row, seq, id) =
        again("C1", &join_key("C1"), Some(&phone.token_hash), &token2).expect("re-enrolled");
    assert_eq!((row.code.as_str(), seq, id), ("C1", 3, phone.r.device_id));
    assert!(
        s.subject_for_token(&phone.token_hash, NOW)
            .unwrap()
            .is_none(),
        "old token void"
    );
    assert_eq!(device_of(&*s, &token2).device_id, phone.r.device_id);

    let token3 = new_token_hash();
    let (row, seq, id) = again("C2", &join_key("C2"), Some(&token2), &token3).expect("moved");
    assert_eq!((row.code.as_str(), seq, id), ("C2", 0, phone.r.device_id));
    let moved = device_of(&*s, &token3);
    assert_eq!(
        (moved.unit.as_str(), moved.scope),
        ("C2", DeviceScope::OwnRecords)
    );
    // Its people stay behind in C1.
    let moved = crate::fixture::Device {
        r: moved,
        token_hash: token3.clone(),
    };
    let (pid, aid) = people[0];
    let edit = cdht_core::sync::RecordEnvelope::seal(
        cdht_test_support::records::assessment(aid, pid, DeviceState::Submitted, [8; 10]),
        2,
    );
    let acks = crate::fixture::push(&*s, &moved, 1, vec![edit]);
    assert_eq!(crate::fixture::rejected(&acks[0]), "out_of_scope");

    assert!(again("C2", "WRONG", Some(&token3), &new_token_hash()).is_none());
    assert!(again("C1", &join_key("C2"), Some(&token3), &new_token_hash()).is_none());
    assert!(again("NOPE", &join_key("C1"), None, &new_token_hash()).is_none());
    assert_eq!(
        device_of(&*s, &token3).unit.as_str(),
        "C2",
        "a failed enrolment changes nothing"
    );
}

/// Somebody else sending a known device id (the join key is public) gets a
/// new id, seq 0 and none of the phone's people; the phone keeps its token.
pub fn enrol_stolen_id_gets_a_new_id(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phone = enrol(&*s, "C1");
    person_with_assessment(&*s, &phone, 1, "Lò Văn A", None, 2025, DeviceState::Draft);
    for current in [None, Some(new_token_hash())] {
        let token = new_token_hash();
        let (_, seq, id) = s
            .enrol_device(
                "C1",
                &join_key("C1"),
                EnrolDevice {
                    device_id: phone.r.device_id,
                    label: None,
                    current_token_hash: current.as_deref(),
                },
                &token,
            )
            .unwrap()
            .expect("enrolled, under another id");
        assert_ne!(id, phone.r.device_id);
        assert_eq!(seq, 0);
        let thief = device_of(&*s, &token);
        assert_eq!(thief.device_id, id);
        let stolen = crate::fixture::Device {
            r: thief,
            token_hash: token,
        };
        let pulled = crate::fixture::pull_all(&*s, &stolen, 0, 100);
        assert!(
            pulled
                .iter()
                .all(|c| !matches!(c.change, cdht_core::sync::Change::Record { .. })),
            "none of the phone's people: {pulled:?}"
        );
    }
    assert_eq!(
        device_of(&*s, &phone.token_hash).device_id,
        phone.r.device_id
    );
    let (_, seq, _) = s
        .enrol_device(
            "C1",
            &join_key("C1"),
            EnrolDevice {
                device_id: DeviceId::new_v7(),
                label: None,
                current_token_hash: Some(&phone.token_hash),
            },
            &new_token_hash(),
        )
        .unwrap()
        .unwrap();
    assert_eq!(seq, 0, "a token of another id re-enrols nothing");
}

/// Officers log in by name with their grants; adding one again changes the
/// password and adds grants; a grant of an unknown unit is refused; a
/// session names its officer until it ends.
pub fn officers_login_and_sessions(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let id = officer(&*s, "reviewer", Role::Reviewer, "C1");
    let grant = |role, unit: &str| RoleGrant {
        role,
        unit: UnitCode::new(unit),
    };
    let (login_id, hash, grants) = s.officer_login("reviewer").unwrap().expect("known");
    assert_eq!((login_id, hash.as_str()), (id, "argon2-hash"));
    assert_eq!(grants, vec![grant(Role::Reviewer, "C1")]);
    assert!(s.officer_login("nobody").unwrap().is_none());

    s.add_officer("reviewer", "new-hash", &[grant(Role::Viewer, "D")])
        .unwrap();
    let (again_id, hash, grants) = s.officer_login("reviewer").unwrap().unwrap();
    assert_eq!((again_id, hash.as_str()), (id, "new-hash"));
    assert_eq!(grants.len(), 2, "{grants:?}");
    assert!(grants.contains(&grant(Role::Reviewer, "C1")));
    assert!(grants.contains(&grant(Role::Viewer, "D")));
    assert_refused(
        s.add_officer("other", "h", &[grant(Role::Admin, "NOPE")]),
        Refusal::NotFound,
        "unknown_unit",
    );

    let token = new_token_hash();
    s.add_session(id, &token, SESSION_ENDS).unwrap();
    match s.subject_for_token(&token, NOW).unwrap() {
        Some(Subject::Officer {
            id: sid,
            username,
            grants,
        }) => {
            assert_eq!((sid, username.as_str()), (id, "reviewer"));
            assert_eq!(grants.len(), 2);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        s.subject_for_token(&token, LATER).unwrap().is_none(),
        "expired"
    );
    assert!(s
        .subject_for_token(&new_token_hash(), NOW)
        .unwrap()
        .is_none());
}

/// Binding an officer makes a device `unit_records`, unbinding (or a
/// re-enrolment) `own_records` again; both are in the audit log.
pub fn bind_officer_sets_the_scope(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phone = enrol(&*s, "C1");
    assert_eq!(phone.r.scope, DeviceScope::OwnRecords);
    let id = officer(&*s, "thu", Role::Collector, "C1");
    s.bind_officer(phone.r.device_id, Some(id)).unwrap();
    assert_eq!(
        device_of(&*s, &phone.token_hash).scope,
        DeviceScope::UnitRecords
    );
    s.bind_officer(phone.r.device_id, None).unwrap();
    assert_eq!(
        device_of(&*s, &phone.token_hash).scope,
        DeviceScope::OwnRecords
    );

    s.bind_officer(phone.r.device_id, Some(id)).unwrap();
    let token = new_token_hash();
    s.enrol_device(
        "C1",
        &join_key("C1"),
        EnrolDevice {
            device_id: phone.r.device_id,
            label: None,
            current_token_hash: Some(&phone.token_hash),
        },
        &token,
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        device_of(&*s, &token).scope,
        DeviceScope::OwnRecords,
        "a re-enrolment drops the binding"
    );

    let actions: Vec<(String, String)> = s
        .audit("C1")
        .unwrap()
        .into_iter()
        .map(|e| (e.actor, e.action))
        .collect();
    assert!(
        actions.contains(&("thu".into(), "bind_officer".into())),
        "{actions:?}"
    );
    assert!(
        actions.iter().any(|(_, action)| action == "unbind_officer"),
        "{actions:?}"
    );
    assert!(s.audit("C2").unwrap().is_empty(), "another unit's log");
}
