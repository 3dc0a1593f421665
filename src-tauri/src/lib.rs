//! The Tauri shell of CDHT: opens the app's data folder, then exposes each
//! `cdht_app::App` method as a thin `#[tauri::command]`. All logic lives in
//! `cdht-app` (tested without a window); nothing here decides anything.

use cdht_app::background::{spawn_sync_thread, OfficerBinding, SyncEvent, SyncShared, SyncState};
use cdht_app::{
    AnswerSaved, App, AppError, AssessmentView, EvidenceAdded, EvidenceView, HistoryView, Overview,
    PersonForm, ProfileForm, SyncStatus,
};
use cdht_core::ids::{AssessmentId, EvidenceId, IndicatorId, PersonId};
use cdht_core::Answer;
use cdht_core::Code;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tauri::{Emitter, Manager, State};

/// The open app, or why it could not open (shown on the first screen), and
/// the background sync loop's shared state (its own thread owns the engine).
struct AppState {
    app: Mutex<Option<App>>,
    open_error: Option<AppError>,
    sync: Arc<SyncShared>,
}

impl AppState {
    fn with<T>(&self, action: impl FnOnce(&mut App) -> Result<T, AppError>) -> Result<T, AppError> {
        let mut guard = self
            .app
            .lock()
            .map_err(|_| AppError::new(Code::AppFailed, "app mutex poisoned"))?;
        match guard.as_mut() {
            Some(app) => action(app),
            None => Err(self
                .open_error
                .clone()
                .unwrap_or_else(|| AppError::new(Code::AppFailed, "no app"))),
        }
    }
}

/// Opens the window of `tauri.conf.json` (`"create": false` there): made
/// here so that with `--data-dir` the webview keeps its own storage under
/// that folder too, and only once the commands' state is managed.
fn open_main_window(app: &tauri::App) -> tauri::Result<()> {
    let config = app
        .config()
        .app
        .windows
        .first()
        .cloned()
        .unwrap_or_default();
    let mut window = tauri::WebviewWindowBuilder::from_config(app.handle(), &config)?;
    if let Some(dir) =
        cdht_app::data_dir_override(std::env::args().skip(1), std::env::var_os("CDHT_DATA_DIR"))
    {
        window = window.data_directory(dir.join("webview"));
    }
    window.build()?;
    Ok(())
}

/// Where the data lives: `--data-dir DIR`, else `CDHT_DATA_DIR`, else the
/// platform's app data folder (on Linux it follows `XDG_DATA_HOME`).
fn data_dir(handle: &tauri::AppHandle) -> Result<PathBuf, String> {
    match cdht_app::data_dir_override(std::env::args().skip(1), std::env::var_os("CDHT_DATA_DIR")) {
        Some(dir) => Ok(dir),
        None => handle.path().app_data_dir().map_err(|e| e.to_string()),
    }
}

type CmdResult<T> = Result<T, AppError>;

#[tauri::command(async, rename_all = "snake_case")]
fn overview(state: State<'_, AppState>) -> CmdResult<Overview> {
    state.with(|app| app.overview())
}

#[tauri::command(rename_all = "snake_case")]
async fn join_unit_from_qr_image(
    state: State<'_, AppState>,
    image_base64: String,
) -> CmdResult<cdht_store_person::Unit> {
    let bytes = cdht_app::image_bytes_from_base64(&image_base64)?;
    join_checked(&state, cdht_app::join_payload_from_qr_image(&bytes)?).await
}

#[tauri::command(rename_all = "snake_case")]
async fn join_unit_from_qr_text(
    state: State<'_, AppState>,
    text: String,
) -> CmdResult<cdht_store_person::Unit> {
    join_checked(&state, cdht_app::join_payload_from_qr_text(&text)?).await
}

#[tauri::command(rename_all = "snake_case")]
async fn join_unit_typed(
    state: State<'_, AppState>,
    server: String,
    unit: String,
    join_key: String,
) -> CmdResult<cdht_store_person::Unit> {
    join_checked(
        &state,
        cdht_app::join_payload_typed(&server, &unit, &join_key)?,
    )
    .await
}

/// Asks the server whether it is CDHT when a network is there (refusing a
/// wrong address now, not after a day of failed syncs), stores the join
/// (offline too), and lets the sync loop enrol with the server.
async fn join_checked(
    state: &AppState,
    payload: cdht_core::qr::JoinPayload,
) -> CmdResult<cdht_store_person::Unit> {
    cdht_app::check_join_server(&payload, &server_config()).await?;
    let unit = state.with(|app| app.join_unit(&payload))?;
    state.sync.nudge();
    Ok(unit)
}

/// How the app reaches servers: HTTPS, or plain HTTP to loopback only.
fn server_config() -> cdht_sync_engine::ServerConfig {
    cdht_sync_engine::ServerConfig::default()
}

#[tauri::command(async, rename_all = "snake_case")]
fn save_profile(
    state: State<'_, AppState>,
    form: ProfileForm,
) -> CmdResult<cdht_store_person::Person> {
    state.with(|app| app.save_profile(&form))
}

#[tauri::command(async, rename_all = "snake_case")]
fn save_person(
    state: State<'_, AppState>,
    form: PersonForm,
) -> CmdResult<cdht_store_person::Person> {
    state.with(|app| app.save_person(&form))
}

#[tauri::command(async, rename_all = "snake_case")]
fn person(state: State<'_, AppState>, person_id: PersonId) -> CmdResult<cdht_store_person::Person> {
    state.with(|app| app.person(person_id))
}

#[tauri::command(async, rename_all = "snake_case")]
fn list_people(
    state: State<'_, AppState>,
    query: String,
    limit: usize,
) -> CmdResult<Vec<cdht_app::PeopleListItem>> {
    state.with(|app| app.search_people(&query, limit))
}

#[tauri::command(async, rename_all = "snake_case")]
fn open_assessment(
    state: State<'_, AppState>,
    person_id: PersonId,
    year: i32,
) -> CmdResult<AssessmentView> {
    state.with(|app| app.open_assessment(person_id, year))
}

#[tauri::command(async, rename_all = "snake_case")]
fn assessment_view(
    state: State<'_, AppState>,
    assessment_id: AssessmentId,
) -> CmdResult<AssessmentView> {
    state.with(|app| app.assessment_view(assessment_id))
}

#[tauri::command(async, rename_all = "snake_case")]
fn set_answer(
    state: State<'_, AppState>,
    assessment_id: AssessmentId,
    indicator: IndicatorId,
    answer: Answer,
) -> CmdResult<AnswerSaved> {
    state.with(|app| app.set_answer(assessment_id, &indicator, answer))
}

#[tauri::command(async, rename_all = "snake_case")]
fn clear_answer(
    state: State<'_, AppState>,
    assessment_id: AssessmentId,
    indicator: IndicatorId,
) -> CmdResult<AnswerSaved> {
    state.with(|app| app.clear_answer(assessment_id, &indicator))
}

#[tauri::command(async, rename_all = "snake_case")]
fn add_evidence(
    state: State<'_, AppState>,
    assessment_id: AssessmentId,
    indicator: IndicatorId,
    image_base64: String,
) -> CmdResult<EvidenceAdded> {
    // Decoded and shrunk outside the lock: a 12-megapixel photo takes a moment,
    // and autosaves of other answers must not wait for it.
    let options = state.with(|app| Ok(app.photo_options()))?;
    let photo = cdht_app::process_photo_base64(&image_base64, &options)?;
    state.with(|app| app.add_processed_evidence(assessment_id, &indicator, &photo))
}

#[tauri::command(async, rename_all = "snake_case")]
fn evidence_photo(state: State<'_, AppState>, sha256: String) -> CmdResult<String> {
    state.with(|app| app.evidence_photo(&sha256))
}

#[tauri::command(async, rename_all = "snake_case")]
fn remove_evidence(
    state: State<'_, AppState>,
    evidence_id: EvidenceId,
) -> CmdResult<cdht_store_person::Saved> {
    state.with(|app| app.remove_evidence(evidence_id))
}

#[tauri::command(async, rename_all = "snake_case")]
fn submit_assessment(
    state: State<'_, AppState>,
    assessment_id: AssessmentId,
) -> CmdResult<AssessmentView> {
    state.with(|app| app.submit_assessment(assessment_id))
}

/// Deletes an assessment entered by mistake, before review.
#[tauri::command(async, rename_all = "snake_case")]
fn delete_assessment(
    state: State<'_, AppState>,
    assessment_id: AssessmentId,
) -> CmdResult<cdht_store_person::DeleteOutcome> {
    state.with(|app| app.delete_assessment(assessment_id))
}

/// Deletes a person entered by mistake, once none of their assessments is left.
#[tauri::command(async, rename_all = "snake_case")]
fn delete_person(
    state: State<'_, AppState>,
    person_id: PersonId,
) -> CmdResult<cdht_store_person::DeleteOutcome> {
    state.with(|app| app.delete_person(person_id))
}

/// "Đã xem" on the answers another device's version replaced.
#[tauri::command(async, rename_all = "snake_case")]
fn dismiss_replaced_answers(
    state: State<'_, AppState>,
    assessment_id: AssessmentId,
) -> CmdResult<AssessmentView> {
    state.with(|app| app.dismiss_replaced_answers(assessment_id))
}

/// "Dùng lại câu trả lời của tôi": the kept answers become the answers again.
#[tauri::command(async, rename_all = "snake_case")]
fn restore_replaced_answers(
    state: State<'_, AppState>,
    assessment_id: AssessmentId,
    replaced_id: i64,
) -> CmdResult<AssessmentView> {
    state.with(|app| app.restore_replaced_answers(assessment_id, replaced_id))
}

#[tauri::command(async, rename_all = "snake_case")]
fn history(state: State<'_, AppState>, person_id: PersonId) -> CmdResult<HistoryView> {
    state.with(|app| app.history(person_id))
}

/// The sync area: what waits on this device, and what the background loop
/// last saw (progress, last success, last error, enrolled or not).
#[derive(serde::Serialize)]
struct SyncView {
    #[serde(flatten)]
    status: SyncStatus,
    background: SyncState,
}

#[tauri::command(async, rename_all = "snake_case")]
fn sync_status(state: State<'_, AppState>) -> CmdResult<SyncView> {
    let status = state.with(|app| app.sync_status())?;
    Ok(SyncView {
        status,
        background: state.sync.snapshot(),
    })
}

/// "Đồng bộ ngay": wakes the loop (never waits for the network).
#[tauri::command(async, rename_all = "snake_case")]
fn sync_now(state: State<'_, AppState>) -> CmdResult<SyncState> {
    state.sync.nudge();
    Ok(state.sync.snapshot())
}

/// "Cán bộ đăng nhập trên máy này": the loop logs the officer in with the
/// server (the device then pulls every record of its unit) and runs a round.
#[tauri::command(rename_all = "snake_case")]
async fn officer_login(
    state: State<'_, AppState>,
    username: String,
    password: String,
) -> CmdResult<OfficerBinding> {
    state.sync.bind_officer(&username, &password).await
}

/// Logs the officer out of this device (before it is handed on).
#[tauri::command(rename_all = "snake_case")]
async fn officer_logout(state: State<'_, AppState>) -> CmdResult<()> {
    state.sync.unbind_officer().await
}

/// "Tải ảnh": downloads a photo of a pulled record, then returns it as the
/// evidence line (with its thumbnail) the assessment screen shows.
#[tauri::command(rename_all = "snake_case")]
async fn fetch_evidence_photo(
    state: State<'_, AppState>,
    evidence_id: EvidenceId,
    sha256: String,
) -> CmdResult<EvidenceView> {
    state.sync.fetch_evidence_photo(&sha256).await?;
    state.with(|app| app.evidence_view_by_id(evidence_id))
}

/// Starts the background sync loop on the app's data folder; its events go
/// to the window as `sync-progress`, `sync-done`, `sync-error`, `sync-enrolled`.
fn start_sync(
    handle: &tauri::AppHandle,
    dir: PathBuf,
    key: cdht_app::store_types::DatabaseKey,
    shared: Arc<SyncShared>,
) {
    let handle = handle.clone();
    let emit = move |event: SyncEvent| {
        let result = match &event {
            SyncEvent::Progress(p) => handle.emit(event.name(), p),
            SyncEvent::Done(d) => handle.emit(event.name(), d),
            SyncEvent::Error(e) => handle.emit(event.name(), e),
            SyncEvent::Enrolled(u) => handle.emit(event.name(), u),
        };
        if let Err(err) = result {
            eprintln!("cdht: could not send {}: {err}", event.name());
        }
    };
    let config = server_config();
    if let Err(err) = spawn_sync_thread(dir, key, config, shared, emit) {
        eprintln!("cdht: could not start the sync loop: {err}");
    }
}

/// The database key from the platform's secret store (or the key file where
/// there is none), then the app's data with it; the key goes on to the sync loop.
fn open_app(dir: &Path) -> Result<(App, cdht_app::store_types::DatabaseKey), AppError> {
    let chosen = cdht_app::database_key(dir)?;
    if let Some(reason) = &chosen.platform_error {
        eprintln!("cdht: the OS secret store is not usable ({reason}); using the key file");
    }
    if chosen.created {
        eprintln!("cdht: made the database key, kept by {}", chosen.kept_by);
    }
    let app = App::open(dir, &chosen.key)?;
    Ok((app, chosen.key))
}

/// Re-exports of the store records the commands return, by the names the UI knows.
mod cdht_store_person {
    pub use cdht_app::store_types::{DeleteOutcome, Person, Saved, Unit};
}

#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let builder = tauri::Builder::default();
    #[cfg(mobile)]
    let builder = builder.plugin(tauri_plugin_barcode_scanner::init());
    let result = builder
        .setup(|app| {
            let sync = SyncShared::new();
            let (opened, open_error) = match data_dir(app.handle()) {
                Ok(dir) => match open_app(&dir) {
                    Ok((opened, key)) => {
                        start_sync(app.handle(), dir, key, Arc::clone(&sync));
                        (Some(opened), None)
                    }
                    Err(err) => (None, Some(err)),
                },
                Err(detail) => (
                    None,
                    Some(AppError::new(Code::DataFolderUnavailable, detail)),
                ),
            };
            if let Some(err) = &open_error {
                eprintln!("cdht: could not open the data folder: {err}");
            }
            app.manage(AppState {
                app: Mutex::new(opened),
                open_error,
                sync,
            });
            open_main_window(app)?;
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            overview,
            join_unit_from_qr_image,
            join_unit_from_qr_text,
            join_unit_typed,
            save_profile,
            save_person,
            person,
            list_people,
            open_assessment,
            assessment_view,
            set_answer,
            clear_answer,
            add_evidence,
            evidence_photo,
            remove_evidence,
            submit_assessment,
            delete_assessment,
            delete_person,
            dismiss_replaced_answers,
            restore_replaced_answers,
            history,
            sync_status,
            sync_now,
            officer_login,
            officer_logout,
            fetch_evidence_photo,
        ])
        .run(tauri::generate_context!());
    if let Err(err) = result {
        eprintln!("cdht: the app stopped with an error: {err}");
        std::process::exit(1);
    }
}
