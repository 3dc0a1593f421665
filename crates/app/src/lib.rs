//! The CDHT app's commands as plain Rust: everything the screens ask for, over
//! the local store (`cdht-store`), the photo pipeline (`cdht-photo`) and the
//! scoring core (`cdht-core`). `src-tauri` wraps each method in a thin
//! `#[tauri::command]`; the tests here drive the same methods on real SQLite
//! files without a window.
//!
//! Every method returns [`AppError`] on failure: a `kind` the UI branches on and
//! a Vietnamese `message` it shows as is.

mod assessment;
pub mod background;
pub mod cli;
use assessment::assessment_input;
use cdht_core::Code;
mod database_key;
mod deletes;
mod error;
mod join;
pub mod next_step;
mod people;
mod qr;
mod sync_area;
mod thumbnail;
#[cfg(test)]
mod ts_types;

pub use assessment::{
    AnswerSaved, AssessmentView, EvidenceAdded, EvidenceView, ReplacedAnswerRow,
    ReplacedAnswersView,
};
#[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
pub use database_key::OsKeyring;
pub use database_key::{database_key, platform_key_store, KEYRING_SERVICE};
pub use error::AppError;
pub use join::{
    check_join_server, join_payload_from_qr_image, join_payload_from_qr_text, join_payload_typed,
};
pub use people::{PeopleListItem, PersonForm, ProfileForm};
pub use qr::decode_qr_text;
pub use sync_area::{RefusedPhoto, RejectedRecord, SyncStatus, WaitingRecord};

/// The store records commands return, for the Tauri shell's signatures.
pub mod store_types {
    pub use cdht_store::{DatabaseKey, DeleteOutcome, Person, PersonListItem, Saved, Unit};
}

use base64::Engine as _;
use cdht_core::catalog::{Catalog, Group, Rules, Text};
use cdht_core::ids::{AssessmentId, CatalogId, EvidenceId, GroupId, IndicatorId, PersonId};
use cdht_core::{
    exemplary_status, Answer, Answers, AreaType, AssessmentInput, Completeness, ExemplaryStatus,
    ScoreResult,
};
use cdht_photo::{PhotoOptions, ProcessedPhoto};
use cdht_store::{
    fold_name, Assessment, AssessmentBrief, AssessmentStatus, CccdUpdate, CheckDepth,
    DeleteOutcome, Evidence, EvidenceMeta, Gender, OutboxState, Person, PersonInput,
    PersonListItem, Saved, ScoreSummary, SelfCheckReport, Store, Unit,
};
use chrono::{Datelike, TimeZone};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub type AppResult<T> = Result<T, AppError>;

/// Longest people list one page of the officer screen shows.
const MAX_PAGE: usize = 200;
/// Most people a household search looks through.
const HOUSEHOLD_SCAN: usize = 20_000;
/// How many waiting records the sync area names one by one.
const WAITING_LISTED: usize = 50;

/// The open app: one per process, behind a mutex in `src-tauri`.
#[derive(Debug)]
pub struct App {
    store: Store,
    photo_options: PhotoOptions,
    thumbnails_dir: PathBuf,
    /// What the start-up self-check found (broken photos are shown to the person).
    startup_check: SelfCheckReport,
    /// Shipped and pulled catalogs, merged ([`App::catalogs`]).
    catalogs: Vec<Catalog>,
}

/// The first screen's data: where the person is in the app's flow.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Overview {
    pub year: i32,
    pub units: Vec<Unit>,
    pub self_person: Option<Person>,
    pub catalog: CatalogSummary,
    pub sync: SyncStatus,
    pub broken_photos: usize,
    /// The officer logged in on this device (it receives the whole unit's records).
    pub device_officer: Option<String>,
    /// The device holds a token for a server (joined and enrolled).
    pub enrolled: bool,
    /// The person's own assessment of `year`, if any.
    pub this_year: Option<AssessmentBrief>,
    /// Home's "Việc tiếp theo" ([`next_step::next_step`]).
    pub next_step: next_step::NextStep,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CatalogSummary {
    pub id: CatalogId,
    pub decision: String,
    pub title: Text,
    pub draft: bool,
    pub groups: Vec<GroupSummary>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct GroupSummary {
    pub id: GroupId,
    pub name: Text,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct HistoryView {
    pub person: Person,
    pub entries: Vec<AssessmentBrief>,
    pub exemplary: ExemplaryStatus,
}

impl App {
    /// Opens the app's data in `data_dir` (created if needed) with the
    /// database key ([`database_key`]; a plain database from an earlier version
    /// is encrypted now) and runs the start-up self-check (outbox rows cut
    /// mid-send go back to pending).
    pub fn open(data_dir: impl AsRef<Path>, key: &cdht_store::DatabaseKey) -> AppResult<Self> {
        let mut store = Store::open(data_dir.as_ref(), key)?;
        let startup_check = store.self_check(CheckDepth::Quick)?;
        let thumbnails_dir = data_dir.as_ref().join("thumbnails");
        std::fs::create_dir_all(&thumbnails_dir).map_err(|err| {
            AppError::new(
                Code::DataFolderUnavailable,
                format!("creating {}: {err}", thumbnails_dir.display()),
            )
        })?;
        let catalogs = merged_catalogs(&store)?;
        Ok(Self {
            store,
            photo_options: PhotoOptions::default(),
            thumbnails_dir,
            startup_check,
            catalogs,
        })
    }

    /// [`App::open`] with the key of the data folder's own key file (made on
    /// first use), as on a platform without a secret store; for tools and tests.
    pub fn open_with_key_file(data_dir: impl AsRef<Path>) -> AppResult<Self> {
        let chosen = cdht_store::load_or_create_key(data_dir.as_ref(), None)?;
        Self::open(data_dir, &chosen.key)
    }

    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The year assessments are made for now.
    #[must_use]
    pub fn current_year() -> i32 {
        chrono::Local::now().year()
    }

    /// The catalog new assessments use: the most recently issued one among
    /// the shipped catalogs and those pulled from the server.
    pub fn current_catalog(&self) -> AppResult<&Catalog> {
        self.catalogs
            .iter()
            .max_by(|a, b| a.issued_on.cmp(&b.issued_on))
            .ok_or_else(|| AppError::new(Code::CatalogBroken, "no catalog"))
    }

    /// Every catalog the app scores with: the shipped ones merged with those
    /// the server sent (`cdht_core::merge_catalogs`: a higher revision of a
    /// shipped catalog replaces it), exactly as the server scores.
    #[must_use]
    pub fn catalogs(&self) -> &[Catalog] {
        &self.catalogs
    }

    /// Reads the catalogs again (the sync loop's own connection stores pulled
    /// ones); done when a screen opens, so an answer's autosave never reads them.
    pub fn refresh_catalogs(&mut self) -> AppResult<()> {
        self.catalogs = merged_catalogs(&self.store)?;
        Ok(())
    }

    fn catalog(&self, id: &CatalogId) -> AppResult<&Catalog> {
        self.catalogs.iter().find(|c| &c.id == id).ok_or_else(|| {
            AppError::new(
                Code::UnknownCatalog {
                    catalog: id.to_string(),
                },
                format!("catalog {id} is neither shipped nor pulled"),
            )
        })
    }

    fn score(
        &self,
        assessment: &Assessment,
        answers: &Answers,
        completeness: Completeness,
    ) -> AppResult<ScoreResult> {
        Ok(cdht_core::score_with(
            &self.catalogs,
            &assessment_input(assessment, answers),
            completeness,
        )?)
    }

    pub fn overview(&mut self) -> AppResult<Overview> {
        self.refresh_catalogs()?;
        let catalog = self.current_catalog()?;
        let year = Self::current_year();
        let units = self.store.units()?;
        let self_person = self.store.self_person()?;
        let sync = self.sync_status()?;
        let this_year = match &self_person {
            Some(me) => self
                .store
                .history(me.person_id)?
                .into_iter()
                .find(|a| a.year == year),
            None => None,
        };
        let next_step = next_step::next_step(&next_step::HomeFacts {
            joined: units.iter().any(|u| u.active),
            profile_complete: self_person
                .as_ref()
                .is_some_and(|p| p.target_group.is_some()),
            this_year: this_year.as_ref(),
            waiting_to_send: sync.waiting_records > 0 || sync.waiting_photos > 0,
        });
        Ok(Overview {
            year,
            units,
            self_person,
            catalog: CatalogSummary {
                id: catalog.id.clone(),
                decision: catalog.decision.clone(),
                title: catalog.title.clone(),
                draft: catalog.draft,
                groups: catalog
                    .groups
                    .iter()
                    .map(|g| GroupSummary {
                        id: g.id.clone(),
                        name: g.name.clone(),
                    })
                    .collect(),
            },
            sync,
            broken_photos: self.startup_check.broken_evidence.len(),
            device_officer: self.device_officer()?,
            enrolled: self.store.sync_credentials()?.is_some(),
            this_year,
            next_step,
        })
    }

    fn active_unit(&self) -> AppResult<Option<Unit>> {
        Ok(self.store.units()?.into_iter().find(|u| u.active))
    }

    /// The officer logged in on this device (it then receives every record
    /// of its unit), if any; written by the sync loop's officer login.
    pub fn device_officer(&self) -> AppResult<Option<String>> {
        Ok(self
            .store
            .sync_credentials()?
            .and_then(|c| c.officer_username))
    }

    // ---- History --------------------------------------------------------

    pub fn history(&self, person_id: PersonId) -> AppResult<HistoryView> {
        let person = self.store.person(person_id)?;
        let entries = self.store.history(person_id)?;
        let recognised: Vec<i32> = entries
            .iter()
            .filter(|a| a.status == AssessmentStatus::Recognised)
            .map(|a| a.year)
            .collect();
        let this_year = Self::current_year();
        // This year's recognition may not be decided yet: count up to last year then.
        let year = if recognised.contains(&this_year) {
            this_year
        } else {
            this_year - 1
        };
        let rules = self.current_catalog()?.rules;
        Ok(HistoryView {
            person,
            entries,
            exemplary: exemplary_status(&recognised, year, &rules),
        })
    }
}

/// The shipped catalogs merged with the pulled ones. A pulled catalog that
/// cannot be read never blocks the app: the shipped ones are used then.
fn merged_catalogs(store: &Store) -> AppResult<Vec<Catalog>> {
    let shipped = cdht_core::embedded_catalogs()
        .map_err(|err| AppError::new(Code::CatalogBroken, err.to_string()))?;
    let pulled = store.catalogs().unwrap_or_default();
    Ok(cdht_core::merge_catalogs(shipped, &pulled))
}

/// A database count as the `usize` the UI's structs carry.
fn count_usize(count: u64) -> usize {
    usize::try_from(count).unwrap_or(usize::MAX)
}

fn person_input_from(p: &Person) -> PersonInput {
    PersonInput {
        person_id: Some(p.person_id),
        unit_code: p.unit_code.clone(),
        is_self: p.is_self,
        full_name: p.full_name.clone(),
        birth_year: p.birth_year,
        gender: p.gender,
        ethnicity: p.ethnicity.clone(),
        target_group: p.target_group.clone(),
        household_label: p.household_label.clone(),
        household_address: p.household_address.clone(),
        cccd: CccdUpdate::Keep,
    }
}

fn decode_base64(text: &str) -> AppResult<Vec<u8>> {
    // The webview may send a whole data: URL; keep only what follows the comma.
    let data = text.rsplit_once(',').map_or(text, |(_, d)| d);
    base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|err| AppError::new(Code::FileUnreadable, format!("base64: {err}")))
}

/// The camera's local "YYYY-MM-DDTHH:MM:SS" as Unix milliseconds (this device's zone).
fn local_iso_to_ms(text: &str) -> Option<i64> {
    let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").ok()?;
    chrono::Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.timestamp_millis())
}

/// The data folder asked for on the command line (`--data-dir DIR` or
/// `--data-dir=DIR`) or, failing that, by `CDHT_DATA_DIR`; `None` means the
/// platform's app data folder. Tests and a second profile on one desktop use it.
pub fn data_dir_override(
    args: impl IntoIterator<Item = String>,
    env: Option<std::ffi::OsString>,
) -> Option<PathBuf> {
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--data-dir" {
            if let Some(dir) = args.next().filter(|d| !d.is_empty()) {
                return Some(PathBuf::from(dir));
            }
        } else if let Some(dir) = arg.strip_prefix("--data-dir=").filter(|d| !d.is_empty()) {
            return Some(PathBuf::from(dir));
        }
    }
    env.filter(|d| !d.is_empty()).map(PathBuf::from)
}

/// Runs the photo pipeline: needs no access to the app, so it can run unlocked.
pub fn process_photo(image_bytes: &[u8], options: &PhotoOptions) -> AppResult<ProcessedPhoto> {
    Ok(cdht_photo::process_photo(image_bytes, options)?)
}

/// The slow half of the add-photo command, run without the app's lock: the
/// webview's base64 file decoded and run through the photo pipeline. The
/// result goes to [`App::add_processed_evidence`].
pub fn process_photo_base64(
    image_base64: &str,
    options: &PhotoOptions,
) -> AppResult<ProcessedPhoto> {
    process_photo(&decode_base64(image_base64)?, options)
}

/// Join from a base64 image (how the webview sends the picked file).
pub fn image_bytes_from_base64(text: &str) -> AppResult<Vec<u8>> {
    decode_base64(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn data_dir_from_flag_then_environment() {
        let env = Some(std::ffi::OsString::from("/env/dir"));
        assert_eq!(
            data_dir_override(args(&["--data-dir", "/a"]), env.clone()),
            Some(PathBuf::from("/a"))
        );
        assert_eq!(
            data_dir_override(args(&["-x", "--data-dir=/b"]), env.clone()),
            Some(PathBuf::from("/b"))
        );
        assert_eq!(
            data_dir_override(args(&["--data-dir"]), env.clone()),
            Some(PathBuf::from("/env/dir"))
        );
        assert_eq!(data_dir_override(args(&[]), None), None);
        assert_eq!(
            data_dir_override(args(&[]), Some(std::ffi::OsString::new())),
            None
        );
    }
}
