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
use std::sync::{Arc, Mutex};
use std::time::Duration;

const UNIT: &str = "DEMO-X1-C1";
const INDICATORS: [&str; 10] = [
    "1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2",
];

struct Server {
    qr: String,
    state: AppState,
    _dir: tempfile::TempDir,
}

async fn start_server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::open(Config::new(dir.path().to_path_buf())).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let storage = Arc::clone(&state.storage);
    let demo = tokio::task::spawn_blocking(move || {
        cdht_server::init::init_demo(storage.as_ref(), &url).unwrap()
    })
    .await
    .unwrap();
    tokio::spawn(cdht_server::serve(state.clone(), listener));
    let qr = demo
        .units
        .iter()
        .find(|u| u.code == UNIT)
        .unwrap()
        .qr_url
        .clone();
    Server {
        qr,
        state,
        _dir: dir,
    }
}

async fn stats(state: &AppState) -> cdht_server::storage::Stats {
    let storage = Arc::clone(&state.storage);
    tokio::task::spawn_blocking(move || storage.stats().unwrap())
        .await
        .unwrap()
}

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

async fn wait_until(shared: &SyncShared, what: &str, done: impl Fn(&SyncState) -> bool) {
    for _ in 0..300 {
        if done(&shared.snapshot()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}: {:?}", shared.snapshot());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_in_the_app_is_enrolled_by_the_loop_and_the_submitted_assessment_reaches_the_server()
{
    let server = start_server().await;
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open(dir.path()).unwrap();

    // The loop starts with the app: not enrolled, nothing joined, it stays idle.
    let shared = SyncShared::new();
    let events = Arc::new(Mutex::new(Vec::<SyncEvent>::new()));
    let sink = Arc::clone(&events);
    let _thread = spawn_sync_thread(
        dir.path().to_path_buf(),
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
    let unit = app.join_unit_from_qr_text(&server.qr).unwrap();
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
    let mut app = App::open(dir.path()).unwrap();
    // A server address where nothing listens (yet): the join is offline.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    app.join_unit_typed(&format!("http://{addr}"), UNIT, "ABCDEF12")
        .unwrap();

    let shared = SyncShared::new();
    let mut config = ServerConfig::default();
    config.request_retry.max_attempts = 1;
    let mut sync_loop = SyncLoop::open(dir.path(), config, Arc::clone(&shared))
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
    assert!(err.message.contains("Chưa có mạng"));
    let state = shared.snapshot();
    assert!(state.enrol_pending && !state.enrolled, "{state:?}");
    assert!(matches!(seen.as_slice(), [SyncEvent::Error(_)]));
    // The join is kept: the unit is still there and the loop will try again.
    assert_eq!(app.overview().unwrap().units.len(), 1);
    assert!(sync_loop.has_work());
}
