//! Evidence photos: each device's upload of what it announced, and who may
//! read a photo.

use crate::db::{Reader, UploadKey};
use crate::fixture::{collector, enrol, push_accepted, tree, Device};
use crate::Backend;
use cdht_core::ids::{AssessmentId, UnitCode};
use cdht_core::sync::{DeviceState, EvidenceStatus, RecordBody, Role, RoleGrant};
use cdht_test_support::records::{assessment, evidence, person, v1};

/// Pushes a person, a submitted assessment and the records of `photos`;
/// returns the assessment.
fn announce(
    s: &dyn crate::db::Storage,
    device: &Device,
    seq: u64,
    photos: &[&[u8]],
) -> AssessmentId {
    let (pid, body) = person("Người có ảnh", None);
    let aid = AssessmentId::new_v7();
    let mut records = vec![
        v1(body),
        v1(assessment(aid, pid, DeviceState::Submitted, [8; 10])),
    ];
    records.extend(photos.iter().map(|p| v1(evidence(aid, p))));
    push_accepted(s, device, seq, records);
    aid
}

fn status(sha256: &str, size: u64, received: u64, complete: bool) -> EvidenceStatus {
    EvidenceStatus {
        sha256: sha256.to_owned(),
        size,
        received,
        complete,
    }
}

/// An announced photo's upload counts chunks only at the received offset,
/// finishes complete or starts over, shows up as stuck when every byte came
/// but it never finished, and is never touched once complete.
pub fn evidence_upload_progress(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phone = enrol(&*s, "C1");
    let photo = cdht_test_support::photo(7, 3000);
    let sha = cdht_core::digest::sha256_hex(&photo);
    announce(&*s, &phone, 1, &[&photo]);
    let key = UploadKey::new(&phone.id(), &sha);
    let read = |s: &dyn crate::db::Storage| {
        let p = s.upload_progress(&key).unwrap();
        p.map(|p| (p.size, p.received, p.complete))
    };
    assert_eq!(
        s.upload_progress(&key).unwrap().map(|p| p.legacy_parts),
        Some(false)
    );
    assert_eq!(read(&*s), Some((3000, 0, false)));
    let other = enrol(&*s, "C1");
    assert!(s
        .upload_progress(&UploadKey::new(&other.id(), &sha))
        .unwrap()
        .is_none());
    assert!(s
        .upload_progress(&UploadKey::new(&phone.id(), &"ab".repeat(32)))
        .unwrap()
        .is_none());

    assert!(
        !s.upload_add_chunk(&key, 100, 50).unwrap(),
        "not at the received offset"
    );
    assert!(s.upload_add_chunk(&key, 0, 1000).unwrap());
    assert!(
        !s.upload_add_chunk(&key, 0, 1000).unwrap(),
        "a chunk sent twice counts once"
    );
    assert!(s.upload_add_chunk(&key, 1000, 2000).unwrap());
    assert_eq!(read(&*s), Some((3000, 3000, false)));
    assert_eq!(s.stuck_uploads().unwrap(), vec![key.clone()]);
    let unknown = "cd".repeat(32);
    assert_eq!(
        s.evidence_status(
            &Reader::Device(phone.r.clone()),
            &[sha.clone(), unknown.clone()]
        )
        .unwrap(),
        vec![
            status(&sha, 3000, 3000, false),
            status(&unknown, 0, 0, false)
        ]
    );

    s.upload_finish(&key, false).unwrap();
    assert_eq!(
        read(&*s),
        Some((3000, 0, false)),
        "bytes that failed their check: again"
    );
    assert!(s.stuck_uploads().unwrap().is_empty());
    assert!(s.upload_add_chunk(&key, 0, 3000).unwrap());
    s.upload_finish(&key, true).unwrap();
    assert_eq!(read(&*s), Some((3000, 3000, true)));
    assert!(s.stuck_uploads().unwrap().is_empty());
    assert!(!s.upload_add_chunk(&key, 3000, 10).unwrap());
    assert!(!s.upload_add_chunk(&key, 0, 10).unwrap());
    s.upload_finish(&key, false).unwrap();
    assert_eq!(
        read(&*s),
        Some((3000, 3000, true)),
        "complete stays complete"
    );
    let stats = s.stats().unwrap();
    assert_eq!(
        (stats.blobs_complete, stats.evidence_bytes_accepted),
        (1, 6000)
    );

    // Announcing the same photo again with another size corrects it while
    // no byte has come, never after.
    let second = cdht_test_support::photo(8, 500);
    let second_sha = cdht_core::digest::sha256_hex(&second);
    let aid = announce(&*s, &phone, 2, &[&second]);
    let second_key = UploadKey::new(&phone.id(), &second_sha);
    let resized = |size: u64| {
        let mut body = evidence(aid, &second);
        if let RecordBody::Evidence(e) = &mut body {
            e.size = size;
        }
        v1(body)
    };
    push_accepted(&*s, &phone, 3, vec![resized(600)]);
    assert_eq!(s.upload_progress(&second_key).unwrap().unwrap().size, 600);
    assert!(s.upload_add_chunk(&second_key, 0, 100).unwrap());
    push_accepted(&*s, &phone, 4, vec![resized(700)]);
    let held = s.upload_progress(&second_key).unwrap().unwrap();
    assert_eq!((held.size, held.received, held.complete), (600, 100, false));
}

fn officer(role: Role, unit: &str) -> Reader {
    Reader::Officer(vec![RoleGrant {
        role,
        unit: UnitCode::new(unit),
    }])
}

/// A photo is readable once its uploader sent every byte, by whoever may
/// read a record naming it: the uploader, collectors and officers of the
/// unit or above; not a neighbour's phone, not another commune, and not
/// through a record whose own uploader never sent it.
pub fn evidence_readers(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phone = enrol(&*s, "C1");
    let photo = cdht_test_support::photo(9, 2500);
    let sha = cdht_core::digest::sha256_hex(&photo);
    announce(&*s, &phone, 1, &[&photo]);
    let key = UploadKey::new(&phone.id(), &sha);
    let own = Reader::Device(phone.r.clone());
    let commune = Reader::Device(collector(&*s, "C1").r);
    assert_eq!(
        s.readable_photo(&sha, &own).unwrap(),
        None,
        "not uploaded yet"
    );
    assert_eq!(s.readable_photo(&sha, &commune).unwrap(), None);
    assert!(s.upload_add_chunk(&key, 0, 2500).unwrap());
    assert_eq!(s.readable_photo(&sha, &own).unwrap(), None, "not finished");
    s.upload_finish(&key, true).unwrap();

    let neighbour = enrol(&*s, "C1");
    let readers = [
        ("the uploader", own.clone(), Some(2500)),
        ("the commune's collector", commune.clone(), Some(2500)),
        (
            "the district's collector",
            Reader::Device(collector(&*s, "D").r),
            Some(2500),
        ),
        (
            "another commune's collector",
            Reader::Device(collector(&*s, "C2").r),
            None,
        ),
        (
            "a neighbour's phone",
            Reader::Device(neighbour.r.clone()),
            None,
        ),
        (
            "a reviewer of the commune",
            officer(Role::Reviewer, "C1"),
            Some(2500),
        ),
        (
            "a viewer of the province",
            officer(Role::Viewer, "P"),
            Some(2500),
        ),
        (
            "a reviewer of another commune",
            officer(Role::Reviewer, "C2"),
            None,
        ),
    ];
    for (who, reader, size) in &readers {
        assert_eq!(s.readable_photo(&sha, reader).unwrap(), *size, "{who}");
        assert!(
            s.readable_photo(&"ef".repeat(32), reader)
                .unwrap()
                .is_none(),
            "{who}"
        );
    }
    assert_eq!(
        s.evidence_status(&commune, std::slice::from_ref(&sha))
            .unwrap(),
        vec![status(&sha, 2500, 2500, true)],
        "readable, never announced: complete"
    );
    assert_eq!(
        s.evidence_status(&officer(Role::Reviewer, "C1"), std::slice::from_ref(&sha))
            .unwrap(),
        vec![status(&sha, 2500, 2500, true)]
    );
    assert_eq!(
        s.evidence_status(&officer(Role::Reviewer, "C2"), std::slice::from_ref(&sha))
            .unwrap(),
        vec![status(&sha, 0, 0, false)]
    );

    // The neighbour names the same photo in its own record, without its
    // bytes: its own upload is to do, and the photo stays unreadable to it.
    announce(&*s, &neighbour, 1, &[&photo]);
    let mine = Reader::Device(neighbour.r.clone());
    assert_eq!(s.readable_photo(&sha, &mine).unwrap(), None);
    assert_eq!(
        s.evidence_status(&mine, std::slice::from_ref(&sha))
            .unwrap(),
        vec![status(&sha, 2500, 0, false)]
    );
}
