#![allow(clippy::unwrap_used)]
//! The app's background sync loop against the real server on 127.0.0.1:0:
//! a join made in the app (offline first) is enrolled by the loop, and a
//! submitted assessment reaches the server.

use cdht_app::background::{spawn_sync_thread, SyncEvent, SyncLoop, SyncShared, SyncState};
use cdht_app::{App, ProfileForm};
use cdht_core::ids::IndicatorId;
use cdht_core::Answer;
use cdht_server::{AppState, Config};
use cdht_sync_engine::{RetryBackoff, ServerConfig, SyncErrorKind, SyncPhase};
use cdht_test_support::down_link::DownLink;
use cdht_test_support::server::{start, stats};
use cdht_test_support::INDICATORS;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const UNIT: &str = "DEMO-X1-C1";

fn submit_own_assessment(app: &mut App, name: &str) {
    let group = app.current_catalog().unwrap().groups[0].id.clone();
    let me = app
        .save_profile(&ProfileForm {
            full_name: name.into(),
            birth_year: Some(1970),
            target_group: Some(group),
            ..ProfileForm::default()
        })
        .unwrap();
    let id = app
        .open_assessment(me.person_id, App::current_year())
        .unwrap()
        .assessment
        .assessment_id;
    for indicator in INDICATORS {
        app.set_answer(id, &IndicatorId::new(indicator), Answer::Level("a".into()))
            .unwrap();
    }
    app.submit_assessment(id).unwrap();
}

/// A small JPEG, like a phone photo after the pipeline.
fn photo_jpeg() -> Vec<u8> {
    let image = image::ImageBuffer::from_fn(320, 240, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x + y) % 239) as u8])
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

async fn wait_until(shared: &SyncShared, what: &str, done: impl Fn(&SyncState) -> bool) {
    for _ in 0..300 {
        if done(&shared.snapshot()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}: {:?}", shared.snapshot());
}

/// The database key of a test data folder: its key file, made on first use.
fn key_of(dir: &std::path::Path) -> cdht_store::DatabaseKey {
    cdht_store::load_or_create_key(dir, None).unwrap().key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_in_the_app_is_enrolled_by_the_loop_and_the_submitted_assessment_reaches_the_server()
{
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open_with_key_file(dir.path()).unwrap();

    // The loop starts with the app: not enrolled, nothing joined, it stays idle.
    let shared = SyncShared::new();
    let events = Arc::new(Mutex::new(Vec::<SyncEvent>::new()));
    let sink = Arc::clone(&events);
    let _thread = spawn_sync_thread(
        dir.path().to_path_buf(),
        key_of(dir.path()),
        ServerConfig::default(),
        Arc::clone(&shared),
        move |e| sink.lock().unwrap().push(e),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = shared.snapshot();
    assert!(!idle.enrolled && !idle.enrol_pending, "{idle:?}");
    assert_eq!(idle.rounds, 0, "no round without a join: {idle:?}");
    assert!(events.lock().unwrap().is_empty());

    // The join command stores the unit offline (the UI does not wait), the
    // person submits an assessment, and the shell nudges the loop.
    let unit = app.join_unit_from_qr_text(&server.qr_url(UNIT)).unwrap();
    assert!(!unit.name_known);
    submit_own_assessment(&mut app, "Nguyễn Thị Hoà");
    assert!(app.sync_status().unwrap().waiting_records >= 2);
    shared.nudge();

    wait_until(&shared, "a successful round", |s| s.last_done.is_some()).await;
    let state = shared.snapshot();
    assert!(state.enrolled && !state.enrol_pending, "{state:?}");
    assert_eq!(state.unit_code.as_deref(), Some(UNIT));
    assert!(state.last_error.is_none(), "{state:?}");
    assert!(state.last_success_ms.is_some());
    let done = state.last_done.unwrap();
    assert_eq!(done.pushed, 2, "the profile and the assessment: {done:?}");
    assert_eq!(done.rejected, 0);
    let progress = state.progress.unwrap();
    assert_eq!(progress.phase, SyncPhase::Done);
    assert_eq!((progress.items_done, progress.items_total), (2, 2));

    // The events the window gets, in order: enrolled, progress…, done.
    let names: Vec<&str> = events.lock().unwrap().iter().map(SyncEvent::name).collect();
    assert_eq!(names.first(), Some(&"sync-enrolled"), "{names:?}");
    assert_eq!(names.last(), Some(&"sync-done"), "{names:?}");
    assert!(names.contains(&"sync-progress"));
    assert!(!names.contains(&"sync-error"), "{names:?}");

    // The server has the person and the assessment; the app has nothing waiting
    // and now knows the unit's real name.
    let stats = stats(&server.state).await;
    assert_eq!((stats.persons, stats.assessments), (1, 1));
    let sync = app.sync_status().unwrap();
    assert_eq!((sync.waiting_records, sync.waiting_photos), (0, 0));
    let overview = app.overview().unwrap();
    assert!(overview.units.iter().any(|u| u.name_known));

    // "Sync now" runs another round at once; it sends nothing new.
    shared.nudge();
    wait_until(&shared, "a second round", |s| s.rounds >= 2).await;
    assert_eq!(shared.snapshot().last_done.unwrap().pushed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_join_waits_for_the_network_then_enrols_on_a_later_round() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open_with_key_file(dir.path()).unwrap();
    // A server address whose link is down (yet): the join is offline.
    let link = DownLink::start().await;
    app.join_unit_typed(&link.url, UNIT, "ABCDEF12").unwrap();

    let shared = SyncShared::new();
    let mut config = ServerConfig::default();
    config.request_retry.max_attempts = 1;
    let mut sync_loop =
        SyncLoop::open(dir.path(), &key_of(dir.path()), config, Arc::clone(&shared))
            .unwrap()
            .with_backoff(RetryBackoff::new(
                Duration::from_millis(10),
                Duration::from_millis(50),
            ));
    assert!(sync_loop.has_work());
    assert!(shared.snapshot().enrol_pending);
    let mut seen = Vec::new();
    let outcome = sync_loop.round(&mut |e| seen.push(e)).await;
    let cdht_app::background::RoundOutcome::Failed(err) = outcome else {
        panic!("expected an offline failure, got {outcome:?}");
    };
    assert_eq!(err.kind, SyncErrorKind::Offline);
    assert_eq!(err.error, cdht_core::Code::Offline);
    let state = shared.snapshot();
    assert!(state.enrol_pending && !state.enrolled, "{state:?}");
    assert!(matches!(seen.as_slice(), [SyncEvent::Error(_)]));
    // The join is kept: the unit is still there and the loop will try again.
    assert_eq!(app.overview().unwrap().units.len(), 1);
    assert!(sync_loop.has_work());
}

/// Offline after a failed round, the loop does not sleep out a long backoff:
/// it probes the server every (short, for the test) interval and runs a round
/// as soon as the server answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_the_loop_probes_and_syncs_as_soon_as_the_server_answers() {
    use cdht_core::ids::UnitCode;
    use cdht_core::sync::DeviceScope;
    use cdht_store::{Store, SyncCredentials};
    let dir = tempfile::tempdir().unwrap();
    // An enrolled device whose link to the server is down.
    let link = DownLink::start().await;
    let addr = link.addr;
    Store::open_with_key_file(dir.path())
        .unwrap()
        .save_sync_credentials(&SyncCredentials {
            server_url: format!("http://{addr}"),
            unit_code: UnitCode::new(UNIT),
            device_id: "0190f6a0-0000-7000-8000-000000000001".into(),
            device_token: "not-a-real-token".into(),
            scope: DeviceScope::OwnRecords,
            officer_username: None,
            updated_at_ms: 0,
        })
        .unwrap();
    let shared = SyncShared::new();
    let mut config = ServerConfig::default();
    config.request_retry.max_attempts = 1;
    let hour = Duration::from_secs(3600);
    let mut sync_loop =
        SyncLoop::open(dir.path(), &key_of(dir.path()), config, Arc::clone(&shared))
            .unwrap()
            .with_backoff(RetryBackoff::new(hour, hour))
            .with_probe_every(Duration::from_millis(200));
    let outcome = sync_loop.round(&mut |_| {}).await;
    let cdht_app::background::RoundOutcome::Failed(err) = outcome else {
        panic!("expected an offline failure, got {outcome:?}");
    };
    assert_eq!(err.kind, SyncErrorKind::Offline);

    // Still offline: the probes fail quietly and the loop keeps waiting.
    assert!(
        tokio::time::timeout(Duration::from_millis(700), sync_loop.wait())
            .await
            .is_err(),
        "no round while the server is down"
    );

    // The server comes back on its address: the next probe answers and the
    // loop wakes for a round well before its hour of backoff.
    let server_dir = tempfile::tempdir().unwrap();
    let state = AppState::open(Config::new(server_dir.path().to_path_buf())).unwrap();
    let addr = link.stop().await;
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    tokio::spawn(cdht_server::serve(state, listener));
    let started = std::time::Instant::now();
    let woke = tokio::time::timeout(Duration::from_secs(10), sync_loop.wait())
        .await
        .expect("a probe reached the server");
    assert!(woke, "woken by the probe, not by the backoff running out");
    assert!(started.elapsed() < Duration::from_secs(5));
    // The round reaches the server this time (its answer: this made-up
    // token is unknown, so the person is asked to join again).
    let outcome = sync_loop.round(&mut |_| {}).await;
    let cdht_app::background::RoundOutcome::Failed(err) = outcome else {
        panic!("expected the server's refusal, got {outcome:?}");
    };
    assert_eq!(err.kind, SyncErrorKind::AuthExpired);
}

/// An officer logs in on the device through the loop (the engine lives on its
/// thread): a wrong password, a reviewer without the collector role, then the
/// collector; the device then pulls what another phone of the unit pushed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_logs_in_on_the_device_and_gets_the_units_records() {
    let server = start().await;
    let qr = server.qr_url(UNIT);
    let password_of = |name: &str| server.password(name);

    // Another phone of the unit: a citizen submits their own assessment with
    // a photo for indicator 1.1.
    let other_dir = tempfile::tempdir().unwrap();
    let photo_sha = {
        let mut other = App::open_with_key_file(other_dir.path()).unwrap();
        other.join_unit_from_qr_text(&qr).unwrap();
        let group = other.current_catalog().unwrap().groups[0].id.clone();
        let me = other
            .save_profile(&ProfileForm {
                full_name: "Đỗ Thị Hương".into(),
                birth_year: Some(1975),
                target_group: Some(group),
                ..ProfileForm::default()
            })
            .unwrap();
        let id = other
            .open_assessment(me.person_id, App::current_year())
            .unwrap()
            .assessment
            .assessment_id;
        for indicator in INDICATORS {
            other
                .set_answer(id, &IndicatorId::new(indicator), Answer::Level("a".into()))
                .unwrap();
        }
        let added = other
            .add_evidence(id, &IndicatorId::new("1.1"), &photo_jpeg())
            .unwrap();
        other.submit_assessment(id).unwrap();
        added.evidence.evidence.sha256
    };
    let other_shared = SyncShared::new();
    let _other_thread = spawn_sync_thread(
        other_dir.path().to_path_buf(),
        key_of(other_dir.path()),
        ServerConfig::default(),
        Arc::clone(&other_shared),
        |_| {},
    )
    .unwrap();
    wait_until(&other_shared, "the other phone's round", |s| {
        s.last_done.is_some()
    })
    .await;

    // The officer's device joins the same unit.
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open_with_key_file(dir.path()).unwrap();
    app.join_unit_from_qr_text(&qr).unwrap();
    let shared = SyncShared::new();
    let _thread = spawn_sync_thread(
        dir.path().to_path_buf(),
        key_of(dir.path()),
        ServerConfig::default(),
        Arc::clone(&shared),
        |_| {},
    )
    .unwrap();
    shared.nudge();
    wait_until(&shared, "enrolment", |s| s.last_done.is_some()).await;
    // Own records only: nobody else's people.
    assert!(app.search_people("", 50).unwrap().is_empty());
    assert_eq!(app.device_officer().unwrap(), None);

    let wrong = shared
        .bind_officer("nhaplieu-x1-c1", "not-the-password")
        .await
        .unwrap_err();
    assert_eq!(wrong.kind, "officer_bad_credentials", "{wrong:?}");
    let reviewer = shared
        .bind_officer("kiemtra-x1", &password_of("kiemtra-x1"))
        .await
        .unwrap_err();
    assert_eq!(reviewer.kind, "officer_no_role", "{reviewer:?}");

    let rounds = shared.snapshot().rounds;
    let bound = shared
        .bind_officer("nhaplieu-x1-c1", &password_of("nhaplieu-x1-c1"))
        .await
        .unwrap();
    assert_eq!(bound.username, "nhaplieu-x1-c1");
    assert_eq!(shared.snapshot().officer.as_deref(), Some("nhaplieu-x1-c1"));
    assert_eq!(
        app.device_officer().unwrap().as_deref(),
        Some("nhaplieu-x1-c1")
    );
    // A round starts at once and brings the unit's people.
    wait_until(&shared, "the round after the login", |s| {
        s.rounds > rounds && s.last_done.is_some() && !s.running
    })
    .await;
    let people = app.search_people("", 50).unwrap();
    let huong = people
        .iter()
        .find(|p| p.full_name == "Đỗ Thị Hương")
        .unwrap_or_else(|| panic!("pulled person not listed: {people:?}"));
    let assessment = huong.assessment.as_ref().expect("their assessment pulled");
    assert_eq!(assessment.year, App::current_year());
    assert_eq!(app.search_people("huong", 50).unwrap().len(), 1);

    // Its photo stays on the server until opened: a placeholder, then "Tải ảnh".
    let view = app
        .open_assessment(huong.person_id, App::current_year())
        .unwrap();
    let photo = &view.evidence[0];
    assert_eq!(photo.evidence.sha256, photo_sha);
    assert!(!photo.evidence.on_device);
    assert!(photo.thumbnail.is_none());
    assert_eq!(
        app.evidence_photo(&photo_sha).unwrap_err().kind,
        "photo_on_server"
    );
    shared.fetch_evidence_photo(&photo_sha).await.unwrap();
    let fetched = app.evidence_view_by_id(photo.evidence.evidence_id).unwrap();
    assert!(fetched.evidence.on_device);
    assert!(fetched
        .thumbnail
        .unwrap()
        .starts_with("data:image/jpeg;base64,"));
    assert!(app.evidence_photo(&photo_sha).is_ok());

    // Logging out: the device is a citizen's phone again; what was pulled stays.
    shared.unbind_officer().await.unwrap();
    assert_eq!(shared.snapshot().officer, None);
    assert_eq!(app.device_officer().unwrap(), None);
}

/// An officer's device joined at the commune pulls the people of its
/// branches too; the list names a pulled person's own unit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pulled_person_of_a_branch_is_listed_with_their_unit() {
    let server = start().await;
    let qr_of = |code: &str| server.qr_url(code);

    // A citizen of the branch DEMO-X1-C1 submits from their phone.
    let phone_dir = tempfile::tempdir().unwrap();
    {
        let mut phone = App::open_with_key_file(phone_dir.path()).unwrap();
        phone.join_unit_from_qr_text(&qr_of(UNIT)).unwrap();
        submit_own_assessment(&mut phone, "Ngô Thị Thu");
    }
    let phone_shared = SyncShared::new();
    let _phone = spawn_sync_thread(
        phone_dir.path().to_path_buf(),
        key_of(phone_dir.path()),
        ServerConfig::default(),
        Arc::clone(&phone_shared),
        |_| {},
    )
    .unwrap();
    wait_until(&phone_shared, "the phone's round", |s| {
        s.last_done.is_some()
    })
    .await;

    // The commune's device; the province admin logs in on it.
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open_with_key_file(dir.path()).unwrap();
    app.join_unit_from_qr_text(&qr_of("DEMO-X1")).unwrap();
    let shared = SyncShared::new();
    let _thread = spawn_sync_thread(
        dir.path().to_path_buf(),
        key_of(dir.path()),
        ServerConfig::default(),
        Arc::clone(&shared),
        |_| {},
    )
    .unwrap();
    shared.nudge();
    wait_until(&shared, "enrolment", |s| s.last_done.is_some()).await;
    let admin = server
        .demo
        .officers
        .iter()
        .find(|o| o.username == "admin-tinh")
        .unwrap();
    let rounds = shared.snapshot().rounds;
    shared
        .bind_officer(&admin.username, &admin.password)
        .await
        .unwrap();
    wait_until(&shared, "the round after the login", |s| {
        s.rounds > rounds && !s.running
    })
    .await;
    // A round already under way when the login landed may count first: the
    // pull that follows the login brings the branch's person soon after.
    for _ in 0..100 {
        if !app.search_people("thu", 50).unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let people = app.search_people("thu", 50).unwrap();
    assert_eq!(people.len(), 1, "{people:?}");
    assert_eq!(people[0].full_name, "Ngô Thị Thu");
    assert_eq!(people[0].owner_unit.as_deref(), Some(UNIT));
    assert!(people[0].assessment.is_some());
    // The JSON the list sends the window carries it next to the person's fields.
    let json = serde_json::to_value(&people[0]).unwrap();
    assert_eq!(json["owner_unit"], UNIT);
    assert_eq!(json["full_name"], "Ngô Thị Thu");
}
