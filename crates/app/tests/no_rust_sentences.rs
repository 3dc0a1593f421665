//! What the UI receives from the app's commands carries no sentence made in
//! Rust: every string is an id, a code, a number-like value, a text of the
//! shipped catalogs, or something a person typed. Refusals, errors, score
//! reasons and suggestions are codes the UI's catalogs word (see
//! `code_wording.rs`). The one exception is an error's `detail`, English for
//! logs, which the UI never reads (checked below on its sources).
#![allow(clippy::unwrap_used)]

use cdht_app::{App, PersonForm, ProfileForm};
use cdht_core::ids::IndicatorId;
use cdht_core::Answer;
use cdht_test_support::INDICATORS;
use serde_json::Value;
use std::collections::HashSet;

/// Every string of the shipped catalogs (indicator titles, levels, groups):
/// data shown as it is, not sentences made in Rust.
fn catalog_strings() -> HashSet<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../core/catalogs");
    let mut strings = HashSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let json: Value =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            collect(&json, &mut strings);
        }
    }
    strings
}

fn collect(value: &Value, into: &mut HashSet<String>) {
    match value {
        Value::String(s) => {
            into.insert(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, into)),
        Value::Object(map) => map.values().for_each(|v| collect(v, into)),
        _ => {}
    }
}

/// The paths of strings in `value` that read as sentences (with a space)
/// and are neither catalog data nor typed by a person.
fn sentences(value: &Value, path: &str, allowed: &HashSet<String>, found: &mut Vec<String>) {
    match value {
        Value::String(s) if s.contains(char::is_whitespace) && !allowed.contains(s) => {
            found.push(format!("{path} = {s:?}"));
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                sentences(v, &format!("{path}[{i}]"), allowed, found);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                // An error's `detail`: English for logs, never shown.
                if k != "detail" {
                    sentences(v, &format!("{path}.{k}"), allowed, found);
                }
            }
        }
        _ => {}
    }
}

#[test]
fn command_answers_and_errors_carry_codes_and_data_not_sentences() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open_with_key_file(dir.path()).unwrap();
    let typed = ["Lò Văn Mạnh", "Lò Thị Hoa", "Bản Nậm Pồ"];
    let shipped = cdht_core::embedded_catalogs().unwrap();
    let newest = shipped.iter().max_by_key(|c| c.issued_on.clone()).unwrap();
    let group = newest.groups[0].id.clone();
    let me = app
        .save_profile(&ProfileForm {
            full_name: typed[0].into(),
            birth_year: Some(1970),
            target_group: Some(group.clone()),
            ..ProfileForm::default()
        })
        .unwrap();
    app.save_person(&PersonForm {
        full_name: typed[1].into(),
        household_address: Some(typed[2].into()),
        target_group: Some(group),
        ..PersonForm::default()
    })
    .unwrap();
    let view = app
        .open_assessment(me.person_id, App::current_year())
        .unwrap();
    let id = view.assessment.assessment_id;
    let mut answers = Vec::new();
    let mut answer = |app: &mut App, indicator: &str, answer: Answer| {
        let saved = app
            .set_answer(id, &IndicatorId::new(indicator), answer)
            .unwrap();
        answers.push(serde_json::to_value(&saved).unwrap());
    };
    let level = |indicator: &str, points: u32| {
        let ind = view.group.indicator(indicator).unwrap();
        Answer::Level(
            ind.levels
                .iter()
                .find(|l| l.points == points)
                .unwrap()
                .id
                .clone(),
        )
    };
    // 79 points: 3.2, by points, is best raised to 6 (a plain raise).
    for (indicator, points) in INDICATORS.iter().zip([10, 10, 10, 10, 10, 7, 7, 5, 5]) {
        answer(&mut app, indicator, level(indicator, points));
    }
    answer(&mut app, "3.2", Answer::Points(5));
    let raise_points = app.assessment_view(id).unwrap();
    // 2.2 at its lowest level and 3.2 under the minimum: raised to levels.
    answer(&mut app, "2.2", level("2.2", 0));
    answer(&mut app, "3.2", Answer::Points(2));
    let view = app.assessment_view(id).unwrap();
    let codes: HashSet<_> = [&raise_points, &view]
        .iter()
        .flat_map(|v| v.score.improvements.iter().map(|i| i.code))
        .collect();
    assert_eq!(codes.len(), 2, "both kinds of suggestion: {codes:?}");
    assert!(!view.score.passed && !view.score.reasons.is_empty());

    let mut shown = vec![
        ("assessment_view", serde_json::to_value(&view).unwrap()),
        (
            "assessment_view",
            serde_json::to_value(&raise_points).unwrap(),
        ),
        ("set_answer", Value::Array(answers)),
        (
            "overview",
            serde_json::to_value(app.overview().unwrap()).unwrap(),
        ),
        (
            "history",
            serde_json::to_value(app.history(me.person_id).unwrap()).unwrap(),
        ),
        (
            "list_people",
            serde_json::to_value(app.list_people(50, 0).unwrap()).unwrap(),
        ),
        (
            "sync_status",
            serde_json::to_value(app.sync_status().unwrap()).unwrap(),
        ),
    ];
    // Refusals: a bad answer, a bad QR code, not a photo, a bad profile.
    let errors = [
        app.set_answer(id, &IndicatorId::new("9.9"), Answer::Points(5))
            .unwrap_err(),
        app.join_unit_from_qr_text("https://example.com/not-cdht")
            .unwrap_err(),
        app.join_unit_from_qr_image(b"not a picture").unwrap_err(),
        app.add_evidence(id, &IndicatorId::new("1.1"), b"not a photo")
            .unwrap_err(),
        app.save_profile(&ProfileForm::default()).unwrap_err(),
    ];
    for err in &errors {
        assert!(!err.detail.is_empty(), "{err:?}");
        shown.push(("error", serde_json::to_value(err).unwrap()));
    }

    let mut allowed = catalog_strings();
    allowed.extend(typed.iter().map(|s| (*s).to_owned()));
    let mut found = Vec::new();
    for (command, value) in &shown {
        sentences(value, command, &allowed, &mut found);
    }
    assert!(found.is_empty(), "sentences made in Rust: {found:#?}");
}

/// The UI never shows an error's `detail` (English for logs): no source of
/// the app, the dashboard or the shared components reads it.
#[test]
fn the_ui_never_reads_an_errors_detail() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui");
    let mut readers = Vec::new();
    for part in ["app/src", "shared/src", "dashboard/src"] {
        let mut stack = vec![std::path::PathBuf::from(format!("{root}/{part}"))];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    if !path.ends_with("generated") {
                        stack.push(path);
                    }
                } else if path.extension().is_some_and(|e| e == "ts" || e == "tsx") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    if text.contains(".detail") {
                        readers.push(path.display().to_string());
                    }
                }
            }
        }
    }
    assert!(
        readers.is_empty(),
        "these read an error's detail: {readers:?}"
    );
}
