//! Issue 3's "done when": a 12-megapixel test photo comes out ≤ 200 KB,
//! upright, without GPS metadata, proven through the app's add-photo command
//! (the same functions the Tauri `add_evidence` command calls) and read back
//! from the evidence file in the data folder.
#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use cdht_app::{App, ProfileForm};
use cdht_core::ids::IndicatorId;
use cdht_test_support::photos::{self, contains, exif_fields, is_near, mean_rgb};

#[test]
fn twelve_megapixel_phone_photo_is_stored_small_upright_and_without_location() {
    let input = photos::phone_photo(11);
    // The fixture really is a big landscape sensor image that carries what
    // must be removed, and is to be shown rotated (Orientation 6).
    let source = image::load_from_memory(&input).unwrap();
    assert_eq!(
        (source.width(), source.height()),
        (photos::SENSOR_W, photos::SENSOR_H)
    );
    let fields = exif_fields(&input);
    for t in [
        exif::Tag::GPSLatitude,
        exif::Tag::GPSLongitude,
        exif::Tag::Make,
        exif::Tag::Model,
    ] {
        assert!(fields.iter().any(|f| f.tag == t), "fixture lacks {t}");
    }
    let orientation = fields
        .iter()
        .find(|f| f.tag == exif::Tag::Orientation)
        .and_then(|f| f.value.get_uint(0));
    assert_eq!(orientation, Some(6));
    assert!(input.len() > 1_500_000, "fixture is {} bytes", input.len());

    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open_with_key_file(dir.path()).unwrap();
    let group = app.current_catalog().unwrap().groups[0].id.clone();
    let me = app
        .save_profile(&ProfileForm {
            full_name: "Lò Thị Mai".into(),
            birth_year: Some(1985),
            target_group: Some(group),
            ..ProfileForm::default()
        })
        .unwrap();
    let view = app
        .open_assessment(me.person_id, App::current_year())
        .unwrap();
    let assessment_id = view.assessment.assessment_id;
    let indicator = IndicatorId::new("1.1");

    // What the Tauri `add_evidence` command does with the webview's file:
    // base64 in, pipeline outside the lock, then stored.
    let image_base64 = format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&input)
    );
    let photo = cdht_app::process_photo_base64(&image_base64, &app.photo_options()).unwrap();
    let added = app
        .add_processed_evidence(assessment_id, &indicator, &photo)
        .unwrap();
    let evidence = &added.evidence.evidence;
    assert_eq!(evidence.mime, "image/jpeg");
    assert_eq!(
        (evidence.width_px, evidence.height_px),
        (Some(1200), Some(1600))
    );
    assert!(evidence.taken_at_ms.is_some(), "capture time is kept");

    // The file in the data folder is what counts.
    let path = app.store().evidence_path(&evidence.sha256);
    assert!(
        path.starts_with(dir.path()),
        "{} outside the data folder",
        path.display()
    );
    let stored = std::fs::read(&path).unwrap();
    assert!(
        stored.len() <= 200_000,
        "stored evidence is {} bytes",
        stored.len()
    );
    assert_eq!(stored.len() as u64, evidence.byte_size);

    // Upright: portrait, pixels rotated 90° clockwise (the stored top-left red
    // marker is now top-right, the bottom-left blue one top-left).
    let img = image::load_from_memory(&stored).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (1200, 1600));
    let m = photos::MARKER * 1600 / photos::SENSOR_W;
    let probe = m / 2;
    let right = 1200 - m + m / 4;
    let top_right = mean_rgb(&img, right, m / 4, probe);
    let top_left = mean_rgb(&img, m / 4, m / 4, probe);
    assert!(is_near(top_right, photos::RED), "top-right {top_right:?}");
    assert!(is_near(top_left, photos::BLUE), "top-left {top_left:?}");

    // No location, no device, no orientation left to re-apply.
    let tags: Vec<exif::Tag> = exif_fields(&stored).iter().map(|f| f.tag).collect();
    for t in [
        exif::Tag::GPSLatitude,
        exif::Tag::GPSLatitudeRef,
        exif::Tag::GPSLongitude,
        exif::Tag::GPSLongitudeRef,
        exif::Tag::GPSInfoIFDPointer,
        exif::Tag::Make,
        exif::Tag::Model,
        exif::Tag::Software,
        exif::Tag::Orientation,
    ] {
        assert!(!tags.contains(&t), "stored evidence still has {t}");
    }
    for needle in [photos::MAKE.as_bytes(), photos::MODEL.as_bytes(), b"A125F"] {
        assert!(!contains(&stored, needle), "stored file holds {needle:?}");
    }

    // Reopened, the assessment shows the same photo.
    drop(app);
    let mut app = App::open_with_key_file(dir.path()).unwrap();
    let view = app
        .open_assessment(me.person_id, App::current_year())
        .unwrap();
    assert_eq!(view.evidence.len(), 1);
    assert_eq!(view.evidence[0].evidence.sha256, evidence.sha256);
}
