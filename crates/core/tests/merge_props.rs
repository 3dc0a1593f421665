#![allow(clippy::unwrap_used)]
//! Properties of the device's sync planner (`cdht_core::sync::merge`) over
//! random interleavings of two devices' edits, submissions, sync rounds (some
//! losing the server's answer, some pulling while a submission waits), and
//! officers' returns and approvals of the
//! same assessments (`sync_model`): no answer a person typed is dropped
//! without being kept, versions never go down, and devices that stop editing
//! converge to the server's state (or show why not: an open refusal).
//!
//! `PROPTEST_CASES` sets the number of cases (1000 by default, under a
//! second; the longer run in BENCHMARKS.md, "Longer property runs", uses
//! 100000).

mod sync_model;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use sync_model::{settle_steps, steps, Model, Step, DEVICES};

/// Every answers a person typed last on a device is still there: the
/// device's current answers, kept answers, or answers the server took.
fn typed_answers_survive(model: &Model) -> Result<(), TestCaseError> {
    for (device, d) in model.devices.iter().enumerate() {
        for (record, typed) in d.typed.iter().enumerate() {
            let Some(typed) = typed else { continue };
            let current = d.records[record].as_ref().map(|h| &h.answers) == Some(typed);
            let kept = d.kept[record].contains(typed);
            let accepted = model.server.accepted[record].contains(typed);
            prop_assert!(
                current || kept || accepted,
                "device {device} dropped its answers to record {record}: {model}"
            );
        }
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000)
}

fn versions(model: &Model) -> Vec<u32> {
    let server = model.server.records.iter().map(|r| r.version);
    let devices = model.devices.iter().flat_map(|d| {
        d.records
            .iter()
            .map(|h| h.as_ref().map_or(0, |h| h.sync_version))
    });
    server.chain(devices).collect()
}

fn run(records: usize, scenario: &[Step]) -> Result<(), TestCaseError> {
    let mut model = Model::new(records);
    let mut before = versions(&model);
    let mut play = |model: &mut Model, step: Step| -> Result<(), TestCaseError> {
        model.step(step);
        let after = versions(model);
        for (old, new) in before.iter().zip(&after) {
            prop_assert!(new >= old, "a version went down at {step:?}: {model}");
        }
        before = after;
        typed_answers_survive(model)
    };
    for &step in scenario {
        play(&mut model, step)?;
    }
    for step in settle_steps(&model) {
        play(&mut model, step)?;
    }
    // Converged: each device holds every record at the server's version and
    // answers, unless a refusal it shows says why not.
    for (device, d) in model.devices.iter().enumerate() {
        for (record, held) in d.records.iter().enumerate() {
            let server = &model.server.records[record];
            let held = held.as_ref().unwrap();
            let same = held.sync_version == server.version && held.answers == server.answers;
            prop_assert!(
                same || model.open_refusals(device, record) > 0,
                "device {device} did not converge on record {record}: {model}"
            );
        }
    }
    prop_assert_eq!(model.devices.len(), DEVICES);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/merge_props.txt",
        ))),
        ..ProptestConfig::default()
    })]
    #[test]
    fn two_devices_never_drop_answers_and_converge(
        records in 1usize..=2,
        scenario in steps(2, 40, true, true),
    ) {
        let scenario: Vec<Step> = scenario.into_iter().filter(|s| match s {
            Step::Edit { record, .. } | Step::Submit { record, .. }
            | Step::Return { record } | Step::Approve { record } => *record < records,
            _ => true,
        }).collect();
        run(records, &scenario)?;
    }
}

/// The scenario the properties found first ([`sync_model::SUPERSEDED`]).
#[test]
fn a_superseded_submission_is_kept_when_the_newer_version_is_pulled() {
    let mut model = Model::new(1);
    run(1, &sync_model::SUPERSEDED).unwrap();
    for step in sync_model::SUPERSEDED {
        model.step(step);
    }
    // Device 0 holds version 3 from device 1, its own answers kept.
    let held = model.devices[0].records[0].as_ref().unwrap();
    assert_eq!(held.sync_version, 3);
    assert_eq!(model.devices[0].kept[0].len(), 1);
    assert_eq!(
        model.devices[0].typed[0].as_ref(),
        model.devices[0].kept[0].first()
    );
}

/// A change waiting for this device's own push is deferred, not skipped
/// ([`sync_model::DEFERRED`]).
#[test]
fn a_version_pulled_while_a_submission_waits_comes_back_after_the_push() {
    run(1, &sync_model::DEFERRED).unwrap();
    let mut model = Model::new(1);
    for step in sync_model::DEFERRED {
        model.step(step);
    }
    let device = &model.devices[1];
    assert_eq!(device.records[0].as_ref().unwrap().sync_version, 3);
    assert_eq!(device.kept[0].len(), 1);
    assert_eq!(device.typed[0].as_ref(), device.kept[0].first());
}
