#![allow(clippy::unwrap_used)]
//! Properties of the device's sync planner with deletes
//! (`cdht_core::sync::merge::plan_delete`, docs/sync-protocol.md, "Deletes")
//! over random interleavings of two devices' edits, submissions, deletes,
//! sync rounds and officers' returns and approvals (`sync_model`): a delete
//! never reaches an approved record; a deleted record leaves every
//! device for good, and never comes back; every other record converges as
//! without deletes, and no answer typed on a record that was not deleted is
//! dropped without being kept.
//!
//! `PROPTEST_CASES` sets the number of cases (1000 by default).

mod sync_model;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use sync_model::{settle_steps, steps_with_deletes, Model, Status, Step};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000)
}

/// Versions per record: the server's, and each device's (a removed record
/// counts as above every version: it never comes back).
fn versions(model: &Model) -> Vec<u32> {
    let server = model.server.records.iter().map(|r| r.version);
    let devices = model.devices.iter().flat_map(|d| {
        d.records
            .iter()
            .map(|h| h.as_ref().map_or(u32::MAX, |h| h.sync_version))
    });
    server.chain(devices).collect()
}

fn check_step(model: &Model, before: &[u32], step: Step) -> Result<(), TestCaseError> {
    for (old, new) in before.iter().zip(versions(model)) {
        prop_assert!(new >= *old, "a version went down at {step:?}: {model}");
    }
    for (device, d) in model.devices.iter().enumerate() {
        for (record, typed) in d.typed.iter().enumerate() {
            let Some(typed) = typed else { continue };
            if model.server.records[record].deleted {
                continue;
            }
            let current = d.records[record].as_ref().map(|h| &h.answers) == Some(typed);
            let kept = d.kept[record].contains(typed);
            let accepted = model.server.accepted[record].contains(typed);
            prop_assert!(
                current || kept || accepted,
                "device {device} dropped its answers to record {record}: {model}"
            );
        }
        for (record, held) in d.records.iter().enumerate() {
            // Only the server's acknowledgement or its tombstone removes.
            prop_assert!(
                held.is_some() || model.server.records[record].deleted,
                "device {device} removed record {record} the server holds: {model}"
            );
        }
    }
    Ok(())
}

fn run(records: usize, scenario: &[Step]) -> Result<Model, TestCaseError> {
    let mut model = Model::new(records);
    let mut before = versions(&model);
    for &step in scenario {
        let reviewed: Vec<bool> = model
            .server
            .records
            .iter()
            .map(|r| r.state == Status::Approved)
            .collect();
        let deleted: Vec<bool> = model.server.records.iter().map(|r| r.deleted).collect();
        model.step(step);
        // A delete reaches the server only before review: never of an
        // approved record (a returned one may be resubmitted, then deleted,
        // by one batch).
        for (record, r) in model.server.records.iter().enumerate() {
            prop_assert!(
                !r.deleted || deleted[record] || !reviewed[record],
                "record {record} deleted after review at {step:?}: {model}"
            );
        }
        check_step(&model, &before, step)?;
        before = versions(&model);
    }
    for step in settle_steps(&model) {
        model.step(step);
        check_step(&model, &before, step)?;
        before = versions(&model);
    }
    for (device, d) in model.devices.iter().enumerate() {
        for (record, held) in d.records.iter().enumerate() {
            let server = &model.server.records[record];
            let open = model.open_refusals(device, record) > 0;
            match held {
                // Deleted on the server: gone here too, unless a refusal
                // this device shows says why not (its own edit of the
                // record was refused, `record_deleted`).
                Some(_) if server.deleted => prop_assert!(
                    open,
                    "device {device} kept deleted record {record}: {model}"
                ),
                None => {}
                Some(held) => prop_assert!(
                    (held.sync_version == server.version
                        && held.answers == server.answers
                        && !held.deleting)
                        || open,
                    "device {device} did not converge on record {record}: {model}"
                ),
            }
        }
    }
    Ok(model)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/merge_delete_props.txt",
        ))),
        ..ProptestConfig::default()
    })]
    #[test]
    fn deletes_happen_before_review_and_leave_every_device(
        records in 1usize..=2,
        scenario in steps_with_deletes(2, 40, true, true),
    ) {
        let scenario: Vec<Step> = scenario.into_iter().filter(|s| match s {
            Step::Edit { record, .. } | Step::Submit { record, .. } | Step::Delete { record, .. }
            | Step::Return { record } | Step::Approve { record } => *record < records,
            _ => true,
        }).collect();
        run(records, &scenario)?;
    }
}

/// Device 0 deletes, device 1 pulls the tombstone: both lose the record.
#[test]
fn a_delete_before_review_reaches_the_other_device() {
    let model = run(
        1,
        &[
            Step::Delete {
                device: 0,
                record: 0,
            },
            Step::Sync { device: 0 },
            Step::Sync { device: 1 },
        ],
    )
    .unwrap();
    assert!(model.server.records[0].deleted);
    assert_eq!(model.server.records[0].version, 2);
    assert!(model.devices.iter().all(|d| d.records[0].is_none()));
}

/// Approved before the delete reaches the server: refused, shown again on
/// device 0 with the refusal, unchanged everywhere.
#[test]
fn a_delete_after_review_is_refused_and_the_record_shows_again() {
    let model = run(
        1,
        &[
            Step::Delete {
                device: 0,
                record: 0,
            },
            Step::Approve { record: 0 },
            Step::Sync { device: 0 },
            Step::Sync { device: 1 },
        ],
    )
    .unwrap();
    assert!(!model.server.records[0].deleted);
    assert_eq!(model.server.records[0].version, 1);
    let held = model.devices[0].records[0].as_ref().unwrap();
    assert!(!held.deleting);
    assert_eq!(held.status, Status::Approved);
    assert_eq!(model.open_refusals(0, 0), 1);
    // Already approved on device 1: its delete is refused there and then.
    let mut model = model;
    model.step(Step::Delete {
        device: 1,
        record: 0,
    });
    assert!(model.devices[1].outbox.is_empty());
}
