import { useEffect, useState } from "preact/hooks";
import { ErrorNotice, Notice } from "@cdht/shared/components";
import { t } from "@cdht/shared/i18n";
import type { components } from "@cdht/shared/generated/dashboard-api.ts";
import { getJson, query } from "../api";
import { href } from "../router";
import { pageUnit, pageYear, unitName } from "../scope";
import { ScopePicker } from "../parts/ScopePicker";

type DuplicatePage = components["schemas"]["DuplicatePage"];
type Detail = components["schemas"]["AssessmentDetail"];

/** One assessment of a duplicate group, read if it lies in the officer's subtrees. */
function Member({ id, unit }: { id: string; unit: string }) {
  const [detail, setDetail] = useState<Detail | null | "outside">(null);
  useEffect(() => {
    getJson<Detail>(`/assessments/${id}`).then(setDetail, () => setDetail("outside"));
  }, [id]);
  if (detail === "outside") {
    return <div class="card dup-member outside"><strong>{unit}</strong><p>{t("dash.dup_outside")}</p></div>;
  }
  if (!detail) return <div class="card dup-member">{t("common.loading")}</div>;
  return (
    <div class="card dup-member" data-id={id}>
      <strong>{detail.person_name}</strong>
      <p>{detail.unit_name} ({detail.unit})</p>
      <p><span class={`badge status-${detail.state}`}>{t(`status.${detail.state}`)}</span> · {detail.total}/{detail.threshold}</p>
      <a href={href(`review/${id}`, { unit: pageUnit(), year: pageYear() })}>{t("dash.open")}</a>
    </div>
  );
}

/** People with assessments in two units in the same year (same keyed CCCD), side by side. */
export function Duplicates() {
  const unit = pageUnit();
  const [page, setPage] = useState<DuplicatePage | null>(null);
  const [after, setAfter] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => setAfter(null), [unit]);
  useEffect(() => {
    setError(null);
    getJson<DuplicatePage>(`/units/${encodeURIComponent(unit)}/duplicates${query({ after, limit: 20 })}`).then(setPage, setError);
  }, [unit, after]);
  return (
    <section id="duplicates">
      <h2>{t("dash.duplicates_title")}</h2>
      <Notice kind="info">{t("dash.duplicates_todo")}</Notice>
      <ScopePicker />
      <ErrorNotice error={error} />
      {page && page.groups.length === 0 ? <Notice kind="ok" id="duplicates-empty">{t("dash.duplicates_none")}</Notice> : null}
      {page?.groups.map((g) => (
        <div class="dup-group" key={g.assessments[0]?.assessment}>
          <h3>{t("dash.dup_group", { count: g.count, year: g.year, units: [...new Set(g.assessments.map((a) => unitName(a.unit)))].join(", ") })}</h3>
          <div class="side-by-side">
            {g.assessments.map((a) => <Member key={a.assessment} id={a.assessment} unit={a.unit} />)}
          </div>
        </div>
      ))}
      {page?.next ? <button class="secondary" id="duplicates-more" onClick={() => setAfter(page.next ?? null)}>{t("dash.page_next")}</button> : null}
    </section>
  );
}
