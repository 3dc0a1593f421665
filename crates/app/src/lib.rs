//! The CDHT app's commands as plain Rust: everything the screens ask for, over
//! the local store (`cdht-store`), the photo pipeline (`cdht-photo`) and the
//! scoring core (`cdht-core`). `src-tauri` wraps each method in a thin
//! `#[tauri::command]`; the tests here drive the same methods on real SQLite
//! files without a window.
//!
//! Every method returns [`AppError`] on failure: a `kind` the UI branches on and
//! a Vietnamese `message` it shows as is.

pub mod background;
pub mod cli;
mod database_key;
mod error;
mod join;
pub mod next_step;
mod qr;
mod thumbnail;
#[cfg(test)]
mod ts_types;

#[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
pub use database_key::OsKeyring;
pub use database_key::{database_key, platform_key_store, KEYRING_SERVICE};
pub use error::AppError;
pub use join::{
    check_join_server, join_payload_from_qr_image, join_payload_from_qr_text, join_payload_typed,
};
pub use qr::decode_qr_text;

/// The store records commands return, for the Tauri shell's signatures.
pub mod store_types {
    pub use cdht_store::{DatabaseKey, Person, PersonListItem, Saved, Unit};
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
    fold_name, Assessment, AssessmentBrief, AssessmentStatus, CccdUpdate, CheckDepth, Evidence,
    EvidenceMeta, Gender, OutboxState, Person, PersonInput, PersonListItem, Saved, ScoreSummary,
    SelfCheckReport, Store, Unit,
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

/// A person's line in the officer's list, with the unit that owns a pulled
/// person on the server when it is not the unit joined on this device.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct PeopleListItem {
    #[serde(flatten)]
    pub item: PersonListItem,
    pub owner_unit: Option<String>,
}

impl std::ops::Deref for PeopleListItem {
    type Target = PersonListItem;

    fn deref(&self) -> &PersonListItem {
        &self.item
    }
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

/// What waits to be sent: the "Đồng bộ / Sync" area.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SyncStatus {
    /// Records (submitted assessments, people) not yet acknowledged by the server.
    pub waiting_records: usize,
    /// Photos not yet fully uploaded.
    pub waiting_photos: usize,
    /// Records the server refused, with its reason: a person must fix them.
    pub rejected: Vec<RejectedRecord>,
    /// The first waiting records, oldest first, named for people to recognise.
    pub waiting: Vec<WaitingRecord>,
    /// Photos the server refused whole: the person must take them again.
    pub refused_photos: Vec<RefusedPhoto>,
}

/// A photo the server refused (`invalid_evidence`, `hash_mismatch`): listed
/// with its reason and the next step, "Chụp lại ảnh này".
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RefusedPhoto {
    pub evidence_id: EvidenceId,
    pub assessment_id: AssessmentId,
    pub person_id: PersonId,
    pub person_name: Option<String>,
    pub year: i32,
    pub indicator_id: IndicatorId,
    pub code: String,
    /// The server's sentence (Vietnamese).
    pub reason: String,
}

/// One record waiting in the outbox, as the sync area lists it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct WaitingRecord {
    /// `assessment` or `person`.
    pub record_kind: String,
    pub record_id: String,
    /// Whose record it is.
    pub person_name: Option<String>,
    /// The assessment's year (assessments only).
    pub year: Option<i32>,
    pub queued_at_ms: i64,
    pub attempts: i64,
    /// Why the last attempt failed (network, server busy), if one did.
    pub last_error: Option<String>,
}

/// A record the server refused ("Cần sửa"): named like a waiting record, with
/// the server's stable `code` (the UI words known codes in its own language)
/// and its Vietnamese `reason` (shown for codes the UI does not know).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RejectedRecord {
    pub record_kind: String,
    pub record_id: String,
    pub code: Option<String>,
    pub reason: Option<String>,
    /// Whose record it is, to open it and fix it.
    pub person_id: Option<PersonId>,
    pub person_name: Option<String>,
    /// The assessment's year (assessments and photos).
    pub year: Option<i32>,
}

/// The profile form (the citizen's own profile).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(default)]
pub struct ProfileForm {
    pub full_name: String,
    pub birth_year: Option<i32>,
    pub gender: Option<Gender>,
    pub ethnicity: Option<String>,
    pub target_group: Option<GroupId>,
    /// A newly typed CCCD; `None` or empty keeps what is stored.
    pub cccd: Option<String>,
    /// The consent checkbox, required with a new CCCD.
    pub cccd_consent: bool,
    /// Erase the stored CCCD and its consent.
    pub erase_cccd: bool,
}

/// The officer's quick-add form (a household member).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(default)]
pub struct PersonForm {
    pub person_id: Option<PersonId>,
    pub full_name: String,
    pub birth_year: Option<i32>,
    pub gender: Option<Gender>,
    pub ethnicity: Option<String>,
    pub target_group: Option<GroupId>,
    pub household_label: Option<String>,
    pub household_address: Option<String>,
    pub cccd: Option<String>,
    pub cccd_consent: bool,
    /// Erase the stored CCCD and its consent (also one the server holds for a
    /// pulled person: the consent is withdrawn there too).
    pub erase_cccd: bool,
}

/// Everything the self-assessment screen shows.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AssessmentView {
    pub assessment: Assessment,
    pub person_name: String,
    pub catalog_id: CatalogId,
    pub catalog_title: Text,
    pub catalog_draft: bool,
    pub rules: Rules,
    pub group: Group,
    // Answers is serialized by hand: an object of indicator id to answer.
    #[cfg_attr(test, ts(type = "Record<string, Answer>"))]
    pub answers: Answers,
    pub evidence: Vec<EvidenceView>,
    pub score: ScoreResult,
    pub editable: bool,
    /// Answers edited here and not sent that another device's version
    /// replaced (the first to reach the server wins), newest first: shown
    /// until the person says "Đã xem". Only kept sets that differ from the
    /// answers now are listed.
    pub replaced_answers: Vec<ReplacedAnswersView>,
}

/// One kept set of answers, for the notice on the assessment.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ReplacedAnswersView {
    pub replaced_id: i64,
    pub replaced_at_ms: i64,
    /// The answers that differ from the assessment's answers now, in the
    /// catalog's order.
    pub rows: Vec<ReplacedAnswerRow>,
    /// "Dùng lại câu trả lời của tôi" can be offered: the assessment is
    /// editable here (the other device's version is a draft or was returned).
    pub can_restore: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ReplacedAnswerRow {
    pub indicator_id: IndicatorId,
    /// `None` for an indicator the catalog no longer has.
    pub indicator_title: Option<Text>,
    /// The person's kept answer.
    pub answer: Answer,
    /// Its level's label and points, when the catalog knows them.
    pub level_label: Option<Text>,
    pub points: Option<u32>,
    /// What the assessment holds now for the indicator (`None`: unanswered).
    pub current: Option<Answer>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct EvidenceView {
    #[serde(flatten)]
    pub evidence: Evidence,
    /// A small JPEG as a `data:` URL (no file access from the webview needed).
    pub thumbnail: Option<String>,
}

/// What an autosave returns: the "Đã lưu" tick and the new live score.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AnswerSaved {
    pub saved: Saved,
    pub score: ScoreResult,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct EvidenceAdded {
    pub evidence: EvidenceView,
    pub saved: Saved,
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
                "storage_error",
                "Không tạo được thư mục dữ liệu của ứng dụng.",
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
            .ok_or_else(|| {
                AppError::new(
                    "catalog_broken",
                    "Ứng dụng chưa có bộ tiêu chí nào. Bác hãy cập nhật ứng dụng.",
                    "no catalog",
                )
            })
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
                "unknown_catalog",
                format!(
                    "Bài này dùng bộ tiêu chí “{id}” mà máy chưa có. \
                     Bác hãy đồng bộ hoặc cập nhật ứng dụng."
                ),
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

    // ---- People ---------------------------------------------------------

    /// Saves the citizen's own profile (creating it the first time).
    pub fn save_profile(&mut self, form: &ProfileForm) -> AppResult<Person> {
        let existing = self.store.self_person()?;
        let cccd = cccd_update(form.cccd.as_deref(), form.cccd_consent, form.erase_cccd)?;
        let unit_code = match existing.as_ref().and_then(|p| p.unit_code.clone()) {
            Some(code) => Some(code),
            None => self.active_unit()?.map(|u| u.unit_code),
        };
        let input = PersonInput {
            person_id: existing.as_ref().map(|p| p.person_id),
            unit_code,
            is_self: true,
            full_name: check_name(&form.full_name)?,
            birth_year: check_birth_year(form.birth_year)?,
            gender: form.gender,
            ethnicity: check_optional("Dân tộc", form.ethnicity.as_ref(), 100)?,
            target_group: self.check_group(form.target_group.as_ref())?,
            household_label: existing.as_ref().and_then(|p| p.household_label.clone()),
            household_address: existing.as_ref().and_then(|p| p.household_address.clone()),
            cccd,
        };
        Ok(self.store.upsert_person(&input)?)
    }

    /// Adds (or edits) a person an officer collects door to door.
    pub fn save_person(&mut self, form: &PersonForm) -> AppResult<Person> {
        let cccd = cccd_update(form.cccd.as_deref(), form.cccd_consent, form.erase_cccd)?;
        let existing = match form.person_id {
            Some(id) => Some(self.store.person(id)?),
            None => None,
        };
        let unit_code = match existing.as_ref().and_then(|p| p.unit_code.clone()) {
            Some(code) => Some(code),
            None => self.active_unit()?.map(|u| u.unit_code),
        };
        let input = PersonInput {
            person_id: form.person_id,
            unit_code,
            is_self: existing.as_ref().is_some_and(|p| p.is_self),
            full_name: check_name(&form.full_name)?,
            birth_year: check_birth_year(form.birth_year)?,
            gender: form.gender,
            ethnicity: check_optional("Dân tộc", form.ethnicity.as_ref(), 100)?,
            target_group: self.check_group(form.target_group.as_ref())?,
            household_label: check_optional("Tên hộ", form.household_label.as_ref(), 200)?,
            household_address: check_optional(
                "Địa chỉ",
                form.household_address.as_ref(),
                cdht_core::text::MAX_ADDRESS_CHARS,
            )?,
            cccd,
        };
        Ok(self.store.upsert_person(&input)?)
    }

    pub fn person(&self, person_id: PersonId) -> AppResult<Person> {
        Ok(self.store.person(person_id)?)
    }

    fn check_group(&self, group: Option<&GroupId>) -> AppResult<Option<GroupId>> {
        let Some(group) = group.filter(|g| !g.as_str().is_empty()) else {
            return Ok(None);
        };
        let catalog = self.current_catalog()?;
        if catalog.group(group.as_str()).is_none() {
            return Err(AppError::new(
                "unknown_group",
                "Nhóm đối tượng này không có trong bộ tiêu chí. Bác hãy chọn lại.",
                format!("group {group} not in catalog {}", catalog.id),
            ));
        }
        Ok(Some(group.clone()))
    }

    /// People on this device grouped by household (the officer's list: own
    /// profile first, households by label, members by name), each with this
    /// year's assessment.
    pub fn list_people(&self, limit: usize, offset: usize) -> AppResult<Vec<PeopleListItem>> {
        let people = self.store.list_people_by_household(
            Self::current_year(),
            None,
            limit.min(MAX_PAGE),
            offset,
        )?;
        Ok(self.with_owner_units(people))
    }

    /// Names the owning unit of pulled people from another unit of the subtree.
    fn with_owner_units(&self, people: Vec<PersonListItem>) -> Vec<PeopleListItem> {
        people
            .into_iter()
            .map(|item| {
                // A courtesy: a row that cannot be read is listed without it.
                let owner_unit = self
                    .store
                    .person(item.person_id)
                    .ok()
                    .and_then(|p| p.server_unit_code)
                    .filter(|owner| item.unit_code.as_ref() != Some(owner))
                    .map(|owner| owner.as_str().to_owned());
                PeopleListItem { item, owner_unit }
            })
            .collect()
    }

    /// Name search with or without diacritics ("nguyen" finds "Nguyễn"), then
    /// the members of households whose label matches ("xom 3", "ho ong tam"):
    /// every query word starts a word of the label.
    ///
    /// The household part scans the people list here (the store's search index
    /// covers names only); a few thousand people take milliseconds.
    pub fn search_people(&self, query: &str, limit: usize) -> AppResult<Vec<PeopleListItem>> {
        if query.trim().is_empty() {
            return self.list_people(limit, 0);
        }
        let limit = limit.min(MAX_PAGE);
        let mut found = self.store.search_people(query, limit)?;
        let words: Vec<String> = fold_name(query)
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        if found.len() >= limit || words.is_empty() {
            return Ok(self.with_owner_units(found));
        }
        let everyone =
            self.store
                .list_people_by_household(Self::current_year(), None, HOUSEHOLD_SCAN, 0)?;
        for person in everyone {
            if found.len() >= limit {
                break;
            }
            let matches = person
                .household_label
                .as_deref()
                .is_some_and(|label| household_matches(label, &words));
            if matches && !found.iter().any(|f| f.person_id == person.person_id) {
                found.push(person);
            }
        }
        Ok(self.with_owner_units(found))
    }

    // ---- Self-assessment ------------------------------------------------

    /// The person's assessment for `year`, created as a draft with their target
    /// group and their unit's area type if there is none yet.
    pub fn open_assessment(&mut self, person_id: PersonId, year: i32) -> AppResult<AssessmentView> {
        let person = self.store.person(person_id)?;
        let existing = self
            .store
            .history(person_id)?
            .into_iter()
            .find(|a| a.year == year);
        if let Some(brief) = existing {
            return self.assessment_view(brief.assessment_id);
        }
        let Some(group) = person.target_group.clone() else {
            return Err(AppError::new(
                "no_target_group",
                "Bác hãy chọn nhóm đối tượng trong Hồ sơ trước, rồi mới tự đánh giá.",
                "person has no target group",
            ));
        };
        self.refresh_catalogs()?;
        let catalog_id = self.current_catalog()?.id.clone();
        let area = match &person.unit_code {
            Some(code) => self.store.unit(code)?.area_type,
            None => AreaType::Normal,
        };
        let assessment =
            self.store
                .create_or_get_assessment(person_id, year, &catalog_id, &group, area)?;
        self.assessment_view(assessment.assessment_id)
    }

    pub fn assessment_view(&self, assessment_id: AssessmentId) -> AppResult<AssessmentView> {
        let detail = self.store.assessment_detail(assessment_id)?;
        let assessment = detail.assessment;
        let catalog = self.catalog(&assessment.catalog_id)?;
        let group = catalog
            .group(assessment.group_id.as_str())
            .ok_or_else(|| {
                AppError::new(
                    "unknown_group",
                    "Nhóm đối tượng của bài này không có trong bộ tiêu chí.",
                    format!("group {} not in {}", assessment.group_id, catalog.id),
                )
            })?
            .clone();
        let score = self.score(&assessment, &detail.answers, Completeness::Draft)?;
        let person = self.store.person(assessment.person_id)?;
        let evidence = detail
            .evidence
            .into_iter()
            .map(|e| self.evidence_view(e))
            .collect();
        let replaced_answers = self
            .store
            .replaced_answers(assessment_id)?
            .into_iter()
            .map(|kept| ReplacedAnswersView {
                replaced_id: kept.replaced_id,
                replaced_at_ms: kept.replaced_at_ms,
                rows: replaced_rows(&group, &kept.answers, &detail.answers),
                can_restore: assessment.status.is_editable(),
            })
            .filter(|kept| !kept.rows.is_empty())
            .collect();
        Ok(AssessmentView {
            replaced_answers,
            editable: assessment.status.is_editable(),
            person_name: person.full_name,
            catalog_id: catalog.id.clone(),
            catalog_title: catalog.title.clone(),
            catalog_draft: catalog.draft,
            rules: catalog.rules,
            group,
            answers: detail.answers,
            evidence,
            score,
            assessment,
        })
    }

    /// "Đã xem": the person has seen the answers another device's version
    /// replaced; they go. Returns the assessment as it is now.
    pub fn dismiss_replaced_answers(
        &mut self,
        assessment_id: AssessmentId,
    ) -> AppResult<AssessmentView> {
        self.store.dismiss_replaced_answers(assessment_id)?;
        self.assessment_view(assessment_id)
    }

    /// "Dùng lại câu trả lời của tôi": the kept answers become the
    /// assessment's answers again, as one autosave (the person submits when
    /// ready). Only while the assessment is editable here.
    pub fn restore_replaced_answers(
        &mut self,
        assessment_id: AssessmentId,
        replaced_id: i64,
    ) -> AppResult<AssessmentView> {
        let assessment = self.store.assessment(assessment_id)?;
        let kept = self
            .store
            .replaced_answers(assessment_id)?
            .into_iter()
            .find(|k| k.replaced_id == replaced_id)
            .ok_or_else(|| {
                AppError::new(
                    "not_found",
                    "Không còn câu trả lời cũ này. Bác hãy mở lại bài.",
                    format!("kept answers {replaced_id} of {assessment_id} are gone"),
                )
            })?;
        // Scoring first: answers the catalog no longer takes are refused
        // before anything is stored.
        let score = self.score(&assessment, &kept.answers, Completeness::Draft)?;
        self.store
            .restore_replaced_answers(assessment_id, replaced_id, Some(summary(&score)))?;
        self.assessment_view(assessment_id)
    }

    /// Autosave of one answer; returns the saved tick and the new live score.
    pub fn set_answer(
        &mut self,
        assessment_id: AssessmentId,
        indicator: &IndicatorId,
        answer: Answer,
    ) -> AppResult<AnswerSaved> {
        let detail = self.store.assessment_detail(assessment_id)?;
        let mut answers = detail.answers;
        answers.set(indicator.clone(), answer.clone());
        // Scoring first: an unknown indicator or level is refused before it is stored.
        let score = self.score(&detail.assessment, &answers, Completeness::Draft)?;
        let saved =
            self.store
                .set_answer(assessment_id, indicator, &answer, Some(summary(&score)))?;
        Ok(AnswerSaved { saved, score })
    }

    pub fn clear_answer(
        &mut self,
        assessment_id: AssessmentId,
        indicator: &IndicatorId,
    ) -> AppResult<AnswerSaved> {
        let detail = self.store.assessment_detail(assessment_id)?;
        let answers: Answers = detail
            .answers
            .0
            .into_iter()
            .filter(|(id, _)| id != indicator)
            .collect();
        let score = self.score(&detail.assessment, &answers, Completeness::Draft)?;
        let saved = self
            .store
            .clear_answer(assessment_id, indicator, Some(summary(&score)))?;
        Ok(AnswerSaved { saved, score })
    }

    /// Runs a picked or photographed image through the photo pipeline (upright,
    /// shrunk, metadata stripped) and stores it as evidence for one indicator.
    pub fn add_evidence(
        &mut self,
        assessment_id: AssessmentId,
        indicator: &IndicatorId,
        image_bytes: &[u8],
    ) -> AppResult<EvidenceAdded> {
        let photo = process_photo(image_bytes, &self.photo_options)?;
        self.add_processed_evidence(assessment_id, indicator, &photo)
    }

    /// The photo pipeline's settings, for [`process_photo`] run outside the app's lock.
    #[must_use]
    pub fn photo_options(&self) -> PhotoOptions {
        self.photo_options.clone()
    }

    /// Stores a photo already run through [`process_photo`] (the slow part, which
    /// the Tauri shell runs without holding the app, so autosaves never wait on it).
    pub fn add_processed_evidence(
        &mut self,
        assessment_id: AssessmentId,
        indicator: &IndicatorId,
        photo: &ProcessedPhoto,
    ) -> AppResult<EvidenceAdded> {
        let detail = self.store.assessment_detail(assessment_id)?;
        if !detail.assessment.status.is_editable() {
            return Err(cdht_store::StoreError::Locked {
                assessment_id: assessment_id.to_string(),
                status: detail.assessment.status.as_str(),
            }
            .into());
        }
        let catalog = self.catalog(&detail.assessment.catalog_id)?;
        let known = catalog
            .group(detail.assessment.group_id.as_str())
            .and_then(|g| g.indicator(indicator.as_str()))
            .is_some();
        if !known {
            return Err(AppError::invalid(format!(
                "Chỉ số “{indicator}” không có trong bài này."
            )));
        }
        let meta = EvidenceMeta {
            mime: photo.mime.to_owned(),
            width_px: Some(photo.width),
            height_px: Some(photo.height),
            taken_at_ms: photo.taken_at.as_deref().and_then(local_iso_to_ms),
        };
        let evidence = self
            .store
            .add_evidence(assessment_id, indicator, &photo.jpeg, &meta)?;
        // A thumbnail failure must not lose the photo: it is made again when shown.
        let _ = thumbnail::write(&self.thumbnails_dir, &evidence.sha256, &photo.jpeg);
        let assessment = self.store.assessment(assessment_id)?;
        Ok(EvidenceAdded {
            evidence: self.evidence_view(evidence),
            saved: Saved {
                revision: assessment.revision,
                updated_at_ms: assessment.updated_at_ms,
            },
        })
    }

    /// Same as [`App::add_evidence`] with the bytes as base64 (how the webview sends files).
    pub fn add_evidence_base64(
        &mut self,
        assessment_id: AssessmentId,
        indicator: &IndicatorId,
        image_base64: &str,
    ) -> AppResult<EvidenceAdded> {
        let bytes = decode_base64(image_base64)?;
        self.add_evidence(assessment_id, indicator, &bytes)
    }

    /// A stored photo as a `data:` URL, for the full-size view.
    pub fn evidence_photo(&self, sha256: &str) -> AppResult<String> {
        let is_hash = sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !is_hash {
            return Err(AppError::invalid("Ảnh này không có trên máy."));
        }
        if !self.store.evidence_on_device(sha256).unwrap_or(true) {
            return Err(AppError::new(
                "photo_on_server",
                "Ảnh này đang ở máy chủ. Bác bấm “Tải ảnh” để tải về máy.",
                "pulled photo not fetched yet",
            ));
        }
        let path = self.store.evidence_path(sha256);
        let jpeg = std::fs::read(&path).map_err(|err| {
            AppError::new(
                "photo_missing",
                "Không mở được ảnh này trên máy. Bác hãy xoá ảnh và chụp lại.",
                format!("reading {}: {err}", path.display()),
            )
        })?;
        Ok(format!(
            "data:image/jpeg;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(jpeg)
        ))
    }

    /// One evidence line with its thumbnail (after a photo was fetched).
    pub fn evidence_view_by_id(&self, evidence_id: EvidenceId) -> AppResult<EvidenceView> {
        Ok(self.evidence_view(self.store.evidence(evidence_id)?))
    }

    pub fn remove_evidence(&mut self, evidence_id: EvidenceId) -> AppResult<Saved> {
        Ok(self.store.remove_evidence(evidence_id)?)
    }

    fn evidence_view(&self, evidence: Evidence) -> EvidenceView {
        let thumbnail = thumbnail::read_or_make(
            &self.thumbnails_dir,
            &evidence.sha256,
            &self.store.evidence_path(&evidence.sha256),
        )
        .ok()
        .map(|jpeg| {
            format!(
                "data:image/jpeg;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(jpeg)
            )
        });
        EvidenceView {
            evidence,
            thumbnail,
        }
    }

    /// Sends the assessment for the branch officer's check (queued in the outbox
    /// until a connection carries it). Every indicator must be answered.
    pub fn submit_assessment(&mut self, assessment_id: AssessmentId) -> AppResult<AssessmentView> {
        let detail = self.store.assessment_detail(assessment_id)?;
        let score = self.score(&detail.assessment, &detail.answers, Completeness::Complete)?;
        self.store.cache_score(assessment_id, summary(&score))?;
        self.store.submit_assessment(assessment_id)?;
        self.assessment_view(assessment_id)
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

    // ---- Sync area ------------------------------------------------------

    pub fn sync_status(&self) -> AppResult<SyncStatus> {
        let waiting_records = self.store.outbox_count(OutboxState::Pending)?
            + self.store.outbox_count(OutboxState::Sent)?;
        let rejected = self
            .store
            .open_refusals(100)?
            .into_iter()
            .map(|e| {
                let owner = self.record_owner(e.record_kind, &e.record_id);
                RejectedRecord {
                    record_kind: e.record_kind.as_str().to_owned(),
                    record_id: e.record_id,
                    code: e.reject_code,
                    reason: e.reject_reason,
                    person_id: owner.person_id,
                    person_name: owner.person_name,
                    year: owner.year,
                }
            })
            .collect();
        let waiting = self
            .store
            .outbox_pending(WAITING_LISTED)?
            .into_iter()
            .map(|e| self.waiting_record(e))
            .collect();
        let refused_photos = self
            .store
            .parked_uploads()?
            .into_iter()
            .map(|p| RefusedPhoto {
                person_name: self.store.person(p.person_id).ok().map(|x| x.full_name),
                evidence_id: p.evidence_id,
                assessment_id: p.assessment_id,
                person_id: p.person_id,
                year: p.year,
                indicator_id: p.indicator_id,
                code: p.code,
                reason: p.reason,
            })
            .collect();
        Ok(SyncStatus {
            waiting_records: count_usize(waiting_records),
            waiting_photos: count_usize(self.store.pending_upload_count()?),
            rejected,
            waiting,
            refused_photos,
        })
    }
}

/// Whose record an outbox row is: the person, and the year for an
/// assessment or a photo.
#[derive(Debug, Clone, Default)]
struct RecordOwner {
    person_id: Option<PersonId>,
    person_name: Option<String>,
    year: Option<i32>,
}

impl App {
    /// Names are a courtesy: a record whose row cannot be read is still listed.
    fn record_owner(&self, kind: cdht_store::RecordKind, record_id: &str) -> RecordOwner {
        let assessment = match kind {
            cdht_store::RecordKind::Assessment => record_id
                .parse::<AssessmentId>()
                .ok()
                .and_then(|id| self.store.assessment(id).ok()),
            // A photo is named by the person and year of its assessment.
            cdht_store::RecordKind::Evidence => record_id
                .parse::<EvidenceId>()
                .ok()
                .and_then(|id| self.store.evidence(id).ok())
                .and_then(|e| self.store.assessment(e.assessment_id).ok()),
            cdht_store::RecordKind::Person => {
                let person = record_id
                    .parse::<PersonId>()
                    .ok()
                    .and_then(|id| self.store.person(id).ok());
                return RecordOwner {
                    person_id: person.as_ref().map(|p| p.person_id),
                    person_name: person.map(|p| p.full_name),
                    year: None,
                };
            }
        };
        assessment.map_or_else(RecordOwner::default, |a| RecordOwner {
            person_id: Some(a.person_id),
            person_name: self.store.person(a.person_id).ok().map(|p| p.full_name),
            year: Some(a.year),
        })
    }

    fn waiting_record(&self, entry: cdht_store::OutboxEntry) -> WaitingRecord {
        let owner = self.record_owner(entry.record_kind, &entry.record_id);
        WaitingRecord {
            record_kind: entry.record_kind.as_str().to_owned(),
            record_id: entry.record_id,
            person_name: owner.person_name,
            year: owner.year,
            queued_at_ms: entry.created_at_ms,
            attempts: entry.attempts,
            last_error: entry.last_error,
        }
    }
}

/// The shipped catalogs merged with the pulled ones. A pulled catalog that
/// cannot be read never blocks the app: the shipped ones are used then.
fn merged_catalogs(store: &Store) -> AppResult<Vec<Catalog>> {
    let shipped = cdht_core::embedded_catalogs().map_err(|err| {
        AppError::new(
            "catalog_broken",
            "Bộ tiêu chí trong ứng dụng bị lỗi. Bác hãy cập nhật ứng dụng.",
            err.to_string(),
        )
    })?;
    let pulled = store.catalogs().unwrap_or_default();
    Ok(cdht_core::merge_catalogs(shipped, &pulled))
}

/// Whether every (folded) query word starts a word of the household label.
fn household_matches(label: &str, words: &[String]) -> bool {
    let folded = fold_name(label);
    let label_words: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words
        .iter()
        .all(|w| label_words.iter().any(|l| l.starts_with(w.as_str())))
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

fn check_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::new(
            "name_required",
            "Bác hãy nhập họ và tên.",
            "full name is empty",
        ));
    }
    check_text("Họ tên", name, cdht_core::text::MAX_NAME_CHARS)?;
    Ok(name.to_owned())
}

/// The server's text rule (`cdht_core::text`), checked when the form is
/// saved, so a record is never parked later with `invalid_text`.
fn check_text(field: &str, text: &str, max_chars: usize) -> AppResult<()> {
    if cdht_core::text::has_forbidden_char(text, false) {
        return Err(AppError::new(
            "text_invalid",
            format!("{field} có ký tự lạ (không nhìn thấy được). Bác xoá ô này và gõ lại."),
            format!("{field}: a control or bidi character"),
        ));
    }
    if text.chars().count() > max_chars {
        return Err(AppError::new(
            "text_too_long",
            format!("{field} dài quá, tối đa {max_chars} ký tự."),
            format!("{field}: over {max_chars} characters"),
        ));
    }
    Ok(())
}

/// An optional free-text field, checked like [`check_text`], kept as typed.
fn check_optional(
    field: &str,
    text: Option<&String>,
    max_chars: usize,
) -> AppResult<Option<String>> {
    if let Some(t) = text {
        check_text(field, t.trim(), max_chars)?;
    }
    Ok(text.cloned())
}

fn check_birth_year(year: Option<i32>) -> AppResult<Option<i32>> {
    let this_year = App::current_year();
    match year {
        Some(y) if !(1900..=this_year).contains(&y) => Err(AppError::new(
            "birth_year_invalid",
            format!("Năm sinh phải từ 1900 đến {this_year}, ví dụ 1965."),
            format!("birth year {y} out of range"),
        )),
        other => Ok(other),
    }
}

/// The CCCD rule: stored only with explicit consent, exactly 12 digits.
fn cccd_update(typed: Option<&str>, consent: bool, erase: bool) -> AppResult<CccdUpdate> {
    if erase {
        return Ok(CccdUpdate::Erase);
    }
    let Some(typed) = typed.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(CccdUpdate::Keep);
    };
    if !consent {
        return Err(AppError::new(
            "cccd_consent_required",
            "Bác cần đánh dấu ô “Tôi đồng ý” trước khi lưu số CCCD. \
             Nếu không muốn, hãy để trống ô CCCD.",
            "CCCD given without consent",
        ));
    }
    let number = cdht_store::normalize_cccd(typed).map_err(|_| {
        AppError::new(
            "cccd_invalid",
            "Số CCCD phải có đúng 12 chữ số. Bác xem lại thẻ căn cước.",
            "CCCD is not 12 digits",
        )
    })?;
    Ok(CccdUpdate::Set {
        number,
        consent_given: true,
    })
}

fn assessment_input(assessment: &Assessment, answers: &Answers) -> AssessmentInput {
    AssessmentInput {
        catalog: assessment.catalog_id.clone(),
        group: assessment.group_id.clone(),
        area: assessment.area_type,
        answers: answers.clone(),
    }
}

/// The kept answers that differ from `now`, in the group's order (indicators
/// the catalog no longer has last), with their labels.
fn replaced_rows(group: &Group, kept: &Answers, now: &Answers) -> Vec<ReplacedAnswerRow> {
    let indicators: Vec<_> = group
        .competencies
        .iter()
        .flat_map(|c| c.indicators.iter())
        .collect();
    let mut rows: Vec<(usize, ReplacedAnswerRow)> = kept
        .0
        .iter()
        .filter(|(id, answer)| now.get(id.as_str()) != Some(answer))
        .map(|(id, answer)| {
            let position = indicators.iter().position(|i| &i.id == id);
            let indicator = position.map(|p| indicators[p]);
            let level = indicator.and_then(|i| {
                i.levels.iter().find(|l| match answer {
                    Answer::Level(level) => &l.id == level,
                    Answer::Points(points) => i64::from(l.points) == *points,
                })
            });
            let row = ReplacedAnswerRow {
                indicator_id: id.clone(),
                indicator_title: indicator.map(|i| i.title.clone()),
                answer: answer.clone(),
                level_label: level.map(|l| l.label.clone()),
                points: level.map(|l| l.points).or_else(|| match answer {
                    Answer::Points(points) => u32::try_from(*points).ok(),
                    Answer::Level(_) => None,
                }),
                current: now.get(id.as_str()).cloned(),
            };
            (position.unwrap_or(usize::MAX), row)
        })
        .collect();
    rows.sort_by_key(|(position, _)| *position);
    rows.into_iter().map(|(_, row)| row).collect()
}

fn summary(score: &ScoreResult) -> ScoreSummary {
    ScoreSummary {
        total_points: i64::from(score.total),
        passed: score.passed,
    }
}

fn decode_base64(text: &str) -> AppResult<Vec<u8>> {
    // The webview may send a whole data: URL; keep only what follows the comma.
    let data = text.rsplit_once(',').map_or(text, |(_, d)| d);
    base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|err| {
            AppError::new(
                "file_unreadable",
                "Không đọc được tệp này. Bác hãy chọn lại.",
                format!("base64: {err}"),
            )
        })
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
