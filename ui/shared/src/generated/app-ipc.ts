// Generated from the Rust types by crates/app/src/ts_types.rs (ts-rs). Do not edit:
// run `CDHT_UPDATE_GENERATED=1 cargo test -p cdht-app --lib ts_types`.
// 64-bit integers are `number`: serde_json writes them as JSON numbers, and the
// values crossing (milliseconds, counts, bytes, revisions) stay below 2^53.

export type PersonId = string;

export type AssessmentId = string;

export type EvidenceId = string;

export type CatalogId = string;

export type GroupId = string;

export type CompetencyId = string;

export type IndicatorId = string;

export type LevelId = string;

export type UnitCode = string;

export type Text = { vi: string, en: string, };

export type Rules = { 
/**
 * Minimum total to pass in a normal area (80).
 */
pass_threshold: number, 
/**
 * Minimum total to pass in remote, ethnic-minority or disadvantaged areas (70).
 */
difficult_area_threshold: number, 
/**
 * No indicator may score below this (5).
 */
min_indicator_points: number, 
/**
 * Recognised this many years in a row makes a person eligible to be
 * considered for exemplary Learning Citizen (5); the title itself is
 * granted by a decision (`crate::exemplary`).
 */
exemplary_consecutive_years: number, };

export type Group = { id: GroupId, name: Text, draft: boolean, competencies: Array<Competency>, };

export type Competency = { id: CompetencyId, name: Text, indicators: Array<Indicator>, };

export type Indicator = { id: IndicatorId, max_points: number, title: Text, question: Text, evidence_hint: Text, draft: boolean, 
/**
 * Answer levels, best first, points strictly descending.
 */
levels: Array<Level>, 
/**
 * The wording used instead when the operator turns
 * [`CatalogOptions::other_languages_count`] off (indicator 2.2).
 */
foreign_only: ForeignOnlyWording | null, };

export type Level = { id: LevelId, points: number, label: Text, evidence: Text | null, };

export type ForeignOnlyWording = { title: Text | null, question: Text | null, evidence_hint: Text | null, labels: { [key in string]?: Text }, };

export type AreaType = "normal" | "difficult";

export type Answer = number | LevelId;

export type ScoreResult = { catalog: CatalogId, group: GroupId, area: AreaType, total: number, max_total: number, 
/**
 * The threshold that applied (depends on the area type).
 */
threshold: number, min_indicator_points: number, passed: boolean, competencies: Array<CompetencyScore>, indicators: Array<IndicatorScore>, 
/**
 * Every reason for a fail; empty when passed.
 */
reasons: Array<Reason>, 
/**
 * The smallest set of changes that turns this fail into a pass; empty when passed.
 */
improvements: Array<Improvement>, 
/**
 * Indicators not answered yet (drafts only).
 */
unanswered: Array<IndicatorId>, 
/**
 * Provisional rules (see [`crate::provenance`]) this verdict depended
 * on: shown beside the verdict, so nobody takes it for settled.
 */
provisional: Array<ProvisionalRule>, };

export type ProvisionalRule = { 
/**
 * The rule's field name in the catalog (`difficult_area_threshold`).
 */
rule: string, };

export type CompetencyScore = { id: CompetencyId, name: Text, points: number, max_points: number, };

export type IndicatorScore = { id: IndicatorId, competency: CompetencyId, points: number, max_points: number, 
/**
 * The level picked, or the level whose points equal the points given.
 */
level: LevelId | null, answered: boolean, };

export type Reason = { "kind": "below_threshold", total: number, threshold: number, short_by: number, } | { "kind": "indicator_below_minimum", indicator: IndicatorId, points: number, min: number, } | { "kind": "unanswered", indicators: Array<IndicatorId>, };

export type ReasonKind = { "kind": "below_threshold", total: number, threshold: number, short_by: number, } | { "kind": "indicator_below_minimum", indicator: IndicatorId, points: number, min: number, } | { "kind": "unanswered", indicators: Array<IndicatorId>, };

export type Improvement = { code: ImprovementCode, indicator: IndicatorId, from: number, to: number, 
/**
 * The points added: `to - from`.
 */
gain: number, level: LevelId | null, };

export type ImprovementCode = "raise_indicator" | "raise_indicator_to_level";

export type ExemplaryStatus = { 
/**
 * The year the status is for.
 */
year: number, 
/**
 * Consecutive recognised years ending with `year` (0 if `year` is not recognised).
 */
streak: number, 
/**
 * Years in a row needed.
 */
required: number, 
/**
 * Eligible to be considered for the exemplary title (not the title).
 */
eligible: boolean, 
/**
 * Further consecutive recognised years needed (0 once eligible).
 */
years_to_go: number, 
/**
 * The years-in-a-row rule is provisional (one source so far).
 */
provisional: boolean, };

export type DeviceScope = "own_records" | "unit_records";

export type Code = { "code": "bad_json" } | { "code": "invalid_body", place: string | null, } | { "code": "bad_request" } | { "code": "bad_body" } | { "code": "unsupported_media_type" } | { "code": "payload_too_large" } | { "code": "bad_query", param: string | null, } | { "code": "bad_path" } | { "code": "method_not_allowed" } | { "code": "unauthenticated" } | { "code": "out_of_scope" } | { "code": "forbidden_role" } | { "code": "bad_join_key" } | { "code": "bad_credentials" } | { "code": "rate_limited" } | { "code": "not_found" } | { "code": "busy" } | { "code": "internal" } | { "code": "server_storage_full" } | { "code": "unsupported_protocol", max: number, } | { "code": "batch_too_large", max: number, } | { "code": "bad_seq", max: number, } | { "code": "batch_conflict" } | { "code": "seq_out_of_order", last: number, } | { "code": "bad_version" } | { "code": "invalid_text", field: string, } | { "code": "invalid_name", max: number, } | { "code": "invalid_phone", max: number, } | { "code": "invalid_address", max: number, } | { "code": "invalid_household", max: number, } | { "code": "invalid_cccd" } | { "code": "invalid_year" } | { "code": "version_conflict" } | { "code": "locked_after_review" } | { "code": "delete_after_review" } | { "code": "record_reassigned" } | { "code": "record_deleted" } | { "code": "person_has_assessments" } | { "code": "duplicate_limit", max: number, } | { "code": "hash_mismatch" } | { "code": "invalid_evidence", problem: string, } | { "code": "evidence_too_large", max_mb: number, } | { "code": "unsupported_type" } | { "code": "unknown_evidence" } | { "code": "offset_mismatch", received: number, } | { "code": "chunk_out_of_range" } | { "code": "unknown_catalog", catalog: string, } | { "code": "unknown_group", group: string, } | { "code": "unknown_indicator", indicator: string, } | { "code": "duplicate_indicator", indicator: string, } | { "code": "missing_indicators", indicators: Array<string>, } | { "code": "points_out_of_range", indicator: string, points: number, max: number, } | { "code": "unknown_level", indicator: string, level: string, } | { "code": "wrong_state", state: string, to: string | null, } | { "code": "already_recognised_elsewhere" } | { "code": "not_recognised" } | { "code": "reason_required", max: number, } | { "code": "invalid_recognition", max: number, } | { "code": "invalid_exemplary", max: number, } | { "code": "not_eligible", person: string, year: number, streak: number, required: number, } | { "code": "already_granted", person: string, year: number, decision_no: string, decision_date: string, } | { "code": "stale_revision", catalog: string, revision: number, installed: number, } | { "code": "unit_exists", unit: string, } | { "code": "unknown_unit", unit: string, } | { "code": "cycle", unit: string, } | { "code": "below_threshold", total: number, threshold: number, short_by: number, } | { "code": "indicator_below_minimum", indicator: string, points: number, min: number, } | { "code": "unanswered", indicators: Array<string>, } | { "code": "raise_indicator", indicator: string, from: number, to: number, gain: number, } | { "code": "raise_indicator_to_level", indicator: string, from: number, to: number, gain: number, level: string, } | { "code": "already_exists" } | { "code": "conflict" } | { "code": "locked" } | { "code": "invalid_input" } | { "code": "disk_full" } | { "code": "corrupt" } | { "code": "too_new" } | { "code": "database_key_unavailable" } | { "code": "storage_error" } | { "code": "data_folder_unavailable" } | { "code": "app_failed" } | { "code": "qr_not_cdht" } | { "code": "qr_newer_version" } | { "code": "qr_bad_unit_code", unit: string, } | { "code": "qr_bad_join_key" } | { "code": "qr_bad_server" } | { "code": "qr_not_image" } | { "code": "qr_not_found" } | { "code": "qr_damaged" } | { "code": "join_not_cdht" } | { "code": "join_server_not_answering" } | { "code": "photo_empty" } | { "code": "photo_too_large", max_mb: number, } | { "code": "photo_not_an_image" } | { "code": "photo_unsupported_format", format: string, } | { "code": "photo_corrupt" } | { "code": "photo_dimensions_too_large" } | { "code": "photo_internal" } | { "code": "photo_on_server" } | { "code": "photo_missing" } | { "code": "photo_unknown" } | { "code": "photo_fetch_offline" } | { "code": "photo_not_on_server" } | { "code": "photo_fetch_failed" } | { "code": "file_unreadable" } | { "code": "name_required" } | { "code": "text_invalid", field: string, } | { "code": "text_too_long", field: string, max: number, } | { "code": "birth_year_invalid", max: number, } | { "code": "cccd_consent_required" } | { "code": "cccd_invalid" } | { "code": "no_target_group" } | { "code": "indicator_not_in_assessment", indicator: string, } | { "code": "replaced_answers_gone" } | { "code": "catalog_broken" } | { "code": "sync_unavailable" } | { "code": "sync_busy" } | { "code": "officer_fields_required" } | { "code": "officer_bad_credentials" } | { "code": "officer_no_role" } | { "code": "officer_offline" } | { "code": "officer_retry_later" } | { "code": "officer_logout_offline" } | { "code": "not_enrolled" } | { "code": "offline" } | { "code": "retry_later" } | { "code": "server_not_answering" } | { "code": "not_cdht" } | { "code": "auth_expired" } | { "code": "certificate_untrusted" } | { "code": "protocol" } | { "code": "insecure_server", server: string, } | { "code": "unrecognised", name: string, message: string, };

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]?: JsonValue } | null;

export type Unit = { unit_code: UnitCode, 
/**
 * The unit's name, or its code while [`Unit::name_known`] is false.
 */
name: string, 
/**
 * False until a sync (or a join that knew it) brought the real name.
 */
name_known: boolean, server_url: string, join_payload: JsonValue, joined_at_ms: number, area_type: AreaType, active: boolean, };

export type Person = { person_id: PersonId, unit_code: UnitCode | null, is_self: boolean, full_name: string, birth_year: number | null, gender: Gender | null, ethnicity: string | null, target_group: GroupId | null, household_label: string | null, household_address: string | null, 
/**
 * e.g. "••••••••1234"; `None` when no CCCD is stored.
 */
cccd_masked: string | null, cccd_consent_at_ms: number | null, 
/**
 * The server holds a CCCD for this person that this device never saw
 * (a pulled person): show "CCCD đã có trên máy chủ"; an edit keeps it.
 */
server_has_cccd: boolean, 
/**
 * The unit that owns a pulled person on the server (may be a child unit
 * of the joined one); `None` for people created on this device.
 */
server_unit_code: UnitCode | null, revision: number, created_at_ms: number, updated_at_ms: number, };

export type Gender = "female" | "male" | "other";

export type Saved = { revision: number, updated_at_ms: number, };

export type DeleteOutcome = { "outcome": "removed" } | { "outcome": "queued", version: number, };

export type ScoreSummary = { total_points: number, passed: boolean, };

export type AssessmentBrief = { assessment_id: AssessmentId, year: number, status: AssessmentStatus, score: ScoreSummary | null, return_reason: string | null, updated_at_ms: number, };

export type AssessmentStatus = "draft" | "submitted" | "approved" | "returned" | "recognised";

export type PersonListItem = { person_id: PersonId, full_name: string, is_self: boolean, birth_year: number | null, household_label: string | null, unit_code: UnitCode | null, cccd_masked: string | null, assessment: AssessmentBrief | null, };

export type Assessment = { assessment_id: AssessmentId, person_id: PersonId, year: number, catalog_id: CatalogId, group_id: GroupId, area_type: AreaType, status: AssessmentStatus, return_reason: string | null, decision_number: string | null, decision_date: string | null, revision: number, score: ScoreSummary | null, created_at_ms: number, updated_at_ms: number, submitted_at_ms: number | null, };

export type Evidence = { evidence_id: EvidenceId, assessment_id: AssessmentId, indicator_id: IndicatorId, 
/**
 * Lowercase hex; also the file's name.
 */
sha256: string, mime: string, byte_size: number, width_px: number | null, height_px: number | null, taken_at_ms: number | null, created_at_ms: number, 
/**
 * False for a photo of a pulled record that was not fetched yet: there is
 * no file at [`crate::Store::evidence_path`] until
 * [`crate::Store::save_fetched_evidence`] writes it.
 */
on_device: boolean, };

export type SyncPhase = "checking" | "pushing" | "uploading" | "pulling" | "done";

export type SyncProgress = { phase: SyncPhase, items_done: number, items_total: number, bytes_done: number, bytes_total: number, };

export type SyncErrorKind = "offline" | "retry_later" | "server_not_answering" | "not_cdht" | "auth_expired" | "certificate_untrusted" | "rejected" | "store" | "bad_credentials" | "forbidden_role";

export type AppError = { 
/**
 * The code's name (`code.code`), for the UI's branches.
 */
kind: string, code: Code, detail: string, };

export type NextStep = "join" | "profile" | "assess" | "continue_draft" | "send" | "await_review" | "fix_returned" | "await_recognition" | "recognised";

export type Overview = { year: number, units: Array<Unit>, self_person: Person | null, catalog: CatalogSummary, sync: SyncStatus, broken_photos: number, 
/**
 * The officer logged in on this device (it receives the whole unit's records).
 */
device_officer: string | null, 
/**
 * The device holds a token for a server (joined and enrolled).
 */
enrolled: boolean, 
/**
 * The person's own assessment of `year`, if any.
 */
this_year: AssessmentBrief | null, 
/**
 * Home's "Việc tiếp theo" ([`next_step::next_step`]).
 */
next_step: NextStep, };

export type CatalogSummary = { id: CatalogId, decision: string, title: Text, draft: boolean, groups: Array<GroupSummary>, };

export type GroupSummary = { id: GroupId, name: Text, };

export type SyncStatus = { 
/**
 * Records (submitted assessments, people) not yet acknowledged by the server.
 */
waiting_records: number, 
/**
 * Photos not yet fully uploaded.
 */
waiting_photos: number, 
/**
 * Records the server refused, with its reason: a person must fix them.
 */
rejected: Array<RejectedRecord>, 
/**
 * The first waiting records, oldest first, named for people to recognise.
 */
waiting: Array<WaitingRecord>, 
/**
 * Photos the server refused whole: the person must take them again.
 */
refused_photos: Array<RefusedPhoto>, };

export type RefusedPhoto = { evidence_id: EvidenceId, assessment_id: AssessmentId, person_id: PersonId, person_name: string | null, year: number, indicator_id: IndicatorId, code: string, 
/**
 * The server's sentence (Vietnamese).
 */
reason: string, };

export type WaitingRecord = { 
/**
 * `assessment` or `person`.
 */
record_kind: string, record_id: string, 
/**
 * Whose record it is.
 */
person_name: string | null, 
/**
 * The assessment's year (assessments only).
 */
year: number | null, queued_at_ms: number, attempts: number, 
/**
 * Why the last attempt failed (network, server busy), if one did.
 */
last_error: string | null, };

export type RejectedRecord = { record_kind: string, record_id: string, code: string | null, reason: string | null, 
/**
 * Whose record it is, to open it and fix it.
 */
person_id: PersonId | null, person_name: string | null, 
/**
 * The assessment's year (assessments and photos).
 */
year: number | null, };

export type ProfileForm = { full_name: string, birth_year: number | null, gender: Gender | null, ethnicity: string | null, target_group: GroupId | null, 
/**
 * A newly typed CCCD; `None` or empty keeps what is stored.
 */
cccd: string | null, 
/**
 * The consent checkbox, required with a new CCCD.
 */
cccd_consent: boolean, 
/**
 * Erase the stored CCCD and its consent.
 */
erase_cccd: boolean, };

export type PersonForm = { person_id: PersonId | null, full_name: string, birth_year: number | null, gender: Gender | null, ethnicity: string | null, target_group: GroupId | null, household_label: string | null, household_address: string | null, cccd: string | null, cccd_consent: boolean, 
/**
 * Erase the stored CCCD and its consent (also one the server holds for a
 * pulled person: the consent is withdrawn there too).
 */
erase_cccd: boolean, };

export type PeopleListItem = { owner_unit: string | null, person_id: PersonId, full_name: string, is_self: boolean, birth_year: number | null, household_label: string | null, unit_code: UnitCode | null, cccd_masked: string | null, assessment: AssessmentBrief | null, };

export type AssessmentView = { assessment: Assessment, person_name: string, catalog_id: CatalogId, catalog_title: Text, catalog_draft: boolean, rules: Rules, group: Group, answers: Record<string, Answer>, evidence: Array<EvidenceView>, score: ScoreResult, editable: boolean, 
/**
 * Answers edited here and not sent that another device's version
 * replaced (the first to reach the server wins), newest first: shown
 * until the person says "Đã xem". Only kept sets that differ from the
 * answers now are listed.
 */
replaced_answers: Array<ReplacedAnswersView>, };

export type ReplacedAnswersView = { replaced_id: number, replaced_at_ms: number, 
/**
 * The answers that differ from the assessment's answers now, in the
 * catalog's order.
 */
rows: Array<ReplacedAnswerRow>, 
/**
 * "Dùng lại câu trả lời của tôi" can be offered: the assessment is
 * editable here (the other device's version is a draft or was returned).
 */
can_restore: boolean, };

export type ReplacedAnswerRow = { indicator_id: IndicatorId, 
/**
 * `None` for an indicator the catalog no longer has.
 */
indicator_title: Text | null, 
/**
 * The person's kept answer.
 */
answer: Answer, 
/**
 * Its level's label and points, when the catalog knows them.
 */
level_label: Text | null, points: number | null, 
/**
 * What the assessment holds now for the indicator (`None`: unanswered).
 */
current: Answer | null, };

export type EvidenceView = { 
/**
 * A small JPEG as a `data:` URL (no file access from the webview needed).
 */
thumbnail: string | null, evidence_id: EvidenceId, assessment_id: AssessmentId, indicator_id: IndicatorId, 
/**
 * Lowercase hex; also the file's name.
 */
sha256: string, mime: string, byte_size: number, width_px: number | null, height_px: number | null, taken_at_ms: number | null, created_at_ms: number, 
/**
 * False for a photo of a pulled record that was not fetched yet: there is
 * no file at [`crate::Store::evidence_path`] until
 * [`crate::Store::save_fetched_evidence`] writes it.
 */
on_device: boolean, };

export type AnswerSaved = { saved: Saved, score: ScoreResult, };

export type EvidenceAdded = { evidence: EvidenceView, saved: Saved, };

export type HistoryView = { person: Person, entries: Array<AssessmentBrief>, exemplary: ExemplaryStatus, };

export type SyncEvent = { "event": "progress", "payload": SyncProgress } | { "event": "done", "payload": SyncDone } | { "event": "error", "payload": SyncErrorView } | { "event": "enrolled", "payload": EnrolledView };

export type SyncDone = { at_ms: number, pushed: number, acked: number, rejected: number, photos_uploaded: number, uploaded_bytes: number, pulled_changes: number, applied_changes: number, };

export type SyncErrorView = { kind: SyncErrorKind, code: string | null, error: Code, detail: string, at_ms: number, };

export type EnrolledView = { server: string, unit_code: string, unit_name: string, };

export type SyncState = { 
/**
 * The device holds a token for a server.
 */
enrolled: boolean, 
/**
 * The server a stored join waits for, else the one enrolled with.
 */
server: string | null, unit_code: string | null, 
/**
 * A join is stored and waits for the server (offline, or not tried yet).
 */
enrol_pending: boolean, 
/**
 * A round is running now.
 */
running: boolean, 
/**
 * The latest progress of the running (or last) round.
 */
progress: SyncProgress | null, last_done: SyncDone | null, 
/**
 * When the last round succeeded (ms since the epoch).
 */
last_success_ms: number | null, 
/**
 * The error of the last round, cleared by a success.
 */
last_error: SyncErrorView | null, 
/**
 * Rounds finished since the app started (successes and failures).
 */
rounds: number, 
/**
 * What the device pulls: `unit_records` while an officer is logged in on it.
 */
scope: DeviceScope, 
/**
 * The officer logged in on this device, if any.
 */
officer: string | null, };

export type OfficerBinding = { username: string, scope: DeviceScope, };

/** Every code's name (cdht_core::Code::ALL). */
export const CODES = [
  "bad_json",
  "invalid_body",
  "bad_request",
  "bad_body",
  "unsupported_media_type",
  "payload_too_large",
  "bad_query",
  "bad_path",
  "method_not_allowed",
  "unauthenticated",
  "out_of_scope",
  "forbidden_role",
  "bad_join_key",
  "bad_credentials",
  "rate_limited",
  "not_found",
  "busy",
  "internal",
  "server_storage_full",
  "unsupported_protocol",
  "batch_too_large",
  "bad_seq",
  "batch_conflict",
  "seq_out_of_order",
  "bad_version",
  "invalid_text",
  "invalid_name",
  "invalid_phone",
  "invalid_address",
  "invalid_household",
  "invalid_cccd",
  "invalid_year",
  "version_conflict",
  "locked_after_review",
  "delete_after_review",
  "record_reassigned",
  "record_deleted",
  "person_has_assessments",
  "duplicate_limit",
  "hash_mismatch",
  "invalid_evidence",
  "evidence_too_large",
  "unsupported_type",
  "unknown_evidence",
  "offset_mismatch",
  "chunk_out_of_range",
  "unknown_catalog",
  "unknown_group",
  "unknown_indicator",
  "duplicate_indicator",
  "missing_indicators",
  "points_out_of_range",
  "unknown_level",
  "wrong_state",
  "already_recognised_elsewhere",
  "not_recognised",
  "reason_required",
  "invalid_recognition",
  "invalid_exemplary",
  "not_eligible",
  "already_granted",
  "stale_revision",
  "unit_exists",
  "unknown_unit",
  "cycle",
  "below_threshold",
  "indicator_below_minimum",
  "unanswered",
  "raise_indicator",
  "raise_indicator_to_level",
  "already_exists",
  "conflict",
  "locked",
  "invalid_input",
  "disk_full",
  "corrupt",
  "too_new",
  "database_key_unavailable",
  "storage_error",
  "data_folder_unavailable",
  "app_failed",
  "qr_not_cdht",
  "qr_newer_version",
  "qr_bad_unit_code",
  "qr_bad_join_key",
  "qr_bad_server",
  "qr_not_image",
  "qr_not_found",
  "qr_damaged",
  "join_not_cdht",
  "join_server_not_answering",
  "photo_empty",
  "photo_too_large",
  "photo_not_an_image",
  "photo_unsupported_format",
  "photo_corrupt",
  "photo_dimensions_too_large",
  "photo_internal",
  "photo_on_server",
  "photo_missing",
  "photo_unknown",
  "photo_fetch_offline",
  "photo_not_on_server",
  "photo_fetch_failed",
  "file_unreadable",
  "name_required",
  "text_invalid",
  "text_too_long",
  "birth_year_invalid",
  "cccd_consent_required",
  "cccd_invalid",
  "no_target_group",
  "indicator_not_in_assessment",
  "replaced_answers_gone",
  "catalog_broken",
  "sync_unavailable",
  "sync_busy",
  "officer_fields_required",
  "officer_bad_credentials",
  "officer_no_role",
  "officer_offline",
  "officer_retry_later",
  "officer_logout_offline",
  "not_enrolled",
  "offline",
  "retry_later",
  "server_not_answering",
  "not_cdht",
  "auth_expired",
  "certificate_untrusted",
  "protocol",
  "insecure_server",
  "unrecognised",
] as const;
