import { useEffect, useRef, useState } from "preact/hooks";
import { ErrorNotice, Field, Notice, OkNotice } from "@cdht/shared/components";
import { describe, locale, t, tx } from "@cdht/shared/i18n";
import type { components } from "@cdht/shared/generated/dashboard-api.ts";
import { download, getJson, postJson, type ApiError } from "../api";
import { href, navigate, route } from "../router";
import { when } from "../scope";
import { hasRole } from "../session";
import { neighbour } from "../queued";
import { Photo } from "../parts/Photo";

type Detail = components["schemas"]["AssessmentDetail"];

/** "already reviewed by … at …", from the server's record of the last review. */
function reviewedBy(d: Detail): string | null {
  const last = d.last_review;
  if (!last) return null;
  return t("dash.already_reviewed", { who: last.actor, at: when(last.at, locale()), what: t(`dash.action_${last.action}`) });
}

/** One assessment: the person, the server's score and reasons, every answer beside its photos; approve or return. */
export function Review({ id }: { id: string }) {
  const [detail, setDetail] = useState<Detail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [conflict, setConflict] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const reasonBox = useRef<HTMLTextAreaElement>(null);
  const load = () => getJson<Detail>(`/assessments/${id}`);
  useEffect(() => {
    setDetail(null); setError(null); setConflict(null); setDone(null); setReason("");
    load().then(setDetail, setError);
  }, [id]);

  const canReview = hasRole("reviewer");
  const act = async (action: "approve" | "return") => {
    if (!detail || busy) return;
    setBusy(true); setError(null); setConflict(null); setDone(null);
    try {
      // What the page shows may be old: another reviewer may have acted since.
      const fresh = await load();
      if (fresh.state !== detail.state) {
        setDetail(fresh);
        setConflict(reviewedBy(fresh) ?? t("dash.state_changed"));
        return;
      }
      if (action === "approve") await postJson(`/assessments/${id}/approve`, {});
      // Only from the state this page showed: a reviewer who acted meanwhile wins (409 wrong_state).
      else await postJson(`/assessments/${id}/return`, { reason: reason.trim(), from: detail.state });
      // The new state first, then the notice, so both show together.
      setDetail(await load());
      setReason("");
      setDone(action === "approve" ? t("dash.approved_ok") : t("dash.returned_ok"));
    } catch (e) {
      if ((e as ApiError).kind === "wrong_state") {
        const fresh = await load().catch(() => null);
        if (fresh) setDetail(fresh);
        setConflict((fresh && reviewedBy(fresh)) ?? t("dash.state_changed"));
      } else setError(e);
    } finally {
      setBusy(false);
    }
  };
  const submitReturn = (e: Event) => {
    e.preventDefault();
    if (!reason.trim()) { reasonBox.current?.focus(); return; }
    void act("return");
  };

  const back = { unit: route.value.params.get("unit"), year: route.value.params.get("year") };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement;
      if (e.ctrlKey || e.metaKey || e.altKey || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName)) return;
      if (document.getElementById("photo-viewer")) return;
      const go = (step: 1 | -1) => { const n = neighbour(id, step); if (n) navigate(`review/${n}`, back); };
      if (e.key === "j") go(1);
      else if (e.key === "k") go(-1);
      else if (e.key === "a" && canReview && detail?.state === "submitted") void act("approve");
      else if (e.key === "r" && canReview) { e.preventDefault(); reasonBox.current?.focus(); }
      else return;
      e.preventDefault();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  });

  if (error && !detail) return <section id="review"><a href={href("queue", back)}>{t("common.back")}</a><ErrorNotice error={error} /></section>;
  if (!detail) return <p>{t("common.loading")}</p>;
  const d = detail;
  const prev = neighbour(id, -1);
  const next = neighbour(id, 1);
  return (
    <section id="review" data-state={d.state}>
      <div class="review-nav">
        <a href={href("queue", back)} id="back-to-queue">{t("dash.back_to_queue")}</a>
        <span>
          {prev ? <a href={href(`review/${prev}`, back)} id="review-prev">{t("dash.previous")}</a> : null}
          {next ? <a href={href(`review/${next}`, back)} id="review-next">{t("dash.next")}</a> : null}
        </span>
      </div>
      <div class="card person-card">
        <h2 id="review-person">{d.person_name}</h2>
        <p>
          {d.birth_year ? t("dash.born", { year: d.birth_year }) + " · " : ""}
          {d.address ? `${d.address} · ` : ""}{d.unit_name} ({d.unit}) · {tx(d.group_name) || d.group} · {d.year}
        </p>
        <p><span class={`badge status-${d.state}`} id="review-state">{t(`status.${d.state}`)}</span></p>
        <p class={`verdict ${d.passed ? "pass" : "fail"}`} id="review-score">
          {t("dash.server_score", { total: d.total, max: d.max_total ?? "?", threshold: d.threshold })} · {d.passed ? t("dash.passed") : t("dash.failed")}
        </p>
        {d.reasons.length ? <ul id="review-reasons">{d.reasons.map((r, i) => <li key={i}>{describe(r as { code: string })}</li>)}</ul> : null}
        {d.return_reason ? <Notice kind="warn" id="review-return-reason">{t("dash.return_reason_was", { reason: d.return_reason })}</Notice> : null}
        {d.decision_no ? <p>{t("dash.decision_is", { no: d.decision_no, date: d.decision_date ?? "" })}</p> : null}
        {d.last_review ? <p class="hint" id="review-last">{reviewedBy(d)}</p> : null}
        {d.state === "recognised" ? (
          <button class="secondary" id="certificate" onClick={() => download(`/assessments/${d.id}/certificate.pdf`, `giay-chung-nhan-${d.id}.pdf`).catch(setError)}>
            {t("dash.certificate")}
          </button>
        ) : null}
      </div>
      {conflict ? <Notice kind="warn" id="review-conflict">{conflict}</Notice> : null}
      {done ? <OkNotice id="review-done">{done}</OkNotice> : null}
      <ErrorNotice error={error} />
      {canReview && (d.state === "submitted" || d.state === "approved") ? (
        <div class="card actions" id="review-actions">
          {d.state === "submitted" ? (
            <button class="primary big" id="approve" disabled={busy} onClick={() => act("approve")}>{t("dash.approve")}</button>
          ) : null}
          <form id="return-form" onSubmit={submitReturn}>
            <Field label={t("dash.return_reason")} hint={t("dash.return_hint")}>
              <textarea id="return-reason" ref={reasonBox} required maxLength={1000} rows={3} value={reason}
                onInput={(e) => setReason(e.currentTarget.value)} />
            </Field>
            <button class="secondary big" id="return" type="submit" disabled={busy}>{t("dash.return")}</button>
          </form>
        </div>
      ) : null}
      <h3>{t("dash.indicators")}</h3>
      <ol class="answers" id="review-indicators">
        {d.indicators.map((ind) => (
          <li key={ind.id} class="card answer" data-indicator={ind.id}>
            <div class="answer-text">
              <strong>{ind.id}. {tx(ind.title)}</strong>
              <p class={ind.points * 2 < ind.max_points ? "fail" : ""}>
                {ind.answered ? t("dash.points", { points: ind.points, max: ind.max_points }) : t("dash.unanswered")}
                {ind.level ? ` · ${tx(ind.level)}` : ""}
              </p>
            </div>
            <div class="thumbs">
              {ind.evidence.length ? ind.evidence.map((sha, i) => <Photo key={sha} sha256={sha} index={i} />) : <span class="hint">{t("dash.no_photo")}</span>}
            </div>
          </li>
        ))}
      </ol>
    </section>
  );
}
