// The self-assessment of one person for one year: every answer saved as it
// is chosen, the live score beside it, evidence photos per indicator, and the
// submission.
import { useEffect, useRef, useState } from "preact/hooks";
import { ErrorNotice, Notice, OkNotice, PhotoViewer, ScorePanel, verdictOf, type Score } from "@cdht/shared/components";
import { locale, t, tx } from "@cdht/shared/i18n";
import { slug } from "@cdht/shared/util";
import type { Answer, AssessmentView, EvidenceView, Saved } from "@cdht/shared/app-types";
import type { AppError } from "@cdht/shared/types";
import { call } from "../api";
import { IndicatorCard } from "../components/IndicatorCard";
import { ReplacedNotice } from "../components/ReplacedNotice";
import { go, nav, overview, refreshOverview, selfId, takeFlash } from "../state";
import { useLoad } from "../useLoad";

type Opened = { view: AssessmentView } | { noGroup: AppError; own: boolean };

export function AssessScreen() {
  const o = overview.peek()!;
  const personId = nav.personId ?? selfId();
  // A past year opened from the history; otherwise this year.
  const year = nav.year ?? o.year;
  const loaded = useLoad<Opened | null>(async () => {
    if (!personId) return null;
    try {
      return { view: await call("open_assessment", { person_id: personId, year }) };
    } catch (err) {
      // The citizen fixes their own profile; an officer fixes the person in officer mode.
      if ((err as AppError)?.kind === "no_target_group") return { noGroup: err as AppError, own: personId === selfId() };
      throw err;
    }
  });
  if (!personId) {
    return (
      <>
        <h2>{t("assess.title", { year: o.year })}</h2>
        <p>{t("assess.need_profile")}</p>
        <button class="primary" id="assess-go-profile" onClick={() => go("profile")}>{t("home.step_profile_button")}</button>
      </>
    );
  }
  if (loaded.error) return <ErrorNotice error={loaded.error} />;
  const opened = loaded.data;
  if (!opened) return <p>{t("common.loading")}</p>;
  if ("noGroup" in opened) {
    return (
      <>
        <h2>{t("assess.title", { year })}</h2>
        <ErrorNotice error={opened.noGroup} id="assess-error" />
        <button class="primary" id="assess-go-profile" onClick={() => go(opened.own ? "profile" : "officer")}>
          {opened.own ? t("home.step_profile_button") : t("nav.officer")}
        </button>
      </>
    );
  }
  return <AssessmentForm view={opened.view} />;
}

type SavedState = { kind: "none" } | { kind: "pending" } | { kind: "failed" } | { kind: "done"; at: number };
type Message = { kind: "error"; error: unknown } | { kind: "need_all" } | { kind: "confirm_fail" } | null;

function AssessmentForm({ view }: { view: AssessmentView }) {
  const a = view.assessment;
  const editable = view.editable;
  const [flash] = useState(takeFlash);
  const [score, setScore] = useState<Score>(view.score);
  const [evidence, setEvidence] = useState<EvidenceView[]>(view.evidence);
  // What is stored, and what is shown (a choice being saved shows at once).
  const stored = useRef<Record<string, Answer>>({ ...view.answers });
  const [choices, setChoices] = useState<Record<string, Answer>>({ ...view.answers });
  const [saved, setSaved] = useState<SavedState>(a.updated_at_ms && a.revision > 1 ? { kind: "done", at: a.updated_at_ms } : { kind: "none" });
  const [message, setMessage] = useState<Message>(null);
  const [photo, setPhoto] = useState<EvidenceView | null>(null);

  // Saves run one after another, in the order the person made the changes: two
  // quick taps on one indicator are never stored in the wrong order, and "Đã lưu"
  // shows only once every change made so far is stored.
  const queue = useRef<Promise<unknown>>(Promise.resolve());
  const pending = useRef(0);
  const failed = useRef(false);
  const save = (action: () => Promise<Saved>) => {
    pending.current += 1;
    setSaved({ kind: "pending" });
    queue.current = queue.current.then(action).then(
      (result) => {
        pending.current -= 1;
        if (pending.current === 0) setSaved(failed.current ? { kind: "failed" } : { kind: "done", at: result.updated_at_ms });
        if (pending.current === 0) failed.current = false;
      },
      () => {
        pending.current -= 1;
        failed.current = true;
        if (pending.current === 0) {
          setSaved({ kind: "failed" });
          failed.current = false;
        }
      },
    );
  };
  const choose = (indicator: string, levelId: string) => {
    setChoices((c) => ({ ...c, [indicator]: levelId }));
    save(async () => {
      try {
        const r = await call("set_answer", { assessment_id: a.assessment_id, indicator, answer: levelId });
        stored.current[indicator] = levelId;
        setScore(r.score);
        setMessage(null);
        return r.saved;
      } catch (error) {
        setMessage({ kind: "error", error });
        // Show what is stored, not the choice that failed to save.
        setChoices((c) => ({ ...c, [indicator]: stored.current[indicator] }));
        throw error;
      }
    });
  };

  const confirmFail = useRef(false);
  const submit = async () => {
    await queue.current; // every change is stored before the submission freezes it
    try {
      if (!confirmFail.current) {
        const current = await call("assessment_view", { assessment_id: a.assessment_id });
        if (current.score.unanswered.length) {
          setMessage({ kind: "need_all" });
          return;
        }
        if (!current.score.passed) {
          confirmFail.current = true;
          setMessage({ kind: "confirm_fail" });
          return;
        }
      }
      await call("submit_assessment", { assessment_id: a.assessment_id });
      await refreshOverview();
      go("assess", { flash: t("assess.submitted"), year: a.year, personId: a.person_id });
    } catch (error) {
      setMessage({ kind: "error", error });
    }
  };

  // A record entered by mistake (the wrong person, the wrong year): deleted
  // only before review, after the person confirms it in plain words.
  const deletable = a.status === "draft" || a.status === "submitted";
  const [confirmDelete, setConfirmDelete] = useState(false);
  // The question comes into sight with the safe answer focused.
  useEffect(() => {
    if (!confirmDelete) return;
    document.getElementById("delete-assessment-confirm")?.scrollIntoView({ block: "center" });
    document.getElementById("delete-assessment-no")?.focus({ preventScroll: true });
  }, [confirmDelete]);
  const remove = async () => {
    await queue.current;
    try {
      await call("delete_assessment", { assessment_id: a.assessment_id });
      await refreshOverview();
      if (a.person_id === selfId()) go("home");
      else go("officer", { flash: t("assess.deleted", { name: view.person_name }) });
    } catch (error) {
      setConfirmDelete(false);
      setMessage({ kind: "error", error });
    }
  };

  const jump = (indicator: string) => {
    const card = document.getElementById(`indicator-${slug(indicator)}`);
    card?.scrollIntoView({ behavior: "smooth", block: "start" });
    card?.querySelector<HTMLInputElement>("input[type=radio]")?.focus({ preventScroll: true });
  };
  // Evidence is the hard part: keep in sight how many indicators have a photo.
  const indicatorCount = view.group.competencies.reduce((n, c) => n + c.indicators.length, 0);
  const withPhoto = new Set(evidence.map((e) => e.indicator_id)).size;
  const verdict = verdictOf(score);
  const indicatorTitle = (id: string) =>
    view.group.competencies.flatMap((c) => c.indicators).find((ind) => ind.id === id)?.title;
  const savedText = saved.kind === "done" ? `✓ ${t("assess.saved")}` : saved.kind === "pending" ? t("assess.saving") : saved.kind === "failed" ? t("assess.not_saved") : "";
  return (
    <>
      <div class="assess-head">
        <h2 id="assess-title">{t("assess.title", { year: a.year })}</h2>
        <p id="assess-person">{t("assess.for", { name: view.person_name })}</p>
        <p class="status-line"><span class={`badge status-${a.status}`} id="assess-status">{t(`status.${a.status}`)}</span></p>
        <p id="assess-group">{t("assess.group", { group: tx(view.group.name) })}</p>
        <p class="hint">{t("assess.catalog", { title: tx(view.catalog_title) })}</p>
        {view.catalog_draft ? <p class="hint">{t("assess.catalog_draft")}</p> : null}
      </div>
      {flash ? <OkNotice id="assess-flash">{flash}</OkNotice> : null}
      {a.status === "returned" && a.return_reason ? (
        <Notice kind="warn" id="assess-returned">{t("history.returned_reason", { reason: a.return_reason })}</Notice>
      ) : null}
      <ReplacedNotice view={view} saved={() => queue.current} />
      {!editable ? (
        <Notice kind="info" id="assess-locked">
          {t("assess.locked")}
          <div><button class="secondary" onClick={() => go("history", { personId: a.person_id })}>{t("assess.next_history")}</button></div>
        </Notice>
      ) : null}
      <div class="assess-layout">
        <div class="assess-form">
          {view.group.competencies.map((c) => (
            <section class="competency" key={c.id}>
              <h3>{t("assess.competency", { id: c.id, name: tx(c.name) })}</h3>
              {c.indicators.map((ind) => (
                <IndicatorCard key={ind.id} ind={ind} assessmentId={a.assessment_id} editable={editable}
                  choice={choices[ind.id]} onChoose={(level) => choose(ind.id, level)}
                  photos={evidence.filter((e) => e.indicator_id === ind.id)} setEvidence={setEvidence}
                  save={save} onOpenPhoto={setPhoto} />
              ))}
            </section>
          ))}
          <div id="assess-messages">
            {message?.kind === "error" ? <ErrorNotice error={message.error} id="assess-error" /> : null}
            {message?.kind === "need_all" ? <Notice kind="error" id="assess-error">{t("assess.submit_need_all")}</Notice> : null}
            {message?.kind === "confirm_fail" ? <Notice kind="warn" id="assess-confirm">{t("assess.submit_confirm_fail")}</Notice> : null}
          </div>
          {editable ? <button class="primary big" id="submit-assessment" onClick={submit}>{t("assess.submit")}</button> : null}
          {deletable && !confirmDelete ? (
            <p><button class="secondary" id="delete-assessment" onClick={() => setConfirmDelete(true)}>{t("assess.delete")}</button></p>
          ) : null}
          {deletable && confirmDelete ? (
            <Notice kind="warn" id="delete-assessment-confirm">
              {t("assess.delete_confirm", { year: a.year, name: view.person_name })}
              <div class="choices">
                <button class="primary" id="delete-assessment-yes" onClick={remove}>{t("assess.delete_yes")}</button>
                <button class="secondary" id="delete-assessment-no" onClick={() => setConfirmDelete(false)}>{t("assess.delete_no")}</button>
              </div>
            </Notice>
          ) : null}
        </div>
        {/* The side panel scrolls on its own on a desktop: focusable, so a keyboard can scroll it. */}
        <aside class="assess-side" tabIndex={0} aria-label={t("assess.score_panel")}>
          <div id="saved-indicator" class={`saved${saved.kind === "none" ? "" : ` ${saved.kind}`}`} role="status">
            {saved.kind === "done" ? (
              <>
                <span class="tick" aria-hidden="true">✓ </span>
                <span id="saved-text">{t("assess.saved")}</span>
                <span class="hint">{" · " + t("assess.saved_at", {
                  time: new Date(saved.at).toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit", second: "2-digit" }),
                })}</span>
              </>
            ) : saved.kind === "pending" ? t("assess.saving") : saved.kind === "failed" ? t("assess.not_saved") : null}
          </div>
          <ScorePanel score={score} indicatorTitle={indicatorTitle} onJump={jump} />
          <p id="evidence-summary" class="hint">
            {t("assess.evidence_summary", { photos: evidence.length, with: withPhoto, total: indicatorCount })}
          </p>
        </aside>
      </div>
      {/* On a phone the side panel scrolls away: a bar at the bottom keeps the score in sight. */}
      <div class="mini-score" aria-hidden="true">
        <span class="mini-total">{`${score.total}/${score.max_total}`}</span>
        <span class={`verdict ${verdict.cls}`}>{verdict.text}</span>
        <span class="mini-saved">{savedText}</span>
      </div>
      {photo ? (
        <PhotoViewer photo={photo} load={() => call("evidence_photo", { sha256: photo.sha256 })} onClose={() => setPhoto(null)} />
      ) : null}
    </>
  );
}
