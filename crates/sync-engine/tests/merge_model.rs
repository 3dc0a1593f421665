#![allow(clippy::unwrap_used)]
//! The model test of the sync planner: random scenarios of two collector
//! devices and a reviewer (edits, submissions, deletes, sync rounds, returns
//! and approvals of the same assessments) run through the real stores, the real
//! engine and client, and the real server on 127.0.0.1, end where the
//! planner's model (`crates/core/tests/sync_model`) says: the same answers,
//! states, versions on the server, kept answers and open refusals.
//!
//! `CDHT_MODEL_CASES` sets the number of scenarios (200 by default, about a
//! minute and a half; the longer run in BENCHMARKS.md, "Longer property
//! runs", uses 2000); `CDHT_MODEL_DELETE_CASES` those with deletes (60).

mod support;
#[path = "../../core/tests/sync_model/mod.rs"]
mod sync_model;

use cdht_core::ids::{AssessmentId, CatalogId, GroupId, IndicatorId, UnitCode};
use cdht_core::{Answer, Answers, AreaType, AssessmentInput, Completeness};
use cdht_store::{AssessmentStatus, PersonInput, ScoreSummary, Store, StoreError};
use cdht_sync_engine::SyncEngine;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use serde_json::{json, Value};
use support::*;
use sync_model::{
    settle_steps, steps, steps_with_deletes, Model, Status, Step, FIRST_POINTS, INDICATORS,
};

const COLLECTOR: &str = "nhaplieu-x1-c1";
const RECORDS: usize = 2;
const SCENARIOS_PER_SERVER: usize = 16;

struct Real {
    devices: Vec<SyncEngine>,
    ids: Vec<AssessmentId>,
    _dirs: Vec<tempfile::TempDir>,
}

fn score_of(answers: &Answers, area: AreaType) -> ScoreSummary {
    let input = AssessmentInput {
        catalog: CatalogId::new("244-2022"),
        group: GroupId::new("farmers"),
        area,
        answers: answers.clone(),
    };
    // As the store scores pulled records: complete when every indicator is
    // answered (a record's `device_total` is part of its hash).
    let completeness = if answers.0.len() == INDICATORS.len() {
        Completeness::Complete
    } else {
        Completeness::Draft
    };
    let result = cdht_core::score(&input, completeness).unwrap();
    ScoreSummary {
        total_points: i64::from(result.total),
        passed: result.passed,
    }
}

fn answers(store: &Store, id: AssessmentId) -> Answers {
    store.assessment_detail(id).unwrap().answers
}

/// Device 0 collects the records, submits and syncs; device 1 syncs: where
/// [`Model::new`] starts. Both have the collector bound (`unit_records`).
async fn setup(server: &TestServer) -> Real {
    let mut devices = Vec::new();
    let mut dirs = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_with_key_file(dir.path()).unwrap();
        let mut engine = SyncEngine::new(store, config()).unwrap();
        engine.enrol_from_qr(&server.qr_url(UNIT)).await.unwrap();
        engine
            .bind_officer(COLLECTOR, &server.password(COLLECTOR))
            .await
            .unwrap();
        devices.push(engine);
        dirs.push(dir);
    }
    let store = devices[0].store_mut();
    let person = store
        .upsert_person(&PersonInput {
            full_name: "Lường Văn Pọm".to_owned(),
            unit_code: Some(UnitCode::new(UNIT)),
            birth_year: Some(1960),
            ..PersonInput::default()
        })
        .unwrap()
        .person_id;
    let mut ids = Vec::new();
    for year in 2025..2025 + RECORDS {
        let id = store
            .create_or_get_assessment(
                person,
                i32::try_from(year).unwrap(),
                &CatalogId::new("244-2022"),
                &GroupId::new("farmers"),
                AreaType::Normal,
            )
            .unwrap()
            .assessment_id;
        let mut given = Answers::default();
        for indicator in INDICATORS {
            given.set(IndicatorId::new(indicator), Answer::Points(FIRST_POINTS));
            let score = score_of(&given, AreaType::Normal);
            let indicator = IndicatorId::new(indicator);
            let answer = Answer::Points(FIRST_POINTS);
            store
                .set_answer(id, &indicator, &answer, Some(score))
                .unwrap();
        }
        store.submit_assessment(id).unwrap();
        ids.push(id);
    }
    devices[0].sync_once(|_| {}).await.unwrap();
    devices[1].sync_once(|_| {}).await.unwrap();
    Real {
        devices,
        ids,
        _dirs: dirs,
    }
}

async fn play(reviewer: &cdht_sync_client::SyncClient, real: &mut Real, step: Step) {
    match step {
        Step::Edit {
            device,
            record,
            indicator,
            points,
        } => {
            let id = real.ids[record];
            let store = real.devices[device].store_mut();
            // Deleted here: nothing to edit.
            let Ok(held) = store.assessment(id) else {
                return;
            };
            let mut now = answers(store, id);
            let indicator = IndicatorId::new(INDICATORS[indicator]);
            let answer = Answer::Points(points);
            if held.status.is_editable() && now.get(indicator.as_str()) != Some(&answer) {
                now.set(indicator.clone(), answer.clone());
                let score = score_of(&now, held.area_type);
                // Refused while its delete waits for the server.
                let saved = store.set_answer(id, &indicator, &answer, Some(score));
                assert!(matches!(saved, Ok(_) | Err(StoreError::Refused(_))));
            }
        }
        Step::Submit { device, record } => {
            let id = real.ids[record];
            let store = real.devices[device].store_mut();
            if store.assessment(id).is_ok_and(|a| a.status.is_editable()) {
                let sent = store.submit_assessment(id);
                assert!(matches!(sent, Ok(_) | Err(StoreError::Refused(_))));
            }
        }
        Step::Delete { device, record } => {
            let id = real.ids[record];
            let store = real.devices[device].store_mut();
            // Refused after review, or gone already: the model skips it too.
            let deleted = store.delete_assessment(id);
            assert!(matches!(
                deleted,
                Ok(_) | Err(StoreError::Refused(_) | StoreError::NotFound { .. })
            ));
        }
        Step::PullOnly { device } => pull_only(&mut real.devices[device]).await,
        Step::Sync { device } | Step::SyncAnswerLost { device } => {
            real.devices[device].sync_once(|_| {}).await.unwrap();
        }
        Step::Return { record } => {
            let id = real.ids[record];
            let path = format!("/api/v1/assessments/{id}/return");
            for from in ["submitted", "approved"] {
                let body = json!({"reason": "Cần bổ sung minh chứng", "from": from});
                if reviewer.post_json::<_, Value>(&path, &body).await.is_ok() {
                    break;
                }
            }
        }
        Step::Approve { record } => {
            let id = real.ids[record];
            let path = format!("/api/v1/assessments/{id}/approve");
            // 409 wrong_state when not submitted: the model skips it too.
            let _ = reviewer.post_json::<_, Value>(&path, &json!({})).await;
        }
    }
}

/// A pull with nothing pushed first, as when a person submits while the
/// background round pulls: the engine's pull loop, on its own.
async fn pull_only(engine: &mut SyncEngine) {
    let creds = engine.store().sync_credentials().unwrap().unwrap();
    let client = cdht_sync_client::SyncClient::new(&creds.server_url, &[])
        .unwrap()
        .with_token(creds.device_token);
    let mut cursor = engine.store().pull_cursor(&creds.unit_code).unwrap();
    loop {
        let page = client.pull(cursor).await.unwrap();
        let outcome = engine
            .store_mut()
            .apply_pull(&creds.unit_code, &page)
            .unwrap();
        cursor = outcome.cursor;
        if !page.more || outcome.deferred {
            break;
        }
    }
}

fn status(status: AssessmentStatus) -> Option<Status> {
    match status {
        AssessmentStatus::Submitted => Some(Status::Submitted),
        AssessmentStatus::Returned => Some(Status::Returned),
        AssessmentStatus::Approved => Some(Status::Approved),
        _ => None,
    }
}

/// The real end compared with the model's.
async fn compare(server: &TestServer, real: &Real, model: &Model) -> Result<(), TestCaseError> {
    let storage = std::sync::Arc::clone(&server.state.storage);
    let listed = tokio::task::spawn_blocking(move || storage.list_assessments(UNIT).unwrap())
        .await
        .unwrap();
    for (record, &id) in real.ids.iter().enumerate() {
        let expected = &model.server.records[record];
        if expected.deleted {
            prop_assert!(
                listed.iter().all(|a| a.id != id),
                "r{} deleted on the server\n{}",
                record,
                model
            );
            compare_devices(real, model, record)?;
            continue;
        }
        let on_server = listed.iter().find(|a| a.id == id).unwrap();
        prop_assert_eq!(
            on_server.version,
            expected.version,
            "server version of r{}\n{}",
            record,
            model
        );
        let storage = std::sync::Arc::clone(&server.state.storage);
        let body = tokio::task::spawn_blocking(move || storage.assessment_record(id).unwrap())
            .await
            .unwrap()
            .unwrap();
        prop_assert_eq!(
            &serde_json::from_str::<Answers>(&body.answers).unwrap(),
            &expected.answers,
            "server answers of r{}\n{}",
            record,
            model
        );
        let state = match expected.state {
            Status::Submitted => "submitted",
            Status::Returned => "returned",
            Status::Approved => "approved",
        };
        prop_assert_eq!(
            on_server.state.as_str(),
            state,
            "server state of r{}\n{}",
            record,
            model
        );
        compare_devices(real, model, record)?;
    }
    Ok(())
}

/// Each device's copy of `record` compared with the model's.
fn compare_devices(real: &Real, model: &Model, record: usize) -> Result<(), TestCaseError> {
    let id = real.ids[record];
    for (device, engine) in real.devices.iter().enumerate() {
        let store = engine.store();
        let Some(held) = model.devices[device].records[record].as_ref() else {
            // Removed for good (a delete acknowledged or pulled).
            prop_assert!(
                store.assessment(id).is_err(),
                "device {} r{} kept a deleted record\n{}",
                device,
                record,
                model
            );
            continue;
        };
        prop_assert_eq!(
            &answers(store, id),
            &held.answers,
            "device {} r{}\n{}",
            device,
            record,
            model
        );
        let real_status = status(store.assessment(id).unwrap().status);
        prop_assert_eq!(
            real_status,
            Some(held.status),
            "device {} r{} status\n{}",
            device,
            record,
            model
        );
        let kept: Vec<Answers> = store
            .replaced_answers(id)
            .unwrap()
            .into_iter()
            .map(|k| k.answers)
            .collect();
        prop_assert_eq!(
            &kept,
            &model.devices[device].kept[record],
            "device {} r{} kept\n{}",
            device,
            record,
            model
        );
        let refusals = store
            .open_refusals(100)
            .unwrap()
            .iter()
            .filter(|r| r.record_id == id.to_string())
            .count();
        prop_assert_eq!(
            refusals,
            model.open_refusals(device, record),
            "device {} r{} refusals\n{}",
            device,
            record,
            model
        );
    }
    Ok(())
}

async fn run_case(
    server: &TestServer,
    reviewer: &cdht_sync_client::SyncClient,
    scenario: &[Step],
) -> Result<Model, TestCaseError> {
    let mut real = setup(server).await;
    let mut model = Model::new(RECORDS);
    for &step in scenario {
        play(reviewer, &mut real, step).await;
        model.step(step);
    }
    for step in settle_steps(&model) {
        play(reviewer, &mut real, step).await;
        model.step(step);
    }
    compare(server, &real, &model).await?;
    Ok(model)
}

/// The scenario the planner's properties found first, on the real parts:
/// a submission superseded by the other device's newer version is kept.
#[tokio::test]
async fn a_superseded_submission_is_kept_on_the_real_device() {
    let server = start().await;
    let reviewer = server.officer(REVIEWER).await;
    let model = run_case(&server, &reviewer, &sync_model::SUPERSEDED)
        .await
        .unwrap();
    assert_eq!(model.devices[0].kept[0].len(), 1);
}

/// A pulled version waiting for this device's push comes back after it
/// (deferred, not skipped), on the real parts.
#[tokio::test]
async fn a_version_pulled_while_a_submission_waits_comes_back_after_the_push() {
    let server = start().await;
    let reviewer = server.officer(REVIEWER).await;
    let model = run_case(&server, &reviewer, &sync_model::DEFERRED)
        .await
        .unwrap();
    assert_eq!(model.devices[1].kept[0].len(), 1);
}

#[test]
fn random_scenarios_on_the_real_store_client_and_server_end_as_the_model_says() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cases = std::env::var("CDHT_MODEL_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/merge_model.txt",
        ))),
        ..Config::default()
    });
    // No lost answers here: the real link does not lose them on loopback
    // (the fault-injecting proxy tests cover retries). Pull-only rounds are
    // in: a submission made while the round pulls.
    let shared = std::cell::RefCell::new(None);
    let result = runner.run(&steps(RECORDS, 30, false, true), |scenario| {
        rt.block_on(async {
            // A new server every few scenarios: a collector's new device pulls
            // the whole unit, so one server for all would make each slower.
            let taken = shared.borrow_mut().take();
            let (server, reviewer, used) = match taken {
                Some((server, reviewer, used)) if used < SCENARIOS_PER_SERVER => {
                    (server, reviewer, used)
                }
                _ => {
                    let server = start().await;
                    let reviewer = server.officer(REVIEWER).await;
                    (server, reviewer, 0)
                }
            };
            let result = run_case(&server, &reviewer, &scenario).await;
            *shared.borrow_mut() = Some((server, reviewer, used + 1));
            result.map(|_| ())
        })
    });
    if let Err(err) = result {
        panic!("{err}");
    }
}

/// A delete before review reaches the server and the other device; one
/// after an approval is refused and the record shows again with the reason,
/// on the real parts.
#[tokio::test]
async fn deletes_before_and_after_review_end_as_the_model_says() {
    let server = start().await;
    let reviewer = server.officer(REVIEWER).await;
    let scenario = [
        Step::Delete {
            device: 0,
            record: 0,
        },
        Step::Delete {
            device: 1,
            record: 1,
        },
        Step::Approve { record: 1 },
        Step::Sync { device: 0 },
        Step::Sync { device: 1 },
        Step::Sync { device: 0 },
    ];
    let model = run_case(&server, &reviewer, &scenario).await.unwrap();
    assert!(model.server.records[0].deleted);
    assert!(model.devices.iter().all(|d| d.records[0].is_none()));
    assert!(!model.server.records[1].deleted);
    assert_eq!(model.open_refusals(1, 1), 1);
}

#[test]
fn random_scenarios_with_deletes_end_as_the_model_says() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cases = std::env::var("CDHT_MODEL_DELETE_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(60);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/merge_model_deletes.txt",
        ))),
        ..Config::default()
    });
    let shared = std::cell::RefCell::new(None);
    let result = runner.run(&steps_with_deletes(RECORDS, 30, false, true), |scenario| {
        rt.block_on(async {
            let taken = shared.borrow_mut().take();
            let (server, reviewer, used) = match taken {
                Some((server, reviewer, used)) if used < SCENARIOS_PER_SERVER => {
                    (server, reviewer, used)
                }
                _ => {
                    let server = start().await;
                    let reviewer = server.officer(REVIEWER).await;
                    (server, reviewer, 0)
                }
            };
            let result = run_case(&server, &reviewer, &scenario).await;
            *shared.borrow_mut() = Some((server, reviewer, used + 1));
            result.map(|_| ())
        })
    });
    if let Err(err) = result {
        panic!("{err}");
    }
}
