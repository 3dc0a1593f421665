//! The app's commands on real SQLite files in a temporary folder, without a window.
#![allow(clippy::unwrap_used)]

use cdht_app::{App, PersonForm, ProfileForm};
use cdht_core::ids::{GroupId, IndicatorId};
use cdht_core::Answer;
use cdht_test_support::INDICATORS;
use image::{ImageBuffer, Luma, Rgb};
use std::io::Cursor;

const UNIT_URL: &str = "https://cdht.example.vn/j/HD-CG-001?v=1#k=7K3Q9XPA";

fn qr_png(text: &str) -> Vec<u8> {
    let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
    let image = code.render::<Luma<u8>>().min_dimensions(400, 400).build();
    let mut out = Vec::new();
    image::DynamicImage::ImageLuma8(image)
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

fn photo_jpeg(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let image = ImageBuffer::from_fn(width, height, |x, y| {
        Rgb([
            (x % 251) as u8 ^ seed,
            (y % 241) as u8,
            ((x + y) % 239) as u8,
        ])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Jpeg)
        .unwrap();
    out
}

fn first_group() -> GroupId {
    let shipped = cdht_core::embedded_catalogs().unwrap();
    let newest = shipped.iter().max_by_key(|c| c.issued_on.clone()).unwrap();
    newest.groups[0].id.clone()
}

fn profile(name: &str) -> ProfileForm {
    ProfileForm {
        full_name: name.into(),
        birth_year: Some(1970),
        target_group: Some(first_group()),
        ..ProfileForm::default()
    }
}

#[test]
fn join_by_qr_image_profile_assessment_photos_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let year = App::current_year();
    let (person_id, assessment_id) = {
        let mut app = App::open_with_key_file(dir.path()).unwrap();
        let unit = app.join_unit_from_qr_image(&qr_png(UNIT_URL)).unwrap();
        assert_eq!(unit.unit_code.as_str(), "HD-CG-001");
        // Offline only the code is known: it stands in until sync brings the name.
        assert!(!unit.name_known);
        assert_eq!(unit.name, "HD-CG-001");
        assert_eq!(unit.server_url, "https://cdht.example.vn");

        let me = app.save_profile(&profile("Nguyễn Thị Hoà")).unwrap();
        assert_eq!(me.unit_code.as_ref().unwrap().as_str(), "HD-CG-001");
        let view = app.open_assessment(me.person_id, year).unwrap();
        assert_eq!(view.group.indicators().count(), 10);
        assert_eq!(view.score.unanswered.len(), 10);
        assert!(view.editable);
        let id = view.assessment.assessment_id;

        for indicator in INDICATORS {
            let saved = app
                .set_answer(id, &IndicatorId::new(indicator), Answer::Level("a".into()))
                .unwrap();
            assert!(saved.saved.revision > 1);
        }
        let one = IndicatorId::new("1.1");
        app.add_evidence(id, &one, &photo_jpeg(1200, 900, 1))
            .unwrap();
        let added = app
            .add_evidence(id, &one, &photo_jpeg(900, 1200, 2))
            .unwrap();
        assert!(added
            .evidence
            .thumbnail
            .as_deref()
            .unwrap()
            .starts_with("data:image/jpeg;base64,"));
        (me.person_id, id)
    };

    // A new process on the same folder finds everything.
    let mut app = App::open_with_key_file(dir.path()).unwrap();
    let overview = app.overview().unwrap();
    assert_eq!(overview.units.len(), 1);
    assert_eq!(overview.self_person.unwrap().full_name, "Nguyễn Thị Hoà");
    let view = app.open_assessment(person_id, year).unwrap();
    assert_eq!(view.assessment.assessment_id, assessment_id);
    assert_eq!(view.score.total, 100);
    assert!(view.score.passed);
    assert_eq!(view.evidence.len(), 2);
    assert!(view.evidence.iter().all(|e| e.thumbnail.is_some()));
    let full = app
        .evidence_photo(&view.evidence[0].evidence.sha256)
        .unwrap();
    assert!(full.starts_with("data:image/jpeg;base64,/9j/"));
    assert_eq!(
        *app.evidence_photo("../../etc/passwd").unwrap_err().code,
        cdht_core::Code::PhotoUnknown
    );

    let submitted = app.submit_assessment(assessment_id).unwrap();
    assert!(!submitted.editable);
    let sync = app.sync_status().unwrap();
    // The profile, the assessment and its two photos, counted in SQL.
    assert_eq!(sync.waiting_records, 4);
    assert_eq!(sync.waiting_photos, 2);
    assert!(sync.waiting.iter().any(|w| w.record_kind == "assessment"
        && w.year == Some(year)
        && w.person_name.as_deref() == Some("Nguyễn Thị Hoà")));
    // A queued photo is named by its assessment's person and year.
    let photos: Vec<_> = sync
        .waiting
        .iter()
        .filter(|w| w.record_kind == "evidence")
        .collect();
    assert_eq!(photos.len(), 2);
    assert!(photos
        .iter()
        .all(|w| w.year == Some(year) && w.person_name.as_deref() == Some("Nguyễn Thị Hoà")));
    let locked = app
        .set_answer(
            assessment_id,
            &IndicatorId::new("1.1"),
            Answer::Level("b".into()),
        )
        .unwrap_err();
    assert_eq!(locked.kind, "locked");
    assert_eq!(*locked.code, cdht_core::Code::Locked);
    let history = app.history(person_id).unwrap();
    assert_eq!(history.entries.len(), 1);
    assert_eq!(history.exemplary.streak, 0);
}

#[test]
fn wrong_or_damaged_qr_images_get_clear_vietnamese_messages() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open_with_key_file(dir.path()).unwrap();

    let foreign = app
        .join_unit_from_qr_image(&qr_png("https://shop.example.com/sale?id=1"))
        .unwrap_err();
    assert_eq!(foreign.kind, "qr_not_cdht");
    assert_eq!(*foreign.code, cdht_core::Code::QrNotCdht);

    let blank = app
        .join_unit_from_qr_image(&photo_jpeg(300, 200, 0))
        .unwrap_err();
    assert_eq!(blank.kind, "qr_not_found");

    let text = app
        .join_unit_from_qr_image(b"not an image at all")
        .unwrap_err();
    assert_eq!(text.kind, "qr_not_image");

    let bad_key = app
        .join_unit_typed("https://cdht.example.vn", "HD-CG-001", "12")
        .unwrap_err();
    assert_eq!(bad_key.kind, "qr_bad_join_key");
    assert!(app.overview().unwrap().units.is_empty());

    let typed = app
        .join_unit_typed("https://cdht.example.vn/", "hd-cg-001", "7k3q 9xpa")
        .unwrap();
    assert_eq!(typed.unit_code.as_str(), "HD-CG-001");
}

#[test]
fn cccd_needs_consent_and_twelve_digits_and_is_only_shown_masked() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open_with_key_file(dir.path()).unwrap();
    let mut form = profile("Trần Văn Ba");
    form.cccd = Some("001170001234".into());
    let no_consent = app.save_profile(&form).unwrap_err();
    assert_eq!(no_consent.kind, "cccd_consent_required");

    form.cccd_consent = true;
    form.cccd = Some("0011700012".into());
    assert_eq!(app.save_profile(&form).unwrap_err().kind, "cccd_invalid");

    form.cccd = Some("0011 7000 1234".into());
    let me = app.save_profile(&form).unwrap();
    assert_eq!(me.cccd_masked.as_deref(), Some("••••••••1234"));
    let json = serde_json::to_string(&app.overview().unwrap()).unwrap();
    assert!(
        !json.contains("001170001234"),
        "the full number never goes to the UI"
    );

    // Saving again without typing it keeps it; erasing removes it.
    let again = app.save_profile(&profile("Trần Văn Ba")).unwrap();
    assert_eq!(again.cccd_masked.as_deref(), Some("••••••••1234"));
    let mut erase = profile("Trần Văn Ba");
    erase.erase_cccd = true;
    assert_eq!(app.save_profile(&erase).unwrap().cccd_masked, None);

    let mut bad_year = profile("Trần Văn Ba");
    bad_year.birth_year = Some(1850);
    assert_eq!(
        app.save_profile(&bad_year).unwrap_err().kind,
        "birth_year_invalid"
    );
    assert_eq!(
        app.save_profile(&profile("  ")).unwrap_err().kind,
        "name_required"
    );
    // The server's text rule, checked in the form: no control or bidi
    // characters, no overlong fields.
    for name in ["Trần\u{202E}Văn Ba", "Trần\u{7}Văn Ba"] {
        assert_eq!(
            app.save_profile(&profile(name)).unwrap_err().kind,
            "text_invalid"
        );
    }
    assert_eq!(
        app.save_profile(&profile(&"Ba".repeat(101)))
            .unwrap_err()
            .kind,
        "text_too_long"
    );
    let mut far = PersonForm {
        full_name: "Lò Thị Hoa".into(),
        household_address: Some("Bản Nậm Pồ ".repeat(30)),
        target_group: Some(first_group()),
        ..PersonForm::default()
    };
    assert_eq!(app.save_person(&far).unwrap_err().kind, "text_too_long");
    far.household_address = Some("Bản\u{2066}Nậm Pồ".into());
    assert_eq!(app.save_person(&far).unwrap_err().kind, "text_invalid");
    let me = app.overview().unwrap().self_person.unwrap();
    assert_eq!(me.full_name, "Trần Văn Ba");
}

#[test]
fn failing_score_explains_why_and_how_to_pass() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open_with_key_file(dir.path()).unwrap();
    let me = app.save_profile(&profile("Lò Văn Mạnh")).unwrap();
    let view = app
        .open_assessment(me.person_id, App::current_year())
        .unwrap();
    let id = view.assessment.assessment_id;
    let mut last = None;
    for indicator in INDICATORS {
        let level = if indicator == "2.2" { "d" } else { "a" };
        let level = if view
            .group
            .indicator(indicator)
            .unwrap()
            .level(level)
            .is_some()
        {
            level
        } else {
            // The lowest level, whatever its id.
            view.group
                .indicator(indicator)
                .unwrap()
                .levels
                .last()
                .unwrap()
                .id
                .as_str()
        };
        last = Some(
            app.set_answer(
                id,
                &IndicatorId::new(indicator),
                Answer::Level(level.into()),
            )
            .unwrap(),
        );
    }
    let score = last.unwrap().score;
    assert!(!score.passed);
    assert!(!score.reasons.is_empty());
    assert!(score
        .improvements
        .iter()
        .any(|i| i.indicator.as_str() == "2.2"));

    let unknown = app
        .set_answer(id, &IndicatorId::new("9.9"), Answer::Points(5))
        .unwrap_err();
    assert_eq!(unknown.kind, "unknown_indicator");

    let cleared = app.clear_answer(id, &IndicatorId::new("3.2")).unwrap();
    assert_eq!(cleared.score.unanswered.len(), 1);
    let incomplete = app.submit_assessment(id).unwrap_err();
    assert_eq!(incomplete.kind, "missing_indicators");

    let not_photo = app
        .add_evidence(id, &IndicatorId::new("1.1"), b"%PDF-1.4 not a photo")
        .unwrap_err();
    assert!(not_photo.kind.starts_with("photo_"), "{}", not_photo.kind);
    assert_eq!(not_photo.code.as_str(), not_photo.kind);
}

#[test]
fn officer_adds_people_and_finds_them_without_diacritics() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open_with_key_file(dir.path()).unwrap();
    app.join_unit_typed("https://cdht.example.vn", "HD-CG-002", "ABCDEF12")
        .unwrap();
    for (name, household) in [
        ("Nguyễn Văn Thắng", "Hộ ông Thắng"),
        ("Trần Thị Bình", "Hộ bà Bình"),
        ("Lê Đức Cường", "Hộ anh Cường"),
    ] {
        let person = app
            .save_person(&PersonForm {
                full_name: name.into(),
                household_label: Some(household.into()),
                target_group: Some(first_group()),
                ..PersonForm::default()
            })
            .unwrap();
        assert_eq!(person.unit_code.as_ref().unwrap().as_str(), "HD-CG-002");
        assert!(!person.is_self);
    }
    assert_eq!(app.search_people("", 50).unwrap().len(), 3);
    let found = app.search_people("nguyen van", 50).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].full_name, "Nguyễn Văn Thắng");
    let found = app.search_people("cuong", 50).unwrap();
    assert_eq!(found[0].full_name, "Lê Đức Cường");

    // An officer opens a household member's assessment like their own.
    let binh = &app.search_people("binh", 50).unwrap()[0];
    let view = app
        .open_assessment(binh.person_id, App::current_year())
        .unwrap();
    assert_eq!(view.person_name, "Trần Thị Bình");
}

#[test]
fn a_person_without_target_group_is_asked_to_choose_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open_with_key_file(dir.path()).unwrap();
    let me = app
        .save_profile(&ProfileForm {
            full_name: "Hà Thị Lan".into(),
            ..ProfileForm::default()
        })
        .unwrap();
    let err = app
        .open_assessment(me.person_id, App::current_year())
        .unwrap_err();
    assert_eq!(err.kind, "no_target_group");
    assert_eq!(*err.code, cdht_core::Code::NoTargetGroup);
}

#[test]
fn officer_search_stays_fast_with_thousands_of_people() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open_with_key_file(dir.path()).unwrap();
    let family = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi"];
    let middle = ["Văn", "Thị", "Đức", "Minh", "Ngọc"];
    let given = [
        "An", "Bình", "Cường", "Dũng", "Hoa", "Lan", "Mai", "Sơn", "Thắng", "Yến",
    ];
    let mut n = 0;
    'outer: for round in 0..10 {
        for f in family {
            for m in middle {
                for g in given {
                    app.save_person(&PersonForm {
                        full_name: format!("{f} {m} {g}"),
                        household_label: Some(format!("Hộ số {round}")),
                        ..PersonForm::default()
                    })
                    .unwrap();
                    n += 1;
                    if n == 3000 {
                        break 'outer;
                    }
                }
            }
        }
    }
    let started = std::time::Instant::now();
    let found = app.search_people("nguyen van thang", 100).unwrap();
    let elapsed = started.elapsed();
    assert!(!found.is_empty());
    assert!(found.iter().all(|p| p.full_name == "Nguyễn Văn Thắng"));
    // Generous for a debug build on a busy machine; typically a few milliseconds.
    assert!(elapsed.as_millis() < 500, "search took {elapsed:?}");
    // Household labels are searched too ("Hộ số 7"), still quickly.
    let started = std::time::Instant::now();
    let household = app.search_people("ho so 7", 100).unwrap();
    let elapsed = started.elapsed();
    assert_eq!(household.len(), 100);
    assert!(household
        .iter()
        .all(|p| p.household_label.as_deref() == Some("Hộ số 7")));
    assert!(
        elapsed.as_millis() < 1000,
        "household search took {elapsed:?}"
    );
    let yen = app.search_people("yen", 100).unwrap();
    assert!(yen.iter().all(|p| p.full_name.ends_with("Yến")));
    assert_eq!(
        app.list_people(1000, 0).unwrap().len(),
        200,
        "one page at most"
    );
}

/// Review decisions arrive through sync (another connection to the same
/// database); the history and the assessment screen show them.
#[test]
fn history_shows_review_decisions_and_the_exemplary_streak() {
    use cdht_store::{Review, Store};
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open_with_key_file(dir.path()).unwrap();
    let me = app.save_profile(&profile("Đinh Thị Thu")).unwrap();
    let this_year = App::current_year();
    let mut reviewer = Store::open_with_key_file(dir.path()).unwrap();
    let fill_and_submit = |app: &mut App, year: i32| {
        let id = app
            .open_assessment(me.person_id, year)
            .unwrap()
            .assessment
            .assessment_id;
        for indicator in INDICATORS {
            app.set_answer(id, &IndicatorId::new(indicator), Answer::Level("a".into()))
                .unwrap();
        }
        app.submit_assessment(id).unwrap();
        id
    };
    let before = app.history(me.person_id).unwrap();
    assert_eq!(before.exemplary.streak, 0);
    assert!(!before.exemplary.eligible);

    for year in this_year - 5..this_year {
        let id = fill_and_submit(&mut app, year);
        reviewer.apply_review(id, &Review::Approved).unwrap();
        reviewer
            .apply_review(
                id,
                &Review::Recognised {
                    decision_number: format!("{year}/QĐ-KH"),
                    decision_date: chrono::NaiveDate::from_ymd_opt(year, 12, 1).unwrap(),
                },
            )
            .unwrap();
    }
    let current = fill_and_submit(&mut app, this_year);
    reviewer
        .apply_review(
            current,
            &Review::Returned {
                reason: "Ảnh minh chứng chỉ số 2.1 bị mờ, bác chụp lại giúp.".into(),
            },
        )
        .unwrap();

    let history = app.history(me.person_id).unwrap();
    assert_eq!(history.entries.len(), 6);
    assert_eq!(history.exemplary.streak, 5);
    assert!(history.exemplary.eligible);
    let returned = history
        .entries
        .iter()
        .find(|e| e.year == this_year)
        .unwrap();
    assert_eq!(returned.status.as_str(), "returned");
    assert!(returned.return_reason.as_deref().unwrap().contains("bị mờ"));

    // A returned assessment is editable again and can be sent once more.
    let view = app.open_assessment(me.person_id, this_year).unwrap();
    assert!(view.editable);
    app.set_answer(current, &IndicatorId::new("2.1"), Answer::Level("b".into()))
        .unwrap();
    let resubmitted = app.submit_assessment(current).unwrap();
    assert_eq!(resubmitted.assessment.status.as_str(), "submitted");
}

#[test]
fn officer_quick_add_with_a_cccd_needs_consent_and_shows_it_masked_grouped_by_household() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open_with_key_file(dir.path()).unwrap();
    app.join_unit_typed("https://cdht.example.vn", "HD-CG-002", "ABCDEF12")
        .unwrap();
    let form = |name: &str, household: &str| PersonForm {
        full_name: name.into(),
        household_label: Some(household.into()),
        target_group: Some(first_group()),
        ..PersonForm::default()
    };
    app.save_person(&form("Trần Thị Bình", "Hộ bà Bình"))
        .unwrap();
    app.save_person(&form("Lê Đức Cường", "Hộ anh Cường"))
        .unwrap();

    let mut with_cccd = form("Nguyễn Văn Thắng", "Hộ bà Bình");
    with_cccd.cccd = Some("036 185 004 321".into());
    let refused = app.save_person(&with_cccd).unwrap_err();
    assert_eq!(refused.kind, "cccd_consent_required");
    assert_eq!(*refused.code, cdht_core::Code::CccdConsentRequired);
    with_cccd.cccd_consent = true;
    with_cccd.cccd = Some("03618500432".into());
    assert_eq!(
        app.save_person(&with_cccd).unwrap_err().kind,
        "cccd_invalid"
    );
    with_cccd.cccd = Some("036 185 004 321".into());
    let thang = app.save_person(&with_cccd).unwrap();
    assert_eq!(thang.cccd_masked.as_deref(), Some("••••••••4321"));
    assert!(thang.cccd_consent_at_ms.is_some());
    // Nothing refused was saved on the way.
    assert_eq!(app.search_people("thang", 50).unwrap().len(), 1);

    // Grouped by household, each person with their status and masked CCCD.
    let list = app.list_people(50, 0).unwrap();
    let names: Vec<&str> = list.iter().map(|p| p.full_name.as_str()).collect();
    assert_eq!(names, ["Lê Đức Cường", "Nguyễn Văn Thắng", "Trần Thị Bình"]);
    assert_eq!(list[1].cccd_masked.as_deref(), Some("••••••••4321"));
    assert!(list.iter().all(|p| p.assessment.is_none()));
    let found = app.search_people("nguyen van", 50).unwrap();
    assert_eq!(found[0].cccd_masked.as_deref(), Some("••••••••4321"));
    // A household label finds its members, with or without diacritics.
    let household = app.search_people("ho ba binh", 50).unwrap();
    let names: Vec<&str> = household.iter().map(|p| p.full_name.as_str()).collect();
    assert_eq!(names, ["Nguyễn Văn Thắng", "Trần Thị Bình"]);
    let household = app.search_people("Cường", 50).unwrap();
    assert_eq!(household.len(), 1, "a name and its household count once");

    // The full number never goes back to the UI.
    for json in [
        serde_json::to_string(&list).unwrap(),
        serde_json::to_string(&found).unwrap(),
        serde_json::to_string(&app.person(thang.person_id).unwrap()).unwrap(),
        serde_json::to_string(&thang).unwrap(),
        serde_json::to_string(&app.overview().unwrap()).unwrap(),
    ] {
        assert!(!json.contains("036185004321"), "full CCCD in {json}");
    }

    // Editing without retyping it keeps it.
    let mut edit = form("Nguyễn Văn Thắng", "Hộ bà Bình");
    edit.person_id = Some(thang.person_id);
    edit.birth_year = Some(1985);
    let edited = app.save_person(&edit).unwrap();
    assert_eq!(edited.cccd_masked.as_deref(), Some("••••••••4321"));
    assert_eq!(
        app.store().person_cccd(thang.person_id).unwrap().as_deref(),
        Some("036185004321")
    );

    // The officer's form erases it, with its consent (as the profile does).
    let mut erase = edit.clone();
    erase.erase_cccd = true;
    let erased = app.save_person(&erase).unwrap();
    assert_eq!(erased.cccd_masked, None);
    assert_eq!(erased.cccd_consent_at_ms, None);
    assert_eq!(erased.birth_year, Some(1985));
    assert_eq!(app.store().person_cccd(thang.person_id).unwrap(), None);
}
