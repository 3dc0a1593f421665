import { useEffect, useState } from "preact/hooks";
import { ErrorNotice, Field, Notice } from "@cdht/shared/components";
import { locale, t, tx } from "@cdht/shared/i18n";
import type { components } from "@cdht/shared/generated/dashboard-api.ts";
import { getJson, query } from "../api";
import { href, navigate, route } from "../router";
import { pageUnit, pageYear, unitName, when } from "../scope";
import { me } from "../session";
import { queuedIds } from "../queued";
import { ScopePicker } from "../parts/ScopePicker";

type QueuePage = components["schemas"]["QueuePage"];
const STATES = ["submitted", "approved", "returned", "recognised", "draft"];
const PAGE = 50;

/** The review queue of a unit's subtree: newest first, a page at a time, filtered. */
export function Queue() {
  const p = route.value.params;
  const filters = {
    state: p.get("state") ?? "submitted",
    group: p.get("group") ?? "",
    passed: p.get("passed") ?? "",
    duplicate: p.get("duplicate") ?? "",
  };
  const unit = pageUnit();
  const year = pageYear();
  // Cursors of the pages before this one, for "previous page".
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const [page, setPage] = useState<QueuePage | null>(null);
  const [error, setError] = useState<unknown>(null);
  const key = `${unit}|${year}|${filters.state}|${filters.group}|${filters.passed}|${filters.duplicate}`;
  useEffect(() => setCursors([]), [key]);
  useEffect(() => {
    let live = true;
    setError(null);
    getJson<QueuePage>(`/units/${encodeURIComponent(unit)}/review-queue${query({ year, ...filters, cursor, limit: PAGE })}`)
      .then((pg) => {
        if (!live) return;
        setPage(pg);
        queuedIds.value = pg.items.map((i) => i.id);
      }, (e) => live && setError(e));
    return () => { live = false; };
  }, [key, cursor]);
  const set = (name: string, value: string) =>
    navigate("queue", { ...Object.fromEntries(p), unit, year, [name]: value || null });
  const groupName = (id: string) => tx(me.value?.groups.find((g) => g.id === id)?.name) || id;
  const groups = [...new Map((me.value?.groups ?? []).map((g) => [g.id, g])).values()];
  return (
    <section id="queue">
      <h2>{t("dash.queue_title")}</h2>
      <ScopePicker />
      <div class="filters">
        <Field label={t("dash.state")}>
          <select id="filter-state" value={filters.state} onChange={(e) => set("state", e.currentTarget.value)}>
            {STATES.map((s) => <option key={s} value={s}>{t(`status.${s}`)}</option>)}
          </select>
        </Field>
        <Field label={t("dash.group")}>
          <select id="filter-group" value={filters.group} onChange={(e) => set("group", e.currentTarget.value)}>
            <option value="">{t("dash.all")}</option>
            {groups.map((g) => <option key={g.id} value={g.id}>{tx(g.name)}</option>)}
          </select>
        </Field>
        <Field label={t("dash.result")}>
          <select id="filter-passed" value={filters.passed} onChange={(e) => set("passed", e.currentTarget.value)}>
            <option value="">{t("dash.all")}</option>
            <option value="true">{t("dash.passed")}</option>
            <option value="false">{t("dash.failed")}</option>
          </select>
        </Field>
        <Field label={t("dash.duplicate")}>
          <select id="filter-duplicate" value={filters.duplicate} onChange={(e) => set("duplicate", e.currentTarget.value)}>
            <option value="">{t("dash.all")}</option>
            <option value="true">{t("dash.duplicate_only")}</option>
            <option value="false">{t("dash.duplicate_none")}</option>
          </select>
        </Field>
      </div>
      <p class="hint">{t("dash.queue_keys")}</p>
      <ErrorNotice error={error} />
      {page && page.items.length === 0 ? <Notice kind="info" id="queue-empty">{t("dash.queue_empty")}</Notice> : null}
      {page && page.items.length > 0 ? (
        <div class="table-wrap">
          <table id="queue-table">
            <thead>
              <tr>
                <th scope="col">{t("dash.person")}</th>
                <th scope="col">{t("dash.unit")}</th>
                <th scope="col">{t("dash.group")}</th>
                <th scope="col">{t("dash.score")}</th>
                <th scope="col">{t("dash.state")}</th>
                <th scope="col">{t("dash.updated")}</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((i) => (
                <tr key={i.id} data-id={i.id}>
                  <td><a class="row-link" href={href(`review/${i.id}`, { unit, year })}>{i.person_name || i.person}</a>
                    {i.duplicate ? <span class="badge status-returned">{t("dash.duplicate_flag")}</span> : null}</td>
                  <td>{unitName(i.unit)}</td>
                  <td>{groupName(i.group)}</td>
                  <td class={i.passed ? "pass" : "fail"}>{t("dash.score_short", { total: i.total, threshold: i.threshold })} · {i.passed ? t("dash.passed") : t("dash.failed")}</td>
                  <td><span class={`badge status-${i.state}`}>{t(`status.${i.state}`)}</span></td>
                  <td>{when(i.updated_at, locale())}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <div class="pager">
        <button class="secondary" id="page-prev" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>{t("dash.page_prev")}</button>
        <button class="secondary" id="page-next" disabled={!page?.next} onClick={() => page?.next && setCursors([...cursors, page.next])}>{t("dash.page_next")}</button>
      </div>
    </section>
  );
}
