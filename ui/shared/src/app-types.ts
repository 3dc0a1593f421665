// The app's IPC: what its commands (src-tauri → crates/app) take and return,
// and the background sync loop's events. Mirrors the Rust types by name.
import type { Progress, Score } from "./components";
import type { Text } from "./types";

export type Answer = string | number;
export type AssessmentStatus = "draft" | "submitted" | "approved" | "returned" | "recognised";
export type Gender = "female" | "male" | "other";
export type ScoreSummary = { total_points: number; passed: boolean };

export type Unit = { unit_code: string; name: string; name_known: boolean; server_url: string; active: boolean; area_type: string; joined_at_ms: number };
export type Person = {
  person_id: string; unit_code: string | null; is_self: boolean; full_name: string; birth_year: number | null;
  gender: Gender | null; ethnicity: string | null; target_group: string | null; household_label: string | null;
  household_address: string | null; cccd_masked: string | null; server_has_cccd: boolean; revision: number;
};
export type Saved = { revision: number; updated_at_ms: number };
export type AssessmentBrief = { assessment_id: string; year: number; status: AssessmentStatus; score: ScoreSummary | null; return_reason: string | null; updated_at_ms: number };
export type PeopleListItem = {
  person_id: string; full_name: string; is_self: boolean; birth_year: number | null; household_label: string | null;
  unit_code: string | null; cccd_masked: string | null; assessment: AssessmentBrief | null; owner_unit: string | null;
};
export type WaitingRecord = { record_kind: string; record_id: string; person_name: string | null; year: number | null; queued_at_ms: number; attempts: number; last_error: string | null };
export type RejectedRecord = { record_kind: string; record_id: string; code: string | null; reason: string | null; person_id: string | null; person_name: string | null; year: number | null };
export type RefusedPhoto = { evidence_id: string; assessment_id: string; person_id: string; person_name: string | null; year: number; indicator_id: string; code: string; reason: string };
export type SyncStatus = { waiting_records: number; waiting_photos: number; rejected: RejectedRecord[]; waiting: WaitingRecord[]; refused_photos: RefusedPhoto[] };
export type NextStep = "join" | "profile" | "assess" | "continue_draft" | "send" | "await_review" | "fix_returned" | "await_recognition" | "recognised";
export type Overview = {
  year: number; units: Unit[]; self_person: Person | null;
  catalog: { id: string; decision: string; title: Text; draft: boolean; groups: { id: string; name: Text }[] };
  sync: SyncStatus; broken_photos: number; device_officer: string | null; enrolled: boolean;
  this_year: AssessmentBrief | null; next_step: NextStep;
};

export type Level = { id: string; points: number; label: Text; evidence?: Text | null };
export type Indicator = { id: string; max_points: number; title: Text; question: Text; evidence_hint: Text; levels: Level[] };
export type Competency = { id: string; name: Text; indicators: Indicator[] };
export type Group = { id: string; name: Text; competencies: Competency[] };
export type Assessment = {
  assessment_id: string; person_id: string; year: number; status: AssessmentStatus; return_reason: string | null;
  revision: number; updated_at_ms: number;
};
export type EvidenceView = {
  evidence_id: string; assessment_id: string; indicator_id: string; sha256: string; mime: string; byte_size: number;
  width_px: number | null; height_px: number | null; on_device: boolean; thumbnail: string | null;
};
export type ReplacedAnswerRow = { indicator_id: string; indicator_title: Text | null; answer: Answer; level_label: Text | null; points: number | null; current: Answer | null };
export type ReplacedAnswersView = { replaced_id: number; replaced_at_ms: number; rows: ReplacedAnswerRow[]; can_restore: boolean };
export type AssessmentView = {
  assessment: Assessment; person_name: string; catalog_id: string; catalog_title: Text; catalog_draft: boolean;
  group: Group; answers: Record<string, Answer>; evidence: EvidenceView[]; score: Score; editable: boolean;
  replaced_answers: ReplacedAnswersView[];
};
export type AnswerSaved = { saved: Saved; score: Score };
export type EvidenceAdded = { evidence: EvidenceView; saved: Saved };
export type ExemplaryStatus = { year: number; streak: number; required: number; eligible: boolean; years_to_go: number; provisional: boolean };
export type HistoryView = { person: Person; entries: AssessmentBrief[]; exemplary: ExemplaryStatus };

export type SyncErrorView = { kind: string; code?: string | null; message: string };
export type SyncState = {
  enrolled: boolean; server: string | null; unit_code: string | null; enrol_pending: boolean; running: boolean;
  progress: Progress | null; last_success_ms: number | null; last_error: SyncErrorView | null; rounds: number; officer: string | null;
};
export type SyncView = SyncStatus & { background: SyncState };
export type OfficerBinding = { username: string };

export type ProfileForm = {
  full_name: string; birth_year: number | null; gender: Gender | null; ethnicity: string | null; target_group: string | null;
  cccd: string | null; cccd_consent: boolean; erase_cccd: boolean;
};
export type PersonForm = ProfileForm & { person_id: string | null; household_label: string | null; household_address: string | null };

/** Every command: its arguments and what it returns. */
export type Commands = {
  overview: [{}, Overview];
  join_unit_from_qr_image: [{ image_base64: string }, Unit];
  join_unit_from_qr_text: [{ text: string }, Unit];
  join_unit_typed: [{ server: string; unit: string; join_key: string }, Unit];
  save_profile: [{ form: ProfileForm }, Person];
  save_person: [{ form: PersonForm }, Person];
  person: [{ person_id: string }, Person];
  list_people: [{ query: string; limit: number }, PeopleListItem[]];
  open_assessment: [{ person_id: string; year: number }, AssessmentView];
  assessment_view: [{ assessment_id: string }, AssessmentView];
  set_answer: [{ assessment_id: string; indicator: string; answer: Answer }, AnswerSaved];
  clear_answer: [{ assessment_id: string; indicator: string }, AnswerSaved];
  add_evidence: [{ assessment_id: string; indicator: string; image_base64: string }, EvidenceAdded];
  evidence_photo: [{ sha256: string }, string];
  remove_evidence: [{ evidence_id: string }, Saved];
  submit_assessment: [{ assessment_id: string }, AssessmentView];
  dismiss_replaced_answers: [{ assessment_id: string }, AssessmentView];
  restore_replaced_answers: [{ assessment_id: string; replaced_id: number }, AssessmentView];
  history: [{ person_id: string }, HistoryView];
  sync_status: [{}, SyncView];
  sync_now: [{}, SyncState];
  officer_login: [{ username: string; password: string }, OfficerBinding];
  officer_logout: [{}, null];
  fetch_evidence_photo: [{ evidence_id: string; sha256: string }, EvidenceView];
};

/** The background loop's events (src-tauri start_sync). */
export type SyncEvents = {
  "sync-progress": Progress;
  "sync-done": unknown;
  "sync-error": SyncErrorView;
  "sync-enrolled": unknown;
};
