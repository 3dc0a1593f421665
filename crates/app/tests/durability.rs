//! What the person saw as saved survives the app being killed right after.
//!
//! Each round runs one save in a child process (this test binary again, its
//! ignored `child` test) on real SQLCipher files: an answer, a photo, the
//! profile, a submit, an officer's quick-add. The child prints `SAVED` the
//! moment the command returned (when the window would show "Đã lưu"); the
//! parent then kills it with SIGKILL at once, reopens the data and checks the
//! save is there. `CDHT_DURABILITY_ROUNDS` sets the rounds (a few in the
//! test command; `BENCHMARKS.md` gives the 100-round run).
#![allow(clippy::unwrap_used)]

use cdht_app::{App, PersonForm, ProfileForm};
use cdht_core::ids::{AssessmentId, GroupId, IndicatorId, PersonId};
use cdht_core::Answer;
use cdht_store::AssessmentStatus;
use cdht_test_support::INDICATORS;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

const ACTIONS: [&str; 5] = ["answer", "photo", "profile", "submit", "quick_add"];
const LEVELS: [&str; 3] = ["a", "b", "c"];

fn first_group() -> GroupId {
    let shipped = cdht_core::embedded_catalogs().unwrap();
    let newest = shipped.iter().max_by_key(|c| c.issued_on.clone()).unwrap();
    newest.groups[0].id.clone()
}

fn photo_jpeg(seed: u32) -> Vec<u8> {
    let image = image::ImageBuffer::from_fn(320, 240, |x, y| {
        image::Rgb([
            ((x + seed) % 251) as u8,
            ((y * seed) % 241) as u8,
            ((x + y) % 239) as u8,
        ])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(
            &mut std::io::Cursor::new(&mut out),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    out
}

/// The person's own assessment of this year (made on first use).
fn own_assessment(app: &mut App) -> AssessmentId {
    let me = app.store().self_person().unwrap().unwrap();
    app.open_assessment(me.person_id, App::current_year())
        .unwrap()
        .assessment
        .assessment_id
}

/// A quick-added person with every answer given, ready to submit.
fn complete_draft(app: &mut App, name: &str) -> AssessmentId {
    let person = app
        .save_person(&PersonForm {
            person_id: None,
            full_name: name.into(),
            birth_year: Some(1960),
            gender: None,
            ethnicity: None,
            target_group: Some(first_group()),
            household_label: None,
            household_address: None,
            cccd: None,
            cccd_consent: false,
            erase_cccd: false,
        })
        .unwrap();
    let id = app
        .open_assessment(person.person_id, App::current_year())
        .unwrap()
        .assessment
        .assessment_id;
    for indicator in INDICATORS {
        app.set_answer(id, &IndicatorId::new(indicator), Answer::Level("a".into()))
            .unwrap();
    }
    id
}

/// One save in the child; returns what the parent must find after the kill.
fn save(app: &mut App, action: &str, round: u32) -> String {
    match action {
        "answer" => {
            let id = own_assessment(app);
            let indicator = INDICATORS[round as usize % INDICATORS.len()];
            let level = LEVELS[round as usize % LEVELS.len()];
            app.set_answer(
                id,
                &IndicatorId::new(indicator),
                Answer::Level(level.into()),
            )
            .unwrap();
            format!("{id} {indicator} {level}")
        }
        "photo" => {
            let id = own_assessment(app);
            let added = app
                .add_evidence(id, &IndicatorId::new("1.1"), &photo_jpeg(round + 1))
                .unwrap();
            format!("{id} {}", added.evidence.evidence.sha256)
        }
        "profile" => {
            let name = format!("Nguyễn Thị Hoà {round}");
            app.save_profile(&ProfileForm {
                full_name: name.clone(),
                birth_year: Some(1970),
                target_group: Some(first_group()),
                ..ProfileForm::default()
            })
            .unwrap();
            name
        }
        "submit" => {
            let id = complete_draft(app, &format!("Người nộp {round}"));
            // The draft is made in the same child; the kill comes right
            // after the submit returned.
            app.submit_assessment(id).unwrap();
            id.to_string()
        }
        "quick_add" => {
            let person = app
                .save_person(&PersonForm {
                    person_id: None,
                    full_name: format!("Trần Văn Ẩn {round}"),
                    birth_year: Some(1955),
                    gender: None,
                    ethnicity: None,
                    target_group: Some(first_group()),
                    household_label: None,
                    household_address: None,
                    cccd: None,
                    cccd_consent: false,
                    erase_cccd: false,
                })
                .unwrap();
            person.person_id.to_string()
        }
        other => panic!("unknown action {other}"),
    }
}

/// Whether what the child reported as saved is in the reopened data.
fn assert_saved(dir: &Path, action: &str, saved: &str) {
    let app = App::open_with_key_file(dir).unwrap();
    let mut parts = saved.split(' ');
    let mut next = || parts.next().unwrap().to_owned();
    match action {
        "answer" => {
            let id: AssessmentId = next().parse().unwrap();
            let (indicator, level) = (next(), next());
            let view = app.assessment_view(id).unwrap();
            assert_eq!(
                view.answers.get(&indicator),
                Some(&Answer::Level(level.as_str().into())),
                "answer {indicator} lost"
            );
        }
        "photo" => {
            let id: AssessmentId = next().parse().unwrap();
            let sha = next();
            let view = app.assessment_view(id).unwrap();
            assert!(
                view.evidence.iter().any(|e| e.evidence.sha256 == sha),
                "photo {sha} lost"
            );
            // The file itself, not only its row.
            assert!(app.evidence_photo(&sha).is_ok(), "photo file {sha} lost");
        }
        "profile" => {
            let me = app.store().self_person().unwrap().unwrap();
            assert_eq!(me.full_name, saved, "profile lost");
        }
        "submit" => {
            let id: AssessmentId = next().parse().unwrap();
            let view = app.assessment_view(id).unwrap();
            assert_eq!(view.assessment.status, AssessmentStatus::Submitted);
        }
        "quick_add" => {
            let id: PersonId = next().parse().unwrap();
            assert!(app.person(id).is_ok(), "person {id} lost");
        }
        other => panic!("unknown action {other}"),
    }
}

#[test]
#[ignore = "the child process of killed_right_after_each_save_nothing_shown_as_saved_is_lost"]
fn child() {
    let dir = std::env::var("CDHT_DURABILITY_DIR").unwrap();
    let action = std::env::var("CDHT_DURABILITY_ACTION").unwrap();
    let round: u32 = std::env::var("CDHT_DURABILITY_ROUND")
        .unwrap()
        .parse()
        .unwrap();
    let mut app = App::open_with_key_file(&dir).unwrap();
    let saved = save(&mut app, &action, round);
    println!("SAVED {saved}");
    // The window shows "Đã lưu" now; the parent kills this process.
    std::thread::sleep(std::time::Duration::from_secs(60));
}

#[test]
fn killed_right_after_each_save_nothing_shown_as_saved_is_lost() {
    let rounds: u32 = std::env::var("CDHT_DURABILITY_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    {
        let mut app = App::open_with_key_file(dir.path()).unwrap();
        app.save_profile(&ProfileForm {
            full_name: "Nguyễn Thị Hoà".into(),
            birth_year: Some(1970),
            target_group: Some(first_group()),
            ..ProfileForm::default()
        })
        .unwrap();
    }
    let exe = std::env::current_exe().unwrap();
    let started = std::time::Instant::now();
    let mut checked = 0;
    for round in 0..rounds {
        for action in ACTIONS {
            let mut child = Command::new(&exe)
                .args([
                    "--exact",
                    "child",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("CDHT_DURABILITY_DIR", dir.path())
                .env("CDHT_DURABILITY_ACTION", action)
                .env("CDHT_DURABILITY_ROUND", round.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let stdout = child.stdout.take().unwrap();
            let mut saved = None;
            for line in BufReader::new(stdout).lines() {
                let line = line.unwrap();
                // libtest may print "test child ... " on the same line first.
                if let Some((_, what)) = line.split_once("SAVED ") {
                    saved = Some(what.to_owned());
                    // SIGKILL at once: no destructor, no flush, no exit.
                    child.kill().unwrap();
                    break;
                }
            }
            child.wait().unwrap();
            let saved = saved.unwrap_or_else(|| panic!("{action} round {round}: no save"));
            assert_saved(dir.path(), action, &saved);
            checked += 1;
        }
    }
    assert_eq!(checked, rounds * ACTIONS.len() as u32);
    // The line scripts/bench.sh puts in BENCHMARKS.md (a loss fails above).
    println!(
        "| rounds | kills | saves lost | time |\n|---|---|---|---|\n| {rounds} | {checked} | 0 | {:.1} s |",
        started.elapsed().as_secs_f64()
    );
}
