import { useEffect, useState } from "preact/hooks";
import { ErrorNotice, Field, Notice, OkNotice } from "@cdht/shared/components";
import { t } from "@cdht/shared/i18n";
import type { components } from "@cdht/shared/generated/dashboard-api.ts";
import { download, getJson, postJson, query } from "../api";
import { href } from "../router";
import { pageUnit, pageYear, unitName } from "../scope";
import { ScopePicker } from "../parts/ScopePicker";

type QueueItem = components["schemas"]["QueueItem"];
type QueuePage = components["schemas"]["QueuePage"];
/** The most one decision recognises (the API's limit). */
const MAX = 5000;

/** A decision's file name part: letters and digits only. */
const filePart = (no: string) => no.normalize("NFD").replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "");

/** The decision's list as PDF and XLSX. */
function DecisionFiles({ unit, decision }: { unit: string; decision: string }) {
  const [error, setError] = useState<unknown>(null);
  const path = (ext: string) => `/units/${encodeURIComponent(unit)}/recognition-list.${ext}${query({ decision_no: decision })}`;
  return (
    <div class="downloads">
      <button class="secondary" id="decision-pdf" onClick={() => download(path("pdf"), `quyet-dinh-${filePart(decision)}.pdf`).catch(setError)}>{t("dash.decision_pdf")}</button>
      <button class="secondary" id="decision-xlsx" onClick={() => download(path("xlsx"), `quyet-dinh-${filePart(decision)}.xlsx`).catch(setError)}>{t("dash.decision_xlsx")}</button>
      <ErrorNotice error={error} id="decision-error" />
    </div>
  );
}

/** The approved assessments of a commune's subtree and year; recognise those chosen by one decision. */
export function Recognition() {
  const unit = pageUnit();
  const year = pageYear();
  const [items, setItems] = useState<QueueItem[] | null>(null);
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [decisionNo, setDecisionNo] = useState("");
  const [decisionDate, setDecisionDate] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<{ no: string; count: number } | null>(null);
  const [listNo, setListNo] = useState("");
  const [busy, setBusy] = useState(false);
  const load = async () => {
    const all: QueueItem[] = [];
    let cursor: string | null | undefined = null;
    do {
      const page: QueuePage = await getJson<QueuePage>(`/units/${encodeURIComponent(unit)}/review-queue${query({ year, state: "approved", cursor, limit: 200 })}`);
      all.push(...page.items);
      cursor = page.next;
    } while (cursor && all.length < MAX);
    return all;
  };
  useEffect(() => {
    setItems(null); setChosen(new Set()); setError(null);
    load().then(setItems, setError);
  }, [unit, year]);
  const toggle = (id: string) => {
    const next = new Set(chosen);
    if (next.has(id)) next.delete(id); else next.add(id);
    setChosen(next);
  };
  const all = items ?? [];
  const allChosen = all.length > 0 && all.every((i) => chosen.has(i.id));
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true); setError(null); setDone(null);
    try {
      const no = decisionNo.trim();
      await postJson(`/units/${encodeURIComponent(unit)}/recognitions`, { decision_no: no, decision_date: decisionDate, assessments: [...chosen] });
      setDone({ no, count: chosen.size });
      setListNo(no);
      setItems(await load());
      setChosen(new Set());
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section id="recognition">
      <h2>{t("dash.recognition_title")}</h2>
      <p class="hint">{t("dash.recognition_intro")}</p>
      <ScopePicker />
      {done ? (
        <OkNotice id="recognition-done">
          <p>{t("dash.recognised_ok", { count: done.count, no: done.no })}</p>
          <DecisionFiles unit={unit} decision={done.no} />
        </OkNotice>
      ) : null}
      <ErrorNotice error={error} />
      {items === null ? <p>{t("common.loading")}</p> : items.length === 0 ? (
        <Notice kind="info" id="recognition-empty">{t("dash.recognition_empty")}</Notice>
      ) : (
        <form id="recognition-form" onSubmit={submit}>
          <label class="check">
            <input type="checkbox" id="select-all" checked={allChosen}
              onChange={() => setChosen(allChosen ? new Set() : new Set(all.map((i) => i.id)))} />
            {t("dash.select_all", { count: all.length })}
          </label>
          <ul class="pick-list" id="approved-list">
            {all.map((i) => (
              <li key={i.id}>
                <label class="check">
                  <input type="checkbox" data-id={i.id} checked={chosen.has(i.id)} onChange={() => toggle(i.id)} />
                  <span>{i.person_name}</span>
                  <span class="hint">{unitName(i.unit)} · {i.total}/{i.threshold}</span>
                </label>
                <a href={href(`review/${i.id}`, { unit, year })} class="small-link">{t("dash.open")}</a>
              </li>
            ))}
          </ul>
          <div class="filters">
            <Field label={t("dash.decision_no")}>
              <input type="text" id="decision-no" required maxLength={100} value={decisionNo} onInput={(e) => setDecisionNo(e.currentTarget.value)} />
            </Field>
            <Field label={t("dash.decision_date")}>
              <input type="date" id="decision-date" required value={decisionDate} onInput={(e) => setDecisionDate(e.currentTarget.value)} />
            </Field>
          </div>
          <button class="primary big" id="recognise" type="submit" disabled={busy || chosen.size === 0}>
            {t("dash.recognise", { count: chosen.size })}
          </button>
        </form>
      )}
      <div class="card">
        <h3>{t("dash.decision_list_title")}</h3>
        <Field label={t("dash.decision_no")}>
          <input type="text" id="list-decision-no" value={listNo} onInput={(e) => setListNo(e.currentTarget.value)} />
        </Field>
        {listNo.trim() ? <DecisionFiles unit={unit} decision={listNo.trim()} /> : null}
      </div>
    </section>
  );
}
