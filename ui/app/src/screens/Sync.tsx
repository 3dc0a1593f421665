// The sync area: the background loop's state in plain words, "Đồng bộ ngay",
// what waits, and what the server refused ("Cần sửa") with the way to fix it.
import { useEffect, useRef, useState } from "preact/hooks";
import { ErrorNotice, ProgressBar, type Progress } from "@cdht/shared/components";
import { describe, describeName, locale, t, tOwn } from "@cdht/shared/i18n";
import type { RejectedRecord, SyncState, SyncStatus, SyncView } from "@cdht/shared/app-types";
import { call } from "../api";
import { SyncSummary } from "../components/SyncSummary";
import { useSyncEvent } from "../live";
import { go, selfId } from "../state";

/**
 * Why the server refused a record, in the chosen language: its stable code
 * worded by the catalog (with the next step), else the code's own wording,
 * or the server's sentence (Vietnamese) for a code this version does not know.
 */
function refusalText(code: string | null | undefined, message: string | null | undefined): string {
  return (code && tOwn(`refusal.${code}`)) || describeName(code) || message || t("sync.parked_no_reason");
}

type StateText = { id: string; text: string; rescan?: boolean };

/** The plain-language state of the background loop. */
function syncStateText(bg: SyncState): StateText {
  const err = bg.last_error;
  if (bg.running) return { id: "running", text: t("sync.state_running") };
  if (err) {
    switch (err.kind) {
      case "offline":
      case "retry_later":
        return { id: "offline", text: t("sync.state_offline") };
      case "auth_expired":
        return { id: "auth", text: t("sync.state_auth_expired"), rescan: true };
      case "certificate_untrusted":
        return { id: "certificate", text: t("sync.state_certificate") };
      // The network works but this address answers nothing, or answers and is
      // not a CDHT server: waiting for a signal would never help.
      case "server_not_answering":
        return { id: "server_not_answering", text: t("sync.state_server_not_answering", { server: bg.server ?? "" }), rescan: true };
      case "not_cdht":
        return { id: "not_cdht", text: t("sync.state_not_cdht", { server: bg.server ?? "" }), rescan: true };
      case "store":
        return { id: "store", text: t("sync.state_store") };
      default:
        return { id: "rejected", text: t("sync.state_rejected", { reason: (err.code && tOwn(`refusal.${err.code}`)) || describe(err.error) }) };
    }
  }
  if (!bg.enrolled && !bg.enrol_pending) return { id: "not_joined", text: t("sync.state_not_joined") };
  if (bg.last_success_ms) return { id: "ok", text: t("sync.state_ok") };
  return { id: "waiting", text: t("sync.state_waiting") };
}

function SyncLiveCard({ bg, progress, running, reload }: { bg: SyncState; progress: Progress | null; running: boolean; reload: () => Promise<void> }) {
  const st = running ? { id: "running", text: t("sync.state_running") } : syncStateText(bg);
  const [busy, setBusy] = useState(false);
  // "Đồng bộ ngay" wakes the loop, then the card reads its state again in
  // place (the elements stay, so nothing being read goes stale).
  const syncNow = async () => {
    setBusy(true);
    try {
      await call("sync_now");
    } finally {
      setTimeout(() => { reload().finally(() => setBusy(false)); }, 300);
    }
  };
  return (
    <section class="card" id="sync-live">
      <p id="sync-state" data-state={st.id} class={st.id === "ok" || st.id === "running" ? "" : "notice"}>{st.text}</p>
      {"rescan" in st && st.rescan ? <button class="primary" id="sync-rescan" onClick={() => go("join")}>{t("sync.rescan")}</button> : null}
      <ProgressBar progress={progress ?? bg.progress} />
      <p id="sync-last">
        {bg.last_success_ms ? t("sync.last_success", { time: new Date(bg.last_success_ms).toLocaleString(locale()) }) : t("sync.never")}
      </p>
      <button class="primary" id="sync-now" disabled={busy} onClick={syncNow}>{t("sync.now")}</button>
    </section>
  );
}

/** What a parked record is, named for people ("Bài tự đánh giá năm 2026 của …"). */
function parkedName(r: RejectedRecord): string {
  if (r.record_kind === "assessment" && r.person_name) return t("sync.item_assessment", { name: r.person_name, year: r.year ?? "" });
  if (r.record_kind === "person" && r.person_name) return t("sync.item_person", { name: r.person_name });
  if (r.record_kind === "evidence" && r.person_name) return t("sync.item_evidence", { name: r.person_name, year: r.year ?? "" });
  return r.record_kind === "assessment" ? t("sync.parked_assessment") : r.record_kind === "person" ? t("sync.parked_person") : t("sync.parked_other");
}

/** The one list of what the server refused, each with its reason and a way to fix it. */
function ParkedList({ sync }: { sync: SyncStatus }) {
  const photos = sync.refused_photos ?? [];
  if (!sync.rejected.length && !photos.length) return null;
  const fix = (r: RejectedRecord) => {
    if (!r.person_id) return null;
    const own = r.person_id === selfId();
    const open = r.record_kind === "person"
      ? () => go(own ? "profile" : "officer")
      : () => go("assess", { personId: r.person_id, year: r.year ?? null });
    return <button class="secondary parked-fix" onClick={open}>{t(r.record_kind === "person" ? "sync.parked_fix_person" : "sync.parked_fix_assessment")}</button>;
  };
  return (
    <section class="card" id="sync-parked">
      <h3>{t("sync.parked_title")}</h3>
      <p class="hint">{t("sync.parked_intro")}</p>
      <ul class="parked">
        {sync.rejected.map((r) => (
          <li key={r.record_id} class="notice error" data-code={r.code ?? ""}>
            <strong>{parkedName(r)}</strong>
            <p class="parked-reason">{refusalText(r.code, r.reason)}</p>
            {fix(r)}
          </li>
        ))}
        {/* A refused photo: its reason, and the next step is always to take it again. */}
        {photos.map((p) => (
          <li key={p.evidence_id} class="notice error refused-photo" data-code={p.code}>
            <strong>{t("sync.refused_photo", { indicator: p.indicator_id, year: p.year, name: p.person_name ?? "?" })}</strong>
            <p class="parked-reason">{refusalText(p.code, p.reason)}</p>
            <button class="primary parked-fix" onClick={() => go("assess", { personId: p.person_id, year: p.year })}>{t("sync.retake_photo")}</button>
          </li>
        ))}
      </ul>
    </section>
  );
}

type Shown = { status: SyncStatus; bg: SyncState; progress: Progress | null; running: boolean };

export function SyncScreen() {
  const [shown, setShown] = useState<Shown | null>(null);
  const [error, setError] = useState<unknown>(null);
  const mounted = useRef(true);
  const reload = () =>
    call("sync_status").then((v: SyncView) => {
      if (mounted.current) setShown({ status: v, bg: v.background, progress: null, running: false });
    });
  useEffect(() => {
    reload().catch(setError);
    return () => { mounted.current = false; };
  }, []);
  // Progress redraws the live card at once; after a round the status is read
  // again: only the live card on an error, everything after a success.
  useSyncEvent((event) => {
    if (event.name === "sync-progress") {
      const p = event.payload;
      setShown((s) => s && { ...s, progress: p, running: s.running || p.phase !== "done" });
      return;
    }
    call("sync_status").then((v) => {
      if (!mounted.current) return;
      setShown((s) => s && { status: event.name === "sync-error" ? s.status : v, bg: v.background, progress: null, running: false });
    }).catch(() => {});
  });
  if (error) return <ErrorNotice error={error} />;
  if (!shown) return <p>{t("common.loading")}</p>;
  return (
    <>
      <h2>{t("sync.title")}</h2>
      <p>{t("sync.intro")}</p>
      <SyncLiveCard bg={shown.bg} progress={shown.progress} running={shown.running} reload={() => reload().catch(() => {})} />
      <SyncSummary sync={shown.status} />
      <ParkedList sync={shown.status} />
      <button class="secondary" id="sync-home" onClick={() => go("home")}>{t("nav.home")}</button>
    </>
  );
}
