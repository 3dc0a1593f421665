// The app's IPC: what its commands (src-tauri → crates/app) take and return,
// and the background sync loop's events. The record types are generated from
// the Rust types (generated/app-ipc.ts, ts-rs); the command and event names
// below are checked against src-tauri and crates/app by `npm run check`.
import type {
  AnswerSaved, Answer, AssessmentView, DeleteOutcome, EnrolledView, EvidenceAdded, EvidenceView, HistoryView, OfficerBinding,
  Overview, PeopleListItem, Person, PersonForm, ProfileForm, Saved, SyncDone, SyncErrorView, SyncProgress,
  SyncState, SyncStatus, Unit,
} from "./generated/app-ipc";

export type * from "./generated/app-ipc";
/** Every code's name (cdht_core::Code), generated with the types. */
export { CODES } from "./generated/app-ipc";

/** What `sync_status` answers (src-tauri's SyncView: the status, flattened, and the loop's state). */
export type SyncView = SyncStatus & { background: SyncState };

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
  delete_assessment: [{ assessment_id: string }, DeleteOutcome];
  delete_person: [{ person_id: string }, DeleteOutcome];
  dismiss_replaced_answers: [{ assessment_id: string }, AssessmentView];
  restore_replaced_answers: [{ assessment_id: string; replaced_id: number }, AssessmentView];
  history: [{ person_id: string }, HistoryView];
  sync_status: [{}, SyncView];
  sync_now: [{}, SyncState];
  officer_login: [{ username: string; password: string }, OfficerBinding];
  officer_logout: [{}, null];
  fetch_evidence_photo: [{ evidence_id: string; sha256: string }, EvidenceView];
};

/** The background loop's events (src-tauri start_sync): name and payload. */
export type SyncEvents = {
  "sync-progress": SyncProgress;
  "sync-done": SyncDone;
  "sync-error": SyncErrorView;
  "sync-enrolled": EnrolledView;
};
