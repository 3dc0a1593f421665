import { useEffect, useState } from "preact/hooks";
import { ErrorNotice, Notice } from "@cdht/shared/components";
import { t, tx } from "@cdht/shared/i18n";
import type { components } from "@cdht/shared/generated/dashboard-api.ts";
import { download, getJson, query } from "../api";
import { navigate } from "../router";
import { pageUnit, pageYear } from "../scope";
import { me } from "../session";
import { ScopePicker } from "../parts/ScopePicker";
import { BarChart, TargetBar } from "../parts/Charts";
import { ExemplaryForm } from "../parts/ExemplaryForm";

type Report = components["schemas"]["Report"];
type Counts = components["schemas"]["Counts"];

const COUNTS = ["registered", "submitted", "approved", "returned", "recognised", "passed"] as const;
const pct = (v: number) => `${Math.round(v * 1000) / 10}%`;

function CountCells({ c }: { c: Counts }) {
  return (
    <>
      {COUNTS.map((k) => <td key={k} class="num">{c[k]}</td>)}
      <td class="num">{pct(c.pass_rate)}</td>
    </>
  );
}

function CountHead({ first }: { first: string }) {
  return (
    <thead>
      <tr>
        <th scope="col">{first}</th>
        {COUNTS.map((k) => <th scope="col" key={k} class="num">{t(`dash.count_${k}`)}</th>)}
        <th scope="col" class="num">{t("dash.count_pass_rate")}</th>
      </tr>
    </thead>
  );
}

/** A unit's yearly report: counts, by group and child unit, indicators, exemplary, members, Decision 677 progress. */
export function Reports() {
  const unit = pageUnit();
  const year = pageYear();
  const [report, setReport] = useState<Report | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [fileError, setFileError] = useState<unknown>(null);
  const [reload, setReload] = useState(0);
  useEffect(() => {
    setReport(null); setError(null);
    getJson<Report>(`/units/${encodeURIComponent(unit)}/report${query({ year })}`).then(setReport, setError);
  }, [unit, year, reload]);
  const file = (ext: "xlsx" | "csv") =>
    download(`/units/${encodeURIComponent(unit)}/report.${ext}${query({ year })}`, `bao-cao-${unit}-${year}.${ext}`).catch(setFileError);
  const groupName = (id: string, fallback: string) => tx(me.value?.groups.find((g) => g.id === id)?.name) || fallback || id;
  const r = report;
  return (
    <section id="reports">
      <h2>{t("dash.reports_title")}</h2>
      <ScopePicker />
      <div class="downloads">
        <button class="secondary" id="report-xlsx" onClick={() => file("xlsx")}>{t("dash.download_xlsx")}</button>
        <button class="secondary" id="report-csv" onClick={() => file("csv")}>{t("dash.download_csv")}</button>
      </div>
      <ErrorNotice error={fileError} id="file-error" />
      <ErrorNotice error={error} />
      {!r ? (error ? null : <p>{t("common.loading")}</p>) : (
        <>
          <h3 id="report-heading">{t("dash.report_of", { unit: r.unit_name, year: r.year })}</h3>
          <div class="table-wrap">
            <table id="report-counts">
              <CountHead first={t("dash.unit")} />
              <tbody><tr><th scope="row">{r.unit_name}</th><CountCells c={r} /></tr></tbody>
            </table>
          </div>
          <details class="definitions" open>
            <summary>{t("dash.definitions")}</summary>
            <ul>
              {COUNTS.map((k) => <li key={k}><strong>{t(`dash.count_${k}`)}</strong>: {t(`dash.def_${k}`)}</li>)}
              <li><strong>{t("dash.count_pass_rate")}</strong>: {t("dash.def_pass_rate")}</li>
              <li>{t("dash.def_indicators")}</li>
            </ul>
          </details>

          <h3>{t("dash.by_child")}</h3>
          {r.by_child.length === 0 ? <p class="hint">{t("dash.no_children")}</p> : (
            <>
              <p class="hint">{t("dash.drill_hint")}</p>
              <div class="table-wrap">
                <table id="report-children">
                  <CountHead first={t("dash.unit")} />
                  <tbody>
                    {r.by_child.map((c) => (
                      <tr key={c.unit} class="drill" tabIndex={0} data-unit={c.unit}
                        onClick={() => navigate("reports", { unit: c.unit, year })}
                        onKeyDown={(e) => { if (e.key === "Enter") navigate("reports", { unit: c.unit, year }); }}>
                        <th scope="row">{c.name} ({c.unit})</th><CountCells c={c} />
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <BarChart id="chart-children" title={t("dash.chart_children")} max={Math.max(1, ...r.by_child.map((c) => c.submitted))}
                bars={r.by_child.map((c) => ({ label: c.name, value: c.recognised, text: `${c.recognised}/${c.submitted}` }))} />
            </>
          )}

          <h3>{t("dash.by_group")}</h3>
          <div class="table-wrap">
            <table id="report-groups">
              <CountHead first={t("dash.group")} />
              <tbody>
                {r.by_group.map((g) => <tr key={g.group}><th scope="row">{groupName(g.group, g.name)}</th><CountCells c={g} /></tr>)}
              </tbody>
            </table>
          </div>

          <h3>{t("dash.indicators_weakest")}</h3>
          <div class="table-wrap">
            <table id="report-indicators">
              <thead><tr><th scope="col">{t("dash.indicator")}</th><th scope="col" class="num">{t("dash.mean_points")}</th><th scope="col" class="num">{t("dash.below_min")}</th></tr></thead>
              <tbody>
                {r.indicators.map((i) => <tr key={i.id} data-id={i.id}><th scope="row">{i.id} {tx(i.title)}</th><td class="num">{i.mean_points.toFixed(2)}</td><td class="num">{pct(i.below_min_share)}</td></tr>)}
              </tbody>
            </table>
          </div>
          <BarChart id="chart-indicators" title={t("dash.chart_indicators")} max={10}
            bars={r.indicators.map((i) => ({ label: `${i.id} ${tx(i.title)}`, value: i.mean_points, text: i.mean_points.toFixed(1) }))} mark={5} labelW={400} />

          <h3>{t("dash.exemplary_title")}</h3>
          <p class="hint">{t("dash.exemplary_intro")}</p>
          {r.exemplary.provisional ? <Notice kind="warn">{t("dash.exemplary_provisional")}</Notice> : null}
          {r.exemplary.persons.length < r.exemplary.eligible ? (
            <Notice kind="info" id="exemplary-more">{t("dash.exemplary_more", { shown: r.exemplary.persons.length, total: r.exemplary.eligible })}</Notice>
          ) : null}
          <ExemplaryForm unit={unit} year={year} persons={r.exemplary.persons} onDone={() => setReload(reload + 1)} />

          <h3>{t("dash.members_title")}</h3>
          <p id="report-households">{t("dash.households", { households: r.households.households, all: r.households.all_recognised, sixty: r.households.at_least_60 })}</p>
          <div class="table-wrap">
            <table id="report-units">
              <thead><tr><th scope="col">{t("dash.unit")}</th><th scope="col" class="num">{t("dash.adults")}</th><th scope="col" class="num">{t("dash.count_recognised")}</th><th scope="col" class="num">{t("dash.share")}</th><th scope="col">{t("dash.learning_unit")}</th></tr></thead>
              <tbody>
                {r.units.map((u) => (
                  <tr key={u.unit}><th scope="row">{u.name} ({u.unit})</th><td class="num">{u.adults}</td><td class="num">{u.recognised}</td><td class="num">{pct(u.share)}</td>
                    <td>{u.meets_learning_unit ? t("dash.meets_90") : t("dash.below_90")}</td></tr>
                ))}
              </tbody>
            </table>
          </div>
          <BarChart id="chart-units" title={t("dash.chart_units")} max={1} mark={0.9}
            bars={r.units.map((u) => ({ label: u.name, value: u.share, text: pct(u.share) }))} />

          <h3>{t("dash.progress_title")}</h3>
          <TargetBar id="progress-adults" share={r.progress.adults_recognised_share} target={r.progress.adults_recognised_target}
            label={t("dash.progress_adults", { done: r.progress.adults_recognised, of: r.progress.adults_registered })} />
          <TargetBar id="progress-digital" share={r.progress.digital_skills_share} target={r.progress.digital_skills_target}
            label={t("dash.progress_digital", { done: r.progress.digital_skills, of: r.progress.title_holders })} />
        </>
      )}
    </section>
  );
}
